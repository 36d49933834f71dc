//! Scanned variants of the declaration form (issue 3): the page display lists of
//! [`pdfgen::layout`](super::pdfgen::layout) rasterised at 300 dpi with a real CJK font, stamped
//! with a red ink seal over 四、申报单位（盖章）, and degraded like a scan or a phone photo
//! (grey/yellowish paper, uneven light, skew, blur, noise, JPEG artefacts). Saved as an
//! image-only PDF (one DCTDecode image per page), a bare JPG or PNG (one-page forms), or a
//! (multi-page) TIFF.
//!
//! Everything is deterministic for the seed handed to [`render_scan`] and the font found on the
//! machine ([`cjk_font`]).
//!
//! Geometry: page pixels are `pt * 300 / 72` from the top-left corner (A4 = 2480 × 3508). The
//! skew is `skew_deg` degrees, positive = counter-clockwise as seen (text lines rise to the
//! right). A phone photo maps the page onto a quadrilateral inside the image (scale 0.84–0.93,
//! up to 5° rotation, keystone); its corners are in `page_corners_px`.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use ab_glyph::{point, Font, FontVec, PxScale};
use anyhow::Context;
use image::RgbImage;
use lopdf::{dictionary, Document, Object, Stream};
use rand::prelude::*;
use rand::rngs::StdRng;
use rayon::prelude::*;
use serde::Serialize;

use super::data::weighted;
use super::pdfgen::{Op, Page, LINE_WIDTH, PAGE_H};

pub const DPI: u32 = 300;
/// A4 at 300 dpi.
pub const WIDTH_PX: u32 = 2480;
pub const HEIGHT_PX: u32 = 3508;
const W: usize = WIDTH_PX as usize;
const H: usize = HEIGHT_PX as usize;
/// Pixels per PDF point and per millimetre at 300 dpi.
pub const PX_PER_PT: f32 = DPI as f32 / 72.0;
pub const PX_PER_MM: f32 = DPI as f32 / 25.4;

// ------------------------------------------------------------------------------------------
// font

/// The CJK font the rasteriser draws with, found on the system at run time.
pub struct CjkFont {
    pub path: String,
    pub index: u32,
    pub family: String,
    font: FontVec,
    /// PxScale per em pixel (ab_glyph scales by ascent − descent)
    scale_per_em: f32,
    units_per_em: f32,
}

impl CjkFont {
    pub(crate) fn font(&self) -> &FontVec {
        &self.font
    }

    /// `wqy-zenhei.ttc#1 (WenQuanYi Zen Hei Mono)`
    pub fn describe(&self) -> String {
        let file = Path::new(&self.path).file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        format!("{file}#{} ({})", self.index, self.family)
    }
}

/// Font files searched in order, with the face families wanted from each collection (first
/// match wins; else the collection's first face). WenQuanYi Zen Hei Mono has the Zen Hei CJK
/// glyphs with half-width Latin — exactly the widths the PDF forms declare.
const FONT_FILES: &[(&str, &[&str])] = &[
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", &["WenQuanYi Zen Hei Mono", "WenQuanYi Zen Hei"]),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", &["Noto Serif CJK SC"]),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", &["Noto Sans Mono CJK SC", "Noto Sans CJK SC"]),
    ("/usr/share/fonts/noto-cjk/NotoSerifCJK-Regular.ttc", &["Noto Serif CJK SC"]),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", &["Noto Sans Mono CJK SC", "Noto Sans CJK SC"]),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", &["Noto Sans Mono CJK SC", "Noto Sans CJK SC"]),
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", &["WenQuanYi Zen Hei Mono", "WenQuanYi Zen Hei"]),
];

/// The environment variable that names a font file to use instead (`path` or `path#index`).
pub const FONT_ENV: &str = "SHENBAO_SAMPLE_FONT";

/// The CJK font, loaded once per process.
pub fn cjk_font() -> anyhow::Result<&'static CjkFont> {
    static FONT: OnceLock<Result<CjkFont, String>> = OnceLock::new();
    FONT.get_or_init(load_font).as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

fn load_font() -> Result<CjkFont, String> {
    let mut tried = Vec::new();
    if let Ok(spec) = std::env::var(FONT_ENV) {
        let (path, index) = match spec.rsplit_once('#') {
            Some((p, i)) if i.parse::<u32>().is_ok() => (p.to_string(), i.parse::<u32>().ok()),
            _ => (spec.clone(), None),
        };
        match open_font(&path, &[], index) {
            Ok(f) => return Ok(f),
            Err(e) => return Err(format!("{FONT_ENV}={spec}: {e}")),
        }
    }
    for (path, families) in FONT_FILES {
        if !Path::new(path).exists() {
            tried.push(path.to_string());
            continue;
        }
        match open_font(path, families, None) {
            Ok(f) => return Ok(f),
            Err(e) => tried.push(format!("{path} ({e})")),
        }
    }
    Err(format!(
        "no CJK font for the scanned samples: tried {}. Install fonts-wqy-zenhei or fonts-noto-cjk \
         (scripts/setup.sh does), or set {FONT_ENV}=/path/to/font.ttc[#face-index]",
        tried.join(", ")
    ))
}

pub(crate) fn open_font(path: &str, families: &[&str], index: Option<u32>) -> Result<CjkFont, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let faces = face_families(&bytes);
    let index = index.unwrap_or_else(|| {
        families
            .iter()
            .find_map(|want| faces.iter().position(|f| f == want))
            .unwrap_or(0) as u32
    });
    let family = faces.get(index as usize).cloned().unwrap_or_default();
    let font = FontVec::try_from_vec_and_index(bytes, index).map_err(|e| format!("face {index}: {e}"))?;
    let upem = font.units_per_em().ok_or("no units per em")?;
    if font.glyph_id('申').0 == 0 || font.glyph_id('巴').0 == 0 {
        return Err(format!("face {index} has no CJK glyphs"));
    }
    let height = font.ascent_unscaled() - font.descent_unscaled();
    Ok(CjkFont { path: path.to_string(), index, family, scale_per_em: height / upem, units_per_em: upem, font })
}

/// The family name (name id 1, Windows/Unicode) of each face of a TTF/OTF/TTC, "" if unread.
fn face_families(data: &[u8]) -> Vec<String> {
    let u16_at = |o: usize| data.get(o..o + 2).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize);
    let u32_at = |o: usize| data.get(o..o + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let offsets: Vec<usize> = if data.starts_with(b"ttcf") {
        let n = u32_at(8).unwrap_or(0).min(64);
        (0..n).filter_map(|i| u32_at(12 + 4 * i)).collect()
    } else {
        vec![0]
    };
    let family = |face: usize| -> Option<String> {
        let tables = u16_at(face + 4)?;
        let name = (0..tables).find_map(|i| {
            let rec = face + 12 + 16 * i;
            (data.get(rec..rec + 4)? == b"name").then(|| u32_at(rec + 8)).flatten()
        })?;
        let count = u16_at(name + 2)?;
        let strings = name + u16_at(name + 4)?;
        let mut best: Option<(u8, String)> = None;
        for i in 0..count {
            let r = name + 6 + 12 * i;
            let (platform, lang, id, len, off) = (u16_at(r)?, u16_at(r + 4)?, u16_at(r + 6)?, u16_at(r + 8)?, u16_at(r + 10)?);
            if id != 1 || !(platform == 3 || platform == 0) {
                continue;
            }
            let raw = data.get(strings + off..strings + off + len)?;
            let units: Vec<u16> = raw.chunks(2).filter(|c| c.len() == 2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            let s = String::from_utf16_lossy(&units);
            let rank = if lang == 0x409 { 0 } else { 1 };
            if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                best = Some((rank, s));
            }
        }
        best.map(|(_, s)| s)
    };
    offsets.into_iter().map(|o| family(o).unwrap_or_default()).collect()
}

// ------------------------------------------------------------------------------------------
// rasteriser

struct GlyphBitmap {
    left: i32,
    top: i32,
    w: usize,
    h: usize,
    cov: Vec<u8>,
}

/// Glyph coverage bitmaps by (character, size in quarter pixels, horizontal squeeze).
struct Glyphs<'f> {
    font: &'f CjkFont,
    cache: HashMap<(char, u32, u32), Option<GlyphBitmap>>,
}

impl<'f> Glyphs<'f> {
    fn new(font: &'f CjkFont) -> Self {
        Glyphs { font, cache: HashMap::new() }
    }

    /// The coverage of `c` drawn `em_px` pixels per em, relative to the pen on the baseline. It
    /// is squeezed horizontally to `advance_em` (the width the PDF declares: 1 em CJK, ½ em
    /// ASCII) when the font's own advance is wider, and centred in it when narrower. `squeeze`
    /// narrows it further (seal text).
    fn get(&mut self, c: char, em_px: f32, advance_em: f32, squeeze: f32) -> Option<&GlyphBitmap> {
        let key = (c, (em_px * 4.0).round() as u32, (squeeze * 100.0).round() as u32);
        let font = self.font;
        self.cache
            .entry(key)
            .or_insert_with(|| {
                let f = &font.font;
                let gid = f.glyph_id(c);
                if gid.0 == 0 {
                    return None;
                }
                let own = f.h_advance_unscaled(gid) / font.units_per_em * em_px;
                let target = advance_em * em_px;
                let xs = if own > target * 1.02 && own > 0.0 { target / own } else { 1.0 } * squeeze;
                let dx = ((target * squeeze - own * xs) / 2.0).max(0.0);
                let sy = em_px * font.scale_per_em;
                let glyph = gid.with_scale_and_position(PxScale { x: sy * xs, y: sy }, point(dx, 0.0));
                let og = f.outline_glyph(glyph)?;
                let b = og.px_bounds();
                let (w, h) = (b.width() as usize, b.height() as usize);
                if w == 0 || h == 0 {
                    return None;
                }
                let mut cov = vec![0u8; w * h];
                og.draw(|x, y, v| {
                    let i = y as usize * w + x as usize;
                    if i < cov.len() {
                        cov[i] = (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
                    }
                });
                Some(GlyphBitmap { left: b.min.x as i32, top: b.min.y as i32, w, h, cov })
            })
            .as_ref()
    }
}

/// A grey page: 255 paper, 0 black.
struct Gray {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Gray {
    fn new(w: usize, h: usize) -> Gray {
        Gray { w, h, px: vec![255; w * h] }
    }

    /// Moves pixel `i` towards `ink` by coverage `cov` (0..255).
    #[inline]
    fn ink(&mut self, i: usize, ink: u8, cov: u32) {
        let v = self.px[i] as u32;
        let ink = ink as u32;
        if v > ink {
            self.px[i] = (v - (v - ink) * cov / 255) as u8;
        }
    }

    /// An antialiased filled rectangle in pixel coordinates.
    fn fill(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, ink: u8) {
        let (x0, x1) = (x0.max(0.0), x1.min(self.w as f32));
        let (y0, y1) = (y0.max(0.0), y1.min(self.h as f32));
        if x1 <= x0 || y1 <= y0 {
            return;
        }
        let overlap = |a: f32, b: f32, p: usize| ((p as f32 + 1.0).min(b) - (p as f32).max(a)).clamp(0.0, 1.0);
        for y in y0.floor() as usize..(y1.ceil() as usize).min(self.h) {
            let cy = overlap(y0, y1, y);
            for x in x0.floor() as usize..(x1.ceil() as usize).min(self.w) {
                let c = cy * overlap(x0, x1, x);
                self.ink(y * self.w + x, ink, (c * 255.0 + 0.5) as u32);
            }
        }
    }

    fn glyph(&mut self, g: &GlyphBitmap, pen_x: i32, pen_y: i32, ink: u8) {
        for gy in 0..g.h {
            let y = pen_y + g.top + gy as i32;
            if y < 0 || y >= self.h as i32 {
                continue;
            }
            for gx in 0..g.w {
                let c = g.cov[gy * g.w + gx];
                let x = pen_x + g.left + gx as i32;
                if c == 0 || x < 0 || x >= self.w as i32 {
                    continue;
                }
                self.ink(y as usize * self.w + x as usize, ink, c as u32);
            }
        }
    }
}

/// Draws a page display list at 300 dpi into a grey page; `ink` is the grey of solid print.
fn rasterise_gray(page: &Page, glyphs: &mut Glyphs, ink: u8) -> Gray {
    let mut g = Gray::new(W, H);
    let lw = LINE_WIDTH * PX_PER_PT;
    let ops = page.ops.iter().chain(page.footer.iter());
    for op in ops {
        match op {
            Op::Rect { x, y, w, h } => {
                let (l, r) = (x * PX_PER_PT, (x + w) * PX_PER_PT);
                let (t, b) = ((PAGE_H - y - h) * PX_PER_PT, (PAGE_H - y) * PX_PER_PT);
                let e = lw / 2.0;
                g.fill(l - e, t - e, r + e, t + e, ink);
                g.fill(l - e, b - e, r + e, b + e, ink);
                g.fill(l - e, t + e, l + e, b - e, ink);
                g.fill(r - e, t + e, r + e, b - e, ink);
            }
            Op::Text { x, y, size, s } => {
                let em_px = size * PX_PER_PT;
                let base = ((PAGE_H - y) * PX_PER_PT).round() as i32;
                let mut pen = x * PX_PER_PT;
                for c in s.chars() {
                    let adv = if c.is_ascii() { 0.5 } else { 1.0 };
                    if !c.is_whitespace() {
                        if let Some(bm) = glyphs.get(c, em_px, adv, 1.0) {
                            g.glyph(bm, pen.round() as i32, base, ink);
                        }
                    }
                    pen += adv * em_px;
                }
            }
        }
    }
    g
}

/// Renders a page display list at 300 dpi (2480 × 3508), black on white, with the system's CJK
/// font: the clean page a scan starts from.
pub fn rasterise(page: &Page) -> anyhow::Result<RgbImage> {
    let font = cjk_font()?;
    let g = rasterise_gray(page, &mut Glyphs::new(font), 0);
    let rgb: Vec<u8> = g.px.iter().flat_map(|&v| [v, v, v]).collect();
    Ok(RgbImage::from_raw(WIDTH_PX, HEIGHT_PX, rgb).expect("size"))
}

// ------------------------------------------------------------------------------------------
// small numerics

/// A fast generator for per-pixel noise (xorshift64*).
struct Noise(u64);

impl Noise {
    fn new(seed: u64) -> Noise {
        Noise(seed | 1)
    }
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Smooth random field on a `n × n` grid over [0,1]², values in [-1, 1].
struct ValueNoise {
    n: usize,
    v: Vec<f32>,
}

impl ValueNoise {
    fn new(rng: &mut StdRng, n: usize) -> ValueNoise {
        ValueNoise { n, v: (0..(n + 1) * (n + 1)).map(|_| rng.random_range(-1.0f32..1.0)).collect() }
    }
    fn at(&self, u: f32, v: f32) -> f32 {
        let (x, y) = (u.clamp(0.0, 0.9999) * self.n as f32, v.clamp(0.0, 0.9999) * self.n as f32);
        let (i, j) = (x as usize, y as usize);
        let (fx, fy) = (x - i as f32, y - j as f32);
        let (fx, fy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
        let g = |a: usize, b: usize| self.v[b * (self.n + 1) + a];
        let top = g(i, j) * (1.0 - fx) + g(i + 1, j) * fx;
        let bot = g(i, j + 1) * (1.0 - fx) + g(i + 1, j + 1) * fx;
        top * (1.0 - fy) + bot * fy
    }
}

type Mat3 = [f64; 9];

fn apply(m: &Mat3, x: f64, y: f64) -> (f64, f64) {
    let z = m[6] * x + m[7] * y + m[8];
    ((m[0] * x + m[1] * y + m[2]) / z, (m[3] * x + m[4] * y + m[5]) / z)
}

fn invert(m: &Mat3) -> Mat3 {
    let [a, b, c, d, e, f, g, h, i] = *m;
    let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    let r = [
        e * i - f * h,
        c * h - b * i,
        b * f - c * e,
        f * g - d * i,
        a * i - c * g,
        c * d - a * f,
        d * h - e * g,
        b * g - a * h,
        a * e - b * d,
    ];
    r.map(|v| v / det)
}

/// The homography mapping the four `src` points onto the four `dst` points (the page corners
/// of a generated scan are never degenerate).
fn homography(src: &[(f64, f64); 4], dst: &[(f64, f64); 4]) -> Mat3 {
    crate::ocr::prep::homography(src, dst).expect("a page's corners span a quadrilateral")
}

// ------------------------------------------------------------------------------------------
// seal

/// A round official seal (form-spec §3): ring, five-pointed star, unit name along the upper arc.
struct Seal {
    /// centre on the page raster, px
    cx: f32,
    cy: f32,
    r: f32,
    ring_w: f32,
    star_r: f32,
    /// rotation of the whole stamp, radians counter-clockwise
    rot: f32,
    text: Vec<char>,
    color: [u8; 3],
}

impl Seal {
    fn diameter_px(&self) -> f32 {
        2.0 * self.r
    }
}

fn star_polygon(cx: f32, cy: f32, r: f32, rot: f32) -> Vec<(f32, f32)> {
    (0..10)
        .map(|k| {
            let a = std::f32::consts::FRAC_PI_2 + rot + k as f32 * std::f32::consts::PI / 5.0;
            let rr = if k % 2 == 0 { r } else { r * 0.382 };
            (cx + rr * a.cos(), cy - rr * a.sin())
        })
        .collect()
}

fn inside(poly: &[(f32, f32)], x: f32, y: f32) -> bool {
    let mut c = false;
    let n = poly.len();
    for i in 0..n {
        let (xi, yi) = poly[i];
        let (xj, yj) = poly[(i + n - 1) % n];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            c = !c;
        }
    }
    c
}

/// The seal's shape as coverage (0..1) over its box on a `w` × `h` raster:
/// (x0, y0, box width, box height, coverage). `None` when the box is off the raster.
fn seal_mask(seal: &Seal, glyphs: &mut Glyphs, rng: &mut StdRng, w: usize, h: usize) -> Option<(usize, usize, usize, usize, Vec<f32>)> {
    let half = seal.r + 3.0;
    let bx0 = (seal.cx - half).floor().max(0.0) as usize;
    let by0 = (seal.cy - half).floor().max(0.0) as usize;
    let bx1 = ((seal.cx + half).ceil() as usize).min(w);
    let by1 = ((seal.cy + half).ceil() as usize).min(h);
    if bx1 <= bx0 || by1 <= by0 {
        return None;
    }
    let (bw, bh) = (bx1 - bx0, by1 - by0);
    let mut mask = vec![0f32; bw * bh];
    // ring
    let inner = seal.r - seal.ring_w;
    for y in 0..bh {
        let dy = (by0 + y) as f32 + 0.5 - seal.cy;
        for x in 0..bw {
            let dx = (bx0 + x) as f32 + 0.5 - seal.cx;
            let d = (dx * dx + dy * dy).sqrt();
            mask[y * bw + x] = (seal.r - d + 0.5).clamp(0.0, 1.0) * (d - inner + 0.5).clamp(0.0, 1.0);
        }
    }
    // star, 4 samples per pixel
    let poly = star_polygon(seal.cx, seal.cy, seal.star_r, seal.rot);
    let sr = seal.star_r.ceil() as i32 + 1;
    for py in (seal.cy as i32 - sr)..=(seal.cy as i32 + sr) {
        for px in (seal.cx as i32 - sr)..=(seal.cx as i32 + sr) {
            if px < bx0 as i32 || py < by0 as i32 || px >= bx1 as i32 || py >= by1 as i32 {
                continue;
            }
            let mut n = 0;
            for (ox, oy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                if inside(&poly, px as f32 + ox, py as f32 + oy) {
                    n += 1;
                }
            }
            let m = &mut mask[(py as usize - by0) * bw + (px as usize - bx0)];
            *m = m.max(n as f32 / 4.0);
        }
    }
    // the unit name along the upper arc, each glyph upright towards the rim
    let n = seal.text.len();
    if n > 0 {
        let mut em = rng.random_range(5.5f32..6.8) * PX_PER_MM;
        let mut squeeze = rng.random_range(0.72f32..0.9);
        let gap = rng.random_range(0.6f32..1.1) * PX_PER_MM;
        let r_text = seal.r - seal.ring_w - gap - 0.45 * em;
        let natural = n as f32 * em * squeeze * 1.1 / r_text;
        let (lo, hi) = (200f32.to_radians(), 250f32.to_radians());
        let span = natural.clamp(lo, hi);
        if natural > span {
            squeeze *= span / natural;
            if squeeze < 0.5 {
                em *= squeeze / 0.5;
                squeeze = 0.5;
            }
        }
        let r_text = seal.r - seal.ring_w - gap - 0.45 * em;
        for (i, &c) in seal.text.iter().enumerate() {
            let theta = std::f32::consts::FRAC_PI_2 + seal.rot + span / 2.0 - (i as f32 + 0.5) * span / n as f32;
            let Some(g) = glyphs.get(c, em, 1.0, squeeze) else { continue };
            let gcx = seal.cx + r_text * theta.cos();
            let gcy = seal.cy - r_text * theta.sin();
            // glyph right = (sin θ, cos θ), glyph down = (−cos θ, sin θ) in image coordinates
            let (rx, ry) = (theta.sin(), theta.cos());
            let (dx_, dy_) = (-theta.cos(), theta.sin());
            let (hw, hh) = (g.w as f32 / 2.0, g.h as f32 / 2.0);
            let reach = (hw * hw + hh * hh).sqrt().ceil() as i32 + 1;
            for py in (gcy as i32 - reach)..=(gcy as i32 + reach) {
                for px in (gcx as i32 - reach)..=(gcx as i32 + reach) {
                    if px < bx0 as i32 || py < by0 as i32 || px >= bx1 as i32 || py >= by1 as i32 {
                        continue;
                    }
                    let (qx, qy) = (px as f32 + 0.5 - gcx, py as f32 + 0.5 - gcy);
                    let u = qx * rx + qy * ry + hw - 0.5;
                    let v = qx * dx_ + qy * dy_ + hh - 0.5;
                    if u < -1.0 || v < -1.0 || u > g.w as f32 || v > g.h as f32 {
                        continue;
                    }
                    let (iu, iv) = (u.floor() as i32, v.floor() as i32);
                    let (fu, fv) = (u - iu as f32, v - iv as f32);
                    let at = |x: i32, y: i32| -> f32 {
                        if x < 0 || y < 0 || x >= g.w as i32 || y >= g.h as i32 {
                            0.0
                        } else {
                            g.cov[y as usize * g.w + x as usize] as f32 / 255.0
                        }
                    };
                    let c = (at(iu, iv) * (1.0 - fu) + at(iu + 1, iv) * fu) * (1.0 - fv)
                        + (at(iu, iv + 1) * (1.0 - fu) + at(iu + 1, iv + 1) * fu) * fv;
                    let m = &mut mask[(py as usize - by0) * bw + (px as usize - bx0)];
                    *m = m.max(c);
                }
            }
        }
    }
    Some((bx0, by0, bw, bh, mask))
}

/// Stamps the seal onto an RGB page, multiplying the ink over what is printed.
fn stamp(rgb: &mut [u8], seal: &Seal, glyphs: &mut Glyphs, rng: &mut StdRng) {
    let Some((bx0, by0, bw, bh, mask)) = seal_mask(seal, glyphs, rng, W, H) else { return };
    // pressure: a tilt across the stamp, mottling, grain, and a few gaps where ink is missing
    let base = rng.random_range(0.72f32..0.86);
    let tilt = rng.random_range(0.06f32..0.16);
    let phi = rng.random_range(0.0f32..std::f32::consts::TAU);
    let mottle = ValueNoise::new(rng, 7);
    let n_gaps = rng.random_range(2..=4);
    let gaps: Vec<(f32, f32, f32, f32)> = (0..n_gaps)
        .map(|_| {
            let a = rng.random_range(0.0f32..std::f32::consts::TAU);
            let rr = if rng.random_bool(0.7) { seal.r - seal.ring_w / 2.0 } else { rng.random_range(0.3..0.9) * seal.r };
            let br = rng.random_range(12.0f32..38.0);
            (seal.cx + rr * a.cos(), seal.cy - rr * a.sin(), br, rng.random_range(0.55f32..0.92))
        })
        .collect();
    let mut grain = Noise::new(rng.random());
    let col = seal.color.map(|c| c as f32 / 255.0);
    for y in 0..bh {
        let py = (by0 + y) as f32 + 0.5;
        for x in 0..bw {
            let m = mask[y * bw + x];
            if m <= 0.004 {
                continue;
            }
            let px = (bx0 + x) as f32 + 0.5;
            let (dx, dy) = ((px - seal.cx) / seal.r, (seal.cy - py) / seal.r);
            let mut a = base + tilt * (dx * phi.cos() + dy * phi.sin()) + 0.08 * mottle.at(dx * 0.5 + 0.5, dy * 0.5 + 0.5);
            a += ((grain.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1;
            let mut a = a.clamp(0.55, 0.95);
            for &(gx, gy, br, depth) in &gaps {
                let d = ((px - gx).powi(2) + (py - gy).powi(2)).sqrt();
                if d < br {
                    let t = (d / br).clamp(0.0, 1.0);
                    a *= 1.0 - depth * (1.0 - t * t * (3.0 - 2.0 * t));
                }
            }
            let a = a * m;
            let i = ((by0 + y) * W + bx0 + x) * 3;
            for k in 0..3 {
                let f = 1.0 - a * (1.0 - col[k]);
                rgb[i + k] = (rgb[i + k] as f32 * f + 0.5) as u8;
            }
        }
    }
}

/// An electronic seal image (the platform's 电子印章): `text` on the arc of a ring `diameter_mm`
/// across, a star, flat ink with slight transparency, at `dpi`. Returns (size px, RGB, alpha):
/// the colour is pure ink, the alpha carries the shape.
pub fn electronic_seal(text: &str, diameter_mm: f32, dpi: f32, seed: u64) -> anyhow::Result<(u32, Vec<u8>, Vec<u8>)> {
    let font = cjk_font()?;
    let mut glyphs = Glyphs::new(font);
    let mut rng = StdRng::seed_from_u64(seed);
    // the mask is drawn at 300 dpi scale (the glyph sizes are in PX_PER_MM) and resampled
    let r = diameter_mm / 2.0 * PX_PER_MM;
    let size = (2.0 * r + 8.0).ceil() as usize;
    let seal = Seal {
        cx: size as f32 / 2.0,
        cy: size as f32 / 2.0,
        r,
        ring_w: rng.random_range(1.0f32..1.3) * PX_PER_MM,
        star_r: r * rng.random_range(0.28f32..0.33),
        rot: 0.0,
        text: text.chars().filter(|c| !c.is_whitespace()).collect(),
        color: [rng.random_range(200u8..=235), rng.random_range(10u8..=40), rng.random_range(20u8..=45)],
    };
    let (bx0, by0, bw, bh, mask) = seal_mask(&seal, &mut glyphs, &mut rng, size, size).ok_or_else(|| anyhow::anyhow!("empty seal"))?;
    let mut full = vec![0f32; size * size];
    for y in 0..bh {
        full[(by0 + y) * size + bx0..(by0 + y) * size + bx0 + bw].copy_from_slice(&mask[y * bw..(y + 1) * bw]);
    }
    let out = ((size as f32 * dpi / DPI as f32).round() as usize).max(16);
    let opacity = rng.random_range(0.82f32..0.95);
    let k = size as f32 / out as f32;
    let mut alpha = vec![0u8; out * out];
    for y in 0..out {
        for x in 0..out {
            // box filter over the source pixels this output pixel covers
            let (sx0, sy0) = ((x as f32 * k) as usize, (y as f32 * k) as usize);
            let (sx1, sy1) = ((((x + 1) as f32 * k).ceil() as usize).min(size), (((y + 1) as f32 * k).ceil() as usize).min(size));
            let mut s = 0.0;
            let mut n = 0;
            for yy in sy0..sy1.max(sy0 + 1).min(size) {
                for xx in sx0..sx1.max(sx0 + 1).min(size) {
                    s += full[yy * size + xx];
                    n += 1;
                }
            }
            alpha[y * out + x] = (s / n.max(1) as f32 * opacity * 255.0).round() as u8;
        }
    }
    let rgb: Vec<u8> = (0..out * out).flat_map(|_| seal.color).collect();
    Ok((out as u32, rgb, alpha))
}

// ------------------------------------------------------------------------------------------
// degradation

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    Pdf,
    Jpg,
    Png,
    Tif,
}

impl ScanFormat {
    pub fn ext(self) -> &'static str {
        match self {
            ScanFormat::Pdf => "pdf",
            ScanFormat::Jpg => "jpg",
            ScanFormat::Png => "png",
            ScanFormat::Tif => "tif",
        }
    }
}

/// How a scanned form was made: everything truth.json says under `scan`.
#[derive(Debug, Clone, Serialize)]
pub struct ScanInfo {
    /// pdf (image-only, DCTDecode) | jpg | png | tif (multi-page for 2-page forms)
    pub format: &'static str,
    pub pages: usize,
    pub dpi: u32,
    pub width: u32,
    pub height: u32,
    /// rgb | gray
    pub color: &'static str,
    /// scanner | phone
    pub source: &'static str,
    /// degrees, positive = counter-clockwise as seen (lines rise to the right)
    pub skew_deg: f64,
    /// per page: the page's corners (top-left, top-right, bottom-right, bottom-left) in the image
    pub page_corners_px: Vec<[[f64; 2]; 4]>,
    /// quality of the JPEG the pixels went through (pdf and jpg always; png/tif sometimes)
    pub jpeg_quality: Option<u8>,
    pub blur_radius: u8,
    pub noise_sigma: f64,
    /// paper colour before lighting
    pub paper: [u8; 3],
    pub font: String,
    pub seal: bool,
    /// 1-based page carrying the seal
    pub seal_page: usize,
    /// seal centre and diameter in the image (after skew)
    pub seal_center_px: [f64; 2],
    pub seal_diameter_px: f64,
    pub seal_color: [u8; 3],
    /// the text along the seal's arc (the unit name), null if the form has none
    pub seal_text: Option<String>,
}

struct Degrade {
    paper: [u8; 3],
    background: [u8; 3],
    ink: u8,
    /// forward map page px → image px
    fwd: Mat3,
    light_gx: f32,
    light_gy: f32,
    vignette: f32,
    blur: u8,
    sigma: f32,
    gray: bool,
}

/// Paper, seal, warp (skew/perspective) with lighting, blur, then noise (and greyscale).
/// Each pass runs over rows in parallel; the noise of a row is seeded by the row, so the result
/// does not depend on the thread count.
fn degrade_page(
    page: &Page,
    dg: &Degrade,
    seal: Option<&Seal>,
    glyphs: &mut Glyphs,
    rng: &mut StdRng,
) -> Vec<u8> {
    let g = rasterise_gray(page, glyphs, dg.ink);
    let mut rgb = vec![0u8; W * H * 3];
    let paper = dg.paper.map(|c| c as u32);
    rgb.par_chunks_mut(W * 3).zip(g.px.par_chunks(W)).for_each(|(row, gray)| {
        for (o, &v) in row.chunks_exact_mut(3).zip(gray) {
            let v = v as u32;
            o[0] = ((paper[0] * v + 127) / 255) as u8;
            o[1] = ((paper[1] * v + 127) / 255) as u8;
            o[2] = ((paper[2] * v + 127) / 255) as u8;
        }
    });
    drop(g);
    if let Some(s) = seal {
        stamp(&mut rgb, s, glyphs, rng);
    }
    let mut out = warp(&rgb, dg);
    drop(rgb);
    if dg.blur > 0 {
        box_blur3(&mut out);
    }
    let mut px = if dg.gray {
        out.par_chunks_exact(3)
            .map(|p| ((p[0] as u32 * 77 + p[1] as u32 * 150 + p[2] as u32 * 29) >> 8) as u8)
            .collect()
    } else {
        out
    };
    // triangular ("Gaussian-ish") noise: the sum of two uniforms of variance σ²/2 each
    let a = dg.sigma * 1.5f32.sqrt();
    let scale = 2.0 * a / 255.0;
    let seed: u64 = rng.random();
    let row_len = px.len() / H;
    px.par_chunks_mut(row_len).enumerate().for_each(|(y, row)| {
        let mut noise = Noise::new(seed ^ (y as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut bits = 0u64;
        for (k, v) in row.iter_mut().enumerate() {
            if k % 4 == 0 {
                bits = noise.next();
            }
            let b = bits >> ((k % 4) * 16);
            let n = ((b & 0xFF) as f32 + ((b >> 8) & 0xFF) as f32) * scale - 2.0 * a;
            *v = (*v as f32 + n).clamp(0.0, 255.0) as u8;
        }
    });
    px
}

/// Inverse-maps every image pixel into the page (bilinear, 8-bit weights), lights it, fills the
/// rest with the scanner lid or the desk.
fn warp(src: &[u8], dg: &Degrade) -> Vec<u8> {
    let inv = invert(&dg.fwd);
    let mut out = vec![0u8; W * H * 3];
    let bg = dg.background.map(|c| c as u32);
    let (wi, hi) = (W as i64, H as i64);
    out.par_chunks_mut(W * 3).enumerate().for_each(|(y, row)| {
        let fy = y as f64 + 0.5;
        let ny = (y as f32 / H as f32) - 0.5;
        let row_light = 1.0 + dg.light_gy * ny - dg.vignette * 2.0 * ny * ny;
        let (mut px, mut py, mut pz) =
            (inv[0] * 0.5 + inv[1] * fy + inv[2], inv[3] * 0.5 + inv[4] * fy + inv[5], inv[6] * 0.5 + inv[7] * fy + inv[8]);
        let sample = |x: i64, y: i64, k: usize| -> u32 {
            if x < 0 || y < 0 || x >= wi || y >= hi {
                bg[k]
            } else {
                src[(y as usize * W + x as usize) * 3 + k] as u32
            }
        };
        for (x, o) in row.chunks_exact_mut(3).enumerate() {
            let iz = 1.0 / pz;
            let (u, v) = (px * iz - 0.5, py * iz - 0.5);
            px += inv[0];
            py += inv[3];
            pz += inv[6];
            let nx = (x as f32 / W as f32) - 0.5;
            let light = row_light + dg.light_gx * nx - dg.vignette * 2.0 * nx * nx;
            let lq = (light.max(0.0) * 256.0) as u32;
            if u < -1.0 || v < -1.0 || u > W as f64 || v > H as f64 {
                for k in 0..3 {
                    o[k] = ((bg[k] * lq) >> 8).min(255) as u8;
                }
                continue;
            }
            let (iu, iv) = (u.floor() as i64, v.floor() as i64);
            let fu = ((u - iu as f64) * 256.0) as u32;
            let fv = ((v - iv as f64) * 256.0) as u32;
            if iu >= 0 && iv >= 0 && iu + 1 < wi && iv + 1 < hi {
                let i = (iv as usize * W + iu as usize) * 3;
                let r0 = &src[i..i + 6];
                let r1 = &src[i + W * 3..i + W * 3 + 6];
                for k in 0..3 {
                    let top = r0[k] as u32 * (256 - fu) + r0[k + 3] as u32 * fu;
                    let bot = r1[k] as u32 * (256 - fu) + r1[k + 3] as u32 * fu;
                    let val = (top * (256 - fv) + bot * fv) >> 16;
                    o[k] = ((val * lq) >> 8).min(255) as u8;
                }
            } else {
                for k in 0..3 {
                    let top = sample(iu, iv, k) * (256 - fu) + sample(iu + 1, iv, k) * fu;
                    let bot = sample(iu, iv + 1, k) * (256 - fu) + sample(iu + 1, iv + 1, k) * fu;
                    let val = (top * (256 - fv) + bot * fv) >> 16;
                    o[k] = ((val * lq) >> 8).min(255) as u8;
                }
            }
        }
    });
    out
}

/// 3 × 3 box blur of an RGB page, in place (separable).
fn box_blur3(px: &mut [u8]) {
    let stride = W * 3;
    let mut tmp = vec![0u8; px.len()];
    tmp.par_chunks_mut(stride).zip(px.par_chunks(stride)).for_each(|(t, r)| {
        for i in 0..stride {
            let l = if i >= 3 { r[i - 3] } else { r[i] };
            let rr = if i + 3 < stride { r[i + 3] } else { r[i] };
            t[i] = ((l as u32 + r[i] as u32 + rr as u32 + 1) / 3) as u8;
        }
    });
    px.par_chunks_mut(stride).enumerate().for_each(|(y, row)| {
        let up = &tmp[y.saturating_sub(1) * stride..][..stride];
        let mid = &tmp[y * stride..][..stride];
        let dn = &tmp[(y + 1).min(H - 1) * stride..][..stride];
        for i in 0..stride {
            row[i] = ((up[i] as u32 + mid[i] as u32 + dn[i] as u32 + 1) / 3) as u8;
        }
    });
}

// ------------------------------------------------------------------------------------------
// encoders

fn jpeg(px: &[u8], gray: bool, quality: u8) -> anyhow::Result<Vec<u8>> {
    use image::codecs::jpeg::{JpegEncoder, PixelDensity};
    let mut buf = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut buf, quality);
    enc.set_pixel_density(PixelDensity::dpi(DPI as u16));
    let ct = if gray { image::ExtendedColorType::L8 } else { image::ExtendedColorType::Rgb8 };
    enc.encode(px, WIDTH_PX, HEIGHT_PX, ct)?;
    Ok(buf)
}

/// Pixels after a JPEG round trip (a photo or scan saved as JPEG once, then converted).
fn jpeg_roundtrip(px: Vec<u8>, gray: bool, quality: u8) -> anyhow::Result<Vec<u8>> {
    let bytes = jpeg(&px, gray, quality)?;
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)?;
    Ok(if gray { img.into_luma8().into_raw() } else { img.into_rgb8().into_raw() })
}

fn png_bytes(px: &[u8], gray: bool) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut buf, WIDTH_PX, HEIGHT_PX);
        enc.set_color(if gray { png::ColorType::Grayscale } else { png::ColorType::Rgb });
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let ppm = (DPI as f64 / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions { xppu: ppm, yppu: ppm, unit: png::Unit::Meter }));
        let mut w = enc.write_header()?;
        w.write_image_data(px)?;
        w.finish()?;
    }
    Ok(buf)
}

/// A (multi-page) TIFF, Deflate-compressed, 300 dpi.
fn tiff_bytes(pages: &[Vec<u8>], gray: bool) -> anyhow::Result<Vec<u8>> {
    use tiff::encoder::{colortype, compression::DeflateLevel, Compression, Rational, TiffEncoder};
    use tiff::tags::ResolutionUnit;
    let mut cur = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut cur)?.with_compression(Compression::Deflate(DeflateLevel::Fast));
        let res = Rational { n: DPI, d: 1 };
        for px in pages {
            if gray {
                let mut im = enc.new_image::<colortype::Gray8>(WIDTH_PX, HEIGHT_PX)?;
                im.resolution(ResolutionUnit::Inch, res.clone());
                im.write_data(px)?;
            } else {
                let mut im = enc.new_image::<colortype::RGB8>(WIDTH_PX, HEIGHT_PX)?;
                im.resolution(ResolutionUnit::Inch, res.clone());
                im.write_data(px)?;
            }
        }
    }
    Ok(cur.into_inner())
}

/// An image-only PDF: one DCTDecode image XObject per page filling the A4 MediaBox.
fn image_pdf(jpegs: &[Vec<u8>], gray: bool, producer: &str, created: &str) -> anyhow::Result<Vec<u8>> {
    let mut doc = Document::with_version("1.4");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for j in jpegs {
        let im = Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Image",
                "Width" => WIDTH_PX as i64,
                "Height" => HEIGHT_PX as i64,
                "ColorSpace" => if gray { "DeviceGray" } else { "DeviceRGB" },
                "BitsPerComponent" => 8,
                "Filter" => "DCTDecode",
            },
            j.clone(),
        )
        .with_compression(false);
        let im = doc.add_object(im);
        let content = doc.add_object(Stream::new(dictionary! {}, b"q 595.28 0 0 841.89 0 0 cm /Im0 Do Q".to_vec()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content,
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => im } },
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
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(595.28), Object::Real(841.89)],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info = doc.add_object(dictionary! {
        "Producer" => Object::string_literal(producer),
        "CreationDate" => Object::string_literal(created),
    });
    doc.trailer.set("Root", catalog);
    doc.trailer.set("Info", info);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

// ------------------------------------------------------------------------------------------
// one scanned form

/// The seal stamped on a scan: the text on its arc, and the seed of the stamp itself (its size,
/// ring, star and ink colour) — the same seed is the same physical seal.
#[derive(Debug, Clone, Copy)]
pub struct StampSpec<'a> {
    pub text: &'a str,
    pub seed: u64,
}

/// Renders `pages` as a scan into `out/<stem>.<ext>` and says how. `seal` is the seal stamped
/// over the signature block (none: an unstamped form); `created` (`D:20240125…`) goes into a
/// PDF's Info. All other choices come from `seed`.
pub fn render_scan(
    pages: &[Page],
    seal_text: Option<StampSpec>,
    seed: u64,
    out: &Path,
    stem: &str,
    created: &str,
) -> anyhow::Result<(String, ScanInfo)> {
    render_scan_as(pages, seal_text, seed, out, stem, created, None)
}

/// [`render_scan`], with the output format forced when `format` is given.
pub fn render_scan_as(
    pages: &[Page],
    seal_text: Option<StampSpec>,
    seed: u64,
    out: &Path,
    stem: &str,
    created: &str,
    format: Option<ScanFormat>,
) -> anyhow::Result<(String, ScanInfo)> {
    let font = cjk_font()?;
    anyhow::ensure!(!pages.is_empty(), "no pages");
    let mut rng = StdRng::seed_from_u64(seed);
    let n = pages.len();
    let phone = rng.random_bool(0.2);
    let chosen = match (phone, n) {
        (true, 1) => *weighted(&mut rng, &[(ScanFormat::Jpg, 70), (ScanFormat::Pdf, 30)]),
        (true, _) => ScanFormat::Pdf,
        (false, 1) => *weighted(
            &mut rng,
            &[(ScanFormat::Pdf, 40), (ScanFormat::Jpg, 25), (ScanFormat::Png, 15), (ScanFormat::Tif, 20)],
        ),
        (false, _) => *weighted(&mut rng, &[(ScanFormat::Pdf, 60), (ScanFormat::Tif, 40)]),
    };
    let format = format.unwrap_or(chosen);
    anyhow::ensure!(
        n == 1 || matches!(format, ScanFormat::Pdf | ScanFormat::Tif),
        "a {n}-page form cannot be one .{} file",
        format.ext()
    );
    let gray = match format {
        ScanFormat::Pdf => rng.random_bool(0.2),
        ScanFormat::Jpg => rng.random_bool(0.15),
        ScanFormat::Png => rng.random_bool(0.5),
        ScanFormat::Tif => rng.random_bool(0.5),
    };
    let quality = match format {
        ScanFormat::Pdf | ScanFormat::Jpg => Some(rng.random_range(55u8..=85)),
        _ => rng.random_bool(0.5).then(|| rng.random_range(55u8..=85)),
    };
    let tone = rng.random_range(205u8..=240);
    let yellow = rng.random_range(0u8..=14);
    let paper = [tone, tone.saturating_sub(yellow / 3), tone.saturating_sub(yellow)];
    let background = if phone {
        let b = rng.random_range(50u8..=130);
        [b, (b as f32 * 0.9) as u8, (b as f32 * 0.78) as u8]
    } else {
        let b = rng.random_range(228u8..=250);
        [b, b, b]
    };
    let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    // a phone photo's corner jitter below adds at most ~0.4°: its skew stays within 5°
    let skew = sign * if phone { rng.random_range(1.0f64..4.5) } else { rng.random_range(0.5f64..3.0) };
    let (cx, cy) = (W as f64 / 2.0, H as f64 / 2.0);
    let (sin, cos) = skew.to_radians().sin_cos();
    let (scale, shift) = if phone {
        (rng.random_range(0.84f64..0.93), (rng.random_range(-0.02f64..0.02) * W as f64, rng.random_range(-0.02f64..0.02) * H as f64))
    } else {
        (1.0, (0.0, 0.0))
    };
    let place = |x: f64, y: f64| -> (f64, f64) {
        let (dx, dy) = ((x - cx) * scale, (y - cy) * scale);
        (cx + shift.0 + dx * cos + dy * sin, cy + shift.1 - dx * sin + dy * cos)
    };
    let src = [(0.0, 0.0), (W as f64, 0.0), (W as f64, H as f64), (0.0, H as f64)];
    let mut dst = src.map(|(x, y)| place(x, y));
    if phone {
        // keystone (the camera tilted towards the top) and a little jitter per corner
        let k = rng.random_range(0.0f64..0.05) * W as f64 * scale / 2.0;
        let (ux, uy) = (cos, -sin);
        dst[0] = (dst[0].0 + k * ux, dst[0].1 + k * uy);
        dst[1] = (dst[1].0 - k * ux, dst[1].1 - k * uy);
        for p in dst.iter_mut() {
            p.0 += rng.random_range(-0.003f64..0.003) * W as f64;
            p.1 += rng.random_range(-0.003f64..0.003) * W as f64;
        }
    }
    let fwd = homography(&src, &dst);
    let angle = |a: (f64, f64), b: (f64, f64)| (-(b.1 - a.1)).atan2(b.0 - a.0).to_degrees();
    let skew_deg = (angle(dst[0], dst[1]) + angle(dst[3], dst[2])) / 2.0;
    let light = if phone { 0.22f32 } else { 0.08 };
    let dg = Degrade {
        paper,
        background,
        ink: rng.random_range(15u8..=55),
        fwd,
        light_gx: rng.random_range(-light..light),
        light_gy: rng.random_range(-light..light),
        vignette: rng.random_range(0.0..if phone { 0.22f32 } else { 0.06 }),
        blur: if rng.random_bool(if phone { 0.7 } else { 0.5 }) { 1 } else { 0 },
        sigma: rng.random_range(2.0f32..6.0),
        gray,
    };

    // the seal: over 四、申报单位（盖章）, its lower part on the fill date
    let seal_page = pages.iter().rposition(|p| p.mark("fill_date").is_some()).unwrap_or(n - 1);
    let r = rng.random_range(38.0f32..45.0) / 2.0 * PX_PER_MM;
    let ring_w = rng.random_range(1.0f32..1.4) * PX_PER_MM;
    let (sx, sy) = match pages[seal_page].mark("fill_date") {
        Some(m) => {
            let x = m.x + m.w * rng.random_range(0.2f32..0.9);
            let y = m.y + rng.random_range(0.15f32..0.55) * r / PX_PER_PT;
            (x * PX_PER_PT, (PAGE_H - y) * PX_PER_PT)
        }
        None => (W as f32 * 0.7, H as f32 * 0.8),
    };
    let sx = sx.clamp(r + 20.0, W as f32 - r - 20.0);
    let sy = sy.clamp(r + 20.0, H as f32 - r - 20.0);
    let mut seal = Seal {
        cx: sx,
        cy: sy,
        r,
        ring_w,
        star_r: r * rng.random_range(0.28f32..0.34),
        rot: rng.random_range(-15f32..15.0).to_radians(),
        text: seal_text.map(|s| s.text.chars().filter(|c| !c.is_whitespace()).collect()).unwrap_or_default(),
        color: [rng.random_range(185u8..=228), rng.random_range(20u8..=60), rng.random_range(30u8..=70)],
    };
    if let Some(spec) = seal_text {
        // the physical seal: its own size, ring, star and ink
        let mut srng = StdRng::seed_from_u64(spec.seed);
        seal.r = srng.random_range(38.0f32..45.0) / 2.0 * PX_PER_MM;
        seal.ring_w = srng.random_range(1.0f32..1.4) * PX_PER_MM;
        seal.star_r = seal.r * srng.random_range(0.28f32..0.34);
        seal.color = [srng.random_range(185u8..=228), srng.random_range(20u8..=60), srng.random_range(30u8..=70)];
    }
    let stamped = seal_text.is_some();
    let seal_center = apply(&fwd, sx as f64, sy as f64);

    let mut glyphs = Glyphs::new(font);
    let page_seeds: Vec<u64> = (0..n).map(|_| rng.random()).collect();
    let mut jpegs = Vec::new();
    let mut tif_pages: Vec<Vec<u8>> = Vec::new();
    let mut single: Option<Vec<u8>> = None;
    for (i, page) in pages.iter().enumerate() {
        let mut prng = StdRng::seed_from_u64(page_seeds[i]);
        let px = degrade_page(page, &dg, (stamped && i == seal_page).then_some(&seal), &mut glyphs, &mut prng);
        match format {
            ScanFormat::Pdf => jpegs.push(jpeg(&px, gray, quality.unwrap_or(75))?),
            ScanFormat::Jpg => single = Some(jpeg(&px, gray, quality.unwrap_or(75))?),
            ScanFormat::Png | ScanFormat::Tif => {
                let px = match quality {
                    Some(q) => jpeg_roundtrip(px, gray, q)?,
                    None => px,
                };
                if format == ScanFormat::Tif {
                    tif_pages.push(px);
                } else {
                    single = Some(png_bytes(&px, gray)?);
                }
            }
        }
    }
    let bytes = match format {
        ScanFormat::Pdf => {
            let producer = *weighted(
                &mut rng,
                &[("Canon MF Scan Utility", 3), ("EPSON Scan", 2), ("HP Scan", 2), ("扫描全能王", 2), ("Adobe Scan", 1)],
            );
            image_pdf(&jpegs, gray, producer, created)?
        }
        ScanFormat::Tif => tiff_bytes(&tif_pages, gray)?,
        _ => single.take().expect("one page"),
    };
    let file = format!("{stem}.{}", format.ext());
    std::fs::write(out.join(&file), bytes).with_context(|| format!("cannot write {file}"))?;
    let corners = dst.map(|(x, y)| [(x * 10.0).round() / 10.0, (y * 10.0).round() / 10.0]);
    let info = ScanInfo {
        format: format.ext(),
        pages: n,
        dpi: DPI,
        width: WIDTH_PX,
        height: HEIGHT_PX,
        color: if gray { "gray" } else { "rgb" },
        source: if phone { "phone" } else { "scanner" },
        skew_deg: (skew_deg * 100.0).round() / 100.0,
        page_corners_px: vec![corners; n],
        jpeg_quality: quality,
        blur_radius: dg.blur,
        noise_sigma: (dg.sigma as f64 * 100.0).round() / 100.0,
        paper,
        font: font.describe(),
        seal: stamped,
        seal_page: seal_page + 1,
        seal_center_px: [(seal_center.0 * 10.0).round() / 10.0, (seal_center.1 * 10.0).round() / 10.0],
        seal_diameter_px: ((seal.diameter_px() as f64 * scale) * 10.0).round() / 10.0,
        seal_color: seal.color,
        seal_text: (!seal.text.is_empty()).then(|| seal.text.iter().collect()),
    };
    Ok((file, info))
}

/// Seconds spent in each stage of one scanned page (for the timing test).
#[cfg(test)]
pub(crate) fn stage_timings(page: &Page, seed: u64) -> Vec<(&'static str, f64)> {
    use std::time::Instant;
    let font = cjk_font().expect("font");
    let mut glyphs = Glyphs::new(font);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut t = Instant::now();
    let mut out = Vec::new();
    let mut lap = |name: &'static str, t: &mut Instant| {
        out.push((name, t.elapsed().as_secs_f64()));
        *t = Instant::now();
    };
    let g = rasterise_gray(page, &mut glyphs, 30);
    lap("rasterise (glyphs first drawn)", &mut t);
    let g2 = rasterise_gray(page, &mut glyphs, 30);
    lap("rasterise (glyphs cached)", &mut t);
    drop(g2);
    let paper = [222u8, 220, 214];
    let mut rgb = Vec::with_capacity(W * H * 3);
    for &v in &g.px {
        for c in paper {
            rgb.push(((c as u32 * v as u32 + 127) / 255) as u8);
        }
    }
    lap("paper", &mut t);
    let r = 21.0 * PX_PER_MM;
    let seal = Seal {
        cx: 1800.0,
        cy: 2600.0,
        r,
        ring_w: 14.0,
        star_r: r * 0.3,
        rot: 0.1,
        text: "重庆市渝北区人力资源和社会保障局".chars().collect(),
        color: [210, 40, 50],
    };
    stamp(&mut rgb, &seal, &mut glyphs, &mut rng);
    lap("seal", &mut t);
    let (s, c) = 1.5f64.to_radians().sin_cos();
    let (cx, cy) = (W as f64 / 2.0, H as f64 / 2.0);
    let fwd = [c, s, cx - c * cx - s * cy, -s, c, cy + s * cx - c * cy, 0.0, 0.0, 1.0];
    let dg = Degrade {
        paper,
        background: [240; 3],
        ink: 30,
        fwd,
        light_gx: 0.05,
        light_gy: -0.04,
        vignette: 0.03,
        blur: 1,
        sigma: 4.0,
        gray: false,
    };
    let mut px = warp(&rgb, &dg);
    lap("skew + light", &mut t);
    box_blur3(&mut px);
    lap("blur", &mut t);
    let _ = jpeg(&px, false, 70).unwrap();
    lap("jpeg q70 (rgb)", &mut t);
    let _ = png_bytes(&px, false).unwrap();
    lap("png (rgb)", &mut t);
    let t0 = Instant::now();
    let _ = degrade_page(page, &dg, Some(&seal), &mut glyphs, &mut rng);
    out.push(("whole page before encoding", t0.elapsed().as_secs_f64()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_is_found_in_a_collection_by_family() {
        let f = cjk_font().expect("a CJK font (scripts/setup.sh installs fonts-wqy-zenhei and fonts-noto-cjk)");
        assert!(f.family.contains("WenQuanYi") || f.family.contains("Noto"), "{}", f.describe());
        let wqy = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc";
        if Path::new(wqy).exists() {
            let names = face_families(&std::fs::read(wqy).unwrap());
            assert_eq!(names, ["WenQuanYi Zen Hei", "WenQuanYi Zen Hei Mono", "WenQuanYi Zen Hei Sharp"]);
            assert_eq!((f.path.as_str(), f.index), (wqy, 1), "Zen Hei Mono: half-width Latin as the PDFs declare");
        }
    }

    #[test]
    fn rasteriser_draws_text_and_rules_where_the_pdf_does() {
        let page = Page {
            ops: vec![
                Op::Text { x: 100.0, y: 700.0, size: 12.0, s: "申报单位AB12".into() },
                Op::Rect { x: 50.0, y: 100.0, w: 200.0, h: 22.0 },
            ],
            footer: None,
            marks: vec![],
        };
        let img = rasterise(&page).unwrap();
        assert_eq!(img.dimensions(), (WIDTH_PX, HEIGHT_PX));
        let dark = |x0: u32, y0: u32, x1: u32, y1: u32| {
            (y0..y1).flat_map(|y| (x0..x1).map(move |x| (x, y))).filter(|&(x, y)| img.get_pixel(x, y)[0] < 128).count()
        };
        // text: 4 CJK em + 4 half em = 6 em of 12 pt from x 100 pt, baseline at 700 pt
        let (x0, x1) = ((100.0 * PX_PER_PT) as u32, ((100.0 + 6.0 * 12.0) * PX_PER_PT) as u32);
        let base = ((PAGE_H - 700.0) * PX_PER_PT) as u32;
        let em = (12.0 * PX_PER_PT) as u32;
        let text = dark(x0, base - em, x1 + 4, base + em / 4);
        assert!(text > 1500, "{text} text pixels");
        assert_eq!(dark(x1 + 8, base - em, x1 + 200, base + em / 4), 0, "ink beyond the run's PDF width");
        assert_eq!(dark(0, 0, WIDTH_PX, base - em - 2), 0, "ink above the text");
        // the rectangle's top edge: 0.6 pt ≈ 2.5 px thick, 200 pt long
        let top = ((PAGE_H - 122.0) * PX_PER_PT) as u32;
        let edge = dark((60.0 * PX_PER_PT) as u32, top - 3, (240.0 * PX_PER_PT) as u32, top + 3);
        let len = ((240.0 - 60.0) * PX_PER_PT) as usize;
        assert!(edge >= len * 2 && edge <= len * 4, "{edge} px on the edge, {len} long");
    }

    #[test]
    fn homography_maps_the_corners() {
        let src = [(0.0, 0.0), (100.0, 0.0), (100.0, 200.0), (0.0, 200.0)];
        let dst = [(10.0, 5.0), (95.0, 12.0), (105.0, 190.0), (2.0, 210.0)];
        let h = homography(&src, &dst);
        for (s, d) in src.iter().zip(&dst) {
            let (x, y) = apply(&h, s.0, s.1);
            assert!((x - d.0).abs() < 1e-6 && (y - d.1).abs() < 1e-6);
            let (u, v) = apply(&invert(&h), d.0, d.1);
            assert!((u - s.0).abs() < 1e-6 && (v - s.1).abs() < 1e-6);
        }
    }
}
