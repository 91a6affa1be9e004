//! The command line's spellings of the library's values: clap
//! `ValueEnum`s that convert into the library's plain enums, and the
//! parsers of values with units. The library itself knows nothing of clap.

use crate::config::EnvName;
use crate::export::{OutputFormat, Resource};
use crate::upload::OnExisting;
use clap::ValueEnum;

/// `--env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvArg {
    Local,
    Sandbox,
    Production,
}

impl From<EnvArg> for EnvName {
    fn from(e: EnvArg) -> Self {
        match e {
            EnvArg::Local => EnvName::Local,
            EnvArg::Sandbox => EnvName::Sandbox,
            EnvArg::Production => EnvName::Production,
        }
    }
}

/// `export RESOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResourceArg {
    Invoices,
    Customers,
    #[value(name = "credit_notes", alias = "credit-notes")]
    CreditNotes,
    Payments,
}

impl From<ResourceArg> for Resource {
    fn from(r: ResourceArg) -> Self {
        match r {
            ResourceArg::Invoices => Resource::Invoices,
            ResourceArg::Customers => Resource::Customers,
            ResourceArg::CreditNotes => Resource::CreditNotes,
            ResourceArg::Payments => Resource::Payments,
        }
    }
}

/// `export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Xlsx,
    Csv,
    Jsonl,
}

impl From<FormatArg> for OutputFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Xlsx => OutputFormat::Xlsx,
            FormatArg::Csv => OutputFormat::Csv,
            FormatArg::Jsonl => OutputFormat::Jsonl,
        }
    }
}

/// `import --on-existing`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OnExistingArg {
    /// Leave it as it is; count it as skipped.
    #[default]
    Skip,
    /// Send only the fields that differ (lines and metadata whole when those differ);
    /// the previous version is kept for `runs rollback`
    Update,
    /// Count the document as rejected.
    Fail,
}

impl From<OnExistingArg> for OnExisting {
    fn from(o: OnExistingArg) -> Self {
        match o {
            OnExistingArg::Skip => OnExisting::Skip,
            OnExistingArg::Update => OnExisting::Update,
            OnExistingArg::Fail => OnExisting::Fail,
        }
    }
}

/// `100/s`, `100`, `100/sec`: requests per second, at least 1.
pub use crate::config::parse_rate;

/// `4MiB`, `512K`, `16 MB`, `4194304`: a size in bytes, at least 1
/// (K, M and G count 1,024s: `4M` is `4MiB`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let scale: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => 0,
    };
    match num.parse::<u64>().ok().and_then(|n| n.checked_mul(scale)) {
        Some(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "expected a size such as 4MiB, 512KiB or 4194304 (bytes), found {s:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("4 MB"), Ok(4 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("4 apples").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn rates_parse_with_or_without_unit() {
        assert_eq!(parse_rate("100/s"), Ok(100));
        assert_eq!(parse_rate("100"), Ok(100));
        assert_eq!(parse_rate(" 7/sec "), Ok(7));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("1.5/s").is_err());
        assert_eq!(parse_rate("10/s"), Ok(10));
        assert_eq!(parse_rate("7"), Ok(7));
        assert!(parse_rate("0").is_err());
    }
}
