//! "Did you mean": the closest known name to one that was not found, for
//! every message that names a column, key, field, profile or resource.
//! Names are compared ignoring case and surrounding space, and also in
//! Latin letters, so that `Nomer` finds `Номер`.

/// The closest candidate to `name`, if one is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Names are compared by their first characters only: a name of
    // megabytes (a broken header) costs no more than a short one.
    let norm = |s: &str| s.trim().chars().take(64).collect::<String>().to_lowercase();
    let n = norm(name);
    let nt = translit(&n);
    candidates
        .into_iter()
        .map(|c| {
            let cn = norm(c);
            // Also compare in Latin letters: "Nomer" is close to "Номер".
            let score =
                strsim::jaro_winkler(&n, &cn).max(strsim::jaro_winkler(&nt, &translit(&cn)));
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Cyrillic and Romanian letters to plain Latin, for comparing names.
fn translit(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let t = match c {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' | 'ё' | 'э' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' | 'й' | 'ы' => "i",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "h",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "sch",
            'ъ' | 'ь' => "",
            'ю' => "iu",
            'я' => "ia",
            'ă' | 'â' => "a",
            'î' => "i",
            'ș' | 'ş' => "s",
            'ț' | 'ţ' => "t",
            other => {
                out.push(other);
                continue;
            }
        };
        out.push_str(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("Nomer", ["Номер", "Nomer ", "Data"]),
            Some("Nomer ")
        );
        assert_eq!(did_you_mean("colum", ["column", "value"]), Some("column"));
        assert_eq!(did_you_mean("zzz", ["column", "value"]), None);
        assert_eq!(did_you_mean("Nomer", ["Номер", "Дата"]), Some("Номер"));
        assert_eq!(
            did_you_mean("Cantitate", ["Cantitatea", "Preț"]),
            Some("Cantitatea")
        );
    }

    #[test]
    fn api_field_names() {
        let filterable = crate::model::filterable::INVOICES;
        assert_eq!(
            did_you_mean("stauts", filterable.iter().copied()),
            Some("status")
        );
        assert_eq!(did_you_mean("zzz", filterable.iter().copied()), None);
        assert_eq!(did_you_mean("acmee", ["acme", "globex"]), Some("acme"));
    }
}
