//! Born-digital declaration forms written with lopdf. Fonts are never embedded: the text has to
//! be recovered from the font encoding alone.
//!
//! Text drawing, for the extractor's benefit:
//! - every text run is its own `BT /Fn size Tf x y Td <string> Tj ET` (absolute position);
//! - main font `/F1`; with `latin_font` the ASCII runs of a string go to `/F2` (Helvetica,
//!   WinAnsi, one byte per character) as separate runs, as Word does;
//! - widths: non-ASCII characters 1000/1000 em, ASCII 500/1000 em, declared in /W or /Widths;
//! - spaced labels (layout `spaced`, labels of <= 4 characters) are drawn one character per run.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use lopdf::{dictionary, Document, Object, Stream, StringFormat};
use rand::prelude::*;
use rand::rngs::StdRng;

use super::data::{pick, pick_str, weighted, Decl};
use super::fmt::{self, DateStyle};
use crate::config::Pipeline;
use crate::model::field_label;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Grid,
    Lines,
    Spaced,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Grid => "grid",
            Layout::Lines => "lines",
            Layout::Spaced => "spaced",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FontEnc {
    /// Type0 /Identity-H, CIDFontType2, CIDs assigned in order of first use, /ToUnicode
    IdentityH,
    /// Type0 /UniGB-UCS2-H, CIDFontType0 STSong-Light Adobe-GB1-2, UCS-2BE bytes, no ToUnicode
    UniGbUcs2H,
    /// Type0 /GBK-EUC-H, CIDFontType0 STSong-Light Adobe-GB1-2, GBK bytes, no ToUnicode
    GbkEucH,
    /// simple TrueType/Type1 /SimSun declared /WinAnsiEncoding whose bytes are really GBK
    LegacyWinAnsi,
}

impl FontEnc {
    pub fn as_str(self) -> &'static str {
        match self {
            FontEnc::IdentityH => "identity-h",
            FontEnc::UniGbUcs2H => "unigb-ucs2-h",
            FontEnc::GbkEucH => "gbk-euc-h",
            FontEnc::LegacyWinAnsi => "legacy-gbk-winansi",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FormStyle {
    pub layout: Layout,
    pub enc: FontEnc,
    /// ASCII runs in a separate Helvetica font
    pub latin_font: bool,
    /// strings as <hex> (else (literal) with escapes)
    pub hex: bool,
    /// Flate-compressed content streams
    pub compress: bool,
    pub date_style: DateStyle,
    pub phone_style: u8,
    pub occ_fullwidth: bool,
    pub credit_fullwidth: bool,
    /// `：` or `:` (layout `lines` and the 申报编号 line)
    pub colon: &'static str,
    /// layout `lines`: label and value as separate runs
    pub split_label_value: bool,
    /// field key → label printed on the form
    pub labels: BTreeMap<&'static str, String>,
    pub base_font: &'static str,
    /// start 三、办赛条件 on a second page
    pub page_break: bool,
    pub ruled_items: bool,
    pub budget_two_decimals: bool,
    pub unit_in_file_name: bool,
    pub producer: &'static str,
    pub version: &'static str,
    /// a 2019–2023 paper-era form (scanned variants only)
    pub legacy: Option<LegacyForm>,
}

/// How a paper-era form differs: no declaration id, a 9-character organisation code instead of
/// the credit code, one 竞赛时间 column with a date range instead of start and end dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyForm {
    pub year: i32,
    /// `2022.05.17` (else `2019年10月15日至10月16日`)
    pub dot_dates: bool,
    /// organisation code printed `XXXXXXXX-X`
    pub org_hyphen: bool,
}

/// The item table's columns on a legacy form (widths in points, sum 515).
pub const LEGACY_ITEM_COLS: [(f32, &str); 7] = [
    (25.0, "序号"),
    (100.0, "竞赛工种"),
    (50.0, "职业代码"),
    (120.0, "承办单位"),
    (55.0, "举办地点"),
    (120.0, "竞赛时间"),
    (45.0, "参赛人数"),
];

/// The fields a form prints with a label (the spreadsheet-only ones are not on the form).
pub(crate) const LABEL_KEYS: &[&str] = &[
    "declaration_id",
    "category",
    "event_name",
    "unit_name",
    "credit_code",
    "unit_type",
    "supervisor",
    "contact_name",
    "contact_phone",
    "managers",
    "experts_judges",
    "budget_wan",
    "funding_source",
    "venue",
    "fill_date",
];

pub fn choose_style(rng: &mut StdRng, p: &Pipeline) -> FormStyle {
    let layout = *weighted(rng, &[(Layout::Grid, 40), (Layout::Lines, 35), (Layout::Spaced, 25)]);
    let enc = *weighted(
        rng,
        &[(FontEnc::IdentityH, 35), (FontEnc::UniGbUcs2H, 25), (FontEnc::GbkEucH, 22), (FontEnc::LegacyWinAnsi, 18)],
    );
    let hex = match enc {
        FontEnc::IdentityH | FontEnc::UniGbUcs2H => rng.random_bool(0.8),
        _ => rng.random_bool(0.2),
    };
    let mut labels = BTreeMap::new();
    for key in LABEL_KEYS {
        let standard = field_label(key).to_string();
        let label = if layout == Layout::Lines && rng.random_bool(0.35) {
            let variants: Vec<&String> = p
                .labels
                .get(*key)
                .map(|v| v.iter().filter(|l| l.as_str() != "组织机构代码").collect())
                .unwrap_or_default();
            if variants.is_empty() {
                standard
            } else {
                (*pick(rng, &variants)).clone()
            }
        } else {
            standard
        };
        labels.insert(*key, label);
    }
    FormStyle {
        layout,
        enc,
        latin_font: rng.random_bool(0.35),
        hex,
        compress: rng.random_bool(0.85),
        date_style: *pick(rng, &DateStyle::ALL),
        phone_style: *weighted(rng, &[(0u8, 50), (1, 30), (2, 20)]),
        occ_fullwidth: rng.random_bool(0.25),
        credit_fullwidth: rng.random_bool(0.06),
        colon: if rng.random_bool(0.8) { "：" } else { ":" },
        split_label_value: rng.random_bool(0.5),
        labels,
        base_font: pick_str(rng, &["SimSun", "SimSun", "SimHei", "FangSong", "KaiTi", "MicrosoftYaHei"]),
        page_break: rng.random_bool(0.2),
        ruled_items: layout != Layout::Lines || rng.random_bool(0.6),
        budget_two_decimals: rng.random_bool(0.1),
        unit_in_file_name: rng.random_bool(0.8),
        producer: pick_str(
            rng,
            &["Microsoft Word 2016", "WPS Writer", "iText 5.5.13", "Skia/PDF m109", "cqjnjs-platform 2.3"],
        ),
        version: pick_str(rng, &["1.4", "1.5", "1.7"]),
        legacy: None,
    }
}

// ------------------------------------------------------------------------------------------

const X0: f32 = 40.0;
const WIDTH: f32 = 515.0;
const TOP: f32 = 800.0;
const BOTTOM: f32 = 60.0;
const ITEM_COLS: [f32; 8] = [25.0, 95.0, 45.0, 120.0, 55.0, 60.0, 60.0, 55.0];

fn num(v: f32) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Width in em: ASCII half, everything else full.
pub fn em(s: &str) -> f32 {
    s.chars().map(|c| if c.is_ascii() { 0.5 } else { 1.0 }).sum()
}

/// One drawing operation of a form page, in PDF points (origin bottom left, y up).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// a text run: baseline start `(x, y)`, font size `size`; characters advance by [`em`]
    Text { x: f32, y: f32, size: f32, s: String },
    /// a stroked rectangle (line width [`LINE_WIDTH`])
    Rect { x: f32, y: f32, w: f32, h: f32 },
}

/// A named place on a page, for whoever draws over the form (the scanned variant's seal).
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub name: &'static str,
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// The display list of one page: what the PDF writer and the rasteriser both draw.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub ops: Vec<Op>,
    /// `第 i 页 共 n 页` on multi-page forms (written after every page body, as Word does)
    pub footer: Option<Op>,
    pub marks: Vec<Mark>,
}

impl Page {
    pub fn mark(&self, name: &str) -> Option<&Mark> {
        self.marks.iter().find(|m| m.name == name)
    }
}

/// A4 in points.
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
/// Stroke width of the ruled lines, points.
pub const LINE_WIDTH: f32 = 0.6;

/// Lays out the page content as display lists.
struct Canvas {
    pages: Vec<Page>,
    cur: Page,
    y: f32,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas { pages: Vec::new(), cur: Page::default(), y: TOP }
    }

    fn new_page(&mut self) {
        let page = std::mem::take(&mut self.cur);
        self.pages.push(page);
        self.y = TOP;
    }

    fn finish(mut self) -> Vec<Page> {
        let page = std::mem::take(&mut self.cur);
        self.pages.push(page);
        self.pages
    }

    /// Makes room for `h` points, starting a new page when needed.
    fn ensure(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn mark(&mut self, name: &'static str, x: f32, y: f32, w: f32, h: f32) {
        self.cur.marks.push(Mark { name, x, y, w, h });
    }

    fn text(&mut self, x: f32, y: f32, size: f32, s: &str) -> anyhow::Result<()> {
        if !s.is_empty() {
            self.cur.ops.push(Op::Text { x, y, size, s: s.to_string() });
        }
        Ok(())
    }

    /// Text shrunk to fit `w` (with 3 pt padding on each side).
    fn text_fit(&mut self, x: f32, y: f32, w: f32, size: f32, s: &str) -> anyhow::Result<()> {
        self.text(x + 3.0, y, fit_size(w, size, s), s)
    }

    fn text_center(&mut self, cx: f32, y: f32, size: f32, s: &str) -> anyhow::Result<()> {
        self.text(cx - em(s) * size / 2.0, y, size, s)
    }

    /// A label spread over the cell, one character per text run (office justification).
    fn spaced(&mut self, x: f32, y: f32, w: f32, size: f32, s: &str) -> anyhow::Result<()> {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() < 2 {
            return self.text(x, y, size, s);
        }
        let total: f32 = chars.iter().map(|c| if c.is_ascii() { 0.5 } else { 1.0 } * size).sum();
        let gap = ((w - total) / (chars.len() - 1) as f32).max(0.0);
        let mut cx = x;
        let mut buf = [0u8; 4];
        for c in chars {
            let cs: &str = c.encode_utf8(&mut buf);
            let owned = cs.to_string();
            self.text(cx, y, size, &owned)?;
            cx += em(&owned) * size + gap;
        }
        Ok(())
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.cur.ops.push(Op::Rect { x, y, w, h });
    }
}

/// The font size at which `s` fits a cell of width `w` (3 pt padding each side).
fn fit_size(w: f32, size: f32, s: &str) -> f32 {
    let e = em(s);
    let avail = w - 6.0;
    if e * size > avail && e > 0.0 {
        (avail / e).max(4.0)
    } else {
        size
    }
}

/// Writes display lists as content streams in the style's font encoding.
struct PdfWriter {
    enc: FontEnc,
    latin: bool,
    hex: bool,
    cids: HashMap<char, u16>,
    order: Vec<char>,
}

impl PdfWriter {
    fn new(st: &FormStyle) -> PdfWriter {
        PdfWriter { enc: st.enc, latin: st.latin_font, hex: st.hex, cids: HashMap::new(), order: Vec::new() }
    }

    /// One content stream per page. Identity-H CIDs are assigned in order of first use: every
    /// page body first, then the footers.
    fn contents(&mut self, pages: &[Page]) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(pages.len());
        for p in pages {
            let mut cur = b"q\n0 0 0 rg 0 0 0 RG 0.6 w\n".to_vec();
            for op in &p.ops {
                self.op(&mut cur, op)?;
            }
            out.push(cur);
        }
        for (p, cur) in pages.iter().zip(out.iter_mut()) {
            if let Some(f) = &p.footer {
                self.op(cur, f)?;
            }
            cur.extend_from_slice(b"Q\n");
        }
        Ok(out)
    }

    fn op(&mut self, cur: &mut Vec<u8>, op: &Op) -> anyhow::Result<()> {
        match op {
            Op::Text { x, y, size, s } => self.text(cur, *x, *y, *size, s),
            Op::Rect { x, y, w, h } => {
                let op = format!("{} {} {} {} re S\n", num(*x), num(*y), num(*w), num(*h));
                cur.extend_from_slice(op.as_bytes());
                Ok(())
            }
        }
    }

    fn encode_main(&mut self, s: &str) -> anyhow::Result<Vec<u8>> {
        Ok(match self.enc {
            FontEnc::IdentityH => {
                let mut out = Vec::with_capacity(s.len() * 2);
                for c in s.chars() {
                    let next = self.order.len() as u16 + 1;
                    let cid = *self.cids.entry(c).or_insert_with(|| {
                        self.order.push(c);
                        next
                    });
                    out.extend_from_slice(&cid.to_be_bytes());
                }
                out
            }
            FontEnc::UniGbUcs2H => {
                let mut out = Vec::with_capacity(s.len() * 2);
                for u in s.encode_utf16() {
                    out.extend_from_slice(&u.to_be_bytes());
                }
                out
            }
            FontEnc::GbkEucH | FontEnc::LegacyWinAnsi => gbk(s)?,
        })
    }

    fn push_string(&self, cur: &mut Vec<u8>, bytes: &[u8]) {
        if self.hex {
            cur.push(b'<');
            for b in bytes {
                let _ = write!(HexSink(&mut *cur), "{b:02X}");
            }
            cur.push(b'>');
        } else {
            cur.push(b'(');
            for &b in bytes {
                match b {
                    b'(' | b')' | b'\\' => {
                        cur.push(b'\\');
                        cur.push(b);
                    }
                    b'\r' => cur.extend_from_slice(b"\\r"),
                    b'\n' => cur.extend_from_slice(b"\\n"),
                    _ => cur.push(b),
                }
            }
            cur.push(b')');
        }
    }

    fn runs<'s>(&self, s: &'s str) -> Vec<(bool, &'s str)> {
        if !self.latin {
            return vec![(false, s)];
        }
        let mut out = Vec::new();
        let mut start = 0;
        let mut cur_latin: Option<bool> = None;
        for (i, c) in s.char_indices() {
            let l = c.is_ascii();
            match cur_latin {
                Some(x) if x == l => {}
                Some(x) => {
                    out.push((x, &s[start..i]));
                    start = i;
                    cur_latin = Some(l);
                }
                None => cur_latin = Some(l),
            }
        }
        if let Some(x) = cur_latin {
            out.push((x, &s[start..]));
        }
        out
    }

    fn text(&mut self, cur: &mut Vec<u8>, x: f32, y: f32, size: f32, s: &str) -> anyhow::Result<()> {
        let mut cx = x;
        for (latin, run) in self.runs(s) {
            let bytes = if latin { run.as_bytes().to_vec() } else { self.encode_main(run)? };
            let font = if latin { "F2" } else { "F1" };
            let head = format!("BT /{font} {} Tf {} {} Td ", num(size), num(cx), num(y));
            cur.extend_from_slice(head.as_bytes());
            self.push_string(cur, &bytes);
            cur.extend_from_slice(b" Tj ET\n");
            cx += em(run) * size;
        }
        Ok(())
    }
}

struct HexSink<'a>(&'a mut Vec<u8>);
impl std::fmt::Write for HexSink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

pub fn gbk(s: &str) -> anyhow::Result<Vec<u8>> {
    let (bytes, _, errors) = encoding_rs::GBK.encode(s);
    if errors {
        anyhow::bail!("text not representable in GBK: {s}");
    }
    Ok(bytes.into_owned())
}

// ------------------------------------------------------------------------------------------

struct Form<'a> {
    d: &'a Decl,
    st: &'a FormStyle,
    c: Canvas,
}

impl Form<'_> {
    fn label(&self, key: &str) -> String {
        self.st.labels.get(key).cloned().unwrap_or_else(|| field_label(key).to_string())
    }

    fn values(&self) -> Vec<(&'static str, String)> {
        let d = self.d;
        let st = self.st;
        let credit = match st.legacy {
            Some(l) if l.org_hyphen && d.credit_code.chars().count() == 9 => {
                let (body, check) = d.credit_code.split_at(8);
                format!("{body}-{check}")
            }
            Some(_) => d.credit_code.clone(),
            None if st.credit_fullwidth => fmt::fullwidth(&d.credit_code),
            None => d.credit_code.clone(),
        };
        let fill_date = match st.legacy {
            Some(l) => fmt::legacy_date(d.fill_date, l.dot_dates),
            None => fmt::cn_date(d.fill_date),
        };
        vec![
            ("declaration_id", d.id.clone()),
            ("category", d.category.clone()),
            ("event_name", d.event_name.clone()),
            ("unit_name", d.unit_name.clone()),
            ("credit_code", credit),
            ("unit_type", d.unit_type.clone()),
            ("supervisor", d.supervisor.clone()),
            ("contact_name", d.contact_name.clone()),
            ("contact_phone", fmt::phone(&d.contact_phone, st.phone_style)),
            ("managers", d.managers.to_string()),
            ("experts_judges", d.experts_judges.to_string()),
            ("budget_wan", fmt::budget(d.budget_wan, st.budget_two_decimals)),
            ("funding_source", d.funding_source.clone()),
            ("venue", d.venue.clone()),
            ("fill_date", fill_date),
        ]
    }

    fn value(&self, key: &str) -> String {
        self.values().into_iter().find(|(k, _)| *k == key).map(|(_, v)| v).unwrap_or_default()
    }

    fn heading(&mut self, s: &str) -> anyhow::Result<()> {
        self.c.ensure(40.0);
        self.c.y -= 18.0;
        self.c.text(X0, self.c.y, 12.0, s)?;
        self.c.y -= 8.0;
        Ok(())
    }

    fn title(&mut self, title: &str) -> anyhow::Result<()> {
        self.c.text_center(X0 + WIDTH / 2.0, 785.0, 16.0, title)?;
        if self.st.legacy.is_some() {
            self.c.y = 745.0;
            return Ok(());
        }
        let line = format!("{}{}{}", field_label("declaration_id"), self.st.colon, self.d.id);
        if self.st.layout == Layout::Lines {
            self.c.text(X0 + 10.0, 758.0, 10.5, &line)?;
        } else {
            let x = X0 + WIDTH - em(&line) * 10.0;
            self.c.text(x, 758.0, 10.0, &line)?;
        }
        self.c.y = 745.0;
        Ok(())
    }

    /// A ruled row of cells: (width, text, is_label).
    fn grid_row(&mut self, cells: &[(f32, String, bool)]) -> anyhow::Result<()> {
        let h = 22.0;
        self.c.ensure(h);
        let y0 = self.c.y - h;
        let mut x = X0;
        for (w, text, _label) in cells {
            self.c.rect(x, y0, *w, h);
            self.c.text_fit(x, y0 + 7.0, *w, 9.5, text)?;
            x += w;
        }
        self.c.y = y0;
        Ok(())
    }

    fn grid_pairs(&mut self, keys: &[&str]) -> anyhow::Result<()> {
        let (lw, vw) = (90.0, 167.5);
        if keys.len() == 1 {
            let k = keys[0];
            let cells = vec![(lw, self.label(k), true), (WIDTH - lw, self.value(k), false)];
            return self.grid_row(&cells);
        }
        let cells = vec![
            (lw, self.label(keys[0]), true),
            (vw, self.value(keys[0]), false),
            (lw, self.label(keys[1]), true),
            (vw, self.value(keys[1]), false),
        ];
        self.grid_row(&cells)
    }

    fn line(&mut self, key: &str) -> anyhow::Result<()> {
        let size = 10.5;
        self.c.ensure(20.0);
        self.c.y -= 20.0;
        let label = format!("{}{}", self.label(key), self.st.colon);
        let value = self.value(key);
        if self.st.split_label_value {
            self.c.text(X0 + 10.0, self.c.y, size, &label)?;
            let x = X0 + 10.0 + em(&label) * size;
            self.c.text(x, self.c.y, size, &value)?;
        } else {
            self.c.text(X0 + 10.0, self.c.y, size, &format!("{label}{value}"))?;
        }
        Ok(())
    }

    fn spaced_row(&mut self, key: &str) -> anyhow::Result<()> {
        let h = 22.0;
        let lw = 110.0;
        self.c.ensure(h);
        let y0 = self.c.y - h;
        self.c.rect(X0, y0, lw, h);
        self.c.rect(X0 + lw, y0, WIDTH - lw, h);
        let label = self.label(key);
        if label.chars().count() <= 4 {
            self.c.spaced(X0 + 10.0, y0 + 7.0, lw - 20.0, 10.0, &label)?;
        } else {
            self.c.text_fit(X0, y0 + 7.0, lw, 10.0, &label)?;
        }
        let v = self.value(key);
        self.c.text_fit(X0 + lw, y0 + 7.0, WIDTH - lw, 10.0, &v)?;
        self.c.y = y0;
        Ok(())
    }

    fn basic(&mut self) -> anyhow::Result<()> {
        self.heading("一、基本信息")?;
        if self.st.legacy.is_some() {
            return self.legacy_basic();
        }
        match self.st.layout {
            Layout::Grid => {
                self.grid_pairs(&["declaration_id", "category"])?;
                self.grid_pairs(&["event_name"])?;
                self.grid_pairs(&["unit_name"])?;
                self.grid_pairs(&["credit_code", "unit_type"])?;
                self.grid_pairs(&["supervisor"])?;
                self.grid_pairs(&["contact_name", "contact_phone"])?;
            }
            Layout::Lines => {
                for k in [
                    "category",
                    "event_name",
                    "unit_name",
                    "credit_code",
                    "unit_type",
                    "supervisor",
                    "contact_name",
                    "contact_phone",
                ] {
                    self.line(k)?;
                }
                self.c.y -= 6.0;
            }
            Layout::Spaced => {
                for k in [
                    "category",
                    "event_name",
                    "unit_name",
                    "credit_code",
                    "unit_type",
                    "supervisor",
                    "contact_name",
                    "contact_phone",
                ] {
                    self.spaced_row(k)?;
                }
            }
        }
        Ok(())
    }

    /// 一、基本信息 of a paper-era form: unit first, no declaration id.
    fn legacy_basic(&mut self) -> anyhow::Result<()> {
        const KEYS: [&str; 8] = [
            "unit_name",
            "credit_code",
            "unit_type",
            "event_name",
            "category",
            "supervisor",
            "contact_name",
            "contact_phone",
        ];
        match self.st.layout {
            Layout::Grid => {
                self.grid_pairs(&["unit_name"])?;
                self.grid_pairs(&["credit_code", "unit_type"])?;
                self.grid_pairs(&["event_name"])?;
                self.grid_pairs(&["category", "contact_name"])?;
                self.grid_pairs(&["supervisor"])?;
                self.grid_pairs(&["contact_phone"])?;
            }
            Layout::Lines => {
                for k in KEYS {
                    self.line(k)?;
                }
                self.c.y -= 6.0;
            }
            Layout::Spaced => {
                for k in KEYS {
                    self.spaced_row(k)?;
                }
            }
        }
        Ok(())
    }

    fn legacy_items(&mut self, l: LegacyForm) -> anyhow::Result<()> {
        let widths: Vec<f32> = LEGACY_ITEM_COLS.iter().map(|(w, _)| *w).collect();
        let header: Vec<String> = LEGACY_ITEM_COLS.iter().map(|(_, h)| h.to_string()).collect();
        self.table_row_in(&widths, &header, 20.0, 7.5)?;
        for (i, it) in self.d.items.iter().enumerate() {
            let code = if self.st.occ_fullwidth {
                fmt::fullwidth_hyphens(&it.occupation_code)
            } else {
                it.occupation_code.clone()
            };
            let row = vec![
                (i + 1).to_string(),
                it.occupation.clone(),
                code,
                it.undertaker.clone(),
                it.host_location.clone(),
                fmt::legacy_range(it.start_date, it.end_date, l.dot_dates),
                it.participants.to_string(),
            ];
            self.table_row_in(&widths, &row, 18.0, 7.0)?;
        }
        Ok(())
    }

    fn items(&mut self) -> anyhow::Result<()> {
        self.heading("二、竞赛项目")?;
        if let Some(l) = self.st.legacy {
            return self.legacy_items(l);
        }
        let header: Vec<String> = std::iter::once("序号".to_string())
            .chain(crate::model::ITEM_FIELDS.iter().map(|(_, _, l)| l.to_string()))
            .collect();
        self.table_row(&header, 20.0, 7.5)?;
        let ds = self.st.date_style;
        for (i, it) in self.d.items.iter().enumerate() {
            let code = if self.st.occ_fullwidth {
                fmt::fullwidth_hyphens(&it.occupation_code)
            } else {
                it.occupation_code.clone()
            };
            let row = vec![
                (i + 1).to_string(),
                it.occupation.clone(),
                code,
                it.undertaker.clone(),
                it.host_location.clone(),
                fmt::date(it.start_date, ds),
                fmt::date(it.end_date, ds),
                it.participants.to_string(),
            ];
            self.table_row(&row, 18.0, 7.0)?;
        }
        Ok(())
    }

    fn table_row(&mut self, cells: &[String], h: f32, size: f32) -> anyhow::Result<()> {
        self.table_row_in(&ITEM_COLS, cells, h, size)
    }

    fn table_row_in(&mut self, cols: &[f32], cells: &[String], h: f32, size: f32) -> anyhow::Result<()> {
        self.c.ensure(h);
        let y0 = self.c.y - h;
        let mut x = X0;
        for (w, t) in cols.iter().zip(cells) {
            if self.st.ruled_items {
                self.c.rect(x, y0, *w, h);
            }
            self.c.text_fit(x, y0 + (h - size) / 2.0 + 1.0, *w, size, t)?;
            x += w;
        }
        self.c.y = y0;
        Ok(())
    }

    fn conditions(&mut self) -> anyhow::Result<()> {
        if self.st.page_break {
            self.c.new_page();
        }
        self.heading("三、办赛条件")?;
        match self.st.layout {
            Layout::Grid => {
                self.grid_pairs(&["managers", "experts_judges"])?;
                self.grid_pairs(&["budget_wan", "funding_source"])?;
                self.grid_pairs(&["venue"])?;
            }
            Layout::Lines => {
                for k in ["managers", "experts_judges", "budget_wan", "funding_source", "venue"] {
                    self.line(k)?;
                }
                self.c.y -= 6.0;
            }
            Layout::Spaced => {
                for k in ["managers", "experts_judges", "budget_wan", "funding_source", "venue"] {
                    self.spaced_row(k)?;
                }
            }
        }
        Ok(())
    }

    fn signature(&mut self) -> anyhow::Result<()> {
        self.c.ensure(130.0);
        self.heading("四、申报单位（盖章）")?;
        let top = self.c.y + 20.0;
        self.c.y -= 14.0;
        self.c.text(X0 + 10.0, self.c.y, 10.0, "本单位承诺以上信息真实有效。")?;
        self.c.y -= 70.0;
        let label = self.label("fill_date");
        let value = self.value("fill_date");
        match self.st.layout {
            Layout::Grid => {
                let h = 22.0;
                let y0 = self.c.y - h;
                let x = X0 + WIDTH - 257.5;
                self.c.rect(x, y0, 90.0, h);
                self.c.rect(x + 90.0, y0, 167.5, h);
                self.c.text_fit(x, y0 + 7.0, 90.0, 9.5, &label)?;
                self.c.text_fit(x + 90.0, y0 + 7.0, 167.5, 9.5, &value)?;
                let vs = fit_size(167.5, 9.5, &value);
                self.c.mark("fill_date", x + 93.0, y0 + 7.0, em(&value) * vs, vs);
                self.c.y = y0;
            }
            _ => {
                let s = format!("{label}{}{value}", self.st.colon);
                self.c.text(X0 + 320.0, self.c.y, 10.5, &s)?;
                let x = X0 + 320.0 + em(&format!("{label}{}", self.st.colon)) * 10.5;
                self.c.mark("fill_date", x, self.c.y, em(&value) * 10.5, 10.5);
            }
        }
        // the block a seal is stamped on: from the heading down to the fill date
        self.c.mark("signature", X0, self.c.y, WIDTH, top - self.c.y);
        Ok(())
    }
}

/// Lays out the declaration form: one display list per page.
pub fn layout(d: &Decl, st: &FormStyle, title: &str) -> Vec<Page> {
    let mut f = Form { d, st, c: Canvas::new() };
    // the canvas never fails: encoding errors surface when the PDF is written
    let _ = f.title(title);
    let _ = f.basic();
    let _ = f.items();
    let _ = f.conditions();
    let _ = f.signature();
    let mut pages = f.c.finish();
    let n_pages = pages.len();
    if n_pages > 1 {
        for (i, page) in pages.iter_mut().enumerate() {
            let s = format!("第 {} 页 共 {} 页", i + 1, n_pages);
            let (size, cx) = (8.0, X0 + WIDTH / 2.0);
            page.footer = Some(Op::Text { x: cx - em(&s) * size / 2.0, y: 30.0, size, s });
        }
    }
    pages
}

/// Renders the declaration form; returns the PDF bytes and the page count.
pub fn render(d: &Decl, st: &FormStyle, title: &str) -> anyhow::Result<(Vec<u8>, usize)> {
    let pages = layout(d, st, title);
    let mut w = PdfWriter::new(st);
    let contents = w.contents(&pages)?;
    let bytes = assemble(st, d, contents, &w.order)?;
    Ok((bytes, pages.len()))
}

fn utf16_text(s: &str) -> Object {
    let mut b = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        b.extend_from_slice(&u.to_be_bytes());
    }
    Object::String(b, StringFormat::Hexadecimal)
}

fn descriptor(doc: &mut Document, name: &str, flags: i64) -> lopdf::ObjectId {
    doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => name,
        "Flags" => flags,
        "FontBBox" => vec![Object::Integer(-8), Object::Integer(-145), Object::Integer(1000), Object::Integer(859)],
        "ItalicAngle" => 0,
        "Ascent" => 859,
        "Descent" => -141,
        "CapHeight" => 683,
        "StemV" => 80,
    })
}

fn to_unicode_cmap(order: &[char]) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in order.iter().enumerate().collect::<Vec<_>>().chunks(100) {
        let _ = writeln!(s, "{} beginbfchar", chunk.len());
        for (i, c) in chunk {
            let mut units = [0u16; 2];
            let u = c.encode_utf16(&mut units);
            let hex: String = u.iter().map(|x| format!("{x:04X}")).collect();
            let _ = writeln!(s, "<{:04X}> <{hex}>", i + 1);
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

fn assemble(st: &FormStyle, d: &Decl, pages: Vec<Vec<u8>>, order: &[char]) -> anyhow::Result<Vec<u8>> {
    let mut doc = Document::with_version(st.version);
    let pages_id = doc.new_object_id();
    let int = Object::Integer;
    let f1 = match st.enc {
        FontEnc::IdentityH => {
            let fd = descriptor(&mut doc, st.base_font, 6);
            let mut w = Vec::new();
            for (i, c) in order.iter().enumerate() {
                if c.is_ascii() {
                    w.push(int(i as i64 + 1));
                    w.push(Object::Array(vec![int(500)]));
                }
            }
            let desc = doc.add_object(dictionary! {
                "Type" => "Font",
                "Subtype" => "CIDFontType2",
                "BaseFont" => st.base_font,
                "CIDSystemInfo" => dictionary! {
                    "Registry" => Object::string_literal("Adobe"),
                    "Ordering" => Object::string_literal("Identity"),
                    "Supplement" => 0,
                },
                "FontDescriptor" => fd,
                "DW" => 1000,
                "W" => w,
                "CIDToGIDMap" => "Identity",
            });
            let mut tu = Stream::new(dictionary! {}, to_unicode_cmap(order));
            if st.compress {
                tu.compress()?;
            }
            let tu = doc.add_object(tu);
            doc.add_object(dictionary! {
                "Type" => "Font",
                "Subtype" => "Type0",
                "BaseFont" => st.base_font,
                "Encoding" => "Identity-H",
                "DescendantFonts" => vec![Object::Reference(desc)],
                "ToUnicode" => tu,
            })
        }
        FontEnc::UniGbUcs2H | FontEnc::GbkEucH => {
            let (cmap, w) = if st.enc == FontEnc::UniGbUcs2H {
                ("UniGB-UCS2-H", vec![int(1), int(95), int(500)])
            } else {
                ("GBK-EUC-H", vec![int(1), int(95), int(500), int(814), int(907), int(500), int(7716), int(7716), int(500)])
            };
            let fd = descriptor(&mut doc, "STSong-Light", 6);
            let desc = doc.add_object(dictionary! {
                "Type" => "Font",
                "Subtype" => "CIDFontType0",
                "BaseFont" => "STSong-Light",
                "CIDSystemInfo" => dictionary! {
                    "Registry" => Object::string_literal("Adobe"),
                    "Ordering" => Object::string_literal("GB1"),
                    "Supplement" => 2,
                },
                "FontDescriptor" => fd,
                "DW" => 1000,
                "W" => w,
            });
            doc.add_object(dictionary! {
                "Type" => "Font",
                "Subtype" => "Type0",
                "BaseFont" => format!("STSong-Light-{cmap}"),
                "Encoding" => cmap,
                "DescendantFonts" => vec![Object::Reference(desc)],
            })
        }
        FontEnc::LegacyWinAnsi => {
            let fd = descriptor(&mut doc, "SimSun", 32);
            let subtype = if d.id.ends_with(['1', '3', '5']) { "Type1" } else { "TrueType" };
            doc.add_object(dictionary! {
                "Type" => "Font",
                "Subtype" => subtype,
                "BaseFont" => "SimSun",
                "FirstChar" => 32,
                "LastChar" => 255,
                "Widths" => vec![int(500); 224],
                "Encoding" => "WinAnsiEncoding",
                "FontDescriptor" => fd,
            })
        }
    };
    let mut fonts = dictionary! { "F1" => f1 };
    if st.latin_font {
        let f2 = doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => "Helvetica",
            "FirstChar" => 32,
            "LastChar" => 126,
            "Widths" => vec![int(500); 95],
            "Encoding" => "WinAnsiEncoding",
        });
        fonts.set("F2", f2);
    }
    let resources = doc.add_object(dictionary! {
        "Font" => fonts,
        "ProcSet" => vec![Object::Name(b"PDF".to_vec()), Object::Name(b"Text".to_vec())],
    });
    let mut kids = Vec::new();
    for content in pages {
        let mut s = Stream::new(dictionary! {}, content);
        if st.compress {
            s.compress()?;
        }
        let cid = doc.add_object(s);
        let page = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => cid,
            "Resources" => resources,
        });
        kids.push(Object::Reference(page));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "MediaBox" => vec![int(0), int(0), Object::Real(595.28), Object::Real(841.89)],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let created = format!("D:{}{}+08'00'", d.fill_date.format("%Y%m%d"), "093000");
    let info = doc.add_object(dictionary! {
        "Title" => utf16_text("2024年“巴渝工匠”杯职业技能竞赛申报表"),
        "Producer" => Object::string_literal(st.producer),
        "CreationDate" => Object::string_literal(created),
    });
    doc.trailer.set("Root", catalog);
    doc.trailer.set("Info", info);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}
