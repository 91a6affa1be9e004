//! The config file (TOML, default `<data-dir>/config.toml`): the default
//! company's settings at the top level, other companies under
//! `[profiles.NAME]`. Unknown keys are rejected with file:line:col.
//!
//! ```toml
//! env = "sandbox"                    # local | sandbox | production
//! api_key_file = "keys/main.key"     # relative to this file
//! log_file = "logs/facturare.jsonl"  # JSON lines, relative to this file
//!
//! [profiles.acme]
//! api_url = "https://api.facturare.md"
//! rate = "5/s"                       # this company's requests per second
//! [profiles.acme.oauth]
//! client_id = "my-app"
//! client_secret_file = "keys/acme-client-secret"
//! scope = "read_write"
//! ```

use super::{ConfigError, EnvName};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// OAuth client settings of one company.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSpec {
    pub client_id: Option<String>,
    /// A file holding the client secret (relative to the config file).
    pub client_secret_file: Option<PathBuf>,
    /// `read` or `read_write` (default).
    pub scope: Option<String>,
}

/// Requests per second as written: `5` or `"5/s"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum RateValue {
    Number(i64),
    Text(String),
}

/// One company's settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub env: Option<EnvName>,
    pub api_url: Option<Spanned<String>>,
    /// A file holding the API key (relative to the config file).
    pub api_key_file: Option<PathBuf>,
    pub oauth: Option<OAuthSpec>,
    /// This company's requests per second (`--rate` takes precedence).
    pub rate: Option<Spanned<RateValue>>,
}

/// The whole file: the default company's settings, then the profiles.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub env: Option<EnvName>,
    pub api_url: Option<Spanned<String>>,
    pub api_key_file: Option<PathBuf>,
    pub oauth: Option<OAuthSpec>,
    pub rate: Option<Spanned<RateValue>>,
    /// Where every command appends its log as JSON lines (relative to
    /// this file); `--log-file` takes precedence. For the whole file, not
    /// per profile: one run of many companies writes one log.
    pub log_file: Option<PathBuf>,
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileSpec>,
}

impl ConfigFile {
    /// The default company's settings.
    pub fn default_profile(&self) -> ProfileSpec {
        ProfileSpec {
            env: self.env,
            api_url: self.api_url.clone(),
            api_key_file: self.api_key_file.clone(),
            oauth: self.oauth.clone(),
            rate: self.rate.clone(),
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    (line, col)
}

/// Parse the text of `path`.
pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            col,
            message: e.message().trim().to_string(),
        }
    })
}

/// Read and parse a config file.
pub fn load(path: &Path) -> Result<(ConfigFile, String), ConfigError> {
    let text = crate::fs::read_to_string(path)?;
    let file = parse(path, &text)?;
    Ok((file, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_profiles() {
        let text = "env = \"sandbox\"\nlog_file = \"l.jsonl\"\n[profiles.acme]\napi_url = \"https://x.test\"\n[profiles.acme.oauth]\nclient_id = \"app\"\n";
        let f = parse(Path::new("c.toml"), text).unwrap();
        assert_eq!(f.env, Some(EnvName::Sandbox));
        assert_eq!(f.log_file, Some(PathBuf::from("l.jsonl")));
        let acme = &f.profiles["acme"];
        assert_eq!(acme.api_url.as_ref().unwrap().get_ref(), "https://x.test");
        assert_eq!(
            acme.oauth.as_ref().unwrap().client_id.as_deref(),
            Some("app")
        );
    }

    #[test]
    fn unknown_keys_name_file_line_and_column() {
        let text = "env = \"sandbox\"\n\n[profiles.acme]\n  api_kye_file = \"k\"\n";
        let err = parse(Path::new("conf/c.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("conf/c.toml:4:3: "), "{err}");
        assert!(err.contains("api_kye_file"), "{err}");
        let err = parse(Path::new("c.toml"), "env = \"staging\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.toml:1:7: "), "{err}");
        assert!(err.contains("sandbox"), "{err}");
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ăb", 2), (1, 2));
    }
}
