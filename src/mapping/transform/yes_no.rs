//! Yes/no words ([`BoolLang`]) in Romanian, Russian and English, or any of
//! them.

/// Yes/no word sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoolLang {
    Any,
    Ro,
    Ru,
    En,
}

impl BoolLang {
    pub fn parse(name: &str) -> Option<BoolLang> {
        Some(match name {
            "any" => BoolLang::Any,
            "ro" => BoolLang::Ro,
            "ru" => BoolLang::Ru,
            "en" => BoolLang::En,
            _ => return None,
        })
    }

    pub fn words(self) -> (&'static [&'static str], &'static [&'static str]) {
        const RO: (&[&str], &[&str]) = (&["da", "d", "adevărat", "adevarat"], &["nu", "n", "fals"]);
        const RU: (&[&str], &[&str]) = (&["да", "д", "истина"], &["нет", "н", "ложь"]);
        const EN: (&[&str], &[&str]) = (&["yes", "y", "true", "t"], &["no", "n", "false", "f"]);
        const ANY: (&[&str], &[&str]) = (
            &[
                "1",
                "yes",
                "y",
                "true",
                "t",
                "da",
                "adevărat",
                "adevarat",
                "да",
                "истина",
                "x",
                "+",
            ],
            &[
                "0", "no", "n", "false", "f", "nu", "fals", "нет", "ложь", "-",
            ],
        );
        match self {
            BoolLang::Any => ANY,
            BoolLang::Ro => RO,
            BoolLang::Ru => RU,
            BoolLang::En => EN,
        }
    }
}

/// A yes/no word in `lang`.
pub fn parse_bool(text: &str, lang: BoolLang) -> Option<bool> {
    let s = text.trim().to_lowercase();
    let (yes, no) = lang.words();
    if yes.contains(&s.as_str()) {
        Some(true)
    } else if no.contains(&s.as_str()) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_no_words() {
        assert_eq!(parse_bool("Da", BoolLang::Ro), Some(true));
        assert_eq!(parse_bool("нет", BoolLang::Ru), Some(false));
        assert_eq!(parse_bool("YES", BoolLang::En), Some(true));
        assert_eq!(parse_bool("да", BoolLang::En), None);
        assert_eq!(parse_bool("1", BoolLang::Any), Some(true));
    }
}
