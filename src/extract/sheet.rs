//! The platform's summary spreadsheet (申报汇总表): find the header row wherever it is, map
//! columns through the label dictionary, and turn rows (one per competition item) into one
//! extracted record per declaration.

use std::collections::BTreeMap;

use crate::config::Pipeline;
use crate::model::{field_kind, is_item_field, static_key, Extracted, Field, Finding, Item, Method, Name, Provenance, Value};
use crate::read::sheet::{Cell, Sheet};

use super::normalize::{normalize, normalize_datetime, normalize_number, NotA};

/// How many rows from the top are searched for the header.
const HEADER_SEARCH_ROWS: usize = 30;
/// A header row names at least this many known columns.
const MIN_HEADER_COLUMNS: usize = 4;

/// Why a workbook is not a summary spreadsheet.
#[derive(Debug, Clone, PartialEq)]
pub struct NoHeader;

fn cell_text(c: &Cell) -> Option<String> {
    match c {
        Cell::Text(s) => Some(s.clone()),
        Cell::Number(n) => Some(if n.fract() == 0.0 { format!("{}", *n as i64) } else { n.to_string() }),
        Cell::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The header row of a sheet and its column → field map.
fn find_header(p: &Pipeline, sheet: &Sheet) -> Option<(usize, BTreeMap<usize, String>)> {
    let mut best: Option<(usize, BTreeMap<usize, String>)> = None;
    for (r, row) in sheet.rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let mut map = BTreeMap::new();
        for (c, cell) in row.iter().enumerate() {
            if let Some(key) = cell_text(cell).and_then(|t| p.field_for_label(&t).map(str::to_string)) {
                if !map.values().any(|k| *k == key) {
                    map.insert(c, key);
                }
            }
        }
        if map.len() >= MIN_HEADER_COLUMNS && best.as_ref().is_none_or(|(_, b)| map.len() > b.len()) {
            best = Some((r, map));
        }
    }
    best
}

fn value_of(kind: crate::model::Kind, cell: &Cell) -> Result<Option<Value>, NotA> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Text(s) => normalize(kind, s),
        Cell::Number(n) => normalize_number(kind, *n),
        Cell::DateTime(dt) => normalize_datetime(kind, *dt),
        Cell::Bool(b) => normalize(kind, &b.to_string()),
        Cell::Error(_) => Err(NotA("有效值（单元格为错误值）")),
    }
}

fn raw_of(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.trim().to_string(),
        Cell::Number(n) => n.to_string(),
        Cell::DateTime(dt) => dt.to_string(),
        Cell::Bool(b) => b.to_string(),
        Cell::Error(e) => e.clone(),
    }
}

/// Extracts one record per declaration from every sheet that has a header row. Returns
/// `NoHeader` when no sheet of the workbook looks like a summary spreadsheet.
pub fn extract_sheets(p: &Pipeline, file: &str, sheets: &[Sheet]) -> Result<Vec<Extracted>, NoHeader> {
    let mut out: Vec<Extracted> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut any_header = false;
    let file_name: Name = file.into();
    for sheet in sheets {
        let Some((header_row, columns)) = find_header(p, sheet) else { continue };
        any_header = true;
        let sheet_name: Name = sheet.name.as_str().into();
        for (r, row) in sheet.rows.iter().enumerate().skip(header_row + 1) {
            let sheet_row = sheet.first_row + r as u32;
            let mut fields = BTreeMap::new();
            let mut item = Item::default();
            let mut findings = Vec::new();
            let mut header_again = 0;
            for (&c, key) in &columns {
                let Some(cell) = row.get(c) else { continue };
                if cell_text(cell).is_some_and(|t| p.field_for_label(&t) == Some(key.as_str())) {
                    header_again += 1;
                }
                let kind = field_kind(key).expect("label keys are fields");
                let prov = Provenance {
                    file: file_name.clone(),
                    page: None,
                    sheet: Some(sheet_name.clone()),
                    row: Some(sheet_row),
                    method: Method::Sheet,
                    confidence: 1.0,
                    raw: None,
                    corrections: Vec::new(),
                    bbox: None,
                    crop_png: Vec::new(),
                };
                match value_of(kind, cell) {
                    Ok(Some(value)) => {
                        let raw = raw_of(cell);
                        let prov = Provenance { raw: (value.to_string() != raw).then_some(raw), ..prov };
                        let mut f = Field { value, prov };
                        if key == "declaration_id" {
                            super::verify::verify_id(&mut f, &p.declaration_id, p.meta.year);
                        }
                        if is_item_field(key) {
                            item.fields.insert(static_key(key).expect("label keys are fields"), f);
                        } else {
                            fields.insert(static_key(key).expect("label keys are fields"), f);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let mut f = Finding::new(
                            "required",
                            p.rules.required.severity,
                            format!(
                                "汇总表“{}”第{}行{}“{}”无法识别为{}",
                                sheet.name,
                                sheet_row,
                                crate::model::field_label(key),
                                raw_of(cell),
                                e.kind_zh()
                            ),
                        );
                        f.field = Some(key.clone());
                        f.file = Some(file.to_string());
                        f.page = Some(sheet_row);
                        findings.push(f);
                    }
                }
            }
            if header_again >= MIN_HEADER_COLUMNS || (fields.is_empty() && item.fields.is_empty()) {
                continue;
            }
            // rows of one declaration share its id; rows without an id are grouped by unit and event
            let key = match fields.get("declaration_id") {
                Some(f) => format!("id:{}", f.value),
                None => {
                    let unit = fields
                        .get("credit_code")
                        .or_else(|| fields.get("unit_name"))
                        .map(|f| f.value.to_string());
                    let event = fields.get("event_name").map(|f| f.value.to_string());
                    match (unit, event) {
                        (Some(u), Some(e)) => format!("unit:{u}|{e}"),
                        _ => format!("row:{}:{}", sheet.name, sheet_row),
                    }
                }
            };
            let at = *index.entry(key).or_insert_with(|| {
                out.push(Extracted {
                    file: file.to_string(),
                    method: Method::Sheet,
                    fields: BTreeMap::new(),
                    items: Vec::new(),
                    legacy: false,
                    year: None,
                    findings: Vec::new(),
                    seals: Vec::new(),
                    signatures: Vec::new(),
                });
                out.len() - 1
            });
            let rec = &mut out[at];
            for (k, f) in fields {
                rec.fields.entry(k).or_insert(f);
            }
            let item_index = rec.items.len();
            if !item.fields.is_empty() {
                rec.items.push(item);
            }
            for mut f in findings {
                if f.field.as_deref().is_some_and(is_item_field) {
                    f.item = Some(item_index);
                }
                rec.findings.push(f);
            }
        }
    }
    if !any_header {
        return Err(NoHeader);
    }
    Ok(out)
}
