//! Page preparation before Tesseract: grey, red seal ink removed, paper flattened to white,
//! deskewed, optionally binarised. Pure Rust on `image` buffers; one pass per step, no
//! per-pixel allocation (a 2480 × 3508 page takes ≈ 0.1–0.2 s in release).
//!
//! Order matters: red removal must precede binarisation (a red seal binarises to black and
//! buries the text under it), and background flattening must see the page without the seal
//! (else the seal's white replacement would skew the local paper level).

use image::{DynamicImage, GrayImage, Luma};

use crate::read::image::{floor_i64, floor_in_range, round_u8, trunc_in_range};

/// What [`prepare`] does.
#[derive(Clone, Debug)]
pub struct PrepOptions {
    /// Replace red/orange ink (seals, red stamps) by paper before anything else.
    pub remove_red: bool,
    /// Minimum `max(r,g,b) − min(r,g,b)` for a pixel to count as coloured ink.
    pub red_min_chroma: u8,
    /// Minimum saturation (`chroma / max`) for a pixel to count as coloured ink.
    pub red_min_saturation: f32,
    /// Red pixels whose red channel is below this are dark (black text under the ink) and
    /// are kept, as their red-channel value; lighter ones become paper.
    pub red_dark_below: u8,
    /// Flatten uneven / grey paper to white and stretch the ink to black.
    pub normalise: bool,
    /// Estimate and undo skew within ±`max_skew_deg`.
    pub deskew: bool,
    pub max_skew_deg: f32,
    /// Also produce a binary image.
    pub binarise: Binarise,
}

impl Default for PrepOptions {
    fn default() -> Self {
        PrepOptions {
            remove_red: true,
            red_min_chroma: 40,
            red_min_saturation: 0.22,
            red_dark_below: 110,
            normalise: true,
            deskew: true,
            max_skew_deg: 5.0,
            binarise: Binarise::Otsu,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Binarise {
    None,
    /// One global threshold (good after [`normalise_background`]).
    Otsu,
    /// Local threshold `mean · (1 + k · (std/128 − 1))` over a `window`-pixel square.
    Sauvola {
        window: u32,
        k: f32,
    },
}

/// A prepared page. Coordinates in `gray` and `binary` are those of the deskewed page; use
/// [`Prepared::to_source`] to map a point back to the input image.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub gray: GrayImage,
    /// 0 = ink, 255 = paper; `None` if [`Binarise::None`].
    pub binary: Option<GrayImage>,
    /// Estimated skew of the input, degrees, positive = content rotated counter-clockwise;
    /// the page was rotated by `-skew_deg` (0 if not deskewed).
    pub skew_deg: f32,
    /// Pixels recognised as red ink and replaced.
    pub red_pixels: usize,
}

impl Prepared {
    /// Map a point of the prepared page back to the input image (undo the deskew rotation).
    pub fn to_source(&self, x: f32, y: f32) -> (f32, f32) {
        let (cx, cy) = (
            (self.gray.width() as f32 - 1.0) / 2.0,
            (self.gray.height() as f32 - 1.0) / 2.0,
        );
        // the prepared page is the input rotated by -skew: rotate back by +skew
        let t = self.skew_deg.to_radians();
        let (s, c) = t.sin_cos();
        let (dx, dy) = (x - cx, y - cy);
        // inverse of `rotate(…, -skew)`: a point moves as under a rotation by +skew
        (cx + dx * c + dy * s, cy - dx * s + dy * c)
    }
}

/// Run the configured steps.
pub fn prepare(img: &DynamicImage, opts: &PrepOptions) -> Prepared {
    let (mut gray, red_pixels) = if opts.remove_red {
        to_gray_without_red(img, opts)
    } else {
        (img.to_luma8(), 0)
    };
    if opts.normalise {
        normalise_background(&mut gray);
    }
    let mut skew_deg = 0.0;
    if opts.deskew {
        skew_deg = estimate_skew(&gray, opts.max_skew_deg);
        if skew_deg.abs() >= 0.05 {
            gray = rotate(&gray, -skew_deg, 255);
        } else {
            skew_deg = 0.0;
        }
    }
    let binary = match opts.binarise {
        Binarise::None => None,
        Binarise::Otsu => Some(binarise_otsu(&gray)),
        Binarise::Sauvola { window, k } => Some(binarise_sauvola(&gray, window, k)),
    };
    Prepared {
        gray,
        binary,
        skew_deg,
        red_pixels,
    }
}

/// Is this colour red/orange/pink ink (hue ≈ −40°…+50°, saturated enough)?
#[inline]
pub fn is_red_ink(r: u8, g: u8, b: u8, min_chroma: u8, min_sat: f32) -> bool {
    if r < g || r < b {
        return false;
    }
    let mn = g.min(b);
    let chroma = r - mn;
    if chroma < min_chroma || (chroma as f32) < min_sat * r as f32 {
        return false;
    }
    // hue = 60° · (g − b) / chroma, in (−60°, 60°] when r is the maximum
    let h6 = (g as i32 - b as i32) * 60;
    h6 >= -40 * chroma as i32 && h6 <= 50 * chroma as i32
}

/// Luminance, with red ink replaced by the paper level (light red) or by its red channel (dark
/// red: black text under the ink survives). Grey inputs are only converted. Returns the image
/// and the number of pixels replaced.
pub fn to_gray_without_red(img: &DynamicImage, opts: &PrepOptions) -> (GrayImage, usize) {
    let rgb = match img {
        DynamicImage::ImageLuma8(g) => return (g.clone(), 0),
        DynamicImage::ImageRgb8(rgb) => std::borrow::Cow::Borrowed(rgb),
        other => std::borrow::Cow::Owned(other.to_rgb8()),
    };
    let (w, h) = rgb.dimensions();
    let mut out = vec![0u8; (w * h) as usize];
    let mut red = vec![false; (w * h) as usize];
    // counts of the grey levels, in two tables for even and odd pixels (see `histogram`)
    let mut hists = [[0u32; 256]; 2];
    let mut n_red = 0;
    for (i, p) in rgb.as_raw().chunks_exact(3).enumerate() {
        let (r, g, b) = (p[0], p[1], p[2]);
        if is_red_ink(r, g, b, opts.red_min_chroma, opts.red_min_saturation) {
            if r < opts.red_dark_below {
                out[i] = r;
            } else {
                red[i] = true;
                n_red += 1;
            }
        } else {
            let y = ((r as u32 * 77 + g as u32 * 150 + b as u32 * 29) >> 8) as u8;
            out[i] = y;
            hists[i & 1][y as usize] += 1;
        }
    }
    if n_red > 0 {
        let mut hist = [0u64; 256];
        for (h, (a, b)) in hist.iter_mut().zip(hists[0].iter().zip(&hists[1])) {
            *h = *a as u64 + *b as u64;
        }
        // paper = the 90th percentile of the other pixels (a form is mostly paper)
        let paper = percentile(&hist, 0.90);
        for (o, &r) in out.iter_mut().zip(&red) {
            if r {
                *o = paper;
            }
        }
    }
    (GrayImage::from_raw(w, h, out).expect("sized"), n_red)
}

fn percentile(hist: &[u64; 256], q: f64) -> u8 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return 255;
    }
    let target = (total as f64 * q).ceil() as u64;
    let mut acc = 0;
    for (v, &n) in hist.iter().enumerate() {
        acc += n;
        if acc >= target {
            return v as u8;
        }
    }
    255
}

/// Flat-field the page: estimate the paper level per block (90th percentile of the block,
/// dilated and smoothed so ink-heavy blocks borrow from neighbours), divide it out so paper
/// becomes 255 whatever its grey or shading, then stretch so the darkest 0.5 % of pixels are
/// black.
pub fn normalise_background(g: &mut GrayImage) {
    let (w, h) = g.dimensions();
    if w < 8 || h < 8 {
        return;
    }
    let bs = (w.max(h) / 100).clamp(16, 64);
    let (bw, bh) = (w.div_ceil(bs) as usize, h.div_ceil(bs) as usize);
    let mut bg = vec![255f32; bw * bh];
    {
        let raw = g.as_raw();
        // 4-level bins are plenty for a paper estimate; even and odd pixels in two tables (see
        // `histogram`)
        let mut hists = vec![[[0u32; 64]; 2]; bw];
        for by in 0..bh {
            hists.iter_mut().for_each(|hh| *hh = [[0; 64]; 2]);
            let y0 = by as u32 * bs;
            let y1 = (y0 + bs).min(h);
            for y in y0..y1 {
                let row = &raw[(y * w) as usize..((y + 1) * w) as usize];
                for (hh, block) in hists.iter_mut().zip(row.chunks(bs as usize)) {
                    let [even, odd] = hh;
                    let mut pairs = block.chunks_exact(2);
                    for p in &mut pairs {
                        even[(p[0] >> 2) as usize] += 1;
                        odd[(p[1] >> 2) as usize] += 1;
                    }
                    for &v in pairs.remainder() {
                        even[(v >> 2) as usize] += 1;
                    }
                }
            }
            for bx in 0..bw {
                let [even, odd] = &hists[bx];
                let mut hh = [0u32; 64];
                for ((t, a), b) in hh.iter_mut().zip(even).zip(odd) {
                    *t = a + b;
                }
                let total: u32 = hh.iter().sum();
                let target = (total as f32 * 0.9).ceil() as u32;
                let mut acc = 0;
                let mut level = 63;
                for (i, &n) in hh.iter().enumerate() {
                    acc += n;
                    if acc >= target {
                        level = i;
                        break;
                    }
                }
                bg[by * bw + bx] = (level * 4 + 2) as f32;
            }
        }
    }
    // dilate (3×3 max) twice, then 3×3 mean
    for _ in 0..2 {
        bg = filter3(&bg, bw, bh, |n| n.iter().copied().fold(0.0, f32::max));
    }
    bg = filter3(&bg, bw, bh, |n| n.iter().sum::<f32>() / n.len() as f32);
    // a level below 64 is not paper (a photo, a black area): leave such regions alone
    for v in &mut bg {
        *v = v.max(64.0);
    }

    // divide out, bilinear between block centres
    let raw = g.as_mut();
    let mut hist = [0u64; 256];
    let mut rowbg = vec![0f32; w as usize];
    let centre = |i: u32| (i as f32 + 0.5) / bs as f32 - 0.5;
    // the columns' blocks and weights, the same on every row
    let xs: Vec<(usize, usize, f32)> = (0..w)
        .map(|x| {
            let fx = centre(x).clamp(0.0, (bw - 1) as f32);
            let x0 = fx.floor() as usize;
            (x0, (x0 + 1).min(bw - 1), fx - x0 as f32)
        })
        .collect();
    // a block row interpolated along x, kept while the rows use it
    let along_x = |by: usize| -> Vec<f32> { xs.iter().map(|&(x0, x1, tx)| bg[by * bw + x0] * (1.0 - tx) + bg[by * bw + x1] * tx).collect() };
    let mut rows_at: Option<(usize, Vec<f32>, Vec<f32>)> = None;
    for y in 0..h {
        let fy = centre(y).clamp(0.0, (bh - 1) as f32);
        let y0 = fy.floor() as usize;
        let y1 = (y0 + 1).min(bh - 1);
        let ty = fy - y0 as f32;
        if rows_at.as_ref().is_none_or(|r| r.0 != y0) {
            rows_at = Some((y0, along_x(y0), along_x(y1)));
        }
        let (_, top_row, bot_row) = rows_at.as_ref().expect("just set");
        for ((rb, top), bot) in rowbg.iter_mut().zip(top_row).zip(bot_row) {
            // slightly below the estimate so paper noise saturates to white
            *rb = 255.0 / ((top * (1.0 - ty) + bot * ty) * 0.97);
        }
        let row = &mut raw[(y * w) as usize..((y + 1) * w) as usize];
        for (v, s) in row.iter_mut().zip(&rowbg) {
            // within 0..=255 (the paper estimate is at least 64): the saturating cast's byte
            *v = trunc_in_range((*v as f32 * s).min(255.0)) as u8;
        }
        for (h, n) in hist.iter_mut().zip(histogram(row)) {
            *h += n;
        }
    }
    // stretch: darkest 0.5 % → 0 (only if there is ink at all)
    let lo = percentile(&hist, 0.005);
    if lo > 0 && lo < 160 {
        let lut: Vec<u8> = (0..256u32)
            .map(|v| {
                if v <= lo as u32 {
                    0
                } else {
                    ((v - lo as u32) * 255 / (255 - lo as u32)) as u8
                }
            })
            .collect();
        for v in raw.iter_mut() {
            *v = lut[*v as usize];
        }
    }
}

fn filter3(src: &[f32], w: usize, h: usize, f: impl Fn(&[f32]) -> f32) -> Vec<f32> {
    let mut out = vec![0f32; src.len()];
    let mut n = Vec::with_capacity(9);
    for y in 0..h {
        for x in 0..w {
            n.clear();
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    n.push(src[yy * w + xx]);
                }
            }
            out[y * w + x] = f(&n);
        }
    }
    out
}

/// Otsu's global threshold: pixels `<=` the result are ink.
pub fn otsu_threshold(g: &GrayImage) -> u8 {
    otsu_from_hist(&histogram(g.as_raw()))
}

/// Counts of each grey level. Counted into four tables in turn: a page is mostly paper of one
/// level, and one table would make each count wait for the one before it.
pub fn histogram(px: &[u8]) -> [u64; 256] {
    let mut part = [[0u32; 256]; 4];
    let mut quads = px.chunks_exact(4);
    for q in &mut quads {
        for (t, &v) in part.iter_mut().zip(q) {
            t[v as usize] += 1;
        }
    }
    for &v in quads.remainder() {
        part[0][v as usize] += 1;
    }
    let mut hist = [0u64; 256];
    for t in &part {
        for (h, &n) in hist.iter_mut().zip(t) {
            *h += n as u64;
        }
    }
    hist
}

fn otsu_from_hist(hist: &[u64; 256]) -> u8 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return 127;
    }
    let sum: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum();
    let (mut wb, mut sb) = (0f64, 0f64);
    let (mut best, mut best_t) = (-1f64, 127u8);
    for (t, &n) in hist.iter().enumerate() {
        wb += n as f64;
        if wb == 0.0 {
            continue;
        }
        let wf = total as f64 - wb;
        if wf == 0.0 {
            break;
        }
        sb += t as f64 * n as f64;
        let mb = sb / wb;
        let mf = (sum - sb) / wf;
        let between = wb * wf * (mb - mf) * (mb - mf);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// 0 for ink (≤ Otsu threshold), 255 for paper.
pub fn binarise_otsu(g: &GrayImage) -> GrayImage {
    let t = otsu_threshold(g);
    let mut out = g.clone();
    for v in out.iter_mut() {
        *v = if *v <= t { 0 } else { 255 };
    }
    out
}

/// Sauvola local thresholding with a sliding window (O(pixels), O(width) extra memory).
pub fn binarise_sauvola(g: &GrayImage, window: u32, k: f32) -> GrayImage {
    let (w, h) = g.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let r = (window / 2).max(1) as usize;
    let raw = g.as_raw();
    let mut out = vec![255u8; wu * hu];
    // column sums over rows [y-r, y+r]
    let mut cs = vec![0u32; wu];
    let mut cq = vec![0u64; wu];
    let add_row = |cs: &mut [u32], cq: &mut [u64], y: usize, sign: i64| {
        for (x, &v) in raw[y * wu..(y + 1) * wu].iter().enumerate() {
            if sign > 0 {
                cs[x] += v as u32;
                cq[x] += (v as u64) * (v as u64);
            } else {
                cs[x] -= v as u32;
                cq[x] -= (v as u64) * (v as u64);
            }
        }
    };
    for y in 0..r.min(hu) {
        add_row(&mut cs, &mut cq, y, 1);
    }
    for y in 0..hu {
        if y + r < hu {
            add_row(&mut cs, &mut cq, y + r, 1);
        }
        if y > r {
            add_row(&mut cs, &mut cq, y - r - 1, -1);
        }
        let rows = (y + r).min(hu - 1) - y.saturating_sub(r) + 1;
        let (mut s, mut q) = (0u64, 0u64);
        for x in 0..r.min(wu) {
            s += cs[x] as u64;
            q += cq[x];
        }
        for x in 0..wu {
            if x + r < wu {
                s += cs[x + r] as u64;
                q += cq[x + r];
            }
            if x > r {
                s -= cs[x - r - 1] as u64;
                q -= cq[x - r - 1];
            }
            let cols = (x + r).min(wu - 1) - x.saturating_sub(r) + 1;
            let n = (rows * cols) as f64;
            let mean = s as f64 / n;
            let var = (q as f64 / n - mean * mean).max(0.0);
            let t = mean * (1.0 + k as f64 * (var.sqrt() / 128.0 - 1.0));
            out[y * wu + x] = if (raw[y * wu + x] as f64) <= t {
                0
            } else {
                255
            };
        }
    }
    GrayImage::from_raw(w, h, out).expect("sized")
}

/// Skew of the page content in degrees (positive = rotated counter-clockwise), found by
/// maximising the variance of the horizontal projection profile of the ink over shears, on a
/// page reduced to ≈ 1200 px wide: 0.5° steps over ±`max_deg`, then 0.1° steps around the
/// best, then a parabola through the peak. Text lines and ruled lines both sharpen the
/// profile. Returns 0 for a page with too little ink.
pub fn estimate_skew(g: &GrayImage, max_deg: f32) -> f32 {
    let (w, h) = g.dimensions();
    let f = (w / 1200).max(1);
    let (sw, sh) = (w / f, h / f);
    if sw < 50 || sh < 50 {
        return 0.0;
    }
    // box-reduce (block means rounded down), then threshold
    let small = block_reduce(g.as_raw(), (w, h), 1, f, |s, n| (s / n) as u8).into_raw();
    let t = otsu_from_hist(&histogram(&small)).min(200);
    // ink pixels, centred coordinates; ignore a margin where scanner borders live
    let mx = sw / 40;
    let my = sh / 40;
    let (cx, cy) = (sw as f32 / 2.0, sh as f32 / 2.0);
    let mut pts: Vec<(f32, f32)> = Vec::new();
    for y in my..sh - my {
        for x in mx..sw - mx {
            if small[(y * sw + x) as usize] <= t {
                pts.push((x as f32 - cx, y as f32 - cy));
            }
        }
    }
    if pts.len() < 200 || pts.len() as u64 > (sw as u64 * sh as u64) / 2 {
        return 0.0;
    }
    if pts.len() > 300_000 {
        let step = pts.len() / 300_000 + 1;
        pts = pts.into_iter().step_by(step).collect();
    }
    let diag = ((sw * sw + sh * sh) as f32).sqrt() as usize + 4;
    let mut bins = vec![0u32; diag * 2];
    let mut score = |deg: f32| -> f64 {
        let tn = deg.to_radians().tan();
        bins.iter_mut().for_each(|b| *b = 0);
        for &(x, y) in &pts {
            // y' = y + x·tan θ flattens a line rising to the right by θ
            let yy = (y + x * tn + diag as f32) as usize;
            if let Some(b) = bins.get_mut(yy) {
                *b += 1;
            }
        }
        bins.iter().map(|&b| (b as f64) * (b as f64)).sum()
    };
    let mut best = (0.0f32, f64::MIN);
    let steps = (max_deg / 0.5).round() as i32;
    for i in -steps..=steps {
        let d = i as f32 * 0.5;
        let s = score(d);
        if s > best.1 {
            best = (d, s);
        }
    }
    let c = best.0;
    let mut fine: Vec<(f32, f64)> = Vec::new();
    for i in -5..=5 {
        let d = c + i as f32 * 0.1;
        if d.abs() <= max_deg + 1e-3 {
            fine.push((d, score(d)));
        }
    }
    let bi = fine
        .iter()
        .enumerate()
        .max_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
        .map(|(i, _)| i)
        .unwrap_or(0);
    let mut est = fine[bi].0;
    if bi > 0 && bi + 1 < fine.len() {
        let (l, m, r) = (fine[bi - 1].1, fine[bi].1, fine[bi + 1].1);
        let den = l - 2.0 * m + r;
        if den < 0.0 {
            est += (0.1 * 0.5 * (l - r) / den) as f32;
        }
    }
    est.clamp(-max_deg, max_deg)
}

/// Rotate about the centre by `deg` (positive = counter-clockwise as seen), same size,
/// bilinear, uncovered corners filled with `fill`.
pub fn rotate(g: &GrayImage, deg: f32, fill: u8) -> GrayImage {
    let (w, h) = g.dimensions();
    if w < 2 || h < 2 {
        // no source position has the four neighbours a blend needs
        return GrayImage::from_pixel(w, h, Luma([fill]));
    }
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let (xmax, ymax) = ((w - 1) as f32, (h - 1) as f32);
    let raw = g.as_raw();
    let wu = w as usize;
    let mut out = vec![fill; wu * h as usize];
    // a row is made in passes over whole arrays: the source positions (running sums, one
    // after the other), which are inside and their pixel and fractions, the four source
    // pixels, the blend. All but the first run several pixels per instruction.
    let (mut xs, mut ys) = (vec![0f32; wu], vec![0f32; wu]);
    let mut at = vec![0u32; wu];
    let (mut pa, mut pb, mut pc, mut pd) = (vec![0u8; wu], vec![0u8; wu], vec![0u8; wu], vec![0u8; wu]);
    let (mut wx, mut wy) = (vec![0f32; wu], vec![0f32; wu]);
    let mut inside = vec![0u8; wu];
    // the largest position below the last column (row): kept as it is, as is every position
    // inside; one outside is clamped so that its (unused) pixels exist
    let (xin, yin) = (f32::from_bits(xmax.to_bits() - 1), f32::from_bits(ymax.to_bits() - 1));
    let mut blended = vec![0u8; wu];
    for (yo, orow) in out.chunks_exact_mut(wu).enumerate() {
        let dy = yo as f32 - cy;
        // source = R(−θ)·dest in y-down coordinates
        let mut sx = cx - cx * c - dy * s;
        let mut sy = cy - cx * s + dy * c;
        for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
            (*x, *y) = (sx, sy);
            sx += c;
            sy += s;
        }
        for i in 0..wu {
            inside[i] = (xs[i] >= 0.0 && ys[i] >= 0.0 && xs[i] < xmax && ys[i] < ymax) as u8;
            let (x, y) = (xs[i].max(0.0).min(xin), ys[i].max(0.0).min(yin));
            let (x0, y0) = (trunc_in_range(x), trunc_in_range(y));
            (wx[i], wy[i]) = (x - x0 as f32, y - y0 as f32);
            at[i] = y0 as u32 * w + x0 as u32;
        }
        for (i, &k) in at.iter().enumerate() {
            let k = k as usize;
            (pa[i], pb[i], pc[i], pd[i]) = (raw[k], raw[k + 1], raw[k + wu], raw[k + wu + 1]);
        }
        for (i, o) in blended.iter_mut().enumerate() {
            let (a, b, c, d) = (pa[i] as f32, pb[i] as f32, pc[i] as f32, pd[i] as f32);
            let top = a + (b - a) * wx[i];
            let bot = c + (d - c) * wx[i];
            // within 0.5..=255.5: the same byte as the saturating cast
            *o = trunc_in_range(top + (bot - top) * wy[i] + 0.5) as u8;
        }
        for ((o, &v), &ok) in orow.iter_mut().zip(&blended).zip(&inside) {
            if ok != 0 {
                *o = v;
            }
        }
    }
    GrayImage::from_raw(w, h, out).expect("sized")
}

/// Rectangle crop helper used by the engine: a copy of `g` inside `[x0,x1)×[y0,y1)`, clamped.
pub fn crop(g: &GrayImage, x0: u32, y0: u32, x1: u32, y1: u32) -> GrayImage {
    let (w, h) = g.dimensions();
    let (x0, y0, x1, y1) = (
        x0.min(w),
        y0.min(h),
        x1.min(w).max(x0.min(w)),
        y1.min(h).max(y0.min(h)),
    );
    let mut out = GrayImage::new(x1 - x0, y1 - y0);
    for y in y0..y1 {
        let src = &g.as_raw()[(y * w + x0) as usize..(y * w + x1) as usize];
        let dst_w = (x1 - x0) as usize;
        out.as_mut()[(y - y0) as usize * dst_w..(y - y0 + 1) as usize * dst_w].copy_from_slice(src);
    }
    out
}

/// Put `g` on white paper with `pad` pixels of margin on every side.
pub fn pad_white(g: &GrayImage, pad: u32) -> GrayImage {
    let (w, h) = g.dimensions();
    let mut out = GrayImage::from_pixel(w + 2 * pad, h + 2 * pad, Luma([255]));
    image::imageops::replace(&mut out, g, pad as i64, pad as i64);
    out
}

/// `image::imageops::resize(g, nw, nh, FilterType::Triangle)`, the same bytes, made for one
/// channel: the library resamples a grey image through a four-channel float copy, pixel by
/// pixel. Here the rows are blended whole (first the columns into a float copy, then the
/// rows of it), each sum made of the same products in the same order.
pub fn resize_triangle(g: &GrayImage, nw: u32, nh: u32) -> GrayImage {
    let (w, h) = g.dimensions();
    if w == 0 || h == 0 {
        return GrayImage::new(nw, nh);
    }
    if (nw, nh) == (w, h) {
        return g.clone();
    }
    // the library's taps: the first source index and the normalised weights of each output
    // position along an axis of `len` → `new_len`
    let taps = |len: u32, new_len: u32| -> Vec<(usize, Vec<f32>)> {
        let ratio = len as f32 / new_len as f32;
        let sratio = if ratio < 1.0 { 1.0 } else { ratio };
        let support = sratio;
        (0..new_len)
            .map(|o| {
                let input = (o as f32 + 0.5) * ratio;
                let left = ((input - support).floor() as i64).clamp(0, len as i64 - 1);
                let right = ((input + support).ceil() as i64).clamp(left + 1, len as i64);
                let input = input - 0.5;
                let mut ws: Vec<f32> = (left..right)
                    .map(|i| {
                        let x = (i as f32 - input) / sratio;
                        if x.abs() < 1.0 {
                            1.0 - x.abs()
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let mut sum = 0.0f32;
                for &v in &ws {
                    sum += v;
                }
                for v in ws.iter_mut() {
                    *v /= sum;
                }
                (left as usize, ws)
            })
            .collect()
    };
    let (w, nwu) = (w as usize, nw as usize);
    // columns first: each output row a weighted sum of whole source rows
    let mut tmp = vec![0f32; w * nh as usize];
    let src = g.as_raw();
    for (row, (left, ws)) in tmp.chunks_exact_mut(w).zip(taps(h, nh)) {
        for (i, &wt) in ws.iter().enumerate() {
            let s = &src[(left + i) * w..][..w];
            for (t, &p) in row.iter_mut().zip(s) {
                *t += p as f32 * wt;
            }
        }
    }
    // then along each row
    let across = taps(w as u32, nw);
    let mut out = vec![0u8; nwu * nh as usize];
    for (orow, trow) in out.chunks_exact_mut(nwu).zip(tmp.chunks_exact(w)) {
        for (o, (left, ws)) in orow.iter_mut().zip(&across) {
            let mut t = 0.0f32;
            for (&p, &wt) in trow[*left..].iter().zip(ws) {
                t += p * wt;
            }
            *o = round_u8(t);
        }
    }
    GrayImage::from_raw(nw, nh, out).expect("sized")
}

/// Rec. 709 luma as `to_luma8` gives it: `(2126 r + 7152 g + 722 b + 5000) / 10000`, in f32,
/// where the compiler makes it four pixels at a time (x86-64's baseline has no vector
/// multiply of 32-bit integers). The sum is an integer below 2²⁴, so exact in f32, and the
/// quotient's floor is the integer quotient (test `luma709_is_the_integer_formula`).
#[inline]
pub fn luma709(r: u8, g: u8, b: u8) -> u32 {
    luma709_of(r as f32, g as f32, b as f32)
}

/// [`luma709`] of channels given as floats (whole numbers 0..=255).
#[inline]
fn luma709_of(r: f32, g: f32, b: f32) -> u32 {
    // the channels are bytes: q is within 0..256
    trunc_in_range((2126.0 * r + 7152.0 * g + 722.0 * b + 5000.0) / 10000.0) as u32
}

/// A grey copy `k` times smaller each way (k × k block means of the luminance), made without
/// a full-size grey copy first.
pub fn small_gray(img: &DynamicImage, k: u32) -> GrayImage {
    let (w, h) = (img.width(), img.height());
    let k = k.max(1);
    let (ch, raw): (usize, std::borrow::Cow<[u8]>) = match img {
        DynamicImage::ImageLuma8(g) => (1, std::borrow::Cow::Borrowed(g.as_raw())),
        DynamicImage::ImageRgb8(rgb) => (3, std::borrow::Cow::Borrowed(rgb.as_raw())),
        other => (3, std::borrow::Cow::Owned(other.to_rgb8().into_raw())),
    };
    block_reduce(&raw, (w, h), ch, k, |s, n| ((s + n / 2) / n) as u8)
}

/// A `w × h` image of `ch` channels (1: grey, 3: RGB, whose luma is taken) made `k` times
/// smaller each way: each k × k block's sum of grey levels, and its pixel count, made one
/// byte by `mean` (through a table: the division is the same for every block of a row).
fn block_reduce(raw: &[u8], (w, h): (u32, u32), ch: usize, k: u32, mean: impl Fn(u32, u32) -> u8) -> GrayImage {
    let (sw, sh) = ((w / k).max(1), (h / k).max(1));
    // per block row: the column sums of its rows (whole rows added at a time), then each
    // block's sum over k columns, divided by a table (the division is the same for all)
    let mut cols = vec![0u32; (sw * k) as usize];
    let mut out = Vec::with_capacity(sw as usize * sh as usize);
    let mut table: (u32, Vec<u8>) = (0, Vec::new());
    for sy in 0..sh {
        cols.iter_mut().for_each(|s| *s = 0);
        for y in sy * k..((sy + 1) * k).min(h) {
            let row = &raw[y as usize * w as usize * ch..][..(sw * k) as usize * ch];
            if ch == 1 {
                for (c, &v) in cols.iter_mut().zip(row) {
                    *c += v as u32;
                }
            } else {
                // four pixels at a time, their channels gathered first
                let mut cs = cols.chunks_exact_mut(4);
                let mut ps = row.chunks_exact(12);
                for (c, p) in (&mut cs).zip(&mut ps) {
                    let chan = |o: usize| [p[o] as f32, p[o + 3] as f32, p[o + 6] as f32, p[o + 9] as f32];
                    let (r, g, b) = (chan(0), chan(1), chan(2));
                    for i in 0..4 {
                        c[i] += luma709_of(r[i], g[i], b[i]);
                    }
                }
                for (c, p) in cs.into_remainder().iter_mut().zip(ps.remainder().chunks_exact(3)) {
                    *c += luma709(p[0], p[1], p[2]);
                }
            }
        }
        let n = k * k.min(h - sy * k);
        if table.0 != n {
            table = (n, (0..=255 * n).map(|s| mean(s, n)).collect());
        }
        out.extend(cols.chunks_exact(k as usize).map(|b| table.1[b.iter().sum::<u32>() as usize]));
    }
    GrayImage::from_raw(sw, sh, out).expect("sized")
}

/// A phone photo of a page: the page (light paper) lies on a darker background, seen at an
/// angle. Finds the page's four corners on a downscaled copy and maps the quadrilateral back
/// onto an upright rectangle of the image's size (a perspective warp), so ruled tables are
/// straight again. `None` when the image is not such a photo (the page reaches the edges, as
/// in a flatbed scan).
pub fn rectify_photo(img: &DynamicImage) -> Option<DynamicImage> {
    let (w, h) = (img.width(), img.height());
    if w < 200 || h < 200 {
        return None;
    }
    // a small grey copy, ~400 px wide
    let k = (w / 400).max(1);
    let small = small_gray(img, k);
    let (sw, sh) = small.dimensions();
    let t = otsu_threshold(&small);
    let light = |x: u32, y: u32| small.get_pixel(x, y).0[0] > t;
    // the frame must be mostly background, and background clearly darker than paper
    let mut frame = 0usize;
    let mut frame_light = 0usize;
    for x in 0..sw {
        for y in [0, 1, sh - 2, sh - 1] {
            frame += 1;
            frame_light += light(x, y) as usize;
        }
    }
    for y in 0..sh {
        for x in [0, 1, sw - 2, sw - 1] {
            frame += 1;
            frame_light += light(x, y) as usize;
        }
    }
    if frame_light * 2 > frame {
        return None;
    }
    let (mut dark_sum, mut dark_n, mut light_sum, mut light_n) = (0u64, 0u64, 0u64, 0u64);
    for p in small.pixels() {
        if p.0[0] > t {
            light_sum += p.0[0] as u64;
            light_n += 1;
        } else {
            dark_sum += p.0[0] as u64;
            dark_n += 1;
        }
    }
    if light_n == 0 || dark_n == 0 || light_sum / light_n < dark_sum / dark_n + 50 {
        return None;
    }
    // the largest light component: the page
    let mut label = vec![0u32; (sw * sh) as usize];
    let (mut best, mut best_n, mut next) = (0u32, 0usize, 1u32);
    let mut stack = Vec::new();
    for start in 0..(sw * sh) as usize {
        let (x, y) = (start as u32 % sw, start as u32 / sw);
        if label[start] != 0 || !light(x, y) {
            continue;
        }
        let id = next;
        next += 1;
        label[start] = id;
        stack.push(start);
        let mut n = 0;
        while let Some(i) = stack.pop() {
            n += 1;
            let (x, y) = (i as u32 % sw, i as u32 / sw);
            for (dx, dy) in [(-1i32, 0i32), (1, 0), (0, -1), (0, 1)] {
                let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                if nx < 0 || ny < 0 || nx >= sw as i32 || ny >= sh as i32 {
                    continue;
                }
                let j = (ny as u32 * sw + nx as u32) as usize;
                if label[j] == 0 && light(nx as u32, ny as u32) {
                    label[j] = id;
                    stack.push(j);
                }
            }
        }
        if n > best_n {
            best_n = n;
            best = id;
        }
    }
    if best_n < (sw * sh) as usize / 3 {
        return None;
    }
    // corners: the page's extreme points along the diagonals
    let (mut tl, mut tr, mut br, mut bl) = ((f32::MAX, 0.0, 0.0), (f32::MIN, 0.0, 0.0), (f32::MIN, 0.0, 0.0), (f32::MAX, 0.0, 0.0));
    for (i, &l) in label.iter().enumerate() {
        if l != best {
            continue;
        }
        let (x, y) = ((i as u32 % sw) as f32 + 0.5, (i as u32 / sw) as f32 + 0.5);
        if x + y < tl.0 {
            tl = (x + y, x, y);
        }
        if x + y > br.0 {
            br = (x + y, x, y);
        }
        if x - y > tr.0 {
            tr = (x - y, x, y);
        }
        if x - y < bl.0 {
            bl = (x - y, x, y);
        }
    }
    let sx = w as f32 / sw as f32;
    let sy = h as f32 / sh as f32;
    let quad = [tl, tr, br, bl].map(|c| ((c.1 * sx) as f64, (c.2 * sy) as f64));
    let dst = [(0.0, 0.0), (w as f64, 0.0), (w as f64, h as f64), (0.0, h as f64)];
    let hm = homography(&dst, &quad)?.map(|v| v as f32);
    let rgb = match img {
        DynamicImage::ImageRgb8(rgb) => std::borrow::Cow::Borrowed(rgb),
        other => std::borrow::Cow::Owned(other.to_rgb8()),
    };
    let mut out = vec![0u8; w as usize * h as usize * 3];
    let mut rows = WarpRows::new(w as usize);
    for (y, row) in out.chunks_exact_mut(w as usize * 3).enumerate() {
        rows.row(rgb.as_raw(), (w, h), &hm, y, row);
    }
    let out = image::RgbImage::from_raw(w, h, out).expect("sized");
    Some(DynamicImage::ImageRgb8(out))
}

/// The bilinear perspective warp of an RGB image, row by row: each source position's
/// neighbours and weights, the same arithmetic for each as [`warp_pixel`] makes, but in
/// passes over whole arrays (positions, then the twelve source bytes, then each channel's
/// blend), several pixels per instruction.
struct WarpRows {
    /// the four neighbours' byte offsets (top left, top right, bottom left, bottom right)
    at: [Vec<u32>; 4],
    au: Vec<f32>,
    av: Vec<f32>,
    /// the neighbours' bytes, channel by channel: `px[n * 3 + ch]`
    px: [Vec<u8>; 12],
    blend: [Vec<u8>; 3],
}

impl WarpRows {
    fn new(w: usize) -> Self {
        WarpRows {
            at: std::array::from_fn(|_| vec![0; w]),
            au: vec![0.0; w],
            av: vec![0.0; w],
            px: std::array::from_fn(|_| vec![0; w]),
            blend: std::array::from_fn(|_| vec![0; w]),
        }
    }

    fn row(&mut self, raw: &[u8], (w, h): (u32, u32), hm: &[f32; 9], y: usize, out: &mut [u8]) {
        let fy = y as f32 + 0.5;
        // a source position far outside (a homography that nearly folds) takes the plain path,
        // whose conversions saturate
        let far = 1.0e6f32;
        let mut near = true;
        let (wi, hi) = (w as i32, h as i32);
        for x in 0..w as usize {
            let fx = x as f32 + 0.5;
            let z = hm[6] * fx + hm[7] * fy + hm[8];
            let u = (hm[0] * fx + hm[1] * fy + hm[2]) / z - 0.5;
            let v = (hm[3] * fx + hm[4] * fy + hm[5]) / z - 0.5;
            near &= u.abs() < far && v.abs() < far;
            let (u, v) = (u.max(-far).min(far), v.max(-far).min(far));
            let (iu, iv) = (floor_in_range(u), floor_in_range(v));
            (self.au[x], self.av[x]) = (u - iu as f32, v - iv as f32);
            let (x0, x1) = (iu.clamp(0, wi - 1), (iu + 1).clamp(0, wi - 1));
            let (y0, y1) = (iv.clamp(0, hi - 1) * wi, (iv + 1).clamp(0, hi - 1) * wi);
            for (n, o) in [y0 + x0, y0 + x1, y1 + x0, y1 + x1].into_iter().enumerate() {
                self.at[n][x] = o as u32 * 3;
            }
        }
        if !near {
            for (x, o) in out.chunks_exact_mut(3).enumerate() {
                o.copy_from_slice(&warp_pixel(raw, (w, h), hm, x, y));
            }
            return;
        }
        for n in 0..4 {
            for (x, &a) in self.at[n].iter().enumerate() {
                let p = &raw[a as usize..a as usize + 3];
                for ch in 0..3 {
                    self.px[n * 3 + ch][x] = p[ch];
                }
            }
        }
        for ch in 0..3 {
            let [a, b, c, d] = [&self.px[ch], &self.px[3 + ch], &self.px[6 + ch], &self.px[9 + ch]];
            for x in 0..w as usize {
                let (au, av) = (self.au[x], self.av[x]);
                let top = a[x] as f32 * (1.0 - au) + b[x] as f32 * au;
                let bot = c[x] as f32 * (1.0 - au) + d[x] as f32 * au;
                self.blend[ch][x] = round_u8(top * (1.0 - av) + bot * av);
            }
        }
        for (x, o) in out.chunks_exact_mut(3).enumerate() {
            o.copy_from_slice(&[self.blend[0][x], self.blend[1][x], self.blend[2][x]]);
        }
    }
}

/// One pixel of the perspective warp: the source position of output pixel (x, y) under `hm`,
/// its four neighbours (clamped to the image) blended bilinearly.
fn warp_pixel(raw: &[u8], (w, h): (u32, u32), hm: &[f32; 9], x: usize, y: usize) -> [u8; 3] {
    let (wi, hi) = (w as i64, h as i64);
    let at = |xx: i64, yy: i64| (yy.clamp(0, hi - 1) * wi + xx.clamp(0, wi - 1)) as usize * 3;
    let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
    let z = hm[6] * fx + hm[7] * fy + hm[8];
    let u = (hm[0] * fx + hm[1] * fy + hm[2]) / z - 0.5;
    let v = (hm[3] * fx + hm[4] * fy + hm[5]) / z - 0.5;
    let (iu, iv) = (floor_i64(u), floor_i64(v));
    let (au, av) = (u - iu as f32, v - iv as f32);
    let (a, b, c, d) = (at(iu, iv), at(iu + 1, iv), at(iu, iv + 1), at(iu + 1, iv + 1));
    std::array::from_fn(|ch| {
        let top = raw[a + ch] as f32 * (1.0 - au) + raw[b + ch] as f32 * au;
        let bot = raw[c + ch] as f32 * (1.0 - au) + raw[d + ch] as f32 * au;
        round_u8(top * (1.0 - av) + bot * av)
    })
}

/// The homography taking the four `from` points to the four `to` points (row-major 3 × 3);
/// `None` for a degenerate quadrilateral. (The scan sample generator warps pages with it too.)
pub fn homography(from: &[(f64, f64); 4], to: &[(f64, f64); 4]) -> Option<[f64; 9]> {
    let mut a = [[0f64; 9]; 8];
    for i in 0..4 {
        let ((x, y), (u, v)) = (from[i], to[i]);
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for c in 0..8 {
        let p = (c..8).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-9 {
            return None;
        }
        a.swap(c, p);
        for r in 0..8 {
            if r != c {
                let f = a[r][c] / a[c][c];
                for k in c..9 {
                    a[r][k] -= f * a[c][k];
                }
            }
        }
    }
    let h: Vec<f64> = (0..8).map(|i| a[i][8] / a[i][i]).collect();
    Some([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0])
}

/// Bounding boxes `(x0, y0, x1, y1)` (inclusive) of the 8-connected components of a
/// `w`×`h` mask.
pub fn components(mask: &[bool], w: usize, h: usize) -> Vec<(usize, usize, usize, usize)> {
    // on a grid with a one-cell empty border, so neighbours need no bounds checks
    let pw = w + 2;
    let mut seen = vec![true; pw * (h + 2)];
    for y in 0..h {
        for x in 0..w {
            seen[(y + 1) * pw + x + 1] = !mask[y * w + x];
        }
    }
    let offsets = [pw + 1, pw, pw - 1, 1];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..seen.len() {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % pw - 1, i / pw - 1);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
            for o in offsets {
                for j in [i - o, i + o] {
                    if !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push((x0, y0, x1, y1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The warp made in passes over rows gives the per-pixel warp's bytes: a photo-like
    /// image with noise, under homographies that tilt, shrink and enlarge it, with source
    /// positions inside, on the edges and far outside the image.
    #[test]
    fn warp_rows_give_the_per_pixel_bytes() {
        let (w, h) = (301u32, 207u32);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let rgb = image::RgbImage::from_fn(w, h, |x, y| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let paper = if (x / 40 + y / 30) % 3 == 0 { 70u8 } else { 225 };
            image::Rgb([paper ^ (seed as u8 & 15), paper ^ ((seed >> 8) as u8 & 15), paper ^ ((seed >> 16) as u8 & 31)])
        });
        let dst = [(0.0, 0.0), (w as f64, 0.0), (w as f64, h as f64), (0.0, h as f64)];
        let quads = [
            [(20.0, 15.0), (280.0, 30.0), (290.0, 200.0), (10.0, 180.0)],
            [(-30.0, -20.0), (340.0, 5.0), (310.0, 250.0), (-5.0, 230.0)],
            [(100.0, 80.0), (160.0, 82.0), (161.0, 130.0), (98.0, 128.0)],
            [(0.0, 0.0), (w as f64, 0.0), (w as f64, h as f64), (0.0, h as f64)],
            // nearly folded: positions run far out
            [(0.0, 0.0), (300.0, 0.0), (150.0, 1.0), (0.0, 200.0)],
        ];
        for quad in quads {
            let hm = homography(&dst, &quad).expect("homography").map(|v| v as f32);
            let mut rows = WarpRows::new(w as usize);
            let mut row = vec![0u8; w as usize * 3];
            for y in 0..h as usize {
                rows.row(rgb.as_raw(), (w, h), &hm, y, &mut row);
                for x in 0..w as usize {
                    assert_eq!(row[x * 3..x * 3 + 3], warp_pixel(rgb.as_raw(), (w, h), &hm, x, y), "{quad:?} at ({x}, {y})");
                }
            }
        }
    }
}
