//! The Moldovan IDNO (company fiscal code): 13 digits, the last a check digit
//! `Σ dᵢ·wᵢ mod 10` over the first 12 with weights 7, 3, 1 repeating.

/// Why a string is not a valid IDNO.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdnoError {
    #[error("expected 13 digits, found {0} characters")]
    Length(usize),
    #[error("expected only digits, found {0:?}")]
    NotDigit(char),
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit { found: u32, expected: u32 },
}

/// The check digit for the first 12 digits.
pub fn check_digit(first12: &[u32; 12]) -> u32 {
    const W: [u32; 3] = [7, 3, 1];
    first12
        .iter()
        .enumerate()
        .map(|(i, d)| d * W[i % 3])
        .sum::<u32>()
        % 10
}

/// Validate an IDNO.
pub fn validate(idno: &str) -> Result<(), IdnoError> {
    let n = idno.chars().count();
    if n != 13 {
        return Err(IdnoError::Length(n));
    }
    let mut digits = [0u32; 13];
    for (i, c) in idno.chars().enumerate() {
        digits[i] = c.to_digit(10).ok_or(IdnoError::NotDigit(c))?;
    }
    let mut first = [0u32; 12];
    first.copy_from_slice(&digits[..12]);
    let expected = check_digit(&first);
    if digits[12] != expected {
        return Err(IdnoError::CheckDigit {
            found: digits[12],
            expected,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_md_examples() {
        assert_eq!(validate("1008600038413"), Ok(()));
        assert_eq!(
            validate("1008600038412"),
            Err(IdnoError::CheckDigit {
                found: 2,
                expected: 3
            })
        );
        assert_eq!(validate("100860003841"), Err(IdnoError::Length(12)));
        assert_eq!(validate("10086000384a3"), Err(IdnoError::NotDigit('a')));
    }
}
