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
    let t = thread_cpu_ns();
    let r = f();
    counter.fetch_add(thread_cpu_ns().saturating_sub(t), Ordering::Relaxed);
    r
}

/// CPU time of the calling thread (not wall time: with more threads than cores, a thread
/// waiting for a core would count as working).
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The pixels a seal is read from: a page or seal image, or (an electronic seal of one flat
/// colour) the red-ink map already made for finding it.
#[derive(Clone, Copy)]
enum Pixels<'a> {
    Image(&'a DynamicImage),
    Ink(&'a detect::InkMap),
}

impl Pixels<'_> {
    fn size(&self) -> (u32, u32) {
        match self {
            Pixels::Image(img) => (img.width(), img.height()),
            Pixels::Ink(ink) => (ink.w, ink.h),
        }
    }

    /// The ink map of a region: for finding the ring, or (`reading`) for reading the text.
    fn ink(&self, mode: detect::InkMode, reading: bool, x0: u32, y0: u32, x1: u32, y1: u32) -> detect::InkMap {
        match self {
            Pixels::Image(img) if reading => detect::reading_map(img, mode, x0, y0, x1, y1),
            Pixels::Image(img) => detect::ink_map(img, mode, x0, y0, x1, y1),
            Pixels::Ink(ink) => ink.crop(x0, y0, x1, y1),
        }
    }
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
            let mut m = read_found(Pixels::Image(img), f, None)?;
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
    most_sure(&mut found);
    found
}

fn most_sure(found: &mut Vec<Found>) {
    found.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    found.truncate(MAX_PER_PAGE);
}

/// Reads one detected seal: its crop's ink map, text arc, readings, fingerprint, PNG.
fn read_found(px: Pixels, f: &Found, expected: Option<&str>) -> Result<SealMark, OcrError> {
    READ_COUNT.fetch_add(1, Ordering::Relaxed);
    timed(&READ_NS, || read_found_untimed(px, f, expected))
}

fn read_found_untimed(px: Pixels, f: &Found, expected: Option<&str>) -> Result<SealMark, OcrError> {
    let (w, h) = px.size();
    let half = f.rx.max(f.ry) * 1.15;
    let x0 = (f.cx - half).floor().max(0.0) as u32;
    let y0 = (f.cy - half).floor().max(0.0) as u32;
    let x1 = ((f.cx + half).ceil() as u32).min(w);
    let y1 = ((f.cy + half).ceil() as u32).min(h);
    let ink = px.ink(f.mode, false, x0, y0, x1, y1);
    let local = Found { cx: f.cx - x0 as f32, cy: f.cy - y0 as f32, ..f.clone() };
    let text_arc = arc::text_arc(&ink, &local);
    let fp = arc::fingerprint(&ink, &local, &text_arc);
    let readings = match f.mode {
        detect::InkMode::Red => arc::read(&ink, &local, &text_arc, expected)?,
        detect::InkMode::Gray => arc::read(&px.ink(f.mode, true, x0, y0, x1, y1), &local, &text_arc, expected)?,
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
            let Some((pixels, found)) = find_in_image(doc, u.id, wpt, &prm, &limits) else { continue };
            let px = pixels.pixels();
            let (w, h) = px.size();
            let mut marks = Vec::new();
            for f in &found {
                let mut m = read_found(px, f, expected)?;
                // position inside the image, as fractions, for `place`
                m.center_mm = [f.cx / w as f32, f.cy / h as f32];
                m.size_mm = [2.0 * f.rx / w as f32, 2.0 * f.ry / h as f32];
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

/// A seal image's pixels as decoded for finding the seal.
enum Decoded {
    Ink(detect::InkMap),
    Image(DynamicImage),
}

impl Decoded {
    fn pixels(&self) -> Pixels<'_> {
        match self {
            Decoded::Ink(ink) => Pixels::Ink(ink),
            Decoded::Image(img) => Pixels::Image(img),
        }
    }
}

/// Finds the seals of an image XObject placed `wpt` points wide. A soft mask with a red
/// first pixel (the usual electronic seal: one flat red shaped by its alpha) is searched on
/// the red-ink map made straight from the mask; only where that finds a seal is the colour
/// image decoded whole, to make sure it is one colour (counted as reading). Anything else is
/// composited onto white and searched like a page. `None`: the image cannot be decoded.
fn find_in_image(doc: &Document, id: lopdf::ObjectId, wpt: f32, prm: &Params, limits: &ImageLimits) -> Option<(Decoded, Vec<Found>)> {
    let dpi_of = |w: u32| w as f32 / (wpt / 72.0).max(1e-3);
    let flat = timed(&DETECT_NS, || {
        let (colour, alpha) = pdfimage::first_colour_and_mask(doc, id, limits).ok()??;
        if detect::redness(colour[0], colour[1], colour[2]) == 0 {
            return None;
        }
        let ink = detect::InkMap::of_flat_colour(colour, alpha);
        let mut found = detect::detect_in(&ink, dpi_of(ink.w), prm, detect::InkMode::Red);
        most_sure(&mut found);
        (!found.is_empty()).then_some((ink, found))
    });
    if let Some((ink, found)) = flat {
        if timed(&READ_NS, || pdfimage::is_flat(doc, id, limits).unwrap_or(false)) {
            return Some((Decoded::Ink(ink), found));
        }
    }
    timed(&DETECT_NS, || {
        let img = pdfimage::decode_on_white(doc, id, limits).ok()?;
        let found = best_found(&img, dpi_of(img.width()), prm);
        Some((Decoded::Image(img), found))
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{dictionary, Stream};

    /// A one-page PDF painting one seal-sized image (`rgb`, with `alpha` as its soft mask).
    fn pdf_with_image(size: u32, rgb: Vec<u8>, alpha: Option<Vec<u8>>) -> Document {
        let mut doc = Document::with_version("1.7");
        let mut im = dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => size as i64, "Height" => size as i64,
                                   "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8 };
        if let Some(a) = alpha {
            let mut m = Stream::new(
                dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => size as i64, "Height" => size as i64,
                              "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
                a,
            );
            m.compress().unwrap();
            im.set("SMask", doc.add_object(m));
        }
        let mut im = Stream::new(im, rgb);
        im.compress().unwrap();
        let im = doc.add_object(im);
        let side = size as f32 / 200.0 * 72.0;
        let content = doc.add_object(Stream::new(dictionary! {}, format!("q {side:.2} 0 0 {side:.2} 200 100 cm /S Do Q").into_bytes()));
        let pages = doc.new_object_id();
        let page = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                                                "Contents" => content, "Resources" => dictionary! { "XObject" => dictionary! { "S" => im } } });
        doc.objects.insert(pages, dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }.into());
        let cat = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
        doc.trailer.set("Root", cat);
        doc
    }

    /// An electronic seal found from its mask alone (flat red + soft mask) reads exactly as the
    /// same seal composited onto white; and an image that only starts with a flat row is not
    /// taken for flat.
    #[test]
    fn a_flat_seal_image_reads_as_its_composite() {
        let p = Pipeline::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/bayu-2024.toml"))).unwrap();
        let (size, rgb, alpha) = crate::samples::scan::electronic_seal("重庆市渝北区职业技能鉴定中心", 42.0, 200.0, 7).unwrap();
        assert!(rgb.chunks_exact(3).all(|c| c == &rgb[..3]), "the sample seal is one flat colour");
        let composite: Vec<u8> = rgb
            .chunks_exact(3)
            .zip(&alpha)
            .flat_map(|(c, &a)| c.iter().map(move |&v| pdfimage::on_white(v, a)).collect::<Vec<_>>())
            .collect();
        // not flat: a lighter red in the lower half, where the first row does not show it
        let mut shaded = rgb.clone();
        let half = shaded.len() / 2;
        for c in shaded[half..].chunks_exact_mut(3) {
            c[1] = c[1].saturating_add(12);
        }
        let read = |doc: &Document| {
            let marks = in_pdf(&p, doc, 1, "f.pdf", None).unwrap();
            assert_eq!(marks.len(), 1, "one seal");
            marks.into_iter().next().unwrap()
        };
        let before = stage_times().read;
        let flat = read(&pdf_with_image(size, rgb, Some(alpha.clone())));
        let plain = read(&pdf_with_image(size, composite, None));
        assert_eq!(flat.fingerprint, plain.fingerprint);
        assert_eq!(flat.center_mm, plain.center_mm);
        assert_eq!(flat.size_mm, plain.size_mm);
        assert_eq!(flat.readings.first().map(|r| &r.text), plain.readings.first().map(|r| &r.text));
        assert!(flat.readings.first().is_some_and(|r| r.text.chars().count() >= 4), "{:?}", flat.readings);
        let shaded = read(&pdf_with_image(size, shaded, Some(alpha)));
        assert_ne!(shaded.fingerprint, flat.fingerprint, "the shaded image is read from its own colours");
        assert!(stage_times().read >= before + 3);
    }
}
