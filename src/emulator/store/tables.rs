//! The in-memory tables: an object kept as its JSON text ([`Obj`], made
//! once, shared by replies, lists, events and database rows), read back
//! field by field without parsing the rest; a kind's [`Table`] in id order
//! with its number index and cached lists; an event's text composed with
//! the object it recorded; and everything one [`Company`] owns.

use crate::emulator::resources::Kind;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

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
    pub(super) data: Option<Arc<Obj>>,
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
    pub(super) rows: BTreeMap<Key, Arc<Obj>>,
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
    pub(super) fn reorder(&mut self) {
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
pub(super) fn compose_data(event: &[u8], d: &[u8]) -> bytes::Bytes {
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
