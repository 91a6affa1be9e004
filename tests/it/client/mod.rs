//! The API client, environments and `auth`, against the real emulator over
//! loopback: typed round trips, error decoding, paging, retries under
//! injected faults, the shared limits ([`api`]); settings, profiles and
//! no secret in any error ([`settings`]); OAuth ([`auth`]). Shared helpers
//! here.

mod api;
mod auth;
mod settings;

use crate::support::{bin, bin_path, TestDir, TestEmulator};
use facturare_etl::api::{
    ApiError, ApiKey, Client, ClientConfig, Credentials, ListQuery, TokenFile, TokenSource,
};
use facturare_etl::config::{self, ConfigError, CredentialSource, Request, Settings, Target};
use facturare_etl::emulator::{Config, KeySpec};
use facturare_etl::model::{
    AppliedRate, CreditNote, Customer, Invoice, Item, LineItem, Payment, PaymentApplication, Ref,
    TaxRate,
};
use facturare_etl::ops::{self, ConnectOptions, Silent};
use futures::StreamExt;
use rust_decimal_macros::dec;
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;
use url::Url;

pub(super) fn client_for(emu: &TestEmulator, key: &str) -> Client {
    Client::new(config_for(emu, key)).expect("a client")
}

pub(super) fn config_for(emu: &TestEmulator, key: &str) -> ClientConfig {
    ClientConfig::new(
        Url::parse(emu.url()).unwrap(),
        Credentials::ApiKey(ApiKey::new(key)),
    )
}

pub(super) fn customer(name: &str) -> Customer {
    Customer {
        name: Some(name.to_string()),
        ..Default::default()
    }
}

pub(super) fn global(data_dir: &Path) -> Request {
    Request {
        data_dir: data_dir.to_path_buf(),
        ..Request::default()
    }
}

/// The settings of `req` with `FACTURARE_API_KEY` set to `api_key_env`.
pub(super) fn resolve_with(
    req: &Request,
    api_key_env: Option<String>,
) -> Result<Settings, ConfigError> {
    Settings::resolve(&Request {
        api_key_env,
        ..req.clone()
    })
}

/// Every way of printing an error, chain included.
pub(super) fn all_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = format!("{err} | {err:?}");
    let mut src = err.source();
    while let Some(e) = src {
        s.push_str(&format!(" | {e} | {e:?}"));
        src = e.source();
    }
    s
}
