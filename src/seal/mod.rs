//! Seals (form-spec §3, issue "Seals"): find red seals in page images, read their arc text,
//! fingerprint them. Deciding what they mean is the `seal` rule's job (`check::seal`).
//!
//! Two ways in: a scanned page image ([`on_page`]), and a born-digital PDF's seal-sized image
//! XObjects, composited with their soft mask onto white ([`in_pdf`]). Detection runs on a
//! downscaled ink map; the arc is read (Tesseract) only where a ring was found, and an
//! electronic seal image seen before is not read again (`cache`: by content hash, across runs
//! with a cache folder).

pub mod arc;
pub mod cache;
pub mod detect;
pub mod matching;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use image::DynamicImage;
use lopdf::{Document, Object};
use sha2::{Digest, Sha256};

use crate::config::Pipeline;
use crate::model::SealMark;
use crate::ocr::OcrError;
use crate::read::image::ImageLimits;
use crate::read::pdfimage;

pub use detect::{Found, Params};

impl Params {
    pub fn of(p: &Pipeline) -> Params {
        let r = &p.rules.seal;
        Params { min_mm: r.min_diameter_mm, max_mm: r.max_diameter_mm, min_coverage: r.min_ring_coverage }
    }
}

/// CPU time spent finding seals (ink maps, ring fits, decoding seal images) and reading them
/// (unwarping, Tesseract, fingerprints), summed over threads, for `run --timings`.
static DETECT_NS: AtomicU64 = AtomicU64::new(0);
static READ_NS: AtomicU64 = AtomicU64::new(0);
static READ_COUNT: AtomicU64 = AtomicU64::new(0);
static CACHED_COUNT: AtomicU64 = AtomicU64::new(0);

/// Seal stage figures of this process so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    pub detect_secs: f64,
    pub read_secs: f64,
    /// seals read (Tesseract)
    pub read: u64,
    /// electronic seal images already read, not read again
    pub cached: u64,
}

pub fn stage_times() -> StageTimes {
    StageTimes {
        detect_secs: DETECT_NS.load(Ordering::Relaxed) as f64 / 1e9,
        read_secs: READ_NS.load(Ordering::Relaxed) as f64 / 1e9,
        read: READ_COUNT.load(Ordering::Relaxed),
        cached: CACHED_COUNT.load(Ordering::Relaxed),
    }
}

fn timed<R>(counter: &AtomicU64, f: impl FnOnce() -> R) -> R {
    let t = Instant::now();
    let r = f();
    counter.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
    r
}

/// At most this many seals are read per page (the best by confidence).
const MAX_PER_PAGE: usize = 3;
/// Pixel size of the report's crop.
const CROP_PX: u32 = 120;

/// Seals on one page image (a scan) of resolution `dpi`; positions are mm from the image's
/// top-left corner.
pub fn on_page(p: &Pipeline, img: &DynamicImage, dpi: f32, file: &str, page: u32) -> Result<Vec<SealMark>, OcrError> {
    let prm = Params::of(p);
    let found = timed(&DETECT_NS, || best_found(img, dpi, &prm));
    let mm = 25.4 / dpi;
    found
        .iter()
        .map(|f| {
            let mut m = read_found(img, f, None)?;
            m.file = file.to_string();
            m.page = page;
            m.source = "scan".into();
            m.center_mm = [f.cx * mm, f.cy * mm];
            m.size_mm = [2.0 * f.rx * mm, 2.0 * f.ry * mm];
            Ok(m)
        })
        .collect()
}

/// The seals on an image, most sure first, at most [`MAX_PER_PAGE`].
fn best_found(img: &DynamicImage, dpi: f32, prm: &Params) -> Vec<Found> {
    let mut found = detect::detect(img, dpi, prm);
    found.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    found.truncate(MAX_PER_PAGE);
    found
}

/// Reads one detected seal: its crop's ink map, text arc, readings, fingerprint, PNG.
fn read_found(img: &DynamicImage, f: &Found, expected: Option<&str>) -> Result<SealMark, OcrError> {
    READ_COUNT.fetch_add(1, Ordering::Relaxed);
    timed(&READ_NS, || read_found_untimed(img, f, expected))
}

fn read_found_untimed(img: &DynamicImage, f: &Found, expected: Option<&str>) -> Result<SealMark, OcrError> {
    let half = f.rx.max(f.ry) * 1.15;
    let x0 = (f.cx - half).floor().max(0.0) as u32;
    let y0 = (f.cy - half).floor().max(0.0) as u32;
    let x1 = ((f.cx + half).ceil() as u32).min(img.width());
    let y1 = ((f.cy + half).ceil() as u32).min(img.height());
    let ink = detect::ink_map(img, f.mode, x0, y0, x1, y1);
    let local = Found { cx: f.cx - x0 as f32, cy: f.cy - y0 as f32, ..f.clone() };
    let text_arc = arc::text_arc(&ink, &local);
    let fp = arc::fingerprint(&ink, &local, &text_arc);
    let readings = match f.mode {
        detect::InkMode::Red => arc::read(&ink, &local, &text_arc, expected)?,
        detect::InkMode::Gray => arc::read(&detect::reading_map(img, f.mode, x0, y0, x1, y1), &local, &text_arc, expected)?,
    };
    Ok(SealMark {
        shape: if f.rx.max(f.ry) / f.rx.min(f.ry) > 1.12 { "oval".into() } else { "round".into() },
        star: f.star,
        confidence: f.confidence,
        readings,
        fingerprint: arc::to_hex(&fp),
        crop_png: arc::crop_png(&ink, &local, CROP_PX),
        ..SealMark::default()
    })
}

/// Seals in a born-digital PDF: every image XObject a page paints at seal size (from the
/// pipeline's diameter range, by its placement), composited onto white with its soft mask.
/// Positions are mm from the page's top-left corner. `expected`: the applicant's name from the
/// form's text (reading stops early once the arc clearly fits it).
pub fn in_pdf(p: &Pipeline, doc: &Document, pages: u32, file: &str, expected: Option<&str>) -> Result<Vec<SealMark>, OcrError> {
    let prm = Params::of(p);
    // what else decides a reading: the cache version, the seal sizes looked for
    let salt = format!("{}{prm:?}", cache::VERSION);
    let limits = ImageLimits::default();
    let mut out = Vec::new();
    for page in 1..=pages {
        let Ok(uses) = pdfimage::page_image_uses(doc, page) else { continue };
        let (_, page_h) = pdfimage::page_size_pt(doc, page).unwrap_or((595.28, 841.89));
        for u in uses {
            let (wpt, hpt) = u.placed_size_pt();
            let (wmm, hmm) = (wpt / 72.0 * 25.4, hpt / 72.0 * 25.4);
            // the image may carry a margin around the seal, never less than the seal
            if wmm.max(hmm) < prm.min_mm || wmm.min(hmm) > prm.max_mm * 1.6 || u.width < 24 || u.height < 24 {
                continue;
            }
            let key = content_key(doc, u.id, &salt);
            if let Some(k) = key {
                if let Some(marks) = cache::get(&k) {
                    CACHED_COUNT.fetch_add(marks.len() as u64, Ordering::Relaxed);
                    out.extend(place(marks, &u, page, page_h, file));
                    continue;
                }
            }
            let t = Instant::now();
            let Ok(img) = pdfimage::decode_on_white(doc, u.id, &limits) else { continue };
            let dpi = img.width() as f32 / (wpt / 72.0).max(1e-3);
            let found = best_found(&img, dpi, &prm);
            DETECT_NS.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            let mut marks = Vec::new();
            for f in &found {
                let mut m = read_found(&img, f, expected)?;
                // position inside the image, as fractions, for `place`
                m.center_mm = [f.cx / img.width() as f32, f.cy / img.height() as f32];
                m.size_mm = [2.0 * f.rx / img.width() as f32, 2.0 * f.ry / img.height() as f32];
                marks.push(m);
            }
            if let Some(k) = key {
                cache::put(k, &marks);
            }
            out.extend(place(marks, &u, page, page_h, file));
        }
    }
    Ok(out)
}

/// Marks read in image fractions → page mm (top-left origin) through the placement matrix.
fn place(marks: Vec<SealMark>, u: &pdfimage::ImageUse, page: u32, page_h: f32, file: &str) -> Vec<SealMark> {
    let [a, b, c, d, e, f] = u.ctm;
    let to_mm = 25.4 / 72.0;
    marks
        .into_iter()
        .map(|mut m| {
            // image space: u to the right, v up (the first row is at v = 1)
            let (fu, fv) = (m.center_mm[0], 1.0 - m.center_mm[1]);
            let (x, y) = (a * fu + c * fv + e, b * fu + d * fv + f);
            let (wpt, hpt) = u.placed_size_pt();
            m.size_mm = [m.size_mm[0] * wpt * to_mm, m.size_mm[1] * hpt * to_mm];
            m.center_mm = [x * to_mm, (page_h - y) * to_mm];
            m.file = file.to_string();
            m.page = page;
            m.source = "image".into();
            m
        })
        .collect()
}

/// A hash of an image XObject's stream and its soft mask's, salted with what else decides the
/// reading.
fn content_key(doc: &Document, id: lopdf::ObjectId, salt: &str) -> Option<[u8; 32]> {
    let st = doc.get_object(id).ok()?.as_stream().ok()?;
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(&st.content);
    if let Ok(Object::Reference(m)) = st.dict.get(b"SMask") {
        if let Ok(ms) = doc.get_object(*m).and_then(Object::as_stream) {
            h.update(&ms.content);
        }
    }
    let d = h.finalize();
    let mut k = [0u8; 32];
    k.copy_from_slice(&d[..32]);
    Some(k)
}
