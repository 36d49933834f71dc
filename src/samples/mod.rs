//! Synthetic sample generator: declaration form PDFs, summary spreadsheets and a `truth.json`
//! with the true values and the planted rule violations, deterministic for a seed.
//!
//! Layout of `out/`:
//! - `forms/BY2024-0007-<unit>.pdf` (or `forms/BY2024-0007.pdf`): born-digital forms, see
//!   [`pdfgen`] for how each layout and font encoding draws its text;
//! - `sheets/*.{xlsx,xls,ods,csv}`: the platform export, one row per item, rotating formats;
//! - `truth.json`: per declaration the true normalised fields and items, the planted violations
//!   and the expected verdict, plus a description of every sheet file.
//!
//! truth.json:
//! ```text
//! { "generator", "pipeline", "seed", "count", "summary": Summary,
//!   "sheets": [ { "file", "format": xlsx|xls|ods|csv-utf8|csv-gbk, "sheet_name", "title_rows",
//!                 "header_row" (0-based), "rows" (data rows), "columns" (header labels in order),
//!                 "date_cells": date|serial|text, "declarations": [ids] } ],
//!   "declarations": [ {
//!       "declaration_id", "form_file" (relative path | null), "form_pages",
//!       "sheet_file", "sheet_row" (1-based spreadsheet row / csv record of the first item row),
//!       "layout": grid|lines|spaced|null, "font_encoding": identity-h|unigb-ucs2-h|gbk-euc-h|
//!       legacy-gbk-winansi|null, "form_style": { how values were printed, label variants },
//!       "fields": { every key of model::HEADER_FIELDS: true normalised value or null },
//!       "items": [ { every key of model::ITEM_FIELDS } ],
//!       "sheet_differs": [ { "field", "item" (0-based | null), "form", "sheet" } ],
//!       "planted": [ { "rule", "severity", "kind", "detail" } ],
//!       "expected_verdict": pass|review|return } ] }
//! ```
//! `fields` hold what a perfect reader would output: ISO dates, `submitted_at` as
//! `2024-02-03T16:22:10+08:00`, phone digits only, half-width codes, numbers as numbers, a blank
//! field as null; `fill_date` is null for a declaration without a form (the sheet has none).
//! The generator does not draw seals: every form is unsealed (the `seal` rule is not planted and
//! not counted in `expected_verdict`).

pub mod data;
pub mod fmt;
pub mod ods;
pub mod pdfgen;
pub mod sheets;
pub mod xls;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use rand::prelude::*;
use rand::rngs::StdRng;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value as J};

use crate::config::Pipeline;
use data::{Decl, Kind, SheetVal};
use pdfgen::FormStyle;
use sheets::{SheetFormat, SheetInfo};

/// What `generate` wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub declarations: usize,
    pub items: usize,
    /// form PDFs written
    pub forms: usize,
    /// spreadsheet files written
    pub sheets: usize,
    pub sheet_rows: usize,
    /// all files written: forms + sheets + truth.json
    pub files: usize,
    /// declarations with at least one planted violation
    pub planted_declarations: usize,
    /// planted violations by kind (`missing-form` is reported under rule `required`)
    pub planted: BTreeMap<String, usize>,
    /// planted violations by rule id of form-spec §4
    pub planted_rules: BTreeMap<String, usize>,
    /// expected verdicts: pass / review / return
    pub verdicts: BTreeMap<String, usize>,
}

impl Summary {
    pub fn planted_total(&self) -> usize {
        self.planted.values().sum()
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} declarations ({} items): {} form PDFs, {} spreadsheets ({} rows)",
            self.declarations, self.items, self.forms, self.sheets, self.sheet_rows
        )?;
        writeln!(
            f,
            "planted {} violations in {} declarations:",
            self.planted_total(),
            self.planted_declarations
        )?;
        for (k, n) in &self.planted {
            writeln!(f, "  {k:<18} {n}")?;
        }
        let v = |k: &str| self.verdicts.get(k).copied().unwrap_or(0);
        write!(f, "expected verdicts: pass {}, review {}, return {}", v("pass"), v("review"), v("return"))
    }
}

fn form_file(d: &Decl, st: &FormStyle) -> String {
    if st.unit_in_file_name && !d.unit_name.is_empty() {
        format!("forms/{}-{}.pdf", d.id, d.unit_name)
    } else {
        format!("forms/{}.pdf", d.id)
    }
}

/// Splits `count` declarations into sheet files: about 100–250 declarations each, and at
/// least one file of each of the five formats.
fn chunk_sizes(rng: &mut StdRng, count: usize) -> Vec<usize> {
    let n = ((count as f64 / 175.0).round() as usize).max(SheetFormat::ROTATION.len());
    let weights: Vec<f64> = (0..n).map(|_| rng.random_range(100..=250) as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut sizes: Vec<usize> = weights.iter().map(|w| (count as f64 * w / total).floor() as usize).collect();
    let mut rest = count - sizes.iter().sum::<usize>();
    let mut i = 0;
    while rest > 0 {
        sizes[i % n] += 1;
        rest -= 1;
        i += 1;
    }
    sizes
}

fn text_or_null(s: &str) -> J {
    if s.is_empty() {
        J::Null
    } else {
        J::String(s.to_string())
    }
}

fn decl_fields(d: &Decl) -> J {
    json!({
        "declaration_id": d.id,
        "category": text_or_null(&d.category),
        "event_name": text_or_null(&d.event_name),
        "unit_name": text_or_null(&d.unit_name),
        "credit_code": text_or_null(&d.credit_code),
        "unit_type": text_or_null(&d.unit_type),
        "supervisor": text_or_null(&d.supervisor),
        "contact_name": text_or_null(&d.contact_name),
        "contact_phone": text_or_null(&d.contact_phone),
        "managers": d.managers,
        "experts_judges": d.experts_judges,
        "budget_wan": d.budget_wan,
        "funding_source": text_or_null(&d.funding_source),
        "venue": text_or_null(&d.venue),
        "fill_date": if d.has_form { J::String(d.fill_date.format("%Y-%m-%d").to_string()) } else { J::Null },
        "submitted_at": d.submitted_at.format("%Y-%m-%dT%H:%M:%S+08:00").to_string(),
        "account": text_or_null(&d.account),
    })
}

fn decl_items(d: &Decl) -> J {
    J::Array(
        d.items
            .iter()
            .map(|it| {
                json!({
                    "occupation": it.occupation,
                    "occupation_code": it.occupation_code,
                    "undertaker": it.undertaker,
                    "host_location": text_or_null(&it.host_location),
                    "start_date": it.start_date.format("%Y-%m-%d").to_string(),
                    "end_date": it.end_date.format("%Y-%m-%d").to_string(),
                    "participants": it.participants,
                })
            })
            .collect(),
    )
}

fn sheet_val(v: &SheetVal) -> J {
    match v {
        SheetVal::Text(s) => J::String(s.clone()),
        SheetVal::Int(i) => J::from(*i),
        SheetVal::Date(d) => J::String(d.format("%Y-%m-%d").to_string()),
    }
}

fn form_val(d: &Decl, field: &str, item: Option<usize>) -> J {
    match (field, item) {
        ("unit_name", _) => J::String(d.unit_name.clone()),
        ("contact_phone", _) => J::String(d.contact_phone.clone()),
        ("participants", Some(i)) => J::from(d.items[i].participants),
        ("end_date", Some(i)) => J::String(d.items[i].end_date.format("%Y-%m-%d").to_string()),
        _ => J::Null,
    }
}

/// Generates `count` declarations into `out` (forms/, sheets/, truth.json), deterministically
/// for `seed`.
pub fn generate(pipeline: &Pipeline, out: &Path, count: usize, seed: u64) -> anyhow::Result<Summary> {
    let mut rng = StdRng::seed_from_u64(seed);
    let decls = data::build(pipeline, count, &mut rng);
    std::fs::create_dir_all(out.join("forms")).with_context(|| format!("cannot create {}", out.display()))?;
    std::fs::create_dir_all(out.join("sheets"))?;

    // ---- forms
    let styles: Vec<Option<FormStyle>> = decls
        .iter()
        .map(|d| d.has_form.then(|| pdfgen::choose_style(&mut rng, pipeline)))
        .collect();
    let title = pipeline
        .meta
        .titles
        .first()
        .cloned()
        .unwrap_or_else(|| "2024年“巴渝工匠”杯职业技能竞赛申报表".to_string());
    let forms: Vec<Option<(String, usize)>> = decls
        .par_iter()
        .zip(styles.par_iter())
        .map(|(d, st)| -> anyhow::Result<Option<(String, usize)>> {
            let Some(st) = st else { return Ok(None) };
            let (bytes, pages) = pdfgen::render(d, st, &title).with_context(|| format!("form of {}", d.id))?;
            let file = form_file(d, st);
            std::fs::write(out.join(&file), bytes).with_context(|| format!("cannot write {file}"))?;
            Ok(Some((file, pages)))
        })
        .collect::<anyhow::Result<_>>()?;

    // ---- sheets
    let sizes = chunk_sizes(&mut rng, count);
    let rotation = rng.random_range(0..SheetFormat::ROTATION.len());
    let mut sheet_infos: Vec<SheetInfo> = Vec::new();
    let mut sheet_of: Vec<(usize, usize)> = vec![(0, 0); count];
    let mut start = 0;
    for (i, size) in sizes.iter().enumerate() {
        let format = SheetFormat::ROTATION[(rotation + i) % SheetFormat::ROTATION.len()];
        let plan = sheets::plan_sheet(&mut rng, pipeline, format, i);
        let chunk: Vec<&Decl> = decls[start..start + size].iter().collect();
        let (info, first_rows) =
            sheets::write_sheet(&plan, &chunk, out, &mut rng).with_context(|| format!("sheet {}", plan.file))?;
        for (k, row) in first_rows.into_iter().enumerate() {
            sheet_of[start + k] = (sheet_infos.len(), row);
        }
        sheet_infos.push(info);
        start += size;
    }

    // ---- truth and summary
    let mut summary = Summary {
        declarations: count,
        items: decls.iter().map(|d| d.items.len()).sum(),
        forms: forms.iter().flatten().count(),
        sheets: sheet_infos.len(),
        sheet_rows: sheet_infos.iter().map(|s| s.rows).sum(),
        files: forms.iter().flatten().count() + sheet_infos.len() + 1,
        ..Summary::default()
    };
    for k in Kind::ALL {
        summary.planted.insert(k.name().to_string(), 0);
    }
    let mut out_decls = Vec::with_capacity(count);
    for (i, d) in decls.iter().enumerate() {
        for pl in &d.planted {
            *summary.planted.entry(pl.kind.name().to_string()).or_default() += 1;
            *summary.planted_rules.entry(pl.rule.to_string()).or_default() += 1;
        }
        if !d.planted.is_empty() {
            summary.planted_declarations += 1;
        }
        let verdict = d.worst();
        *summary.verdicts.entry(verdict.to_string()).or_default() += 1;
        let st = styles[i].as_ref();
        let (sheet_idx, sheet_row) = sheet_of[i];
        out_decls.push(json!({
            "declaration_id": d.id,
            "form_file": forms[i].as_ref().map(|(f, _)| f.clone()),
            "form_pages": forms[i].as_ref().map(|(_, p)| *p),
            "sheet_file": sheet_infos[sheet_idx].file,
            "sheet_row": sheet_row,
            "layout": st.map(|s| s.layout.as_str()),
            "font_encoding": st.map(|s| s.enc.as_str()),
            "form_style": st.map(|s| json!({
                "latin_font": s.latin_font,
                "hex_strings": s.hex,
                "compressed": s.compress,
                "date_style": s.date_style.as_str(),
                "phone_style": s.phone_style,
                "occupation_code_fullwidth": s.occ_fullwidth,
                "credit_code_fullwidth": s.credit_fullwidth,
                "colon": s.colon,
                "labels": s.labels.iter()
                    .filter(|(k, v)| crate::model::field_label(k) != v.as_str())
                    .map(|(k, v)| (k.to_string(), J::String(v.clone())))
                    .collect::<serde_json::Map<_, _>>(),
            })),
            "fields": decl_fields(d),
            "items": decl_items(d),
            "sheet_differs": d.sheet_diffs.iter().map(|s| json!({
                "field": s.field,
                "item": s.item,
                "form": form_val(d, s.field, s.item),
                "sheet": sheet_val(&s.sheet),
            })).collect::<Vec<_>>(),
            "planted": d.planted.iter().map(|p| json!({
                "rule": p.rule,
                "severity": p.severity,
                "kind": p.kind.name(),
                "detail": p.detail,
            })).collect::<Vec<_>>(),
            "expected_verdict": verdict,
        }));
    }
    let truth = json!({
        "generator": "shenbao samples",
        "pipeline": pipeline.meta.name,
        "seed": seed,
        "count": count,
        "summary": summary,
        "sheets": sheet_infos,
        "declarations": out_decls,
    });
    let mut text = serde_json::to_string_pretty(&truth)?;
    text.push('\n');
    std::fs::write(out.join("truth.json"), text)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn pipeline() -> Pipeline {
        Pipeline::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/bayu-2024.toml"))).unwrap()
    }

    /// The strings shown by `Tj` in a content stream, with the font selected for each.
    fn shown_strings(content: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut font = String::new();
        let mut i = 0;
        let n = content.len();
        while i < n {
            match content[i] {
                b'/' => {
                    let s = i + 1;
                    let mut e = s;
                    while e < n && !content[e].is_ascii_whitespace() && !b"/<([".contains(&content[e]) {
                        e += 1;
                    }
                    let name = String::from_utf8_lossy(&content[s..e]).to_string();
                    if name.starts_with('F') {
                        font = name;
                    }
                    i = e;
                }
                b'<' => {
                    let mut e = i + 1;
                    while content[e] != b'>' {
                        e += 1;
                    }
                    let hex: Vec<u8> = content[i + 1..e].iter().copied().filter(|c| c.is_ascii_hexdigit()).collect();
                    let bytes = hex
                        .chunks(2)
                        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
                        .collect();
                    out.push((font.clone(), bytes));
                    i = e + 1;
                }
                b'(' => {
                    let mut bytes = Vec::new();
                    let mut e = i + 1;
                    let mut depth = 1;
                    while e < n {
                        match content[e] {
                            b'\\' => {
                                e += 1;
                                bytes.push(match content[e] {
                                    b'n' => b'\n',
                                    b'r' => b'\r',
                                    c => c,
                                });
                            }
                            b'(' => {
                                depth += 1;
                                bytes.push(b'(');
                            }
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                                bytes.push(b')');
                            }
                            c => bytes.push(c),
                        }
                        e += 1;
                    }
                    out.push((font.clone(), bytes));
                    i = e + 1;
                }
                _ => i += 1,
            }
        }
        out
    }

    fn to_unicode_map(doc: &lopdf::Document) -> BTreeMap<u16, char> {
        let mut map = BTreeMap::new();
        for (_, obj) in doc.objects.iter() {
            if let lopdf::Object::Stream(s) = obj {
                let data = s.decompressed_content().unwrap_or_else(|_| s.content.clone());
                let text = String::from_utf8_lossy(&data);
                if !text.contains("beginbfchar") {
                    continue;
                }
                for line in text.lines() {
                    let parts: Vec<&str> = line.split_whitespace().collect();
                    if parts.len() == 2 && parts[0].starts_with('<') && parts[1].starts_with('<') {
                        let cid = u16::from_str_radix(parts[0].trim_matches(['<', '>']), 16).unwrap();
                        let u = u32::from_str_radix(parts[1].trim_matches(['<', '>']), 16).unwrap();
                        map.insert(cid, char::from_u32(u).unwrap());
                    }
                }
            }
        }
        map
    }


    /// Re-derives every rule from the true values in truth.json and checks that a declaration
    /// violates a rule exactly when that rule is planted on it.
    fn verify_truth(p: &Pipeline, truth: &J) {
        use std::collections::{BTreeSet, HashMap};
        let decls = truth["declarations"].as_array().unwrap();
        let mut undertakers: HashMap<String, (BTreeSet<String>, usize)> = HashMap::new();
        let mut event_locs: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut unit_accounts: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
        for d in decls {
            let f = &d["fields"];
            let event = f["event_name"].as_str().unwrap().to_string();
            for it in d["items"].as_array().unwrap() {
                let u = undertakers.entry(it["undertaker"].as_str().unwrap().to_string()).or_default();
                u.0.insert(event.clone());
                u.1 += 1;
                if let Some(l) = it["host_location"].as_str() {
                    event_locs.entry(event.clone()).or_default().insert(l.to_string());
                }
            }
            let key = (f["credit_code"].as_str().unwrap().to_string(), f["unit_name"].as_str().unwrap().to_string());
            unit_accounts.entry(key).or_default().insert(f["account"].as_str().unwrap().to_string());
        }
        let lim = &p.rules.undertaker_limits;
        let deadline = p.rules.deadline.submitted_by.format("%Y-%m-%dT%H:%M:%S+08:00").to_string();
        for d in decls {
            let id = d["declaration_id"].as_str().unwrap();
            let f = &d["fields"];
            let items = d["items"].as_array().unwrap();
            let planted: BTreeSet<&str> =
                d["planted"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()).collect();
            let category = f["category"].as_str().unwrap();
            let code = f["credit_code"].as_str().unwrap();
            let event = f["event_name"].as_str().unwrap();
            let phone_ok = f["contact_phone"]
                .as_str()
                .is_some_and(|ph| p.phone_patterns.iter().any(|r| r.is_match(ph)));
            let required_missing = p.rules.required.fields.iter().any(|k| f[k.as_str()].is_null());
            let checks: Vec<(&str, bool)> = vec![
                ("deadline", f["submitted_at"].as_str().unwrap() > deadline.as_str()),
                ("category", !p.lists.categories.iter().any(|c| c == category)),
                (
                    "credit-code",
                    crate::codes::validate_credit_code(code).is_err()
                        || (p.rules.credit_code.legal_person_categories.iter().any(|c| c == category)
                            && p.rules.credit_code.not_legal_person_prefixes.iter().any(|x| code.starts_with(x.as_str()))),
                ),
                (
                    "undertaker-limits",
                    items.iter().any(|it| {
                        let u = &undertakers[it["undertaker"].as_str().unwrap()];
                        u.0.len() > lim.max_events || u.1 > lim.max_items
                    }),
                ),
                ("host-locations", event_locs.get(event).map_or(0, |s| s.len()) > p.rules.host_locations.max_locations),
                ("finish-by", items.iter().any(|it| it["end_date"].as_str().unwrap() > "2024-11-15")),
                (
                    "item-catalogue",
                    items.iter().any(|it| {
                        let o = it["occupation"].as_str().unwrap();
                        p.catalogue_item(o).is_none() && !p.is_digital_item(o)
                    }),
                ),
                (
                    "event-catalogue",
                    p.rules.event_catalogue.categories.iter().any(|c| c == category) && !p.is_catalogue_event(event),
                ),
                (
                    "conditions",
                    f["managers"].as_i64().unwrap() < 1
                        || f["experts_judges"].as_i64().unwrap() < 1
                        || f["budget_wan"].as_f64().unwrap() <= 0.0
                        || f["venue"].is_null(),
                ),
                ("required", required_missing || !phone_ok),
                (
                    "one-account",
                    unit_accounts[&(code.to_string(), f["unit_name"].as_str().unwrap().to_string())].len() > 1,
                ),
                ("consistency", !d["sheet_differs"].as_array().unwrap().is_empty()),
                ("missing-form", d["form_file"].is_null()),
            ];
            for (kind, violated) in checks {
                assert_eq!(
                    violated,
                    planted.contains(kind),
                    "{id}: rule {kind} violated={violated} but planted={planted:?}\n{d:#}"
                );
            }
            // items agree with the catalogue code when they come from Annex 2
            for it in items {
                if let Some(c) = p.catalogue_item(it["occupation"].as_str().unwrap()) {
                    assert_eq!(it["occupation_code"].as_str().unwrap(), c.code, "{id}");
                }
                assert!(it["start_date"].as_str().unwrap() <= it["end_date"].as_str().unwrap(), "{id}");
            }
            if let Some(fill) = f["fill_date"].as_str() {
                assert!(fill <= &f["submitted_at"].as_str().unwrap()[..10], "{id}: filled after submission");
            }
        }
    }

    #[test]
    fn samples_truth_matches_the_rules() {
        let p = pipeline();
        for (count, seed) in [(40usize, 7u64), (400, 11), (1000, 3)] {
            let dir = tempfile::tempdir().unwrap();
            generate(&p, dir.path(), count, seed).unwrap();
            let truth: J = serde_json::from_slice(&std::fs::read(dir.path().join("truth.json")).unwrap()).unwrap();
            verify_truth(&p, &truth);
        }
    }

    #[test]
    fn samples_generate_verify_and_are_deterministic() {
        let p = pipeline();
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let sa = generate(&p, a.path(), 40, 7).unwrap();
        let sb = generate(&p, b.path(), 40, 7).unwrap();
        assert_eq!(sa.declarations, 40);
        assert_eq!(sa.sheets, sb.sheets);

        // determinism
        let ta = std::fs::read(a.path().join("truth.json")).unwrap();
        let tb = std::fs::read(b.path().join("truth.json")).unwrap();
        assert!(ta == tb, "truth.json differs between two runs with the same seed");
        let truth: J = serde_json::from_slice(&ta).unwrap();
        let decls = truth["declarations"].as_array().unwrap();
        assert_eq!(decls.len(), 40);
        let first_form = decls.iter().find_map(|d| d["form_file"].as_str()).unwrap();
        assert_eq!(
            std::fs::read(a.path().join(first_form)).unwrap(),
            std::fs::read(b.path().join(first_form)).unwrap()
        );
        let other = generate(&p, tempfile::tempdir().unwrap().path(), 40, 8).unwrap();
        let _ = other;

        // every kind planted
        for k in Kind::ALL {
            assert!(sa.planted[k.name()] >= 1, "kind {} not planted", k.name());
        }
        for d in decls {
            let worst = d["planted"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["severity"].as_str().unwrap())
                .filter(|s| *s != "info")
                .max_by_key(|s| match *s {
                    "review" => 1,
                    "return" => 2,
                    _ => 0,
                })
                .unwrap_or("pass");
            assert_eq!(d["expected_verdict"], worst);
        }

        // every PDF parses and shows the unit name in the bytes of its encoding
        let mut by_encoding: BTreeMap<String, PathBuf> = BTreeMap::new();
        for d in decls {
            let Some(file) = d["form_file"].as_str() else { continue };
            let path = a.path().join(file);
            let doc = lopdf::Document::load(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
            let pages = doc.get_pages();
            assert!((1..=2).contains(&pages.len()), "{file}: {} pages", pages.len());
            let mut content = Vec::new();
            for (_, id) in pages {
                content.extend(doc.get_page_content(id));
            }
            let unit = d["fields"]["unit_name"].as_str().unwrap();
            let enc = d["font_encoding"].as_str().unwrap();
            let shown = shown_strings(&content);
            let main: Vec<&Vec<u8>> = shown.iter().filter(|(f, _)| f == "F1").map(|(_, b)| b).collect();
            let found = match enc {
                "unigb-ucs2-h" => {
                    let want: Vec<u8> = unit.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
                    main.iter().any(|b| b.windows(want.len()).step_by(2).any(|w| w == want.as_slice()))
                }
                "gbk-euc-h" | "legacy-gbk-winansi" => {
                    let want = pdfgen::gbk(unit).unwrap();
                    main.iter().any(|b| b.windows(want.len()).any(|w| w == want.as_slice()))
                }
                "identity-h" => {
                    let map = to_unicode_map(&doc);
                    main.iter().any(|b| {
                        let s: String = b
                            .chunks(2)
                            .map(|c| map.get(&u16::from_be_bytes([c[0], c[1]])).copied().unwrap_or('\u{FFFD}'))
                            .collect();
                        s.contains(unit)
                    })
                }
                other => panic!("unknown encoding {other}"),
            };
            assert!(found, "{file} ({enc}): unit name not found in the page content");
            assert!(content.windows(2).any(|w| w == b"Tj"));
            by_encoding.entry(enc.to_string()).or_insert(path);
        }
        assert!(by_encoding.len() == 4, "all four encodings used: {:?}", by_encoding.keys());

        // every sheet opens and has one row per item below the header
        let items_of: BTreeMap<&str, usize> = decls
            .iter()
            .map(|d| (d["declaration_id"].as_str().unwrap(), d["items"].as_array().unwrap().len()))
            .collect();
        let mut formats = std::collections::BTreeSet::new();
        for s in truth["sheets"].as_array().unwrap() {
            let file = s["file"].as_str().unwrap();
            let path = a.path().join(file);
            let format = s["format"].as_str().unwrap();
            formats.insert(format.to_string());
            let header_row = s["header_row"].as_u64().unwrap() as usize;
            let columns: Vec<String> =
                s["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
            let expected_rows: usize = s["declarations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| items_of[id.as_str().unwrap()])
                .sum();
            assert_eq!(s["rows"].as_u64().unwrap() as usize, expected_rows);
            let grid: Vec<Vec<String>> = match format {
                "xlsx" | "xls" | "ods" => {
                    use calamine::{open_workbook_auto, Data, Reader};
                    let mut wb = open_workbook_auto(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
                    let range = wb.worksheet_range(s["sheet_name"].as_str().unwrap()).unwrap();
                    let (r1, c1) = range.end().unwrap();
                    // a date column holds real dates in xlsx / ods / serial xls
                    let start_col = columns.iter().position(|c| p.field_for_label(c) == Some("start_date")).unwrap();
                    let v = range.get_value(((header_row + 1) as u32, start_col as u32));
                    match (format, s["date_cells"].as_str().unwrap(), v) {
                        ("xlsx", _, Some(Data::DateTime(_))) | ("ods", _, Some(Data::DateTimeIso(_))) => {}
                        ("xls", "serial", Some(Data::DateTime(_))) | ("xls", "text", Some(Data::String(_))) => {}
                        (_, _, None) if expected_rows == 0 => {}
                        other => panic!("{file}: unexpected date cell {other:?}"),
                    }
                    (0..=r1)
                        .map(|r| {
                            (0..=c1)
                                .map(|c| range.get_value((r, c)).map(|v| v.to_string()).unwrap_or_default())
                                .collect()
                        })
                        .collect()
                }
                _ => {
                    let bytes = std::fs::read(&path).unwrap();
                    let text = if format == "csv-gbk" {
                        let (t, _, errors) = encoding_rs::GBK.decode(&bytes);
                        assert!(!errors);
                        t.into_owned()
                    } else {
                        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "{file}: no BOM");
                        String::from_utf8(bytes[3..].to_vec()).unwrap()
                    };
                    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
                    rdr.records().map(|r| r.unwrap().iter().map(|s| s.to_string()).collect()).collect()
                }
            };
            let header: Vec<String> = grid[header_row].iter().take(columns.len()).cloned().collect();
            assert_eq!(header, columns, "{file}: header");
            let data_rows = grid[header_row + 1..].iter().filter(|r| r.iter().any(|c| !c.is_empty())).count();
            assert_eq!(data_rows, expected_rows, "{file}: data rows");
            assert!(p.field_for_label(&columns[columns.len() / 2]).is_some() || columns.len() > 20);
        }
        assert_eq!(formats.len(), 5, "all five sheet formats: {formats:?}");

        // pdftotext reads the unit name from the UniGB-UCS2-H and Identity-H forms
        let has_pdftotext = std::process::Command::new("pdftotext").arg("-v").output().is_ok();
        if has_pdftotext {
            for enc in ["unigb-ucs2-h", "identity-h"] {
                let path = &by_encoding[enc];
                let d = decls
                    .iter()
                    .find(|d| d["form_file"].as_str().map(|f| a.path().join(f)) == Some(path.clone()))
                    .unwrap();
                let unit = d["fields"]["unit_name"].as_str().unwrap();
                let out = std::process::Command::new("pdftotext")
                    .args(["-enc", "UTF-8"])
                    .arg(path)
                    .arg("-")
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(text.contains(unit), "pdftotext {enc}: `{unit}` not in:\n{text}");
                assert!(text.contains("巴渝工匠"), "pdftotext {enc}: no title");
            }
        }
    }

    #[test]
    fn samples_small_counts_still_write_every_format() {
        let p = pipeline();
        for count in [0usize, 3, 12] {
            let dir = tempfile::tempdir().unwrap();
            let s = generate(&p, dir.path(), count, 1).unwrap();
            assert_eq!(s.declarations, count);
            assert_eq!(s.sheets, 5);
            let n = std::fs::read_dir(dir.path().join("sheets")).unwrap().count();
            assert_eq!(n, 5);
        }
    }

    /// `SAMPLES_OUT=/tmp/x SAMPLES_COUNT=40 cargo test --lib samples_write_to_dir -- --ignored`
    #[test]
    #[ignore]
    fn samples_write_to_dir() {
        let out = std::env::var("SAMPLES_OUT").unwrap_or_else(|_| "/tmp/shenbao-samples".into());
        let count = std::env::var("SAMPLES_COUNT").ok().and_then(|c| c.parse().ok()).unwrap_or(40);
        let seed = std::env::var("SAMPLES_SEED").ok().and_then(|c| c.parse().ok()).unwrap_or(7);
        let s = generate(&pipeline(), Path::new(&out), count, seed).unwrap();
        eprintln!("{out}:\n{s}");
    }

    #[test]
    #[ignore]
    fn samples_timing_2000() {
        let p = pipeline();
        let dir = tempfile::tempdir().unwrap();
        let t = std::time::Instant::now();
        let s = generate(&p, dir.path(), 2000, 42).unwrap();
        eprintln!("generated in {:.2?}:\n{s}", t.elapsed());
        let truth: J = serde_json::from_slice(&std::fs::read(dir.path().join("truth.json")).unwrap()).unwrap();
        verify_truth(&p, &truth);
    }
}
