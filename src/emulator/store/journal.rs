//! The SQLite journal (WAL): its schema, the changes to persist ([`Op`]),
//! the whole file read back into [`Data`] on start, and the writer thread
//! that applies changes in groups of up to `GROUP_MAX` per transaction
//! and acknowledges each group once it is committed.

use super::tables::{compose_data, compose_event, Key, Obj};
use super::{Data, IdemReply, Token};
use crate::emulator::resources::Kind;
use anyhow::Context as _;
use rusqlite::{params, Connection};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{mpsc, Arc};

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

pub(super) enum Msg {
    Op(Op),
    Ack(tokio::sync::oneshot::Sender<()>),
    Close(mpsc::Sender<()>),
}

pub(super) const SCHEMA: &str = "
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

/// In an event's database row, `data.object_row` names the object row
/// that holds the version the event recorded (`{"kind", "id"}`), in place
/// of a copy in `data.object`.
const OBJECT_ROW: &str = "object_row";

pub(super) fn load(conn: &Connection, data: &mut Data, now: i64) -> anyhow::Result<()> {
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
        if now - at > crate::emulator::http::IDEMPOTENCY_TTL_SECS {
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

pub(super) fn write_loop(mut conn: Connection, rx: mpsc::Receiver<Msg>) {
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
