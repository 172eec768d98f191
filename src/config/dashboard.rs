//! `[dashboard]`: where the dashboard, health and metrics endpoints listen, and their tokens.

use serde::Deserialize;

fn default_true() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardConfig {
    /// Serve the dashboard, `/healthz`, `/readyz` and `/metrics`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Listen address; loopback by default (expose it deliberately: on any other address the
    /// tracker refuses to start without tokens).
    #[serde(default = "default_dashboard_address")]
    pub address: String,
    /// An env var holding the dashboard's access tokens, comma-separated (compliance.md 3.4).
    #[serde(default)]
    pub tokens_env: Option<String>,
    /// A file with one access token per line.
    #[serde(default)]
    pub tokens_file: Option<String>,
    /// Tokens for `/metrics` alone (a scraper's); default: the dashboard's.
    #[serde(default)]
    pub metrics_tokens_env: Option<String>,
    #[serde(default)]
    pub metrics_tokens_file: Option<String>,
}

fn default_dashboard_address() -> String {
    "127.0.0.1:8080".into()
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            enabled: true,
            address: default_dashboard_address(),
            tokens_env: None,
            tokens_file: None,
            metrics_tokens_env: None,
            metrics_tokens_file: None,
        }
    }
}
