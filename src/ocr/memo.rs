//! Readings reused across a batch: a region whose print looks like a region recognised
//! before — with the same model set, mode and characters — takes that reading instead of
//! being recognised again. The forms of a batch repeat the same print everywhere (labels,
//! headings, titles, item table headers, the closed lists' values), and Tesseract's time is
//! all in the width of print it recognises.
//!
//! A region's print is compared as a small greyscale image: its ink's bounding box scaled to
//! [`SIG_H`] pixels high. Two prints match when they are about as wide, and every narrow
//! vertical slice of them (a third of a Chinese character wide) differs little on average: a
//! different character in one place makes its slice differ however alike the rest is, while
//! scan noise, blur and grey paper spread thin over all slices. Only confident readings are
//! kept, so one misreading is not copied onto the batch.

use std::collections::HashMap;
use std::sync::RwLock;

use image::GrayImage;

use super::Word;

/// Height of a print signature, pixels.
pub const SIG_H: u32 = 24;
/// Width of a compared slice (a third of a Chinese character at [`SIG_H`]).
const SLICE: usize = 8;
/// Largest mean difference (0..255) of any slice for two prints to match. Measured on
/// scanned forms: the same print under other noise and blur differs by up to ≈ 45, two
/// different Chinese texts of a width by 55 or more (涪陵区 / 江北区: 86).
pub const MAX_SLICE_DIFF: f32 = 35.0;
/// The same for a reading with digits: digits are narrow and alike (168 / 160: 47;
/// 2024年8月12日 / 2024年8月17日: 43).
pub const MAX_SLICE_DIFF_DIGITS: f32 = 20.0;
/// A reading is kept for reuse only at this confidence or above (character-weighted mean of
/// its words). On six sample sets 0.70 read as well as 0.85 (three fields better) and reuses
/// more.
pub const MIN_CONF: f32 = 0.70;
/// Prints kept per (mode, width); beyond it new prints are not kept.
const PER_WIDTH: usize = 48;

/// A region's print: its ink's bounding box in the crop (pixels) and the box scaled to
/// [`SIG_H`] pixels high.
pub struct Print {
    pub ink: (u32, u32, u32, u32),
    sig: GrayImage,
}

/// The print of a crop (dark = below 128), or `None` when it is too small to compare.
pub fn print_of(crop: &GrayImage) -> Option<Print> {
    let (w, h) = crop.dimensions();
    let raw = crop.as_raw();
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (y, row) in raw.chunks_exact(w as usize).enumerate() {
        for (x, &v) in row.iter().enumerate() {
            if v < 128 {
                x0 = x0.min(x as u32);
                x1 = x1.max(x as u32 + 1);
                y0 = y0.min(y as u32);
                y1 = y1.max(y as u32 + 1);
            }
        }
    }
    if x1 <= x0 || y1 < y0 + 8 {
        return None;
    }
    let box_ = image::imageops::crop_imm(crop, x0, y0, x1 - x0, y1 - y0).to_image();
    let sw = ((x1 - x0) as f32 * SIG_H as f32 / (y1 - y0) as f32).round().max(1.0) as u32;
    let sig = super::prep::resize_triangle(&box_, sw, SIG_H);
    Some(Print { ink: (x0, y0, x1, y1), sig })
}

/// Signature `a` resampled to `width`, or `None` if the widths differ by more than 4%.
fn at_width(a: &GrayImage, width: u32) -> Option<std::borrow::Cow<'_, GrayImage>> {
    let (wa, wb) = (a.width() as f32, width as f32);
    if (wa - wb).abs() > (wb * 0.04).max(1.0) {
        return None;
    }
    Some(if a.width() == width {
        std::borrow::Cow::Borrowed(a)
    } else {
        std::borrow::Cow::Owned(super::prep::resize_triangle(a, width, SIG_H))
    })
}

/// The largest mean difference of any slice of two signatures of one width.
fn slices_diff(a: &GrayImage, b: &GrayImage) -> f32 {
    let w = b.width() as usize;
    let mut cols = vec![0u32; w];
    for (ra, rb) in a.as_raw().chunks_exact(w).zip(b.as_raw().chunks_exact(w)) {
        for (c, (&pa, &pb)) in cols.iter_mut().zip(ra.iter().zip(rb)) {
            *c += pa.abs_diff(pb) as u32;
        }
    }
    let slice = SLICE.min(w);
    let worst = cols
        .windows(slice)
        .step_by((slice / 2).max(1))
        .chain(std::iter::once(&cols[w - slice..]))
        .map(|s| s.iter().sum::<u32>())
        .max()
        .unwrap_or(0);
    worst as f32 / (slice as u32 * SIG_H) as f32
}

struct Entry {
    sig: GrayImage,
    /// largest slice difference that matches this print ([`MAX_SLICE_DIFF`], or
    /// [`MAX_SLICE_DIFF_DIGITS`] for a reading with digits)
    limit: f32,
    /// words with boxes relative to the ink box, as fractions of its width and height
    words: Vec<(Word, [f32; 4])>,
}

/// The prints recognised so far, by mode (model set, page segmentation, allowed characters)
/// and signature width.
#[derive(Default)]
pub struct Memo {
    entries: RwLock<HashMap<String, HashMap<u32, Vec<Entry>>>>,
}

impl Memo {
    /// The reading of the print kept in `mode` that matches `p` best, its words placed on
    /// `p`'s ink box (crop pixels).
    pub fn find(&self, mode: &str, p: &Print) -> Option<Vec<Word>> {
        let w = p.sig.width();
        let tol = (w / 25).max(1);
        let entries = self.entries.read().ok()?;
        let by_width = entries.get(mode)?;
        let mut best: Option<(&Entry, f32)> = None;
        for sw in w.saturating_sub(tol)..=w + tol {
            let Some(kept) = by_width.get(&sw).filter(|k| !k.is_empty()) else { continue };
            // this print at the kept prints' width, made once for all of them
            let Some(at) = at_width(&p.sig, sw) else { continue };
            for e in kept {
                let d = slices_diff(&at, &e.sig);
                if d <= e.limit && best.is_none_or(|(_, b)| d < b) {
                    best = Some((e, d));
                }
            }
        }
        let (e, _) = best?;
        let (x0, y0, x1, y1) = p.ink;
        let (iw, ih) = ((x1 - x0) as f32, (y1 - y0) as f32);
        let words = e
            .words
            .iter()
            .map(|(w, f)| Word {
                x0: x0 + (f[0] * iw).round() as u32,
                y0: y0 + (f[1] * ih).round() as u32,
                x1: x0 + (f[2] * iw).round() as u32,
                y1: y0 + (f[3] * ih).round() as u32,
                ..w.clone()
            })
            .collect();
        Some(words)
    }

    /// Keep a reading of `p` (words in crop pixels) for reuse, if it is confident.
    pub fn keep(&self, mode: &str, p: &Print, words: &[Word]) {
        if words.is_empty() || super::join_words(words).1 < MIN_CONF {
            return;
        }
        let digits = words.iter().any(|w| w.text.chars().any(|c| c.is_ascii_digit()));
        let limit = if digits { MAX_SLICE_DIFF_DIGITS } else { MAX_SLICE_DIFF };
        let (x0, y0, x1, y1) = p.ink;
        let (iw, ih) = ((x1 - x0) as f32, (y1 - y0) as f32);
        let rel = |v: u32, o: u32, span: f32| (v as f32 - o as f32) / span;
        let words = words
            .iter()
            .map(|w| (w.clone(), [rel(w.x0, x0, iw), rel(w.y0, y0, ih), rel(w.x1, x0, iw), rel(w.y1, y0, ih)]))
            .collect();
        let Ok(mut entries) = self.entries.write() else { return };
        let list = entries.entry(mode.to_string()).or_default().entry(p.sig.width()).or_default();
        if list.len() < PER_WIDTH {
            list.push(Entry { sig: p.sig.clone(), limit, words });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::Rect;
    use crate::samples::pdfgen::{Op, Page};
    use crate::samples::scan::{rasterise, PX_PER_PT};

    /// `texts` printed at 10.5 pt, one under the other, each `dx` points further right,
    /// rendered at 300 dpi: each text's crop.
    fn crops(texts: &[(&str, f32)]) -> Vec<GrayImage> {
        let mut page = Page::default();
        let mut rects = Vec::new();
        for (i, (t, dx)) in texts.iter().enumerate() {
            let (x, y, w, h) = (60.0 + dx, 700.0 - 30.0 * i as f32, 200.0, 20.0);
            page.ops.push(Op::Text { x: x + 4.0, y: y + 5.0, size: 10.5, s: t.to_string() });
            let px = |v: f32| (v * PX_PER_PT).round() as u32;
            let top = crate::samples::pdfgen::PAGE_H - y - h;
            rects.push(Rect::new(px(60.0), px(top), px(60.0 + w + 4.0), px(top + h)));
        }
        let gray = image::DynamicImage::ImageRgb8(rasterise(&page).expect("scripts/setup.sh installs the fonts")).to_luma8();
        rects.iter().map(|r| crate::ocr::prep::crop(&gray, r.x0, r.y0, r.x1, r.y1)).collect()
    }

    fn word(text: &str) -> Word {
        Word { text: text.into(), x0: 10, y0: 5, x1: 200, y1: 40, conf: 0.95, block: 1, par: 1, line: 1 }
    }

    /// The same print elsewhere on a page (another line, another place on the line, specks of
    /// scan noise, blur) takes the kept reading; a print that differs in one character, Chinese or digit, does
    /// not, nor does an unconfident reading get kept.
    #[test]
    fn a_print_takes_the_reading_of_the_same_print_only() {
        let c = crops(&[
            ("渝中区", 0.0),
            ("渝中区", 12.0),
            ("渝北区", 0.0),
            ("2024年8月12日", 0.0),
            ("2024年8月12日", 24.0),
            ("2024年8月17日", 0.0),
            ("竞赛职业（工种）", 0.0),
        ]);
        let mut noisy = c[1].clone();
        for (i, p) in noisy.pixels_mut().enumerate() {
            if i % 97 == 0 {
                p.0[0] = p.0[0].saturating_sub(90);
            }
        }
        let print = |g: &GrayImage| print_of(g).expect("ink");
        let memo = Memo::default();
        memo.keep("m", &print(&c[0]), &[word("渝中区")]);
        memo.keep("m", &print(&c[3]), &[word("2024年8月12日")]);
        let read = |g: &GrayImage| memo.find("m", &print(g)).map(|w| w[0].text.clone());
        assert_eq!(read(&c[1]).as_deref(), Some("渝中区"));
        assert_eq!(read(&noisy).as_deref(), Some("渝中区"));
        assert_eq!(read(&image::imageops::blur(&noisy, 0.7)).as_deref(), Some("渝中区"), "a blurred scan");
        assert_eq!(read(&c[2]), None, "渝北区 is not 渝中区");
        assert_eq!(read(&c[4]).as_deref(), Some("2024年8月12日"));
        assert_eq!(read(&c[5]), None, "17日 is not 12日");
        assert_eq!(read(&c[6]), None);
        // another mode (model set, characters allowed) never shares readings
        assert_eq!(memo.find("other", &print(&c[1])).map(|w| w.len()), None);
        // an unconfident reading is not kept
        memo.keep("m", &print(&c[6]), &[Word { conf: 0.5, ..word("竞赛职业（工种）") }]);
        assert_eq!(read(&c[6]), None);
    }

    /// Words come back placed on the new print's ink box.
    #[test]
    fn a_kept_reading_is_placed_on_the_new_print() {
        let c = crops(&[("申报单位", 0.0), ("申报单位", 30.0)]);
        let (a, b) = (print_of(&c[0]).unwrap(), print_of(&c[1]).unwrap());
        let memo = Memo::default();
        let w = Word { x0: a.ink.0, y0: a.ink.1, x1: a.ink.2, y1: a.ink.3, ..word("申报单位") };
        memo.keep("m", &a, &[w]);
        let got = memo.find("m", &b).expect("same print");
        assert!((got[0].x0 as i64 - b.ink.0 as i64).abs() <= 1 && (got[0].x1 as i64 - b.ink.2 as i64).abs() <= 1, "{got:?} vs {:?}", b.ink);
    }
}
