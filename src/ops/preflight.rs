//! What the target account has, read and never written (`validate
//! --preflight`): its tax-rate ids and its customers' numbers and tax ids;
//! and, for an import, the standard Moldovan tax rates it lacks, created
//! before any document (the API silently drops a line's unknown rate).

use super::connect::{connect, runtime, ConnectError, ConnectOptions};
use crate::api::{ApiError, Client, ListQuery};
use crate::config::Settings;
use crate::error::ErrorKind;
use crate::model::vat::{VatRate, VatTable};
use crate::progress::Reporter;
use crate::validate::KnownCustomers;
use futures::{StreamExt, TryStreamExt};
use std::collections::HashSet;

/// The target account's tax rates and customers, read-only.
#[derive(Debug, Clone, Default)]
pub struct Preflight {
    pub tax_rates: Vec<String>,
    pub customers: KnownCustomers,
}

/// Why the preflight could not read the account.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("preflight against {env} failed")]
    Api {
        env: String,
        #[source]
        source: Box<ApiError>,
    },
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
}

impl PreflightError {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Api
    }
}

/// Connect to the target (as `import` would) and list its tax rates and
/// customers.
pub fn fetch(settings: &Settings, reporter: &dyn Reporter) -> Result<Preflight, PreflightError> {
    let rt = runtime(0).map_err(PreflightError::Runtime)?;
    let spinner = reporter.progress("preflight", None);
    let found = rt.block_on(async {
        let conn = connect(settings, ConnectOptions::default(), reporter).await?;
        let found = read_account(&conn.client).await;
        let env = conn.env_label.clone();
        conn.close().await;
        found.map_err(|source| PreflightError::Api {
            env,
            source: Box::new(source),
        })
    });
    spinner.finish();
    let found = found?;
    reporter.status(&format!(
        "preflight: {} tax rates and {} customers on the account",
        found.tax_rates.len(),
        found
            .customers
            .numbers
            .len()
            .max(found.customers.tax_ids.len())
    ));
    Ok(found)
}

/// Read, never write, what the preflight needs from the account: every
/// tax-rate id, and every customer's number and tax id (lower case).
pub async fn read_account(client: &Client) -> Result<Preflight, ApiError> {
    let query = ListQuery::default();
    let mut tax_rates = Vec::new();
    let mut pages = client.list_tax_rates(&query);
    while let Some(page) = pages.next().await {
        tax_rates.extend(page?.items.into_iter().map(|r| r.id));
    }
    let mut customers = KnownCustomers::default();
    let mut pages = client.list_customers(&query);
    while let Some(page) = pages.next().await {
        for c in page?.items {
            customers.add(c);
        }
    }
    Ok(Preflight {
        tax_rates,
        customers,
    })
}

/// Create one standard rate under its own id; safe to repeat: a repeat
/// finds the id taken (400 naming `id`), which is success too.
async fn create_tax_rate(client: &Client, rate: &VatRate) -> Result<(), ApiError> {
    let tr = crate::model::TaxRate {
        id: rate.id.clone(),
        name: format!("TVA {}%", rate.value.normalize()),
        value: rate.value,
        is_percent: Some(true),
        ..Default::default()
    };
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match client
            .create_tax_rate(&tr, Some(&format!("fe-taxrate-{}", rate.id)))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.status() == Some(400) && e.param() == Some("id") => return Ok(()),
            Err(e) if e.is_ambiguous() && attempt < 8 => {
                tokio::time::sleep(crate::upload::protocol::backoff(
                    attempt,
                    rand::random::<f64>(),
                ))
                .await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The account's tax rates as an import sees them: those listed, and the
/// standard Moldovan ones (`tva20`, `tva12`, `tva8`, `tva0`: API.md's
/// convention) it lacks, to be created before any document since the API
/// silently drops a line's unknown rate. Documents naming any other unknown
/// rate are rejected by validation.
#[derive(Debug, Clone, Default)]
pub struct TaxRates {
    /// Every id the import may use: the listed ones and the missing ones.
    pub known: HashSet<String>,
    /// The standard rates the account lacks, each once.
    missing: Vec<VatRate>,
}

/// List the account's tax rates and say which standard ones it lacks;
/// nothing is written (see [`TaxRates::create_missing`]).
pub async fn list_tax_rates(client: &Client, table: &VatTable) -> Result<TaxRates, ApiError> {
    let mut known = HashSet::new();
    let mut pages = client.list_tax_rates(&ListQuery::default());
    while let Some(page) = pages.try_next().await? {
        known.extend(page.items.into_iter().map(|r| r.id));
    }
    let mut missing: Vec<VatRate> = Vec::new();
    for r in &table.rates {
        // The table may name one id twice (a rate and its dated successor).
        if !r.id.is_empty() && !known.contains(&r.id) && !missing.iter().any(|m| m.id == r.id) {
            missing.push(r.clone());
        }
    }
    known.extend(missing.iter().map(|r| r.id.clone()));
    Ok(TaxRates { known, missing })
}

impl TaxRates {
    /// Create the missing standard rates, all at once (not one after
    /// another: on an API 50 ms away each round trip is worth 20 requests'
    /// time at 20 in flight); the ids created. Safe to repeat.
    pub async fn create_missing(&self, client: &Client) -> Result<Vec<String>, ApiError> {
        futures::future::try_join_all(
            self.missing
                .iter()
                .map(|rate| create_tax_rate(client, rate)),
        )
        .await?;
        Ok(self.missing.iter().map(|r| r.id.clone()).collect())
    }
}

/// The status line for the rates [`TaxRates::create_missing`] created.
pub fn report_created(created: &[String], reporter: &dyn Reporter) {
    if !created.is_empty() {
        reporter.status(&format!(
            "created the tax rates {} on the account (the standard Moldovan VAT rates it lacked)",
            created.join(", ")
        ));
    }
}
