//! How values are printed on forms and sheets (the variety the extractor has to normalise).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// 2024-05-20
    Iso,
    /// 2024/5/20
    Slash,
    /// 2024年5月20日
    Cn,
}

impl DateStyle {
    pub const ALL: [DateStyle; 3] = [DateStyle::Iso, DateStyle::Slash, DateStyle::Cn];
    pub fn as_str(self) -> &'static str {
        match self {
            DateStyle::Iso => "iso",
            DateStyle::Slash => "slash",
            DateStyle::Cn => "cn",
        }
    }
}

pub fn date(d: NaiveDate, st: DateStyle) -> String {
    match st {
        DateStyle::Iso => d.format("%Y-%m-%d").to_string(),
        DateStyle::Slash => format!("{}/{}/{}", d.year(), d.month(), d.day()),
        DateStyle::Cn => cn_date(d),
    }
}

/// `2024年1月25日`
pub fn cn_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// A date on a paper-era form: `2019年10月15日` or `2022.05.17`.
pub fn legacy_date(d: NaiveDate, dot: bool) -> String {
    if dot {
        d.format("%Y.%m.%d").to_string()
    } else {
        cn_date(d)
    }
}

/// A paper-era 竞赛时间: one day as [`legacy_date`], a range as `2019年10月15日至10月16日`
/// (`至2020年1月3日` across a year) or `2022.05.17-05.19` (`2022.12.30-2023.01.02`).
pub fn legacy_range(start: NaiveDate, end: NaiveDate, dot: bool) -> String {
    if start == end {
        return legacy_date(start, dot);
    }
    let same_year = start.year() == end.year();
    match (dot, same_year) {
        (false, true) => format!("{}至{}月{}日", cn_date(start), end.month(), end.day()),
        (false, false) => format!("{}至{}", cn_date(start), cn_date(end)),
        (true, true) => format!("{}-{}", legacy_date(start, true), end.format("%m.%d")),
        (true, false) => format!("{}-{}", legacy_date(start, true), legacy_date(end, true)),
    }
}

/// Submission time as text: `2024-02-03 16:22:10` or `2024/2/3 16:22:10` (always with seconds).
pub fn datetime(t: NaiveDateTime, st: DateStyle) -> String {
    match st {
        DateStyle::Slash => format!(
            "{}/{}/{} {:02}:{:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        _ => t.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

/// Prints a phone (digits) in a style: 0 plain, 1 hyphenated (`138-1234-5678`, `023-88152326`),
/// 2 parenthesised area code for landlines (`(023)88152326`). Malformed numbers print plain.
pub fn phone(digits: &str, style: u8) -> String {
    let mobile = digits.len() == 11 && digits.starts_with('1');
    let landline = digits.len() == 11 && digits.starts_with("023");
    match (style, mobile, landline) {
        (1, true, _) => format!("{}-{}-{}", &digits[..3], &digits[3..7], &digits[7..]),
        (1, _, true) => format!("023-{}", &digits[3..]),
        (2, _, true) => format!("(023){}", &digits[3..]),
        _ => digits.to_string(),
    }
}

/// ASCII letters, digits and punctuation to their full-width forms (U+FF01..U+FF5E).
pub fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// `4-04-05` → `4－04－05` (as the notice prints category codes).
pub fn fullwidth_hyphens(s: &str) -> String {
    s.replace('-', "－")
}

/// Budget in 万元: `12.5`, `30`, or with two decimals `12.50`.
pub fn budget(b: f64, two_decimals: bool) -> String {
    if two_decimals {
        format!("{b:.2}")
    } else {
        format!("{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 20).unwrap();
        assert_eq!(date(d, DateStyle::Slash), "2024/5/20");
        assert_eq!(date(d, DateStyle::Cn), "2024年5月20日");
        assert_eq!(phone("02388152326", 2), "(023)88152326");
        assert_eq!(phone("13812345678", 1), "138-1234-5678");
        assert_eq!(fullwidth("91A"), "９１Ａ");
        assert_eq!(budget(30.0, false), "30");
        assert_eq!(budget(12.5, false), "12.5");
        let (a, b) = (NaiveDate::from_ymd_opt(2019, 10, 15).unwrap(), NaiveDate::from_ymd_opt(2019, 10, 16).unwrap());
        assert_eq!(legacy_range(a, b, false), "2019年10月15日至10月16日");
        assert_eq!(legacy_range(a, a, true), "2019.10.15");
        assert_eq!(legacy_range(a, b, true), "2019.10.15-10.16");
    }
}
