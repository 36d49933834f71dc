//! Leaning on what is known, for values read by OCR: check characters of codes, closed lists
//! (categories, unit types, Chongqing districts), the annex catalogues. A value that
//! validates is trusted more; a value one confusable character away from exactly one valid
//! value is corrected, and the correction is recorded in the field's provenance. Nothing is
//! replaced silently and nothing is guessed when two candidates fit.

use crate::codes::{validate_credit_code, validate_org_code};
use crate::config::{normalize_label, Pipeline};
use crate::model::{Field, Value};

/// Confidence given to a value that passed an independent check (a check character, an
/// exact closed-list entry).
const VALIDATED: f32 = 0.97;

/// Characters OCR confuses in codes, and what each may really be.
const CONFUSABLE: &[(char, &str)] = &[
    ('0', "ODQ"),
    ('O', "0DQ"),
    ('D', "0O"),
    ('Q', "0O"),
    ('1', "IL7T"),
    ('I', "1L"),
    ('L', "1I"),
    ('7', "1T"),
    ('T', "17"),
    ('2', "Z"),
    ('Z', "2"),
    ('5', "S"),
    ('S', "5"),
    ('8', "B"),
    ('B', "8"),
    ('6', "G"),
    ('G', "6"),
    ('4', "A"),
    ('A', "4"),
    ('U', "V"),
    ('V', "U"),
];

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The one entry of `list` within the allowed distance of `text` (one edit per four
/// characters, at least one), or None when there is none or more than one at the best distance.
fn closest<'a>(text: &str, list: impl Iterator<Item = &'a str>) -> Option<(&'a str, usize)> {
    let t: Vec<char> = normalize_label(text).chars().collect();
    let allowed = (t.len() / 4).max(1);
    let mut best: Option<(&str, usize)> = None;
    let mut tie = false;
    for entry in list {
        let e: Vec<char> = normalize_label(entry).chars().collect();
        if e.len().abs_diff(t.len()) > allowed {
            continue;
        }
        let d = edit_distance(&t, &e);
        if d > allowed {
            continue;
        }
        match best {
            Some((_, bd)) if d > bd => {}
            Some((b, bd)) if d == bd => tie |= b != entry,
            _ => {
                best = Some((entry, d));
                tie = false;
            }
        }
    }
    if tie {
        None
    } else {
        best
    }
}

fn correct(f: &mut Field, to: String, why: &str) {
    let from = f.value.to_string();
    f.prov.corrections.push(format!("“{from}”→“{to}”（{why}）"));
    if f.prov.raw.is_none() {
        f.prov.raw = Some(from);
    }
    f.value = Value::Text(to);
}

/// A credit code: valid → trusted; else one confusable character that makes it valid, when
/// exactly one such character exists.
fn verify_code(f: &mut Field) {
    let Some(code) = f.value.as_text().map(str::to_string) else { return };
    let compact: String = code.chars().filter(|c| *c != '-').collect();
    let valid = |c: &str| if compact.len() == 9 { validate_org_code(c).is_ok() } else { validate_credit_code(c).is_ok() };
    if valid(&code) {
        f.prov.confidence = f.prov.confidence.max(VALIDATED);
        return;
    }
    let chars: Vec<char> = code.chars().collect();
    let mut fixes = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        let Some((_, alts)) = CONFUSABLE.iter().find(|(k, _)| k == c) else { continue };
        for alt in alts.chars() {
            let mut cand = chars.clone();
            cand[i] = alt;
            let cand: String = cand.into_iter().collect();
            if valid(&cand) {
                fixes.push(cand);
            }
        }
    }
    if fixes.len() == 1 {
        let to = fixes.pop().unwrap();
        correct(f, to, "按校验码校正");
        // corrected, not confirmed: a person checks it against the original
        f.prov.confidence = f.prov.confidence.min(0.6);
    }
}

/// The longest entry of `list` that the text starts or ends with, when exactly one is
/// longest: OCR noise before or after a value (a neighbouring cell's last characters, specks
/// read as letters).
fn contained<'a>(text: &str, list: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let t = normalize_label(text);
    let mut best: Vec<&str> = Vec::new();
    for entry in list {
        let e = normalize_label(entry);
        if e.chars().count() < 3 || !(t.starts_with(&e) || t.ends_with(&e)) {
            continue;
        }
        match best.first().map(|b| normalize_label(b).chars().count()) {
            Some(n) if e.chars().count() < n => {}
            Some(n) if e.chars().count() == n => best.push(entry),
            _ => best = vec![entry],
        }
    }
    (best.len() == 1).then(|| best[0])
}

/// A text field against a closed list.
fn verify_list<'a>(f: &mut Field, list: impl Iterator<Item = &'a str> + Clone, why: &str) {
    let Some(text) = f.value.as_text().map(str::to_string) else { return };
    match closest(&text, list.clone()) {
        Some((entry, 0)) => {
            if entry != text {
                correct(f, entry.to_string(), why);
            }
            f.prov.confidence = f.prov.confidence.max(VALIDATED);
        }
        Some((entry, _)) => correct(f, entry.to_string(), why),
        None => {
            if let Some(entry) = contained(&text, list) {
                correct(f, entry.to_string(), why);
            }
        }
    }
}

/// Checks and, where one answer fits, corrects a field read by OCR.
pub fn verify(p: &Pipeline, key: &str, f: &mut Field) {
    match key {
        "credit_code" => verify_code(f),
        "category" => verify_list(f, p.lists.categories.iter().map(String::as_str), "按赛事类别列表校正"),
        "unit_type" => verify_list(f, p.lists.unit_types.iter().map(String::as_str), "按单位类型列表校正"),
        "host_location" => verify_list(f, p.lists.locations.iter().map(String::as_str), "按重庆市区县名称校正"),
        "occupation" => verify_list(
            f,
            p.catalogue.items.iter().map(|i| i.occupation.as_str()).chain(p.catalogue.digital_items.iter().map(String::as_str)),
            "按附件2、附件3职业（工种）名称校正",
        ),
        "occupation_code" => verify_list(f, p.catalogue.items.iter().map(|i| i.code.as_str()), "按附件2类别编码校正"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Method, Provenance};
    use std::path::Path;

    fn field(text: &str) -> Field {
        Field {
            value: Value::Text(text.into()),
            prov: Provenance {
                file: "scan.png".into(),
                page: Some(1),
                sheet: None,
                row: None,
                method: Method::Ocr,
                confidence: 0.7,
                raw: None,
                corrections: vec![],
            },
        }
    }

    fn pipeline() -> Pipeline {
        Pipeline::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/bayu-2024.toml"))).unwrap()
    }

    #[test]
    fn closed_lists_correct_one_character_and_record_it() {
        let p = pipeline();
        let mut f = field("企业和院校技能练兵比起");
        verify(&p, "category", &mut f);
        assert_eq!(f.value, Value::Text("企业和院校技能练兵比武".into()));
        assert_eq!(f.prov.corrections.len(), 1);
        assert_eq!(f.prov.raw.as_deref(), Some("企业和院校技能练兵比起"));
        let mut f = field("WP5S办公软件应用");
        verify(&p, "occupation", &mut f);
        assert_eq!(f.value, Value::Text("WPS办公软件应用".into()));
        // noise around a value is cut off
        let mut f = field("学院城口县");
        verify(&p, "host_location", &mut f);
        assert_eq!(f.value, Value::Text("城口县".into()));
        let mut f = field("白酒酿造工RAKE");
        verify(&p, "occupation", &mut f);
        assert_eq!(f.value, Value::Text("白酒酿造工".into()));
        // far from every entry: left as read
        let mut f = field("直播带货员");
        verify(&p, "occupation", &mut f);
        assert_eq!(f.value, Value::Text("直播带货员".into()));
        assert!(f.prov.corrections.is_empty());
        // exact: trusted more
        let mut f = field("渝中区");
        verify(&p, "host_location", &mut f);
        assert!(f.prov.confidence > 0.9);
    }

    #[test]
    fn credit_codes_are_fixed_only_when_one_fix_fits() {
        let p = pipeline();
        let good = crate::codes::complete_credit_code("9150010380210043").unwrap();
        let mut f = field(&good);
        verify(&p, "credit_code", &mut f);
        assert!(f.prov.confidence > 0.9);
        // an O read for a 0
        let bad = good.replacen("0", "O", 1);
        let mut f = field(&bad);
        verify(&p, "credit_code", &mut f);
        assert_eq!(f.value, Value::Text(good.clone()));
        assert!(f.prov.confidence <= 0.6, "a corrected code is not a confirmed one");
    }
}
