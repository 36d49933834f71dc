//! Reading a seal: the text band between the ring and the star found from the ink's radial
//! profile, the text's angular extent from the gap at the bottom, the band unwarped (polar
//! transform, ellipses too) into a horizontal strip and recognised by Tesseract; a perceptual
//! fingerprint of the seal aligned on the same gap; a small crop for the report.

use image::GrayImage;

use super::detect::{Found, InkMap};
use super::matching;
use crate::model::SealReading;
use crate::ocr::{self, Psm};

/// The geometry of a seal's text, in the seal's normalised ellipse coordinates
/// (ρ = 1 on the ring's outer edge; θ counter-clockwise from +x, image y pointing down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextArc {
    /// the text runs from `theta_start` down to `theta_end` (clockwise), radians
    pub theta_start: f32,
    pub theta_end: f32,
    pub rho_in: f32,
    pub rho_out: f32,
}

/// Point of the ellipse at (θ, ρ), in ink-map pixels.
#[inline]
fn at(f: &Found, theta: f32, rho: f32) -> (f32, f32) {
    (f.cx + rho * f.rx * theta.cos(), f.cy - rho * f.ry * theta.sin())
}

/// Where the text is: the band inside the ring, and the arc outside the bottom gap.
pub fn text_arc(ink: &InkMap, f: &Found) -> TextArc {
    let r = f.rx.max(f.ry);
    let ring_in = (1.0 - f.ring_w / r).clamp(0.8, 0.97);
    // the nominal band first, for the angular extent
    let band0 = (0.5f32, ring_in - 0.02);
    let prof = angular_profile(ink, f, band0.0, band0.1, 360);
    let (g0, g1) = largest_gap(&prof);
    // the text runs clockwise from where the gap begins (its counter-clockwise side) round to
    // where it ends; a gap may wrap past 0°
    let start_deg = if g0 <= g1 { g0 as f32 + 360.0 } else { g0 as f32 };
    let (theta_start, theta_end) = (start_deg.to_radians(), (g1 as f32 + 1.0).to_radians());
    // the radial profile over the text's angles: the band is where the ink is, between the
    // ring's inner edge and the gap before the star
    const NR: usize = 70;
    let mut radial = [0f32; NR];
    let span = theta_start - theta_end;
    for (i, v) in radial.iter_mut().enumerate() {
        let rho = 0.3 + i as f32 * 0.01;
        let mut s = 0.0;
        for k in 0..180 {
            let t = theta_end + span * (k as f32 + 0.5) / 180.0;
            let (x, y) = at(f, t, rho);
            s += ink.sample(x, y);
        }
        *v = s / 180.0;
    }
    let idx = |rho: f32| (((rho - 0.3) / 0.01).round() as i64).clamp(0, NR as i64 - 1) as usize;
    // outer edge of the text: the ring's inner edge, nudged inwards past its soft edge
    let mut rho_out = ring_in;
    let ring_peak = radial[idx(ring_in)..].iter().cloned().fold(0f32, f32::max);
    let mut i = idx(ring_in);
    while i > idx(0.6) && radial[i] > 0.5 * ring_peak {
        i -= 1;
    }
    rho_out = rho_out.min(0.3 + i as f32 * 0.01);
    // inner edge: the emptiest radius between the text and the star
    let lo = idx(0.36);
    let hi = idx(rho_out - 0.16).max(lo + 1);
    let mut best = lo;
    for j in lo..hi {
        if radial[j] < radial[best] - 0.5 {
            best = j;
        }
    }
    let rho_in = (0.3 + best as f32 * 0.01).max(rho_out - 0.45);
    TextArc { theta_start, theta_end, rho_in, rho_out }
}

/// Mean ink per angle bin (bin k = k·360/n degrees), over ρ in [rho_in, rho_out].
fn angular_profile(ink: &InkMap, f: &Found, rho_in: f32, rho_out: f32, n: usize) -> Vec<f32> {
    let steps = 8;
    (0..n)
        .map(|k| {
            let t = (k as f32 + 0.5) / n as f32 * std::f32::consts::TAU;
            let mut s = 0.0;
            for j in 0..steps {
                let rho = rho_in + (rho_out - rho_in) * (j as f32 + 0.5) / steps as f32;
                let (x, y) = at(f, t, rho);
                s += ink.sample(x, y);
            }
            s / steps as f32
        })
        .collect()
}

/// The longest circular run of (smoothed) empty bins: (first bin, last bin), last may be < first.
fn largest_gap(prof: &[f32]) -> (usize, usize) {
    let n = prof.len();
    let smooth: Vec<f32> = (0..n).map(|k| (0..5).map(|d| prof[(k + n + d - 2) % n]).sum::<f32>() / 5.0).collect();
    let max = smooth.iter().cloned().fold(0f32, f32::max);
    let thr = (0.12 * max).max(4.0);
    let empty: Vec<bool> = smooth.iter().map(|&v| v < thr).collect();
    let (mut best, mut best_len) = ((n * 3 / 4 - 30, n * 3 / 4 + 30), 0);
    // start scanning just after a non-empty bin so runs do not wrap mid-way
    let Some(start) = (0..n).find(|&k| !empty[k]) else { return best };
    let mut k = 0;
    while k < n {
        let i = (start + k) % n;
        if empty[i] {
            let mut len = 0;
            while len < n && empty[(i + len) % n] {
                len += 1;
            }
            if len > best_len {
                best_len = len;
                best = (i, (i + len - 1) % n);
            }
            k += len;
        } else {
            k += 1;
        }
    }
    best
}

/// The text band unwarped into a strip `height` px tall: columns run along the text
/// (clockwise), rows from the outer edge down; dark ink on white. `stretch` widens the
/// characters (seal text is often squeezed), `rho_shift` moves the band.
pub fn unwarp(ink: &InkMap, f: &Found, arc: &TextArc, height: u32, stretch: f32, rho_shift: f32, reverse: bool) -> GrayImage {
    let (rho_in, rho_out) = (arc.rho_in + rho_shift, arc.rho_out + rho_shift);
    let band_px = (rho_out - rho_in) * f.rx.max(f.ry);
    let scale = height as f32 / band_px.max(1.0);
    let span = arc.theta_start - arc.theta_end;
    let rmid = (rho_in + rho_out) / 2.0 * (f.rx + f.ry) / 2.0;
    let width = ((span * rmid * scale * stretch).round() as u32).clamp(8, 6000);
    let mut out = GrayImage::new(width, height);
    for col in 0..width {
        let u = (col as f32 + 0.5) / width as f32;
        let u = if reverse { 1.0 - u } else { u };
        let t = arc.theta_start - span * u;
        for row in 0..height {
            let v = (row as f32 + 0.5) / height as f32;
            let v = if reverse { 1.0 - v } else { v };
            let rho = rho_out - (rho_out - rho_in) * v;
            let (x, y) = at(f, t, rho);
            let ink_v = ink.sample(x, y);
            out.put_pixel(col, row, image::Luma([(255.0 - ink_v * 1.2).clamp(0.0, 255.0) as u8]));
        }
    }
    out
}

/// Candidate readings of the arc with Tesseract (chi_sim, one line): the band as found,
/// widened, and nudged inwards; reversed only when nothing was read. Best first.
///
/// `expected` is the applicant's name as the form's text gives it, when known: once a reading
/// gives it exactly, no further reading is made (a seal that does not fit gets
/// all of them, for the batch-wide comparison of the `seal` rule).
pub fn read(ink: &InkMap, f: &Found, arc: &TextArc, expected: Option<&str>) -> Result<Vec<SealReading>, ocr::OcrError> {
    // seal characters are squeezed along the arc: widening helps Tesseract's model
    let tries: [(f32, f32, bool, &str); 3] = [
        (1.5, 0.0, false, "band, widened ×1.5"),
        (1.0, 0.0, false, "band"),
        (1.5, -0.03, false, "band −3%, widened ×1.5"),
    ];
    let mut out: Vec<SealReading> = Vec::new();
    for (stretch, shift, reverse, how) in tries {
        let r = read_one(ink, f, arc, stretch, shift, reverse, how)?;
        let good = r.chars.iter().filter(|c| c.2 >= 0.5).count();
        out.push(r);
        // a long confident reading needs no second opinion, nor one that reads the applicant's
        // name exactly
        if good >= 8 && out.last().is_some_and(|r| r.confidence >= 0.9) {
            break;
        }
        if expected.is_some_and(|name| out.last().is_some_and(|r| r.text == name.replace(char::is_whitespace, ""))) {
            break;
        }
    }
    if out.iter().all(|r| r.chars.len() < 3) {
        out.push(read_one(ink, f, arc, 1.0, 0.0, true, "band, reversed")?);
    }
    out.retain(|r| !r.chars.is_empty());
    out.sort_by(|a, b| score_of(b).total_cmp(&score_of(a)));
    Ok(out)
}

/// A reading as the matcher takes it.
pub fn to_matching(r: &SealReading) -> matching::Reading {
    matching::Reading {
        chars: r.chars.iter().map(|&(ch, pos, conf)| matching::ArcChar { ch, pos, conf }).collect(),
        confidence: r.confidence,
    }
}

fn score_of(r: &SealReading) -> f32 {
    r.chars.iter().map(|c| c.2).sum()
}

fn read_one(ink: &InkMap, f: &Found, arc: &TextArc, stretch: f32, shift: f32, reverse: bool, how: &str) -> Result<SealReading, ocr::OcrError> {
    const H: u32 = 34;
    let strip = unwarp(ink, f, arc, H, stretch, shift, reverse);
    if let Some(dir) = std::env::var_os("SHENBAO_SEAL_DEBUG") {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = strip.save(std::path::Path::new(&dir).join(format!("strip-{n:04}-{}.png", how.replace([' ', ',', '×', '%'], ""))));
    }
    let w = strip.width() as f32;
    let words = ocr::with_engine(|e| -> Result<Vec<ocr::Word>, ocr::OcrError> {
        e.set_lang("chi_sim")?;
        let dpi = e.dpi();
        e.set_dpi(300);
        let region = e.recognise_region_words(&strip, ocr::grid::Rect::new(0, 0, strip.width(), strip.height()), Psm::PsmSingleLine, None);
        e.set_dpi(dpi);
        e.reset_lang();
        Ok(region?.unwrap_or_default())
    })??;
    // Tesseract's word order is right, its word boxes sometimes are not (a first word's box
    // may run under the next words): each box is clipped to its neighbours before the
    // characters are spread over it
    let mut chars = Vec::new();
    let mut prev_end = 0f32;
    for (k, wd) in words.iter().enumerate() {
        let cs: Vec<char> = wd.text.chars().filter(|c| is_cjk(*c) || c.is_ascii_alphanumeric()).collect();
        if cs.is_empty() {
            continue;
        }
        let x0 = (wd.x0 as f32).max(prev_end);
        let next = words[k + 1..].iter().map(|n| n.x0 as f32).find(|&nx| nx > x0 + 2.0);
        let x1 = next.map_or(wd.x1 as f32, |nx| (wd.x1 as f32).min(nx)).max(x0 + 1.0);
        prev_end = x1;
        let n = cs.len() as f32;
        for (i, c) in cs.iter().enumerate() {
            let x = x0 + (i as f32 + 0.5) * (x1 - x0) / n;
            chars.push((*c, (x / w).clamp(0.0, 1.0), wd.conf));
        }
    }
    let text: String = chars.iter().map(|c| c.0).collect();
    let confidence = if chars.is_empty() { 0.0 } else { chars.iter().map(|c| c.2).sum::<f32>() / chars.len() as f32 };
    Ok(SealReading { text, confidence, chars, how: how.to_string() })
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Steps along the text × across it of the fingerprint.
const FP_A: usize = 256;
const FP_R: usize = 8;
// `distance` compares columns as bytes
const _: () = assert!(FP_R == 8 && FP_A % 8 == 0);

/// A perceptual hash of the seal's text (what tells one unit's seal from another's — rings
/// and stars all look alike, and names of one length put their characters in the same
/// places): the text band sampled on a grid (256 steps along the text, 8 across), one bit per
/// step and row saying whether the ink grows towards the next step — the strokes' edges, so
/// different characters give different bits. The same seal image gives the same bits wherever
/// it is placed and however it is scaled or turned.
pub fn fingerprint(ink: &InkMap, f: &Found, arc: &TextArc) -> Vec<u64> {
    let span = arc.theta_start - arc.theta_end;
    let mut cells = vec![0f32; (FP_A + 1) * FP_R];
    for a in 0..=FP_A {
        for r in 0..FP_R {
            let mut s = 0.0;
            for (da, dr) in [(0.25f32, 0.25f32), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                let t = arc.theta_start - span * (a as f32 + da) / (FP_A + 1) as f32;
                let rho = arc.rho_out - (arc.rho_out - arc.rho_in) * (r as f32 + dr) / FP_R as f32;
                let (x, y) = at(f, t, rho);
                s += ink.sample(x, y);
            }
            cells[a * FP_R + r] = s / 4.0;
        }
    }
    let mut bits = vec![0u64; FP_A * FP_R / 64];
    for a in 0..FP_A {
        for r in 0..FP_R {
            let i = a * FP_R + r;
            if cells[(a + 1) * FP_R + r] > cells[i] + 8.0 {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
    }
    bits
}

/// Share of differing bits between two fingerprints (over the bits set in either: blank paper
/// agrees everywhere and says nothing), allowing the text to slip by up to four steps (where
/// the text starts is found to a degree or two).
pub fn distance(a: &[u64], b: &[u64]) -> f32 {
    if a.len() != b.len() || a.is_empty() || a.len() * 64 != FP_A * FP_R {
        return 1.0;
    }
    // a column is FP_R = 8 bits, one byte: a shift by whole columns is a shift by bytes, and
    // the overlap is compared eight columns (one u64) at a time
    let ab: Vec<u8> = a.iter().flat_map(|w| w.to_le_bytes()).collect();
    let bb: Vec<u8> = b.iter().flat_map(|w| w.to_le_bytes()).collect();
    let word = |s: &[u8]| {
        let mut w = [0u8; 8];
        w[..s.len()].copy_from_slice(s);
        u64::from_le_bytes(w)
    };
    let mut best = f32::MAX;
    for shift in -4i64..=4 {
        let lo = (-shift).max(0) as usize;
        let hi = (FP_A as i64 - shift.max(0)) as usize;
        let (sa, sb) = (&ab[lo..hi], &bb[(lo as i64 + shift) as usize..(hi as i64 + shift) as usize]);
        let (mut diff, mut any) = (0u32, 0u32);
        for (x, y) in sa.chunks(8).zip(sb.chunks(8)) {
            let (x, y) = (word(x), word(y));
            diff += (x ^ y).count_ones();
            any += (x | y).count_ones();
        }
        best = best.min(diff as f32 / any.max(1) as f32);
    }
    best
}

pub fn to_hex(bits: &[u64]) -> String {
    bits.iter().map(|b| format!("{b:016x}")).collect()
}

pub fn from_hex(s: &str) -> Vec<u64> {
    (0..s.len() / 16).filter_map(|i| u64::from_str_radix(s.get(i * 16..i * 16 + 16)?, 16).ok()).collect()
}

/// A small PNG of the seal (red ink on white, `size` px square) for the report.
pub fn crop_png(ink: &InkMap, f: &Found, size: u32) -> Vec<u8> {
    let half = f.rx.max(f.ry) * 1.08;
    let mut idx = Vec::with_capacity((size * size) as usize);
    for y in 0..size {
        for x in 0..size {
            let sx = f.cx - half + (x as f32 + 0.5) / size as f32 * 2.0 * half;
            let sy = f.cy - half + (y as f32 + 0.5) / size as f32 * 2.0 * half;
            // a 2 × 2 supersample so thin strokes survive the downscale
            let d = half / size as f32 / 2.0;
            let v = [(-d, -d), (d, -d), (-d, d), (d, d)].iter().map(|(ox, oy)| ink.sample(sx + ox, sy + oy)).fold(0f32, f32::max);
            idx.push(((v / 255.0 * 15.0).round() as u8).min(15));
        }
    }
    let palette: Vec<u8> = (0..16u32)
        .flat_map(|i| {
            let t = i as f32 / 15.0;
            [(255.0 - t * 55.0) as u8, (255.0 - t * 225.0) as u8, (255.0 - t * 215.0) as u8]
        })
        .collect();
    let mut buf = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut buf, size, size);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(palette);
        enc.set_compression(png::Compression::High);
        let Ok(mut w) = enc.write_header() else { return Vec::new() };
        if w.write_image_data(&idx).is_err() {
            return Vec::new();
        }
        let _ = w.finish();
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition: bit by bit, every column shift of −4..=4.
    fn distance_bitwise(a: &[u64], b: &[u64]) -> f32 {
        let bit = |v: &[u64], i: usize| v[i / 64] >> (i % 64) & 1;
        let mut best = f32::MAX;
        for shift in -4i64..=4 {
            let (mut diff, mut any) = (0usize, 0usize);
            for ai in 0..FP_A {
                let bj = ai as i64 + shift;
                if bj < 0 || bj >= FP_A as i64 {
                    continue;
                }
                for r in 0..FP_R {
                    let (x, y) = (bit(a, ai * FP_R + r), bit(b, bj as usize * FP_R + r));
                    diff += (x != y) as usize;
                    any += (x | y) as usize;
                }
            }
            best = best.min(diff as f32 / any.max(1) as f32);
        }
        best
    }

    #[test]
    fn fingerprint_distance_is_the_bitwise_definition() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..50 {
            let a: Vec<u64> = (0..FP_A * FP_R / 64).map(|_| next() & next()).collect();
            // b: a shifted by a few columns with some bits flipped, or unrelated
            let shift = (next() % 5) as usize;
            let mut b: Vec<u64> = a.iter().map(|w| w << (8 * shift)).collect();
            for w in b.iter_mut().step_by(3) {
                *w ^= next() & next() & next();
            }
            let c: Vec<u64> = (0..a.len()).map(|_| next()).collect();
            for (p, q) in [(&a, &b), (&a, &c), (&b, &a), (&a, &a)] {
                assert!((distance(p, q) - distance_bitwise(p, q)).abs() < 1e-6);
            }
        }
        let a: Vec<u64> = (0..32).map(|i| i as u64 * 0x0101_0101).collect();
        assert_eq!(distance(&a, &a), 0.0);
    }
}
