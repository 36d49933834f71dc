//! Walking a page's content stream(s): graphics and text state, Form XObjects, text spans.

use super::cmap::FastMap;
use super::font::{Font, FontCtx};
use super::lexer::{Lexer, Tok};
use super::{Ruling, TextSpan};
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::sync::Arc;

/// Limits that keep one hostile document from taking the machine.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// decoded bytes of any one content stream
    pub max_stream: usize,
    /// bytes of content walked for one page (forms drawn repeatedly count each time)
    pub max_page_bytes: usize,
    /// operators per page, forms included
    pub max_ops_page: u64,
    /// operators for the whole document
    pub max_ops_doc: u64,
    /// Form XObject nesting
    pub max_depth: u32,
    /// spans kept per page
    pub max_spans: usize,
    /// decoded form content kept in the per-document cache
    pub max_form_cache: usize,
    /// content bytes decoded for the whole document (pages and forms)
    pub max_decoded_doc: usize,
    /// content bytes walked for the whole document
    pub max_lexed_doc: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_stream: 64 << 20,
            max_page_bytes: 128 << 20,
            max_ops_page: 2_000_000,
            max_ops_doc: 20_000_000,
            max_depth: 12,
            max_spans: 200_000,
            max_form_cache: 64 << 20,
            max_decoded_doc: 256 << 20,
            max_lexed_doc: 256 << 20,
        }
    }
}

/// Why a page could not be walked to the end.
#[derive(Debug)]
pub enum Stop {
    TooLarge(String),
}

/// Row-vector affine matrix [a b c d e f]: x' = a x + c y + e, y' = b x + d y + f.
pub type M = [f32; 6];
pub const IDENT: M = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `a` then `b`.
#[inline]
pub fn mul(a: &M, b: &M) -> M {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

#[inline]
pub fn apply(m: &M, x: f32, y: f32) -> (f32, f32) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

fn sane(m: M) -> Option<M> {
    if m.iter().all(|v| v.is_finite() && v.abs() < 1e7) {
        Some(m)
    } else {
        None
    }
}

/// User space → page space with the origin at the top-left of the visible box, y down, after
/// /Rotate.
#[derive(Clone, Copy, Debug)]
pub struct PageXform {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    /// 0, 90, 180 or 270
    pub rotate: i32,
}

impl PageXform {
    pub fn size(&self) -> (f32, f32) {
        let w = self.x1 - self.x0;
        let h = self.y1 - self.y0;
        if self.rotate % 180 == 0 {
            (w, h)
        } else {
            (h, w)
        }
    }

    #[inline]
    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let u = x - self.x0;
        let v = self.y1 - y;
        let w = self.x1 - self.x0;
        let h = self.y1 - self.y0;
        match self.rotate {
            90 => (h - v, u),
            180 => (w - u, h - v),
            270 => (v, w - u),
            _ => (u, v),
        }
    }
}

#[derive(Clone)]
struct GState {
    ctm: M,
    font: Option<Arc<Font>>,
    size: f32,
    tc: f32,
    tw: f32,
    th: f32,
    tl: f32,
    rise: f32,
    /// how light the stroking and the filling colour are (0 black … 1 white): white lines and
    /// fills draw no table border
    stroke_light: f32,
    fill_light: f32,
}

impl GState {
    fn initial() -> GState {
        GState {
            ctm: IDENT,
            font: None,
            size: 0.0,
            tc: 0.0,
            tw: 0.0,
            th: 1.0,
            tl: 0.0,
            rise: 0.0,
            stroke_light: 0.0,
            fill_light: 0.0,
        }
    }
}

/// How light a colour given by its operands is: grey, RGB or CMYK by the operand count.
fn lightness(v: &[f32]) -> f32 {
    let c = |x: f32| x.clamp(0.0, 1.0);
    match v.len() {
        1 => c(v[0]),
        3 => (c(v[0]) + c(v[1]) + c(v[2])) / 3.0,
        4 => 1.0 - c(v[0]).max(c(v[1])).max(c(v[2])).max(c(v[3])),
        _ => 0.0,
    }
}

/// A path being built: straight segments in page space, and whether a subpath has curves.
#[derive(Default)]
struct Path {
    /// (from, to, straight)
    segs: Vec<((f32, f32), (f32, f32), bool)>,
    /// index in `segs` where each subpath starts, and its first point
    subpaths: Vec<(usize, (f32, f32))>,
    current: Option<(f32, f32)>,
}

/// Segments kept per path (a hatched area or a chart draws many; no table needs more).
const MAX_PATH_SEGS: usize = 20_000;

impl Path {
    fn move_to(&mut self, p: (f32, f32)) {
        self.subpaths.push((self.segs.len(), p));
        self.current = Some(p);
    }
    fn line_to(&mut self, p: (f32, f32), straight: bool) {
        match self.current {
            Some(c) if self.segs.len() < MAX_PATH_SEGS => self.segs.push((c, p, straight)),
            Some(_) => {}
            None => self.subpaths.push((self.segs.len(), p)),
        }
        self.current = Some(p);
    }
    fn close(&mut self) {
        if let (Some(c), Some(&(_, start))) = (self.current, self.subpaths.last()) {
            if c != start && self.segs.len() < MAX_PATH_SEGS {
                self.segs.push((c, start, true));
            }
            self.current = Some(start);
        }
    }
    fn clear(&mut self) {
        self.segs.clear();
        self.subpaths.clear();
        self.current = None;
    }
    /// The subpaths as slices of segments.
    fn each_subpath(&self) -> impl Iterator<Item = &[((f32, f32), (f32, f32), bool)]> {
        (0..self.subpaths.len()).map(move |k| {
            let a = self.subpaths[k].0;
            let b = self.subpaths.get(k + 1).map(|s| s.0).unwrap_or(self.segs.len());
            &self.segs[a..b.max(a)]
        })
    }
}

/// A subpath that is an axis-parallel rectangle (four straight sides, closed): its box.
fn as_rectangle(sub: &[((f32, f32), (f32, f32), bool)]) -> Option<[f32; 4]> {
    if !(3..=5).contains(&sub.len()) || sub.iter().any(|s| !s.2) {
        return None;
    }
    let tol = 0.05;
    let axis = |s: &((f32, f32), (f32, f32), bool)| (s.0 .0 - s.1 .0).abs() <= tol || (s.0 .1 - s.1 .1).abs() <= tol;
    if !sub.iter().all(axis) {
        return None;
    }
    let first = sub[0].0;
    let last = sub[sub.len() - 1].1;
    if (first.0 - last.0).abs() > tol || (first.1 - last.1).abs() > tol {
        // three sides drawn, the fourth implied by the fill
        if sub.len() != 3 {
            return None;
        }
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for s in sub {
        for p in [s.0, s.1] {
            x0 = x0.min(p.0);
            y0 = y0.min(p.1);
            x1 = x1.max(p.0);
            y1 = y1.max(p.1);
        }
    }
    Some([x0, y0, x1, y1])
}

/// Per-document state shared by the pages: fonts and decoded forms, each loaded once.
pub struct DocCtx<'d> {
    pub doc: &'d Document,
    pub limits: Limits,
    fonts: FastMap<usize, Arc<Font>>,
    default_font: Arc<Font>,
    forms: FastMap<ObjectId, Arc<Vec<u8>>>,
    form_bytes: usize,
    font_ctx: FontCtx,
    pub ops_doc: u64,
    decoded_doc: usize,
    lexed_doc: usize,
}

impl<'d> DocCtx<'d> {
    pub fn new(doc: &'d Document, limits: Limits) -> Self {
        DocCtx {
            doc,
            limits,
            fonts: FastMap::default(),
            default_font: Arc::new(Font::fallback()),
            forms: FastMap::default(),
            form_bytes: 0,
            font_ctx: FontCtx::default(),
            ops_doc: 0,
            decoded_doc: 0,
            lexed_doc: 0,
        }
    }

    /// Decodes a content stream (page or form) against the document's budget.
    pub fn decode(&mut self, s: &lopdf::Stream, limit: usize) -> Result<Vec<u8>, Stop> {
        let remaining = self.limits.max_decoded_doc.saturating_sub(self.decoded_doc);
        if remaining == 0 {
            return Err(Stop::TooLarge(format!(
                "content streams decode to more than {} MiB in all",
                self.limits.max_decoded_doc >> 20
            )));
        }
        let data = decode_stream(s, limit.min(remaining))?;
        self.decoded_doc += data.len();
        Ok(data)
    }

    fn font(&mut self, res: Option<&'d Dictionary>, name: &[u8]) -> Arc<Font> {
        let doc: &'d Document = self.doc;
        let Some(res) = res else {
            return self.default_font.clone();
        };
        let fonts = match res.get(b"Font").ok().map(|o| deref(doc, o)) {
            Some(Object::Dictionary(d)) => d,
            _ => return self.default_font.clone(),
        };
        let Ok(entry) = fonts.get(name) else {
            return self.default_font.clone();
        };
        // key: the font's object number, or the address of an inline dictionary
        let (key, dict) = match entry {
            Object::Reference(id) => {
                let key = ((id.0 as usize) << 16) ^ id.1 as usize ^ (1usize << 63);
                if let Some(f) = self.fonts.get(&key) {
                    return f.clone();
                }
                match deref(doc, entry) {
                    Object::Dictionary(d) => (key, Some(d)),
                    _ => (key, None),
                }
            }
            Object::Dictionary(d) => {
                let key = d as *const Dictionary as usize;
                if let Some(f) = self.fonts.get(&key) {
                    return f.clone();
                }
                (key, Some(d))
            }
            _ => return self.default_font.clone(),
        };
        let f = match dict {
            Some(d) => Arc::new(Font::load(self.doc, d, &mut self.font_ctx)),
            None => self.default_font.clone(),
        };
        if self.fonts.len() < 10_000 {
            self.fonts.insert(key, f.clone());
        }
        f
    }

    fn form_content(&mut self, id: ObjectId, s: &lopdf::Stream) -> Result<Arc<Vec<u8>>, Stop> {
        if let Some(c) = self.forms.get(&id) {
            return Ok(c.clone());
        }
        let data = Arc::new(self.decode(s, self.limits.max_stream)?);
        if self.form_bytes + data.len() <= self.limits.max_form_cache {
            self.form_bytes += data.len();
            self.forms.insert(id, data.clone());
        }
        Ok(data)
    }
}

/// A stream's decoded bytes, bounded; a stream that cannot be decoded gives nothing.
pub fn decode_stream(s: &lopdf::Stream, limit: usize) -> Result<Vec<u8>, Stop> {
    match s.decompressed_content_with_limit(limit) {
        Ok(v) => Ok(v),
        Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => {
            Err(Stop::TooLarge(format!(
                "a content stream decodes to more than {} MiB",
                limit >> 20
            )))
        }
        Err(_) => Ok(Vec::new()),
    }
}

/// Walks one page.
pub struct PageRun<'c, 'd> {
    ctx: &'c mut DocCtx<'d>,
    xf: PageXform,
    pub spans: Vec<TextSpan>,
    /// drawn lines and the sides of drawn boxes: table borders
    pub rulings: Vec<Ruling>,
    pub images: u32,
    path: Path,
    ops: u64,
    bytes: usize,
    forms_active: Vec<ObjectId>,
    buf: String,
}

impl<'c, 'd> PageRun<'c, 'd> {
    pub fn new(ctx: &'c mut DocCtx<'d>, xf: PageXform) -> Self {
        PageRun {
            ctx,
            xf,
            spans: Vec::new(),
            rulings: Vec::new(),
            images: 0,
            path: Path::default(),
            ops: 0,
            bytes: 0,
            forms_active: Vec::new(),
            buf: String::new(),
        }
    }

    pub fn run_page(&mut self, content: &[u8], res: Option<&'d Dictionary>) -> Result<(), Stop> {
        let gs = GState::initial();
        self.exec(content, res, gs, 0)
    }

    fn exec(
        &mut self,
        content: &[u8],
        res: Option<&'d Dictionary>,
        gs0: GState,
        depth: u32,
    ) -> Result<(), Stop> {
        let lim = self.ctx.limits;
        self.bytes += content.len();
        self.ctx.lexed_doc += content.len();
        if self.bytes > lim.max_page_bytes {
            return Err(Stop::TooLarge(format!(
                "page content over {} MiB",
                lim.max_page_bytes >> 20
            )));
        }
        if self.ctx.lexed_doc > lim.max_lexed_doc {
            return Err(Stop::TooLarge(format!(
                "document content over {} MiB",
                lim.max_lexed_doc >> 20
            )));
        }
        let mut lx = Lexer::new(content, 4096);
        let mut gs = gs0;
        let mut stack: Vec<GState> = Vec::new();
        let mut tm = IDENT;
        let mut tlm = IDENT;
        while let Some(op) = lx.next_op() {
            self.ops += 1;
            self.ctx.ops_doc += 1;
            if self.ops > lim.max_ops_page {
                return Err(Stop::TooLarge(format!(
                    "more than {} operators on one page",
                    lim.max_ops_page
                )));
            }
            if self.ctx.ops_doc > lim.max_ops_doc {
                return Err(Stop::TooLarge(format!(
                    "more than {} operators in the document",
                    lim.max_ops_doc
                )));
            }
            match op {
                b"q" if stack.len() < 1024 => {
                    stack.push(gs.clone());
                }
                b"Q" => {
                    if let Some(g) = stack.pop() {
                        gs = g;
                    }
                }
                b"cm" => {
                    if let Some(m) = lx.last_nums::<6>() {
                        if let Some(c) = sane(mul(&m, &gs.ctm)) {
                            gs.ctm = c;
                        }
                    }
                }
                b"g" | b"rg" | b"k" | b"sc" | b"scn" => {
                    if let Some(v) = colour_operands(&lx) {
                        gs.fill_light = lightness(&v);
                    }
                }
                b"G" | b"RG" | b"K" | b"SC" | b"SCN" => {
                    if let Some(v) = colour_operands(&lx) {
                        gs.stroke_light = lightness(&v);
                    }
                }
                b"cs" => gs.fill_light = 0.0,
                b"CS" => gs.stroke_light = 0.0,
                b"m" => {
                    if let Some([x, y]) = lx.last_nums::<2>() {
                        let p = self.to_page(&gs.ctm, x, y);
                        self.path.move_to(p);
                    }
                }
                b"l" => {
                    if let Some([x, y]) = lx.last_nums::<2>() {
                        let p = self.to_page(&gs.ctm, x, y);
                        self.path.line_to(p, true);
                    }
                }
                b"c" | b"v" | b"y" => {
                    let n = if op == b"c" { 6 } else { 4 };
                    if lx.ops.len() >= n {
                        if let (Some(x), Some(y)) = (lx.num(lx.ops.len() - 2), lx.num(lx.ops.len() - 1)) {
                            let p = self.to_page(&gs.ctm, x, y);
                            self.path.line_to(p, false);
                        }
                    }
                }
                b"h" => self.path.close(),
                b"re" => {
                    if let Some([x, y, w, h]) = lx.last_nums::<4>() {
                        let c = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)].map(|(a, b)| self.to_page(&gs.ctm, a, b));
                        self.path.move_to(c[0]);
                        for p in &c[1..] {
                            self.path.line_to(*p, true);
                        }
                        self.path.close();
                    }
                }
                b"S" | b"s" | b"f" | b"F" | b"f*" | b"B" | b"B*" | b"b" | b"b*" | b"n" => {
                    if matches!(op, b"s" | b"b" | b"b*") {
                        self.path.close();
                    }
                    let stroke = matches!(op, b"S" | b"s" | b"B" | b"B*" | b"b" | b"b*");
                    let fill = matches!(op, b"f" | b"F" | b"f*" | b"B" | b"B*" | b"b" | b"b*");
                    if stroke && gs.stroke_light < LIGHT {
                        self.stroke_rulings();
                    }
                    if fill && gs.fill_light < LIGHT {
                        self.fill_rulings();
                    }
                    self.path.clear();
                }
                b"BT" => {
                    tm = IDENT;
                    tlm = IDENT;
                }
                b"Tf" => {
                    let n = lx.ops.len();
                    if n >= 2 {
                        if let (Tok::Name(..), Tok::Num(sz)) = (lx.ops[n - 2], lx.ops[n - 1]) {
                            gs.font = Some(self.ctx.font(res, lx.tok_bytes(lx.ops[n - 2])));
                            gs.size = sz;
                        }
                    }
                }
                b"Tc" => {
                    if let Some([v]) = lx.last_nums::<1>() {
                        gs.tc = v;
                    }
                }
                b"Tw" => {
                    if let Some([v]) = lx.last_nums::<1>() {
                        gs.tw = v;
                    }
                }
                b"Tz" => {
                    if let Some([v]) = lx.last_nums::<1>() {
                        gs.th = v / 100.0;
                    }
                }
                b"TL" => {
                    if let Some([v]) = lx.last_nums::<1>() {
                        gs.tl = v;
                    }
                }
                b"Ts" => {
                    if let Some([v]) = lx.last_nums::<1>() {
                        gs.rise = v;
                    }
                }
                b"Td" | b"TD" => {
                    if let Some([x, y]) = lx.last_nums::<2>() {
                        if op == b"TD" {
                            gs.tl = -y;
                        }
                        if let Some(m) = sane(mul(&[1.0, 0.0, 0.0, 1.0, x, y], &tlm)) {
                            tlm = m;
                            tm = m;
                        }
                    }
                }
                b"Tm" => {
                    if let Some(m) = lx.last_nums::<6>().and_then(sane) {
                        tlm = m;
                        tm = m;
                    }
                }
                b"T*" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.tl], &tlm);
                    tm = tlm;
                }
                b"Tj" => {
                    if let Some(&t @ Tok::Str(..)) = lx.ops.last() {
                        self.show(&lx, std::slice::from_ref(&t), &gs, &mut tm);
                    }
                }
                b"'" => {
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.tl], &tlm);
                    tm = tlm;
                    if let Some(&t @ Tok::Str(..)) = lx.ops.last() {
                        self.show(&lx, std::slice::from_ref(&t), &gs, &mut tm);
                    }
                }
                b"\"" => {
                    let n = lx.ops.len();
                    if n >= 3 {
                        if let (Tok::Num(aw), Tok::Num(ac)) = (lx.ops[n - 3], lx.ops[n - 2]) {
                            gs.tw = aw;
                            gs.tc = ac;
                        }
                    }
                    tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -gs.tl], &tlm);
                    tm = tlm;
                    if let Some(&t @ Tok::Str(..)) = lx.ops.last() {
                        self.show(&lx, std::slice::from_ref(&t), &gs, &mut tm);
                    }
                }
                b"TJ" => {
                    // the last array among the operands
                    let ops = &lx.ops;
                    if let Some(end) = ops.iter().rposition(|t| *t == Tok::ArrClose) {
                        if let Some(start) = ops[..end].iter().rposition(|t| *t == Tok::ArrOpen) {
                            self.show(&lx, &ops[start + 1..end], &gs, &mut tm);
                        }
                    } else if let Some(start) = ops.iter().rposition(|t| *t == Tok::ArrOpen) {
                        // unterminated array
                        self.show(&lx, &ops[start + 1..], &gs, &mut tm);
                    }
                }
                b"Do" => {
                    if let Some(&t @ Tok::Name(..)) = lx.ops.last() {
                        self.do_xobject(res, lx.tok_bytes(t), &gs, depth)?;
                    }
                }
                b"BI" => {
                    // inline image: count it when it is big enough to be a picture, not a rule
                    let w = lx.num(0).unwrap_or(0.0);
                    let h = lx.num(1).unwrap_or(0.0);
                    if w * h >= 64.0 * 64.0 {
                        self.images += 1;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn do_xobject(
        &mut self,
        res: Option<&'d Dictionary>,
        name: &[u8],
        gs: &GState,
        depth: u32,
    ) -> Result<(), Stop> {
        let Some(res) = res else { return Ok(()) };
        let doc: &'d Document = self.ctx.doc;
        let xobjs = match res.get(b"XObject").ok().map(|o| deref(doc, o)) {
            Some(Object::Dictionary(d)) => d,
            _ => return Ok(()),
        };
        let Ok(entry) = xobjs.get(name) else {
            return Ok(());
        };
        let Object::Reference(id) = entry else {
            return Ok(());
        };
        let id = *id;
        let Ok(Object::Stream(s)) = doc.get_object(id) else {
            return Ok(());
        };
        let subtype = match s.dict.get(b"Subtype").ok().map(|o| deref(doc, o)) {
            Some(Object::Name(n)) => n.as_slice(),
            _ => b"",
        };
        match subtype {
            b"Image" => {
                self.images += 1;
                Ok(())
            }
            b"Form" | b"" => {
                if subtype.is_empty() && !s.dict.has(b"BBox") {
                    return Ok(());
                }
                if depth + 1 > self.ctx.limits.max_depth || self.forms_active.contains(&id) {
                    // too deep, or a form that draws itself
                    return Ok(());
                }
                let matrix = form_matrix(doc, &s.dict);
                self.run_form(id, s, Some(res), &matrix, gs, depth)
            }
            _ => Ok(()),
        }
    }

    /// Runs a form XObject: its /Matrix (`matrix`, already combined with any placement) after
    /// the current CTM, its own resources or the caller's.
    fn run_form(
        &mut self,
        id: ObjectId,
        s: &'d lopdf::Stream,
        res: Option<&'d Dictionary>,
        matrix: &M,
        gs: &GState,
        depth: u32,
    ) -> Result<(), Stop> {
        let doc: &'d Document = self.ctx.doc;
        let form_res: Option<&'d Dictionary> =
            match s.dict.get(b"Resources").ok().map(|o| deref(doc, o)) {
                Some(Object::Dictionary(d)) => Some(d),
                _ => res,
            };
        let content = self.ctx.form_content(id, s)?;
        let mut g = gs.clone();
        g.ctm = sane(mul(matrix, &gs.ctm)).unwrap_or(gs.ctm);
        self.forms_active.push(id);
        let r = self.exec(&content, form_res, g, depth + 1);
        self.forms_active.pop();
        r
    }

    /// Draws the page's annotations that have a normal appearance (filled form fields, stamps,
    /// free text): the appearance's BBox, through its Matrix, is fitted to the annotation's
    /// /Rect. Hidden, NoView and Popup annotations are skipped.
    pub fn run_annotations(&mut self, page: &'d Dictionary) -> Result<(), Stop> {
        let doc: &'d Document = self.ctx.doc;
        let Some(Object::Array(annots)) = page.get(b"Annots").ok().map(|o| deref(doc, o)) else {
            return Ok(());
        };
        let gs = GState::initial();
        for a in annots.iter().take(5000) {
            let Object::Dictionary(ad) = deref(doc, a) else {
                continue;
            };
            let subtype = match ad.get(b"Subtype").ok().map(|o| deref(doc, o)) {
                Some(Object::Name(n)) => n.as_slice(),
                _ => b"",
            };
            if matches!(subtype, b"Popup" | b"Link") {
                continue;
            }
            let flags = match ad.get(b"F").ok().map(|o| deref(doc, o)) {
                Some(Object::Integer(f)) => *f,
                _ => 0,
            };
            if flags & (2 | 32) != 0 {
                continue;
            }
            let Some(rect) = num_array::<4>(doc, ad.get(b"Rect").ok()) else {
                continue;
            };
            let rect = [
                rect[0].min(rect[2]),
                rect[1].min(rect[3]),
                rect[0].max(rect[2]),
                rect[1].max(rect[3]),
            ];
            // the normal appearance: a stream, or a dictionary of states picked by /AS
            let Some(Object::Dictionary(ap)) = ad.get(b"AP").ok().map(|o| deref(doc, o)) else {
                continue;
            };
            let Ok(n) = ap.get(b"N") else { continue };
            let n_ref: Option<ObjectId> = match n {
                Object::Reference(id) => match doc.get_object(*id) {
                    Ok(Object::Stream(_)) => Some(*id),
                    Ok(Object::Dictionary(states)) => pick_state(doc, ad, states),
                    _ => None,
                },
                Object::Dictionary(states) => pick_state(doc, ad, states),
                _ => None,
            };
            let Some(id) = n_ref else { continue };
            let Ok(Object::Stream(s)) = doc.get_object(id) else {
                continue;
            };
            let Some(bbox) = num_array::<4>(doc, s.dict.get(b"BBox").ok()) else {
                continue;
            };
            let matrix = form_matrix(doc, &s.dict);
            // transformed BBox → its bounding box → fitted to Rect (ISO 32000 12.5.5)
            let corners = [
                apply(&matrix, bbox[0], bbox[1]),
                apply(&matrix, bbox[2], bbox[1]),
                apply(&matrix, bbox[0], bbox[3]),
                apply(&matrix, bbox[2], bbox[3]),
            ];
            let (mut bx0, mut by0, mut bx1, mut by1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
            for (x, y) in corners {
                bx0 = bx0.min(x);
                by0 = by0.min(y);
                bx1 = bx1.max(x);
                by1 = by1.max(y);
            }
            let (bw, bh) = (bx1 - bx0, by1 - by0);
            if !(bw.abs() > 1e-3 && bh.abs() > 1e-3) {
                continue;
            }
            let sx = (rect[2] - rect[0]) / bw;
            let sy = (rect[3] - rect[1]) / bh;
            let fit = [sx, 0.0, 0.0, sy, rect[0] - bx0 * sx, rect[1] - by0 * sy];
            let Some(m) = sane(mul(&matrix, &fit)) else {
                continue;
            };
            if self.forms_active.contains(&id) {
                continue;
            }
            self.run_form(id, s, None, &m, &gs, 0)?;
        }
        Ok(())
    }

    /// A point of user space on the page (top-left origin, y down).
    fn to_page(&self, ctm: &M, x: f32, y: f32) -> (f32, f32) {
        let (ux, uy) = apply(ctm, x, y);
        self.xf.apply(ux, uy)
    }

    fn push_ruling(&mut self, r: Ruling) {
        let (pw, ph) = self.xf.size();
        let on_page = r.x1 >= -1.0 && r.x0 <= pw + 1.0 && r.y1 >= -1.0 && r.y0 <= ph + 1.0;
        if on_page && r.length() >= MIN_RULING && self.rulings.len() < MAX_RULINGS && [r.x0, r.y0, r.x1, r.y1].iter().all(|v| v.is_finite()) {
            self.rulings.push(r);
        }
    }

    /// A stroked path: its straight axis-parallel segments are rulings.
    fn stroke_rulings(&mut self) {
        let segs = std::mem::take(&mut self.path.segs);
        for &(a, b, straight) in &segs {
            if !straight {
                continue;
            }
            if let Some(r) = Ruling::from_segment(a, b) {
                self.push_ruling(r);
            }
        }
        self.path.segs = segs;
    }

    /// A filled path: a thin rectangle is a ruling along its length; a larger box (a shaded
    /// cell) has its four sides as rulings.
    fn fill_rulings(&mut self) {
        let boxes: Vec<[f32; 4]> = self.path.each_subpath().filter_map(as_rectangle).collect();
        for [x0, y0, x1, y1] in boxes {
            let (w, h) = (x1 - x0, y1 - y0);
            if h <= THIN && w > h {
                let y = (y0 + y1) / 2.0;
                self.push_ruling(Ruling { x0, y0: y, x1, y1: y });
            } else if w <= THIN && h > w {
                let x = (x0 + x1) / 2.0;
                self.push_ruling(Ruling { x0: x, y0, x1: x, y1 });
            } else if w > THIN && h > THIN {
                let (pw, ph) = self.xf.size();
                if w >= 0.9 * pw && h >= 0.9 * ph {
                    continue; // the page's background
                }
                self.push_ruling(Ruling { x0, y0, x1, y1: y0 });
                self.push_ruling(Ruling { x0, y0: y1, x1, y1 });
                self.push_ruling(Ruling { x0, y0, x1: x0, y1 });
                self.push_ruling(Ruling { x0: x1, y0, x1, y1 });
            }
        }
    }

    /// Shows strings (Tj/TJ items): advances the text matrix and records spans.
    fn show(&mut self, lx: &Lexer, items: &[Tok], gs: &GState, tm: &mut M) {
        let font = gs
            .font
            .clone()
            .unwrap_or_else(|| self.ctx.default_font.clone());
        let fs = gs.size;
        let th = gs.th;
        let trm = mul(tm, &gs.ctm);
        let vertical = font.vertical;
        let mut tx = 0.0f32;
        let mut ty = 0.0f32;
        let mut start = (0.0f32, 0.0f32);
        let mut text = std::mem::take(&mut self.buf);
        text.clear();
        let em = (fs * th).abs();
        for item in items {
            match *item {
                Tok::Str(..) => {
                    let bytes = lx.tok_bytes(*item);
                    font.show(bytes, &mut text, |w, space| {
                        let extra = gs.tc + if space { gs.tw } else { 0.0 };
                        if vertical {
                            ty += w * fs + extra;
                        } else {
                            tx += (w * fs + extra) * th;
                        }
                    });
                    if text.is_empty() {
                        // glyphs with no text (unmapped): the span starts after them
                        start = (tx, ty);
                    }
                }
                Tok::Num(adj) => {
                    let d = -adj / 1000.0 * fs;
                    if vertical {
                        // ty = (w1 - Tj/1000) * Tfs: a positive number moves further down
                        ty += d;
                    } else {
                        let dx = d * th;
                        if em > 0.0 && !text.is_empty() {
                            if dx > 2.0 * em || dx < -2.0 * em {
                                // a jump to another column: a new span
                                self.flush(&mut text, start, (tx, ty), gs, &trm, vertical);
                            } else {
                                let next = next_char(&font, lx, items, item);
                                if space_between(text.chars().last(), next, dx / em) {
                                    text.push(' ');
                                }
                            }
                        }
                        tx += dx;
                    }
                    if text.is_empty() {
                        // nothing shown yet: the span starts after the move
                        start = (tx, ty);
                    }
                }
                _ => {}
            }
        }
        self.flush(&mut text, start, (tx, ty), gs, &trm, vertical);
        self.buf = text;
        if let Some(m) = sane(mul(&[1.0, 0.0, 0.0, 1.0, tx, ty], tm)) {
            *tm = m;
        }
    }

    fn flush(
        &mut self,
        text: &mut String,
        start: (f32, f32),
        end: (f32, f32),
        gs: &GState,
        trm: &M,
        vertical: bool,
    ) {
        if text.is_empty() {
            return;
        }
        if text.chars().any(|c| c.is_control()) {
            let cleaned: String = text
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .filter(|c| !c.is_control())
                .collect();
            *text = cleaned;
        }
        if text.chars().any(|c| super::unify::unify(c) != c) {
            *text = text.chars().map(super::unify::unify).collect();
        }
        if super::is_blank(text) || self.spans.len() >= self.ctx.limits.max_spans {
            text.clear();
            return;
        }
        let rise = if vertical { 0.0 } else { gs.rise };
        let (ux, uy) = apply(trm, start.0, start.1 + rise);
        let (vx, vy) = apply(trm, end.0, end.1 + rise);
        let (px, py) = self.xf.apply(ux, uy);
        let (qx, qy) = self.xf.apply(vx, vy);
        let size = (gs.size * (trm[2] * trm[2] + trm[3] * trm[3]).sqrt()).abs();
        let size = if size.is_finite() { size } else { 0.0 };
        let (x, width) = if vertical {
            (px - size / 2.0, size)
        } else if (qx - px).abs() >= (qy - py).abs() {
            if qx >= px {
                (px, qx - px)
            } else {
                (qx, px - qx)
            }
        } else {
            (px, ((qx - px).powi(2) + (qy - py).powi(2)).sqrt())
        };
        let (pw, ph) = self.xf.size();
        let margin = size.max(1.0);
        if !x.is_finite()
            || !py.is_finite()
            || !width.is_finite()
            || x + width < -margin
            || x > pw + margin
            || py < -margin
            || py > ph + 2.0 * margin
        {
            // not on the visible page
            text.clear();
            return;
        }
        // continue the previous span when this one starts where it ended on the same baseline
        if !vertical {
            if let Some(last) = self.spans.last_mut() {
                let s = size.max(0.01);
                let gap = x - (last.x + last.width);
                if (last.size - size).abs() <= 0.02 * s
                    && (last.y - py).abs() <= 0.1 * s
                    && gap >= -0.6 * s
                    && gap <= 0.3 * s
                    && qx >= px
                {
                    if space_between(last.text.chars().last(), text.chars().next(), gap / s) {
                        last.text.push(' ');
                    } else if gap < -0.3 * s && last.text.ends_with(' ') {
                        // the next glyph is drawn over a trailing space: the space is not
                        // really there (old GBK output writes "字 " and moves one em)
                        let kept = last.text.trim_end_matches(' ').len();
                        last.text.truncate(kept);
                    }
                    last.joins.push((last.text.len(), x));
                    last.text.push_str(text);
                    last.width = (x + width) - last.x;
                    text.clear();
                    return;
                }
            }
        }
        self.spans.push(TextSpan {
            joins: Vec::new(),
            text: text.clone(),
            x,
            y: py,
            width,
            size,
        });
        text.clear();
    }
}

/// A colour lighter than this draws nothing a reader sees as a border (white on white).
const LIGHT: f32 = 0.9;
/// A filled box no thicker than this (points) is a drawn line.
const THIN: f32 = 3.0;
/// Rulings shorter than this (points) are specks, hatching or glyph parts.
const MIN_RULING: f32 = 2.0;
/// Rulings kept per page.
const MAX_RULINGS: usize = 50_000;

/// The numeric operands of a colour operator (sc/scn may end with a pattern name: no numbers).
fn colour_operands(lx: &Lexer) -> Option<Vec<f32>> {
    let nums: Vec<f32> = lx.ops.iter().rev().take_while(|t| matches!(t, Tok::Num(_))).filter_map(|t| match t {
        Tok::Num(v) => Some(*v),
        _ => None,
    }).collect();
    if nums.is_empty() || nums.len() > 4 {
        return None;
    }
    Some(nums.into_iter().rev().collect())
}

/// Whether a gap of `gap_em` (in ems) between two characters is a word space: more than 0.15 em,
/// or more than half an em between two CJK characters (letter-spaced Chinese stays together).
pub fn space_between(prev: Option<char>, next: Option<char>, gap_em: f32) -> bool {
    let (Some(p), Some(n)) = (prev, next) else {
        return false;
    };
    if p.is_whitespace() || n.is_whitespace() {
        return false;
    }
    let wide = |c: char| c as u32 >= 0x2e80;
    if wide(p) && wide(n) {
        gap_em > 0.5
    } else {
        gap_em > 0.15
    }
}

/// The first character the next string of a TJ array decodes to (for the space decision).
fn next_char(font: &Font, lx: &Lexer, items: &[Tok], current: &Tok) -> Option<char> {
    let pos = items.iter().position(|t| std::ptr::eq(t, current))?;
    let t = items[pos + 1..]
        .iter()
        .find(|t| matches!(t, Tok::Str(..)))?;
    let bytes = lx.tok_bytes(*t);
    let mut s = String::new();
    // decode only the first glyph or two
    font.show(&bytes[..bytes.len().min(4)], &mut s, |_, _| {});
    s.chars().next()
}

fn form_matrix(doc: &Document, d: &Dictionary) -> M {
    match num_array::<6>(doc, d.get(b"Matrix").ok()) {
        Some(m) => sane(m).unwrap_or(IDENT),
        None => IDENT,
    }
}

fn num_array<const N: usize>(doc: &Document, o: Option<&Object>) -> Option<[f32; N]> {
    let Object::Array(a) = deref(doc, o?) else {
        return None;
    };
    if a.len() < N {
        return None;
    }
    let mut out = [0.0; N];
    for (k, o) in a.iter().take(N).enumerate() {
        out[k] = match deref(doc, o) {
            Object::Integer(i) => *i as f32,
            Object::Real(r) if r.is_finite() => *r,
            _ => return None,
        };
    }
    Some(out)
}

/// The appearance state /AS picks from a dictionary of appearances (check boxes, radios).
fn pick_state(doc: &Document, annot: &Dictionary, states: &Dictionary) -> Option<ObjectId> {
    let Some(Object::Name(state)) = annot.get(b"AS").ok().map(|o| deref(doc, o)) else {
        return None;
    };
    match states.get(state) {
        Ok(Object::Reference(id)) => Some(*id),
        _ => None,
    }
}

pub fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    let mut o = o;
    for _ in 0..8 {
        match o {
            Object::Reference(id) => match doc.get_object(*id) {
                Ok(x) => o = x,
                Err(_) => return &Object::Null,
            },
            _ => return o,
        }
    }
    &Object::Null
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_maps_corners() {
        let xf = PageXform {
            x0: 0.0,
            y0: 0.0,
            x1: 600.0,
            y1: 800.0,
            rotate: 0,
        };
        assert_eq!(xf.apply(0.0, 800.0), (0.0, 0.0));
        assert_eq!(xf.apply(100.0, 700.0), (100.0, 100.0));
        let xf90 = PageXform { rotate: 90, ..xf };
        assert_eq!(xf90.size(), (800.0, 600.0));
        // the top-left corner of the unrotated page goes to the top-right
        assert_eq!(xf90.apply(0.0, 800.0), (800.0, 0.0));
        let xf180 = PageXform { rotate: 180, ..xf };
        assert_eq!(xf180.apply(0.0, 800.0), (600.0, 800.0));
        let xf270 = PageXform { rotate: 270, ..xf };
        assert_eq!(xf270.apply(0.0, 800.0), (0.0, 600.0));
    }

    #[test]
    fn matrix_order() {
        let scale = [2.0, 0.0, 0.0, 2.0, 0.0, 0.0];
        let tr = [1.0, 0.0, 0.0, 1.0, 10.0, 5.0];
        // translate then scale
        assert_eq!(apply(&mul(&tr, &scale), 0.0, 0.0), (20.0, 10.0));
    }
}
