//! Text transforms ([`TextOp`]): trim, upper and lower case, runs of
//! whitespace collapsed, digits only, quotes stripped; each borrows the
//! text when it leaves it as it is.

use std::borrow::Cow;

/// A text transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    Trim,
    Upper,
    Lower,
    CollapseSpaces,
    Digits,
    StripQuotes,
}

impl TextOp {
    pub fn parse(name: &str) -> Option<TextOp> {
        Some(match name {
            "trim" => TextOp::Trim,
            "upper" => TextOp::Upper,
            "lower" => TextOp::Lower,
            "collapse_spaces" => TextOp::CollapseSpaces,
            "digits" => TextOp::Digits,
            "strip_quotes" => TextOp::StripQuotes,
            _ => return None,
        })
    }

    pub fn apply(self, s: String) -> String {
        self.apply_cow(Cow::Owned(s)).into_owned()
    }

    /// As [`TextOp::apply`], borrowing when the text is left as it is.
    pub fn apply_cow(self, s: Cow<'_, str>) -> Cow<'_, str> {
        let same = match self {
            TextOp::Trim => {
                return narrow(s, str::trim);
            }
            TextOp::StripQuotes => {
                return narrow(s, |t| {
                    t.trim_matches(|c| matches!(c, '"' | '\'' | '«' | '»' | '„' | '“' | '”'))
                });
            }
            TextOp::Upper => s.chars().all(|c| {
                let mut u = c.to_uppercase();
                u.next() == Some(c) && u.next().is_none()
            }),
            TextOp::Lower => s.chars().all(|c| {
                let mut u = c.to_lowercase();
                u.next() == Some(c) && u.next().is_none()
            }),
            TextOp::CollapseSpaces => is_collapsed(&s),
            TextOp::Digits => s.bytes().all(|b| b.is_ascii_digit()),
        };
        if same {
            s
        } else {
            Cow::Owned(self.apply_owned(&s))
        }
    }

    fn apply_owned(self, s: &str) -> String {
        match self {
            TextOp::Trim => s.trim().to_string(),
            TextOp::Upper => s.to_uppercase(),
            TextOp::Lower => s.to_lowercase(),
            TextOp::CollapseSpaces => collapse_spaces(s),
            TextOp::Digits => s.chars().filter(char::is_ascii_digit).collect(),
            TextOp::StripQuotes => s
                .trim_matches(|c| matches!(c, '"' | '\'' | '«' | '»' | '„' | '“' | '”'))
                .to_string(),
        }
    }
}

/// A slice of the text (trimming), borrowed when the text is.
fn narrow<'a>(s: Cow<'a, str>, f: impl for<'b> Fn(&'b str) -> &'b str) -> Cow<'a, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(f(b)),
        Cow::Owned(o) => {
            let t = f(&o);
            if t.len() == o.len() {
                Cow::Owned(o)
            } else {
                Cow::Owned(t.to_string())
            }
        }
    }
}

/// Whether [`collapse_spaces`] would leave the text as it is.
fn is_collapsed(s: &str) -> bool {
    let mut prev_space = true;
    for c in s.chars() {
        if c.is_whitespace() {
            if c != ' ' || prev_space {
                return false;
            }
            prev_space = true;
        } else {
            prev_space = false;
        }
    }
    !prev_space || s.is_empty()
}

/// Runs of whitespace to one space, trimmed.
pub fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::transform::parse_integer;

    #[test]
    fn borrowing_transforms_give_what_the_owned_ones_do() {
        let ops = [
            TextOp::Trim,
            TextOp::Upper,
            TextOp::Lower,
            TextOp::CollapseSpaces,
            TextOp::Digits,
            TextOp::StripQuotes,
        ];
        let texts = [
            "",
            " ",
            "a",
            "ООО «Агроком»",
            "ООО  «Агроком» ",
            " x",
            "x ",
            "a\tb",
            "a\u{a0}b",
            "Straße",
            "ǅ",
            "МТ-0000001",
            "1003600045120",
            "«Alfa»",
            "MDL",
            "mdl",
        ];
        for op in ops {
            for t in texts {
                let want = op.apply_owned(t);
                assert_eq!(op.apply_cow(Cow::Borrowed(t)), want, "{op:?} on {t:?}");
                assert_eq!(op.apply(t.to_string()), want, "{op:?} on {t:?}");
            }
        }
    }

    #[test]
    fn text_ops() {
        assert_eq!(
            TextOp::CollapseSpaces.apply("  SRL   Alfa \t Beta ".into()),
            "SRL Alfa Beta"
        );
        assert_eq!(
            TextOp::Digits.apply("IDNO: 1008-6000-38413".into()),
            "1008600038413"
        );
        assert_eq!(TextOp::StripQuotes.apply("«Alfa»".into()), "Alfa");
        assert_eq!(parse_integer("12.0"), Some(12));
        assert_eq!(parse_integer("12.5"), None);
    }
}
