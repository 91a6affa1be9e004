//! A model test of the exactly-once protocol (STYLE habit 14): the real
//! engine and the real ledger (a SQLite file) against an in-memory account
//! that loses replies, fails with 5xx, and "crashes" the process at a random
//! call: the call takes effect or not, then nothing more is answered, the
//! engine is dropped mid-flight, the ledger reopened, and the run resumed.
//! However the crashes fall, every document ends on the account exactly once.

use super::engine::{Engine, EngineConfig, OnExisting};
use super::remote::{FailKind, Found, Remote, RemoteError, RemoteResult};
use crate::ledger::{Ledger, NewRun, UnitKind};
use crate::model::{Customer, Draft, Invoice, LineItem, MatchOn, Payment, IMPORT_KEY};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Obj {
    kind: UnitKind,
    id: i64,
    number: Option<String>,
    import_key: Option<String>,
    /// The object as the account would return it.
    body: serde_json::Value,
}

#[derive(Debug)]
struct Account {
    objects: Vec<Obj>,
    next_id: i64,
    calls: u64,
    /// At this call the process "dies": the call applies when `crash_applies`.
    crash_at: Option<u64>,
    crash_applies: bool,
    crashed: bool,
    idem: HashMap<String, i64>,
    rng: rand::rngs::StdRng,
    /// Chance that a create fails ambiguously (half applied, half not).
    fault_rate: f64,
    /// Replay `Idempotency-Key`s (a help, not a guarantee: the protocol must
    /// hold without it).
    idempotency: bool,
    /// PATCHes that took effect.
    updates: u64,
}

#[derive(Clone)]
struct MemAccount(Arc<Mutex<Account>>);

enum Gate {
    Go,
    /// Apply, then never answer.
    ApplyThenDie,
    /// Never answer.
    Die,
}

impl MemAccount {
    fn new(seed: u64, fault_rate: f64, idempotency: bool) -> Self {
        MemAccount(Arc::new(Mutex::new(Account {
            objects: vec![],
            next_id: 1,
            calls: 0,
            crash_at: None,
            crash_applies: false,
            crashed: false,
            idem: HashMap::new(),
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            fault_rate,
            idempotency,
            updates: 0,
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Account> {
        self.0.lock().unwrap()
    }

    fn gate(&self) -> Gate {
        let mut a = self.lock();
        if a.crashed {
            return Gate::Die;
        }
        a.calls += 1;
        if a.crash_at == Some(a.calls) {
            a.crashed = true;
            return if a.crash_applies {
                Gate::ApplyThenDie
            } else {
                Gate::Die
            };
        }
        Gate::Go
    }

    fn find(&self, pred: impl Fn(&Obj) -> bool) -> Option<Found> {
        self.lock().objects.iter().find(|o| pred(o)).map(|o| Found {
            id: o.id,
            import_key: o.import_key.clone(),
            voided: false,
        })
    }

    fn apply_create(
        &self,
        kind: UnitKind,
        body: &serde_json::Value,
        idem: &str,
        dying: bool,
    ) -> RemoteResult<i64> {
        let mut a = self.lock();
        if let Some(id) = a.idem.get(idem).filter(|_| a.idempotency) {
            return Ok(*id);
        }
        let fault = a.rng.gen::<f64>() < a.fault_rate;
        let applies_anyway = a.rng.gen::<bool>();
        let number = body
            .get("number")
            .and_then(|n| n.as_str())
            .map(str::to_string);
        if let Some(n) = &number {
            if a.objects
                .iter()
                .any(|o| o.kind == kind && o.number.as_deref() == Some(n))
            {
                return Err(RemoteError {
                    kind: FailKind::Rejected,
                    status: Some(400),
                    param: Some("number".into()),
                    message: "number taken".into(),
                });
            }
        }
        let apply = !fault || applies_anyway || dying;
        if fault && !dying && !applies_anyway {
            return Err(RemoteError::new(FailKind::Ambiguous, "503"));
        }
        let id = a.next_id;
        if apply {
            a.next_id += 1;
            let mut stored = body.clone();
            stored["id"] = id.into();
            a.objects.push(Obj {
                body: stored,
                kind,
                id,
                number,
                import_key: body
                    .get("metadata")
                    .and_then(|m| m.get(IMPORT_KEY))
                    .and_then(|k| k.as_str())
                    .map(str::to_string),
            });
            a.idem.insert(idem.to_string(), id);
        }
        if fault {
            return Err(RemoteError::new(FailKind::Ambiguous, "reply lost"));
        }
        Ok(id)
    }
}

async fn die<T>() -> T {
    std::future::pending().await
}

impl Remote for MemAccount {
    async fn create(
        &self,
        kind: UnitKind,
        body: &serde_json::Value,
        idem: &str,
    ) -> RemoteResult<i64> {
        let gate = self.gate();
        if matches!(gate, Gate::Die) {
            return die().await;
        }
        let result = self.apply_create(kind, body, idem, matches!(gate, Gate::ApplyThenDie));
        if matches!(gate, Gate::ApplyThenDie) {
            return die().await;
        }
        result
    }

    async fn update(
        &self,
        kind: UnitKind,
        id: i64,
        body: &serde_json::Value,
    ) -> RemoteResult<serde_json::Value> {
        let gate = self.gate();
        if matches!(gate, Gate::Die) {
            return die().await;
        }
        let reply = {
            let mut a = self.lock();
            let Some(o) = a.objects.iter_mut().find(|o| o.kind == kind && o.id == id) else {
                return Err(RemoteError::new(FailKind::Rejected, "no such object"));
            };
            if let (Some(stored), Some(fields)) = (o.body.as_object_mut(), body.as_object()) {
                for (k, v) in fields {
                    stored.insert(k.clone(), v.clone());
                }
                let at = stored
                    .get("updated_at")
                    .and_then(|t| t.as_i64())
                    .unwrap_or(0);
                stored.insert("updated_at".into(), (at + 1).into());
            }
            let reply = o.body.clone();
            a.updates += 1;
            reply
        };
        if matches!(gate, Gate::ApplyThenDie) {
            return die().await;
        }
        Ok(reply)
    }

    async fn fetch(&self, kind: UnitKind, id: i64) -> RemoteResult<Option<serde_json::Value>> {
        if !matches!(self.gate(), Gate::Go) {
            return die().await;
        }
        let a = self.lock();
        Ok(a.objects
            .iter()
            .find(|o| o.kind == kind && o.id == id)
            .map(|o| o.body.clone()))
    }

    async fn fetch_by_number(
        &self,
        kind: UnitKind,
        number: &str,
    ) -> RemoteResult<Option<serde_json::Value>> {
        if !matches!(self.gate(), Gate::Go) {
            return die().await;
        }
        let a = self.lock();
        Ok(a.objects
            .iter()
            .find(|o| o.kind == kind && o.number.as_deref() == Some(number))
            .map(|o| o.body.clone()))
    }

    async fn find_by_import_key(&self, kind: UnitKind, key: &str) -> RemoteResult<Option<Found>> {
        if !matches!(self.gate(), Gate::Go) {
            return die().await;
        }
        Ok(self.find(|o| o.kind == kind && o.import_key.as_deref() == Some(key)))
    }

    async fn find_by_number(&self, kind: UnitKind, number: &str) -> RemoteResult<Option<Found>> {
        if !matches!(self.gate(), Gate::Go) {
            return die().await;
        }
        Ok(self.find(|o| o.kind == kind && o.number.as_deref() == Some(number)))
    }

    async fn find_customer(&self, _: MatchOn, value: &str) -> RemoteResult<Option<Found>> {
        if !matches!(self.gate(), Gate::Go) {
            return die().await;
        }
        Ok(self.find(|o| o.kind == UnitKind::Customer && o.number.as_deref() == Some(value)))
    }

    async fn customers_page(&self, page: u32) -> RemoteResult<crate::upload::CustomerPage> {
        if !matches!(self.gate(), Gate::Go) {
            return die().await;
        }
        // Two a page, so that a model run reads several.
        let a = self.lock();
        let all: Vec<&Obj> = a
            .objects
            .iter()
            .filter(|o| o.kind == UnitKind::Customer)
            .collect();
        let from = (page.max(1) as usize - 1) * 2;
        let customers = all
            .iter()
            .skip(from)
            .take(2)
            .map(|o| crate::upload::Listed {
                found: Found {
                    id: o.id,
                    import_key: o.import_key.clone(),
                    voided: false,
                },
                number: o.number.clone(),
                tax_id: None,
            })
            .collect();
        Ok(crate::upload::CustomerPage {
            customers,
            total: None,
            last: from + 2 >= all.len(),
        })
    }

    async fn undo(&self, _: UnitKind, _: i64) -> RemoteResult<()> {
        Ok(())
    }
}

fn drafts(n: usize, customers: usize) -> Vec<Draft> {
    (0..n)
        .map(|i| Draft {
            source_key: format!("INV-{i}"),
            invoice: Invoice {
                number: Some(format!("INV-{i}")),
                items: vec![LineItem {
                    name: Some("x".into()),
                    ..Default::default()
                }],
                ..Default::default()
            },
            customer: Customer {
                name: Some(format!("C{}", i % customers)),
                number: Some(format!("C{}", i % customers)),
                ..Default::default()
            },
            payments: if i % 3 == 0 {
                vec![Payment {
                    amount: Some(rust_decimal::Decimal::ONE),
                    ..Default::default()
                }]
            } else {
                vec![]
            },
            ..Default::default()
        })
        .collect()
}

/// Run (or resume) until the input is done or the account "crashes";
/// true when the run completed.
async fn run_once(
    account: &MemAccount,
    ledger_path: &std::path::Path,
    run: i64,
    docs: &[Draft],
) -> bool {
    run_with(account, ledger_path, run, docs, OnExisting::Skip).await
}

async fn run_with(
    account: &MemAccount,
    ledger_path: &std::path::Path,
    run: i64,
    docs: &[Draft],
    on_existing: OnExisting,
) -> bool {
    let ledger = Arc::new(Ledger::open(ledger_path).unwrap());
    let cfg = EngineConfig {
        env: "model".into(),
        mapping_identity: "m".into(),
        run,
        concurrency: 4,
        on_existing,
        update_customers: false,
        max_attempts: 1000,
        force: false,
        customers_in_batch: docs
            .iter()
            .filter_map(|d| d.customer.number.as_deref())
            .collect::<std::collections::HashSet<_>>()
            .len() as u64,
    };
    let engine = Engine::new(account.clone(), ledger, cfg);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let feed = docs.to_vec();
    let producer = tokio::spawn(async move {
        for d in feed {
            if tx.send(crate::validate::assume_valid(d)).await.is_err() {
                break;
            }
        }
    });
    let e2 = engine.clone();
    let handle = tokio::spawn(async move { e2.run(rx).await });
    loop {
        if handle.is_finished() {
            let stop = handle.await.unwrap();
            assert_eq!(stop, None);
            producer.abort();
            return true;
        }
        if account.lock().crashed {
            // kill -9: every task is dropped wherever it is.
            handle.abort();
            producer.abort();
            let _ = handle.await;
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

fn check_exactly_once(account: &MemAccount, docs: &[Draft], ledger_path: &std::path::Path) {
    let a = account.lock();
    let mut per_number: HashMap<&str, usize> = HashMap::new();
    for o in a.objects.iter().filter(|o| o.kind == UnitKind::Invoice) {
        *per_number.entry(o.number.as_deref().unwrap()).or_default() += 1;
    }
    for d in docs {
        let n = d.invoice.number.as_deref().unwrap();
        assert_eq!(per_number.get(n), Some(&1), "invoice {n}");
    }
    let customers = a
        .objects
        .iter()
        .filter(|o| o.kind == UnitKind::Customer)
        .count();
    let mut want: Vec<_> = docs.iter().map(|d| d.customer.number.clone()).collect();
    want.sort();
    want.dedup();
    assert_eq!(customers, want.len(), "customers");
    let payments: Vec<_> = a
        .objects
        .iter()
        .filter(|o| o.kind == UnitKind::Payment)
        .collect();
    let want_payments: usize = docs.iter().map(|d| d.payments.len()).sum();
    assert_eq!(payments.len(), want_payments, "payments");
    let mut keys: Vec<_> = payments.iter().map(|p| p.import_key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), want_payments, "distinct payment keys");
    drop(a);
    // And the ledger agrees: every unit done, with the account's ids.
    let ledger = Ledger::open(ledger_path).unwrap();
    let units = ledger.units_of_run(1).unwrap();
    assert!(units
        .iter()
        .all(|u| u.state == crate::ledger::UnitState::Done));
    assert_eq!(units.len(), docs.len() + want.len() + want_payments);
}

fn scenario(seed: u64, crashes: Vec<(u64, bool)>, fault_rate: f64, idempotency: bool) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    {
        let l = Ledger::open(&path).unwrap();
        assert_eq!(l.start_run(&NewRun::default()).unwrap(), 1);
    }
    let docs = drafts(12, 4);
    let account = MemAccount::new(seed, fault_rate, idempotency);
    rt.block_on(async {
        let mut crashes = crashes.into_iter();
        loop {
            {
                let mut a = account.lock();
                a.crashed = false;
                match crashes.next() {
                    Some((after, applies)) => {
                        a.crash_at = Some(a.calls + after);
                        a.crash_applies = applies;
                    }
                    None => a.crash_at = None,
                }
            }
            if run_once(&account, &path, 1, &docs).await {
                break;
            }
        }
    });
    check_exactly_once(&account, &docs, &path);
    // A second run of the same input creates nothing.
    let before = account.lock().objects.len();
    rt.block_on(async {
        let l = Ledger::open(&path).unwrap();
        let run2 = l.start_run(&NewRun::default()).unwrap();
        drop(l);
        assert!(run_once(&account, &path, run2, &docs).await);
    });
    assert_eq!(account.lock().objects.len(), before);
}

#[test]
fn no_faults_no_crashes() {
    scenario(1, vec![], 0.0, true);
}

#[test]
fn a_crash_after_every_kind_of_call() {
    for at in 1..40 {
        scenario(at, vec![(at, at % 2 == 0)], 0.0, at % 3 != 0);
    }
}

/// A round trip's change, the process killed at each of its calls (the
/// change applied or not), then resumed: the account gets the change once,
/// the ledger keeps the version before it, and a later run sends nothing.
fn update_scenario(at: u64, applies: bool) {
    use crate::model::Scope;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    Ledger::open(&path)
        .unwrap()
        .start_run(&NewRun::default())
        .unwrap();
    let account = MemAccount::new(at, 0.0, true);
    let before = serde_json::json!({"id": 500, "number": "A-1", "notes": "old",
        "items": [], "metadata": {"k": "v"}, "updated_at": 100});
    account.lock().objects.push(Obj {
        kind: UnitKind::Invoice,
        id: 500,
        number: Some("A-1".into()),
        import_key: None,
        body: before.clone(),
    });
    let draft = Draft {
        source_key: "A-1".into(),
        invoice: Invoice {
            id: Some(500),
            number: Some("A-1".into()),
            notes: Some("new".into()),
            updated_at: Some(100),
            ..Default::default()
        },
        scope: Some(Arc::new(Scope {
            fields: vec!["number", "notes"],
            ..Scope::default()
        })),
        ..Default::default()
    };
    let docs = [draft];
    rt.block_on(async {
        let mut crashed_once = false;
        loop {
            {
                let mut a = account.lock();
                a.crashed = false;
                a.crash_at = (!crashed_once).then_some(a.calls + at);
                a.crash_applies = applies;
            }
            crashed_once = true;
            if run_with(&account, &path, 1, &docs, OnExisting::Update).await {
                break;
            }
        }
    });
    let a = account.lock();
    assert_eq!(
        a.updates, 1,
        "crash at {at} (applied: {applies}): the change made once"
    );
    assert_eq!(a.objects[0].body["notes"], "new");
    assert_eq!(a.objects[0].body["metadata"], before["metadata"]);
    drop(a);
    let ledger = Ledger::open(&path).unwrap();
    let units = ledger.units_of_run(1).unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0].state, crate::ledger::UnitState::Done);
    let kept: serde_json::Value =
        serde_json::from_str(units[0].before_image.as_deref().unwrap()).unwrap();
    assert_eq!(kept, before, "the version before the change");
    drop(ledger);
    // A later run finds nothing to change.
    rt.block_on(async {
        let run2 = Ledger::open(&path)
            .unwrap()
            .start_run(&NewRun::default())
            .unwrap();
        account.lock().crash_at = None;
        assert!(run_with(&account, &path, run2, &docs, OnExisting::Update).await);
    });
    assert_eq!(account.lock().updates, 1);
}

#[test]
fn a_round_trip_change_survives_a_crash_at_any_call() {
    for at in 1..5 {
        for applies in [false, true] {
            update_scenario(at, applies);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn exactly_once_under_random_crashes_and_faults(
        seed in any::<u64>(),
        crashes in proptest::collection::vec((1u64..30, any::<bool>()), 0..10),
        fault_rate in prop_oneof![Just(0.0), 0.0f64..0.4],
        idempotency in any::<bool>(),
    ) {
        scenario(seed, crashes, fault_rate, idempotency);
    }
}
