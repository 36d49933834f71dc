//! PDF → positioned text in reading order, plus signature facts (lopdf).
//!
//! lopdf parses the file (xref repair, decryption with the empty password, object streams);
//! everything after that is ours: a lenient content-stream lexer (`lexer`), the text/graphics
//! state machine with Form XObjects (`content`), font decoding for the CJK fonts Chinese office
//! software writes (`font`, `cmap`, `predefined` for poppler-data's CMaps and CID tables, and
//! `truetype` for an embedded font's own cmap when nothing else maps its glyphs).
//! Every document is read under limits (size, operators, nesting, pages) and inside
//! `catch_unwind`, so a hostile file yields a `ReadError`, never a panic or a hang.

mod cmap;
mod content;
mod font;
mod lexer;
mod predefined;
mod truetype;
mod unify;

use super::ReadError;
use content::{deref, DocCtx, Limits, PageRun, PageXform, Stop};
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::{HashMap, HashSet};

/// A run of text drawn with one font at one position. Coordinates are in points with the
/// origin at the page's top-left corner (y grows downwards); `y` is the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSpan {
    pub text: String,
    pub x: f32,
    pub y: f32,
    pub width: f32,
    /// font size in points after the text matrix is applied
    pub size: f32,
    /// where runs drawn apart were joined into this span (they continued each other on the
    /// baseline): (byte offset in `text`, x). A table cell's border may part them; a single
    /// run that crosses one is text overflowing its cell.
    pub joins: Vec<(usize, f32)>,
}

/// A line of text in reading order: spans sharing a baseline, left to right.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub spans: Vec<TextSpan>,
    pub y: f32,
}

impl TextLine {
    /// The line's text; a gap wider than about one character between spans becomes one space
    /// (a narrower one too, as in `content::space_between`).
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut last_end: Option<f32> = None;
        for s in &self.spans {
            if let Some(end) = last_end {
                let gap = s.x - end;
                let size = s.size.max(1.0);
                let (prev, next) = (out.chars().last(), s.text.chars().next());
                let spaced = prev.is_some_and(|c| c.is_whitespace())
                    || next.is_some_and(|c| c.is_whitespace());
                if !spaced && (gap > size * 0.8 || content::space_between(prev, next, gap / size)) {
                    out.push(' ');
                }
            }
            out.push_str(&s.text);
            last_end = Some(s.x + s.width);
        }
        out
    }
}

/// A drawn line (or the side of a drawn box) parallel to a page edge, in page space (points,
/// top-left origin): horizontal when `y0 == y1`, vertical when `x0 == x1`; `x0 <= x1`,
/// `y0 <= y1`. Table borders, whoever drew them: stroked `m l S` lines, `re` boxes, thin
/// filled rectangles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ruling {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Ruling {
    /// A straight segment that runs along an axis (within a tenth of a point per point).
    pub fn from_segment(a: (f32, f32), b: (f32, f32)) -> Option<Ruling> {
        let (dx, dy) = ((b.0 - a.0).abs(), (b.1 - a.1).abs());
        if dy <= 0.5f32.max(dx * 0.01) && dx > dy {
            let y = (a.1 + b.1) / 2.0;
            Some(Ruling { x0: a.0.min(b.0), y0: y, x1: a.0.max(b.0), y1: y })
        } else if dx <= 0.5f32.max(dy * 0.01) && dy > dx {
            let x = (a.0 + b.0) / 2.0;
            Some(Ruling { x0: x, y0: a.1.min(b.1), x1: x, y1: a.1.max(b.1) })
        } else {
            None
        }
    }

    pub fn horizontal(&self) -> bool {
        self.y0 == self.y1
    }

    pub fn length(&self) -> f32 {
        (self.x1 - self.x0).max(self.y1 - self.y0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// 1-based
    pub number: u32,
    pub width: f32,
    pub height: f32,
    /// text spans in content-stream order
    pub spans: Vec<TextSpan>,
    /// drawn lines and box sides: the borders of ruled tables
    pub rulings: Vec<Ruling>,
    /// how many image XObjects the page draws (a page with images and no text is a scan)
    pub image_count: u32,
}

impl Page {
    /// The page's text as lines in reading order (top to bottom, left to right).
    pub fn lines(&self) -> Vec<TextLine> {
        reading_order(&self.spans)
    }
}

/// A PDF signature field (`/Sig` with `/ByteRange`).
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    pub field_name: Option<String>,
    pub page: Option<u32>,
    /// the four numbers of /ByteRange
    pub byte_range: Vec<i64>,
    /// true when the signed range ends at the end of the file (nothing appended after signing)
    pub covers_whole_file: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PdfDoc {
    pub pages: Vec<Page>,
    pub signatures: Vec<Signature>,
}

/// Groups spans into lines in reading order: top to bottom, and left to right within a line.
///
/// Spans join a line when their baseline is within half a (smaller) font size of the line's
/// first baseline, so the cells of a table row stay one line, ordered by x, even when their
/// sizes differ a little or a superscript is raised. The same text drawn twice at (almost) the
/// same place — fake bold, shadows — is kept once.
pub fn reading_order(spans: &[TextSpan]) -> Vec<TextLine> {
    let mut sorted: Vec<&TextSpan> = spans
        .iter()
        .filter(|s| s.x.is_finite() && s.y.is_finite() && !is_blank(&s.text))
        .collect();
    sorted.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x)));
    let mut lines: Vec<(TextLine, f32)> = Vec::new();
    for s in sorted {
        let size = if s.size.is_finite() {
            s.size.abs().max(1.0)
        } else {
            1.0
        };
        match lines.last_mut() {
            Some((l, lsize)) if (s.y - l.y).abs() <= 0.5 * size.min(*lsize) => {
                l.spans.push(s.clone());
                *lsize = lsize.max(size);
            }
            _ => lines.push((
                TextLine {
                    y: s.y,
                    spans: vec![s.clone()],
                },
                size,
            )),
        }
    }
    lines
        .into_iter()
        .map(|(mut l, _)| {
            l.spans.sort_by(|a, b| a.x.total_cmp(&b.x));
            let mut kept: Vec<TextSpan> = Vec::with_capacity(l.spans.len());
            for s in l.spans {
                let dup = kept.iter().rev().take(4).any(|k| {
                    let tol = 0.3 * k.size.abs().max(1.0);
                    k.text == s.text && (k.x - s.x).abs() <= tol && (k.y - s.y).abs() <= tol
                });
                if !dup {
                    kept.push(s);
                }
            }
            l.spans = kept;
            l
        })
        .collect()
}

/// Nothing but ASCII white space (an ideographic space U+3000 counts as text: it is drawn as a
/// glyph and spaces out labels such as `目　　录`).
fn is_blank(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_whitespace() || c == '\u{a0}')
}

/// The page's text: its lines in reading order, joined with `\n`.
pub fn page_text(page: &Page) -> String {
    let lines = page.lines();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&l.text());
    }
    out
}

/// Files larger than this are refused.
const MAX_FILE_BYTES: usize = 512 << 20;
/// Documents with more pages are refused.
const MAX_PAGES: usize = 2000;
/// Bound on any one stream lopdf decodes while loading (object and xref streams).
const MAX_LOAD_STREAM: usize = 64 << 20;

/// Reads a PDF from memory.
///
/// Errors: `Empty` for an empty file, `Encrypted` when the empty user password does not open
/// it, `Damaged` when lopdf cannot make sense of it (or it has no pages), `TooLarge` over the
/// limits (file size, pages, decoded stream size, operators), `Panic` if anything below panics.
pub fn read_pdf(bytes: &[u8]) -> Result<PdfDoc, ReadError> {
    read_pdf_with_doc(bytes).map(|(d, _)| d)
}

/// [`read_pdf`], also handing back the parsed lopdf document (for its images: seals, scans)
/// so it is not parsed twice.
pub fn read_pdf_with_doc(bytes: &[u8]) -> Result<(PdfDoc, Document), ReadError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_inner(bytes))) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic while reading the PDF".to_string());
            Err(ReadError::Panic(msg))
        }
    }
}

fn load_error(e: lopdf::Error) -> ReadError {
    match e {
        lopdf::Error::InvalidPassword
        | lopdf::Error::Decryption(_)
        | lopdf::Error::AlreadyEncrypted => ReadError::Encrypted(e.to_string()),
        lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => {
            ReadError::TooLarge(e.to_string())
        }
        lopdf::Error::Unimplemented(m) if m.contains("encrypt") || m.contains("password") => {
            ReadError::Encrypted(m.to_string())
        }
        e => ReadError::Damaged(e.to_string()),
    }
}

fn read_inner(bytes: &[u8]) -> Result<(PdfDoc, Document), ReadError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        return Err(ReadError::Empty);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(format!(
            "file is {} MiB, over the {} MiB limit",
            bytes.len() >> 20,
            MAX_FILE_BYTES >> 20
        )));
    }
    let head = &bytes[..bytes.len().min(1024)];
    let patched: Vec<u8>;
    let mut input: &[u8] = bytes;
    if !bytes.windows(5).any(|w| w == b"%PDF-") {
        // no header: still a PDF if it starts with objects (lopdf rebuilds the offsets)
        if head.windows(4).any(|w| w == b" obj") && bytes.windows(6).any(|w| w == b"endobj") {
            patched = [b"%PDF-1.7\n".as_slice(), bytes].concat();
            input = &patched;
        } else {
            return Err(ReadError::Unsupported("no %PDF- header".into()));
        }
    }
    let doc = load(input)?;
    let doc = if doc.trailer.has(b"Encrypt") {
        // lopdf decrypts on load when the empty user password opens the file; /Encrypt is left
        // in the trailer only when it did not. An /Encrypt reference to an object that does not
        // exist protects nothing: read the file as unencrypted, as other readers do.
        let dangling = matches!(doc.trailer.get(b"Encrypt"), Ok(Object::Reference(_)))
            && doc.get_encrypted().is_err()
            && doc.objects.is_empty();
        if !dangling {
            let why = match doc.authenticate_user_password("") {
                Err(lopdf::Error::Decryption(e)) => {
                    format!("a password is needed to open the file ({e})")
                }
                _ => "a password is needed to open the file".to_string(),
            };
            return Err(ReadError::Encrypted(why));
        }
        let unlocked = neutralize_encrypt(input);
        let doc = load(&unlocked)?;
        if doc.trailer.has(b"Encrypt") {
            return Err(ReadError::Encrypted(
                "a password is needed to open the file".into(),
            ));
        }
        doc
    } else {
        doc
    };
    let page_ids = page_ids(&doc)?;
    let mut ctx = DocCtx::new(&doc, Limits::default());
    let mut pages = Vec::with_capacity(page_ids.len());
    for (i, id) in page_ids.iter().enumerate() {
        let page = read_page(&mut ctx, *id, i as u32 + 1)
            .map_err(|Stop::TooLarge(m)| ReadError::TooLarge(format!("page {}: {m}", i + 1)))?;
        pages.push(page);
    }
    let signatures = signatures(&doc, &page_ids, bytes.len());
    Ok((PdfDoc { pages, signatures }, doc))
}

fn load(bytes: &[u8]) -> Result<Document, ReadError> {
    let opts = lopdf::LoadOptions {
        max_decompressed_size: Some(MAX_LOAD_STREAM),
        ..Default::default()
    };
    Document::load_mem_with_options(bytes, opts).map_err(load_error)
}

/// The file with every `/Encrypt` key renamed (same length, so offsets stay valid).
fn neutralize_encrypt(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let key = b"/Encrypt";
    let mut i = 0;
    while i + key.len() <= out.len() {
        if &out[i..i + key.len()] == key {
            let next = out.get(i + key.len()).copied().unwrap_or(b' ');
            // not /EncryptMetadata
            if !next.is_ascii_alphanumeric() {
                out[i..i + key.len()].copy_from_slice(b"/NoCrypt");
            }
            i += key.len();
        } else {
            i += 1;
        }
    }
    out
}

/// The pages in order; when the page tree is unreadable, every object of /Type /Page.
fn page_ids(doc: &Document) -> Result<Vec<ObjectId>, ReadError> {
    let mut ids: Vec<ObjectId> = Vec::new();
    let mut seen = HashSet::new();
    for id in doc.page_iter() {
        if seen.insert(id) {
            ids.push(id);
        }
        if ids.len() > MAX_PAGES {
            break;
        }
    }
    if ids.is_empty() {
        for (id, o) in &doc.objects {
            if let Object::Dictionary(d) = o {
                if matches!(d.get(b"Type"), Ok(Object::Name(n)) if n == b"Page") {
                    ids.push(*id);
                    if ids.len() > MAX_PAGES {
                        break;
                    }
                }
            }
        }
    }
    if ids.len() > MAX_PAGES {
        return Err(ReadError::TooLarge(format!("more than {MAX_PAGES} pages")));
    }
    if ids.is_empty() {
        return Err(ReadError::Damaged("no pages found".into()));
    }
    Ok(ids)
}

/// A page attribute, inherited through /Parent.
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut d = page;
    for _ in 0..64 {
        if let Ok(v) = d.get(key) {
            let v = deref(doc, v);
            if !matches!(v, Object::Null) {
                return Some(v);
            }
        }
        match d.get(b"Parent").ok().map(|p| deref(doc, p)) {
            Some(Object::Dictionary(p)) => d = p,
            _ => return None,
        }
    }
    None
}

fn as_f32(doc: &Document, o: &Object) -> Option<f32> {
    match deref(doc, o) {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) if r.is_finite() => Some(*r),
        _ => None,
    }
}

fn page_box(doc: &Document, page: &Dictionary, key: &[u8]) -> Option<[f32; 4]> {
    let Object::Array(a) = inherited(doc, page, key)? else {
        return None;
    };
    if a.len() < 4 {
        return None;
    }
    let v: Vec<f32> = a
        .iter()
        .take(4)
        .map(|o| as_f32(doc, o))
        .collect::<Option<_>>()?;
    let (x0, x1) = (v[0].min(v[2]), v[0].max(v[2]));
    let (y0, y1) = (v[1].min(v[3]), v[1].max(v[3]));
    if x1 - x0 < 1.0 || y1 - y0 < 1.0 || [x0, y0, x1, y1].iter().any(|c| c.abs() > 1e6) {
        return None;
    }
    Some([x0, y0, x1, y1])
}

fn read_page<'d>(ctx: &mut DocCtx<'d>, id: ObjectId, number: u32) -> Result<Page, Stop> {
    let doc = ctx.doc;
    let page = match doc.get_object(id) {
        Ok(Object::Dictionary(d)) => d,
        // an unreadable page object: a blank Letter page
        _ => {
            return Ok(Page {
                number,
                width: 612.0,
                height: 792.0,
                spans: Vec::new(),
                rulings: Vec::new(),
                image_count: 0,
            })
        }
    };
    let media = page_box(doc, page, b"MediaBox").unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let bx = match page_box(doc, page, b"CropBox") {
        // the visible part: CropBox clipped to MediaBox
        Some(c) => {
            let b = [
                c[0].max(media[0]),
                c[1].max(media[1]),
                c[2].min(media[2]),
                c[3].min(media[3]),
            ];
            if b[2] - b[0] >= 1.0 && b[3] - b[1] >= 1.0 {
                b
            } else {
                media
            }
        }
        None => media,
    };
    let rotate = match inherited(doc, page, b"Rotate") {
        Some(Object::Integer(r)) => (((*r % 360) + 360) % 360) as i32,
        Some(Object::Real(r)) if r.is_finite() => (((*r as i64 % 360) + 360) % 360) as i32,
        _ => 0,
    };
    let rotate = (rotate / 90) * 90;
    let xf = PageXform {
        x0: bx[0],
        y0: bx[1],
        x1: bx[2],
        y1: bx[3],
        rotate,
    };
    let (width, height) = xf.size();
    let resources = match inherited(doc, page, b"Resources") {
        Some(Object::Dictionary(d)) => Some(d),
        _ => None,
    };
    // the content streams, concatenated (an operator may be split across two of them)
    let mut streams: Vec<&lopdf::Stream> = Vec::new();
    match page.get(b"Contents").ok().map(|o| deref(doc, o)) {
        Some(Object::Stream(s)) => streams.push(s),
        Some(Object::Array(a)) => {
            for o in a.iter().take(10_000) {
                if let Object::Stream(s) = deref(doc, o) {
                    streams.push(s);
                }
            }
        }
        _ => {}
    }
    let limit = ctx.limits.max_stream;
    let mut content: Vec<u8> = Vec::new();
    for s in streams {
        let remaining = limit.saturating_sub(content.len());
        if remaining == 0 {
            return Err(Stop::TooLarge(format!(
                "page content decodes to more than {} MiB",
                limit >> 20
            )));
        }
        let data = ctx.decode(s, remaining)?;
        content.extend_from_slice(&data);
        content.push(b'\n');
    }
    let mut run = PageRun::new(ctx, xf);
    run.run_page(&content, resources)?;
    run.run_annotations(page)?;
    Ok(Page {
        number,
        width,
        height,
        spans: std::mem::take(&mut run.spans),
        rulings: std::mem::take(&mut run.rulings),
        image_count: run.images,
    })
}

fn text_string(o: &Object) -> Option<String> {
    match o {
        Object::String(..) => lopdf::decode_text_string(o).ok().or_else(|| {
            o.as_str()
                .ok()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        }),
        Object::Name(n) => Some(String::from_utf8_lossy(n).into_owned()),
        _ => None,
    }
}

/// Signature fields: AcroForm fields and page widgets whose /V is a signature dictionary with
/// a /ByteRange.
fn signatures(doc: &Document, page_ids: &[ObjectId], file_len: usize) -> Vec<Signature> {
    let page_no: HashMap<ObjectId, u32> = page_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u32 + 1))
        .collect();
    let mut out = Vec::new();
    let mut seen_values: HashSet<ObjectId> = HashSet::new();
    let mut seen_fields: HashSet<ObjectId> = HashSet::new();

    struct Walk<'a> {
        doc: &'a Document,
        page_no: &'a HashMap<ObjectId, u32>,
        file_len: usize,
    }

    impl Walk<'_> {
        /// Records `field` when it is a filled signature field.
        fn visit(
            &self,
            field: &Dictionary,
            name: Option<String>,
            ft: Option<&[u8]>,
            page: Option<u32>,
            seen_values: &mut HashSet<ObjectId>,
            out: &mut Vec<Signature>,
        ) {
            let doc = self.doc;
            if ft != Some(b"Sig") {
                return;
            }
            let Ok(v_raw) = field.get(b"V") else { return };
            if let Object::Reference(vid) = v_raw {
                if !seen_values.insert(*vid) {
                    return;
                }
            }
            let Object::Dictionary(v) = deref(doc, v_raw) else {
                return;
            };
            let Some(Object::Array(br)) = v.get(b"ByteRange").ok().map(|o| deref(doc, o)) else {
                return;
            };
            let byte_range: Vec<i64> = br
                .iter()
                .take(64)
                .filter_map(|o| match deref(doc, o) {
                    Object::Integer(i) => Some(*i),
                    Object::Real(r) => Some(*r as i64),
                    _ => None,
                })
                .collect();
            let covers_whole_file = byte_range.len() == 4
                && byte_range[2].checked_add(byte_range[3]) == Some(self.file_len as i64);
            let page = page.or_else(|| match field.get(b"P") {
                Ok(Object::Reference(pid)) => self.page_no.get(pid).copied(),
                _ => None,
            });
            out.push(Signature {
                field_name: name,
                page,
                byte_range,
                covers_whole_file,
            });
        }

        #[allow(clippy::too_many_arguments)]
        fn walk(
            &self,
            o: &Object,
            parent_name: Option<&str>,
            parent_ft: Option<&[u8]>,
            depth: u32,
            seen_fields: &mut HashSet<ObjectId>,
            seen_values: &mut HashSet<ObjectId>,
            out: &mut Vec<Signature>,
        ) {
            if depth > 32 || out.len() > 1000 {
                return;
            }
            if let Object::Reference(id) = o {
                if !seen_fields.insert(*id) {
                    return;
                }
            }
            let Object::Dictionary(field) = deref(self.doc, o) else {
                return;
            };
            let own_name = field
                .get(b"T")
                .ok()
                .map(|t| deref(self.doc, t))
                .and_then(text_string);
            let name: Option<String> = match (parent_name, own_name) {
                (Some(p), Some(n)) => Some(format!("{p}.{n}")),
                (None, Some(n)) => Some(n),
                (p, None) => p.map(|s| s.to_string()),
            };
            let ft: Option<&[u8]> = match field.get(b"FT").ok().map(|x| deref(self.doc, x)) {
                Some(Object::Name(n)) => Some(n.as_slice()),
                _ => parent_ft,
            };
            // page from the field's /P or its first widget kid's
            let mut page = match field.get(b"P") {
                Ok(Object::Reference(pid)) => self.page_no.get(pid).copied(),
                _ => None,
            };
            if let Some(Object::Array(kids)) = field.get(b"Kids").ok().map(|k| deref(self.doc, k)) {
                if page.is_none() {
                    for k in kids.iter().take(16) {
                        if let Object::Dictionary(kd) = deref(self.doc, k) {
                            if let Ok(Object::Reference(pid)) = kd.get(b"P") {
                                page = self.page_no.get(pid).copied();
                                if page.is_some() {
                                    break;
                                }
                            }
                        }
                    }
                }
                self.visit(field, name.clone(), ft, page, seen_values, out);
                for k in kids.iter().take(10_000) {
                    self.walk(
                        k,
                        name.as_deref(),
                        ft,
                        depth + 1,
                        seen_fields,
                        seen_values,
                        out,
                    );
                }
            } else {
                self.visit(field, name, ft, page, seen_values, out);
            }
        }
    }

    let w = Walk {
        doc,
        page_no: &page_no,
        file_len,
    };
    if let Ok(cat) = doc.catalog() {
        if let Some(Object::Dictionary(acro)) = cat.get(b"AcroForm").ok().map(|o| deref(doc, o)) {
            if let Some(Object::Array(fields)) = acro.get(b"Fields").ok().map(|o| deref(doc, o)) {
                for f in fields.iter().take(10_000) {
                    w.walk(
                        f,
                        None,
                        None,
                        0,
                        &mut seen_fields,
                        &mut seen_values,
                        &mut out,
                    );
                }
            }
        }
    }
    // signature widgets reachable only from the pages
    for (i, pid) in page_ids.iter().enumerate() {
        let Ok(Object::Dictionary(page)) = doc.get_object(*pid) else {
            continue;
        };
        let Some(Object::Array(annots)) = page.get(b"Annots").ok().map(|o| deref(doc, o)) else {
            continue;
        };
        for a in annots.iter().take(10_000) {
            if let Object::Reference(aid) = a {
                if seen_fields.contains(aid) {
                    continue;
                }
            }
            let Object::Dictionary(ad) = deref(doc, a) else {
                continue;
            };
            // the field may be the widget itself or its parent
            let mut ft: Option<&[u8]> = None;
            let mut node = ad;
            let mut name: Option<String> = None;
            for _ in 0..16 {
                if ft.is_none() {
                    if let Some(Object::Name(n)) = node.get(b"FT").ok().map(|x| deref(doc, x)) {
                        ft = Some(n.as_slice());
                    }
                }
                if name.is_none() {
                    name = node
                        .get(b"T")
                        .ok()
                        .map(|t| deref(doc, t))
                        .and_then(text_string);
                }
                if node.has(b"V") {
                    break;
                }
                match node.get(b"Parent").ok().map(|p| deref(doc, p)) {
                    Some(Object::Dictionary(p)) => node = p,
                    _ => break,
                }
            }
            w.visit(
                node,
                name,
                ft,
                Some(i as u32 + 1),
                &mut seen_values,
                &mut out,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str, x: f32, y: f32, size: f32) -> TextSpan {
        TextSpan {
            joins: Vec::new(),
            text: text.into(),
            x,
            y,
            width: size * text.chars().count() as f32,
            size,
        }
    }

    #[test]
    fn table_row_stays_one_line_ordered_by_x() {
        // cells of one row drawn column by column, baselines a little apart, sizes differ
        let spans = vec![
            span("联系电话", 300.0, 100.4, 10.5),
            span("联系人", 50.0, 100.0, 12.0),
            span("张三", 120.0, 99.7, 12.0),
            span("13800000000", 400.0, 100.2, 10.5),
            span("申报单位", 50.0, 130.0, 12.0),
        ];
        let lines = reading_order(&spans);
        assert_eq!(lines.len(), 2);
        let t: Vec<_> = lines[0].spans.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(t, vec!["联系人", "张三", "联系电话", "13800000000"]);
        assert_eq!(lines[1].spans[0].text, "申报单位");
        assert_eq!(lines[0].text(), "联系人 张三 联系电话 13800000000");
    }

    #[test]
    fn close_lines_are_not_merged_and_duplicates_dropped() {
        let spans = vec![
            span("一", 10.0, 100.0, 10.0),
            span("二", 10.0, 108.0, 10.0),
            span("一", 10.3, 100.2, 10.0),
        ];
        let lines = reading_order(&spans);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].spans.len(), 1);
        let page = Page {
            number: 1,
            width: 100.0,
            height: 200.0,
            spans,
            rulings: Vec::new(),
            image_count: 0,
        };
        assert_eq!(page_text(&page), "一\n二");
    }

    #[test]
    fn empty_and_garbage_inputs() {
        assert!(matches!(read_pdf(b""), Err(ReadError::Empty)));
        assert!(matches!(read_pdf(b"hello"), Err(ReadError::Unsupported(_))));
        assert!(read_pdf(b"%PDF-1.4\n1 0 obj\n<<").is_err());
    }

    fn stream(dict: &str, content: &[u8]) -> Vec<u8> {
        [
            format!("<< {dict} /Length {} >>\nstream\n", content.len()).as_bytes(),
            content,
            b"\nendstream",
        ]
        .concat()
    }

    /// A PDF file from its objects (numbered from 1; object 1 is the catalog).
    fn build(objs: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = vec![];
        for (i, o) in objs.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(o);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes(),
        );
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objs.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    #[test]
    fn signature_field_and_widget_appearance() {
        let ap = b"BT /F1 10 Tf 2 4 Td (Signed) Tj ET q 40 0 0 40 60 0 cm /Seal Do Q";
        let objs = vec![
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Rotate 0 /Annots [4 0 R] >>".to_vec(),
            b"<< /Type /Annot /Subtype /Widget /FT /Sig /T <FEFF753362A5> /P 3 0 R /Rect [100 100 300 150] /V 5 0 R /AP << /N 6 0 R >> >>".to_vec(),
            b"<< /Type /Sig /Filter /Adobe.PPKLite /ByteRange [0 10 20 XXXXXXXXXX] /Contents <00> >>".to_vec(),
            stream("/Type /XObject /Subtype /Form /BBox [0 0 200 50] /Resources << /Font << /F1 7 0 R >> /XObject << /Seal 8 0 R >> >>", ap),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
            stream("/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceRGB /BitsPerComponent 8", b"\xff\x00\x00"),
        ];
        let mut pdf = build(&objs);
        // make the signed range end at the end of the file
        let pos = pdf.windows(10).position(|w| w == b"XXXXXXXXXX").unwrap();
        let len = format!("{:010}", pdf.len() - 20);
        pdf[pos..pos + 10].copy_from_slice(len.as_bytes());
        let doc = read_pdf(&pdf).expect("readable");
        assert_eq!(doc.signatures.len(), 1, "{:?}", doc.signatures);
        let sig = &doc.signatures[0];
        assert_eq!(sig.field_name.as_deref(), Some("申报"));
        assert_eq!(sig.page, Some(1));
        assert_eq!(sig.byte_range, vec![0, 10, 20, pdf.len() as i64 - 20]);
        assert!(sig.covers_whole_file);
        // bytes appended after signing
        let mut longer = pdf.clone();
        longer.extend_from_slice(b"\n% appended\n");
        assert!(!read_pdf(&longer).unwrap().signatures[0].covers_whole_file);
        // the widget's appearance is drawn: its text at the Rect, its seal image counted
        let p = &doc.pages[0];
        assert_eq!(p.image_count, 1);
        assert_eq!(page_text(p), "Signed");
        let s = &p.spans[0];
        assert!(
            (s.x - 102.0).abs() < 0.01 && (s.y - 696.0).abs() < 0.01,
            "{s:?}"
        );
    }

    #[test]
    fn rotated_page_and_form_bomb() {
        // /Rotate 90: the page is shown landscape, text that ran up the page now runs across
        let content = b"BT /F1 10 Tf 0 1 -1 0 500 100 Tm (Hello) Tj ET";
        let objs = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Rotate 90 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
            stream("", content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        ];
        let doc = read_pdf(&build(&objs)).expect("readable");
        let p = &doc.pages[0];
        assert_eq!((p.width, p.height), (800.0, 600.0));
        let s = &p.spans[0];
        assert_eq!(s.text, "Hello");
        // user (500,100) → unrotated top-left (500,700) → rotated (800-700, 500)
        assert!(
            (s.x - 100.0).abs() < 0.01 && (s.y - 500.0).abs() < 0.01,
            "{s:?}"
        );
        assert!((s.width - 22.78).abs() < 0.01, "{s:?}"); // Helvetica metrics

        // twelve nested forms, each drawing the next ten times: 10^12 operators
        let mut objs = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Resources << /XObject << /X 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
            stream("", b"/X Do"),
        ];
        for level in 0..12 {
            let next = 5 + level + 1;
            objs.push(stream(&format!("/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources << /XObject << /X {next} 0 R >> >>"), b"/X Do /X Do /X Do /X Do /X Do /X Do /X Do /X Do /X Do /X Do"));
        }
        objs.push(stream(
            "/Type /XObject /Subtype /Form /BBox [0 0 1 1]",
            b"0 0 m",
        ));
        let t = std::time::Instant::now();
        let r = read_pdf(&build(&objs));
        assert!(matches!(r, Err(ReadError::TooLarge(_))), "{r:?}");
        assert!(t.elapsed().as_secs_f32() < 5.0);
    }

    #[test]
    fn vertical_writing() {
        let tu = b"begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange 3 beginbfchar <0001> <4E2D> <0002> <6587> <0003> <5B57> endbfchar endcmap";
        let objs = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
            stream("", b"BT /F1 10 Tf 100 700 Td <00010002> Tj [1000 <0003>] TJ ET"),
            b"<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-V /ToUnicode 6 0 R /DescendantFonts [<< /Subtype /CIDFontType2 /BaseFont /X >>] >>".to_vec(),
            stream("", tu),
        ];
        let doc = read_pdf(&build(&objs)).expect("readable");
        let spans = &doc.pages[0].spans;
        assert_eq!(spans.len(), 2, "{spans:?}");
        assert_eq!(spans[0].text, "中文");
        assert!(
            (spans[0].x - 95.0).abs() < 0.01 && (spans[0].y - 142.0).abs() < 0.01,
            "{spans:?}"
        );
        // two glyphs down, then a TJ adjustment of one more em further down
        assert_eq!(spans[1].text, "字");
        assert!((spans[1].y - 172.0).abs() < 0.01, "{spans:?}");
    }

    #[test]
    fn too_many_pages() {
        let n = MAX_PAGES + 1;
        let kids: String = (0..n).map(|i| format!("{} 0 R ", i + 3)).collect();
        let mut objs = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            format!("<< /Type /Pages /Kids [{kids}] /Count {n} >>").into_bytes(),
        ];
        for _ in 0..n {
            objs.push(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>".to_vec());
        }
        assert!(matches!(
            read_pdf(&build(&objs)),
            Err(ReadError::TooLarge(_))
        ));
    }

    /// A small hand-made PDF: a GBK "WinAnsi" font, a Type0 UCS-2 font, a form XObject drawn
    /// twice, one that draws itself, and an image.
    fn sample_pdf() -> Vec<u8> {
        let content = b"BT /F1 12 Tf 72 700 Td <D6D0B9FA> Tj ET\nBT /F2 10 Tf 1 0 0 1 72 680 Tm <4E2D6587> Tj ET\nq 1 0 0 1 0 -100 cm /X1 Do Q /X1 Do /X2 Do /Im Do";
        let form = b"BT /F2 10 Tf 72 600 Td [<8868> -3000 <683C>] TJ ET /X2 Do";
        let selfref = b"/X2 Do";
        let objs: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R /F2 6 0 R >> /XObject << /X1 7 0 R /X2 8 0 R /Im 9 0 R >> >> /Contents 4 0 R >>".to_vec(),
            [format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(), content, b"\nendstream"].concat(),
            b"<< /Type /Font /Subtype /TrueType /BaseFont /#CB#CE#CC#E5 /Encoding /WinAnsiEncoding >>".to_vec(),
            b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> >>] >>".to_vec(),
            [format!("<< /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Length {} >>\nstream\n", form.len()).as_bytes(), form, b"\nendstream"].concat(),
            [format!("<< /Type /XObject /Subtype /Form /BBox [0 0 1 1] /Length {} >>\nstream\n", selfref.len()).as_bytes(), selfref, b"\nendstream"].concat(),
            b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length 1 >>\nstream\n\x00\nendstream".to_vec(),
        ];
        build(&objs)
    }

    #[test]
    fn reads_hand_made_pdf() {
        let doc = read_pdf(&sample_pdf()).expect("readable");
        assert_eq!(doc.pages.len(), 1);
        let p = &doc.pages[0];
        assert_eq!((p.width, p.height), (595.0, 842.0));
        assert_eq!(p.image_count, 1);
        let text = page_text(p);
        assert_eq!(text, "中国\n中文\n表 格\n表 格", "{:#?}", p.spans);
        // positions: top-left origin, y down
        let first = &p.spans[0];
        assert!(
            (first.x - 72.0).abs() < 0.01 && (first.y - 142.0).abs() < 0.01,
            "{first:?}"
        );
        assert!((first.size - 12.0).abs() < 0.01);
        assert!((first.width - 24.0).abs() < 0.01, "{first:?}");
        // the form drawn with a -100 translation is 100 points lower
        let forms: Vec<_> = p.spans.iter().filter(|s| s.text == "表").collect();
        assert_eq!(forms.len(), 2);
        assert!(
            (forms[0].y - 342.0).abs() < 0.01 && (forms[1].y - 242.0).abs() < 0.01,
            "{forms:?}"
        );
        assert!(doc.signatures.is_empty());
    }
}
