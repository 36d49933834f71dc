//! Recogniser benchmark (issue 16): the same regions of the office-made scanned fixtures read
//! by Tesseract (as the project reads a region: `ocr::with_engine`, `recognise_region`,
//! `PsmSingleLine`) and by PP-OCR (`ocr::ppocr`), in one run. Run by `scripts/bench-ocr.sh`.
//!
//! Regions: each page is prepared as the pipeline does (photo straightened, red ink removed,
//! paper flattened, deskewed: `ocr::prepare`), its ruled table cells found (`ocr::find_grid`)
//! and every cell is a region; the rest of the page (tables whitened) is cut into text lines,
//! each a region. A region is cut into lines (`ppocr::line_bands`), each line read by both
//! recognisers, the lines' readings joined.
//!
//! Truth: each region is matched against its declaration's truth values (fields and items of
//! `truth.json`, as they may be printed: dates in the forms' styles, phones with or without
//! hyphens, organisation codes with their hyphen) and, for labels, the label dictionary of
//! `pipelines/bayu-2024.toml`. Readings are compared in a canonical form (full-width ASCII to
//! ASCII, dashes to `-`, quotes to `"`, no white space). A value is in a region when, for one
//! of the recognisers, the value's best match inside the reading (edit distance to a substring)
//! is within a third of its length (a quarter for dates, numbers and phones); of two values
//! whose best matches overlap in a reading, only the closer (relative to its length; then the
//! longer) counts; values of fewer than three characters are left out (they match anywhere). Each recogniser is then scored on every (region, value):
//! characters right = length − edit distance, exact = distance 0.
//!
//! Tesseract reads a line with the model the project uses for that kind of value: `chi_sim`
//! for Chinese text and labels, `chi_sim+eng` for codes, phones, numbers and dates; both are
//! run on every line, so the best of the two is shown too.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use image::{DynamicImage, GrayImage};
use serde_json::Value;
use shenbao::ocr::{self, ppocr, PrepOptions, Psm, Rect};
use shenbao::samples::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Text,
    Code,
    Phone,
    Number,
    Date,
    Label,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Code => "code",
            Kind::Phone => "phone",
            Kind::Number => "number",
            Kind::Date => "date",
            Kind::Label => "label",
        }
    }
    /// the Tesseract model the project reads such a value in
    fn tess_model(self) -> usize {
        match self {
            Kind::Text | Kind::Label => 0,
            _ => 1,
        }
    }
}

const MODELS: [&str; 2] = ["chi_sim", "chi_sim+eng"];
const CORE: &[&str] = &["unit_name", "credit_code", "event_name", "category", "contact_phone", "occupation", "occupation_code", "host_location", "end_date"];

/// A value as it may be printed: its variants (canonical), its field and kind.
#[derive(Clone, Debug)]
struct Truth {
    key: String,
    kind: Kind,
    variants: Vec<Vec<char>>,
}

fn kind_of(key: &str) -> Kind {
    match key {
        "credit_code" | "occupation_code" | "declaration_id" | "account" => Kind::Code,
        "contact_phone" => Kind::Phone,
        "managers" | "experts_judges" | "participants" | "budget_wan" => Kind::Number,
        "fill_date" | "start_date" | "end_date" | "period" => Kind::Date,
        _ => Kind::Text,
    }
}

/// Canonical form for comparison.
fn canon(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '—' | '–' | '‐' | '‑' | '−' | '―' | '─' => '-',
            '“' | '”' | '„' | '‟' => '"',
            '‘' | '’' => '\'',
            _ => c,
        })
        .map(|c| if c == '＂' { '"' } else { c })
        .collect()
}

fn date_variants(d: NaiveDate) -> Vec<String> {
    let mut v: Vec<String> = fmt::DateStyle::ALL.iter().map(|s| fmt::date(d, *s)).collect();
    v.push(fmt::legacy_date(d, true));
    v.push(d.format("%Y年%m月%d日").to_string());
    v.push(d.format("%Y/%m/%d").to_string());
    v.push(d.format("%Y.%-m.%-d").to_string());
    v
}

fn value_strings(key: &str, v: &Value) -> Vec<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => {
                let f = n.as_f64().unwrap_or(0.0);
                return vec![fmt::budget(f, false), fmt::budget(f, true)];
            }
        },
        _ => return Vec::new(),
    };
    let mut out = vec![s.clone()];
    match kind_of(key) {
        Kind::Date => {
            if let Ok(d) = NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
                out = date_variants(d);
            }
        }
        Kind::Phone => out.extend([fmt::phone(&s, 1), fmt::phone(&s, 2)]),
        Kind::Code if key == "credit_code" && s.chars().count() == 9 => {
            out.push(format!("{}-{}", &s[..8], &s[8..]));
        }
        Kind::Number => {
            if let Some(f) = v.as_f64() {
                out.push(fmt::budget(f, true));
            }
        }
        _ => {}
    }
    out
}

/// The truth values of one declaration (and the labels), deduplicated by printed form.
fn truths(decl: &Value, labels: &[String]) -> Vec<Truth> {
    let mut out: Vec<Truth> = Vec::new();
    let mut add = |key: &str, kind: Kind, strs: Vec<String>| {
        let mut variants: Vec<Vec<char>> = strs.iter().map(|s| canon(s)).filter(|v| v.len() >= 3).collect();
        variants.sort();
        variants.dedup();
        if variants.is_empty() {
            return;
        }
        if let Some(t) = out.iter_mut().find(|t| t.variants.iter().any(|v| variants.contains(v))) {
            if !t.key.split('/').any(|k| k == key) {
                t.key = format!("{}/{key}", t.key);
            }
            return;
        }
        out.push(Truth { key: key.to_string(), kind, variants });
    };
    if let Some(f) = decl["fields"].as_object() {
        for (k, v) in f {
            if k == "submitted_at" {
                continue;
            }
            add(k, kind_of(k), value_strings(k, v));
        }
    }
    for item in decl["items"].as_array().into_iter().flatten() {
        if let Some(f) = item.as_object() {
            for (k, v) in f {
                add(k, kind_of(k), value_strings(k, v));
            }
        }
        let date = |k: &str| item[k].as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
        if let (Some(a), Some(b)) = (date("start_date"), date("end_date")) {
            if a != b {
                let mut v = vec![fmt::legacy_range(a, b, false), fmt::legacy_range(a, b, true)];
                v.extend(date_variants(a).iter().flat_map(|x| date_variants(b).into_iter().map(move |y| format!("{x}至{y}"))));
                add("period", Kind::Date, v);
            }
        }
    }
    for l in labels {
        add("label", Kind::Label, vec![l.clone()]);
    }
    out
}

/// Edit distance of `t` to its best-matching substring of `r`, and that substring's span.
fn semi_global(t: &[char], r: &[char]) -> (usize, (usize, usize)) {
    let (n, m) = (t.len(), r.len());
    // d[i][j]: t[..i] against a substring of r ending at j; start[i][j]: where it starts
    let mut prev: Vec<(usize, usize)> = (0..=m).map(|j| (0, j)).collect();
    for i in 1..=n {
        let mut cur = vec![(i, 0usize); m + 1];
        for j in 1..=m {
            let sub = (prev[j - 1].0 + usize::from(t[i - 1] != r[j - 1]), prev[j - 1].1);
            let del = (prev[j].0 + 1, prev[j].1);
            let ins = (cur[j - 1].0 + 1, cur[j - 1].1);
            cur[j] = *[sub, del, ins].iter().min_by_key(|x| x.0).unwrap();
        }
        prev = cur;
    }
    let (j, best) = prev.iter().enumerate().min_by_key(|(_, x)| x.0).unwrap();
    (best.0, (best.1, j))
}

#[derive(Default, Clone, Copy)]
struct Tally {
    values: usize,
    chars: usize,
    right: usize,
    exact: usize,
}

impl Tally {
    fn add(&mut self, len: usize, dist: usize) {
        self.values += 1;
        self.chars += len;
        self.right += len.saturating_sub(dist);
        self.exact += usize::from(dist == 0);
    }
    fn show(&self) -> String {
        if self.values == 0 {
            return format!("{:>27}", "-");
        }
        format!(
            "{:>5}/{:<5} {:5.1}%  {:>3}/{:<3} {:5.1}%",
            self.right,
            self.chars,
            100.0 * self.right as f64 / self.chars as f64,
            self.exact,
            self.values,
            100.0 * self.exact as f64 / self.values as f64
        )
    }
}

/// recognisers scored: Tesseract in the project's model for the kind, Tesseract best of two, PP-OCR
const NAMES: [&str; 3] = ["tesseract", "tesseract best-of-2", "pp-ocr"];

#[derive(Default)]
struct Stats {
    by_kind: BTreeMap<(String, Kind), [Tally; 3]>,
    by_form: BTreeMap<(String, String), [Tally; 3]>,
    core: [Tally; 3],
    all_fields: [Tally; 3],
    labels: [Tally; 3],
    regions: usize,
    lines: usize,
    /// seconds: tesseract chi_sim, chi_sim+eng, pp-ocr (first use of a width included), pp-ocr
    /// plan making
    secs: [f64; 4],
    plans_made: usize,
}

fn crop(g: &GrayImage, r: Rect) -> GrayImage {
    ocr::prep::crop(g, r.x0, r.y0, r.x1, r.y1)
}

/// A region: where it comes from, the image its lines are cut from (index into the page's
/// sources), that image's place on the page, its lines (in that image).
struct Region {
    origin: &'static str,
    src: usize,
    at: (u32, u32),
    lines: Vec<Rect>,
}

/// The regions of a prepared page and the images they are cut from: each table cell
/// (`ppocr::region_lines`: its crop with rule remnants whitened, its lines), and the text lines
/// of the rest of the page with the tables whitened.
fn regions(gray: &GrayImage, grid: &ocr::Grid) -> (Vec<GrayImage>, Vec<Region>) {
    let mut sources = Vec::new();
    let mut out = Vec::new();
    for c in &grid.cells {
        let r = c.rect.inset(2);
        if r.width() < 8 || r.height() < 8 {
            continue;
        }
        let (cell, lines) = ppocr::region_lines(gray, r);
        let lines: Vec<Rect> = lines.into_iter().filter(|b| b.height() >= 10).collect();
        if !lines.is_empty() {
            out.push(Region { origin: "cell", src: sources.len(), at: (r.x0, r.y0), lines });
            sources.push(cell);
        }
    }
    // the rest of the page, tables whitened (cells, rules)
    let mut rest = gray.clone();
    let (w, h) = gray.dimensions();
    let mut white = |r: Rect| {
        for y in r.y0..r.y1.min(h) {
            for x in r.x0..r.x1.min(w) {
                rest.put_pixel(x, y, image::Luma([255]));
            }
        }
    };
    for c in &grid.cells {
        white(c.rect);
    }
    for l in &grid.h_lines {
        for &(a, b) in &l.spans {
            white(Rect::new(a.saturating_sub(3), l.pos0.saturating_sub(3), b + 3, l.pos1 + 4));
        }
    }
    for l in &grid.v_lines {
        for &(a, b) in &l.spans {
            white(Rect::new(l.pos0.saturating_sub(3), a.saturating_sub(3), l.pos1 + 4, b + 3));
        }
    }
    for b in ppocr::line_bands(&rest) {
        if b.height() < 14 || b.width() < 10 {
            continue;
        }
        out.push(Region { origin: "line", src: sources.len(), at: (0, 0), lines: vec![b] });
    }
    sources.push(rest);
    (sources, out)
}

fn pages(path: &Path) -> Result<Vec<(DynamicImage, f32)>> {
    let limits = shenbao::read::image::ImageLimits::default();
    let mut out = Vec::new();
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf")) {
        let doc = lopdf::Document::load(path).with_context(|| path.display().to_string())?;
        for page in 1..=doc.get_pages().len() as u32 {
            if let Some(img) = shenbao::read::pdfimage::largest_page_image(&doc, page, &limits).map_err(|e| anyhow::anyhow!("{e}"))? {
                out.push((img.image, img.dpi));
            }
        }
    } else {
        shenbao::read::image::for_each_page(path, &limits, |p| {
            let dpi = p.effective_dpi();
            out.push((p.image, dpi));
            ControlFlow::Continue(())
        })
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(out)
}

fn rss_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn main() -> Result<()> {
    ocr::ensure_single_threaded_env();
    let mut args = std::env::args().skip(1);
    let mut dir = PathBuf::from("tests/fixtures/office");
    let mut tsv_out: Option<PathBuf> = None;
    let mut only: Option<String> = None;
    let mut dump: Option<PathBuf> = None;
    let mut min_width: Option<u32> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--tsv" => tsv_out = args.next().map(PathBuf::from),
            "--only" => only = args.next(),
            "--dump" => dump = args.next().map(PathBuf::from),
            "--min-width" => min_width = args.next().and_then(|v| v.parse().ok()),
            _ if a.starts_with("--") => bail!("usage: bench_ocr [FIXTURES_DIR] [--tsv FILE] [--only NAME_PART] [--dump DIR] [--min-width PX]"),
            _ => dir = PathBuf::from(a),
        }
    }
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json"))?)?;
    let pipeline: toml::Value = toml::from_str(&std::fs::read_to_string("pipelines/bayu-2024.toml")?)?;
    let labels: Vec<String> = pipeline["labels"]
        .as_table()
        .map(|t| t.values().flat_map(|v| v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from))).collect())
        .unwrap_or_default();

    let rss0 = rss_kb("VmRSS:");
    let t = Instant::now();
    let mut pp = ppocr::PpOcr::load_default().map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(w) = min_width {
        pp = pp.with_min_width(w);
    }
    let load_s = t.elapsed().as_secs_f64();
    let rss_loaded = rss_kb("VmRSS:");
    // Tesseract's two models loaded before timing
    for m in MODELS {
        ocr::with_engine(|e| e.set_lang(m)).map_err(|e| anyhow::anyhow!("{e}"))?.map_err(|e| anyhow::anyhow!("{e}"))?;
    }

    let mut stats = Stats::default();
    let mut tsv = String::from("form\tpage\tregion\tkind\tkey\ttruth\ttesseract\tpp-ocr\tdist_tess\tdist_pp\n");
    let decls: Vec<&Value> = truth["declarations"]
        .as_array()
        .context("declarations")?
        .iter()
        .filter(|d| matches!(d["form_kind"].as_str(), Some("scan" | "photo")))
        .filter(|d| only.as_ref().is_none_or(|o| d["form_file"].as_str().unwrap_or("").contains(o.as_str())))
        .collect();
    for decl in decls {
        let file = decl["form_file"].as_str().context("form_file")?;
        let form_kind = if decl["legacy"] == true { "legacy".to_string() } else { decl["form_kind"].as_str().unwrap_or("").to_string() };
        let values = truths(decl, &labels);
        let mut n_regions = 0;
        for (pno, (img, dpi)) in pages(&dir.join(file))?.into_iter().enumerate() {
            let rectified = ocr::prep::rectify_photo(&img);
            let (img, dpi) = match rectified {
                Some(r) => {
                    let d = r.width() as f32 / 8.27;
                    (r, d)
                }
                None => (img, dpi),
            };
            let prep = ocr::prepare(&img, &PrepOptions::default());
            let grid = ocr::find_grid(prep.binary.as_ref().unwrap_or(&prep.gray));
            let gray = &prep.gray;
            let (sources, regions) = regions(gray, &grid);
            for Region { origin, src, at, lines } in regions {
                n_regions += 1;
                stats.regions += 1;
                // readings: tesseract per model, pp-ocr; lines joined
                let mut read: [String; 3] = Default::default();
                let mut crops = Vec::new();
                for l in &lines {
                    stats.lines += 1;
                    // Tesseract reads the line's place on the page (and cleans its own crop)
                    let r = &Rect::new(l.x0 + at.0, l.y0 + at.1, l.x1 + at.0, l.y1 + at.1);
                    for (m, model) in MODELS.iter().enumerate() {
                        let t = Instant::now();
                        let (text, _) = ocr::with_engine(|e| {
                            e.set_dpi(dpi.round() as u32);
                            e.set_lang(model)?;
                            let out = e.recognise_region(gray, *r, Psm::PsmSingleLine, None);
                            e.reset_lang();
                            out
                        })
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                        stats.secs[m] += t.elapsed().as_secs_f64();
                        read[m].push_str(&text);
                    }
                    let before = pp.planned_widths().len();
                    let line = crop(&sources[src], *l);
                    let t = Instant::now();
                    let reading = pp.recognize(&line).map_err(|e| anyhow::anyhow!("{e}"))?;
                    let s = t.elapsed().as_secs_f64();
                    stats.secs[2] += s;
                    if pp.planned_widths().len() > before {
                        stats.plans_made += 1;
                        stats.secs[3] += s;
                    }
                    read[2].push_str(&reading.text);
                    crops.push(line);
                }
                let canon_read: Vec<Vec<char>> = read.iter().map(|s| canon(s)).collect();
                // the values in this region: (truth, variant, distance and span per reading)
                let mut found: Vec<(&Truth, usize, [usize; 3], [(usize, usize); 3])> = Vec::new();
                for t in &values {
                    let mut best: Option<(usize, [usize; 3], [(usize, usize); 3])> = None;
                    for (vi, v) in t.variants.iter().enumerate() {
                        let d: Vec<(usize, (usize, usize))> = canon_read.iter().map(|r| semi_global(v, r)).collect();
                        let dist = [d[0].0, d[1].0, d[2].0];
                        if best.is_none_or(|b| dist.iter().min() < b.1.iter().min()) {
                            best = Some((vi, dist, [d[0].1, d[1].1, d[2].1]));
                        }
                    }
                    let Some((vi, dist, spans)) = best else { continue };
                    let len = t.variants[vi].len();
                    let limit = match t.kind {
                        Kind::Date | Kind::Number | Kind::Phone => len / 4,
                        _ => len / 3,
                    };
                    if dist.iter().min().copied().unwrap() <= limit {
                        found.push((t, vi, dist, spans));
                    }
                }
                // values matching the same part of a reading: the closest match is the one
                // printed there (then the longer)
                let score = |f: &(&Truth, usize, [usize; 3], [(usize, usize); 3])| {
                    (*f.2.iter().min().unwrap() as f64 / f.0.variants[f.1].len() as f64, usize::MAX - f.0.variants[f.1].len())
                };
                let overlap = |a: (usize, usize), b: (usize, usize)| a.0.max(b.0) < a.1.min(b.1);
                let keep: Vec<bool> = found
                    .iter()
                    .map(|a| {
                        !found.iter().any(|b| {
                            let clash = (0..3).any(|r| overlap(a.3[r], b.3[r]));
                            !std::ptr::eq(a.0, b.0) && clash && score(b) < score(a)
                        })
                    })
                    .collect();
                for ((t, vi, dist, _), keep) in found.iter().zip(keep) {
                    if !keep {
                        continue;
                    }
                    let len = t.variants[*vi].len();
                    let tess = dist[t.kind.tess_model()];
                    if let Some(d) = dump.as_ref().filter(|_| dist[2] > 0 || tess > 0) {
                        std::fs::create_dir_all(d)?;
                        for (i, c) in crops.iter().enumerate() {
                            let name = format!("{}-p{}-{}-{i}.png", file.trim_start_matches("forms/").split('.').next().unwrap_or(""), pno + 1, stats.regions);
                            c.save(d.join(name))?;
                        }
                    }
                    let scored = [tess, dist[0].min(dist[1]), dist[2]];
                    let bucket = if t.kind == Kind::Label { &mut stats.labels } else { &mut stats.all_fields };
                    for (i, d) in scored.iter().enumerate() {
                        bucket[i].add(len, *d);
                        stats.by_kind.entry((form_kind.clone(), t.kind)).or_default()[i].add(len, *d);
                        if t.kind != Kind::Label {
                            stats.by_form.entry((form_kind.clone(), file.to_string())).or_default()[i].add(len, *d);
                        }
                        if t.key.split('/').any(|k| CORE.contains(&k)) {
                            stats.core[i].add(len, *d);
                        }
                    }
                    tsv.push_str(&format!(
                        "{file}\t{}\t{origin}\t{}\t{}\t{}\t{}\t{}\t{tess}\t{}\n",
                        pno + 1,
                        t.kind.name(),
                        t.key,
                        t.variants[*vi].iter().collect::<String>(),
                        read[t.kind.tess_model()].replace(['\t', '\n'], " "),
                        read[2].replace(['\t', '\n'], " "),
                        dist[2]
                    ));
                }
                if found.is_empty() {
                    tsv.push_str(&format!("{file}\t{}\t{origin}\t-\t-\t-\t{}\t{}\t-\t-\n", pno + 1, read[1].replace(['\t', '\n'], " "), read[2].replace(['\t', '\n'], " ")));
                }
            }
        }
        eprintln!("{file}: {n_regions} regions");
    }
    if let Some(p) = tsv_out {
        std::fs::write(&p, tsv)?;
    }

    let lines = stats.lines.max(1) as f64;
    println!("PP-OCR model: {} (loaded and first plan made in {:.2} s; RSS +{:.1} MB)", pp.path().display(), load_s, (rss_loaded.saturating_sub(rss0)) as f64 / 1024.0);
    println!(
        "PP-OCR plans: {} width buckets made during the run, {:.2} s in all; peak RSS of the whole run {:.0} MB",
        stats.plans_made,
        stats.secs[3],
        rss_kb("VmHWM:") as f64 / 1024.0
    );
    println!("regions read: {} ({} lines), each line by every recogniser", stats.regions, stats.lines);
    println!();
    println!("{:<22} {:>27}  {:>27}  {:>27}", "", "all fields", "core fields", "labels");
    println!("{:<22} {:>27}  {:>27}  {:>27}", "recogniser", "chars right     exact", "chars right     exact", "chars right     exact");
    for (i, name) in NAMES.iter().enumerate() {
        println!("{name:<22} {}  {}  {}", stats.all_fields[i].show(), stats.core[i].show(), stats.labels[i].show());
    }
    println!();
    println!(
        "ms per line: tesseract chi_sim {:.1}, chi_sim+eng {:.1}; pp-ocr {:.1} ({:.1} without the lines that made a plan)",
        1000.0 * stats.secs[0] / lines,
        1000.0 * stats.secs[1] / lines,
        1000.0 * stats.secs[2] / lines,
        1000.0 * (stats.secs[2] - stats.secs[3]) / (lines - stats.plans_made as f64).max(1.0)
    );
    let regions = stats.regions.max(1) as f64;
    println!(
        "ms per region: tesseract chi_sim {:.1}, chi_sim+eng {:.1}; pp-ocr {:.1}",
        1000.0 * stats.secs[0] / regions,
        1000.0 * stats.secs[1] / regions,
        1000.0 * stats.secs[2] / regions
    );
    println!();
    println!("by form kind and kind of value (chars right, exact): tesseract | pp-ocr");
    for ((fk, k), t) in &stats.by_kind {
        println!("  {fk:<7} {:<7} {} | {}", k.name(), t[0].show(), t[2].show());
    }
    println!();
    println!("by form (fields): tesseract | pp-ocr");
    for ((fk, f), t) in &stats.by_form {
        println!("  {fk:<7} {:<52} {} | {}", f.trim_start_matches("forms/"), t[0].show(), t[2].show());
    }
    Ok(())
}
