//! Synthetic sample generator: declaration form PDFs, scanned forms, summary spreadsheets and a
//! `truth.json` with the true values and the planted rule violations, deterministic for a seed.
//!
//! Layout of `out/`:
//! - `forms/BY2024-0007-<unit>.pdf` (or `forms/BY2024-0007.pdf`): born-digital forms, see
//!   [`pdfgen`] for how each layout and font encoding draws its text;
//! - `scans/BY2024-0007[-<unit>].{pdf,jpg,png,tif}` (only from [`generate_with`] with a
//!   `scanned_fraction`): the same form rasterised at 300 dpi, stamped with a red seal and
//!   degraded like a scan or phone photo, see [`scan`]; `scans/L2021-0003[-<unit>].*`: paper-era
//!   forms (`legacy_fraction`, see [`legacy`]);
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
//!       legacy-gbk-winansi|null (null for a scan), "form_style": { how values were printed,
//!       label variants },
//!       "fields": { every key of model::HEADER_FIELDS: true normalised value or null },
//!       "items": [ { every key of model::ITEM_FIELDS } ],
//!       "sheet_differs": [ { "field", "item" (0-based | null), "form", "sheet" } ],
//!       "planted": [ { "rule", "severity", "kind", "detail" } ],
//!       "expected_verdict": pass|review|return,
//!       // only from generate_with with a scanned or legacy fraction > 0:
//!       "form_kind": pdf|scan|null, "legacy": bool,
//!       "scan": { "format": pdf|jpg|png|tif, "pages", "dpi": 300, "width", "height",
//!                 "color": rgb|gray, "source": scanner|phone, "skew_deg" (+ = counter-clockwise),
//!                 "page_corners_px", "jpeg_quality" (null: none), "blur_radius", "noise_sigma",
//!                 "paper", "font", "seal": true, "seal_page" (1-based), "seal_center_px",
//!                 "seal_diameter_px", "seal_color", "seal_text" } } ] }
//! ```
//! `fields` hold what a perfect reader would output: ISO dates, `submitted_at` as
//! `2024-02-03T16:22:10+08:00`, phone digits only, half-width codes, numbers as numbers, a blank
//! field as null; `fill_date` is null for a declaration without a form (the sheet has none).
//! Born-digital forms carry no seal; scanned forms always carry the applicant's seal (the `seal`
//! rule is never planted and not counted in `expected_verdict`).
//!
//! Legacy declarations (after the 2024 ones) have `"legacy": true, "year"`, `"title"`, a
//! `declaration_id` key `L<year>-<n>` that is printed nowhere (`fields.declaration_id` null),
//! `fields.credit_code` = the 9-character organisation code, `submitted_at`/`account` null, no
//! sheet (`sheet_file` null), no plants and `"expected_verdict": null` (which rules apply to
//! migrated records is the pipeline's call); `form_style` adds `org_code_hyphen` and
//! `item_columns` (one 竞赛时间 column holds the date or range), `date_style` legacy-cn|legacy-dot.

pub mod data;
pub mod fmt;
pub mod legacy;
pub mod ods;
pub mod pdfgen;
pub mod scan;
pub mod seal;
pub mod sign;
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
    /// expected verdicts of the 2024 declarations (legacy ones have none): pass / review / return
    pub verdicts: BTreeMap<String, usize>,
    /// scanned forms written (`scans/`), legacy ones included
    #[serde(skip_serializing_if = "is_zero")]
    pub scans: usize,
    /// pages in the scanned forms
    #[serde(skip_serializing_if = "is_zero")]
    pub scan_pages: usize,
    /// paper-era (2019–2023) declarations, all scanned, not in the spreadsheets
    #[serde(skip_serializing_if = "is_zero")]
    pub legacy: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What [`generate_with`] makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// declarations in all, legacy ones included
    pub count: usize,
    pub seed: u64,
    /// share of the declarations with a form whose form is a scan instead of a born-digital PDF
    /// (0.0: none, as [`generate`])
    pub scanned_fraction: f64,
    /// share of the scanned declarations that are paper-era (2019–2023) forms:
    /// `round(count × scanned_fraction × legacy_fraction)` legacy declarations are made on top of
    /// the 2024 ones (which are that many fewer)
    pub legacy_fraction: f64,
}

impl Options {
    pub fn new(count: usize, seed: u64) -> Options {
        Options { count, seed, scanned_fraction: 0.0, legacy_fraction: 0.0 }
    }

    /// how many of `count` are legacy declarations
    pub fn legacy_count(&self) -> usize {
        let sf = self.scanned_fraction.clamp(0.0, 1.0);
        let lf = self.legacy_fraction.clamp(0.0, 1.0);
        ((self.count as f64 * sf * lf).round() as usize).min(self.count)
    }

    fn extended(&self) -> bool {
        self.scanned_fraction > 0.0 || self.legacy_fraction > 0.0
    }
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
        write!(f, "expected verdicts: pass {}, review {}, return {}", v("pass"), v("review"), v("return"))?;
        if self.scans > 0 {
            write!(f, "\nscanned forms: {} ({} pages), {} of them legacy (2019–2023)", self.scans, self.scan_pages, self.legacy)?;
        }
        Ok(())
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
/// for `seed`: born-digital forms only (as [`generate_with`] with [`Options::new`]).
pub fn generate(pipeline: &Pipeline, out: &Path, count: usize, seed: u64) -> anyhow::Result<Summary> {
    generate_with(pipeline, out, &Options::new(count, seed))
}

/// What one declaration's form became.
enum FormOut {
    Pdf(String, usize),
    Scan(String, scan::ScanInfo),
}

impl FormOut {
    fn file(&self) -> &str {
        match self {
            FormOut::Pdf(f, _) | FormOut::Scan(f, _) => f,
        }
    }
    fn pages(&self) -> usize {
        match self {
            FormOut::Pdf(_, p) => *p,
            FormOut::Scan(_, s) => s.pages,
        }
    }
}

fn scan_stem(id: &str, unit: &str, unit_in_name: bool) -> String {
    if unit_in_name && !unit.is_empty() {
        format!("scans/{id}-{unit}")
    } else {
        format!("scans/{id}")
    }
}

/// truth.json's `seal` of a declaration with a form.
fn seal_json(p: &seal::SealPlan) -> J {
    json!({
        "kind": p.kind,
        "present": p.text.is_some(),
        "text": p.text,
        "matches_unit": p.matches_unit(),
        "of_declaration": p.of_declaration,
        "reused_by": p.reused_by,
        "diameter_mm": (p.diameter_mm * 10.0).round() / 10.0,
        "signed": p.signed,
        "appended": p.appended,
    })
}

/// A born-digital form with its electronic seal over the fill date (when it has one), signed
/// and appended to as planned.
fn seal_born_digital(d: &Decl, st: &FormStyle, title: &str, bytes: Vec<u8>, plan: &seal::SealPlan) -> anyhow::Result<Vec<u8>> {
    let pages = pdfgen::layout(d, st, title);
    let page = pages.iter().rposition(|p| p.mark("fill_date").is_some()).unwrap_or(pages.len().saturating_sub(1));
    let mut rng = StdRng::seed_from_u64(plan.image_seed ^ 0xA11CE);
    let r_pt = plan.diameter_mm / 2.0 / 25.4 * 72.0;
    let (x, y) = match pages.get(page).and_then(|p| p.mark("fill_date")) {
        Some(m) => (m.x + m.w * rng.random_range(0.2f32..0.9), m.y + rng.random_range(0.15f32..0.55) * r_pt),
        None => (pdfgen::PAGE_W * 0.7, pdfgen::PAGE_H * 0.2),
    };
    let x = x.clamp(r_pt + 10.0, pdfgen::PAGE_W - r_pt - 10.0);
    let y = y.clamp(r_pt + 10.0, pdfgen::PAGE_H - r_pt - 10.0);
    let mut bytes = match &plan.text {
        Some(text) => seal::stamp_pdf(&bytes, page, x, y, plan.diameter_mm, text, plan.image_seed)?,
        None => bytes,
    };
    if plan.signed {
        let rect = [x - r_pt, y - r_pt, x + r_pt, y + r_pt];
        bytes = sign::sign(&bytes, "Signature1", &d.unit_name, page, rect, plan.image_seed).map_err(|e| anyhow::anyhow!(e))?;
        if plan.appended {
            bytes = sign::append_edit(&bytes, 0, plan.image_seed).map_err(|e| anyhow::anyhow!(e))?;
        }
    }
    Ok(bytes)
}

fn created(d: &Decl) -> String {
    format!("D:{}{}+08'00'", d.fill_date.format("%Y%m%d"), "093000")
}

fn form_style_json(s: &FormStyle) -> J {
    let mut o = json!({
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
    });
    if let Some(l) = s.legacy {
        o["date_style"] = J::from(if l.dot_dates { "legacy-dot" } else { "legacy-cn" });
        o["org_code_hyphen"] = J::from(l.org_hyphen);
        o["item_columns"] = J::from(pdfgen::LEGACY_ITEM_COLS.iter().map(|(_, h)| *h).collect::<Vec<_>>());
    }
    o
}

/// Generates `opt.count` declarations into `out` (forms/, scans/, sheets/, truth.json),
/// deterministically for `opt.seed`. With `scanned_fraction` 0 and `legacy_fraction` 0 the output
/// is byte for byte that of [`generate`]; otherwise declarations drawn for a scan get
/// `scans/<id>[-<unit>].{pdf,jpg,png,tif}` instead of a born-digital PDF (the other files stay as
/// they would be), legacy declarations are added (scanned only, in no spreadsheet), and every
/// declaration in truth.json gets `form_kind` (`pdf` | `scan` | null without a form), `legacy`,
/// and for scans `scan` ([`scan::ScanInfo`]).
pub fn generate_with(pipeline: &Pipeline, out: &Path, opt: &Options) -> anyhow::Result<Summary> {
    let (count, seed) = (opt.count, opt.seed);
    let n_legacy = opt.legacy_count();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut decls = data::build(pipeline, count - n_legacy, &mut rng);
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
    // which forms are scans, and the seed of each scan: streams of their own, so that the
    // born-digital forms and the sheets stay what they are without scans
    let sf = opt.scanned_fraction.clamp(0.0, 1.0);
    let mut scan_rng = StdRng::seed_from_u64(seed ^ 0x5CA1_AB1E_D0C5_0001);
    let scan_seeds: Vec<Option<u64>> = decls
        .iter()
        .map(|d| {
            let scanned = d.has_form && sf > 0.0 && scan_rng.random_bool(sf);
            let s: u64 = scan_rng.random();
            scanned.then_some(s)
        })
        .collect();
    // the seals: a stream of their own; a planted parent-company seal renames its unit to a
    // branch before anything is written
    let mut seal_rng = StdRng::seed_from_u64(seed ^ 0x5EA1_0F_C0DE_2024);
    let form_kinds: Vec<(bool, bool)> = styles.iter().zip(&scan_seeds).map(|(st, sc)| (st.is_some(), st.is_some() && sc.is_none())).collect();
    let seal_plans = seal::plan(&mut decls, &form_kinds, &mut seal_rng);
    let decls = decls;
    let mut legacy_rng = StdRng::seed_from_u64(seed ^ 0x1E9A_C7F0_2019_2023);
    let legacies = legacy::build(pipeline, n_legacy, &mut legacy_rng);
    let legacy_seeds: Vec<u64> = legacies.iter().map(|_| legacy_rng.random()).collect();
    if scan_seeds.iter().any(|s| s.is_some()) || !legacies.is_empty() {
        scan::cjk_font().context("scanned samples")?;
        std::fs::create_dir_all(out.join("scans"))?;
    }
    let forms: Vec<Option<FormOut>> = decls
        .par_iter()
        .zip(styles.par_iter())
        .zip(scan_seeds.par_iter())
        .zip(seal_plans.par_iter())
        .map(|(((d, st), scan_seed), plan)| -> anyhow::Result<Option<FormOut>> {
            let Some(st) = st else { return Ok(None) };
            let stamp = plan.as_ref().and_then(|p| p.text.as_deref().map(|text| scan::StampSpec { text, seed: p.image_seed }));
            if let Some(s) = scan_seed {
                let pages = pdfgen::layout(d, st, &title);
                let stem = scan_stem(&d.id, &d.unit_name, st.unit_in_file_name);
                let (file, info) = scan::render_scan(&pages, stamp, *s, out, &stem, &created(d))
                    .with_context(|| format!("scanned form of {}", d.id))?;
                return Ok(Some(FormOut::Scan(file, info)));
            }
            let (bytes, pages) = pdfgen::render(d, st, &title).with_context(|| format!("form of {}", d.id))?;
            let bytes = match plan {
                Some(plan) => seal_born_digital(d, st, &title, bytes, plan).with_context(|| format!("seal on the form of {}", d.id))?,
                None => bytes,
            };
            let file = form_file(d, st);
            std::fs::write(out.join(&file), bytes).with_context(|| format!("cannot write {file}"))?;
            Ok(Some(FormOut::Pdf(file, pages)))
        })
        .collect::<anyhow::Result<_>>()?;
    let legacy_forms: Vec<(String, scan::ScanInfo)> = legacies
        .par_iter()
        .zip(legacy_seeds.par_iter())
        .map(|(l, s)| -> anyhow::Result<(String, scan::ScanInfo)> {
            let d = &l.decl;
            let pages = pdfgen::layout(d, &l.style, &l.title);
            let stem = scan_stem(&d.id, &d.unit_name, l.style.unit_in_file_name);
            let stamp = scan::StampSpec { text: &d.unit_name, seed: s.rotate_left(17) };
            scan::render_scan(&pages, Some(stamp), *s, out, &stem, &created(d))
                .with_context(|| format!("legacy form {}", d.id))
        })
        .collect::<anyhow::Result<_>>()?;

    // ---- sheets
    let sizes = chunk_sizes(&mut rng, decls.len());
    let rotation = rng.random_range(0..SheetFormat::ROTATION.len());
    let mut sheet_infos: Vec<SheetInfo> = Vec::new();
    let mut sheet_of: Vec<(usize, usize)> = vec![(0, 0); decls.len()];
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
    let n_pdf = forms.iter().flatten().filter(|f| matches!(f, FormOut::Pdf(..))).count();
    let scans: Vec<&scan::ScanInfo> = forms
        .iter()
        .flatten()
        .filter_map(|f| match f {
            FormOut::Scan(_, s) => Some(s),
            _ => None,
        })
        .chain(legacy_forms.iter().map(|(_, s)| s))
        .collect();
    let mut summary = Summary {
        declarations: count,
        items: decls.iter().chain(legacies.iter().map(|l| &l.decl)).map(|d| d.items.len()).sum(),
        forms: n_pdf,
        sheets: sheet_infos.len(),
        sheet_rows: sheet_infos.iter().map(|s| s.rows).sum(),
        files: n_pdf + scans.len() + sheet_infos.len() + 1,
        scans: scans.len(),
        scan_pages: scans.iter().map(|s| s.pages).sum(),
        legacy: legacies.len(),
        ..Summary::default()
    };
    for k in Kind::ALL {
        summary.planted.insert(k.name().to_string(), 0);
    }
    let extended = opt.extended();
    let mut out_decls = Vec::with_capacity(count);
    for (i, d) in decls.iter().enumerate() {
        for pl in &d.planted {
            *summary.planted.entry(pl.kind.name().to_string()).or_default() += 1;
            *summary.planted_rules.entry(pl.rule.to_string()).or_default() += 1;
        }
        if !d.planted.is_empty() {
            summary.planted_declarations += 1;
        }
        let seal_plants = seal_plans[i].as_ref().map(|p| p.planted()).unwrap_or_default();
        for (kind, _, _) in &seal_plants {
            *summary.planted.entry(kind.to_string()).or_default() += 1;
            *summary.planted_rules.entry("seal".to_string()).or_default() += 1;
        }
        if d.planted.is_empty() && !seal_plants.is_empty() {
            summary.planted_declarations += 1;
        }
        let rank = |v: &str| ["pass", "review", "return"].iter().position(|x| *x == v).unwrap_or(0);
        let verdict = seal_plants.iter().map(|p| p.1).fold(d.worst(), |a, b| if rank(b) > rank(a) { b } else { a });
        *summary.verdicts.entry(verdict.to_string()).or_default() += 1;
        let st = styles[i].as_ref();
        let (sheet_idx, sheet_row) = sheet_of[i];
        let form = forms[i].as_ref();
        let scanned = matches!(form, Some(FormOut::Scan(..)));
        let mut o = json!({
            "declaration_id": d.id,
            "form_file": form.map(|f| f.file().to_string()),
            "form_pages": form.map(|f| f.pages()),
            "sheet_file": sheet_infos[sheet_idx].file,
            "sheet_row": sheet_row,
            "layout": st.map(|s| s.layout.as_str()),
            "font_encoding": if scanned { None } else { st.map(|s| s.enc.as_str()) },
            "form_style": st.map(form_style_json),
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
            })).chain(seal_plants.iter().map(|(kind, severity, detail)| json!({
                "rule": "seal",
                "severity": severity,
                "kind": kind,
                "detail": detail,
            }))).collect::<Vec<_>>(),
            "expected_verdict": verdict,
            "seal": seal_plans[i].as_ref().map(seal_json),
        });
        if extended {
            o["form_kind"] = match form {
                Some(FormOut::Pdf(..)) => J::from("pdf"),
                Some(FormOut::Scan(..)) => J::from("scan"),
                None => J::Null,
            };
            o["legacy"] = J::Bool(false);
            if let Some(FormOut::Scan(_, info)) = form {
                o["scan"] = serde_json::to_value(info)?;
            }
        }
        out_decls.push(o);
    }
    for (l, (file, info)) in legacies.iter().zip(&legacy_forms) {
        let d = &l.decl;
        let mut fields = decl_fields(d);
        fields["declaration_id"] = J::Null;
        fields["submitted_at"] = J::Null;
        fields["account"] = J::Null;
        out_decls.push(json!({
            "declaration_id": d.id,
            "legacy": true,
            "year": l.year,
            "title": l.title,
            "form_file": file,
            "form_pages": info.pages,
            "form_kind": "scan",
            "scan": info,
            "sheet_file": J::Null,
            "sheet_row": J::Null,
            "layout": l.style.layout.as_str(),
            "font_encoding": J::Null,
            "form_style": form_style_json(&l.style),
            "fields": fields,
            "items": decl_items(d),
            "sheet_differs": [],
            "planted": [],
            "expected_verdict": J::Null,
            "seal": json!({ "kind": "own", "present": info.seal, "text": d.unit_name, "matches_unit": true,
                            "signed": false, "appended": false, "of_declaration": J::Null, "reused_by": J::Null }),
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
                .is_some_and(|ph| p.phone_fits(ph));
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

    // ---- scanned variants

    /// Decodes every page of a scanned form: (width, height, RGB pixels).
    fn decode_scan(path: &Path, format: &str) -> Vec<(u32, u32, Vec<u8>)> {
        let rgb = |img: image::DynamicImage| {
            let img = img.into_rgb8();
            (img.width(), img.height(), img.into_raw())
        };
        match format {
            "pdf" => {
                let doc = lopdf::Document::load(path).unwrap();
                let mut pages = Vec::new();
                for (_, id) in doc.get_pages() {
                    let content = doc.get_page_content(id);
                    assert_eq!(String::from_utf8_lossy(&content).trim(), "q 595.28 0 0 841.89 0 0 cm /Im0 Do Q");
                    let page = doc.get_dictionary(id).unwrap();
                    let res = page.get(b"Resources").unwrap().as_dict().unwrap();
                    let xo = res.get(b"XObject").unwrap().as_dict().unwrap();
                    let im_id = xo.get(b"Im0").unwrap().as_reference().unwrap();
                    let im = doc.get_object(im_id).unwrap().as_stream().unwrap();
                    assert_eq!(im.dict.get(b"Filter").unwrap().as_name().unwrap(), b"DCTDecode");
                    let img = image::load_from_memory_with_format(&im.content, image::ImageFormat::Jpeg).unwrap();
                    pages.push(rgb(img));
                }
                pages
            }
            "tif" => {
                let mut dec = tiff::decoder::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap();
                let mut pages = Vec::new();
                loop {
                    let (w, h) = dec.dimensions().unwrap();
                    let ct = dec.colortype().unwrap();
                    let data = match dec.read_image().unwrap() {
                        tiff::decoder::DecodingResult::U8(v) => v,
                        other => panic!("unexpected TIFF sample type {:?}", std::mem::discriminant(&other)),
                    };
                    let px = match ct {
                        tiff::ColorType::Gray(8) => data.iter().flat_map(|&v| [v, v, v]).collect(),
                        tiff::ColorType::RGB(8) => data,
                        other => panic!("unexpected TIFF colour type {other:?}"),
                    };
                    pages.push((w, h, px));
                    if !dec.more_images() {
                        break;
                    }
                    dec.next_image().unwrap();
                }
                pages
            }
            _ => vec![rgb(image::open(path).unwrap())],
        }
    }

    fn scan_checks(dir: &Path, d: &J) {
        let id = d["declaration_id"].as_str().unwrap();
        let file = d["form_file"].as_str().unwrap();
        let s = &d["scan"];
        assert_eq!(d["form_kind"], "scan", "{id}");
        assert!(file.starts_with("scans/") && file.ends_with(&format!(".{}", s["format"].as_str().unwrap())), "{file}");
        let pages = decode_scan(&dir.join(file), s["format"].as_str().unwrap());
        assert_eq!(pages.len() as u64, s["pages"].as_u64().unwrap(), "{file}: pages");
        assert_eq!(d["form_pages"], s["pages"], "{id}");
        let skew = s["skew_deg"].as_f64().unwrap().abs();
        match s["source"].as_str().unwrap() {
            "scanner" => assert!((0.5..=3.0).contains(&skew), "{file}: skew {skew}"),
            "phone" => assert!((0.5..=5.0).contains(&skew), "{file}: skew {skew}"),
            other => panic!("{other}"),
        }
        for (i, (w, h, px)) in pages.iter().enumerate() {
            assert_eq!((*w, *h), (scan::WIDTH_PX, scan::HEIGHT_PX), "{file}");
            // printed text: enough dark pixels in the middle of the image (inside the page, also
            // on a phone photo's desk), paper not white
            let (x0, x1, y0, y1) = (*w as usize * 15 / 100, *w as usize * 85 / 100, *h as usize * 15 / 100, *h as usize * 85 / 100);
            let mut dark = 0;
            for y in y0..y1 {
                let row = &px[(y * *w as usize + x0) * 3..(y * *w as usize + x1) * 3];
                dark += row.chunks_exact(3).filter(|p| (p[0] as u32 + p[1] as u32 + p[2] as u32) < 3 * 110).count();
            }
            let share = dark as f64 / ((x1 - x0) * (y1 - y0)) as f64;
            assert!(share > 0.004 && share < 0.3, "{file} page {}: dark share {share}", i + 1);
            let mid: u64 = px.iter().step_by(997).map(|&v| v as u64).sum::<u64>() / px.iter().step_by(997).count() as u64;
            assert!(mid < 250, "{file}: paper too white ({mid})");
        }
        // the seal: red pixels inside its ring on its page (colour scans only)
        let sp = s["seal_page"].as_u64().unwrap() as usize - 1;
        let (cx, cy) = (s["seal_center_px"][0].as_f64().unwrap(), s["seal_center_px"][1].as_f64().unwrap());
        let r = s["seal_diameter_px"].as_f64().unwrap() / 2.0;
        assert!((400.0..=560.0).contains(&(2.0 * r)) || s["source"] == "phone", "{file}: seal {r}");
        let (w, _, px) = &pages[sp];
        let mut red = 0;
        let mut seen = 0;
        for y in (cy - r) as i64..(cy + r) as i64 {
            for x in (cx - r) as i64..(cx + r) as i64 {
                if (x as f64 - cx).hypot(y as f64 - cy) > r || x < 0 || y < 0 || x >= *w as i64 || y >= scan::HEIGHT_PX as i64 {
                    continue;
                }
                seen += 1;
                let i = (y as usize * *w as usize + x as usize) * 3;
                let (r_, g, b) = (px[i] as i32, px[i + 1] as i32, px[i + 2] as i32);
                if r_ > g + 50 && r_ > b + 40 {
                    red += 1;
                }
            }
        }
        if s["color"] == "rgb" && s["seal"] == true {
            assert!(red as f64 > seen as f64 * 0.03, "{file}: {red} red pixels of {seen} in the seal area");
            // and not everywhere: the top of the page has no red ink
            let top_red = px[..*w as usize * 3 * 600].chunks_exact(3).filter(|p| p[0] as i32 > p[1] as i32 + 50 && p[0] as i32 > p[2] as i32 + 40).count();
            assert!(top_red < 50, "{file}: red in the header ({top_red})");
        } else {
            assert!(red < seen / 100, "{file}: a grey scan has colour");
        }
    }

    #[test]
    fn samples_scanned_forms_decode() {
        let p = pipeline();
        let dir = tempfile::tempdir().unwrap();
        let opt = Options { scanned_fraction: 1.0, ..Options::new(6, 5) };
        let s = generate_with(&p, dir.path(), &opt).unwrap();
        let truth: J = serde_json::from_slice(&std::fs::read(dir.path().join("truth.json")).unwrap()).unwrap();
        verify_truth(&p, &truth);
        let decls = truth["declarations"].as_array().unwrap();
        assert_eq!(decls.len(), 6);
        let with_form = decls.iter().filter(|d| !d["form_file"].is_null()).count();
        assert!(with_form >= 4);
        assert_eq!(s.scans, with_form);
        assert_eq!(s.forms, 0);
        assert!(!dir.path().join("forms").read_dir().unwrap().any(|_| true), "no born-digital PDF");
        for d in decls {
            assert_eq!(d["legacy"], false);
            if d["form_file"].is_null() {
                assert!(d["form_kind"].is_null());
                continue;
            }
            assert!(d["font_encoding"].is_null());
            scan_checks(dir.path(), d);
        }
    }

    #[test]
    fn samples_scans_are_deterministic_and_mixed() {
        let p = pipeline();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let opt = Options { scanned_fraction: 0.5, legacy_fraction: 0.5, ..Options::new(6, 21) };
        generate_with(&p, a.path(), &opt).unwrap();
        generate_with(&p, b.path(), &opt).unwrap();
        let ta = std::fs::read(a.path().join("truth.json")).unwrap();
        assert!(ta == std::fs::read(b.path().join("truth.json")).unwrap(), "truth.json differs");
        let truth: J = serde_json::from_slice(&ta).unwrap();
        let mut n_scans = 0;
        for d in truth["declarations"].as_array().unwrap() {
            if let Some(f) = d["form_file"].as_str() {
                let (x, y) = (std::fs::read(a.path().join(f)).unwrap(), std::fs::read(b.path().join(f)).unwrap());
                assert!(x == y, "{f} differs between two runs");
                n_scans += (d["form_kind"] == "scan") as usize;
                if d["form_kind"] == "pdf" {
                    assert!(f.starts_with("forms/") && !d["font_encoding"].is_null());
                }
            }
        }
        assert!(n_scans >= 2, "{n_scans} scans");
        assert_eq!(truth["summary"]["legacy"], 2);
        // without legacy forms, the born-digital forms and the sheets are what `generate` writes
        // for the seed: scanning only replaces some forms
        let plain = tempfile::tempdir().unwrap();
        generate(&p, plain.path(), 6, 21).unwrap();
        let same = tempfile::tempdir().unwrap();
        generate_with(&p, same.path(), &Options::new(6, 21)).unwrap();
        let tp = std::fs::read(plain.path().join("truth.json")).unwrap();
        assert!(tp == std::fs::read(same.path().join("truth.json")).unwrap());
        let tp: J = serde_json::from_slice(&tp).unwrap();
        assert!(tp["declarations"][0].get("form_kind").is_none(), "generate() keeps the old truth.json");
        let mixed = tempfile::tempdir().unwrap();
        generate_with(&p, mixed.path(), &Options { scanned_fraction: 0.5, ..Options::new(6, 21) }).unwrap();
        let tm: J = serde_json::from_slice(&std::fs::read(mixed.path().join("truth.json")).unwrap()).unwrap();
        let (mut pdfs, mut scans) = (0, 0);
        for (dm, dp) in tm["declarations"].as_array().unwrap().iter().zip(tp["declarations"].as_array().unwrap()) {
            assert_eq!(dm["fields"], dp["fields"]);
            assert_eq!(dm["sheet_row"], dp["sheet_row"]);
            match dm["form_kind"].as_str() {
                Some("pdf") => {
                    pdfs += 1;
                    let f = dm["form_file"].as_str().unwrap();
                    assert_eq!(Some(f), dp["form_file"].as_str());
                    assert!(std::fs::read(mixed.path().join(f)).unwrap() == std::fs::read(plain.path().join(f)).unwrap());
                }
                Some("scan") => scans += 1,
                _ => assert!(dp["form_file"].is_null()),
            }
        }
        assert!(pdfs > 0 && scans > 0, "{pdfs} pdfs, {scans} scans");
        for sh in tp["sheets"].as_array().unwrap() {
            let f = sh["file"].as_str().unwrap();
            assert!(std::fs::read(mixed.path().join(f)).unwrap() == std::fs::read(plain.path().join(f)).unwrap(), "{f}");
        }
    }

    #[test]
    fn samples_two_page_form_gives_two_page_tiff() {
        let p = pipeline();
        let mut rng = StdRng::seed_from_u64(3);
        let decls = data::build(&p, 3, &mut rng);
        let d = decls.iter().find(|d| d.has_form).unwrap();
        let mut st = pdfgen::choose_style(&mut rng, &p);
        st.page_break = true;
        let pages = pdfgen::layout(d, &st, "2024年“巴渝工匠”杯职业技能竞赛申报表");
        assert_eq!(pages.len(), 2);
        assert!(pages[1].mark("fill_date").is_some());
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("scans")).unwrap();
        let (file, info) =
            scan::render_scan_as(&pages, Some(scan::StampSpec { text: &d.unit_name, seed: 7 }), 99, dir.path(), "scans/two", "D:20240125093000+08'00'", Some(scan::ScanFormat::Tif))
                .unwrap();
        assert_eq!(file, "scans/two.tif");
        assert_eq!(info.seal_page, 2);
        let mut truth = serde_json::to_value(&info).unwrap();
        let d = json!({"declaration_id": d.id, "form_file": file, "form_pages": 2, "form_kind": "scan", "scan": truth.take()});
        scan_checks(dir.path(), &d);
        // a bare JPG cannot hold two pages
        assert!(scan::render_scan_as(&pages, Some(scan::StampSpec { text: "x", seed: 1 }), 1, dir.path(), "scans/x", "", Some(scan::ScanFormat::Jpg)).is_err());
    }

    #[test]
    fn samples_legacy_forms() {
        let p = pipeline();
        let dir = tempfile::tempdir().unwrap();
        let opt = Options { scanned_fraction: 1.0, legacy_fraction: 1.0, ..Options::new(3, 8) };
        let s = generate_with(&p, dir.path(), &opt).unwrap();
        assert_eq!((s.declarations, s.legacy, s.scans), (3, 3, 3));
        let truth: J = serde_json::from_slice(&std::fs::read(dir.path().join("truth.json")).unwrap()).unwrap();
        for d in truth["declarations"].as_array().unwrap() {
            assert_eq!(d["legacy"], true);
            let year = d["year"].as_i64().unwrap();
            assert!((2019..=2023).contains(&year));
            assert!(d["fields"]["declaration_id"].is_null() && d["sheet_file"].is_null());
            let org = d["fields"]["credit_code"].as_str().unwrap();
            assert_eq!(org.len(), 9);
            assert_eq!(crate::codes::org_check_char(&org[..8]), org.chars().nth(8), "{org}");
            for it in d["items"].as_array().unwrap() {
                assert!(it["start_date"].as_str().unwrap().starts_with(&year.to_string()));
            }
            scan_checks(dir.path(), d);
        }
        // what a legacy page shows
        let mut rng = StdRng::seed_from_u64(4);
        let ls = legacy::build(&p, 4, &mut rng);
        let mut hyphen = false;
        for l in &ls {
            let text: String = pdfgen::layout(&l.decl, &l.style, &l.title)
                .iter()
                .flat_map(|pg| pg.ops.iter())
                .filter_map(|op| match op {
                    pdfgen::Op::Text { s, .. } => Some(s.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("|");
            let flat: String = text.replace('|', "");
            assert!(flat.contains("重庆市职业技能竞赛申报表"), "{text}");
            assert!(!flat.contains("申报编号") && !flat.contains("巴渝工匠"), "{text}");
            assert!(flat.contains("组织机构代码") || text.contains("组|织|机|构|代|码"), "{text}");
            assert!(flat.contains("竞赛工种") && flat.contains("举办地点") && flat.contains("竞赛时间"), "{text}");
            let org = &l.decl.credit_code;
            hyphen |= flat.contains(&format!("{}-{}", &org[..8], &org[8..]));
            assert!(flat.contains(org.as_str()) || flat.contains(&format!("{}-{}", &org[..8], &org[8..])), "{org}");
        }
        let _ = hyphen;
    }

    /// `cargo test --release --lib samples_scan_timing -- --ignored --nocapture`
    /// (`SAMPLES_OUT=/tmp/x` keeps the files)
    #[test]
    #[ignore]
    fn samples_scan_timing() {
        let p = pipeline();
        let keep = std::env::var("SAMPLES_OUT").ok();
        let tmp = tempfile::tempdir().unwrap();
        let dir = keep.as_ref().map(PathBuf::from).unwrap_or_else(|| tmp.path().to_path_buf());
        scan::cjk_font().unwrap();
        let count = std::env::var("SAMPLES_COUNT").ok().and_then(|c| c.parse().ok()).unwrap_or(20);
        let opt = Options { scanned_fraction: 1.0, legacy_fraction: 0.25, ..Options::new(count, 42) };
        let t = std::time::Instant::now();
        let s = generate_with(&p, &dir, &opt).unwrap();
        let el = t.elapsed().as_secs_f64();
        let threads = rayon::current_num_threads();
        eprintln!(
            "{} scanned declarations, {} pages in {el:.2} s on {threads} threads: {:.3} s per page ({:.3} s per page per thread)\n{s}",
            s.scans,
            s.scan_pages,
            el / s.scan_pages as f64,
            el * threads as f64 / s.scan_pages as f64
        );
        let truth: J = serde_json::from_slice(&std::fs::read(dir.join("truth.json")).unwrap()).unwrap();
        let t = std::time::Instant::now();
        for d in truth["declarations"].as_array().unwrap() {
            if d["form_kind"] == "scan" {
                scan_checks(&dir, d);
            }
        }
        eprintln!("decoded and checked in {:.2} s", t.elapsed().as_secs_f64());
        // one page on its own, by stage
        let mut rng = StdRng::seed_from_u64(1);
        let decls = data::build(&p, 1, &mut rng);
        let st = pdfgen::choose_style(&mut rng, &p);
        let pages = pdfgen::layout(&decls[0], &st, "2024年“巴渝工匠”杯职业技能竞赛申报表");
        let t = std::time::Instant::now();
        let img = scan::rasterise(&pages[0]).unwrap();
        eprintln!("clean rasterisation of one page: {:.3} s", t.elapsed().as_secs_f64());
        if keep.is_some() {
            img.save(dir.join("clean-page.png")).unwrap();
        }
        for (stage, secs) in scan::stage_timings(&pages[0], 7) {
            eprintln!("  {stage:<32} {secs:.3} s");
        }
    }
}
