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

use super::resources::Kind;
use anyhow::Context as _;
use rusqlite::{params, Connection};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, MutexGuard};

/// An object's id: numeric for documents, chosen strings for items and rates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Num(i64),
    Str(String),
}

impl Key {
    pub fn to_db(&self) -> String {
        match self {
            Key::Num(n) => n.to_string(),
            Key::Str(s) => s.clone(),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Key::Num(n) => Value::from(*n),
            Key::Str(s) => Value::from(s.clone()),
        }
    }
}

/// A stored object: its JSON text, and its parsed value for the kinds
/// that keep it (see [`Kind::keeps_value`]).
#[derive(Debug)]
pub struct Obj {
    text: bytes::Bytes,
    value: Option<Value>,
    /// Its `number`, as given (for the number index).
    number: Option<Box<str>>,
    /// Events only: the version of the object the event recorded, shown
    /// as its `data.object` (shared with that version's row).
    data: Option<Arc<Obj>>,
}

impl Obj {
    /// Store `value`: its text is made here, once.
    pub fn new(value: Value, keep_value: bool) -> Obj {
        let text = json_text(&value);
        let number = value.get("number").and_then(Value::as_str).map(Box::from);
        Obj {
            text,
            value: keep_value.then_some(value),
            number,
            data: None,
        }
    }

    /// An event recording `object`.
    pub fn event(event: Value, object: Option<Arc<Obj>>) -> Obj {
        Obj {
            data: object,
            ..Obj::new(event, Kind::Event.keeps_value())
        }
    }

    /// The JSON text, as replies and database rows show it.
    pub fn text(&self) -> &bytes::Bytes {
        &self.text
    }

    pub fn number(&self) -> Option<&str> {
        self.number.as_deref()
    }

    /// The object as a JSON value (parsed from its text unless kept).
    pub fn value(&self) -> Cow<'_, Value> {
        match &self.value {
            Some(v) => Cow::Borrowed(v),
            None => Cow::Owned(serde_json::from_slice(&self.text).unwrap_or(Value::Null)),
        }
    }

    /// An object holding only the top-level fields named (those present),
    /// without building the rest.
    pub fn fields(&self, names: &[&str]) -> Value {
        if let Some(Value::Object(m)) = &self.value {
            return Value::Object(
                m.iter()
                    .filter(|(k, _)| names.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            );
        }
        let mut de = serde_json::Deserializer::from_slice(&self.text);
        Pick(names)
            .deserialize(&mut de)
            .map(Value::Object)
            .unwrap_or(Value::Null)
    }

    /// One top-level field.
    pub fn field(&self, name: &str) -> Option<Value> {
        match self.fields(&[name]) {
            Value::Object(mut m) => m.remove(name),
            _ => None,
        }
    }
}

/// The JSON text of `value` in an allocation of its exact size (it is
/// kept as long as the object is): written into a buffer reused by the
/// thread, then copied once.
fn json_text(value: &Value) -> bytes::Bytes {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|buf| {
        let Ok(mut buf) = buf.try_borrow_mut() else {
            return bytes::Bytes::from(
                serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
            );
        };
        buf.clear();
        if serde_json::to_writer(&mut *buf, value).is_err() {
            return bytes::Bytes::from_static(b"{}");
        }
        let text = bytes::Bytes::copy_from_slice(&buf);
        // Do not keep a large buffer for good after one large object.
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        text
    })
}

/// Deserializes a JSON object keeping only the named top-level fields.
struct Pick<'n>(&'n [&'n str]);

/// A key, kept only when it is one of the names.
struct PickKey<'n>(&'n [&'n str]);

impl<'de> DeserializeSeed<'de> for Pick<'_> {
    type Value = serde_json::Map<String, Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = serde_json::Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(PickKey(self.0))? {
            match key {
                Some(k) => {
                    let v: Value = map.next_value()?;
                    out.insert(k, v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

impl<'de> DeserializeSeed<'de> for PickKey<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for PickKey<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, k: &str) -> Result<Self::Value, E> {
        Ok(self.0.contains(&k).then(|| k.to_string()))
    }
}

/// One resource's objects for one company, in id order, with the
/// lower-cased numbers for the uniqueness check.
#[derive(Debug, Default)]
pub struct Table {
    rows: BTreeMap<Key, Arc<Obj>>,
    /// The keys of `rows` in order, so that a page of the default order is
    /// a slice (new numeric ids are the largest, so inserting is a push).
    order: Vec<Key>,
    /// Bumped by every insert or removal: what a cached list was made from.
    generation: u64,
    /// The last few filtered or sorted lists (positions in `order`), so
    /// that paging through one costs a page each, not a scan each.
    pub lists: Mutex<Vec<CachedList>>,
    pub numbers: HashMap<String, Key>,
}

/// A filtered and sorted list, as positions in a table's key order at
/// one generation.
#[derive(Debug)]
pub struct CachedList {
    pub query: String,
    pub generation: u64,
    pub positions: Arc<Vec<u32>>,
}

impl Table {
    /// The rows by id (change them through [`Table::insert`] and
    /// [`Table::remove`], which keep the order).
    pub fn rows(&self) -> &BTreeMap<Key, Arc<Obj>> {
        &self.rows
    }

    /// The keys in id order.
    pub fn order(&self) -> &[Key] {
        &self.order
    }

    /// Changes with every insert or removal.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Insert or replace a row, keeping the key order.
    pub fn insert(&mut self, key: Key, row: Arc<Obj>) {
        self.generation += 1;
        if !self.rows.contains_key(&key) {
            match self.order.last() {
                Some(last) if *last >= key => {
                    if let Err(at) = self.order.binary_search(&key) {
                        self.order.insert(at, key.clone());
                    }
                }
                _ => self.order.push(key.clone()),
            }
        }
        self.rows.insert(key, row);
    }

    /// Remove a row, keeping the key order.
    pub fn remove(&mut self, key: &Key) -> Option<Arc<Obj>> {
        let old = self.rows.remove(key)?;
        self.generation += 1;
        if let Ok(at) = self.order.binary_search(key) {
            self.order.remove(at);
        }
        Some(old)
    }

    /// Rebuild the key order from the rows (after a bulk load).
    fn reorder(&mut self) {
        self.generation += 1;
        self.order = self.rows.keys().cloned().collect();
    }

    /// An object's text as the API shows it (events get their `data.object`).
    pub fn shown(row: &Obj) -> bytes::Bytes {
        match &row.data {
            Some(object) => compose_event(row.text(), object.text()),
            None => row.text().clone(),
        }
    }
}

/// An event's text with `"data":{"object":...}` added as its last field,
/// as serializing the event with that field inserted would write it.
pub fn compose_event(event: &[u8], object: &[u8]) -> bytes::Bytes {
    let mut d = Vec::with_capacity(object.len() + 12);
    d.extend_from_slice(b"{\"object\":");
    d.extend_from_slice(object);
    d.push(b'}');
    compose_data(event, &d)
}

/// An event's text with `"data":` and the text `d` added as its last field.
fn compose_data(event: &[u8], d: &[u8]) -> bytes::Bytes {
    let Some(open) = event.strip_suffix(b"}") else {
        return bytes::Bytes::copy_from_slice(event);
    };
    let mut text = Vec::with_capacity(event.len() + d.len() + 10);
    text.extend_from_slice(open);
    text.extend_from_slice(if open.len() > 1 {
        b",\"data\":"
    } else {
        b"\"data\":"
    });
    text.extend_from_slice(d);
    text.push(b'}');
    text.into()
}

/// Everything one company owns.
#[derive(Debug, Default)]
pub struct Company {
    pub tables: HashMap<Kind, Table>,
    pub counters: HashMap<String, i64>,
    /// With a database file: the event whose row refers to an object's
    /// row instead of holding a copy of it, by the object. An event's row
    /// refers to the object's row while that row is the version the event
    /// recorded; when the object changes or goes, the event's row is
    /// rewritten with the copy first.
    pub refs: HashMap<(Kind, Key), Key>,
}

impl Company {
    pub fn table(&mut self, kind: Kind) -> &mut Table {
        self.tables.entry(kind).or_default()
    }

    /// A stored object as a value (parsed unless its kind keeps it).
    pub fn get(&self, kind: Kind, key: &Key) -> Option<Cow<'_, Value>> {
        self.obj(kind, key).map(|o| o.value())
    }

    pub fn obj(&self, kind: Kind, key: &Key) -> Option<&Arc<Obj>> {
        self.tables.get(&kind).and_then(|t| t.rows.get(key))
    }

    pub fn contains(&self, kind: Kind, key: &Key) -> bool {
        self.obj(kind, key).is_some()
    }

    /// The stored object's text as the API shows it, shared (no copy).
    pub fn shown(&self, kind: Kind, key: &Key) -> Option<bytes::Bytes> {
        self.obj(kind, key).map(|row| Table::shown(row))
    }
}

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

/// A change to persist.
#[derive(Debug)]
pub enum Op {
    Put {
        company: String,
        kind: Kind,
        id: String,
        text: bytes::Bytes,
    },
    PutEvent {
        company: String,
        id: String,
        event: bytes::Bytes,
        object: bytes::Bytes,
    },
    /// An event whose `data.object` is the current row of `kind`/`object_id`.
    PutEventRef {
        company: String,
        id: String,
        event: bytes::Bytes,
        kind: Kind,
        object_id: String,
    },
    Delete {
        company: String,
        kind: Kind,
        id: String,
    },
    Counter {
        company: String,
        name: String,
        value: i64,
    },
    Idem {
        company: String,
        key: String,
        reply: IdemReply,
    },
    PutToken {
        hash: String,
        token: Token,
    },
    DeleteToken {
        hash: String,
    },
}

enum Msg {
    Op(Op),
    Ack(tokio::sync::oneshot::Sender<()>),
    Close(mpsc::Sender<()>),
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

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    company TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
    UNIQUE (company, kind, id));
CREATE TABLE IF NOT EXISTS counters (
    company TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (company, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
    company TEXT NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL, status INTEGER NOT NULL,
    body BLOB NOT NULL, PRIMARY KEY (company, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY, kind TEXT NOT NULL, company TEXT NOT NULL, client_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 1;
";

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

/// In an event's database row, `data.object_row` names the object row
/// that holds the version the event recorded (`{"kind", "id"}`), in place
/// of a copy in `data.object`.
const OBJECT_ROW: &str = "object_row";

fn load(conn: &Connection, data: &mut Data, now: i64) -> anyhow::Result<()> {
    // Events that refer to an object row: (company, key, event, kind, id).
    let mut referring: Vec<(String, Key, Value, Kind, Key)> = Vec::new();
    let mut stmt = conn.prepare("SELECT company, kind, id, body FROM objects")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let company: String = row.get(0)?;
        let kind: String = row.get(1)?;
        let id: String = row.get(2)?;
        let body: String = row.get(3)?;
        let Some(kind) = Kind::from_path(&kind) else {
            continue;
        };
        let mut value: Value = serde_json::from_str(&body)
            .with_context(|| format!("object {kind:?} {id} of {company} is not JSON"))?;
        let key = if kind.string_ids() {
            Key::Str(id)
        } else {
            Key::Num(id.parse().with_context(|| format!("bad id {id}"))?)
        };
        if let Key::Num(n) = key {
            data.next_id = data.next_id.max(n);
        }
        if kind == Kind::Event {
            let mut d = value.as_object_mut().and_then(|m| m.remove("data"));
            let d = d.as_mut().and_then(Value::as_object_mut);
            if let Some(row) = d.as_ref().and_then(|d| d.get(OBJECT_ROW)) {
                // Attached below, once every object is read.
                let of = row
                    .get("kind")
                    .and_then(Value::as_str)
                    .and_then(Kind::from_path)
                    .zip(row.get("id").and_then(Value::as_str));
                if let Some((of_kind, of_id)) = of {
                    let of_key = if of_kind.string_ids() {
                        Key::Str(of_id.to_string())
                    } else {
                        Key::Num(of_id.parse().with_context(|| format!("bad id {of_id}"))?)
                    };
                    referring.push((company, key, value, of_kind, of_key));
                    continue;
                }
            }
            let object = d.and_then(|d| d.remove("object"));
            // A recorded version is only ever shown: no parsed value kept.
            let object = object.map(|o| Arc::new(Obj::new(o, false)));
            let table = data.company(&company).table(kind);
            table.rows.insert(key, Arc::new(Obj::event(value, object)));
            continue;
        }
        let table = data.company(&company).table(kind);
        let obj = Obj::new(value, kind.keeps_value());
        if let Some(n) = obj.number() {
            table.numbers.insert(n.to_lowercase(), key.clone());
        }
        table.rows.insert(key, Arc::new(obj));
    }
    for (company, key, value, of_kind, of_key) in referring {
        let c = data.company(&company);
        let object = c.obj(of_kind, &of_key).cloned();
        if object.is_some() {
            c.refs.insert((of_kind, of_key), key.clone());
        }
        c.table(Kind::Event)
            .rows
            .insert(key, Arc::new(Obj::event(value, object)));
    }
    for table in data
        .companies
        .values_mut()
        .flat_map(|c| c.tables.values_mut())
    {
        table.reorder();
    }
    let mut stmt = conn.prepare("SELECT company, name, value FROM counters")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let company: String = row.get(0)?;
        let name: String = row.get(1)?;
        let value: i64 = row.get(2)?;
        if company.is_empty() && name == "next_id" {
            data.next_id = data.next_id.max(value);
        } else {
            data.company(&company).counters.insert(name, value);
        }
    }
    let mut stmt = conn.prepare("SELECT company, key, at, status, body FROM idempotency")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let at: i64 = row.get(2)?;
        if now - at > super::http::IDEMPOTENCY_TTL_SECS {
            continue;
        }
        let body: Vec<u8> = row.get(4)?;
        data.idem.insert(
            (row.get(0)?, row.get(1)?),
            IdemReply {
                at,
                status: row.get(3)?,
                body: body.into(),
            },
        );
    }
    let mut stmt = conn.prepare("SELECT hash, kind, company, client_id, expires_at FROM tokens")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        data.tokens.insert(
            row.get(0)?,
            Token {
                kind: row.get(1)?,
                company: row.get(2)?,
                client_id: row.get(3)?,
                expires_at: row.get(4)?,
            },
        );
    }
    Ok(())
}

const GROUP_MAX: usize = 4096;

fn write_loop(mut conn: Connection, rx: mpsc::Receiver<Msg>) {
    let mut acks = Vec::new();
    let mut close = None;
    while close.is_none() {
        let Ok(first) = rx.recv() else { break };
        let mut batch = vec![first];
        while batch.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let tx = match conn.transaction() {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!("emulator database: cannot begin: {e}");
                continue;
            }
        };
        // A counter only ever takes a new value: the group writes each
        // one once, with its last value.
        let mut counters: HashMap<(String, String), i64> = HashMap::new();
        for msg in batch {
            match msg {
                Msg::Op(Op::Counter {
                    company,
                    name,
                    value,
                }) => {
                    counters.insert((company, name), value);
                }
                Msg::Op(op) => {
                    if let Err(e) = apply(&tx, op) {
                        tracing::error!("emulator database: write failed: {e}");
                    }
                }
                Msg::Ack(a) => acks.push(a),
                Msg::Close(c) => close = Some(c),
            }
        }
        for ((company, name), value) in counters {
            let op = Op::Counter {
                company,
                name,
                value,
            };
            if let Err(e) = apply(&tx, op) {
                tracing::error!("emulator database: write failed: {e}");
            }
        }
        if let Err(e) = tx.commit() {
            tracing::error!("emulator database: commit failed: {e}");
        }
        for a in acks.drain(..) {
            let _ = a.send(());
        }
    }
    drop(conn);
    if let Some(c) = close {
        let _ = c.send(());
    }
}

/// Write an event's row.
fn put_event_row(
    tx: &rusqlite::Transaction<'_>,
    company: String,
    id: String,
    text: &[u8],
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO objects (company, kind, id, body) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        company,
        Kind::Event.path(),
        id,
        std::str::from_utf8(text).unwrap_or("{}")
    ])?;
    Ok(())
}

fn apply(tx: &rusqlite::Transaction<'_>, op: Op) -> rusqlite::Result<()> {
    match op {
        Op::Put {
            company,
            kind,
            id,
            text,
        } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO objects (company, kind, id, body) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                company,
                kind.path(),
                id,
                std::str::from_utf8(&text).unwrap_or("{}")
            ])?;
        }
        Op::PutEvent {
            company,
            id,
            event,
            object,
        } => {
            let text = compose_event(&event, &object);
            put_event_row(tx, company, id, &text)?;
        }
        Op::PutEventRef {
            company,
            id,
            event,
            kind,
            object_id,
        } => {
            let mut row = serde_json::Map::with_capacity(2);
            row.insert("kind".into(), Value::from(kind.path()));
            row.insert("id".into(), Value::from(object_id));
            let mut d = serde_json::Map::with_capacity(1);
            d.insert(OBJECT_ROW.into(), Value::Object(row));
            let d = serde_json::to_vec(&Value::Object(d)).unwrap_or_default();
            let text = compose_data(&event, &d);
            put_event_row(tx, company, id, &text)?;
        }
        Op::Delete { company, kind, id } => {
            tx.prepare_cached("DELETE FROM objects WHERE company = ?1 AND kind = ?2 AND id = ?3")?
                .execute(params![company, kind.path(), id])?;
        }
        Op::Counter {
            company,
            name,
            value,
        } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO counters (company, name, value) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![company, name, value])?;
        }
        Op::Idem {
            company,
            key,
            reply,
        } => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO idempotency (company, key, at, status, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![company, key, reply.at, reply.status, reply.body.as_ref()])?;
        }
        Op::PutToken { hash, token } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO tokens (hash, kind, company, client_id, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![hash, token.kind, token.company, token.client_id, token.expires_at])?;
        }
        Op::DeleteToken { hash } => {
            tx.prepare_cached("DELETE FROM tokens WHERE hash = ?1")?
                .execute(params![hash])?;
        }
    }
    Ok(())
}
