//! The account's customers listed once, for a batch that names many: one
//! request per 100 customers on the account instead of one look-up per
//! customer of the batch (on a fresh account, one request in all).
//!
//! The list is read as the upload starts ([`Engine::prefetch_customers`])
//! or else the first time a customer must be looked up, and only
//! when the batch names at least [`MIN_CUSTOMERS`] customers and the
//! account's list is no longer in pages than the batch has customers; else
//! (or after a page fails) each customer is looked up on its own, as
//! before. Its first page may be asked for before the batch is surveyed
//! ([`Engine::seed_customers`]); a smaller batch then uses it when it is
//! the whole list, as it costs nothing more. What the list holds is found; what it lacks is absent only when
//! every page was read. Customers this run finds or creates are added, so
//! a customer named once by number and once by tax id is still one.

use super::{Engine, Halt};
use crate::model::MatchOn;
use crate::upload::remote::{CustomerPage, Found, Listed, Remote, RemoteResult};
use std::collections::HashMap;
use std::sync::Mutex;

/// Fewer customers in a batch are looked up one by one.
pub(super) const MIN_CUSTOMERS: u64 = 2;

/// The account's customers by number and by tax id (the values exactly as
/// the API's `filter[...]` compares them), first by id where several share one.
#[derive(Debug, Default)]
pub(super) struct Directory {
    by_number: HashMap<String, Found>,
    by_tax_id: HashMap<String, Found>,
    /// Every page was read: a value not here is not on the account.
    complete: bool,
}

/// What the directory knows about a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Known {
    Found(Found),
    Absent,
    /// Not listed (the list was not read whole): ask the account.
    Unknown,
}

impl Directory {
    fn add(&mut self, c: &Listed) {
        if let Some(n) = &c.number {
            self.by_number
                .entry(n.clone())
                .or_insert_with(|| c.found.clone());
        }
        if let Some(t) = &c.tax_id {
            self.by_tax_id
                .entry(t.clone())
                .or_insert_with(|| c.found.clone());
        }
    }

    pub(super) fn get(&self, on: MatchOn, value: &str) -> Known {
        let map = match on {
            MatchOn::Number => &self.by_number,
            MatchOn::TaxId => &self.by_tax_id,
        };
        match map.get(value) {
            Some(f) => Known::Found(f.clone()),
            None if self.complete => Known::Absent,
            None => Known::Unknown,
        }
    }
}

/// The directory, read once, shared by every worker.
pub(super) type DirectoryCell = tokio::sync::OnceCell<Mutex<Directory>>;

/// The first page of the account's customers, in flight.
pub type FirstPage = tokio::task::JoinHandle<RemoteResult<CustomerPage>>;

impl<R: Remote> Engine<R> {
    /// What the account's list says about a customer, reading the list the
    /// first time ([`Known::Unknown`] when the batch is too small for it).
    pub(super) async fn listed_customer(&self, on: MatchOn, value: &str) -> Result<Known, Halt> {
        if let Some(dir) = self.directory.get() {
            return Ok(dir.lock().unwrap_or_else(|p| p.into_inner()).get(on, value));
        }
        if self.cfg.customers_in_batch < MIN_CUSTOMERS {
            return Ok(Known::Unknown);
        }
        let dir = self
            .directory
            .get_or_try_init(|| async { self.read_directory().await.map(Mutex::new) })
            .await?;
        Ok(dir.lock().unwrap_or_else(|p| p.into_inner()).get(on, value))
    }

    /// The account's first page of customers, asked for already (on a
    /// fresh environment, while the batch is surveyed); the list's reading
    /// starts from it instead of asking again.
    pub fn seed_customers(&self, first: FirstPage) {
        *self
            .first_customers
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(first);
    }

    /// Read the account's list now, when the batch is one it is read for,
    /// so the first documents do not wait a round trip for it (a failure
    /// leaves it to the first use, which stops the engine as before). For
    /// a smaller batch, a first page in hand is used when it is the whole
    /// list.
    pub async fn prefetch_customers(&self) {
        if self.cfg.customers_in_batch >= MIN_CUSTOMERS {
            let _ = self
                .directory
                .get_or_try_init(|| async { self.read_directory().await.map(Mutex::new) })
                .await;
            return;
        }
        let Some(first) = self.take_first_page() else {
            return;
        };
        if let Ok(Ok(page)) = first.await {
            if page.last {
                let mut dir = Directory::default();
                for c in &page.customers {
                    dir.add(c);
                }
                dir.complete = true;
                let _ = self.directory.set(Mutex::new(dir));
            }
        }
    }

    fn take_first_page(&self) -> Option<FirstPage> {
        self.first_customers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// A customer this run found or created, by the values it was sent with.
    pub(super) fn note_customer(&self, listed: Listed) {
        if let Some(dir) = self.directory.get() {
            dir.lock().unwrap_or_else(|p| p.into_inner()).add(&listed);
        }
    }

    async fn read_directory(&self) -> Result<Directory, Halt> {
        let mut dir = Directory::default();
        let mut page = 1u32;
        loop {
            let seeded = match (page, self.take_first_page()) {
                (1, Some(first)) => first.await.ok().and_then(Result::ok),
                _ => None,
            };
            let got = match seeded {
                Some(got) => got,
                None => self.retrying(|| self.remote.customers_page(page)).await?,
            };
            for c in &got.customers {
                dir.add(c);
            }
            if got.last {
                dir.complete = true;
                break;
            }
            // Worth reading on only while the pages left are fewer than
            // the batch's customers (each would otherwise cost a look-up).
            // Without a total, while fewer pages were read than that.
            let per_page = u64::from(crate::model::limits::PER_PAGE_MAX);
            let pages_left = match got.total {
                Some(t) => t.div_ceil(per_page).saturating_sub(u64::from(page)),
                None => u64::from(page),
            };
            if pages_left >= self.cfg.customers_in_batch {
                tracing::debug!(
                    pages_left,
                    customers = self.cfg.customers_in_batch,
                    "the account's customers are too many to list; looked up one by one"
                );
                break;
            }
            page += 1;
        }
        tracing::debug!(
            pages = page,
            complete = dir.complete,
            "the account's customers listed"
        );
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: i64, number: Option<&str>, tax_id: Option<&str>) -> Listed {
        Listed {
            found: Found {
                id,
                import_key: None,
                voided: false,
            },
            number: number.map(str::to_string),
            tax_id: tax_id.map(str::to_string),
        }
    }

    #[test]
    fn absent_only_when_complete_and_first_by_id_wins() {
        let mut d = Directory::default();
        d.add(&listed(1, Some("C-1"), Some("1008600038413")));
        d.add(&listed(2, Some("C-2"), Some("1008600038413")));
        assert!(matches!(d.get(MatchOn::TaxId, "1008600038413"), Known::Found(f) if f.id == 1));
        assert!(matches!(d.get(MatchOn::Number, "C-2"), Known::Found(f) if f.id == 2));
        // Exact, as the API's filter is.
        assert_eq!(d.get(MatchOn::Number, "c-2"), Known::Unknown);
        d.complete = true;
        assert_eq!(d.get(MatchOn::Number, "c-2"), Known::Absent);
    }
}
