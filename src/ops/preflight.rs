//! What the target account has, read and never written (`validate
//! --preflight`): its tax-rate ids and its customers' numbers and tax ids;
//! and, for an import, the standard Moldovan tax rates it lacks, created
//! before any document (the API silently drops a line's unknown rate).

use super::connect::{connect, runtime, ConnectError, ConnectOptions};
use crate::api::{ApiError, Client, ListQuery};
use crate::config::Settings;
use crate::error::ErrorKind;
use crate::model::vat::VatTable;
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
async fn create_tax_rate(
    client: &Client,
    rate: &crate::model::vat::VatRate,
) -> Result<(), ApiError> {
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

/// The account's tax rates, after creating the missing ones of the built-in
/// Moldovan table (`tva20`, `tva12`, `tva8`, `tva0`: API.md's convention),
/// since the API silently drops a line's unknown rate. Documents naming any
/// other unknown rate are rejected by validation.
pub async fn ensure_tax_rates(
    client: &Client,
    table: &VatTable,
    reporter: &dyn Reporter,
) -> Result<HashSet<String>, ApiError> {
    let mut known = HashSet::new();
    let mut pages = client.list_tax_rates(&ListQuery::default());
    while let Some(page) = pages.try_next().await? {
        known.extend(page.items.into_iter().map(|r| r.id));
    }
    // The missing rates are created at once, not one after another: on an
    // API 50 ms away each round trip is worth 20 requests' time at 20 in flight.
    let missing: Vec<_> = table
        .rates
        .iter()
        .filter(|r| !r.id.is_empty() && !known.contains(&r.id))
        .collect();
    let mut missing_ids: Vec<String> = Vec::new();
    let missing: Vec<_> = missing
        .into_iter()
        .filter(|r| {
            // The table may name one id twice (a rate and its dated successor).
            let first = !missing_ids.contains(&r.id);
            if first {
                missing_ids.push(r.id.clone());
            }
            first
        })
        .collect();
    futures::future::try_join_all(missing.iter().map(|rate| create_tax_rate(client, rate))).await?;
    let created = missing_ids;
    known.extend(created.iter().cloned());
    if !created.is_empty() {
        reporter.status(&format!(
            "created the tax rates {} on the account (the standard Moldovan VAT rates it lacked)",
            created.join(", ")
        ));
    }
    Ok(known)
}
