//! Bare page images (JPEG, PNG, TIFF — multi-page TIFF page by page) → page bitmaps.
//!
//! Memory is bounded per page, never per file: pages are produced one at a time (an iterator,
//! [`Pages`], or the callback [`for_each_page`]), and every page is downscaled *while it is
//! decoded* to at most a 300-dpi A4 equivalent ([`ImageLimits::target_long`] ×
//! [`ImageLimits::target_short`], 3508 × 2480 px). Non-interlaced PNG and stripped or tiled TIFF
//! are streamed row by row / chunk by chunk, so even a 12,000 × 12,000 page never exists at full
//! size; JPEG (and interlaced PNG) is decoded whole only when its buffer fits
//! [`ImageLimits::max_alloc`] (256 MiB), else refused with [`ReadError::TooLarge`].
//!
//! Output pages are `image::DynamicImage::ImageLuma8` (grey sources) or `ImageRgb8` (colour
//! sources — the red seal needs colour); alpha is composited onto white paper.
//!
//! The row [`Downscaler`] is shared with `read::pdfimage`.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::Path;

use image::{DynamicImage, GrayImage, ImageDecoder, RgbImage};

use super::ReadError;

/// Limits for decoding one page image. `Default` is what the pipeline should use.
#[derive(Clone, Debug)]
pub struct ImageLimits {
    /// Largest buffer one decoder may allocate for a page (bytes). Default 256 MiB.
    pub max_alloc: u64,
    /// Largest accepted width or height in source pixels. Default 65,000.
    pub max_side: u32,
    /// Pages read from one multi-page file; the page after these is an error. Default 200.
    pub max_pages: usize,
    /// Pages are downscaled (never upscaled) so the long side is ≤ this… Default 3508.
    pub target_long: u32,
    /// …and the short side ≤ this (300 dpi A4 = 2480 × 3508). Default 2480.
    pub target_short: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_alloc: 256 << 20,
            max_side: 65_000,
            max_pages: 200,
            target_long: 3508,
            target_short: 2480,
        }
    }
}

impl ImageLimits {
    /// Output size for a source of `w × h`: the largest size ≤ the targets, aspect kept.
    pub fn target_size(&self, w: u32, h: u32) -> (u32, u32) {
        let (long, short) = if w >= h { (w, h) } else { (h, w) };
        let s = (self.target_long as f64 / long.max(1) as f64)
            .min(self.target_short as f64 / short.max(1) as f64)
            .min(1.0);
        if s >= 1.0 {
            return (w, h);
        }
        (
            ((w as f64 * s).round() as u32).max(1),
            ((h as f64 * s).round() as u32).max(1),
        )
    }

    fn check_side(&self, w: u32, h: u32) -> Result<(), ReadError> {
        if w == 0 || h == 0 {
            return Err(ReadError::Damaged(format!("image of {w} × {h} pixels")));
        }
        if w > self.max_side || h > self.max_side {
            return Err(ReadError::TooLarge(format!(
                "image of {w} × {h} pixels exceeds the {} px side limit",
                self.max_side
            )));
        }
        Ok(())
    }

    pub(crate) fn check_alloc(&self, what: &str, bytes: u64) -> Result<(), ReadError> {
        if bytes > self.max_alloc {
            return Err(ReadError::TooLarge(format!(
                "{what} would need {} MiB to decode, over the {} MiB limit",
                bytes >> 20,
                self.max_alloc >> 20
            )));
        }
        Ok(())
    }
}

/// One decoded page.
#[derive(Clone, Debug)]
pub struct PageImage {
    /// 0-based page index in the file.
    pub index: usize,
    /// `ImageLuma8` or `ImageRgb8`, already downscaled to the limits' target.
    pub image: DynamicImage,
    /// Size as stored in the file, before downscaling.
    pub source_size: (u32, u32),
    /// Output pixels per source pixel (≤ 1).
    pub scale: f32,
    /// Resolution of `image` (after scaling) as recorded in the file (JFIF density, PNG pHYs,
    /// TIFF XResolution); `None` when the file does not say.
    pub dpi: Option<f32>,
}

impl PageImage {
    /// Resolution to tell the OCR engine: the recorded one when plausible, else estimated by
    /// assuming the page is A4 (long side 11.69 in).
    pub fn effective_dpi(&self) -> f32 {
        match self.dpi {
            Some(d) if (70.0..=2400.0).contains(&d) => d,
            _ => estimate_a4_dpi(self.image.width(), self.image.height()),
        }
    }
}

/// Resolution of a `w × h` bitmap if it shows a whole A4 page.
pub fn estimate_a4_dpi(w: u32, h: u32) -> f32 {
    (w.max(h) as f32 / 11.69).clamp(50.0, 1200.0)
}

/// `x.round().clamp(0.0, 255.0) as u8`, the same value for every `x`, without a call into
/// libm: x86-64's baseline instruction set has no rounding instruction, so `f32::round` is a
/// function call, made per channel of every pixel where images are resampled or warped.
#[inline]
pub fn round_u8(x: f32) -> u8 {
    // negatives, zero and NaN give 0 (`max` takes the number), 255 and above 255; no branch,
    // so that loops of it run several values per instruction
    let c = x.max(0.0).min(255.0);
    // the fraction c − trunc(c) is exact: halves round up, as `round` does
    let i = trunc_in_range(c);
    (i + i32::from(c - i as f32 >= 0.5)) as u8
}

/// `x as i32` for a pixel position or value: `x` truncated toward zero, for `x` within
/// ±2·10⁹ (beyond, the bound's; NaN gives −2·10⁹). Unlike `as`, whose saturation the
/// compiler makes pixel by pixel, this stays in the vector.
#[inline]
pub fn trunc_in_range(x: f32) -> i32 {
    const BOUND: f32 = 2.0e9;
    let x = x.max(-BOUND).min(BOUND);
    // SAFETY: x is now finite and within ±2·10⁹, inside i32's range
    unsafe { x.to_int_unchecked::<i32>() }
}

/// [`floor_i64`] for a pixel position, as an `i32` the compiler keeps in the vector (see
/// [`trunc_in_range`]): `x` rounded down, for `x` within ±2·10⁹.
#[inline]
pub fn floor_in_range(x: f32) -> i32 {
    let t = trunc_in_range(x);
    // one less where truncation went up (negative fractions)
    t - i32::from(t as f32 > x)
}

/// `x.floor() as i64` without a call into libm (see [`round_u8`]), for |x| below 2⁶³.
#[inline]
pub fn floor_i64(x: f32) -> i64 {
    let i = x as i64;
    if (i as f32) > x {
        i - 1
    } else {
        i
    }
}

/// Formats this module reads, recognised by magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Tiff,
}

/// The image format by magic bytes, or `None`.
pub fn sniff(head: &[u8]) -> Option<ImageFormat> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if head.starts_with(b"II*\0")
        || head.starts_with(b"MM\0*")
        || head.starts_with(b"II+\0")
        || head.starts_with(b"MM\0+")
    {
        Some(ImageFormat::Tiff)
    } else {
        None
    }
}

/// A seekable buffered reader, boxed so [`Pages`] is one type for files and memory.
pub trait ReadSeek: BufRead + Seek {}
impl<T: BufRead + Seek> ReadSeek for T {}

/// The pages of one image file, decoded lazily one at a time.
pub struct Pages<'a> {
    limits: ImageLimits,
    state: State<'a>,
}

enum State<'a> {
    Single(Box<dyn ReadSeek + 'a>, ImageFormat),
    Tiff {
        dec: Box<tiff::decoder::Decoder<Box<dyn ReadSeek + 'a>>>,
        index: usize,
    },
    Done,
}

/// Open an image file for page-by-page decoding.
pub fn open(path: &Path, limits: &ImageLimits) -> Result<Pages<'static>, ReadError> {
    let f = File::open(path)?;
    if f.metadata()?.len() == 0 {
        return Err(ReadError::Empty);
    }
    Pages::new(Box::new(BufReader::with_capacity(1 << 16, f)), limits)
}

/// Decode from bytes already in memory.
pub fn from_bytes<'a>(bytes: &'a [u8], limits: &ImageLimits) -> Result<Pages<'a>, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    Pages::new(Box::new(Cursor::new(bytes)), limits)
}

/// Call `f` with each page of the file in turn (one page in memory at a time). `f` may stop
/// early with `ControlFlow::Break`. Returns the number of pages passed to `f`. The first page
/// that fails to decode ends the walk with its error.
pub fn for_each_page(
    path: &Path,
    limits: &ImageLimits,
    mut f: impl FnMut(PageImage) -> ControlFlow<()>,
) -> Result<usize, ReadError> {
    let mut n = 0;
    for page in open(path, limits)? {
        n += 1;
        if f(page?).is_break() {
            break;
        }
    }
    Ok(n)
}

impl<'a> Pages<'a> {
    fn new(mut r: Box<dyn ReadSeek + 'a>, limits: &ImageLimits) -> Result<Self, ReadError> {
        let mut head = [0u8; 8];
        let n = read_up_to(&mut r, &mut head)?;
        r.seek(SeekFrom::Start(0))?;
        let fmt = sniff(&head[..n]).ok_or_else(|| {
            ReadError::Unsupported("not a JPEG, PNG or TIFF image (magic bytes)".into())
        })?;
        let state = match fmt {
            ImageFormat::Tiff => {
                let mut tl = tiff::decoder::Limits::default();
                tl.decoding_buffer_size = limits.max_alloc as usize;
                tl.intermediate_buffer_size = (limits.max_alloc / 2) as usize;
                let dec = tiff::decoder::Decoder::new(r)
                    .map_err(tiff_err)?
                    .with_limits(tl);
                State::Tiff {
                    dec: Box::new(dec),
                    index: 0,
                }
            }
            f => State::Single(r, f),
        };
        Ok(Pages {
            limits: limits.clone(),
            state,
        })
    }
}

impl Iterator for Pages<'_> {
    type Item = Result<PageImage, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Done => None,
            State::Single(r, ImageFormat::Jpeg) => Some(decode_jpeg(r, &self.limits)),
            State::Single(r, _) => Some(decode_png(r, &self.limits)),
            State::Tiff { mut dec, index } => {
                if index > 0 {
                    if !dec.more_images() {
                        return None;
                    }
                    if index >= self.limits.max_pages {
                        return Some(Err(ReadError::TooLarge(format!(
                            "more than {} pages in one TIFF",
                            self.limits.max_pages
                        ))));
                    }
                    if let Err(e) = dec.next_image() {
                        return Some(Err(tiff_err(e)));
                    }
                }
                let page = decode_tiff_page(&mut dec, &self.limits).map(|mut p| {
                    p.index = index;
                    p
                });
                // A damaged page does not end the file: the IFD chain may still be intact.
                self.state = State::Tiff {
                    dec,
                    index: index + 1,
                };
                Some(page)
            }
        }
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Row formats and the streaming downscaler

/// Pixel layout of 8-bit rows fed to the [`Downscaler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SrcFmt {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
    Cmyk,
}

impl SrcFmt {
    pub(crate) fn channels(self) -> usize {
        match self {
            SrcFmt::Gray => 1,
            SrcFmt::GrayAlpha => 2,
            SrcFmt::Rgb => 3,
            SrcFmt::Rgba | SrcFmt::Cmyk => 4,
        }
    }
    fn out_channels(self) -> usize {
        match self {
            SrcFmt::Gray | SrcFmt::GrayAlpha => 1,
            _ => 3,
        }
    }
}

/// Area-averaging downscaler fed one source row at a time; holds only two output rows of
/// accumulators plus the output bitmap. Rows are 8-bit in a [`SrcFmt`]; output is grey for grey
/// sources and RGB otherwise.
pub(crate) struct Downscaler {
    src_w: u32,
    src_h: u32,
    dst_w: u32,
    dst_h: u32,
    fmt: SrcFmt,
    och: usize,
    /// per source column: (first dest column, weight into it, weight into the next)
    xmap: Vec<(u32, f32, f32)>,
    /// 1 / horizontal weight gathered by each dest column (≈ 1; exact at the edges)
    colnorm: Vec<f32>,
    sy: f64,
    y: u32,
    /// accumulators for dest rows `acc_row` and `acc_row + 1`, and their weights
    acc: [Vec<f32>; 2],
    accw: [f32; 2],
    acc_row: u32,
    conv: Vec<u8>,
    hrow: Vec<f32>,
    out: Vec<u8>,
}

impl Downscaler {
    pub(crate) fn new(
        src_w: u32,
        src_h: u32,
        fmt: SrcFmt,
        limits: &ImageLimits,
    ) -> Result<Self, ReadError> {
        limits.check_side(src_w, src_h)?;
        let (dst_w, dst_h) = limits.target_size(src_w, src_h);
        let och = fmt.out_channels();
        let out_bytes = dst_w as u64 * dst_h as u64 * och as u64;
        limits.check_alloc("the downscaled page", out_bytes)?;
        let sx = dst_w as f64 / src_w as f64;
        let xmap = (0..src_w)
            .map(|x| {
                let a = x as f64 * sx;
                let b = (x + 1) as f64 * sx;
                let j = (a.floor() as u32).min(dst_w - 1);
                if b <= (j + 1) as f64 + 1e-9 || j + 1 >= dst_w {
                    (j, (b - a) as f32, 0.0)
                } else {
                    (j, ((j + 1) as f64 - a) as f32, (b - (j + 1) as f64) as f32)
                }
            })
            .collect();
        let mut colw = vec![0f32; dst_w as usize];
        for &(j, w0, w1) in &xmap {
            colw[j as usize] += w0;
            if w1 > 0.0 {
                colw[j as usize + 1] += w1;
            }
        }
        let colnorm = colw.iter().map(|w| 1.0 / w.max(1e-6)).collect();
        let wlen = dst_w as usize * och;
        Ok(Downscaler {
            src_w,
            src_h,
            dst_w,
            dst_h,
            fmt,
            och,
            xmap,
            colnorm,
            sy: dst_h as f64 / src_h as f64,
            y: 0,
            acc: [vec![0.0; wlen], vec![0.0; wlen]],
            accw: [0.0; 2],
            acc_row: 0,
            conv: vec![0; src_w as usize * och],
            hrow: vec![0.0; wlen],
            out: Vec::with_capacity(out_bytes as usize),
        })
    }

    pub(crate) fn rows_done(&self) -> u32 {
        self.y
    }

    /// Feed the next source row (`src_w * fmt.channels()` bytes; longer rows are cut).
    pub(crate) fn push(&mut self, row: &[u8]) {
        if self.y >= self.src_h {
            return;
        }
        let w = self.src_w as usize;
        convert_row(
            self.fmt,
            &row[..(w * self.fmt.channels()).min(row.len())],
            &mut self.conv,
        );
        let och = self.och;
        if self.dst_w == self.src_w && self.dst_h == self.src_h {
            self.out.extend_from_slice(&self.conv[..w * och]);
            self.y += 1;
            return;
        }
        // horizontal pass
        self.hrow.iter_mut().for_each(|v| *v = 0.0);
        for (x, &(j, w0, w1)) in self.xmap.iter().enumerate() {
            let s = &self.conv[x * och..x * och + och];
            let d = j as usize * och;
            for (h, &v) in self.hrow[d..d + och].iter_mut().zip(s) {
                *h += v as f32 * w0;
            }
            if w1 > 0.0 {
                for (h, &v) in self.hrow[d + och..d + 2 * och].iter_mut().zip(s) {
                    *h += v as f32 * w1;
                }
            }
        }
        // vertical distribution
        let a = self.y as f64 * self.sy;
        let b = (self.y + 1) as f64 * self.sy;
        let j = (a.floor() as u32).min(self.dst_h - 1);
        while j > self.acc_row {
            self.flush_row();
        }
        let (w0, w1) = if b <= (j + 1) as f64 + 1e-9 || j + 1 >= self.dst_h {
            ((b - a) as f32, 0.0)
        } else {
            (((j + 1) as f64 - a) as f32, (b - (j + 1) as f64) as f32)
        };
        for (acc, h) in self.acc[0].iter_mut().zip(&self.hrow) {
            *acc += h * w0;
        }
        self.accw[0] += w0;
        if w1 > 0.0 {
            for (acc, h) in self.acc[1].iter_mut().zip(&self.hrow) {
                *acc += h * w1;
            }
            self.accw[1] += w1;
        }
        self.y += 1;
    }

    /// Feed a row of all-white paper (padding for truncated data).
    pub(crate) fn push_white(&mut self) {
        let row = vec![
            if self.fmt == SrcFmt::Cmyk { 0 } else { 255 };
            self.src_w as usize * self.fmt.channels()
        ];
        self.push(&row);
    }

    fn flush_row(&mut self) {
        let inv_wy = 1.0 / self.accw[0].max(1e-6);
        let och = self.och;
        for (col, px) in self.acc[0].chunks_exact(och).enumerate() {
            let n = inv_wy * self.colnorm[col];
            for v in px {
                self.out.push(round_u8(v * n));
            }
        }
        self.acc.swap(0, 1);
        self.acc[1].iter_mut().for_each(|v| *v = 0.0);
        self.accw = [self.accw[1], 0.0];
        self.acc_row += 1;
    }

    /// Finish: pads missing rows with white and returns the page.
    pub(crate) fn finish(mut self) -> DynamicImage {
        while self.y < self.src_h {
            self.push_white();
        }
        if !(self.dst_w == self.src_w && self.dst_h == self.src_h) {
            while self.acc_row < self.dst_h {
                self.flush_row();
            }
        }
        let (w, h) = (self.dst_w, self.dst_h);
        self.out.truncate(w as usize * h as usize * self.och);
        if self.och == 1 {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, self.out).expect("sized"))
        } else {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, self.out).expect("sized"))
        }
    }

    pub(crate) fn scale(&self) -> f32 {
        self.dst_w as f32 / self.src_w as f32
    }
}

/// Convert a source row to the output channels (grey or RGB), compositing alpha on white.
fn convert_row(fmt: SrcFmt, row: &[u8], out: &mut [u8]) {
    match fmt {
        SrcFmt::Gray => out[..row.len()].copy_from_slice(row),
        SrcFmt::Rgb => out[..row.len()].copy_from_slice(row),
        SrcFmt::GrayAlpha => {
            for (o, p) in out.iter_mut().zip(row.chunks_exact(2)) {
                *o = over_white(p[0], p[1]);
            }
        }
        SrcFmt::Rgba => {
            for (o, p) in out.chunks_exact_mut(3).zip(row.chunks_exact(4)) {
                o[0] = over_white(p[0], p[3]);
                o[1] = over_white(p[1], p[3]);
                o[2] = over_white(p[2], p[3]);
            }
        }
        SrcFmt::Cmyk => {
            for (o, p) in out.chunks_exact_mut(3).zip(row.chunks_exact(4)) {
                let k = 255 - p[3] as u32;
                o[0] = ((255 - p[0] as u32) * k / 255) as u8;
                o[1] = ((255 - p[1] as u32) * k / 255) as u8;
                o[2] = ((255 - p[2] as u32) * k / 255) as u8;
            }
        }
    }
}

#[inline]
fn over_white(v: u8, a: u8) -> u8 {
    ((v as u32 * a as u32 + 255 * (255 - a as u32)) / 255) as u8
}

// ---------------------------------------------------------------------------------------------
// JPEG

fn image_err(e: image::ImageError) -> ReadError {
    match e {
        image::ImageError::Limits(l) => ReadError::TooLarge(l.to_string()),
        image::ImageError::Unsupported(u) => ReadError::Unsupported(u.to_string()),
        image::ImageError::IoError(io) => ReadError::Damaged(io.to_string()),
        other => ReadError::Damaged(other.to_string()),
    }
}

/// JFIF density → dots per inch, if the APP0 segment says.
fn jfif_dpi(head: &[u8]) -> Option<f32> {
    // FF D8 FF E0 len(2) 'JFIF\0' ver(2) units(1) xd(2) yd(2)
    if head.len() < 18 || head[2..4] != [0xFF, 0xE0] || &head[6..11] != b"JFIF\0" {
        return None;
    }
    let units = head[13];
    let xd = u16::from_be_bytes([head[14], head[15]]) as f32;
    match units {
        1 if xd > 0.0 => Some(xd),
        2 if xd > 0.0 => Some(xd * 2.54),
        _ => None,
    }
}

fn decode_jpeg(
    mut r: Box<dyn ReadSeek + '_>,
    limits: &ImageLimits,
) -> Result<PageImage, ReadError> {
    let mut head = [0u8; 20];
    let n = read_up_to(&mut r, &mut head)?;
    r.seek(SeekFrom::Start(0))?;
    let dpi = jfif_dpi(&head[..n]);
    let (image, source_size, scale) = decode_jpeg_reader(r, limits, false)?;
    Ok(PageImage {
        index: 0,
        image,
        source_size,
        scale,
        dpi: dpi.map(|d| d * scale),
    })
}

/// Decode a JPEG stream (also PDF DCTDecode) through the downscaler. `invert` applies a
/// PDF `/Decode [1 0 …]`. EXIF orientation is applied to the (small) result.
pub(crate) fn decode_jpeg_reader(
    r: impl BufRead + Seek,
    limits: &ImageLimits,
    invert: bool,
) -> Result<(DynamicImage, (u32, u32), f32), ReadError> {
    let mut dec = image::codecs::jpeg::JpegDecoder::new(r).map_err(image_err)?;
    let (w, h) = dec.dimensions();
    limits.check_side(w, h)?;
    let mut il = image::Limits::default();
    il.max_alloc = Some(limits.max_alloc);
    dec.set_limits(il).map_err(image_err)?;
    limits.check_alloc("the JPEG image", dec.total_bytes())?;
    let fmt = match dec.color_type() {
        image::ColorType::L8 => SrcFmt::Gray,
        image::ColorType::Rgb8 => SrcFmt::Rgb,
        image::ColorType::Rgba8 => SrcFmt::Rgba,
        image::ColorType::La8 => SrcFmt::GrayAlpha,
        other => {
            return Err(ReadError::Unsupported(format!(
                "JPEG colour type {other:?}"
            )))
        }
    };
    let orientation = dec
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut buf = vec![0u8; dec.total_bytes() as usize];
    dec.read_image(&mut buf).map_err(image_err)?;
    if invert {
        buf.iter_mut().for_each(|v| *v = 255 - *v);
    }
    let mut ds = Downscaler::new(w, h, fmt, limits)?;
    let stride = w as usize * fmt.channels();
    for row in buf.chunks_exact(stride) {
        ds.push(row);
    }
    drop(buf);
    let scale = ds.scale();
    let mut img = ds.finish();
    img.apply_orientation(orientation);
    Ok((img, (w, h), scale))
}

// ---------------------------------------------------------------------------------------------
// PNG

fn png_err(e: png::DecodingError) -> ReadError {
    match e {
        png::DecodingError::LimitsExceeded => {
            ReadError::TooLarge("PNG decoder allocation limit".into())
        }
        png::DecodingError::IoError(io) => ReadError::Damaged(format!("PNG: {io}")),
        other => ReadError::Damaged(format!("PNG: {other}")),
    }
}

fn decode_png(r: Box<dyn ReadSeek + '_>, limits: &ImageLimits) -> Result<PageImage, ReadError> {
    let mut dec = png::Decoder::new_with_limits(
        r,
        png::Limits {
            bytes: limits.max_alloc as usize,
        },
    );
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(png_err)?;
    let (w, h, interlaced, dpi) = {
        let info = reader.info();
        let dpi = info.pixel_dims.and_then(|d| match d.unit {
            png::Unit::Meter if d.xppu > 0 => Some(d.xppu as f32 * 0.0254),
            _ => None,
        });
        (info.width, info.height, info.interlaced, dpi)
    };
    limits.check_side(w, h)?;
    let fmt = match reader.output_color_type().0 {
        png::ColorType::Grayscale => SrcFmt::Gray,
        png::ColorType::GrayscaleAlpha => SrcFmt::GrayAlpha,
        png::ColorType::Rgb => SrcFmt::Rgb,
        png::ColorType::Rgba => SrcFmt::Rgba,
        png::ColorType::Indexed => {
            return Err(ReadError::Unsupported(
                "PNG palette without expansion".into(),
            ))
        }
    };
    let mut ds = Downscaler::new(w, h, fmt, limits)?;
    if interlaced {
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| ReadError::TooLarge("PNG size".into()))?;
        limits.check_alloc("the interlaced PNG", size as u64)?;
        let mut buf = vec![0u8; size];
        let info = reader.next_frame(&mut buf).map_err(png_err)?;
        for row in buf.chunks_exact(info.line_size).take(h as usize) {
            ds.push(row);
        }
    } else {
        loop {
            match reader.next_row() {
                Ok(Some(row)) => ds.push(row.data()),
                Ok(None) => break,
                // a truncated scan still has its first rows: pad with white, but not if empty
                Err(e)
                    if ds.rows_done() > 0 && !matches!(e, png::DecodingError::LimitsExceeded) =>
                {
                    break
                }
                Err(e) => return Err(png_err(e)),
            }
        }
    }
    let scale = ds.scale();
    Ok(PageImage {
        index: 0,
        image: ds.finish(),
        source_size: (w, h),
        scale,
        dpi: dpi.map(|d| d * scale),
    })
}

// ---------------------------------------------------------------------------------------------
// TIFF

fn tiff_err(e: tiff::TiffError) -> ReadError {
    use tiff::TiffError as T;
    match e {
        T::LimitsExceeded => ReadError::TooLarge("TIFF decoder allocation limit".into()),
        T::UnsupportedError(u) => ReadError::Unsupported(format!("TIFF: {u}")),
        T::IoError(io) => ReadError::Damaged(format!("TIFF: {io}")),
        other => ReadError::Damaged(format!("TIFF: {other}")),
    }
}

fn rational(v: tiff::decoder::ifd::Value) -> Option<f32> {
    use tiff::decoder::ifd::Value;
    match v {
        Value::Rational(n, d) if d > 0 => Some(n as f32 / d as f32),
        Value::Short(n) => Some(n as f32),
        Value::Unsigned(n) => Some(n as f32),
        Value::Float(f) => Some(f),
        Value::Double(f) => Some(f as f32),
        Value::List(mut l) if !l.is_empty() => rational(l.swap_remove(0)),
        _ => None,
    }
}

/// How to turn one decoded TIFF chunk row into an 8-bit [`SrcFmt`] row.
struct TiffRowConv {
    bits: u8,
    /// samples per pixel in the decoded data
    spp: usize,
    /// palette → RGB
    palette: Option<Vec<[u8; 3]>>,
}

impl TiffRowConv {
    fn convert(&self, src: &[u8], width: usize, out: &mut Vec<u8>) {
        out.clear();
        match (&self.palette, self.bits) {
            (Some(pal), b) => {
                for x in 0..width {
                    let i = sample_at(src, x, b as usize) as usize;
                    out.extend_from_slice(&pal[i.min(pal.len() - 1)]);
                }
            }
            (None, 8) => out.extend_from_slice(&src[..(width * self.spp).min(src.len())]),
            (None, b @ (1 | 2 | 4)) => {
                let maxv = (1u32 << b) - 1;
                for i in 0..width * self.spp {
                    out.push((sample_at(src, i, b as usize) * 255 / maxv) as u8);
                }
            }
            _ => {}
        }
    }
}

/// The `i`-th `bits`-wide sample of a packed MSB-first row.
#[inline]
pub(crate) fn sample_at(row: &[u8], i: usize, bits: usize) -> u32 {
    match bits {
        8 => row.get(i).copied().unwrap_or(0) as u32,
        16 => {
            let j = i * 2;
            ((row.get(j).copied().unwrap_or(0) as u32) << 8)
                | row.get(j + 1).copied().unwrap_or(0) as u32
        }
        b => {
            let bit = i * b;
            let byte = row.get(bit / 8).copied().unwrap_or(0) as u32;
            let shift = 8 - b - bit % 8;
            (byte >> shift) & ((1 << b) - 1)
        }
    }
}

fn decode_tiff_page<R: Read + Seek>(
    dec: &mut tiff::decoder::Decoder<R>,
    limits: &ImageLimits,
) -> Result<PageImage, ReadError> {
    use tiff::tags::Tag;
    use tiff::ColorType as C;
    let (w, h) = dec.dimensions().map_err(tiff_err)?;
    limits.check_side(w, h)?;
    let ct = dec.colortype().map_err(tiff_err)?;
    let planar = dec
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .ok()
        .flatten()
        .unwrap_or(1);
    let dpi = dec
        .find_tag(Tag::XResolution)
        .ok()
        .flatten()
        .and_then(rational)
        .and_then(|x| {
            match dec
                .find_tag_unsigned::<u16>(Tag::ResolutionUnit)
                .ok()
                .flatten()
                .unwrap_or(2)
            {
                2 => Some(x),
                3 => Some(x * 2.54),
                _ => None,
            }
        });
    let (fmt, bits, spp) = match ct {
        C::Gray(b @ (1 | 2 | 4 | 8 | 16)) => (SrcFmt::Gray, b, 1),
        C::GrayA(b @ (8 | 16)) => (SrcFmt::GrayAlpha, b, 2),
        C::RGB(b @ (8 | 16)) => (SrcFmt::Rgb, b, 3),
        // JPEG-compressed YCbCr comes out of the decoder as RGB
        C::YCbCr(8) => (SrcFmt::Rgb, 8, 3),
        C::RGBA(b @ (8 | 16)) => (SrcFmt::Rgba, b, 4),
        C::CMYK(8) => (SrcFmt::Cmyk, 8, 4),
        C::Palette(b @ (1 | 2 | 4 | 8)) => (SrcFmt::Rgb, b, 1),
        other => {
            return Err(ReadError::Unsupported(format!(
                "TIFF colour type {other:?}"
            )))
        }
    };
    if planar == 2 && spp > 1 {
        return Err(ReadError::Unsupported(
            "planar (separate-plane) colour TIFF".into(),
        ));
    }
    let palette = if let C::Palette(b) = ct {
        let map = dec.get_tag_u16_vec(Tag::ColorMap).map_err(tiff_err)?;
        let n = 1usize << b;
        if map.len() < 3 * n {
            return Err(ReadError::Damaged(
                "TIFF palette shorter than 3 × 2^bits".into(),
            ));
        }
        Some(
            (0..n)
                .map(|i| {
                    [
                        (map[i] >> 8) as u8,
                        (map[n + i] >> 8) as u8,
                        (map[2 * n + i] >> 8) as u8,
                    ]
                })
                .collect(),
        )
    } else {
        None
    };
    let conv = TiffRowConv {
        bits: if bits == 16 { 8 } else { bits },
        spp,
        palette,
    };
    let mut ds = Downscaler::new(w, h, fmt, limits)?;
    let mut row8 = Vec::with_capacity(w as usize * fmt.channels());

    // Bytes of one decoded row of `cw` pixels, after 16-bit samples are narrowed to 8.
    let row_bytes = |cw: usize| -> usize {
        if bits >= 8 {
            cw * spp
        } else {
            (cw * spp * bits as usize).div_ceil(8)
        }
    };
    let to_u8 = |res: tiff::decoder::DecodingResult| -> Result<Vec<u8>, ReadError> {
        use tiff::decoder::DecodingResult as D;
        Ok(match res {
            D::U8(v) => v,
            D::U16(v) => v.into_iter().map(|s| (s >> 8) as u8).collect(),
            _ => return Err(ReadError::Unsupported("TIFF sample format".into())),
        })
    };

    let (cw, ch) = dec.chunk_dimensions();
    match dec.get_chunk_type() {
        tiff::decoder::ChunkType::Strip => {
            let strips = dec.strip_count().map_err(tiff_err)?;
            for i in 0..strips {
                let (sw, sh) = dec.chunk_data_dimensions(i);
                let data = match dec.read_chunk(i).map_err(tiff_err).and_then(to_u8) {
                    Ok(d) => d,
                    Err(e @ ReadError::TooLarge(_)) => return Err(e),
                    // a damaged strip after good ones: keep what we have, pad with white
                    Err(_) if ds.rows_done() > 0 => break,
                    Err(e) => return Err(e),
                };
                let rb = row_bytes(sw as usize);
                for r in data.chunks(rb).take(sh as usize) {
                    conv.convert(r, w as usize, &mut row8);
                    ds.push(&row8);
                }
            }
        }
        tiff::decoder::ChunkType::Tile => {
            let across = w.div_ceil(cw);
            let down = h.div_ceil(ch);
            let band_row = row_bytes(w as usize);
            if bits < 8 && !(cw as usize * spp * bits as usize).is_multiple_of(8) {
                return Err(ReadError::Unsupported(
                    "tiled sub-byte TIFF with unaligned tiles".into(),
                ));
            }
            limits.check_alloc("one band of TIFF tiles", band_row as u64 * ch as u64)?;
            let mut band = vec![0u8; band_row * ch as usize];
            for ty in 0..down {
                let mut band_h = 0;
                for tx in 0..across {
                    let idx = ty * across + tx;
                    let (tw, th) = dec.chunk_data_dimensions(idx);
                    let data = to_u8(dec.read_chunk(idx).map_err(tiff_err)?)?;
                    let trb = row_bytes(tw as usize);
                    let off = row_bytes((tx * cw) as usize);
                    for (r, src) in data.chunks(trb).take(th as usize).enumerate() {
                        let dst = &mut band[r * band_row + off..];
                        let n = trb.min(dst.len()).min(src.len());
                        dst[..n].copy_from_slice(&src[..n]);
                    }
                    band_h = band_h.max(th as usize);
                }
                for r in band.chunks(band_row).take(band_h) {
                    conv.convert(r, w as usize, &mut row8);
                    ds.push(&row8);
                }
            }
        }
    }
    let scale = ds.scale();
    Ok(PageImage {
        index: 0,
        image: ds.finish(),
        source_size: (w, h),
        scale,
        dpi: dpi.map(|d| d * scale),
    })
}

#[cfg(test)]
mod tests {
    use super::{floor_i64, floor_in_range, round_u8, trunc_in_range};

    /// The inline rounding and floor give what `f32::round` / `f32::floor` give, at every
    /// half, around every integer and at the extremes.
    #[test]
    fn inline_round_and_floor_are_the_library_ones() {
        let mut xs = vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0, f32::MIN_POSITIVE, 1e9, -1e9];
        for k in -300..300 {
            let k = k as f32;
            for d in [0.0f32, 0.5, 0.499_999_97, 0.500_000_06, 1e-6, 0.999_999_9, -1e-6, -0.5, -0.499_999_97] {
                xs.push(k + d);
            }
            xs.push(f32::from_bits((k + 0.5).to_bits().wrapping_sub(1)));
            xs.push(f32::from_bits((k + 0.5).to_bits().wrapping_add(1)));
        }
        let mut n = 0x1234_5678u32;
        for _ in 0..100_000 {
            n = n.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            xs.push((n >> 8) as f32 / (1 << 24) as f32 * 600.0 - 300.0);
        }
        for x in xs {
            assert_eq!(round_u8(x), x.round().clamp(0.0, 255.0) as u8, "round {x} ({:#x})", x.to_bits());
            if x.is_finite() {
                assert_eq!(floor_i64(x), x.floor() as i64, "floor {x}");
            }
            if x.abs() < 2.0e9 {
                assert_eq!(floor_in_range(x), x.floor() as i32, "floor {x}");
            }
            assert_eq!(trunc_in_range(x), if x.is_nan() { -2_000_000_000 } else { x.clamp(-2.0e9, 2.0e9) as i32 }, "trunc {x}");
        }
    }

    use super::*;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    /// Counts bytes allocated by the current thread, so a test can assert a decoder's peak.
    struct Counting;
    thread_local! {
        static CUR: Cell<usize> = const { Cell::new(0) };
        static PEAK: Cell<usize> = const { Cell::new(0) };
    }
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let _ = CUR.try_with(|c| {
                let v = c.get() + l.size();
                c.set(v);
                let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
            });
            unsafe { System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            let _ = CUR.try_with(|c| c.set(c.get().saturating_sub(l.size())));
            unsafe { System.dealloc(p, l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
            let _ = CUR.try_with(|c| {
                let v = (c.get() + n).saturating_sub(l.size());
                c.set(v);
                let _ = PEAK.try_with(|pk| pk.set(pk.get().max(v)));
            });
            unsafe { System.realloc(p, l, n) }
        }
    }
    #[global_allocator]
    static GLOBAL: Counting = Counting;

    fn reset_peak() -> usize {
        let cur = CUR.with(|c| c.get());
        PEAK.with(|p| p.set(cur));
        cur
    }
    fn peak_since(base: usize) -> usize {
        PEAK.with(|p| p.get()).saturating_sub(base)
    }

    #[test]
    fn huge_png_is_downscaled_while_streaming() {
        // 12,000 × 12,000 grey: mostly white with black bars, compresses to a few hundred KiB.
        let (w, h) = (12_000u32, 12_000u32);
        let mut png_bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png_bytes, w, h);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::Fast);
            let mut wr = enc.write_header().unwrap();
            let mut sw = wr.stream_writer().unwrap();
            let white = vec![255u8; w as usize];
            let mut bar = white.clone();
            bar[1000..11000].iter_mut().for_each(|v| *v = 0);
            use std::io::Write;
            for y in 0..h {
                sw.write_all(if y % 1000 < 20 { &bar } else { &white })
                    .unwrap();
            }
            sw.finish().unwrap();
        }
        assert!(
            png_bytes.len() < 8 << 20,
            "test PNG is {} bytes",
            png_bytes.len()
        );

        let limits = ImageLimits::default();
        let base = reset_peak();
        let mut pages = from_bytes(&png_bytes, &limits).unwrap();
        let page = pages.next().unwrap().unwrap();
        let peak = peak_since(base);
        assert!(pages.next().is_none());
        eprintln!("12,000 × 12,000 PNG: decoder peak {:.1} MiB", peak as f64 / 1048576.0);
        assert_eq!(page.source_size, (w, h));
        assert_eq!((page.image.width(), page.image.height()), (2480, 2480));
        assert!(peak < limits.max_alloc as usize, "peak {peak} bytes");
        // well below a full-size decode (144 MB): only the output and a few rows
        assert!(
            peak < 40 << 20,
            "streaming decode peaked at {} MiB",
            peak >> 20
        );
        // the bars survive downscaling: row at source y=10 → dest y≈2 is dark in the middle
        let g = page.image.to_luma8();
        assert!(
            g.get_pixel(1240, 2).0[0] < 60,
            "bar lost: {}",
            g.get_pixel(1240, 2).0[0]
        );
        assert!(g.get_pixel(1240, 100).0[0] > 250);
        assert!(g.get_pixel(50, 2).0[0] > 250, "left margin should be white");
    }

    #[test]
    fn jpeg_over_alloc_limit_is_refused() {
        let img = RgbImage::from_pixel(1000, 800, image::Rgb([240, 240, 240]));
        let mut jpg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 85)
            .encode_image(&img)
            .unwrap();
        let limits = ImageLimits {
            max_alloc: 1 << 20,
            ..Default::default()
        };
        let err = from_bytes(&jpg, &limits)
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, ReadError::TooLarge(_)), "{err:?}");
        // with the default limits it decodes, RGB, full size (under target)
        let page = from_bytes(&jpg, &ImageLimits::default())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert!(matches!(page.image, DynamicImage::ImageRgb8(_)));
        assert_eq!((page.image.width(), page.image.height()), (1000, 800));
        assert_eq!(page.scale, 1.0);
    }

    #[test]
    fn multipage_tiff_page_by_page() {
        use tiff::encoder::{colortype, TiffEncoder};
        let mut buf = Cursor::new(Vec::new());
        {
            let mut enc = TiffEncoder::new(&mut buf).unwrap();
            for p in 0..5u32 {
                // page p: a black square whose x position encodes the page number
                let (w, h) = (400u32, 560u32);
                let mut data = vec![255u8; (w * h) as usize];
                for y in 100..150 {
                    for x in (50 + p * 60)..(100 + p * 60) {
                        data[(y * w + x) as usize] = 0;
                    }
                }
                enc.write_image::<colortype::Gray8>(w, h, &data).unwrap();
            }
            // and one RGB page
            let rgb = vec![200u8; 300 * 200 * 3];
            enc.write_image::<colortype::RGB8>(300, 200, &rgb).unwrap();
        }
        let bytes = buf.into_inner();
        let mut n = 0;
        for (i, page) in from_bytes(&bytes, &ImageLimits::default())
            .unwrap()
            .enumerate()
        {
            let page = page.unwrap();
            assert_eq!(page.index, i);
            if i < 5 {
                let g = page.image.as_luma8().expect("grey page");
                assert_eq!(g.dimensions(), (400, 560));
                let x = 75 + i as u32 * 60;
                assert_eq!(g.get_pixel(x, 125).0[0], 0, "page {i}");
                assert_eq!(g.get_pixel(x + 60, 125).0[0], 255, "page {i}");
            } else {
                assert_eq!(
                    page.image.as_rgb8().expect("rgb page").dimensions(),
                    (300, 200)
                );
            }
            n += 1;
        }
        assert_eq!(n, 6);

        // the page limit: at most 3 pages, then an error
        let limits = ImageLimits {
            max_pages: 3,
            ..Default::default()
        };
        let res: Vec<_> = from_bytes(&bytes, &limits).unwrap().collect();
        assert_eq!(res.len(), 4);
        assert!(matches!(res[3], Err(ReadError::TooLarge(_))));
    }

    /// A 50-page TIFF (A4 at 150 dpi, 2.2 MB a page decoded, 109 MB in all) is read a page at
    /// a time: every page comes out, and memory never holds more than a few of them.
    #[test]
    fn fifty_page_tiff_is_read_page_by_page_in_bounded_memory() {
        use tiff::encoder::{colortype, TiffEncoder};
        let (w, h) = (1240u32, 1754u32);
        let mut buf = Cursor::new(Vec::new());
        {
            let mut enc = TiffEncoder::new(&mut buf).unwrap();
            let mut data = vec![255u8; (w * h) as usize];
            for p in 0..50u32 {
                // page p: a dark bar at a height that tells the page
                data.iter_mut().for_each(|v| *v = 255);
                let y0 = 100 + p * 30;
                data[(y0 * w) as usize..((y0 + 10) * w) as usize].iter_mut().for_each(|v| *v = 0);
                enc.write_image::<colortype::Gray8>(w, h, &data).unwrap();
            }
        }
        let bytes = buf.into_inner();
        assert!(bytes.len() > 50 * (w * h) as usize, "uncompressed: {} bytes", bytes.len());
        let base = reset_peak();
        let mut n = 0;
        for (i, page) in from_bytes(&bytes, &ImageLimits::default()).unwrap().enumerate() {
            let g = page.unwrap().image.to_luma8();
            assert_eq!(g.dimensions(), (w, h));
            let y0 = 100 + i as u32 * 30;
            assert_eq!(g.get_pixel(600, y0 + 5).0[0], 0, "page {i}");
            assert_eq!(g.get_pixel(600, y0 + 15).0[0], 255, "page {i}");
            n += 1;
        }
        assert_eq!(n, 50);
        let peak = peak_since(base);
        let page = (w * h) as usize;
        eprintln!("50-page TIFF: peak {:.1} MiB", peak as f64 / 1048576.0);
        assert!(peak < 6 * page, "reading 50 pages peaked at {:.1} MiB ({:.1} pages)", peak as f64 / 1048576.0, peak as f64 / page as f64);
    }

    #[test]
    fn tiff_600dpi_strips_downscaled_with_dpi() {
        use tiff::encoder::{colortype, Rational, TiffEncoder};
        let mut buf = Cursor::new(Vec::new());
        {
            let mut enc = TiffEncoder::new(&mut buf).unwrap();
            let (w, h) = (4960u32, 7016u32); // A4 at 600 dpi
            let mut img = enc.new_image::<colortype::Gray8>(w, h).unwrap();
            img.resolution(tiff::tags::ResolutionUnit::Inch, Rational { n: 600, d: 1 });
            let mut y = 0u32;
            while img.next_strip_sample_count() > 0 {
                let n = img.next_strip_sample_count() as usize;
                let rows = n / w as usize;
                let mut strip = vec![255u8; n];
                for r in 0..rows {
                    if (y + r as u32) % 200 < 4 {
                        strip[r * w as usize..(r + 1) * w as usize].fill(0);
                    }
                }
                img.write_strip(&strip).unwrap();
                y += rows as u32;
            }
            img.finish().unwrap();
        }
        let bytes = buf.into_inner();
        let page = from_bytes(&bytes, &ImageLimits::default())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!((page.image.width(), page.image.height()), (2480, 3508));
        let dpi = page.dpi.unwrap();
        assert!((dpi - 300.0).abs() < 1.0, "{dpi}");
        assert!((page.effective_dpi() - 300.0).abs() < 1.0);
    }

    /// A minimal little-endian TIFF: one bilevel page, CCITT G4 (compression 4), WhiteIsZero —
    /// what office scanners write. Built by hand since the tiff encoder has no G4.
    fn g4_tiff(w: u16, h: u16, black: impl Fn(u16, u16) -> bool) -> Vec<u8> {
        use fax::{encoder::Encoder, Color, VecWriter};
        let mut enc = Encoder::new(VecWriter::new());
        for y in 0..h {
            let pels = (0..w).map(|x| {
                if black(x, y) {
                    Color::Black
                } else {
                    Color::White
                }
            });
            enc.encode_line(pels, w).unwrap();
        }
        let data = enc.finish().unwrap().finish();
        let mut t = Vec::new();
        t.extend_from_slice(b"II*\0");
        t.extend_from_slice(&8u32.to_le_bytes());
        let entries: Vec<(u16, u16, u32, u32)> = vec![
            // tag, type (3 short, 4 long, 5 rational), count, value/offset
            (256, 3, 1, w as u32),
            (257, 3, 1, h as u32),
            (258, 3, 1, 1),
            (259, 3, 1, 4),
            (262, 3, 1, 0),
            (273, 4, 1, 0), // strip offset, patched below
            (277, 3, 1, 1),
            (278, 3, 1, h as u32),
            (279, 4, 1, data.len() as u32),
            (282, 5, 1, 0), // XResolution offset, patched
            (283, 5, 1, 0),
            (296, 3, 1, 2),
        ];
        let ifd_len = 2 + entries.len() * 12 + 4;
        let rat_off = 8 + ifd_len as u32;
        let data_off = rat_off + 8;
        t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, ty, count, mut val) in entries {
            if tag == 273 {
                val = data_off;
            }
            if tag == 282 || tag == 283 {
                val = rat_off;
            }
            t.extend_from_slice(&tag.to_le_bytes());
            t.extend_from_slice(&ty.to_le_bytes());
            t.extend_from_slice(&count.to_le_bytes());
            if ty == 3 {
                t.extend_from_slice(&(val as u16).to_le_bytes());
                t.extend_from_slice(&[0, 0]);
            } else {
                t.extend_from_slice(&val.to_le_bytes());
            }
        }
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(&200u32.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&data);
        t
    }

    #[test]
    fn tiff_bilevel_g4() {
        let (w, h) = (1700u16, 2200u16); // letter at 200 dpi
        let bytes = g4_tiff(w, h, |x, y| {
            (300..340).contains(&y) && (100..1600).contains(&x) || (x / 7 + y / 7) % 50 == 0
        });
        let page = from_bytes(&bytes, &ImageLimits::default())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let g = page.image.as_luma8().expect("bilevel decodes to grey");
        assert_eq!(g.dimensions(), (1700, 2200));
        assert_eq!(g.get_pixel(800, 320).0[0], 0, "black bar must be black");
        assert_eq!(g.get_pixel(800, 200).0[0], 255, "paper must be white");
        assert_eq!(page.dpi, Some(200.0));
    }

    #[test]
    fn unknown_and_damaged() {
        assert!(matches!(
            from_bytes(b"%PDF-1.4 hello", &ImageLimits::default()),
            Err(ReadError::Unsupported(_))
        ));
        assert!(matches!(
            from_bytes(b"", &ImageLimits::default()),
            Err(ReadError::Empty)
        ));
        let mut png_bytes = Vec::new();
        image::DynamicImage::ImageLuma8(GrayImage::from_pixel(100, 100, image::Luma([128])))
            .write_to(&mut Cursor::new(&mut png_bytes), image::ImageFormat::Png)
            .unwrap();
        png_bytes.truncate(40);
        let r = from_bytes(&png_bytes, &ImageLimits::default())
            .unwrap()
            .next()
            .unwrap();
        assert!(matches!(r, Err(ReadError::Damaged(_))), "{r:?}");
    }

    #[test]
    fn downscaler_averages_areas() {
        let limits = ImageLimits {
            target_long: 2,
            target_short: 2,
            ..Default::default()
        };
        let mut ds = Downscaler::new(4, 4, SrcFmt::Gray, &limits).unwrap();
        for y in 0..4 {
            let v = if y < 2 { 0 } else { 200 };
            ds.push(&[v, v, 100, 100]);
        }
        let g = ds.finish().to_luma8();
        assert_eq!(g.dimensions(), (2, 2));
        assert_eq!(g.as_raw(), &vec![0, 100, 200, 100]);
        // 3 → 2 (fractional weights)
        let mut ds = Downscaler::new(
            3,
            1,
            SrcFmt::Gray,
            &ImageLimits {
                target_long: 2,
                target_short: 2,
                ..Default::default()
            },
        )
        .unwrap();
        ds.push(&[0, 90, 180]);
        let g = ds.finish().to_luma8();
        // dest col 0 = (0*1 + 90*0.5)/1.5 = 30; col 1 = (90*0.5 + 180)/1.5 = 150
        assert_eq!(g.as_raw(), &vec![30, 150]);
    }
}
