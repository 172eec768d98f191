//! Validation of a parsed config: every field check with its path, all at once
//! ([`Config::validate`]); `plan::build` then only resolves.

use super::*;

impl Config {
    /// Every field check of every section, each error with its path, all at once. What can only
    /// be judged against the asset master (symbols, the assets of pairs, the sources of pairs)
    /// is checked by `plan::build` as it resolves the config.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut ids = HashSet::new();
        for (i, c) in self.connectors.iter().enumerate() {
            let path = format!("connectors[{i}]");
            if schemas::ids::is_valid_id(&c.id) && !ids.insert(c.id.as_str()) {
                errors.push(ConfigError::new(
                    format!("{path}.id"),
                    format!("duplicate id {:?}", c.id),
                ));
            }
            errors.extend(c.validate(&path));
        }
        for (name, account) in &self.accounts {
            if !schemas::ids::is_valid_id(name) {
                errors.push(ConfigError::new(
                    format!("accounts.{name}"),
                    "invalid account id",
                ));
            }
            errors.extend(account.validate(&format!("accounts.{name}")));
        }
        if let Some(k) = &self.kafka {
            for (field, problem) in k.validate() {
                errors.push(ConfigError::new(format!("kafka.{field}"), problem));
            }
        }
        errors.extend(self.runtime.validate("runtime"));
        // The margin engine's sections (normalizer::margin::config) report `(path, problem)`.
        let margin = self
            .accounts
            .iter()
            .filter_map(|(name, a)| Some((name, a.terms.as_ref()?)))
            .flat_map(|(name, t)| t.validate(&format!("accounts.{name}.terms")))
            .chain(self.stress.validate("stress"))
            .chain(self.risk.validate("risk"))
            .chain(normalizer::margin::config::validate_steps(
                &self.assets.steps,
                "assets.steps",
            ));
        errors.extend(margin.map(|(path, problem)| ConfigError::new(path, problem)));
        errors.extend(self.reference.validate("reference"));
        errors
    }
}

impl ConnectorConfig {
    /// Whether any credential (env var or file) is configured.
    pub fn has_credentials(&self) -> bool {
        [
            &self.api_key_env,
            &self.api_key_file,
            &self.api_secret_env,
            &self.api_secret_file,
            &self.passphrase_env,
            &self.passphrase_file,
        ]
        .iter()
        .any(|f| f.is_some())
    }

    /// The checks of this connector's fields, against its kind's entry in the registry; `path`
    /// is `connectors[i]`. Symbols are resolved (and refused) by `plan::build`.
    pub fn validate(&self, path: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if !schemas::ids::is_valid_id(&self.id) {
            errors.push(ConfigError::new(
                format!("{path}.id"),
                format!(
                    "expected a lowercase id like \"binance-spot\", got {:?}",
                    self.id
                ),
            ));
        }
        // A kind described by config (`generic_rest`) reads its `[connectors.generic]` table.
        let is_generic = registry::described_by(&self.kind) == Some("generic");
        match (&self.generic, is_generic) {
            (Some(spec), true) => {
                for (field, problem) in spec.validate() {
                    errors.push(ConfigError::new(format!("{path}.generic.{field}"), problem));
                }
            }
            (None, true) => errors.push(ConfigError::new(
                format!("{path}.generic"),
                format!(
                    "kind {} needs a [connectors.generic] table (path, list, asset, total, ...)",
                    self.kind
                ),
            )),
            (Some(_), false) => errors.push(ConfigError::new(
                format!("{path}.generic"),
                format!("only for kind = {}", described_kinds("generic")),
            )),
            (None, false) => {}
        }
        let streams = registry::streaming(&self.kind).is_some();
        let polls =
            registry::polling(&self.kind).is_some() || (is_generic && self.generic.is_some());
        if !streams && !polls && !is_generic {
            errors.push(ConfigError::new(
                format!("{path}.kind"),
                format!(
                    "unknown venue kind {:?}, expected one of {}",
                    self.kind,
                    registry::kinds().join(", ")
                ),
            ));
            // Every other check depends on the kind.
            return errors;
        }
        if self.has_credentials() && !polls {
            errors.push(ConfigError::new(
                format!("{path}.kind"),
                format!(
                    "{:?} reports no balances: remove the credentials",
                    self.kind
                ),
            ));
        }
        if !self.instruments.is_empty() && !streams {
            errors.push(ConfigError::new(
                format!("{path}.instruments"),
                format!("{:?} streams no prices", self.kind),
            ));
        }
        check_url(
            &mut errors,
            format!("{path}.ws_url"),
            &self.ws_url,
            &["ws", "wss"],
        );
        check_url(
            &mut errors,
            format!("{path}.balance_ws_url"),
            &self.balance_ws_url,
            &["ws", "wss"],
        );
        check_url(
            &mut errors,
            format!("{path}.rest_url"),
            &self.rest_url,
            &["http", "https"],
        );
        if let Some(a) = &self.account {
            if !schemas::ids::is_valid_id(a) {
                errors.push(ConfigError::new(
                    format!("{path}.account"),
                    format!("invalid account id {a:?}"),
                ));
            }
        }
        for (field, env, file) in [
            ("api_key", &self.api_key_env, &self.api_key_file),
            ("api_secret", &self.api_secret_env, &self.api_secret_file),
            ("passphrase", &self.passphrase_env, &self.passphrase_file),
        ] {
            if env.is_some() && file.is_some() {
                errors.push(ConfigError::new(
                    format!("{path}.{field}_env"),
                    format!("set {field}_env or {field}_file, not both"),
                ));
            }
        }
        if self.sim_faults.is_some() && !self.sim {
            errors.push(ConfigError::new(
                format!("{path}.sim_faults"),
                "only meaningful with sim = true",
            ));
        }
        if matches!(self.balance_interval_ms, Some(ms) if ms < 1000) {
            errors.push(ConfigError::new(
                format!("{path}.balance_interval_ms"),
                "must be >= 1000 (venues' rate limits)",
            ));
        }
        if self.stale_after_ms == Some(0) {
            errors.push(ConfigError::new(
                format!("{path}.stale_after_ms"),
                "must be > 0",
            ));
        }
        let mut seen = HashSet::new();
        for (j, sym) in self.instruments.iter().enumerate() {
            if !seen.insert(sym) {
                errors.push(ConfigError::new(
                    format!("{path}.instruments[{j}]"),
                    format!("duplicate symbol {sym:?}"),
                ));
            }
        }
        errors
    }
}

fn check_url(errors: &mut Vec<ConfigError>, path: String, url: &Option<String>, schemes: &[&str]) {
    if let Some(u) = url {
        if !schemes.iter().any(|s| u.starts_with(&format!("{s}://"))) {
            errors.push(ConfigError::new(
                path,
                format!("expected a {} URL, got {u:?}", schemes.join(" or ")),
            ));
        }
    }
}

/// The kinds described by the config table `table` (`generic_rest` for `generic`), quoted.
fn described_kinds(table: &str) -> String {
    registry::VENUES
        .iter()
        .filter(|e| e.spec.described_by == Some(table))
        .map(|e| format!("{:?}", e.spec.kind))
        .collect::<Vec<_>>()
        .join(" or ")
}
