//! Merging what different sources give for one declaration: the stamped form (text layer or
//! OCR) and the platform's spreadsheet rows, joined by declaration id. The form's values are
//! the declaration's; disagreements with the spreadsheet are recorded for the `consistency`
//! rule, never silently replaced.

use std::collections::BTreeMap;

use crate::config::{normalize_label, Pipeline};
use crate::model::{
    Declaration, Disagreement, Extracted, Field, Finding, Item, Method, Provenance, Seal, Severity, SourceFile, Value,
    Verdict,
};

/// One extracted record with the file it came from.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Piece {
    pub extracted: Extracted,
    pub source: SourceFile,
}

/// Values equal for the purpose of comparing two sources: text compared without spaces and
/// full-/half-width differences, numbers within rounding.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => normalize_label(x) == normalize_label(y),
        (Value::Int(_) | Value::Number(_), Value::Int(_) | Value::Number(_)) => {
            (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-6
        }
        (Value::Date(x), Value::Date(y)) => x == y,
        (Value::DateTime(x), Value::DateTime(y)) => x == y,
        (Value::Date(x), Value::DateTime(y)) | (Value::DateTime(y), Value::Date(x)) => *x == y.date(),
        _ => false,
    }
}

/// Confidence of an OCR'd reading the online data confirms character for character.
const CONFIRMED: f32 = 0.95;

/// A form value corrected after OCR (a check character, a closed-list entry) whose reading
/// as it was is the online data's value: two sources agree on what is written, so the reading
/// was right and the correction is undone (a wrong check character written on the form is not
/// an OCR slip; the rules then judge the value as written). The undoing is recorded.
fn undo_refuted_correction(key: &str, v: &mut Field, online: &Field) {
    if v.prov.corrections.is_empty() || v.prov.method != Method::Ocr {
        return;
    }
    let Some(raw) = v.prov.raw.clone() else { return };
    let Some(kind) = crate::model::field_kind(key) else { return };
    let Ok(Some(as_read)) = crate::extract::normalize::normalize(kind, &raw) else { return };
    if same_value(&as_read, &v.value) || !same_value(&as_read, &online.value) {
        return;
    }
    v.prov.corrections.push(format!("“{}”→“{as_read}”（原识别值与线上数据一致，撤销校正）", v.value));
    v.value = as_read;
    v.prov.confidence = v.prov.confidence.max(CONFIRMED);
}

/// The key that joins the pieces of one declaration: its id, else unit and event, else the
/// file (a document that can join nothing).
pub fn group_key(e: &Extracted, n: usize) -> String {
    if let Some(id) = e.fields.get("declaration_id") {
        return format!("id:{}", id.value);
    }
    let unit = e.fields.get("credit_code").or_else(|| e.fields.get("unit_name"));
    match (unit, e.fields.get("event_name")) {
        (Some(u), Some(ev)) => format!("unit:{}|{}", u.value, ev.value),
        _ => format!("file:{}#{n}", e.file),
    }
}

/// Groups the pieces into declarations. Pieces are processed in file order, so the output
/// is deterministic whatever order the parallel readers finished in.
pub fn assemble(p: &Pipeline, mut pieces: Vec<Piece>) -> Vec<Declaration> {
    pieces.sort_by(|a, b| a.source.file.cmp(&b.source.file));
    let mut groups: BTreeMap<String, Vec<Piece>> = BTreeMap::new();
    for (n, piece) in pieces.into_iter().enumerate() {
        groups.entry(group_key(&piece.extracted, n)).or_default().push(piece);
    }
    groups.into_iter().map(|(key, g)| merge(p, key, g)).collect()
}

/// Merges the pieces of one declaration (sorted by file).
pub fn merge(p: &Pipeline, key: String, pieces: Vec<Piece>) -> Declaration {
    let (forms, sheets): (Vec<&Piece>, Vec<&Piece>) =
        pieces.iter().partition(|pc| pc.extracted.method != Method::Sheet);
    let form = forms.first().map(|pc| &pc.extracted);
    let sheet = sheets.first().map(|pc| &pc.extracted);

    let mut findings: Vec<Finding> = Vec::new();
    for pc in forms.iter().take(1).chain(sheets.iter().take(1)) {
        findings.extend(pc.extracted.findings.iter().cloned());
    }
    if forms.len() > 1 {
        let files: Vec<&str> = forms.iter().map(|pc| pc.source.file.as_str()).collect();
        findings.push(Finding::new(
            "required",
            Severity::Review,
            format!("同一申报有{}份申报表：{}，以第一份为准，请核对", forms.len(), files.join("、")),
        ));
    }

    let mut fields = BTreeMap::new();
    let mut disagreements = Vec::new();
    if let Some(s) = sheet {
        fields.extend(s.fields.clone());
    }
    if let Some(f) = form {
        for (k, v) in &f.fields {
            let mut v = v.clone();
            if let Some(sv) = sheet.and_then(|s| s.fields.get(k)) {
                undo_refuted_correction(k, &mut v, sv);
                if p.rules.consistency.fields.iter().any(|c| c == k) && !same_value(&v.value, &sv.value) {
                    disagreements.push(Disagreement {
                        field: k.to_string(),
                        item: None,
                        form: Some(v.clone()),
                        sheet: Some(sv.clone()),
                    });
                }
            }
            fields.insert(*k, v);
        }
        // a field the form should show but does not, while the online data has it
        if let Some(s) = sheet {
            for k in &p.rules.consistency.fields {
                if !f.fields.contains_key(k.as_str()) && s.fields.contains_key(k.as_str()) {
                    disagreements.push(Disagreement {
                        field: k.clone(),
                        item: None,
                        form: None,
                        sheet: s.fields.get(k.as_str()).cloned(),
                    });
                }
            }
        }
    }

    let items: Vec<Item> = match (form, sheet) {
        (Some(f), Some(s)) => {
            let mut items = f.items.clone();
            for (fi, si) in items.iter_mut().zip(&s.items) {
                for (k, v) in fi.fields.iter_mut() {
                    if let Some(sv) = si.get(k) {
                        undo_refuted_correction(k, v, sv);
                    }
                }
            }
            compare_items(p, &items, &s.items, &mut disagreements);
            items
        }
        (Some(f), None) => f.items.clone(),
        (None, Some(s)) => s.items.clone(),
        (None, None) => Vec::new(),
    };

    let mut sources: Vec<SourceFile> = Vec::new();
    for pc in &pieces {
        if !sources.iter().any(|s| s.file == pc.source.file) {
            sources.push(pc.source.clone());
        }
    }
    let legacy = form.is_some_and(|f| f.legacy);
    let year = form.and_then(|f| f.year).or(if legacy { None } else { Some(p.meta.year) });
    let key = match fields.get("declaration_id") {
        Some(f) => f.value.to_string(),
        None => key,
    };
    Declaration {
        key,
        fields,
        items,
        sources,
        has_form: form.is_some(),
        has_sheet: sheet.is_some(),
        scanned: form.is_some_and(|f| f.method == Method::Ocr),
        legacy,
        year,
        disagreements,
        seal: form.map(seal_of).unwrap_or_default(),
        findings,
        verdict: Verdict::Pass,
    }
}

/// The seal facts a form brings: whether it has one, the best one (most sure, then most read).
/// Whose seal it is is the `seal` rule's call.
fn seal_of(form: &Extracted) -> Seal {
    let best = form
        .seals
        .iter()
        .max_by(|a, b| {
            let read = |m: &crate::model::SealMark| m.readings.first().map(|r| r.chars.len()).unwrap_or(0);
            a.confidence.total_cmp(&b.confidence).then(read(a).cmp(&read(b)))
        })
        .cloned();
    Seal {
        present: Some(best.is_some()),
        text: best.as_ref().and_then(|m| m.readings.first()).map(|r| r.text.clone()).filter(|t| !t.is_empty()),
        matches_unit: None,
        confidence: best.as_ref().map(|m| m.confidence),
        count: form.seals.len(),
        mark: best,
        other_unit: None,
        signatures: form.signatures.clone(),
    }
}

fn count_field(file: &str, n: usize, method: Method) -> Field {
    Field {
        value: Value::Int(n as i64),
        prov: Provenance {
            file: file.into(),
            page: None,
            sheet: None,
            row: None,
            method,
            confidence: 1.0,
            raw: None,
            corrections: Vec::new(),
            bbox: None,
            crop_png: Vec::new(),
        },
    }
}

/// Items are compared in order; a different number of items is itself a disagreement.
fn compare_items(p: &Pipeline, form: &[Item], sheet: &[Item], out: &mut Vec<Disagreement>) {
    if form.len() != sheet.len() {
        let ff = form.first().and_then(|i| i.fields.values().next()).map(|f| f.prov.file.clone()).unwrap_or_default();
        let sf = sheet.first().and_then(|i| i.fields.values().next()).map(|f| f.prov.file.clone()).unwrap_or_default();
        out.push(Disagreement {
            field: "items".into(),
            item: None,
            form: Some(count_field(&ff, form.len(), Method::Text)),
            sheet: Some(count_field(&sf, sheet.len(), Method::Sheet)),
        });
    }
    for (i, (fi, si)) in form.iter().zip(sheet).enumerate() {
        for k in &p.rules.consistency.item_fields {
            let (a, b) = (fi.get(k), si.get(k));
            let differs = match (a, b) {
                (Some(a), Some(b)) => !same_value(&a.value, &b.value),
                (None, Some(_)) => true,
                _ => false,
            };
            if differs {
                out.push(Disagreement { field: k.clone(), item: Some(i), form: a.cloned(), sheet: b.cloned() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(value: &str, method: Method, raw: Option<&str>, corrections: &[&str], confidence: f32) -> Field {
        Field {
            value: Value::Text(value.into()),
            prov: Provenance {
                file: "a.pdf".into(),
                page: Some(1),
                sheet: None,
                row: None,
                method,
                confidence,
                raw: raw.map(str::to_string),
                corrections: corrections.iter().map(|c| c.to_string()).collect(),
                bbox: None,
                crop_png: Vec::new(),
            },
        }
    }

    /// A form with a wrong check character, read right by OCR and then "corrected" to a valid
    /// code: the online data has the code as read, so the reading stands (and the credit-code
    /// rule can return it); a correction the online data does not refute stays.
    #[test]
    fn a_correction_the_online_data_refutes_is_undone() {
        let online = field("51500235MJ1KWG7R3A", Method::Sheet, None, &[], 1.0);
        let mut v = field("51500235MJ1KWG1R3A", Method::Ocr, Some("51500235MJ1KWG7R3A"), &["“51500235MJ1KWG7R3A”→“51500235MJ1KWG1R3A”（按校验码校正）"], 0.6);
        undo_refuted_correction("credit_code", &mut v, &online);
        assert_eq!(v.value, Value::Text("51500235MJ1KWG7R3A".into()));
        assert_eq!(v.prov.corrections.len(), 2, "the undoing is recorded: {:?}", v.prov.corrections);
        assert!(v.prov.confidence >= 0.9);

        // the online data has the corrected value: the correction was right
        let online = field("51500235MJ1KWG1R3A", Method::Sheet, None, &[], 1.0);
        let mut v = field("51500235MJ1KWG1R3A", Method::Ocr, Some("51500235MJ1KWG7R3A"), &["…"], 0.6);
        undo_refuted_correction("credit_code", &mut v, &online);
        assert_eq!(v.value, Value::Text("51500235MJ1KWG1R3A".into()));
        assert_eq!(v.prov.confidence, 0.6);
        // a text layer's value is never corrected, so there is nothing to undo
        let online = field("91500000MA5U000000", Method::Sheet, None, &[], 1.0);
        let mut v = field("91500000MA5U00000X", Method::Text, Some("91500000MA5U000000"), &["…"], 1.0);
        undo_refuted_correction("credit_code", &mut v, &online);
        assert_eq!(v.value, Value::Text("91500000MA5U00000X".into()));
    }
}
