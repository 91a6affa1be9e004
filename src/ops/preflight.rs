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
    let mut created = Vec::new();
    for rate in &table.rates {
        if known.contains(&rate.id) || rate.id.is_empty() {
            continue;
        }
        let tr = crate::model::TaxRate {
            id: rate.id.clone(),
            name: format!("TVA {}%", rate.value.normalize()),
            value: rate.value,
            is_percent: Some(true),
            ..Default::default()
        };
        // Creating a rate under its own id is safe to repeat: a repeat
        // finds the id taken (400 naming `id`), which is success too.
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match client
                .create_tax_rate(&tr, Some(&format!("fe-taxrate-{}", rate.id)))
                .await
            {
                Ok(_) => break,
                Err(e) if e.status() == Some(400) && e.param() == Some("id") => break,
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
        known.insert(rate.id.clone());
        created.push(rate.id.clone());
    }
    if !created.is_empty() {
        reporter.status(&format!(
            "created the tax rates {} on the account (the standard Moldovan VAT rates it lacked)",
            created.join(", ")
        ));
    }
    Ok(known)
}
