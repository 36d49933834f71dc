//! Page images of image-only (scanned) PDFs, for OCR.
//!
//! For page N: walk the page's content stream (and the Form XObjects it draws, depth- and
//! cycle-limited) tracking the CTM, collect the image XObjects painted with `Do` and their
//! placement; decode the one covering most of the page ([`largest_page_image`]) — a scan is one
//! full-page image.
//!
//! Decoders: DCTDecode (the `image` crate's JPEG decoder), FlateDecode streamed row by row with
//! PNG (10–15) and TIFF (2) predictors, CCITTFaxDecode G4 (K < 0) and 1-D G3 (K = 0) via the
//! pure-Rust `fax` crate, and anything lopdf can decode in front (ASCIIHex, ASCII85, LZW,
//! RunLength). Colour spaces: DeviceGray/RGB/CMYK, CalGray, CalRGB, ICCBased (by /N), Indexed,
//! Separation (as ink coverage), Lab (lightness); 1/2/4/8/16 bits; `/Decode` arrays (so
//! `[1 0]` inverts) and `/ImageMask` stencils. JPXDecode and JBIG2Decode are
//! [`ReadError::Unsupported`].
//!
//! Memory: rows stream through `read::image`'s downscaler, so a page is never held larger than
//! the [`ImageLimits`] target (≈ 300 dpi A4); only DCT, and filters lopdf must decode whole,
//! are checked against `max_alloc` before decoding.
//!
//! The returned bitmap is oriented as the page is displayed (placement rotation/flip and the
//! page's `/Rotate` applied), so OCR sees upright text.

use std::io::{Cursor, Read};

use image::DynamicImage;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use super::image::{decode_jpeg_reader, sample_at, Downscaler, ImageLimits, SrcFmt};
use super::ReadError;

/// Form XObjects nested deeper than this are not entered.
const MAX_FORM_DEPTH: usize = 12;
/// Content operators interpreted per page (all streams together) before giving up.
const MAX_OPS: usize = 4_000_000;
/// Decompressed content (page or form stream) accepted per stream.
const MAX_CONTENT: usize = 64 << 20;

/// An image XObject painted by a page.
#[derive(Clone, Debug)]
pub struct ImageUse {
    pub id: ObjectId,
    /// Pixel size from the image dictionary.
    pub width: u32,
    pub height: u32,
    /// Image space → default user space (points) at the `Do`.
    pub ctm: [f32; 6],
    /// 0 = drawn by the page itself, 1 = inside a Form XObject, …
    pub form_depth: usize,
}

impl ImageUse {
    /// Area covered on the page, in square points.
    pub fn placed_area(&self) -> f32 {
        (self.ctm[0] * self.ctm[3] - self.ctm[1] * self.ctm[2]).abs()
    }
    /// Placed size in points of the image's width and height axes (before any rotation).
    pub fn placed_size_pt(&self) -> (f32, f32) {
        (
            self.ctm[0].hypot(self.ctm[1]),
            self.ctm[2].hypot(self.ctm[3]),
        )
    }
    /// Whether the image's rows run vertically on the page (placed rotated by ±90°).
    fn transposed(&self) -> bool {
        let [a, b, c, d, ..] = self.ctm;
        a.abs() + d.abs() < b.abs() + c.abs()
    }
}

/// A decoded image XObject (not yet oriented for display).
#[derive(Clone, Debug)]
pub struct DecodedImage {
    /// `ImageLuma8` or `ImageRgb8`, downscaled to the limits' target.
    pub image: DynamicImage,
    pub source_size: (u32, u32),
    /// Output pixels per source pixel.
    pub scale: f32,
    /// The last filter (`DCTDecode`, `FlateDecode`, `CCITTFaxDecode`, `none` …).
    pub filter: String,
    /// The data ended early; missing rows were filled with white.
    pub truncated: bool,
}

/// The main image of a scanned page, oriented as displayed.
#[derive(Clone, Debug)]
pub struct PdfPageImage {
    pub image: DynamicImage,
    pub object: ObjectId,
    pub source_size: (u32, u32),
    pub scale: f32,
    /// Displayed size of the image on the page, points (width, height).
    pub placed_pt: (f32, f32),
    /// Displayed page size (MediaBox, /Rotate applied), points.
    pub page_pt: (f32, f32),
    /// Resolution of `image` on the page (pixels per inch of the displayed size).
    pub dpi: f32,
    /// Placed area / page area (≈ 1 for a full-page scan).
    pub coverage: f32,
    pub filter: String,
    pub truncated: bool,
}

fn damaged(what: impl std::fmt::Display) -> ReadError {
    ReadError::Damaged(what.to_string())
}

fn page_id(doc: &Document, page_no: u32) -> Result<ObjectId, ReadError> {
    doc.get_pages()
        .get(&page_no)
        .copied()
        .ok_or_else(|| damaged(format!("no page {page_no} in the PDF")))
}

/// Every image XObject the page paints, in drawing order.
pub fn page_image_uses(doc: &Document, page_no: u32) -> Result<Vec<ImageUse>, ReadError> {
    let pid = page_id(doc, page_no)?;
    let content = doc
        .get_page_content_with_limit(pid, MAX_CONTENT)
        .map_err(|e| ReadError::TooLarge(format!("page {page_no} content: {e}")))?;
    let (direct, ids) = doc.get_page_resources(pid).map_err(damaged)?;
    let mut res: Vec<&Dictionary> = Vec::new();
    if let Some(d) = direct {
        res.push(d);
    }
    for id in ids {
        if let Ok(d) = doc.get_dictionary(id) {
            res.push(d);
        }
    }
    let mut w = Walker {
        doc,
        uses: Vec::new(),
        stack: Vec::new(),
        ops: 0,
    };
    w.walk(&content, &res, IDENTITY, 0);
    Ok(w.uses)
}

/// The image covering most of page `page_no` (1-based), decoded and oriented as displayed;
/// `None` if the page paints no image XObject.
pub fn largest_page_image(
    doc: &Document,
    page_no: u32,
    limits: &ImageLimits,
) -> Result<Option<PdfPageImage>, ReadError> {
    let uses = page_image_uses(doc, page_no)?;
    let Some(best) = uses
        .iter()
        .filter(|u| u.width as u64 * u.height as u64 > 1)
        .max_by(|a, b| {
            a.placed_area()
                .total_cmp(&b.placed_area())
                .then((a.width as u64 * a.height as u64).cmp(&(b.width as u64 * b.height as u64)))
        })
    else {
        return Ok(None);
    };
    let dec = decode_image(doc, best.id, limits)?;
    let pid = page_id(doc, page_no)?;
    let rotate = inherited(doc, pid, b"Rotate")
        .and_then(|o| o.as_i64().ok())
        .unwrap_or(0)
        .rem_euclid(360);
    let mediabox = inherited(doc, pid, b"MediaBox")
        .and_then(|o| o.as_array().ok())
        .and_then(|a| {
            let v: Vec<f32> = a
                .iter()
                .filter_map(|o| deref(doc, o).as_float().ok())
                .collect();
            (v.len() == 4).then(|| ((v[2] - v[0]).abs(), (v[3] - v[1]).abs()))
        })
        .unwrap_or((595.0, 842.0));

    let image = orient(dec.image, best, rotate);
    let quarter = rotate == 90 || rotate == 270;
    let page_pt = if quarter {
        (mediabox.1, mediabox.0)
    } else {
        mediabox
    };
    let (pw, ph) = best.placed_size_pt();
    let placed_pt = if best.transposed() != quarter {
        (ph, pw)
    } else {
        (pw, ph)
    };
    let dpi_x = image.width() as f32 / (placed_pt.0 / 72.0).max(1e-3);
    let dpi_y = image.height() as f32 / (placed_pt.1 / 72.0).max(1e-3);
    Ok(Some(PdfPageImage {
        image,
        object: best.id,
        source_size: dec.source_size,
        scale: dec.scale,
        placed_pt,
        page_pt,
        dpi: (dpi_x + dpi_y) / 2.0,
        coverage: best.placed_area() / (mediabox.0 * mediabox.1).max(1.0),
        filter: dec.filter,
        truncated: dec.truncated,
    }))
}

/// An image XObject as it looks on white paper: its soft mask (`/SMask`, e.g. an electronic
/// seal's transparency) applied (a stencil or colour-key `/Mask` is not), as RGB, not oriented for display.
pub fn decode_on_white(doc: &Document, id: ObjectId, limits: &ImageLimits) -> Result<DynamicImage, ReadError> {
    let dec = decode_image(doc, id, limits)?;
    let mut rgb = dec.image.into_rgb8();
    if let Some(m) = soft_mask(doc, id)? {
        let alpha = decode_image(doc, m, limits)?.image.into_luma8();
        let (w, h) = rgb.dimensions();
        let alpha = if alpha.dimensions() != (w, h) {
            image::imageops::resize(&alpha, w, h, image::imageops::FilterType::Triangle)
        } else {
            alpha
        };
        for (p, a) in rgb.pixels_mut().zip(alpha.pixels()) {
            for c in p.0.iter_mut() {
                *c = on_white(*c, a.0[0]);
            }
        }
    }
    Ok(DynamicImage::ImageRgb8(rgb))
}

/// A colour sample of opacity `a` over white paper (rounded).
pub fn on_white(c: u8, a: u8) -> u8 {
    let (c, a) = (c as u32, a as u32);
    ((c * a + 255 * (255 - a) + 127) / 255) as u8
}

/// The `/SMask` of an image XObject, if it has one.
fn soft_mask(doc: &Document, id: ObjectId) -> Result<Option<ObjectId>, ReadError> {
    let st = doc
        .get_object(id)
        .and_then(Object::as_stream)
        .map_err(|e| damaged(format!("image {id:?}: {e}")))?;
    Ok(match st.dict.get(b"SMask") {
        Ok(Object::Reference(m)) => Some(*m),
        _ => None,
    })
}

/// An image XObject with a soft mask (how electronic seals are usually made: one flat red
/// everywhere, the seal in the alpha): the colour of its first pixel, and the mask at its own
/// resolution. Only the first row of the colour image is decoded: whether it is one colour
/// throughout is [`is_flat`]'s question. `None` when the image has no soft mask.
pub fn first_colour_and_mask(doc: &Document, id: ObjectId, limits: &ImageLimits) -> Result<Option<([u8; 3], image::GrayImage)>, ReadError> {
    let Some(m) = soft_mask(doc, id)? else { return Ok(None) };
    let first = decode_image_rows(doc, id, limits, 1)?.image.into_rgb8();
    let p = first.get_pixel(0, 0).0;
    let alpha = decode_image(doc, m, limits)?.image.into_luma8();
    Ok(Some((p, alpha)))
}

/// Whether an image XObject is one colour throughout.
pub fn is_flat(doc: &Document, id: ObjectId, limits: &ImageLimits) -> Result<bool, ReadError> {
    let dec = decode_image(doc, id, limits)?;
    let rgb = dec.image.into_rgb8();
    let raw = rgb.as_raw();
    Ok(!dec.truncated && raw.chunks_exact(3).all(|p| p == &raw[..3]))
}

/// The displayed page size in points (MediaBox; /Rotate not applied) of page `page_no`.
pub fn page_size_pt(doc: &Document, page_no: u32) -> Option<(f32, f32)> {
    let pid = page_id(doc, page_no).ok()?;
    let a = inherited(doc, pid, b"MediaBox")?.as_array().ok()?;
    let v: Vec<f32> = a.iter().filter_map(|o| deref(doc, o).as_float().ok()).collect();
    (v.len() == 4).then(|| ((v[2] - v[0]).abs(), (v[3] - v[1]).abs()))
}

/// Apply the placement (rotation/flip from the CTM) and the page's /Rotate to a decoded image.
fn orient(img: DynamicImage, u: &ImageUse, rotate: i64) -> DynamicImage {
    let [a, b, c, d, ..] = u.ctm;
    let img = if !u.transposed() {
        let img = if a < 0.0 { img.fliph() } else { img };
        if d < 0.0 {
            img.flipv()
        } else {
            img
        }
    } else {
        // rows run along the page's x axis: transpose (rotate90 + fliph), then fix directions
        let img = img.rotate90().fliph();
        let img = if c > 0.0 { img.fliph() } else { img };
        if b > 0.0 {
            img.flipv()
        } else {
            img
        }
    };
    match rotate {
        90 => img.rotate90(),
        180 => img.rotate180(),
        270 => img.rotate270(),
        _ => img,
    }
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    match o {
        Object::Reference(id) => doc.get_object(*id).unwrap_or(o),
        _ => o,
    }
}

/// A page attribute, inherited through /Parent (MediaBox, Rotate, …).
fn inherited<'a>(doc: &'a Document, page: ObjectId, key: &[u8]) -> Option<&'a Object> {
    let mut node = doc.get_dictionary(page).ok()?;
    for _ in 0..32 {
        if let Ok(v) = node.get(key) {
            return Some(deref(doc, v));
        }
        node = doc
            .get_dictionary(node.get(b"Parent").ok()?.as_reference().ok()?)
            .ok()?;
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Content stream walking

const IDENTITY: [f32; 6] = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m × n` for PDF matrices (row vectors: p' = p × m × n).
fn mul(m: [f32; 6], n: [f32; 6]) -> [f32; 6] {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

#[derive(Debug)]
enum Operand {
    Num(f32),
    Name(Vec<u8>),
    Other,
}

struct Walker<'d> {
    doc: &'d Document,
    uses: Vec<ImageUse>,
    stack: Vec<ObjectId>,
    ops: usize,
}

impl<'d> Walker<'d> {
    fn lookup_xobject(&self, res: &[&'d Dictionary], name: &[u8]) -> Option<ObjectId> {
        for r in res {
            let Ok(xo) = r.get(b"XObject") else { continue };
            let Ok(xo) = deref(self.doc, xo).as_dict() else {
                continue;
            };
            if let Ok(Object::Reference(id)) = xo.get(name) {
                return Some(*id);
            }
        }
        None
    }

    fn walk(&mut self, content: &[u8], res: &[&'d Dictionary], base: [f32; 6], depth: usize) {
        let mut ctm = base;
        let mut saved: Vec<[f32; 6]> = Vec::new();
        let mut operands: Vec<Operand> = Vec::new();
        let mut lx = Lexer { s: content, i: 0 };
        while let Some(tok) = lx.next() {
            let op = match tok {
                Tok::Operand(o) => {
                    if operands.len() < 64 {
                        operands.push(o);
                    }
                    continue;
                }
                Tok::Op(op) => op,
            };
            self.ops += 1;
            if self.ops > MAX_OPS {
                return;
            }
            match op {
                b"q" if saved.len() < 256 => saved.push(ctm),
                b"Q" => {
                    if let Some(m) = saved.pop() {
                        ctm = m;
                    }
                }
                b"cm" if operands.len() >= 6 => {
                    let n = &operands[operands.len() - 6..];
                    let mut m = [0f32; 6];
                    let mut ok = true;
                    for (k, o) in n.iter().enumerate() {
                        match o {
                            Operand::Num(v) => m[k] = *v,
                            _ => ok = false,
                        }
                    }
                    if ok {
                        ctm = mul(m, ctm);
                    }
                }
                b"Do" => {
                    if let Some(Operand::Name(name)) = operands.last() {
                        if let Some(id) = self.lookup_xobject(res, name) {
                            self.paint(id, res, ctm, depth);
                        }
                    }
                }
                _ => {}
            }
            operands.clear();
        }
    }

    fn paint(&mut self, id: ObjectId, res: &[&'d Dictionary], ctm: [f32; 6], depth: usize) {
        let Ok(Object::Stream(st)) = self.doc.get_object(id) else {
            return;
        };
        let subtype = st
            .dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .unwrap_or(b"");
        match subtype {
            b"Image" => {
                let dim = |k: &[u8]| {
                    st.dict
                        .get(k)
                        .ok()
                        .and_then(|o| deref(self.doc, o).as_i64().ok())
                        .unwrap_or(0)
                        .max(0) as u32
                };
                self.uses.push(ImageUse {
                    id,
                    width: dim(b"Width"),
                    height: dim(b"Height"),
                    ctm,
                    form_depth: depth,
                });
            }
            b"Form" => {
                if depth >= MAX_FORM_DEPTH || self.stack.contains(&id) {
                    return;
                }
                let matrix = st
                    .dict
                    .get(b"Matrix")
                    .ok()
                    .and_then(|m| deref(self.doc, m).as_array().ok())
                    .and_then(|a| {
                        let v: Vec<f32> = a.iter().filter_map(|o| o.as_float().ok()).collect();
                        (v.len() == 6).then(|| [v[0], v[1], v[2], v[3], v[4], v[5]])
                    })
                    .unwrap_or(IDENTITY);
                let content = match st.dict.get(b"Filter") {
                    Ok(_) => match st.decompressed_content_with_limit(MAX_CONTENT) {
                        Ok(c) => c,
                        Err(_) => return,
                    },
                    Err(_) => st.content.clone(),
                };
                let own = st
                    .dict
                    .get(b"Resources")
                    .ok()
                    .and_then(|r| deref(self.doc, r).as_dict().ok());
                let inner: Vec<&'d Dictionary> = match own {
                    Some(d) => std::iter::once(d).chain(res.iter().copied()).collect(),
                    None => res.to_vec(),
                };
                self.stack.push(id);
                self.walk(&content, &inner, mul(matrix, ctm), depth + 1);
                self.stack.pop();
            }
            _ => {}
        }
    }
}

enum Tok<'a> {
    Operand(Operand),
    Op(&'a [u8]),
}

/// Just enough of a content-stream tokenizer: numbers, names, operators; strings, arrays,
/// dictionaries and inline image data are skipped.
struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}
fn is_delim(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

impl<'a> Lexer<'a> {
    fn next(&mut self) -> Option<Tok<'a>> {
        let s = self.s;
        loop {
            while self.i < s.len() && is_ws(s[self.i]) {
                self.i += 1;
            }
            if self.i >= s.len() {
                return None;
            }
            let c = s[self.i];
            match c {
                b'%' => {
                    while self.i < s.len() && s[self.i] != b'\n' && s[self.i] != b'\r' {
                        self.i += 1;
                    }
                }
                b'/' => {
                    self.i += 1;
                    let st = self.i;
                    while self.i < s.len() && !is_ws(s[self.i]) && !is_delim(s[self.i]) {
                        self.i += 1;
                    }
                    return Some(Tok::Operand(Operand::Name(unescape_name(&s[st..self.i]))));
                }
                b'(' => {
                    let mut depth = 0usize;
                    while self.i < s.len() {
                        match s[self.i] {
                            b'\\' => self.i += 1,
                            b'(' => depth += 1,
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    self.i += 1;
                                    break;
                                }
                            }
                            _ => {}
                        }
                        self.i += 1;
                    }
                    return Some(Tok::Operand(Operand::Other));
                }
                b'<' if s.get(self.i + 1) == Some(&b'<') => {
                    self.i += 2;
                    return Some(Tok::Operand(Operand::Other));
                }
                b'>' if s.get(self.i + 1) == Some(&b'>') => {
                    self.i += 2;
                    return Some(Tok::Operand(Operand::Other));
                }
                b'<' => {
                    while self.i < s.len() && s[self.i] != b'>' {
                        self.i += 1;
                    }
                    self.i += 1;
                    return Some(Tok::Operand(Operand::Other));
                }
                b'[' | b']' | b'{' | b'}' | b'>' | b')' => {
                    self.i += 1;
                    return Some(Tok::Operand(Operand::Other));
                }
                _ => {
                    let st = self.i;
                    while self.i < s.len() && !is_ws(s[self.i]) && !is_delim(s[self.i]) {
                        self.i += 1;
                    }
                    let w = &s[st..self.i];
                    if w[0].is_ascii_digit() || matches!(w[0], b'+' | b'-' | b'.') {
                        let v = std::str::from_utf8(w)
                            .ok()
                            .and_then(|t| t.parse::<f32>().ok());
                        return Some(Tok::Operand(v.map(Operand::Num).unwrap_or(Operand::Other)));
                    }
                    if w == b"ID" {
                        self.skip_inline_image();
                        continue;
                    }
                    if matches!(w, b"true" | b"false" | b"null") {
                        return Some(Tok::Operand(Operand::Other));
                    }
                    return Some(Tok::Op(w));
                }
            }
        }
    }

    /// After `ID`: skip one white-space byte and the data up to a delimited `EI`.
    fn skip_inline_image(&mut self) {
        let s = self.s;
        self.i += 1;
        while self.i + 1 < s.len() {
            if s[self.i] == b'E'
                && s[self.i + 1] == b'I'
                && self.i > 0
                && is_ws(s[self.i - 1])
                && s.get(self.i + 2).is_none_or(|&c| is_ws(c))
            {
                self.i += 2;
                return;
            }
            self.i += 1;
        }
        self.i = s.len();
    }
}

fn unescape_name(n: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(n.len());
    let mut i = 0;
    while i < n.len() {
        if n[i] == b'#' && i + 2 < n.len() {
            if let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&n[i + 1..i + 3]).unwrap_or("zz"), 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(n[i]);
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Colour spaces and sample conversion

#[derive(Clone, Debug)]
enum Cs {
    Gray,
    Rgb,
    Cmyk,
    /// Separation: one tint component, 1 = full ink (shown dark)
    Ink,
    /// CIE Lab: lightness shown as grey
    Lab,
    Indexed {
        base: Box<Cs>,
        hival: u32,
        lut: Vec<u8>,
    },
}

impl Cs {
    fn ncomp(&self) -> usize {
        match self {
            Cs::Gray | Cs::Ink | Cs::Indexed { .. } => 1,
            Cs::Rgb | Cs::Lab => 3,
            Cs::Cmyk => 4,
        }
    }
    fn out_fmt(&self) -> SrcFmt {
        match self {
            Cs::Gray | Cs::Ink | Cs::Lab => SrcFmt::Gray,
            Cs::Rgb => SrcFmt::Rgb,
            Cs::Cmyk => SrcFmt::Cmyk,
            Cs::Indexed { base, .. } => base.out_fmt(),
        }
    }
    fn default_decode(&self, bpc: u8) -> Vec<(f32, f32)> {
        match self {
            Cs::Indexed { .. } => vec![(0.0, ((1u32 << bpc) - 1) as f32)],
            Cs::Lab => vec![(0.0, 100.0), (-100.0, 100.0), (-100.0, 100.0)],
            c => vec![(0.0, 1.0); c.ncomp()],
        }
    }
}

fn by_n(n: i64) -> Result<Cs, ReadError> {
    match n {
        1 => Ok(Cs::Gray),
        3 => Ok(Cs::Rgb),
        4 => Ok(Cs::Cmyk),
        n => Err(ReadError::Unsupported(format!(
            "ICCBased colour space with {n} components"
        ))),
    }
}

fn resolve_cs(doc: &Document, o: &Object, depth: usize) -> Result<Cs, ReadError> {
    if depth > 8 {
        return Err(damaged("colour space nests too deep"));
    }
    let o = deref(doc, o);
    let unsupported =
        |n: &[u8]| ReadError::Unsupported(format!("colour space {}", String::from_utf8_lossy(n)));
    match o {
        Object::Name(n) => match n.as_slice() {
            b"DeviceGray" | b"G" | b"CalGray" => Ok(Cs::Gray),
            b"DeviceRGB" | b"RGB" | b"CalRGB" => Ok(Cs::Rgb),
            b"DeviceCMYK" | b"CMYK" => Ok(Cs::Cmyk),
            other => Err(unsupported(other)),
        },
        Object::Array(a) if !a.is_empty() => {
            let fam = deref(doc, &a[0]).as_name().map_err(damaged)?;
            match fam {
                b"CalGray" => Ok(Cs::Gray),
                b"CalRGB" => Ok(Cs::Rgb),
                b"Lab" => Ok(Cs::Lab),
                b"DeviceGray" | b"DeviceRGB" | b"DeviceCMYK" => resolve_cs(doc, &a[0], depth + 1),
                b"ICCBased" => {
                    let st = a
                        .get(1)
                        .map(|o| deref(doc, o))
                        .and_then(|o| o.as_stream().ok());
                    let st = st.ok_or_else(|| damaged("ICCBased without a profile stream"))?;
                    match st
                        .dict
                        .get(b"N")
                        .ok()
                        .and_then(|o| deref(doc, o).as_i64().ok())
                    {
                        Some(n) => by_n(n),
                        None => match st.dict.get(b"Alternate") {
                            Ok(alt) => resolve_cs(doc, alt, depth + 1),
                            Err(_) => Err(damaged("ICCBased without /N")),
                        },
                    }
                }
                b"Separation" => Ok(Cs::Ink),
                b"Indexed" | b"I" => {
                    if a.len() < 4 {
                        return Err(damaged("Indexed colour space needs 4 entries"));
                    }
                    let base = resolve_cs(doc, &a[1], depth + 1)?;
                    if matches!(base, Cs::Indexed { .. }) {
                        return Err(damaged("Indexed over Indexed"));
                    }
                    let hival = deref(doc, &a[2]).as_i64().map_err(damaged)?.clamp(0, 255) as u32;
                    let lut = match deref(doc, &a[3]) {
                        Object::String(s, _) => s.clone(),
                        Object::Stream(st) => st
                            .decompressed_content_with_limit(1 << 20)
                            .or_else(|_| {
                                if st.dict.has(b"Filter") {
                                    Err(())
                                } else {
                                    Ok(st.content.clone())
                                }
                            })
                            .map_err(|_| damaged("Indexed lookup stream"))?,
                        _ => return Err(damaged("Indexed lookup is not a string")),
                    };
                    let need = (hival as usize + 1) * base.ncomp();
                    let mut lut = lut;
                    if lut.len() < need {
                        // short tables occur in the wild: pad with black rather than fail
                        lut.resize(need, 0);
                    }
                    Ok(Cs::Indexed {
                        base: Box::new(base),
                        hival,
                        lut,
                    })
                }
                other => Err(unsupported(other)),
            }
        }
        _ => Err(damaged("colour space is neither a name nor an array")),
    }
}

/// Converts packed raw sample rows into 8-bit rows of `fmt` for the downscaler.
struct SampleConv {
    cs: Option<Cs>, // None = image mask
    bpc: u8,
    ncomp: usize,
    width: usize,
    /// per component: 2^bpc (or 256 for 16-bit, on the high byte) entries → 8-bit value
    luts: Vec<Vec<u8>>,
    /// 8-bit samples that map to themselves: rows are copied as they are
    identity: bool,
    fmt: SrcFmt,
}

impl SampleConv {
    fn new(
        cs: Option<Cs>,
        bpc: u8,
        width: usize,
        decode: Option<Vec<f32>>,
    ) -> Result<Self, ReadError> {
        if !matches!(bpc, 1 | 2 | 4 | 8 | 16) {
            return Err(damaged(format!("BitsPerComponent {bpc}")));
        }
        let ncomp = cs.as_ref().map_or(1, Cs::ncomp);
        let lbits = bpc.min(8);
        let maxv = ((1u32 << lbits) - 1) as f32;
        let ranges: Vec<(f32, f32)> = match (&decode, &cs) {
            (Some(d), _) if d.len() >= 2 * ncomp => {
                (0..ncomp).map(|c| (d[2 * c], d[2 * c + 1])).collect()
            }
            (_, Some(c)) => c.default_decode(lbits),
            (_, None) => vec![(0.0, 1.0)],
        };
        let mut luts = Vec::with_capacity(ncomp);
        for (c, &(dmin, dmax)) in ranges.iter().enumerate() {
            let lut: Vec<u8> = (0..=maxv as u32)
                .map(|s| {
                    let v = dmin + s as f32 * (dmax - dmin) / maxv;
                    match &cs {
                        // stencil: sample decoding to 0 is painted (black)
                        None => {
                            if v < 0.5 {
                                0
                            } else {
                                255
                            }
                        }
                        Some(Cs::Indexed { hival, .. }) => {
                            v.round().clamp(0.0, *hival as f32) as u8
                        }
                        Some(Cs::Ink) => (255.0 - v * 255.0).round().clamp(0.0, 255.0) as u8,
                        Some(Cs::Lab) if c == 0 => (v * 2.55).round().clamp(0.0, 255.0) as u8,
                        Some(_) => (v * 255.0).round().clamp(0.0, 255.0) as u8,
                    }
                })
                .collect();
            luts.push(lut);
        }
        let fmt = cs.as_ref().map_or(SrcFmt::Gray, Cs::out_fmt);
        let identity = bpc == 8
            && matches!(cs, Some(Cs::Gray | Cs::Rgb | Cs::Cmyk))
            && luts
                .iter()
                .all(|l| l.iter().enumerate().all(|(i, &v)| v as usize == i));
        Ok(SampleConv {
            cs,
            bpc,
            ncomp,
            width,
            luts,
            identity,
            fmt,
        })
    }

    fn row_bytes(&self) -> usize {
        (self.width * self.ncomp * self.bpc as usize).div_ceil(8)
    }

    fn convert(&self, raw: &[u8], out: &mut Vec<u8>) {
        out.clear();
        let bits = self.bpc as usize;
        let sample = |i: usize| -> usize {
            if bits == 16 {
                (sample_at(raw, i, 16) >> 8) as usize
            } else {
                sample_at(raw, i, bits) as usize
            }
        };
        match &self.cs {
            Some(Cs::Indexed { base, lut, .. }) => {
                let nb = base.ncomp();
                for x in 0..self.width {
                    let idx = self.luts[0][sample(x)] as usize;
                    let e = &lut[idx * nb..idx * nb + nb];
                    match **base {
                        Cs::Ink => out.push(255 - e[0]),
                        // lookup bytes span L* 0..100 linearly: the byte is the grey
                        Cs::Lab => out.push(e[0]),
                        _ => out.extend_from_slice(e),
                    }
                }
            }
            Some(Cs::Lab) => {
                for x in 0..self.width {
                    out.push(self.luts[0][sample(x * 3)]);
                }
            }
            _ => {
                let n = self.ncomp;
                if self.identity {
                    out.extend_from_slice(&raw[..(self.width * n).min(raw.len())]);
                    out.resize(self.width * n, 255);
                    return;
                }
                for i in 0..self.width * n {
                    out.push(self.luts[i % n][sample(i)]);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding an image XObject

fn filter_list(dict: &Dictionary, doc: &Document) -> Vec<(Vec<u8>, Option<Dictionary>)> {
    let names: Vec<Vec<u8>> = match dict.get(b"Filter").map(|o| deref(doc, o)) {
        Ok(Object::Name(n)) => vec![n.clone()],
        Ok(Object::Array(a)) => a
            .iter()
            .filter_map(|o| deref(doc, o).as_name().ok().map(<[u8]>::to_vec))
            .collect(),
        _ => vec![],
    };
    let parms: Vec<Option<Dictionary>> = match dict
        .get(b"DecodeParms")
        .or_else(|_| dict.get(b"DP"))
        .map(|o| deref(doc, o))
    {
        Ok(Object::Dictionary(d)) => vec![Some(d.clone())],
        Ok(Object::Array(a)) => a
            .iter()
            .map(|o| deref(doc, o).as_dict().ok().cloned())
            .collect(),
        _ => vec![],
    };
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let full: &[u8] = match n.as_slice() {
                b"AHx" => b"ASCIIHexDecode",
                b"A85" => b"ASCII85Decode",
                b"LZW" => b"LZWDecode",
                b"Fl" => b"FlateDecode",
                b"RL" => b"RunLengthDecode",
                b"CCF" => b"CCITTFaxDecode",
                b"DCT" => b"DCTDecode",
                other => other,
            };
            (full.to_vec(), parms.get(i).cloned().flatten())
        })
        .collect()
}

fn parm_i(p: Option<&Dictionary>, k: &[u8], default: i64) -> i64 {
    p.and_then(|d| d.get(k).ok())
        .and_then(|o| o.as_i64().ok())
        .unwrap_or(default)
}
fn parm_b(p: Option<&Dictionary>, k: &[u8]) -> bool {
    p.and_then(|d| d.get(k).ok())
        .and_then(|o| o.as_bool().ok())
        .unwrap_or(false)
}

/// Run the given (non-image) filters through lopdf, bounded by `limit` bytes.
fn lopdf_decode(
    content: &[u8],
    filters: &[(Vec<u8>, Option<Dictionary>)],
    limit: u64,
) -> Result<Vec<u8>, ReadError> {
    if filters.is_empty() {
        return Ok(content.to_vec());
    }
    let mut dict = Dictionary::new();
    dict.set(
        "Filter",
        Object::Array(
            filters
                .iter()
                .map(|(n, _)| Object::Name(n.clone()))
                .collect(),
        ),
    );
    dict.set(
        "DecodeParms",
        Object::Array(
            filters
                .iter()
                .map(|(_, p)| p.clone().map(Object::Dictionary).unwrap_or(Object::Null))
                .collect(),
        ),
    );
    let st = Stream::new(dict, content.to_vec());
    st.decompressed_content_with_limit(limit as usize)
        .map_err(|e| match e {
            lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => {
                ReadError::TooLarge(format!("image stream inflates beyond {} MiB", limit >> 20))
            }
            lopdf::Error::Unimplemented(_) => ReadError::Unsupported(format!(
                "PDF filter {}",
                filters
                    .iter()
                    .map(|f| String::from_utf8_lossy(&f.0).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
            other => damaged(format!("image stream: {other}")),
        })
}

/// Decode one image XObject to a (downscaled) bitmap, not oriented for display.
pub fn decode_image(
    doc: &Document,
    id: ObjectId,
    limits: &ImageLimits,
) -> Result<DecodedImage, ReadError> {
    decode_image_rows(doc, id, limits, u32::MAX)
}

/// [`decode_image`], but of raw (e.g. Flate) samples only the first `max_rows` rows are
/// decoded, and the image is that tall.
pub fn decode_image_rows(
    doc: &Document,
    id: ObjectId,
    limits: &ImageLimits,
    max_rows: u32,
) -> Result<DecodedImage, ReadError> {
    let st = doc
        .get_object(id)
        .and_then(Object::as_stream)
        .map_err(|e| damaged(format!("image {id:?}: {e}")))?;
    let dict = &st.dict;
    let geti = |k: &[u8]| dict.get(k).ok().and_then(|o| deref(doc, o).as_i64().ok());
    let w = geti(b"Width").unwrap_or(0);
    let h = geti(b"Height").unwrap_or(0);
    if w <= 0 || h <= 0 || w > u32::MAX as i64 || h > u32::MAX as i64 {
        return Err(damaged(format!("image of {w} × {h} pixels")));
    }
    let (w, h) = (w as u32, h as u32);
    let is_mask = dict
        .get(b"ImageMask")
        .ok()
        .and_then(|o| deref(doc, o).as_bool().ok())
        .unwrap_or(false);
    let decode: Option<Vec<f32>> = dict
        .get(b"Decode")
        .ok()
        .and_then(|o| deref(doc, o).as_array().ok())
        .map(|a| {
            a.iter()
                .filter_map(|o| deref(doc, o).as_float().ok())
                .collect()
        });
    let filters = filter_list(dict, doc);
    let last = filters.last().map(|f| f.0.clone()).unwrap_or_default();
    let filter_name = if last.is_empty() {
        "none".to_string()
    } else {
        String::from_utf8_lossy(&last).into_owned()
    };

    match last.as_slice() {
        b"JPXDecode" | b"JBIG2Decode" => {
            return Err(ReadError::Unsupported(format!("{filter_name} images")));
        }
        b"DCTDecode" => {
            let data = lopdf_decode(&st.content, &filters[..filters.len() - 1], limits.max_alloc)?;
            let invert = decode.as_ref().is_some_and(|d| d.len() >= 2 && d[0] > d[1]);
            let (image, source_size, scale) =
                decode_jpeg_reader(Cursor::new(&data[..]), limits, invert)?;
            return Ok(DecodedImage {
                image,
                source_size,
                scale,
                filter: filter_name,
                truncated: false,
            });
        }
        _ => {}
    }

    let cs = if is_mask {
        None
    } else {
        let o = dict
            .get(b"ColorSpace")
            .or_else(|_| dict.get(b"CS"))
            .map_err(|_| damaged("image without /ColorSpace"))?;
        Some(resolve_cs(doc, o, 0)?)
    };
    let bpc = if is_mask {
        1
    } else {
        geti(b"BitsPerComponent").unwrap_or(8)
    } as u8;
    let conv = SampleConv::new(cs, bpc, w as usize, decode)?;
    // raw samples stop after `max_rows` (the image is that tall); CCITT data is decoded whole
    let rows_wanted = if last == b"CCITTFaxDecode" { h } else { h.min(max_rows.max(1)) };
    let mut ds = Downscaler::new(w, rows_wanted, conv.fmt, limits)?;
    let mut out = Vec::with_capacity(w as usize * 4);

    if last == b"CCITTFaxDecode" {
        if bpc != 1 {
            return Err(damaged("CCITTFaxDecode image with BitsPerComponent ≠ 1"));
        }
        let (_, parms) = filters.last().cloned().unwrap();
        let p = parms.as_ref();
        let data = lopdf_decode(&st.content, &filters[..filters.len() - 1], limits.max_alloc)?;
        let k = parm_i(p, b"K", 0);
        let cols = parm_i(p, b"Columns", 1728);
        let rows = parm_i(p, b"Rows", h as i64);
        let black_is_1 = parm_b(p, b"BlackIs1");
        if cols <= 0 || cols > u16::MAX as i64 {
            return Err(ReadError::Unsupported(format!(
                "CCITT image {cols} columns wide"
            )));
        }
        let cols = cols as u16;
        let rows = rows.clamp(1, u16::MAX as i64) as u16;
        let mut packed = vec![0u8; (cols as usize).div_ceil(8)];
        let mut line = |transitions: &[u16]| {
            packed.iter_mut().for_each(|b| *b = 0);
            for (x, c) in fax::decoder::pels(transitions, cols).enumerate() {
                let bit = (c == fax::Color::Black) == black_is_1;
                if bit {
                    packed[x / 8] |= 0x80 >> (x % 8);
                }
            }
            conv.convert(&packed, &mut out);
            ds.push(&out);
        };
        let ok = if k < 0 {
            fax::decoder::decode_g4(
                data.iter().copied(),
                cols,
                Some(rows.min(h.min(u16::MAX as u32) as u16)),
                &mut line,
            )
        } else if k == 0 {
            fax::decoder::decode_g3(data.iter().copied(), &mut line)
        } else {
            return Err(ReadError::Unsupported(
                "CCITT Group 3 2-D (K > 0) images".into(),
            ));
        };
        let truncated = ok.is_none() || ds.rows_done() < h;
        if ds.rows_done() == 0 {
            return Err(damaged("CCITT data decodes to no rows"));
        }
        let scale = ds.scale();
        return Ok(DecodedImage {
            image: ds.finish(),
            source_size: (w, h),
            scale,
            filter: filter_name,
            truncated,
        });
    }

    // Raw samples: stream Flate ourselves (row by row, predictors); other filters via lopdf.
    let row_bytes = conv.row_bytes();
    let raw_total = row_bytes as u64 * h as u64;
    let (mut reader, predictor): (Box<dyn Read + '_>, Option<Predictor>) = match last.as_slice() {
        b"" => (Box::new(Cursor::new(&st.content[..])), None),
        b"FlateDecode" => {
            let (_, parms) = filters.last().cloned().unwrap();
            let pre = &filters[..filters.len() - 1];
            let data: std::borrow::Cow<[u8]> = if pre.is_empty() {
                std::borrow::Cow::Borrowed(&st.content[..])
            } else {
                std::borrow::Cow::Owned(lopdf_decode(&st.content, pre, limits.max_alloc)?)
            };
            let pred = Predictor::from_parms(parms.as_ref())?;
            (inflater(data), pred)
        }
        _ => {
            limits.check_alloc("the image stream", raw_total)?;
            let data = lopdf_decode(&st.content, &filters, raw_total + 4096)?;
            (Box::new(Cursor::new(data)), None)
        }
    };

    let mut rows = RowReader::new(&mut *reader, row_bytes, predictor);
    let mut truncated = false;
    for _ in 0..rows_wanted {
        match rows.next_row() {
            Ok(Some(r)) => {
                conv.convert(r, &mut out);
                ds.push(&out);
            }
            Ok(None) | Err(_) => {
                truncated = true;
                break;
            }
        }
    }
    if ds.rows_done() == 0 {
        return Err(damaged(format!(
            "{filter_name} image data decodes to no rows"
        )));
    }
    let scale = ds.scale();
    Ok(DecodedImage {
        image: ds.finish(),
        source_size: (w, h),
        scale,
        filter: filter_name,
        truncated,
    })
}

/// A zlib reader, falling back to raw deflate when the zlib header is missing. Buffered: the
/// rows are read a few hundred bytes at a time, and each read of the decoder is an inflate
/// call of its own.
fn inflater<'a>(data: std::borrow::Cow<'a, [u8]>) -> Box<dyn Read + 'a> {
    let zlib = data.len() >= 2
        && data[0] & 0x0f == 8
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0;
    let buffered = |r: Box<dyn Read + 'a>| -> Box<dyn Read + 'a> { Box::new(std::io::BufReader::with_capacity(1 << 16, r)) };
    match (data, zlib) {
        (std::borrow::Cow::Borrowed(b), true) => buffered(Box::new(flate2::read::ZlibDecoder::new(b))),
        (std::borrow::Cow::Borrowed(b), false) => buffered(Box::new(flate2::read::DeflateDecoder::new(b))),
        (std::borrow::Cow::Owned(v), true) => buffered(Box::new(flate2::read::ZlibDecoder::new(Cursor::new(v)))),
        (std::borrow::Cow::Owned(v), false) => buffered(Box::new(flate2::read::DeflateDecoder::new(Cursor::new(v)))),
    }
}

#[derive(Clone, Copy, Debug)]
enum Predictor {
    Tiff {
        colors: usize,
        bpc: usize,
        columns: usize,
    },
    Png {
        colors: usize,
        bpc: usize,
        columns: usize,
    },
}

impl Predictor {
    fn from_parms(p: Option<&Dictionary>) -> Result<Option<Predictor>, ReadError> {
        let pred = parm_i(p, b"Predictor", 1);
        let colors = parm_i(p, b"Colors", 1).clamp(1, 32) as usize;
        let bpc = parm_i(p, b"BitsPerComponent", 8) as usize;
        let columns = parm_i(p, b"Columns", 1).clamp(1, 1 << 20) as usize;
        if !matches!(bpc, 1 | 2 | 4 | 8 | 16) {
            return Err(damaged(format!("predictor BitsPerComponent {bpc}")));
        }
        Ok(match pred {
            1 => None,
            2 => Some(Predictor::Tiff {
                colors,
                bpc,
                columns,
            }),
            10..=15 => Some(Predictor::Png {
                colors,
                bpc,
                columns,
            }),
            other => return Err(ReadError::Unsupported(format!("predictor {other}"))),
        })
    }
    fn row_bytes(&self) -> usize {
        let (Predictor::Tiff {
            colors,
            bpc,
            columns,
        }
        | Predictor::Png {
            colors,
            bpc,
            columns,
        }) = *self;
        (colors * bpc * columns).div_ceil(8)
    }
    fn bpp(&self) -> usize {
        let (Predictor::Tiff { colors, bpc, .. } | Predictor::Png { colors, bpc, .. }) = *self;
        (colors * bpc).div_ceil(8).max(1)
    }
}

/// Reads image rows from a decompressed byte stream, undoing predictors, re-chunking predictor
/// rows (/Columns) into image rows.
struct RowReader<'r> {
    r: &'r mut dyn Read,
    row_bytes: usize,
    pred: Option<Predictor>,
    prev: Vec<u8>,
    cur: Vec<u8>,
    pending: Vec<u8>,
    row: Vec<u8>,
}

impl<'r> RowReader<'r> {
    fn new(r: &'r mut dyn Read, row_bytes: usize, pred: Option<Predictor>) -> Self {
        let prow = pred.map_or(0, |p| p.row_bytes());
        RowReader {
            r,
            row_bytes,
            pred,
            prev: vec![0; prow],
            cur: vec![0; prow + 1],
            pending: Vec::new(),
            row: vec![0; row_bytes],
        }
    }

    /// The next image row, or `None` at a clean end of data.
    fn next_row(&mut self) -> std::io::Result<Option<&[u8]>> {
        let Some(pred) = self.pred else {
            return match self.r.read_exact(&mut self.row) {
                Ok(()) => Ok(Some(&self.row)),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(e),
            };
        };
        while self.pending.len() < self.row_bytes {
            let prow = pred.row_bytes();
            match pred {
                Predictor::Png { .. } => {
                    let buf = &mut self.cur[..prow + 1];
                    match self.r.read_exact(buf) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                        Err(e) => return Err(e),
                    }
                    let ft = buf[0];
                    let bpp = pred.bpp();
                    let row = &mut self.cur[1..prow + 1];
                    unpredict_png(ft, row, &self.prev, bpp);
                    self.prev.copy_from_slice(row);
                    self.pending.extend_from_slice(row);
                }
                Predictor::Tiff { colors, bpc, .. } => {
                    let buf = &mut self.cur[..prow];
                    match self.r.read_exact(buf) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                        Err(e) => return Err(e),
                    }
                    match bpc {
                        8 => {
                            for i in colors..prow {
                                buf[i] = buf[i].wrapping_add(buf[i - colors]);
                            }
                        }
                        16 => {
                            let n = prow / 2;
                            for i in colors..n {
                                let a = u16::from_be_bytes([
                                    buf[2 * (i - colors)],
                                    buf[2 * (i - colors) + 1],
                                ]);
                                let b = u16::from_be_bytes([buf[2 * i], buf[2 * i + 1]]);
                                let v = b.wrapping_add(a).to_be_bytes();
                                buf[2 * i] = v[0];
                                buf[2 * i + 1] = v[1];
                            }
                        }
                        _ => return Err(std::io::Error::other("TIFF predictor below 8 bits")),
                    }
                    self.pending.extend_from_slice(buf);
                }
            }
        }
        self.row.copy_from_slice(&self.pending[..self.row_bytes]);
        self.pending.drain(..self.row_bytes);
        Ok(Some(&self.row))
    }
}

fn unpredict_png(ft: u8, row: &mut [u8], prev: &[u8], bpp: usize) {
    match ft {
        1 => {
            for i in bpp..row.len() {
                row[i] = row[i].wrapping_add(row[i - bpp]);
            }
        }
        2 => {
            for (v, p) in row.iter_mut().zip(prev) {
                *v = v.wrapping_add(*p);
            }
        }
        3 => {
            for i in 0..row.len() {
                let left = if i >= bpp { row[i - bpp] as u16 } else { 0 };
                row[i] = row[i].wrapping_add(((left + prev[i] as u16) / 2) as u8);
            }
        }
        4 => {
            for i in 0..row.len() {
                let a = if i >= bpp { row[i - bpp] as i16 } else { 0 };
                let b = prev[i] as i16;
                let c = if i >= bpp { prev[i - bpp] as i16 } else { 0 };
                let p = a + b - c;
                let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                let pred = if pa <= pb && pa <= pc {
                    a
                } else if pb <= pc {
                    b
                } else {
                    c
                };
                row[i] = row[i].wrapping_add(pred as u8);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GenericImageView, GrayImage, RgbImage};
    use lopdf::{dictionary, Object, Stream};
    use std::io::Write;

    /// A one-page PDF whose page draws image XObject `img` with `cm` (optionally via a Form).
    fn pdf_with_image(img: Stream, cm: [f32; 6], via_form: bool, rotate: Option<i64>) -> Document {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let img_id = doc.add_object(img);
        let content = format!(
            "q {} {} {} {} {} {} cm /Im0 Do Q",
            cm[0], cm[1], cm[2], cm[3], cm[4], cm[5]
        );
        let (xobjects, content) = if via_form {
            let form = Stream::new(
                dictionary! {
                    "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                    "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => img_id } },
                },
                content.into_bytes(),
            );
            let form_id = doc.add_object(form);
            (dictionary! { "Fm0" => form_id }, b"q /Fm0 Do Q".to_vec())
        } else {
            (dictionary! { "Im0" => img_id }, content.into_bytes())
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        let mut page = dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => xobjects },
        };
        if let Some(r) = rotate {
            page.set("Rotate", r);
        }
        let page_id = doc.add_object(page);
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        // round-trip through bytes, as the pipeline will load it
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        Document::load_mem(&bytes).unwrap()
    }

    const FULL_A4: [f32; 6] = [595.0, 0.0, 0.0, 842.0, 0.0, 0.0];

    fn test_rgb(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            if x < w / 4 && y < h / 4 {
                image::Rgb([220, 30, 30]) // red block top-left
            } else if (x / 16 + y / 16) % 2 == 0 {
                image::Rgb([20, 20, 20])
            } else {
                image::Rgb([250, 248, 240])
            }
        })
    }

    #[test]
    fn jpeg_dct_image_in_pdf() {
        let (w, h) = (1240u32, 1754u32); // A4 at 150 dpi
        let img = test_rgb(w, h);
        let mut jpg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 90)
            .encode_image(&img)
            .unwrap();
        let st = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
                "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
            },
            jpg,
        );
        let doc = pdf_with_image(st, FULL_A4, false, None);
        let uses = page_image_uses(&doc, 1).unwrap();
        assert_eq!(uses.len(), 1);
        let p = largest_page_image(&doc, 1, &ImageLimits::default())
            .unwrap()
            .unwrap();
        assert_eq!(p.source_size, (w, h));
        assert_eq!((p.image.width(), p.image.height()), (w, h));
        assert_eq!(p.filter, "DCTDecode");
        assert!((p.dpi - 150.0).abs() < 1.0, "dpi {}", p.dpi);
        assert!((p.coverage - 1.0).abs() < 0.01);
        let px = p.image.get_pixel(20, 20).0;
        assert!(px[0] > 180 && px[1] < 80, "red block top-left, got {px:?}");
    }

    #[test]
    fn flate_rgb_png_predictor_round_trips_inside_a_form() {
        let (w, h) = (300u32, 200u32);
        let img = test_rgb(w, h);
        // PNG-predict every row with a rotating filter type (Sub, Up, Average, Paeth, None)
        let rb = w as usize * 3;
        let raw = img.as_raw();
        let mut predicted = Vec::new();
        let zero = vec![0u8; rb];
        for y in 0..h as usize {
            let row = &raw[y * rb..(y + 1) * rb];
            let prev = if y == 0 {
                &zero[..]
            } else {
                &raw[(y - 1) * rb..y * rb]
            };
            let ft = [1u8, 2, 3, 4, 0][y % 5];
            predicted.push(ft);
            for i in 0..rb {
                let a = if i >= 3 { row[i - 3] as i16 } else { 0 };
                let b = prev[i] as i16;
                let c = if i >= 3 { prev[i - 3] as i16 } else { 0 };
                let pred = match ft {
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => {
                        let p = a + b - c;
                        let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                        if pa <= pb && pa <= pc {
                            a
                        } else if pb <= pc {
                            b
                        } else {
                            c
                        }
                    }
                    _ => 0,
                };
                predicted.push(row[i].wrapping_sub(pred as u8));
            }
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&predicted).unwrap();
        let data = z.finish().unwrap();
        let st = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
                "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "FlateDecode",
                "DecodeParms" => dictionary! { "Predictor" => 15, "Colors" => 3, "BitsPerComponent" => 8, "Columns" => w as i64 },
            },
            data,
        );
        let doc = pdf_with_image(st, [400.0, 0.0, 0.0, 266.67, 100.0, 300.0], true, None);
        let uses = page_image_uses(&doc, 1).unwrap();
        assert_eq!(uses.len(), 1);
        assert_eq!(uses[0].form_depth, 1);
        let p = largest_page_image(&doc, 1, &ImageLimits::default())
            .unwrap()
            .unwrap();
        assert!(!p.truncated);
        assert_eq!(
            p.image.as_rgb8().expect("rgb").as_raw(),
            img.as_raw(),
            "lossless round trip"
        );
        assert!((p.dpi - 54.0).abs() < 0.5, "dpi {}", p.dpi);
    }

    #[test]
    fn ccitt_g4_bilevel_with_decode_inversion_and_rotation() {
        let (w, h) = (800u16, 600u16);
        // black bar across rows 100..120 and a black square top-left
        let black = |x: u16, y: u16| (100..120).contains(&y) || (x < 100 && y < 60);
        let mut enc = fax::encoder::Encoder::new(fax::VecWriter::new());
        for y in 0..h {
            enc.encode_line(
                (0..w).map(|x| {
                    if black(x, y) {
                        fax::Color::Black
                    } else {
                        fax::Color::White
                    }
                }),
                w,
            )
            .unwrap();
        }
        let g4 = enc.finish().unwrap().finish();
        let mk = |black_is_1: bool, decode: Option<Vec<Object>>| {
            let mut d = dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 1, "Filter" => "CCITTFaxDecode",
                "DecodeParms" => dictionary! { "K" => -1, "Columns" => w as i64, "Rows" => h as i64, "BlackIs1" => black_is_1 },
            };
            if let Some(dec) = decode {
                d.set("Decode", dec);
            }
            Stream::new(d, g4.clone())
        };
        // default: BlackIs1 false → black pels are 0 → black
        let doc = pdf_with_image(mk(false, None), FULL_A4, false, None);
        let p = largest_page_image(&doc, 1, &ImageLimits::default())
            .unwrap()
            .unwrap();
        let g = p.image.as_luma8().unwrap();
        assert_eq!(g.dimensions(), (800, 600));
        assert_eq!(g.get_pixel(400, 110).0[0], 0);
        assert_eq!(g.get_pixel(400, 300).0[0], 255);
        assert_eq!(g.get_pixel(50, 30).0[0], 0);
        // BlackIs1 true with /Decode [1 0]: still black on white
        let doc = pdf_with_image(
            mk(true, Some(vec![1.into(), 0.into()])),
            FULL_A4,
            false,
            None,
        );
        let g = largest_page_image(&doc, 1, &ImageLimits::default())
            .unwrap()
            .unwrap()
            .image
            .to_luma8();
        assert_eq!(g.get_pixel(400, 110).0[0], 0);
        assert_eq!(g.get_pixel(400, 300).0[0], 255);
        // page /Rotate 90: the top-left square ends up top-right
        let doc = pdf_with_image(mk(false, None), FULL_A4, false, Some(90));
        let p = largest_page_image(&doc, 1, &ImageLimits::default())
            .unwrap()
            .unwrap();
        let g = p.image.to_luma8();
        assert_eq!(g.dimensions(), (600, 800));
        assert_eq!(
            g.get_pixel(600 - 30, 50).0[0],
            0,
            "square top-right after /Rotate 90"
        );
        assert_eq!(g.get_pixel(30, 50).0[0], 255);
        assert_eq!(p.page_pt, (842.0, 595.0));
    }

    #[test]
    fn placement_rotated_ccw_is_undone() {
        // image drawn rotated 90° counter-clockwise: u axis points up the page, v to the right
        let (w, h) = (120u32, 80u32);
        let img = GrayImage::from_fn(w, h, |x, y| {
            image::Luma([if x < 20 && y < 20 { 0 } else { 255 }])
        });
        let st = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
            },
            img.as_raw().clone(),
        );
        let doc = pdf_with_image(st, [0.0, 300.0, -200.0, 0.0, 300.0, 100.0], false, None);
        let p = largest_page_image(&doc, 1, &ImageLimits::default())
            .unwrap()
            .unwrap();
        let g = p.image.to_luma8();
        assert_eq!(g.dimensions(), (80, 120));
        // original top-left corner → bottom-left after a CCW quarter turn
        assert_eq!(g.get_pixel(5, 115).0[0], 0);
        assert_eq!(g.get_pixel(5, 5).0[0], 255);
        assert_eq!(p.placed_pt, (200.0, 300.0));
    }

    #[test]
    fn indexed_cmyk_16bit_mask_and_tiff_predictor() {
        let limits = ImageLimits::default();
        let one = |d: Dictionary, data: Vec<u8>| {
            let doc = pdf_with_image(Stream::new(d, data), FULL_A4, false, None);
            largest_page_image(&doc, 1, &limits).unwrap().unwrap().image
        };
        // Indexed over DeviceRGB, 4 bits: index 0 = white, 1 = red
        let d = dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 4, "Height" => 1, "BitsPerComponent" => 4,
            "ColorSpace" => vec![Object::Name(b"Indexed".to_vec()), Object::Name(b"DeviceRGB".to_vec()), 1.into(),
                                 Object::string_literal(vec![255u8, 255, 255, 255, 0, 0])],
        };
        let img = one(d, vec![0x01, 0x10]);
        assert_eq!(
            img.to_rgb8().as_raw(),
            &vec![255, 255, 255, 255, 0, 0, 255, 0, 0, 255, 255, 255]
        );
        // DeviceCMYK 8-bit: pure K = black, zero = white
        let d = dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 1,
        "BitsPerComponent" => 8, "ColorSpace" => "DeviceCMYK" };
        assert_eq!(
            one(d, vec![0, 0, 0, 255, 0, 0, 0, 0]).to_rgb8().as_raw(),
            &vec![0, 0, 0, 255, 255, 255]
        );
        // 16-bit grey with TIFF predictor 2 under Flate
        let vals: [u16; 3] = [0x1000, 0x8000, 0xff00];
        let mut pred = Vec::new();
        let mut prev = 0u16;
        for v in vals {
            pred.extend_from_slice(&v.wrapping_sub(prev).to_be_bytes());
            prev = v;
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&pred).unwrap();
        let d = dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 3, "Height" => 1,
        "BitsPerComponent" => 16, "ColorSpace" => "DeviceGray", "Filter" => "FlateDecode",
        "DecodeParms" => dictionary! { "Predictor" => 2, "BitsPerComponent" => 16, "Columns" => 3 } };
        assert_eq!(
            one(d, z.finish().unwrap()).to_luma8().as_raw(),
            &vec![0x10, 0x80, 0xff]
        );
        // ImageMask: 0 bits painted (black), 1 bits unpainted
        let d = dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 8, "Height" => 1, "ImageMask" => true };
        assert_eq!(
            one(d, vec![0b0000_1111]).to_luma8().as_raw(),
            &vec![0, 0, 0, 0, 255, 255, 255, 255]
        );
        // ICCBased N=1 with /Decode [1 0] (inverted grey), ASCIIHex in front of Flate
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&[0, 255]).unwrap();
        let hex: String = z
            .finish()
            .unwrap()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
            + ">";
        let mut doc = Document::with_version("1.5");
        let icc = doc.add_object(Stream::new(dictionary! { "N" => 1 }, vec![]));
        let d = dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 1, "BitsPerComponent" => 8,
        "ColorSpace" => vec![Object::Name(b"ICCBased".to_vec()), Object::Reference(icc)],
        "Decode" => vec![1.into(), 0.into()],
        "Filter" => vec![Object::Name(b"ASCIIHexDecode".to_vec()), Object::Name(b"FlateDecode".to_vec())] };
        let img_id = doc.add_object(Stream::new(d, hex.into_bytes()));
        let dec = decode_image(&doc, img_id, &limits).unwrap();
        assert_eq!(dec.image.to_luma8().as_raw(), &vec![255, 0]);
    }

    #[test]
    fn truncated_flate_pads_and_flags() {
        let (w, h) = (100u32, 100u32);
        let raw = vec![0u8; (w * h) as usize];
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::none());
        z.write_all(&raw).unwrap();
        let mut data = z.finish().unwrap();
        data.truncate(data.len() / 2);
        let d = dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
        "BitsPerComponent" => 8, "ColorSpace" => "DeviceGray", "Filter" => "FlateDecode" };
        let doc = pdf_with_image(Stream::new(d, data), FULL_A4, false, None);
        let p = largest_page_image(&doc, 1, &ImageLimits::default())
            .unwrap()
            .unwrap();
        assert!(p.truncated);
        let g = p.image.to_luma8();
        assert_eq!(g.get_pixel(50, 10).0[0], 0);
        assert_eq!(g.get_pixel(50, 90).0[0], 255, "missing rows are paper");
    }

    #[test]
    fn form_cycles_and_no_images() {
        // a Form that draws itself must terminate
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let form_id = doc.new_object_id();
        let form = Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 1.into(), 1.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "F" => form_id } } },
            b"/F Do (a string with ) inside) Tj BI /W 2 /H 1 /BPC 8 /CS /G ID \x00EI\xff EI Q"
                .to_vec(),
        );
        doc.objects.insert(form_id, Object::Stream(form));
        let content_id = doc.add_object(Stream::new(dictionary! {}, b"/F Do".to_vec()));
        let page_id = doc.add_object(
            dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "F" => form_id } } },
        );
        doc.objects.insert(
            pages_id,
            Object::Dictionary(
                dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()] },
            ),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        assert!(page_image_uses(&doc, 1).unwrap().is_empty());
        assert!(largest_page_image(&doc, 1, &ImageLimits::default())
            .unwrap()
            .is_none());
        assert!(matches!(
            page_image_uses(&doc, 2),
            Err(ReadError::Damaged(_))
        ));
    }

    #[test]
    fn big_flate_scan_streams_within_limits() {
        // 600-dpi A4 grey page (4960 × 7016, 35 MB raw) decoded with a 16 MiB allocation limit:
        // Flate is streamed row by row and downscaled to 2480 × 3508.
        let (w, h) = (4960u32, 7016u32);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        let white = vec![255u8; w as usize];
        let mut line = white.clone();
        line[500..4500].fill(0);
        for y in 0..h {
            z.write_all(if y % 500 < 6 { &line } else { &white })
                .unwrap();
        }
        let d = dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
        "BitsPerComponent" => 8, "ColorSpace" => "DeviceGray", "Filter" => "FlateDecode" };
        let doc = pdf_with_image(Stream::new(d, z.finish().unwrap()), FULL_A4, false, None);
        let limits = ImageLimits {
            max_alloc: 16 << 20,
            ..Default::default()
        };
        let p = largest_page_image(&doc, 1, &limits).unwrap().unwrap();
        assert_eq!((p.image.width(), p.image.height()), (2480, 3508));
        assert!((p.dpi - 300.0).abs() < 1.0, "{}", p.dpi);
        assert!(p.image.to_luma8().get_pixel(1000, 1).0[0] < 30);
    }
}
