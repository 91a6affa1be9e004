//! The spec's value types that take more than one shape, each with its own
//! deserializer (serde's `untagged` buffers the value and loses TOML's
//! spans): one or many tables, a string or a list of strings, a sheet by
//! name, position, `"*"` or list, and a field as a column name or a table.

use super::FieldTable;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// One value or a list of them (`group_by = "Nr"` or `["Serie", "Nr"]`).
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

// Not `#[serde(untagged)]`: that buffers the value and loses TOML spans.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table or a list of tables")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<T>()? {
                    out.push(v);
                }
                Ok(OneOrMany(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let v = T::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(OneOrMany(vec![v]))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A string or a list of strings, with the span of the whole value
/// (`group_by = "Nr"`, `transform = ["trim", "upper"]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrList {
    pub span: std::ops::Range<usize>,
    pub items: Vec<String>,
}

impl<'de> Deserialize<'de> for StrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = Spanned::<toml::Value>::deserialize(d)?;
        let span = v.span();
        let items = match v.into_inner() {
            toml::Value::String(s) => vec![s],
            toml::Value::Array(a) => a
                .into_iter()
                .map(|x| match x {
                    toml::Value::String(s) => Ok(s),
                    other => Err(D::Error::custom(format!(
                        "expected a string in the list, found {}",
                        other.type_str()
                    ))),
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(D::Error::custom(format!(
                    "expected a string or a list of strings, found {}",
                    other.type_str()
                )))
            }
        };
        Ok(StrList { span, items })
    }
}

/// A sheet by name or 1-based position, `"*"` (every sheet with the first
/// one's header) or a list of names.
#[derive(Debug, Clone, PartialEq)]
pub enum SheetValue {
    Index(i64),
    Name(String),
    All,
    List(Vec<String>),
}

impl<'de> Deserialize<'de> for SheetValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        Ok(match toml::Value::deserialize(d)? {
            toml::Value::Integer(i) => SheetValue::Index(i),
            toml::Value::String(s) if s.trim() == "*" => SheetValue::All,
            toml::Value::String(s) => SheetValue::Name(s),
            toml::Value::Array(a) => SheetValue::List(
                a.into_iter()
                    .map(|x| match x {
                        toml::Value::String(s) => Ok(s),
                        other => Err(D::Error::custom(format!(
                            "expected a sheet name in the list, found {}",
                            other.type_str()
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => {
                return Err(D::Error::custom(format!(
                    "expected a sheet name, a position from 1, \"*\" or a list of names, found {}",
                    other.type_str()
                )))
            }
        })
    }
}

/// A field: a column name, or a [`FieldTable`].
#[derive(Debug, Clone)]
pub struct FieldSpec(pub Spanned<FieldTable>);

impl<'de> Deserialize<'de> for FieldSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<FieldRepr>::deserialize(d)?;
        let span = spanned.span();
        let table = match spanned.into_inner() {
            FieldRepr(FieldReprInner::Column(c)) => FieldTable {
                column: Some(Spanned::new(span.clone(), c.into_inner())),
                ..Default::default()
            },
            FieldRepr(FieldReprInner::Table(t)) => *t,
        };
        Ok(FieldSpec(Spanned::new(span, table)))
    }
}

struct FieldRepr(FieldReprInner);

enum FieldReprInner {
    Column(Spanned<String>),
    Table(Box<FieldTable>),
}

impl<'de> Deserialize<'de> for FieldRepr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FieldRepr;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a column name or a table such as { column = \"Nr\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FieldRepr, E> {
                // Spans for a bare string are the whole field's span.
                Ok(FieldRepr(FieldReprInner::Column(Spanned::new(
                    0..0,
                    v.to_string(),
                ))))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<FieldRepr, A::Error> {
                let t = FieldTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(FieldRepr(FieldReprInner::Table(Box::new(t))))
            }
        }
        d.deserialize_any(V)
    }
}
