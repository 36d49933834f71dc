//! Finding seals in a page image: red ink segmented on a downscaled map, components of seal
//! size, a ring test, then the ring fitted at full resolution (form-spec §3).
//!
//! Ink is measured as "redness" (red minus the larger of green and blue), which drops black
//! print, grey paper and the faint pink of scanner casts. A greyscale scan has no colour left:
//! there the seal is the mid-grey between paper and black print, opened so anti-aliased text
//! edges do not count; the same ring test then decides.

use std::borrow::Cow;

use image::DynamicImage;

/// An ink map: 0 = no seal ink, 255 = strong seal ink.
pub struct InkMap {
    pub w: u32,
    pub h: u32,
    pub px: Vec<u8>,
}

impl InkMap {
    #[inline]
    pub fn at(&self, x: i64, y: i64) -> u8 {
        if x < 0 || y < 0 || x >= self.w as i64 || y >= self.h as i64 {
            0
        } else {
            self.px[y as usize * self.w as usize + x as usize]
        }
    }

    /// The map of a region (clipped to the map).
    pub fn crop(&self, x0: u32, y0: u32, x1: u32, y1: u32) -> InkMap {
        let (x1, y1) = (x1.min(self.w), y1.min(self.h));
        let (w, h) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
        let mut px = Vec::with_capacity(w as usize * h as usize);
        for y in y0..y0 + h {
            let row = y as usize * self.w as usize;
            px.extend_from_slice(&self.px[row + x0 as usize..row + (x0 + w) as usize]);
        }
        InkMap { w, h, px }
    }

    /// The red-ink map of one flat colour shaped by an alpha mask, as it looks on white
    /// paper: the same as compositing the image onto white and taking [`redness`], by a
    /// table of the 256 alpha levels.
    pub fn of_flat_colour(colour: [u8; 3], alpha: image::GrayImage) -> InkMap {
        let table: Vec<u8> = (0..=255u8)
            .map(|a| {
                let [r, g, b] = colour.map(|c| crate::read::pdfimage::on_white(c, a));
                redness(r, g, b)
            })
            .collect();
        let (w, h) = alpha.dimensions();
        let mut px = alpha.into_raw();
        px.iter_mut().for_each(|a| *a = table[*a as usize]);
        InkMap { w, h, px }
    }

    /// Bilinear sample at a real position.
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let (x, y) = (x - 0.5, y - 0.5);
        // floor without a libm call (this runs a few thousand times per seal)
        let floor = |v: f32| {
            let t = v as i64;
            if (t as f32) > v {
                t - 1
            } else {
                t
            }
        };
        let (ix, iy) = (floor(x), floor(y));
        let (fx, fy) = (x - ix as f32, y - iy as f32);
        let [p00, p10, p01, p11] = if ix >= 0 && iy >= 0 && ix + 1 < self.w as i64 && iy + 1 < self.h as i64 {
            let i = iy as usize * self.w as usize + ix as usize;
            let w = self.w as usize;
            [self.px[i], self.px[i + 1], self.px[i + w], self.px[i + w + 1]]
        } else {
            [self.at(ix, iy), self.at(ix + 1, iy), self.at(ix, iy + 1), self.at(ix + 1, iy + 1)]
        };
        let a = p00 as f32 * (1.0 - fx) + p10 as f32 * fx;
        let b = p01 as f32 * (1.0 - fx) + p11 as f32 * fx;
        a * (1.0 - fy) + b * fy
    }
}

/// Redness of a pixel as seal ink strength.
#[inline]
pub fn redness(r: u8, g: u8, b: u8) -> u8 {
    let m = g.max(b) as i32;
    let c = r as i32 - m;
    // hue: reject orange-yellow (g far above b) and magenta-blue (b far above g)
    if c <= 28 || (g as i32 - b as i32).abs() > c {
        return 0;
    }
    ((c - 28) * 3).min(255) as u8
}

/// How the ink of a page is told from the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InkMode {
    /// colour: redness
    Red,
    /// greyscale: mid-grey between paper and print
    Gray,
}

/// The ink map of a region for reading the seal's text: on a colour page its redness; on a
/// grey page plain darkness against the paper (the mid-grey band that finds the ring would
/// break the thin strokes of the characters).
pub fn reading_map(img: &DynamicImage, mode: InkMode, x0: u32, y0: u32, x1: u32, y1: u32) -> InkMap {
    match mode {
        InkMode::Red => ink_map(img, mode, x0, y0, x1, y1),
        InkMode::Gray => gray_region(img, x0, y0, x1, y1, |t| ((t - 0.12).max(0.0) * 2.0 * 255.0).min(255.0) as u8),
    }
}

/// The ink map of a region of `img` (full resolution).
pub fn ink_map(img: &DynamicImage, mode: InkMode, x0: u32, y0: u32, x1: u32, y1: u32) -> InkMap {
    match mode {
        InkMode::Red => {
            let rgb = match img {
                DynamicImage::ImageRgb8(rgb) => Cow::Borrowed(rgb),
                other => Cow::Owned(other.to_rgb8()),
            };
            region(&rgb, x0, y0, x1, y1, |p| redness(p[0], p[1], p[2]))
        }
        InkMode::Gray => {
            // red ink turns into 35–60 % of the paper's grey; black print is darker than 70 %
            let mut m = gray_region(img, x0, y0, x1, y1, |t| {
                let s = if !(0.25..=0.70).contains(&t) { 0.0 } else { 1.0 - ((t - 0.47).abs() / 0.23).min(1.0) * 0.6 };
                (s * 255.0) as u8
            });
            open1(&mut m.px, m.w as usize, m.h as usize);
            m
        }
    }
}

/// A region of a grey version of `img` mapped by `f` of the darkness against the paper
/// (0 paper … 1 black).
fn gray_region(img: &DynamicImage, x0: u32, y0: u32, x1: u32, y1: u32, f: impl Fn(f32) -> u8) -> InkMap {
    let g = match img {
        DynamicImage::ImageLuma8(g) => Cow::Borrowed(g),
        other => Cow::Owned(other.to_luma8()),
    };
    let paper = paper_level(&g).max(60) as f32;
    region(&g, x0, y0, x1, y1, |p| f((paper - p[0] as f32) / paper))
}

/// A region (clipped to the image) mapped pixel by pixel.
fn region<P: image::Pixel<Subpixel = u8>>(
    img: &image::ImageBuffer<P, Vec<u8>>,
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    f: impl Fn(&[u8]) -> u8,
) -> InkMap {
    let (x1, y1) = (x1.min(img.width()), y1.min(img.height()));
    let (w, h) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
    let mut px = vec![0u8; w as usize * h as usize];
    for y in 0..h {
        for x in 0..w {
            px[(y * w + x) as usize] = f(img.get_pixel(x0 + x, y0 + y).channels());
        }
    }
    InkMap { w, h, px }
}

/// The paper's grey level: the 90th percentile (sampled).
fn paper_level(g: &image::GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for v in g.as_raw().iter().step_by(7) {
        hist[*v as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let mut acc = 0u64;
    for (v, n) in hist.iter().enumerate() {
        acc += n;
        if acc as f64 >= 0.9 * total as f64 {
            return v as u8;
        }
    }
    255
}

/// Grey-mode opening (min then max over 3 × 3 twice): thin anti-aliased edges of black
/// print vanish, the seal's strokes stay.
fn open1(px: &mut [u8], w: usize, h: usize) {
    if w < 5 || h < 5 {
        return;
    }
    let pass = |src: &[u8], take_min: bool| -> Vec<u8> {
        let mut out = src.to_vec();
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let mut v = src[y * w + x];
                for (dx, dy) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
                    let n = src[((y as i64 + dy) as usize) * w + (x as i64 + dx) as usize];
                    v = if take_min { v.min(n) } else { v.max(n) };
                }
                out[y * w + x] = v;
            }
        }
        out
    };
    let a = pass(px, true);
    let a = pass(&a, true);
    let a = pass(&a, false);
    let a = pass(&a, false);
    px.copy_from_slice(&a);
}

/// Whether the image carries colour at all (a greyscale scan saved as RGB does not).
pub fn has_colour(img: &DynamicImage) -> bool {
    match img {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA8(_) => false,
        other => {
            let rgb = match other {
                DynamicImage::ImageRgb8(rgb) => Cow::Borrowed(rgb),
                other => Cow::Owned(other.to_rgb8()),
            };
            let mut coloured = 0u64;
            let mut n = 0u64;
            for p in rgb.pixels().step_by(13) {
                n += 1;
                let [r, g, b] = p.0;
                if r.max(g).max(b) - r.min(g).min(b) > 40 {
                    coloured += 1;
                }
            }
            coloured * 2000 > n
        }
    }
}

/// A seal candidate in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub cx: f32,
    pub cy: f32,
    /// outer semi-axes, px
    pub rx: f32,
    pub ry: f32,
    /// ring width, px
    pub ring_w: f32,
    /// share of the circumference with ink
    pub coverage: f32,
    pub star: bool,
    pub confidence: f32,
    pub mode: InkMode,
}

/// Parameters of the search (from the pipeline's `[rules.seal]`).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub min_mm: f32,
    pub max_mm: f32,
    pub min_coverage: f32,
}

/// Seals on one page image of resolution `dpi`.
pub fn detect(img: &DynamicImage, dpi: f32, prm: &Params) -> Vec<Found> {
    let mode = if has_colour(img) { InkMode::Red } else { InkMode::Gray };
    let mut found = detect_mode(img, dpi, prm, mode);
    if found.is_empty() && mode == InkMode::Red {
        // a colour scan of a black-and-white copy: the seal is grey
        found = detect_mode(img, dpi, prm, InkMode::Gray);
    }
    found
}

fn detect_mode(img: &DynamicImage, dpi: f32, prm: &Params, mode: InkMode) -> Vec<Found> {
    let (w, h) = (img.width(), img.height());
    if w < 16 || h < 16 || dpi <= 1.0 {
        return Vec::new();
    }
    detect_in(&ink_map(img, mode, 0, 0, w, h), dpi, prm, mode)
}

/// Seals on an ink map of a whole image of resolution `dpi` (`mode`: how the map was made).
pub fn detect_in(ink: &InkMap, dpi: f32, prm: &Params, mode: InkMode) -> Vec<Found> {
    let (w, h) = (ink.w, ink.h);
    if w < 16 || h < 16 || dpi <= 1.0 {
        return Vec::new();
    }
    let px_per_mm = dpi / 25.4;
    // the downscaled map: blocks of ≈ 0.5 mm
    let b = ((px_per_mm * 0.5).round() as u32).max(1);
    let (bw, bh) = (w.div_ceil(b) as usize, h.div_ceil(b) as usize);
    let mut sum = vec![0u32; bw * bh];
    for (y, row) in ink.px.chunks_exact(w as usize).enumerate() {
        let sums = &mut sum[(y / b as usize) * bw..][..bw];
        for (s, block) in sums.iter_mut().zip(row.chunks(b as usize)) {
            *s += block.iter().map(|&v| v as u32).sum::<u32>();
        }
    }
    let area = (b * b) as u32;
    let mask: Vec<bool> = sum.iter().map(|&s| s / area >= 40).collect();
    // join the ring's pieces and the text: dilate by ≈ 1.5 mm
    let d = ((1.5 * px_per_mm) / b as f32).round().max(1.0) as usize;
    let grown = dilate(&mask, bw, bh, d);
    let comps = crate::ocr::prep::components(&grown, bw, bh);
    let block_mm = b as f32 / px_per_mm;
    let mut out = Vec::new();
    for (x0, y0, x1, y1) in comps {
        // the component's own ink, without the dilation
        let (mut ix0, mut iy0, mut ix1, mut iy1) = (usize::MAX, usize::MAX, 0, 0);
        for y in y0..=y1 {
            for x in x0..=x1 {
                if mask[y * bw + x] {
                    ix0 = ix0.min(x);
                    iy0 = iy0.min(y);
                    ix1 = ix1.max(x);
                    iy1 = iy1.max(y);
                }
            }
        }
        if ix1 < ix0 {
            continue;
        }
        let wmm = (ix1 - ix0 + 1) as f32 * block_mm;
        let hmm = (iy1 - iy0 + 1) as f32 * block_mm;
        if wmm < prm.min_mm || hmm < prm.min_mm || wmm > prm.max_mm || hmm > prm.max_mm || wmm.max(hmm) / wmm.min(hmm) > 1.6 {
            continue;
        }
        let cx = (ix0 + ix1 + 1) as f32 / 2.0 * b as f32;
        let cy = (iy0 + iy1 + 1) as f32 / 2.0 * b as f32;
        let rx = (ix1 - ix0 + 1) as f32 / 2.0 * b as f32;
        let ry = (iy1 - iy0 + 1) as f32 / 2.0 * b as f32;
        if let Some(f) = refine(ink, cx, cy, rx, ry, prm, mode) {
            out.push(f);
        }
    }
    out
}

/// Fits the ring at full resolution and tests it: ink on most of the circumference, a ring
/// rather than a filled blob.
fn refine(ink: &InkMap, cx: f32, cy: f32, rx: f32, ry: f32, prm: &Params, mode: InkMode) -> Option<Found> {
    const N: usize = 120;
    let thr = 70.0;
    let mut pts: Vec<(f32, f32, f32)> = Vec::with_capacity(N);
    let mut widths = Vec::new();
    for k in 0..N {
        let t = k as f32 / N as f32 * std::f32::consts::TAU;
        let (c, s) = (t.cos(), t.sin());
        // from outside inwards: the first ink is the ring's outer edge
        let mut rho = 1.2f32;
        let step = 0.7 / rx.max(ry);
        let mut edge = None;
        while rho > 0.7 {
            let v = ink.sample(cx + rho * rx * c, cy - rho * ry * s);
            if v >= thr {
                edge = Some(rho);
                break;
            }
            rho -= step;
        }
        if let Some(e) = edge {
            pts.push((t, cx + e * rx * c, cy - e * ry * s));
            let mut r2 = e;
            while r2 > 0.6 && ink.sample(cx + r2 * rx * c, cy - r2 * ry * s) >= thr * 0.6 {
                r2 -= step;
            }
            widths.push((e - r2) * rx.max(ry));
        }
    }
    if pts.len() < N / 3 {
        return None;
    }
    // x = cx + rx cos t, y = cy − ry sin t: two linear fits, then once more without outliers
    let mut keep: Vec<usize> = (0..pts.len()).collect();
    let mut fit = (cx, rx, cy, ry);
    for _ in 0..2 {
        fit = ellipse_fit(&pts, &keep)?;
        let res: Vec<f32> = pts
            .iter()
            .map(|&(t, x, y)| ((x - fit.0 - fit.1 * t.cos()).powi(2) + (y - fit.2 + fit.3 * t.sin()).powi(2)).sqrt())
            .collect();
        let mut sorted = res.clone();
        sorted.sort_by(f32::total_cmp);
        let med = sorted[sorted.len() / 2].max(1.0);
        keep = (0..pts.len()).filter(|&i| res[i] <= 3.0 * med).collect();
        if keep.len() < N / 3 {
            return None;
        }
    }
    let (fcx, frx, fcy, fry) = fit;
    if frx <= 4.0 || fry <= 4.0 {
        return None;
    }
    // coverage: angles where the fitted ring carries ink
    let ring_w = {
        widths.sort_by(f32::total_cmp);
        widths[widths.len() / 2].max(1.0)
    };
    let mut covered = 0;
    let mut ring_sum = 0.0;
    for k in 0..N {
        let t = k as f32 / N as f32 * std::f32::consts::TAU;
        let (c, s) = (t.cos(), t.sin());
        let mut best = 0f32;
        let inner = 1.0 - (ring_w * 1.5 / frx.max(fry)).min(0.2);
        let mut rho = 1.03;
        while rho >= inner {
            best = best.max(ink.sample(fcx + rho * frx * c, fcy - rho * fry * s));
            rho -= 0.5 / frx.max(fry);
        }
        if best >= thr {
            covered += 1;
        }
        ring_sum += best;
    }
    let coverage = covered as f32 / N as f32;
    if coverage < prm.min_coverage {
        return None;
    }
    // a ring, not a filled blob: the inside is much lighter than the ring
    let mut inside = 0f32;
    let mut n_in = 0;
    for k in 0..48 {
        let t = k as f32 / 48.0 * std::f32::consts::TAU;
        for rho in [0.45f32, 0.6, 0.72] {
            inside += ink.sample(fcx + rho * frx * t.cos(), fcy - rho * fry * t.sin());
            n_in += 1;
        }
    }
    let inside = inside / n_in as f32;
    let ring_mean = ring_sum / N as f32;
    if inside > 0.6 * ring_mean {
        return None;
    }
    let star = star_at(ink, fcx, fcy, frx, fry);
    let fit_err = {
        let res: f32 = keep
            .iter()
            .map(|&i| {
                let (t, x, y) = pts[i];
                ((x - fcx - frx * t.cos()).powi(2) + (y - fcy + fry * t.sin()).powi(2)).sqrt()
            })
            .sum::<f32>()
            / keep.len() as f32;
        res / frx.max(fry)
    };
    let mut confidence = (coverage / 0.9).min(1.0) * (1.0 - (fit_err * 8.0).min(0.5));
    if mode == InkMode::Gray {
        confidence *= 0.85;
    }
    Some(Found { cx: fcx, cy: fcy, rx: frx, ry: fry, ring_w, coverage, star, confidence, mode })
}

fn ellipse_fit(pts: &[(f32, f32, f32)], keep: &[usize]) -> Option<(f32, f32, f32, f32)> {
    // least squares of v = a + b·u for (u, v) = (cos t, x) and (−sin t, y)
    let lin = |f: &dyn Fn(usize) -> (f32, f32)| -> Option<(f32, f32)> {
        let n = keep.len() as f32;
        let (mut su, mut sv, mut suu, mut suv) = (0f32, 0f32, 0f32, 0f32);
        for &i in keep {
            let (u, v) = f(i);
            su += u;
            sv += v;
            suu += u * u;
            suv += u * v;
        }
        let den = n * suu - su * su;
        if den.abs() < 1e-6 {
            return None;
        }
        let b = (n * suv - su * sv) / den;
        Some(((sv - b * su) / n, b))
    };
    let (cx, rx) = lin(&|i| (pts[i].0.cos(), pts[i].1))?;
    let (cy, ry) = lin(&|i| (-pts[i].0.sin(), pts[i].2))?;
    Some((cx, rx, cy, ry))
}

/// A five-pointed star at the centre: around a circle inside the star's reach, ink comes and
/// goes five times (its points).
fn star_at(ink: &InkMap, cx: f32, cy: f32, rx: f32, ry: f32) -> bool {
    const N: usize = 180;
    for rho in [0.2f32, 0.24] {
        let on: Vec<bool> = (0..N)
            .map(|k| {
                let t = k as f32 / N as f32 * std::f32::consts::TAU;
                ink.sample(cx + rho * rx * t.cos(), cy - rho * ry * t.sin()) >= 70.0
            })
            .collect();
        let runs = (0..N).filter(|&k| on[k] && !on[(k + N - 1) % N]).count();
        if (4..=6).contains(&runs) {
            return true;
        }
    }
    false
}

fn dilate(mask: &[bool], w: usize, h: usize, d: usize) -> Vec<bool> {
    // separable square dilation
    let mut tmp = vec![false; w * h];
    for y in 0..h {
        let mut last: Option<usize> = None;
        for x in 0..w {
            if mask[y * w + x] {
                last = Some(x);
            }
        }
        if last.is_none() {
            continue;
        }
        let row = &mask[y * w..(y + 1) * w];
        let mut run_end: i64 = -1;
        for x in 0..w {
            if row[x] {
                let lo = x.saturating_sub(d);
                let hi = (x + d).min(w - 1);
                for t in lo.max((run_end + 1).max(0) as usize)..=hi {
                    tmp[y * w + t] = true;
                }
                run_end = hi as i64;
            }
        }
    }
    let mut out = vec![false; w * h];
    for x in 0..w {
        let mut run_end: i64 = -1;
        for y in 0..h {
            if tmp[y * w + x] {
                let lo = y.saturating_sub(d);
                let hi = (y + d).min(h - 1);
                for t in lo.max((run_end + 1).max(0) as usize)..=hi {
                    out[t * w + x] = true;
                }
                run_end = hi as i64;
            }
        }
    }
    out
}

