//! Text as the program shows it and writes it back, made safe: values
//! quoted in messages cut to a bounded size ([`cut`]), control characters
//! escaped before they reach a terminal ([`escape_controls`],
//! [`escape_all`]), the characters that have no place in identifiers and
//! names found ([`bad_character`]), and text that a spreadsheet would run
//! as a formula neutralised ([`neutralise`]).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters of a value quoted in a message, before it is cut.
pub const QUOTE_CHARS: usize = 80;

/// Items of a list shown in a message ("the columns are ..."), at most.
pub const LIST_ITEMS: usize = 40;

/// `value` as a message quotes it: whole when short, else its first 80
/// characters, then `… (5,242,880 bytes)`.
pub fn cut(value: &str) -> Cow<'_, str> {
    cut_to(value, QUOTE_CHARS)
}

/// As [`cut`], keeping `chars` characters.
pub fn cut_to(value: &str, chars: usize) -> Cow<'_, str> {
    // Bytes bound characters from above: most values are short.
    if value.len() <= chars {
        return Cow::Borrowed(value);
    }
    match value.char_indices().nth(chars) {
        None => Cow::Borrowed(value),
        Some((end, _)) => Cow::Owned(format!(
            "{}… ({} bytes)",
            &value[..end],
            thousands(value.len() as u64)
        )),
    }
}

/// `5242880` → `5,242,880`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count for people: `4 MiB`, `512 KiB`, `100 bytes`.
pub fn bytes(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    const KIB: u64 = 1 << 10;
    if n >= MIB && n % MIB == 0 {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n % KIB == 0 {
        format!("{} KiB", n / KIB)
    } else {
        format!("{} bytes", thousands(n))
    }
}

/// Some items of a list, each cut, quoted and joined with `, `: at most
/// [`LIST_ITEMS`], then `… and N more`.
pub fn listing<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut n = 0usize;
    for item in items {
        if n < LIST_ITEMS {
            if n > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{:?}", cut(item));
        }
        n += 1;
    }
    if n > LIST_ITEMS {
        let _ = write!(out, ", … and {} more", thousands((n - LIST_ITEMS) as u64));
    }
    out
}

/// Why a character does not belong in an identifier or a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadChar {
    /// A C0 or C1 control character, or DEL.
    Control,
    /// A bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069,
    /// U+200E, U+200F, U+061C), which makes text read other than it is.
    Bidi,
    /// A zero-width or invisible character (U+200B–U+200D, U+2060, U+FEFF,
    /// U+00AD).
    Invisible,
}

impl BadChar {
    pub fn of(c: char) -> Option<BadChar> {
        match c {
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => Some(BadChar::Control),
            '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{61c}' => Some(BadChar::Bidi),
            '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}' => {
                Some(BadChar::Invisible)
            }
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            BadChar::Control => "a control character",
            BadChar::Bidi => "a bidirectional-text override",
            BadChar::Invisible => "an invisible (zero-width) character",
        }
    }
}

/// Which characters a text may hold besides printable ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Numbers, codes and names: a tab at most.
    Identifier,
    /// Notes, descriptions, addresses: tabs and line breaks too.
    Free,
}

/// The first character of `s` that has no place in it (its position in
/// characters, the character, and why), or `None`.
pub fn bad_character(s: &str, kind: TextKind) -> Option<(usize, char, BadChar)> {
    // Every bad character begins with one of these bytes: ASCII controls,
    // and the lead bytes of U+0080–U+00BF (C1 controls, the soft hyphen),
    // U+061C, U+2000–U+2FFF (zero-width and bidirectional marks) and
    // U+FEFF. Only the characters they begin are decoded, so text with
    // `№`, dashes or guillemets in it (lead bytes 0xE2 and 0xC2) is not
    // decoded whole.
    let suspicious = |b: u8| b < 0x20 || matches!(b, 0x7f | 0xc2 | 0xd8 | 0xe2 | 0xef);
    // The same test without branches, for whole chunks at a time (which
    // the compiler turns into vector compares): most text has no such
    // byte at all.
    let any_suspicious = |chunk: &[u8]| {
        chunk.iter().fold(false, |any, &b| {
            any | (b < 0x20) | (b == 0x7f) | (b == 0xc2) | (b == 0xd8) | (b == 0xe2) | (b == 0xef)
        })
    };
    const CHUNK: usize = 16;
    let bytes = s.as_bytes();
    let mut at = 0;
    loop {
        while bytes.len() - at >= CHUNK && !any_suspicious(&bytes[at..at + CHUNK]) {
            at += CHUNK;
        }
        if !any_suspicious(&bytes[at..]) {
            return None;
        }
        let step = bytes[at..].iter().position(|&b| suspicious(b))?;
        at += step;
        // `at` is a character boundary: no suspicious byte is a
        // continuation byte (0x80–0xBF).
        let c = s[at..].chars().next()?;
        let allowed = match kind {
            TextKind::Identifier => c == '\t',
            TextKind::Free => matches!(c, '\t' | '\n' | '\r'),
        };
        if !allowed {
            if let Some(why) = BadChar::of(c) {
                return Some((s[..at].chars().count(), c, why));
            }
        }
        at += c.len_utf8();
    }
}

/// `c` as an escape people can read: `\u{1b}`, `\u{202e}`.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn escape_with(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let needs = |c: char| !keep(c) && (BadChar::of(c).is_some());
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for a terminal: every control, bidi and invisible character
/// escaped (`\u{1b}`), but line breaks and tabs, which the message itself
/// is made of.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    escape_with(s, |c| c == '\n' || c == '\t')
}

/// A value on one line: line breaks and tabs escaped too.
pub fn escape_all(s: &str) -> Cow<'_, str> {
    escape_with(s, |_| false)
}

/// Whether a spreadsheet would run this text as a formula (OWASP's list:
/// `=`, `+`, `-`, `@`, tab, carriage return).
pub fn looks_like_formula(s: &str) -> bool {
    matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// Whether the text is a plain number (`-12,50`, `+373 22 123 456`,
/// `-5%`): a spreadsheet reads it as a number, never runs it.
fn plain_number(s: &str) -> bool {
    let body = s
        .strip_prefix(['-', '+'])
        .unwrap_or(s)
        .trim_end_matches('%');
    body.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b',' | b'.'))
}

/// Every text that opens as a formula would, plain numbers too, prefixed
/// with `'` (exports: a `+373 22 …` phone stays text where a spreadsheet
/// opens it).
pub fn neutralise_always(s: &str) -> Cow<'_, str> {
    if looks_like_formula(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Text that a spreadsheet would run as a formula, prefixed with `'`
/// (plain numbers, which it only reads, are left as they are: reports).
pub fn neutralise(s: &str) -> Cow<'_, str> {
    if looks_like_formula(s) && !plain_number(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_with_their_size() {
        assert_eq!(cut("short"), "short");
        let long = "x".repeat(5_242_880);
        let c = cut(&long);
        assert_eq!(c, format!("{}… (5,242,880 bytes)", "x".repeat(80)));
        let cyr = "Ж".repeat(100);
        assert_eq!(
            cut(&cyr),
            format!("{}… (200 bytes)", "Ж".repeat(80)),
            "cut at a character"
        );
        assert_eq!(cut(&"Ж".repeat(80)), "Ж".repeat(80));
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(bytes(4 << 20), "4 MiB");
        assert_eq!(bytes(1000), "1,000 bytes");
    }

    #[test]
    fn listings_are_capped() {
        let names: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        let l = listing(names.iter().map(String::as_str));
        assert!(l.starts_with("\"c0\", \"c1\""));
        assert!(l.ends_with("\"c39\", … and 60 more"), "{l}");
        assert_eq!(listing(["a", "b"]), "\"a\", \"b\"");
    }

    #[test]
    fn bad_characters_are_found_where_they_are() {
        use BadChar::*;
        let id = TextKind::Identifier;
        assert_eq!(bad_character("МД-0001", id), None);
        assert_eq!(bad_character("A\tB", id), None);
        assert_eq!(bad_character("AB\u{7}", id), Some((2, '\u{7}', Control)));
        assert_eq!(bad_character("1\n2", id), Some((1, '\n', Control)));
        assert_eq!(bad_character("1\n2", TextKind::Free), None);
        assert_eq!(
            bad_character("\u{1b}[2J", TextKind::Free),
            Some((0, '\u{1b}', Control))
        );
        assert_eq!(
            bad_character("ab\u{202e}cd", id),
            Some((2, '\u{202e}', Bidi))
        );
        assert_eq!(
            bad_character("a\u{200b}b", id),
            Some((1, '\u{200b}', Invisible))
        );
        assert_eq!(bad_character("\u{85}", id), Some((0, '\u{85}', Control)));
        // Letters that share lead bytes with bad characters are fine.
        assert_eq!(bad_character("café – «ёж» €", id), None);
        assert_eq!(bad_character("عربي", id), None);
    }

    /// The first bad character as a plain walk over every character finds it.
    fn bad_character_by_walking(s: &str, kind: TextKind) -> Option<(usize, char, BadChar)> {
        s.chars().enumerate().find_map(|(i, c)| {
            let allowed = match kind {
                TextKind::Identifier => c == '\t',
                TextKind::Free => matches!(c, '\t' | '\n' | '\r'),
            };
            (!allowed).then(|| BadChar::of(c).map(|why| (i, c, why)))?
        })
    }

    proptest::proptest! {
        #[test]
        fn bad_character_is_the_first_one_a_walk_finds(
            s in "[a-ză \\t\\n\\r\u{1}\u{7f}\u{80}\u{9f}\u{a0}\u{ab}\u{ad}\u{61b}\u{61c}\u{200a}-\u{2010}\u{2013}\u{2029}-\u{202f}\u{205f}-\u{206a}\u{2116}\u{feff}\u{fffd}Жё€]{0,40}"
        ) {
            for kind in [TextKind::Identifier, TextKind::Free] {
                proptest::prop_assert_eq!(bad_character(&s, kind), bad_character_by_walking(&s, kind));
            }
        }

        /// Long clean runs (skipped a chunk at a time) before the mix.
        #[test]
        fn bad_character_past_clean_runs_is_the_one_a_walk_finds(
            clean in "[a-zA-Z0-9ăîșțâ ЖёМД€.,;-]{0,70}",
            s in "[a-z \t\n\u{1}\u{7f}\u{85}\u{a0}\u{ad}\u{200b}\u{202e}\u{2116}\u{feff}Жё]{0,6}",
            tail in "[a-ză Ж]{0,20}",
        ) {
            let s = format!("{clean}{s}{tail}");
            for kind in [TextKind::Identifier, TextKind::Free] {
                proptest::prop_assert_eq!(bad_character(&s, kind), bad_character_by_walking(&s, kind));
            }
        }
    }

    #[test]
    fn terminals_get_escapes() {
        assert_eq!(escape_controls("plain\nline\ttab"), "plain\nline\ttab");
        assert_eq!(escape_controls("a\u{1b}[2Jb\u{7}"), "a\\u{1b}[2Jb\\u{7}");
        assert_eq!(escape_controls("x\u{202e}y\r"), "x\\u{202e}y\\r");
        assert_eq!(escape_all("a\nb"), "a\\nb");
    }

    #[test]
    fn formulas_are_neutralised_numbers_are_not() {
        for f in [
            "=CMD|' /C calc'!A0",
            "+1+cmd|x",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "=1",
        ] {
            assert_eq!(neutralise(f), format!("'{f}"), "{f}");
        }
        for ok in [
            "-5",
            "-1 234,50",
            "+373 22 123 456",
            "-20%",
            "plain",
            "",
            "1-2",
        ] {
            assert_eq!(neutralise(ok), ok, "{ok}");
        }
    }
}
