//! Output path templates for unattended runs:
//! `exports/invoices-{period}.xlsx`, `{date}` (today in Chisinau), `{from}`,
//! `{to}`, `{resource}`.

use super::period::DateRange;
use super::resource::Resource;
use chrono::NaiveDate;
use std::path::PathBuf;

/// A template with an unknown or unclosed placeholder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("output path `{template}`: unknown placeholder `{{{name}}}`; expected {{period}}, {{date}}, {{from}}, {{to}} or {{resource}}")]
    Unknown { template: String, name: String },
    #[error("output path `{template}`: `{{` without a closing `}}`")]
    Unclosed { template: String },
}

/// The values placeholders expand to.
#[derive(Debug, Clone)]
pub struct TemplateVars<'a> {
    pub range: &'a DateRange,
    pub today: NaiveDate,
    pub resource: Resource,
}

/// Expand the placeholders of an output path.
pub fn expand(template: &str, vars: &TemplateVars<'_>) -> Result<PathBuf, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}').ok_or_else(|| TemplateError::Unclosed {
            template: template.to_string(),
        })?;
        let name = &after[..end];
        let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "all".into());
        let value = match name {
            "period" => vars.range.label.clone(),
            "date" => vars.today.to_string(),
            "from" => day(vars.range.from),
            "to" => day(vars.range.to),
            "resource" => vars.resource.name().to_string(),
            _ => {
                return Err(TemplateError::Unknown {
                    template: template.to_string(),
                    name: name.to_string(),
                })
            }
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(PathBuf::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::period::parse_period;

    #[test]
    fn expands_placeholders() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let range = parse_period("last-month", today).unwrap();
        let vars = TemplateVars {
            range: &range,
            today,
            resource: Resource::Invoices,
        };
        assert_eq!(
            expand("exports/{resource}-{period}.xlsx", &vars).unwrap(),
            PathBuf::from("exports/invoices-2026-10.xlsx")
        );
        assert_eq!(
            expand("x/{from}_{to}_{date}.csv", &vars).unwrap(),
            PathBuf::from("x/2026-10-01_2026-10-31_2026-11-28.csv")
        );
        assert_eq!(
            expand("plain.csv", &vars).unwrap(),
            PathBuf::from("plain.csv")
        );
        let all = DateRange::all();
        let vars = TemplateVars {
            range: &all,
            ..vars
        };
        assert_eq!(
            expand("{period}-{from}", &vars).unwrap(),
            PathBuf::from("all-all")
        );
        assert!(expand("{month}.csv", &vars)
            .unwrap_err()
            .to_string()
            .contains("`{month}`"));
        assert!(matches!(
            expand("{period.csv", &vars),
            Err(TemplateError::Unclosed { .. })
        ));
    }
}
