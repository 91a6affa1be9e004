//! Storage: the in-memory tables are the source of truth while the server
//! runs; every change is also journalled to an optional SQLite file (WAL) by
//! one writer thread that commits in groups, and a reply waits for its
//! group's commit. On start the file is read back whole, so data survives a
//! restart. Objects are stored as JSON text keyed by company, kind and id.
//!
//! In memory an object is kept as its JSON text ([`Obj`]), made once when
//! it is stored and shared by the reply, the lists, its events and the
//! database row; only the small reference kinds (customers, items, tax
//! rates), read by every document write, also keep their parsed value.
//! A text is a fifth of the size of the `serde_json::Value` it comes from,
//! and the memory a store grows by is most of what a write costs.
//!
//! - `tables`: the in-memory objects ([`Obj`]), a kind's [`Table`] (its
//!   key order, number index and cached lists) and a [`Company`]'s tables.
//! - `journal`: the SQLite file: its schema, the changes to persist
//!   ([`Op`]), reading it back on start, and the writer thread.
//!
//! This module holds [`Data`], all the state behind one mutex, and
//! [`Store`], which runs a change under the lock and hands its journal to
//! the writer.

mod journal;
mod tables;

pub use tables::{CachedList, Company, Key, Obj, Table};

use super::resources::Kind;
use anyhow::Context as _;
use journal::{load, write_loop, Msg, Op, SCHEMA};
use rusqlite::Connection;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, MutexGuard};

/// A stored first reply to an `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct IdemReply {
    pub at: i64,
    pub status: u16,
    pub body: bytes::Bytes,
}

/// An OAuth token, stored by the SHA-256 of its text.
#[derive(Debug, Clone)]
pub struct Token {
    /// `access` or `refresh`.
    pub kind: String,
    pub company: String,
    pub client_id: String,
    pub expires_at: i64,
}

/// All the state, behind one mutex.
#[derive(Debug, Default)]
pub struct Data {
    pub next_id: i64,
    pub companies: HashMap<String, Company>,
    pub idem: HashMap<(String, String), IdemReply>,
    pub tokens: HashMap<String, Token>,
    journal: Vec<Op>,
    /// Whether changes are journalled (only with a database file).
    journaling: bool,
    next_id_dirty: bool,
}

impl Data {
    pub fn company(&mut self, name: &str) -> &mut Company {
        if !self.companies.contains_key(name) {
            self.companies.insert(name.to_string(), Company::default());
        }
        self.companies.get_mut(name).expect("inserted above")
    }

    /// A new numeric id (unique across kinds and companies); persisted
    /// once per write, not once per id.
    pub fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id_dirty = self.journaling;
        self.next_id
    }

    /// The next value of a per-company counter (document numbering).
    pub fn bump(&mut self, company: &str, name: &str) -> i64 {
        let c = self.company(company);
        let v = c.counters.entry(name.to_string()).or_insert(0);
        *v += 1;
        let value = *v;
        self.push(Op::Counter {
            company: company.to_string(),
            name: name.to_string(),
            value,
        });
        value
    }

    /// Insert or replace an object (and its number index) and journal it;
    /// the stored object (its text made once, here), shared.
    pub fn put(&mut self, company: &str, kind: Kind, key: Key, body: Value) -> Arc<Obj> {
        let obj = Arc::new(Obj::new(body, kind.keeps_value()));
        if self.journaling {
            self.release_ref(company, kind, &key);
            self.push(Op::Put {
                company: company.to_string(),
                kind,
                id: key.to_db(),
                text: obj.text().clone(),
            });
        }
        let table = self.company(company).table(kind);
        if let Some(n) = table.rows.get(&key).and_then(|old| old.number()) {
            table.numbers.remove(&n.to_lowercase());
        }
        if let Some(n) = obj.number() {
            table.numbers.insert(n.to_lowercase(), key.clone());
        }
        table.insert(key, obj.clone());
        obj
    }

    /// Record an event whose `data.object` is `object` (shared), which is
    /// the current row of `of` unless the object is gone.
    pub fn put_event(
        &mut self,
        company: &str,
        key: Key,
        event: Value,
        object: Arc<Obj>,
        of: Option<(Kind, &Key)>,
    ) {
        let event = Arc::new(Obj::event(event, Some(object.clone())));
        if self.journaling {
            let current = of.filter(|(kind, k)| {
                self.companies
                    .get(company)
                    .and_then(|c| c.obj(*kind, k))
                    .is_some_and(|row| Arc::ptr_eq(row, &object))
            });
            match current {
                Some((kind, k)) => {
                    self.release_ref(company, kind, k);
                    self.push(Op::PutEventRef {
                        company: company.to_string(),
                        id: key.to_db(),
                        event: event.text().clone(),
                        kind,
                        object_id: k.to_db(),
                    });
                    self.company(company)
                        .refs
                        .insert((kind, k.clone()), key.clone());
                }
                None => self.push(Op::PutEvent {
                    company: company.to_string(),
                    id: key.to_db(),
                    event: event.text().clone(),
                    object: object.text().clone(),
                }),
            }
        }
        self.company(company).table(Kind::Event).insert(key, event);
    }

    /// Before the row of `kind`/`key` changes: the event whose row refers
    /// to it gets its own copy of the version it recorded.
    fn release_ref(&mut self, company: &str, kind: Kind, key: &Key) {
        let Some(c) = self.companies.get_mut(company) else {
            return;
        };
        let Some(ev) = c.refs.remove(&(kind, key.clone())) else {
            return;
        };
        let Some(row) = c.tables.get(&Kind::Event).and_then(|t| t.rows.get(&ev)) else {
            return;
        };
        let Some(object) = &row.data else { return };
        let op = Op::PutEvent {
            company: company.to_string(),
            id: ev.to_db(),
            event: row.text().clone(),
            object: object.text().clone(),
        };
        self.push(op);
    }

    fn push(&mut self, op: Op) {
        if self.journaling {
            self.journal.push(op);
        }
    }

    pub fn remove(&mut self, company: &str, kind: Kind, key: &Key) -> Option<Arc<Obj>> {
        if self.journaling {
            self.release_ref(company, kind, key);
        }
        let table = self.company(company).table(kind);
        let old = table.remove(key)?;
        if let Some(n) = old.number() {
            table.numbers.remove(&n.to_lowercase());
        }
        self.push(Op::Delete {
            company: company.to_string(),
            kind,
            id: key.to_db(),
        });
        Some(old)
    }

    pub fn put_idem(&mut self, company: &str, key: &str, reply: IdemReply) {
        let k = (company.to_string(), key.to_string());
        if self.idem.contains_key(&k) {
            return;
        }
        self.push(Op::Idem {
            company: company.to_string(),
            key: key.to_string(),
            reply: reply.clone(),
        });
        self.idem.insert(k, reply);
    }

    pub fn put_token(&mut self, hash: String, token: Token) {
        self.push(Op::PutToken {
            hash: hash.clone(),
            token: token.clone(),
        });
        self.tokens.insert(hash, token);
    }

    pub fn remove_token(&mut self, hash: &str) -> Option<Token> {
        let t = self.tokens.remove(hash)?;
        self.push(Op::DeleteToken {
            hash: hash.to_string(),
        });
        Some(t)
    }
}

/// The state and its optional writer.
pub struct Store {
    data: Mutex<Data>,
    writer: Mutex<Option<Writer>>,
}

struct Writer {
    tx: mpsc::Sender<Msg>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Wait for a write to be durable (resolves at once without a file).
pub struct Commit(Option<tokio::sync::oneshot::Receiver<()>>);

impl Commit {
    pub async fn wait(self) {
        if let Some(rx) = self.0 {
            let _ = rx.await;
        }
    }
}

impl Store {
    /// Open (and read back) the file, or start empty in memory.
    pub fn open(db: Option<&Path>, now: i64) -> anyhow::Result<Store> {
        let mut data = Data::default();
        let writer = match db {
            None => None,
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    crate::fs::create_dir_all(dir)?;
                }
                let conn = Connection::open(path)
                    .with_context(|| format!("failed to open the database {}", path.display()))?;
                conn.pragma_update(None, "journal_mode", "WAL")
                    .and_then(|_| conn.pragma_update(None, "synchronous", "NORMAL"))
                    .and_then(|_| conn.execute_batch(SCHEMA))
                    .with_context(|| format!("failed to set up the database {}", path.display()))?;
                load(&conn, &mut data, now)
                    .with_context(|| format!("failed to read the database {}", path.display()))?;
                data.journaling = true;
                let (tx, rx) = mpsc::channel();
                let thread = std::thread::Builder::new()
                    .name("emulator-db".into())
                    .spawn(move || write_loop(conn, rx))
                    .context("failed to start the database thread")?;
                Some(Writer {
                    tx,
                    thread: Some(thread),
                })
            }
        };
        Ok(Store {
            data: Mutex::new(data),
            writer: Mutex::new(writer),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run a change under the lock and hand its journal to the writer, in
    /// order; the returned [`Commit`] resolves once it is on disk.
    pub fn write<R>(&self, f: impl FnOnce(&mut Data) -> R) -> (R, Commit) {
        let mut data = self.lock();
        let r = f(&mut data);
        let mut ops = std::mem::take(&mut data.journal);
        if data.next_id_dirty {
            data.next_id_dirty = false;
            ops.push(Op::Counter {
                company: String::new(),
                name: "next_id".into(),
                value: data.next_id,
            });
        }
        if ops.is_empty() {
            return (r, Commit(None));
        }
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let Some(w) = writer.as_ref() else {
            return (r, Commit(None));
        };
        for op in ops {
            let _ = w.tx.send(Msg::Op(op));
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = w.tx.send(Msg::Ack(tx));
        (r, Commit(Some(rx)))
    }

    /// Flush and close the file (idempotent).
    pub fn close(&self) {
        let taken = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut w) = taken {
            let (tx, rx) = mpsc::channel();
            let _ = w.tx.send(Msg::Close(tx));
            let _ = rx.recv();
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}
