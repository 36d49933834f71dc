//! Normalising raw text into typed values: ISO dates, digits-only phones, upper-case
//! half-width codes, numbers. A value that cannot be normalised is an error, never a guess.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::config::fold_width;
use crate::model::{Kind, Value};

/// Why a raw text could not become a value of its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct NotA(pub &'static str);

impl NotA {
    pub fn kind_zh(&self) -> &'static str {
        self.0
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

/// Collapses whitespace; drops it entirely between two CJK characters (text drawn with
/// letter spacing, `重 庆 市`), keeps one space between Latin words.
pub fn clean_text(raw: &str) -> String {
    let chars: Vec<char> = raw.trim().chars().map(|c| if c == '\u{3000}' || c == '\u{a0}' { ' ' } else { c }).collect();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let prev = out.chars().last();
            let next = chars.get(j).copied();
            let drop = match (prev, next) {
                (Some(p), Some(n)) => is_cjk(p) || is_cjk(n),
                _ => true,
            };
            if !drop {
                out.push(' ');
            }
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Half-width, no whitespace, upper-case; dashes of every width become `-`.
pub fn clean_code(raw: &str) -> String {
    let code: String = raw
        .chars()
        .map(fold_width)
        .map(|c| if matches!(c, '－' | '—' | '–' | '‐' | '‑' | '−' | '一' ) { '-' } else { c })
        .filter(|c| !c.is_whitespace())
        .flat_map(|c| c.to_uppercase())
        .collect();
    // an organisation code written `XXXXXXXX-X` is the nine characters (GB 11714)
    match code.split_once('-') {
        Some((body, check)) if body.len() == 8 && check.len() == 1 && code.is_ascii() => format!("{body}{check}"),
        _ => code,
    }
}

/// Digits only; a leading +86/86 country code on a mobile number is dropped.
pub fn clean_phone(raw: &str) -> Result<String, NotA> {
    let digits: String = raw.chars().map(fold_width).filter(|c| c.is_ascii_digit()).collect();
    let letters = raw.chars().map(fold_width).any(|c| c.is_alphabetic() && !is_cjk(c));
    if digits.is_empty() || letters {
        return Err(NotA("电话号码"));
    }
    if digits.len() == 13 && digits.starts_with("861") {
        return Ok(digits[2..].to_string());
    }
    Ok(digits)
}

/// `4-04-05` from `4－04－05`, `4—04—05`, `4 - 04 - 05`, `40405`.
pub fn clean_occupation_code(raw: &str) -> Result<String, NotA> {
    let c = clean_code(raw);
    let digits: Vec<char> = c.chars().filter(|c| c.is_ascii_digit()).collect();
    let only_digits_and_dashes = c.chars().all(|ch| ch.is_ascii_digit() || ch == '-' || ch == '.');
    if !only_digits_and_dashes || digits.is_empty() {
        return Err(NotA("职业编码"));
    }
    let parts: Vec<&str> = c.split(['-', '.']).filter(|p| !p.is_empty()).collect();
    if parts.len() >= 3 {
        return Ok(parts.join("-"));
    }
    if digits.len() == 5 && parts.len() == 1 {
        let d: String = digits.iter().collect();
        return Ok(format!("{}-{}-{}", &d[..1], &d[1..3], &d[3..5]));
    }
    Ok(c)
}

/// Excel's serial day numbers (1900 system) → date.
pub fn excel_serial_date(serial: f64) -> Option<NaiveDateTime> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let days = serial.trunc() as i64;
    let secs = ((serial - serial.trunc()) * 86_400.0).round() as i64;
    base.checked_add_signed(Duration::days(days) + Duration::seconds(secs))
}

/// Parses the date forms seen on the forms: `2024-05-20`, `2024/5/20`, `2024.5.20`,
/// `2024年5月20日`, `20240520`, an Excel serial; a trailing time is accepted and returned.
pub fn parse_datetime(raw: &str) -> Result<(NaiveDate, Option<NaiveTime>), NotA> {
    let s: String = raw.chars().map(fold_width).collect();
    // a quote or bar at either end is a cell rule or speck OCR read beside the date
    let s = s.trim().trim_matches(|c: char| "”“\"'‘’|".contains(c)).trim();
    if s.is_empty() {
        return Err(NotA("日期"));
    }
    // Excel serial written out as text
    if let Ok(n) = s.parse::<f64>() {
        if (20_000.0..80_000.0).contains(&n) {
            let dt = excel_serial_date(n).ok_or(NotA("日期"))?;
            let t = if n.fract() != 0.0 { Some(dt.time()) } else { None };
            return Ok((dt.date(), t));
        }
    }
    let mut nums: Vec<u32> = Vec::new();
    let mut cur = String::new();
    let mut seps = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            cur.push(c);
        } else {
            if !cur.is_empty() {
                nums.push(cur.parse().map_err(|_| NotA("日期"))?);
                cur.clear();
            }
            seps.push(c);
        }
    }
    if !cur.is_empty() {
        nums.push(cur.parse().map_err(|_| NotA("日期"))?);
    }
    // 20240520 as one number
    if nums.len() == 1 && s.len() == 8 {
        let n = nums[0];
        nums = vec![n / 10000, n / 100 % 100, n % 100];
    }
    if nums.len() < 3 || !(1900..=2100).contains(&nums[0]) {
        return Err(NotA("日期"));
    }
    // only date separators, time separators and the words 年月日时分秒 are allowed
    if !seps.chars().all(|c| matches!(c, '-' | '/' | '.' | '年' | '月' | '日' | '号' | ' ' | ':' | 'T' | '时' | '分' | '秒' | '+')) {
        return Err(NotA("日期"));
    }
    let date = NaiveDate::from_ymd_opt(nums[0] as i32, nums[1], nums[2]).ok_or(NotA("日期"))?;
    let time = match nums.len() {
        3 => None,
        5 => NaiveTime::from_hms_opt(nums[3], nums[4], 0),
        6 => NaiveTime::from_hms_opt(nums[3], nums[4], nums[5]),
        7 if seps.ends_with('+') || s.contains("+08") => NaiveTime::from_hms_opt(nums[3], nums[4], nums[5]),
        _ => return Err(NotA("日期")),
    };
    if nums.len() > 3 && time.is_none() {
        return Err(NotA("日期"));
    }
    Ok((date, time))
}

/// A date range in one cell — `2019年10月15日至10月16日`, `2022.05.17-05.19`,
/// `2024/5/20~2024/5/22` — as its first and last day (the end inherits the start's year and
/// month when it omits them). None when the text is not a range of two dates.
pub fn parse_date_range(raw: &str) -> Option<(NaiveDate, NaiveDate)> {
    // spaces OCR puts inside a date (`2019.07 .08-07.13`) mean nothing
    let s: String = raw.chars().map(fold_width).filter(|c| !c.is_whitespace()).collect();
    let (a, b) = ["至", "~", "～", "—", "–", "到"]
        .iter()
        .find_map(|sep| s.split_once(sep))
        .or_else(|| {
            // `2022.05.17-05.19`: a hyphen after a complete date
            let i = s.char_indices().filter(|(_, c)| *c == '-').map(|(i, _)| i).find(|&i| parse_datetime(&s[..i]).is_ok())?;
            Some((&s[..i], &s[i + 1..]))
        })?;
    let start = parse_datetime(a.trim()).ok()?.0;
    let nums: Vec<u32> = b.split(|c: char| !c.is_ascii_digit()).filter(|x| !x.is_empty()).filter_map(|x| x.parse().ok()).collect();
    use chrono::Datelike;
    let end = match nums.as_slice() {
        [d] => NaiveDate::from_ymd_opt(start.year(), start.month(), *d)?,
        [m, d] => NaiveDate::from_ymd_opt(start.year(), *m, *d)?,
        [y, m, d] => NaiveDate::from_ymd_opt(*y as i32, *m, *d)?,
        _ => return None,
    };
    (end >= start).then_some((start, end))
}

fn parse_number(raw: &str) -> Option<f64> {
    let s: String = raw
        .chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace() && *c != ',')
        .collect();
    let s = s
        .trim_end_matches("万元")
        .trim_end_matches('万')
        .trim_end_matches('元')
        .trim_end_matches('人')
        .trim_end_matches('名')
        .trim_end_matches('个');
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Normalises raw text to a value of `kind`. Empty text is `Ok(None)`.
pub fn normalize(kind: Kind, raw: &str) -> Result<Option<Value>, NotA> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || matches!(trimmed, "/" | "无" | "-" | "—" | "——") && kind != Kind::Text {
        return Ok(None);
    }
    Ok(Some(match kind {
        Kind::Text => {
            let t = clean_text(raw);
            if t.is_empty() {
                return Ok(None);
            }
            Value::Text(t)
        }
        Kind::Code => Value::Text(clean_code(raw)),
        Kind::Phone => Value::Text(clean_phone(raw)?),
        Kind::OccupationCode => Value::Text(clean_occupation_code(raw)?),
        Kind::Date => Value::Date(parse_datetime(raw)?.0),
        Kind::DateTime => {
            let (d, t) = parse_datetime(raw)?;
            Value::DateTime(d.and_time(t.unwrap_or(NaiveTime::MIN)))
        }
        Kind::Int => {
            let n = parse_number(raw).ok_or(NotA("整数"))?;
            if n.fract() != 0.0 || n.abs() > 1e12 {
                return Err(NotA("整数"));
            }
            Value::Int(n as i64)
        }
        Kind::Number => Value::Number(parse_number(raw).ok_or(NotA("数字"))?),
    }))
}

/// Normalises a number read from a spreadsheet cell.
pub fn normalize_number(kind: Kind, n: f64) -> Result<Option<Value>, NotA> {
    if !n.is_finite() {
        return Err(NotA("数字"));
    }
    match kind {
        Kind::Date | Kind::DateTime => {
            let dt = excel_serial_date(n).ok_or(NotA("日期"))?;
            Ok(Some(if kind == Kind::Date { Value::Date(dt.date()) } else { Value::DateTime(dt) }))
        }
        Kind::Int if n.fract() == 0.0 => Ok(Some(Value::Int(n as i64))),
        Kind::Int => Err(NotA("整数")),
        Kind::Number => Ok(Some(Value::Number(n))),
        _ => {
            let text = if n.fract() == 0.0 && n.abs() < 1e17 { format!("{}", n as i64) } else { format!("{n}") };
            normalize(kind, &text)
        }
    }
}

/// Normalises a date/time read from a spreadsheet cell.
pub fn normalize_datetime(kind: Kind, dt: NaiveDateTime) -> Result<Option<Value>, NotA> {
    match kind {
        Kind::Date => Ok(Some(Value::Date(dt.date()))),
        Kind::DateTime => Ok(Some(Value::DateTime(dt))),
        _ => normalize(kind, &dt.format("%Y-%m-%d").to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Value {
        Value::Date(NaiveDate::from_ymd_opt(y, m, day).unwrap())
    }

    #[test]
    fn dates() {
        for raw in ["2024-05-20", "2024/5/20", "2024.5.20", "2024年5月20日", "２０２４年５月２０日", "20240520", "45432", "”2024年5月20日", "2024-05-20|"] {
            assert_eq!(normalize(Kind::Date, raw), Ok(Some(d(2024, 5, 20))), "{raw}");
        }
        assert!(normalize(Kind::Date, "2024年13月5日").is_err());
        assert!(normalize(Kind::Date, "五月").is_err());
        assert_eq!(normalize(Kind::Date, ""), Ok(None));
        let t = normalize(Kind::DateTime, "2024-02-03 16:22:10").unwrap().unwrap();
        assert_eq!(t.to_string(), "2024-02-03 16:22:10");
        let t = normalize(Kind::DateTime, "2024/2/5 18:00").unwrap().unwrap();
        assert_eq!(t.to_string(), "2024-02-05 18:00:00");
    }

    #[test]
    fn date_ranges() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(parse_date_range("2019年10月15日至10月16日"), Some((d(2019, 10, 15), d(2019, 10, 16))));
        assert_eq!(parse_date_range("2022.05.17-05.19"), Some((d(2022, 5, 17), d(2022, 5, 19))));
        assert_eq!(parse_date_range("2024/5/20~2024/5/22"), Some((d(2024, 5, 20), d(2024, 5, 22))));
        assert_eq!(parse_date_range("2021年3月8日至12日"), Some((d(2021, 3, 8), d(2021, 3, 12))));
        assert_eq!(parse_date_range("2019.07 .08-07.13"), Some((d(2019, 7, 8), d(2019, 7, 13))));
        assert_eq!(parse_date_range("2024/5/20 - 2024/5/22"), Some((d(2024, 5, 20), d(2024, 5, 22))));
        assert_eq!(parse_date_range("2022.05.17"), None);
        assert_eq!(parse_date_range("2024-05-20"), None);
    }

    #[test]
    fn phones_and_codes() {
        assert_eq!(normalize(Kind::Phone, "138-1234-5678"), Ok(Some(Value::Text("13812345678".into()))));
        assert_eq!(normalize(Kind::Phone, "(023)88152326"), Ok(Some(Value::Text("02388152326".into()))));
        assert_eq!(normalize(Kind::Phone, "+86 138 1234 5678"), Ok(Some(Value::Text("13812345678".into()))));
        assert!(normalize(Kind::Phone, "无电话号码abc").is_err());
        assert_eq!(normalize(Kind::OccupationCode, "4－04－05"), Ok(Some(Value::Text("4-04-05".into()))));
        assert_eq!(normalize(Kind::OccupationCode, "4—04—05"), Ok(Some(Value::Text("4-04-05".into()))));
        assert_eq!(normalize(Kind::Code, "９１５０ ０１０３ａｂ"), Ok(Some(Value::Text("91500103AB".into()))));
        assert_eq!(normalize(Kind::Code, "by2024－0001"), Ok(Some(Value::Text("BY2024-0001".into()))));
    }

    #[test]
    fn numbers_and_text() {
        assert_eq!(normalize(Kind::Int, "120人"), Ok(Some(Value::Int(120))));
        assert_eq!(normalize(Kind::Int, "1,200"), Ok(Some(Value::Int(1200))));
        assert!(normalize(Kind::Int, "十二").is_err());
        assert_eq!(normalize(Kind::Number, "12.5万元"), Ok(Some(Value::Number(12.5))));
        assert_eq!(normalize(Kind::Text, " 重 庆 市  渝中区 "), Ok(Some(Value::Text("重庆市渝中区".into()))));
        assert_eq!(normalize(Kind::Text, "WPS Office 应用"), Ok(Some(Value::Text("WPS Office应用".into()))));
        assert_eq!(normalize_number(Kind::Phone, 13812345678.0), Ok(Some(Value::Text("13812345678".into()))));
        assert_eq!(normalize_number(Kind::Date, 45432.0), Ok(Some(d(2024, 5, 20))));
    }
}
