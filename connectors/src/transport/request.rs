//! One signed HTTP request of a polling venue ([`RestRequest`]): built by the venue, sent by
//! the poller in `rest.rs`, never logged or captured.

/// One HTTP request, built and signed by a venue. Never logged or captured: it may carry
/// credentials in headers or the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestRequest {
    pub method: &'static str,
    /// Path below the base URL, e.g. `/api/v3/account`.
    pub path: String,
    /// Query string without `?` (may be empty).
    pub query: String,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// Cost of this request against the venue's rate-limit quota (its documented weight).
    pub weight: u32,
}

impl RestRequest {
    pub fn get(path: &str, query: String) -> Self {
        RestRequest {
            method: "GET",
            path: path.to_owned(),
            query,
            body: String::new(),
            headers: Vec::new(),
            weight: 1,
        }
    }
    pub fn post(path: &str, body: String) -> Self {
        RestRequest {
            method: "POST",
            body,
            ..Self::get(path, String::new())
        }
    }
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
    pub fn weight(mut self, w: u32) -> Self {
        self.weight = w;
        self
    }
    /// This request against `base_url` (no trailing `/`), ready to send; the error names an
    /// unusable method. Never logged: it may carry credentials.
    pub fn to_reqwest(
        &self,
        client: &reqwest::Client,
        base_url: &str,
    ) -> Result<reqwest::RequestBuilder, String> {
        let url = format!("{base_url}{}", self.path_and_query());
        let method =
            reqwest::Method::from_bytes(self.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut rb = client.request(method, &url);
        for (k, v) in &self.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if !self.body.is_empty() {
            rb = rb.body(self.body.clone());
        }
        Ok(rb)
    }
    /// Path plus query, as most venues sign it (`/api/v3/account?timestamp=...`).
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}
