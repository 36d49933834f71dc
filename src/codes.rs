//! Check characters of Chinese organisation identifiers.
//!
//! - GB 32100-2015 unified social credit code (统一社会信用代码): 18 characters from a
//!   31-character alphabet (digits and upper-case letters without I O Z S V); the 18th is a
//!   mod-31 check character over the first 17.
//! - GB 11714-1997 organisation code (组织机构代码): 8 body characters (digits, upper-case
//!   letters) and a mod-11 check character (`X` for 10), often written `XXXXXXXX-X`. It is
//!   also characters 9–17 of a credit code.

/// The GB 32100 alphabet; a character's value is its index.
pub const CREDIT_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

fn credit_value(c: char) -> Option<u32> {
    CREDIT_ALPHABET.find(c).map(|i| i as u32)
}

/// The check character for the first 17 characters of a credit code, or None when a
/// character is outside the alphabet.
pub fn credit_check_char(first17: &str) -> Option<char> {
    let chars: Vec<char> = first17.chars().collect();
    if chars.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in chars.iter().zip(CREDIT_WEIGHTS) {
        sum += credit_value(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    CREDIT_ALPHABET.chars().nth(check as usize)
}

/// Why a credit code is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeProblem {
    Length(usize),
    BadCharacter(char),
    CheckCharacter { expected: char, found: char },
    /// characters 9–17 (the embedded organisation code) fail GB 11714
    EmbeddedOrgCode,
}

impl CodeProblem {
    pub fn message_zh(&self) -> String {
        match self {
            CodeProblem::Length(n) => format!("长度为{n}位，应为18位（统一社会信用代码）或9位（组织机构代码）"),
            CodeProblem::BadCharacter(c) => format!("含有不允许的字符“{c}”"),
            CodeProblem::CheckCharacter { expected, found } => {
                format!("校验码错误（末位为“{found}”，按GB 32100-2015应为“{expected}”）")
            }
            CodeProblem::EmbeddedOrgCode => "第9-17位组织机构代码校验错误（GB 11714）".to_string(),
        }
    }
}

/// Validates an 18-character credit code (already upper-cased and half-width).
pub fn validate_credit_code(code: &str) -> Result<(), CodeProblem> {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(CodeProblem::Length(chars.len()));
    }
    if let Some(c) = chars.iter().find(|c| credit_value(**c).is_none()) {
        return Err(CodeProblem::BadCharacter(*c));
    }
    let first17: String = chars[..17].iter().collect();
    let expected = credit_check_char(&first17).expect("alphabet checked");
    if expected != chars[17] {
        return Err(CodeProblem::CheckCharacter { expected, found: chars[17] });
    }
    Ok(())
}

fn org_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        'A'..='Z' => Some(c as u32 - 'A' as u32 + 10),
        _ => None,
    }
}

/// The GB 11714 check character for an 8-character organisation code body.
pub fn org_check_char(body: &str) -> Option<char> {
    let chars: Vec<char> = body.chars().collect();
    if chars.len() != 8 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in chars.iter().zip(ORG_WEIGHTS) {
        sum += org_value(*c)? * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10).unwrap(),
    })
}

/// Validates a 9-character organisation code, with or without the hyphen (`XXXXXXXX-X`).
pub fn validate_org_code(code: &str) -> Result<(), CodeProblem> {
    let compact: String = code.chars().filter(|c| *c != '-').collect();
    let chars: Vec<char> = compact.chars().collect();
    if chars.len() != 9 {
        return Err(CodeProblem::Length(chars.len()));
    }
    if let Some(c) = chars[..8].iter().find(|c| org_value(**c).is_none()) {
        return Err(CodeProblem::BadCharacter(*c));
    }
    let body: String = chars[..8].iter().collect();
    let expected = org_check_char(&body).expect("characters checked");
    if expected != chars[8] {
        return Err(CodeProblem::CheckCharacter { expected, found: chars[8] });
    }
    Ok(())
}

/// Makes a valid credit code from its first 16 characters (registration authority, type,
/// 6-digit division code, 8-character organisation body): appends the organisation check
/// character and the credit check character. Used by the sample generator.
pub fn complete_credit_code(first16: &str) -> Option<String> {
    let chars: Vec<char> = first16.chars().collect();
    if chars.len() != 16 {
        return None;
    }
    let body: String = chars[8..16].iter().collect();
    let org = org_check_char(&body)?;
    let first17 = format!("{first16}{org}");
    let check = credit_check_char(&first17)?;
    Some(format!("{first17}{check}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_credit_codes() {
        // published codes of real organisations
        assert_eq!(validate_credit_code("91350100M000100Y43"), Ok(()));
        assert_eq!(validate_credit_code("91110000802100433B"), Ok(()));
        assert!(matches!(
            validate_credit_code("91350100M000100Y44"),
            Err(CodeProblem::CheckCharacter { expected: '3', found: '4' })
        ));
        assert_eq!(validate_credit_code("9135010"), Err(CodeProblem::Length(7)));
        assert_eq!(validate_credit_code("91350100M000100YI3"), Err(CodeProblem::BadCharacter('I')));
    }

    #[test]
    fn known_org_codes() {
        assert_eq!(validate_org_code("D2143569-X"), validate_org_code("D2143569X"));
        // body 80210043 (from 91110000802100433B): check 3
        assert_eq!(org_check_char("80210043"), Some('3'));
        assert_eq!(validate_org_code("80210043-3"), Ok(()));
        assert!(validate_org_code("80210043-4").is_err());
    }

    #[test]
    fn completes_codes() {
        let c = complete_credit_code("9150010380210043").unwrap();
        assert_eq!(c.len(), 18);
        assert_eq!(validate_credit_code(&c), Ok(()));
        assert_eq!(validate_org_code(&c[8..17]), Ok(()));
    }
}
