//! Fonts: character codes → Unicode text and glyph widths.
//!
//! Covers what Chinese office software writes: Type0 fonts with Identity-H/V and a ToUnicode
//! CMap, Type0 fonts with predefined CMaps (UniGB-UCS2-H, GBK-EUC-H, 90ms-RKSJ-H, …) or an
//! Adobe-GB1/Japan1/CNS1/Korea1 collection and no ToUnicode, simple fonts with the standard
//! encodings and /Differences, and the legacy case of a non-embedded "WinAnsi" TrueType font
//! whose string bytes are really GBK.

use super::cmap::{next_code, CMap, Codespace, FastMap};
use super::predefined;
use super::truetype;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::sync::{Arc, Mutex, OnceLock};

/// Upper bound on a decoded ToUnicode / embedded CMap stream.
const MAX_CMAP_STREAM: usize = 8 << 20;
/// Upper bound on all CMap stream bytes parsed for one document.
const MAX_CMAP_BYTES_PER_DOC: usize = 32 << 20;
/// Upper bound on embedded font programs decoded (for their cmap) per document.
const MAX_FONT_BYTES_PER_DOC: usize = 64 << 20;

/// Per-document state for loading fonts: parsed CMap streams are shared between the fonts that
/// use them, and the total parsed is bounded.
pub struct FontCtx {
    cmaps: FastMap<ObjectId, Option<Arc<CMap>>>,
    budget: usize,
    glyph_maps: FastMap<ObjectId, Option<Arc<FastMap<u16, char>>>>,
    font_budget: usize,
}

impl Default for FontCtx {
    fn default() -> Self {
        FontCtx {
            cmaps: FastMap::default(),
            budget: MAX_CMAP_BYTES_PER_DOC,
            glyph_maps: FastMap::default(),
            font_budget: MAX_FONT_BYTES_PER_DOC,
        }
    }
}

impl FontCtx {
    /// Glyph id → Unicode from an embedded TrueType/OpenType program, read once per document.
    fn glyph_map(&mut self, doc: &Document, o: &Object) -> Option<Arc<FastMap<u16, char>>> {
        let Object::Reference(id) = o else {
            return None;
        };
        if let Some(m) = self.glyph_maps.get(id) {
            return m.clone();
        }
        let m = if self.font_budget == 0 {
            None
        } else {
            stream_bytes(doc, o, self.font_budget.min(32 << 20)).map(|b| {
                self.font_budget = self.font_budget.saturating_sub(b.len().max(1));
                Arc::new(truetype::glyph_to_unicode(&b))
            })
        }
        .filter(|m| !m.is_empty());
        if self.glyph_maps.len() < 10_000 {
            self.glyph_maps.insert(*id, m.clone());
        }
        m
    }

    /// A CMap stream (ToUnicode or encoding), parsed once per document.
    fn cmap(&mut self, doc: &Document, o: &Object) -> Option<Arc<CMap>> {
        let id = match o {
            Object::Reference(id) => Some(*id),
            _ => None,
        };
        if let Some(id) = id {
            if let Some(c) = self.cmaps.get(&id) {
                return c.clone();
            }
        }
        let parsed = if self.budget == 0 {
            None
        } else {
            stream_bytes(doc, o, self.budget.min(MAX_CMAP_STREAM)).map(|b| {
                self.budget = self.budget.saturating_sub(b.len().max(1));
                let mut cm = CMap::parse(&b);
                if cm.usecmap.is_none() {
                    if let Object::Stream(s) = deref(doc, o) {
                        if let Some(Object::Name(n)) =
                            s.dict.get(b"UseCMap").ok().map(|u| deref(doc, u))
                        {
                            cm.usecmap = Some(String::from_utf8_lossy(n).into_owned());
                        }
                    }
                }
                // e.g. a ToUnicode map on top of /Adobe-GB1-UCS2, an encoding on /GBK-EUC-H
                predefined::resolve_usecmap(&mut cm);
                Arc::new(cm)
            })
        };
        if let Some(id) = id {
            if self.cmaps.len() < 100_000 {
                self.cmaps.insert(id, parsed.clone());
            }
        }
        parsed
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Legacy {
    /// never reinterpret bytes
    Never,
    /// the font is a Chinese font: high bytes are GBK double-byte codes
    Always,
    /// decide per string: only when every high byte pairs into a GB2312 code
    Heuristic,
}

#[derive(Debug)]
enum Kind {
    Simple {
        table: Box<[Option<char>; 256]>,
        widths: Vec<f32>,
        first_char: u32,
        missing: f32,
        legacy: Legacy,
    },
    Cid {
        /// encoding CMap (code → CID); `None` for Identity
        cmap: Option<Arc<CMap>>,
        /// fallback codespace when the predefined CMap file is not available
        codespace: Arc<Vec<Codespace>>,
        /// code is UCS-2 / UTF-16 (Uni*-UCS2-*, Uni*-UTF16-*)
        ucs2: bool,
        /// code bytes are in a legacy multi-byte charset (GBK-EUC-H, 90ms-RKSJ-H, …)
        legacy: Option<&'static encoding_rs::Encoding>,
        /// CID → Unicode of the character collection
        cid_table: Option<&'static [u32]>,
        /// glyph id → Unicode from the embedded TrueType font's cmap, and CID → glyph id
        /// (`None`: identity)
        glyph_uni: Option<Arc<FastMap<u16, char>>>,
        cid_to_gid: Option<Vec<u16>>,
        /// (first CID, last CID, width) sorted by first CID
        widths: Vec<(u32, u32, f32)>,
        dw: f32,
    },
}

#[derive(Debug)]
pub struct Font {
    kind: Kind,
    to_unicode: Option<Arc<CMap>>,
    /// glyph-space → text-space factor for widths (1/1000, or FontMatrix[0] for Type3)
    wscale: f32,
    pub vertical: bool,
    /// vertical displacement (w1 of DW2) in thousandths of an em, for vertical fonts
    vy: f32,
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
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

fn get<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    d.get(key)
        .ok()
        .map(|o| deref(doc, o))
        .filter(|o| !matches!(o, Object::Null))
}

fn get_dict<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a Dictionary> {
    match get(doc, d, key)? {
        Object::Dictionary(x) => Some(x),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

fn get_name<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    match get(doc, d, key)? {
        Object::Name(n) => Some(n.as_slice()),
        _ => None,
    }
}

fn num(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) if r.is_finite() => Some(*r),
        _ => None,
    }
}

fn get_num(doc: &Document, d: &Dictionary, key: &[u8]) -> Option<f32> {
    get(doc, d, key).and_then(num)
}

fn stream_bytes(doc: &Document, o: &Object, limit: usize) -> Option<Vec<u8>> {
    match deref(doc, o) {
        Object::Stream(s) => s.decompressed_content_with_limit(limit).ok().or_else(|| {
            // unfiltered or a filter we cannot decode: the raw bytes, if they look like text
            if s.dict.get(b"Filter").is_err() && s.content.len() <= limit {
                Some(s.content.clone())
            } else {
                None
            }
        }),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Simple-font encodings

type Table = [Option<char>; 256];

/// The 256-entry table of a base encoding, taken from lopdf's tables once per process.
fn base_table(name: &[u8]) -> &'static Table {
    static STD: OnceLock<Table> = OnceLock::new();
    static WIN: OnceLock<Table> = OnceLock::new();
    static MAC: OnceLock<Table> = OnceLock::new();
    static MACX: OnceLock<Table> = OnceLock::new();
    let (cell, enc): (&OnceLock<Table>, &[u8]) = match name {
        b"WinAnsiEncoding" => (&WIN, b"WinAnsiEncoding"),
        b"MacRomanEncoding" => (&MAC, b"MacRomanEncoding"),
        b"MacExpertEncoding" => (&MACX, b"MacExpertEncoding"),
        _ => (&STD, b"StandardEncoding"),
    };
    cell.get_or_init(|| {
        let mut t: Table = [None; 256];
        let mut d = Dictionary::new();
        d.set("Type", Object::Name(b"Font".to_vec()));
        d.set("Encoding", Object::Name(enc.to_vec()));
        let doc = Document::new();
        if let Ok(e) = d.get_font_encoding(&doc) {
            for (b, slot) in t.iter_mut().enumerate() {
                if let Ok(s) = e.bytes_to_string(&[b as u8]) {
                    let mut it = s.chars();
                    if let (Some(c), None) = (it.next(), it.next()) {
                        *slot = Some(c);
                    }
                }
            }
        }
        // keep printable ASCII even if lopdf's table lacks it
        for b in 0x20u8..0x7f {
            if t[b as usize].is_none() {
                t[b as usize] = Some(b as char);
            }
        }
        t
    })
}

/// A glyph name → Unicode (uniXXXX, uXXXX[XX], the Adobe Glyph List via lopdf); cached.
fn glyph_char(name: &[u8]) -> Option<char> {
    let hex = |s: &[u8]| {
        std::str::from_utf8(s)
            .ok()
            .and_then(|s| u32::from_str_radix(s, 16).ok())
            .and_then(char::from_u32)
    };
    let base = name.split(|&b| b == b'.').next().unwrap_or(name);
    if base.len() == 7 && base.starts_with(b"uni") {
        return hex(&base[3..]);
    }
    if (5..=7).contains(&base.len())
        && base[0] == b'u'
        && base[1..].iter().all(|b| b.is_ascii_hexdigit())
    {
        return hex(&base[1..]);
    }
    static CACHE: OnceLock<Mutex<FastMap<Vec<u8>, Option<char>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(FastMap::default()));
    if let Ok(c) = cache.lock() {
        if let Some(v) = c.get(base) {
            return *v;
        }
    }
    let mut d = Dictionary::new();
    d.set("Type", Object::Name(b"Font".to_vec()));
    let mut enc = Dictionary::new();
    enc.set(
        "Differences",
        Object::Array(vec![Object::Integer(1), Object::Name(base.to_vec())]),
    );
    d.set("Encoding", Object::Dictionary(enc));
    let doc = Document::new();
    let v = d
        .get_font_encoding(&doc)
        .ok()
        .and_then(|e| e.bytes_to_string(&[1]).ok())
        .and_then(|s| {
            let mut it = s.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        });
    if let Ok(mut c) = cache.lock() {
        if c.len() < 100_000 {
            c.insert(base.to_vec(), v);
        }
    }
    v
}

fn simple_table(doc: &Document, font: &Dictionary) -> (Box<Table>, bool, bool) {
    // (table, has an explicit encoding, has differences)
    let mut table: Box<Table> = Box::new(*base_table(b"StandardEncoding"));
    let mut explicit = false;
    let mut has_diff = false;
    match get(doc, font, b"Encoding") {
        Some(Object::Name(n)) => {
            table = Box::new(*base_table(n));
            explicit = true;
        }
        Some(Object::Dictionary(e)) => {
            explicit = true;
            if let Some(n) = get_name(doc, e, b"BaseEncoding") {
                table = Box::new(*base_table(n));
            }
            if let Some(Object::Array(diffs)) = get(doc, e, b"Differences") {
                has_diff = true;
                let mut code: i64 = 0;
                for o in diffs.iter().take(4096) {
                    match deref(doc, o) {
                        Object::Integer(i) => code = *i,
                        Object::Real(r) => code = *r as i64,
                        Object::Name(n) => {
                            if (0..256).contains(&code) {
                                if let Some(c) = glyph_char(n) {
                                    table[code as usize] = Some(c);
                                }
                                // an unknown name (G065, g12, cid123) keeps the base encoding's
                                // character, which is what producers of such fonts rely on
                            }
                            code += 1;
                        }
                        _ => {}
                    }
                }
            }
        }
        _ => {}
    }
    (table, explicit, has_diff)
}

/// Widths of codes 32..=126 for the standard fonts that are often used without /Widths
/// (regular weights; bold and italic are close enough for positions).
fn standard_widths(base: &[u8]) -> Option<Vec<f32>> {
    const HELVETICA: [u16; 95] = [
        278, 278, 355, 556, 556, 889, 667, 222, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556,
        556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722,
        722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722,
        667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 222, 556, 556, 500, 556, 556, 278, 556,
        556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500,
        500, 334, 260, 334, 584,
    ];
    const TIMES: [u16; 95] = [
        250, 333, 408, 500, 500, 833, 778, 333, 333, 333, 500, 564, 250, 333, 250, 278, 500, 500,
        500, 500, 500, 500, 500, 500, 500, 500, 278, 278, 564, 564, 564, 444, 921, 722, 667, 667,
        722, 611, 556, 722, 722, 333, 389, 722, 611, 889, 722, 722, 556, 722, 667, 556, 611, 722,
        722, 944, 722, 722, 611, 333, 278, 333, 469, 500, 333, 444, 500, 444, 500, 444, 333, 500,
        500, 278, 278, 500, 278, 778, 500, 500, 500, 500, 333, 389, 278, 500, 500, 722, 500, 500,
        444, 480, 200, 480, 541,
    ];
    let n = String::from_utf8_lossy(base).to_ascii_lowercase();
    let n = n.split('+').next_back().unwrap_or("");
    if n.starts_with("courier") {
        return Some(vec![600.0; 95]);
    }
    if n.starts_with("helvetica") || n.starts_with("arial") || n == "helv" {
        return Some(HELVETICA.iter().map(|&w| w as f32).collect());
    }
    if n.starts_with("times") {
        return Some(TIMES.iter().map(|&w| w as f32).collect());
    }
    None
}

/// True when a font name (as bytes, after #xx decoding) names a Chinese font.
pub fn is_chinese_font_name(name: &[u8]) -> bool {
    // strip a subset tag "ABCDEF+"
    let name = match name.iter().position(|&b| b == b'+') {
        Some(6) => &name[7..],
        _ => name,
    };
    if name.iter().any(|&b| b >= 0x80) {
        // GBK- or UTF-8-encoded name (宋体 = CB CE CC E5)
        let decoded = std::str::from_utf8(name)
            .map(|s| s.to_string())
            .unwrap_or_else(|_| {
                encoding_rs::GBK
                    .decode_without_bom_handling(name)
                    .0
                    .into_owned()
            });
        if decoded
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        {
            return true;
        }
    }
    let lower: String = name
        .iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(|&b| (b as char).to_ascii_lowercase())
        .collect();
    const KEYS: &[&str] = &[
        "simsun",
        "simhei",
        "simkai",
        "simfang",
        "simli",
        "simyou",
        "fangsong",
        "kaiti",
        "songti",
        "heiti",
        "stsong",
        "stheiti",
        "stkaiti",
        "stfangsong",
        "stzhongsong",
        "stxihei",
        "stxinwei",
        "stxingkai",
        "stcaiyun",
        "sthupo",
        "stliti",
        "xiaobiaosong",
        "biaosong",
        "microsoftyahei",
        "yahei",
        "dengxian",
        "gb2312",
        "gbk",
        "gb18030",
        "adobesong",
        "adobeheiti",
        "adobefangsong",
        "adobekaiti",
        "lisu",
        "youyuan",
        "huawen",
        "hyshusong",
        "hyzhongsong",
        "hyxiaobiaosong",
        "hyheiti",
        "hykaiti",
        "hyfangsong",
        "wenquanyi",
        "notosanscjksc",
        "notoserifcjksc",
        "notosanssc",
        "notoserifsc",
        "sourcehansanssc",
        "sourcehanserifsc",
        "sourcehansanscn",
        "sourcehanserifcn",
        "pingfangsc",
        "hiraginosansgb",
        "stsonglight",
    ];
    if KEYS.iter().any(|k| lower.contains(k)) {
        return true;
    }
    // Founder (方正) fonts: FZ + pinyin initials, e.g. FZXiaoBiaoSong-B05S, FZSSK, FZHTK
    if lower.starts_with("fz")
        && (lower.contains("song")
            || lower.contains("hei")
            || lower.contains("kai")
            || lower.contains("fs")
            || lower.contains("ss")
            || lower.contains("ht")
            || lower.contains("bs")
            || lower.contains("ks"))
    {
        return true;
    }
    false
}

/// Every high byte pairs into a GB2312 double-byte code (symbols A1–A9 or hanzi B0–F7 lead,
/// A1–FE trail), and there is at least one such pair.
pub fn looks_like_gb2312(bytes: &[u8]) -> bool {
    let mut i = 0;
    let mut pairs = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        let lead_ok = (0xa1..=0xa9).contains(&b) || (0xb0..=0xf7).contains(&b);
        match bytes.get(i + 1) {
            Some(&t) if lead_ok && (0xa1..=0xfe).contains(&t) => {
                pairs += 1;
                i += 2;
            }
            _ => return false,
        }
    }
    pairs > 0
}

/// Decodes one multi-byte code in a legacy charset; false when it is not a valid character.
fn decode_legacy(enc: &'static encoding_rs::Encoding, bytes: &[u8], out: &mut String) -> bool {
    let mut dec = enc.new_decoder_without_bom_handling();
    let mut buf = [0u8; 32];
    let (res, _read, written) = dec.decode_to_utf8_without_replacement(bytes, &mut buf, true);
    match res {
        encoding_rs::DecoderResult::InputEmpty if written > 0 => {
            match std::str::from_utf8(&buf[..written]) {
                Ok(s) => {
                    out.push_str(s);
                    true
                }
                Err(_) => false,
            }
        }
        _ => false,
    }
}

fn legacy_charset(cmap_name: &str) -> Option<&'static encoding_rs::Encoding> {
    let n = cmap_name;
    if n.starts_with("Uni") || n.starts_with("Identity") {
        return None;
    }
    if n.starts_with("GB") && (n.contains("EUC") || n.starts_with("GBK") || n.starts_with("GBT")) {
        // GB-EUC, GBpc-EUC, GBK-EUC, GBKp-EUC, GBK2K, GBT-EUC: GB18030 decodes all of them
        return Some(encoding_rs::GB18030);
    }
    if n.contains("RKSJ") {
        return Some(encoding_rs::SHIFT_JIS);
    }
    if n.starts_with("EUC-") {
        return Some(encoding_rs::EUC_JP);
    }
    if n.starts_with("B5")
        || n.starts_with("ETen")
        || n.starts_with("HKscs-B5")
        || n.starts_with("ETHK")
    {
        return Some(encoding_rs::BIG5);
    }
    if n.starts_with("KSC") && (n.contains("EUC") || n.contains("UHC")) {
        return Some(encoding_rs::EUC_KR);
    }
    None
}

/// Codespace to use when a predefined CMap file is not available.
fn fallback_codespace(cmap_name: &str) -> Vec<Codespace> {
    let cs = |len: u8, lo: [u8; 4], hi: [u8; 4]| Codespace { len, lo, hi };
    let n = cmap_name;
    if n.contains("UTF16") {
        return vec![
            cs(2, [0, 0, 0, 0], [0xd7, 0xff, 0, 0]),
            cs(2, [0xe0, 0, 0, 0], [0xff, 0xff, 0, 0]),
            cs(4, [0xd8, 0, 0xdc, 0], [0xdb, 0xff, 0xdf, 0xff]),
        ];
    }
    if n.contains("RKSJ") {
        return vec![
            cs(1, [0, 0, 0, 0], [0x80, 0, 0, 0]),
            cs(1, [0xa0, 0, 0, 0], [0xdf, 0, 0, 0]),
            cs(2, [0x81, 0x40, 0, 0], [0x9f, 0xfc, 0, 0]),
            cs(2, [0xe0, 0x40, 0, 0], [0xfc, 0xfc, 0, 0]),
        ];
    }
    if legacy_charset(n).is_some() {
        return vec![
            cs(1, [0, 0, 0, 0], [0x80, 0, 0, 0]),
            cs(2, [0x81, 0x40, 0, 0], [0xfe, 0xfe, 0, 0]),
        ];
    }
    vec![cs(2, [0, 0, 0, 0], [0xff, 0xff, 0, 0])]
}

fn two_byte_codespace() -> Arc<Vec<Codespace>> {
    static CS: OnceLock<Arc<Vec<Codespace>>> = OnceLock::new();
    CS.get_or_init(|| {
        Arc::new(vec![Codespace {
            len: 2,
            lo: [0, 0, 0, 0],
            hi: [0xff, 0xff, 0, 0],
        }])
    })
    .clone()
}

/// The character collection ("Adobe-GB1", …) from a CIDSystemInfo, or from a well-known font name.
fn collection(doc: &Document, cidfont: &Dictionary) -> Option<&'static str> {
    if let Some(info) = get_dict(doc, cidfont, b"CIDSystemInfo") {
        let ordering = match get(doc, info, b"Ordering") {
            Some(Object::String(s, _)) => s.clone(),
            Some(Object::Name(n)) => n.clone(),
            _ => Vec::new(),
        };
        let o = String::from_utf8_lossy(&ordering).to_ascii_uppercase();
        if o.contains("GB1") {
            return Some("Adobe-GB1");
        }
        if o.contains("JAPAN1") {
            return Some("Adobe-Japan1");
        }
        if o.contains("CNS1") {
            return Some("Adobe-CNS1");
        }
        if o.contains("KOREA1") || o == "KR" {
            return Some("Adobe-Korea1");
        }
    }
    let name = get_name(doc, cidfont, b"BaseFont").unwrap_or(b"");
    let n = String::from_utf8_lossy(name);
    if n.starts_with("STSong")
        || n.starts_with("STHeiti")
        || n.starts_with("STKaiti")
        || n.starts_with("STFangsong")
        || n.starts_with("AdobeSongStd")
        || n.starts_with("AdobeHeitiStd")
        || n.starts_with("AdobeKaitiStd")
        || n.starts_with("AdobeFangsongStd")
    {
        return Some("Adobe-GB1");
    }
    if n.starts_with("MSung") || n.starts_with("MHei") || n.starts_with("AdobeMingStd") {
        return Some("Adobe-CNS1");
    }
    if n.starts_with("HeiseiMin")
        || n.starts_with("HeiseiKakuGo")
        || n.starts_with("KozMin")
        || n.starts_with("KozGo")
    {
        return Some("Adobe-Japan1");
    }
    if n.starts_with("HYSMyeongJo") || n.starts_with("HYGoThic") || n.starts_with("AdobeMyungjoStd")
    {
        return Some("Adobe-Korea1");
    }
    None
}

fn is_embedded(doc: &Document, font: &Dictionary) -> bool {
    match get_dict(doc, font, b"FontDescriptor") {
        Some(fd) => fd.has(b"FontFile") || fd.has(b"FontFile2") || fd.has(b"FontFile3"),
        None => false,
    }
}

fn parse_cid_widths(doc: &Document, w: &[Object]) -> Vec<(u32, u32, f32)> {
    let mut out = Vec::new();
    let mut i = 0;
    let total_budget = 200_000usize;
    while i < w.len() && out.len() < total_budget {
        let Some(first) = num(deref(doc, &w[i])) else {
            i += 1;
            continue;
        };
        let first = first.max(0.0) as u32;
        match w.get(i + 1).map(|o| deref(doc, o)) {
            Some(Object::Array(ws)) => {
                for (k, o) in ws.iter().enumerate().take(total_budget) {
                    if let Some(v) = num(deref(doc, o)) {
                        let c = first.saturating_add(k as u32);
                        out.push((c, c, v));
                    }
                }
                i += 2;
            }
            Some(o) => {
                let last = num(o).unwrap_or(0.0).max(0.0) as u32;
                let v = w
                    .get(i + 2)
                    .map(|o| deref(doc, o))
                    .and_then(num)
                    .unwrap_or(0.0);
                if last >= first {
                    out.push((first, last, v));
                }
                i += 3;
            }
            None => break,
        }
    }
    out.sort_by_key(|r| r.0);
    out
}

impl Font {
    /// A stand-in for a missing or unreadable font: standard encoding, 500/em widths.
    pub fn fallback() -> Font {
        Font {
            kind: Kind::Simple {
                table: Box::new(*base_table(b"StandardEncoding")),
                widths: Vec::new(),
                first_char: 0,
                missing: 500.0,
                legacy: Legacy::Heuristic,
            },
            to_unicode: None,
            wscale: 0.001,
            vertical: false,
            vy: -1000.0,
        }
    }

    /// Builds a font from its dictionary. Never fails; unreadable parts fall back to defaults.
    pub fn load(doc: &Document, font: &Dictionary, fctx: &mut FontCtx) -> Font {
        let subtype = get_name(doc, font, b"Subtype").unwrap_or(b"");
        let to_unicode = font
            .get(b"ToUnicode")
            .ok()
            .and_then(|o| fctx.cmap(doc, o))
            .filter(|c| !c.uni.is_empty());
        if subtype == b"Type0" {
            return Self::load_type0(doc, font, to_unicode, fctx);
        }
        let (table, explicit_enc, has_diff) = simple_table(doc, font);
        let mut wscale = 0.001;
        if subtype == b"Type3" {
            if let Some(Object::Array(m)) = get(doc, font, b"FontMatrix") {
                if let Some(a) = m.first().map(|o| deref(doc, o)).and_then(num) {
                    if a.is_finite() && a.abs() < 10.0 {
                        wscale = a;
                    }
                }
            }
        }
        let first_char = get_num(doc, font, b"FirstChar")
            .unwrap_or(0.0)
            .clamp(0.0, 255.0) as u32;
        let widths: Vec<f32> = match get(doc, font, b"Widths") {
            Some(Object::Array(a)) => a
                .iter()
                .take(256)
                .map(|o| num(deref(doc, o)).unwrap_or(0.0))
                .collect(),
            _ => Vec::new(),
        };
        let (widths, first_char) = if widths.is_empty() && subtype != b"Type3" {
            match standard_widths(get_name(doc, font, b"BaseFont").unwrap_or(b"")) {
                Some(w) => (w, 32),
                None => (widths, first_char),
            }
        } else {
            (widths, first_char)
        };
        let fd = get_dict(doc, font, b"FontDescriptor");
        let default_w = if subtype == b"Type3" { 0.0 } else { 500.0 };
        let missing = fd
            .and_then(|fd| get_num(doc, fd, b"MissingWidth"))
            .filter(|w| *w > 0.0)
            .unwrap_or(default_w);
        let base = get_name(doc, font, b"BaseFont").unwrap_or(b"");
        let embedded = is_embedded(doc, font);
        let chinese = is_chinese_font_name(base);
        let legacy = if to_unicode.is_some() || subtype == b"Type3" {
            Legacy::Never
        } else if chinese && !embedded {
            Legacy::Always
        } else if !has_diff && (!embedded || chinese) {
            let _ = explicit_enc;
            Legacy::Heuristic
        } else {
            Legacy::Never
        };
        Font {
            kind: Kind::Simple {
                table,
                widths,
                first_char,
                missing,
                legacy,
            },
            to_unicode,
            wscale,
            vertical: false,
            vy: -1000.0,
        }
    }

    fn load_type0(
        doc: &Document,
        font: &Dictionary,
        to_unicode: Option<Arc<CMap>>,
        fctx: &mut FontCtx,
    ) -> Font {
        let cidfont = match get(doc, font, b"DescendantFonts") {
            Some(Object::Array(a)) => a.first().map(|o| deref(doc, o)).and_then(|o| match o {
                Object::Dictionary(d) => Some(d),
                _ => None,
            }),
            Some(Object::Dictionary(d)) => Some(d),
            _ => None,
        };
        let empty = Dictionary::new();
        let cidfont = cidfont.unwrap_or(&empty);
        let mut coll = collection(doc, cidfont);
        let mut cmap: Option<Arc<CMap>> = None;
        let mut codespace = two_byte_codespace();
        let mut ucs2 = false;
        let mut legacy = None;
        let mut vertical = false;
        match font.get(b"Encoding").ok().map(|o| deref(doc, o)) {
            Some(Object::Name(n)) => {
                let name = String::from_utf8_lossy(n).into_owned();
                vertical = name.ends_with("-V");
                if !name.starts_with("Identity") {
                    ucs2 = name.starts_with("Uni")
                        && (name.contains("UCS2") || name.contains("UTF16"));
                    legacy = legacy_charset(&name);
                    if let Some(c) = predefined::collection_for_cmap_name(&name) {
                        coll = Some(c);
                    }
                    match predefined::cmap(&name) {
                        Some(cm) => {
                            vertical |= cm.vertical;
                            cmap = Some(cm);
                        }
                        None => codespace = Arc::new(fallback_codespace(&name)),
                    }
                }
            }
            Some(Object::Stream(_)) => {
                if let Some(parsed) = font.get(b"Encoding").ok().and_then(|o| fctx.cmap(doc, o)) {
                    let mut cm = (*parsed).clone();
                    if let Some(parent) = cm.usecmap.clone() {
                        ucs2 = parent.starts_with("Uni")
                            && (parent.contains("UCS2") || parent.contains("UTF16"));
                        legacy = legacy_charset(&parent);
                    }
                    vertical = cm.vertical;
                    if cm.codespace.is_empty() {
                        cm.codespace = (*two_byte_codespace()).clone();
                    }
                    if !cm.cid.is_empty() {
                        cmap = Some(Arc::new(cm));
                    } else {
                        codespace = Arc::new(cm.codespace);
                    }
                }
            }
            _ => {}
        }
        let cid_table = coll.and_then(predefined::cid_to_unicode);
        // no ToUnicode and no collection: a TrueType CID font's own cmap, read backwards
        let (mut glyph_uni, mut cid_to_gid) = (None, None);
        if to_unicode.is_none() && cid_table.is_none() && !ucs2 && legacy.is_none() {
            if let Some(fd) = get_dict(doc, cidfont, b"FontDescriptor") {
                let program = fd
                    .get(b"FontFile2")
                    .ok()
                    .or_else(|| fd.get(b"FontFile3").ok());
                if let Some(p) = program {
                    glyph_uni = fctx.glyph_map(doc, p);
                }
            }
            if glyph_uni.is_some() {
                if let Some(Object::Stream(_)) = get(doc, cidfont, b"CIDToGIDMap") {
                    cid_to_gid = cidfont
                        .get(b"CIDToGIDMap")
                        .ok()
                        .and_then(|o| stream_bytes(doc, o, 2 << 20))
                        .map(|b| {
                            b.chunks_exact(2)
                                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                                .collect()
                        });
                }
            }
        }
        let widths = match get(doc, cidfont, b"W") {
            Some(Object::Array(w)) => parse_cid_widths(doc, w),
            _ => Vec::new(),
        };
        let dw = get_num(doc, cidfont, b"DW")
            .filter(|w| *w >= 0.0)
            .unwrap_or(1000.0);
        let vy = match get(doc, cidfont, b"DW2") {
            Some(Object::Array(a)) => a
                .get(1)
                .map(|o| deref(doc, o))
                .and_then(num)
                .unwrap_or(-1000.0),
            _ => -1000.0,
        };
        Font {
            kind: Kind::Cid {
                cmap,
                codespace,
                ucs2,
                legacy,
                cid_table,
                glyph_uni,
                cid_to_gid,
                widths,
                dw,
            },
            to_unicode,
            wscale: 0.001,
            vertical,
            vy,
        }
    }

    /// Decodes `bytes`: appends the text to `out` and calls `glyph(advance, is_single_byte_space)`
    /// per glyph, the advance in text-space units per unit font size (horizontal advance, or the
    /// vertical displacement — negative, downwards — for vertical fonts).
    pub fn show(&self, bytes: &[u8], out: &mut String, mut glyph: impl FnMut(f32, bool)) {
        match &self.kind {
            Kind::Simple {
                table,
                widths,
                first_char,
                missing,
                legacy,
            } => {
                let w = |b: u8| -> f32 {
                    let i = (b as u32).wrapping_sub(*first_char) as usize;
                    match widths.get(i) {
                        Some(v) if b as u32 >= *first_char => *v,
                        _ => *missing,
                    }
                };
                let gbk = match legacy {
                    Legacy::Never => false,
                    Legacy::Always => bytes.iter().any(|&b| b >= 0x81),
                    Legacy::Heuristic => looks_like_gb2312(bytes),
                };
                let mut i = 0;
                while i < bytes.len() {
                    let b = bytes[i];
                    if gbk && (0x81..=0xfe).contains(&b) {
                        if let Some(&t) = bytes.get(i + 1) {
                            if (0x40..=0xfe).contains(&t)
                                && t != 0x7f
                                && decode_legacy(encoding_rs::GBK, &bytes[i..i + 2], out)
                            {
                                let adv = (w(b) + w(t)) * self.wscale;
                                glyph(if self.vertical { self.vy * 0.001 } else { adv }, false);
                                i += 2;
                                continue;
                            }
                        }
                    }
                    let mapped = match &self.to_unicode {
                        Some(u) => u.uni.lookup(b as u32, out),
                        None => false,
                    };
                    if !mapped {
                        if let Some(c) = table[b as usize] {
                            out.push(c);
                        }
                    }
                    glyph(w(b) * self.wscale, b == b' ');
                    i += 1;
                }
            }
            Kind::Cid {
                cmap,
                codespace,
                ucs2,
                legacy,
                cid_table,
                glyph_uni,
                cid_to_gid,
                widths,
                dw,
            } => {
                let cs: &[Codespace] = match cmap {
                    Some(c) if !c.codespace.is_empty() => &c.codespace,
                    _ => codespace,
                };
                let mut rest = bytes;
                while !rest.is_empty() {
                    let (code, n) = next_code(cs, rest);
                    let n = n.max(1).min(rest.len());
                    let code_bytes = &rest[..n];
                    rest = &rest[n..];
                    let cid = match cmap {
                        Some(c) => c.cid.get(code).unwrap_or(0),
                        None => code,
                    };
                    let mut done = match &self.to_unicode {
                        Some(u) => u.uni.lookup(code, out),
                        None => false,
                    };
                    if !done && *ucs2 {
                        let units: [u16; 2] = [(code >> 16) as u16, code as u16];
                        let units = if n == 4 { &units[..] } else { &units[1..] };
                        for c in char::decode_utf16(units.iter().copied()).flatten() {
                            out.push(c);
                            done = true;
                        }
                    }
                    if !done {
                        if let Some(enc) = legacy {
                            done = decode_legacy(enc, code_bytes, out);
                        }
                    }
                    if !done {
                        if let Some(t) = cid_table {
                            if let Some(c) = t
                                .get(cid as usize)
                                .copied()
                                .filter(|&u| u != 0)
                                .and_then(char::from_u32)
                            {
                                out.push(c);
                                done = true;
                            }
                        }
                    }
                    if !done {
                        if let Some(g) = glyph_uni {
                            let gid = match cid_to_gid {
                                Some(m) => m.get(cid as usize).copied().unwrap_or(0),
                                None => cid.min(0xffff) as u16,
                            };
                            if let Some(c) = g.get(&gid) {
                                out.push(*c);
                            }
                        }
                    }
                    let adv = if self.vertical {
                        self.vy * 0.001
                    } else {
                        let i = widths.partition_point(|r| r.0 <= cid);
                        let mut wv = *dw;
                        for r in widths[..i].iter().rev().take(8) {
                            if cid <= r.1 {
                                wv = r.2;
                                break;
                            }
                        }
                        wv * self.wscale
                    };
                    glyph(adv, n == 1 && code == 32);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple_font(dict: Dictionary) -> Font {
        let doc = Document::new();
        Font::load(&doc, &dict, &mut FontCtx::default())
    }

    fn dict(pairs: Vec<(&str, Object)>) -> Dictionary {
        let mut d = Dictionary::new();
        for (k, v) in pairs {
            d.set(k, v);
        }
        d
    }

    fn text(f: &Font, bytes: &[u8]) -> (String, f32) {
        let mut s = String::new();
        let mut w = 0.0;
        f.show(bytes, &mut s, |a, _| w += a);
        (s, w)
    }

    #[test]
    fn gbk_bytes_in_winansi_chinese_font() {
        // /BaseFont /#CB#CE#CC#E5 (宋体 in GBK), WinAnsi, not embedded
        let f = simple_font(dict(vec![
            ("Type", Object::Name(b"Font".to_vec())),
            ("Subtype", Object::Name(b"TrueType".to_vec())),
            ("BaseFont", Object::Name(vec![0xcb, 0xce, 0xcc, 0xe5])),
            ("Encoding", Object::Name(b"WinAnsiEncoding".to_vec())),
        ]));
        let (s, w) = text(&f, b"\xd6\xd0\xb9\xfa 2024");
        assert_eq!(s, "中国 2024");
        assert!((w - (2.0 + 5.0 * 0.5)).abs() < 1e-4);
    }

    #[test]
    fn gbk_heuristic_for_unnamed_font_but_not_for_latin() {
        let f = simple_font(dict(vec![
            ("Subtype", Object::Name(b"TrueType".to_vec())),
            ("BaseFont", Object::Name(b"Arial".to_vec())),
            ("Encoding", Object::Name(b"WinAnsiEncoding".to_vec())),
        ]));
        assert_eq!(text(&f, b"\xc8\xab\xca\xc0\xbd\xe7").0, "全世界");
        // Latin-1 accented text stays WinAnsi
        assert_eq!(text(&f, b"caf\xe9 na\xefve").0, "café naïve");
    }

    #[test]
    fn chinese_names() {
        assert!(is_chinese_font_name(b"SimSun"));
        assert!(is_chinese_font_name(b"ABCDEF+FangSong_GB2312,Bold"));
        assert!(is_chinese_font_name(&[0xba, 0xda, 0xcc, 0xe5]));
        assert!(is_chinese_font_name(b"FZXiaoBiaoSong-B05S"));
        assert!(!is_chinese_font_name(b"Helvetica-Bold"));
        assert!(!is_chinese_font_name(b"TimesNewRomanPSMT"));
    }

    #[test]
    fn differences_and_widths() {
        let enc = dict(vec![(
            "Differences",
            Object::Array(vec![
                Object::Integer(65),
                Object::Name(b"B".to_vec()),
                Object::Name(b"G999".to_vec()),
                Object::Name(b"uni4E2D".to_vec()),
            ]),
        )]);
        let f = simple_font(dict(vec![
            ("Subtype", Object::Name(b"Type1".to_vec())),
            ("BaseFont", Object::Name(b"Foo".to_vec())),
            ("Encoding", Object::Dictionary(enc)),
            ("FirstChar", Object::Integer(65)),
            (
                "Widths",
                Object::Array(vec![Object::Integer(600), Object::Integer(700)]),
            ),
        ]));
        let (s, w) = text(&f, b"ABCa");
        assert_eq!(s, "BB中a");
        assert!((w - (0.6 + 0.7 + 0.5 + 0.5)).abs() < 1e-4);
    }

    #[test]
    fn type0_ucs2_without_tounicode() {
        let desc = dict(vec![
            ("Subtype", Object::Name(b"CIDFontType0".to_vec())),
            ("DW", Object::Integer(1000)),
        ]);
        let f = simple_font(dict(vec![
            ("Subtype", Object::Name(b"Type0".to_vec())),
            ("Encoding", Object::Name(b"UniGB-UCS2-H".to_vec())),
            (
                "DescendantFonts",
                Object::Array(vec![Object::Dictionary(desc)]),
            ),
        ]));
        let (s, w) = text(&f, &[0x4e, 0x2d, 0x56, 0xfd]);
        assert_eq!(s, "中国");
        assert!((w - 2.0).abs() < 1e-4);
    }

    #[test]
    fn type0_gbk_euc() {
        let f = simple_font(dict(vec![
            ("Subtype", Object::Name(b"Type0".to_vec())),
            ("Encoding", Object::Name(b"GBK-EUC-H".to_vec())),
            (
                "DescendantFonts",
                Object::Array(vec![Object::Dictionary(Dictionary::new())]),
            ),
        ]));
        assert_eq!(text(&f, b"\xd6\xd0A\xb9\xfa").0, "中A国");
    }

    #[test]
    fn type0_truetype_without_tounicode_uses_the_font_cmap() {
        let mut doc = Document::new();
        let prog = doc.add_object(Object::Stream(lopdf::Stream::new(
            Dictionary::new(),
            super::truetype::tests::tiny_font(),
        )));
        let mut info = Dictionary::new();
        info.set("Registry", Object::string_literal("Adobe"));
        info.set("Ordering", Object::string_literal("Identity"));
        let fd = dict(vec![
            ("Type", Object::Name(b"FontDescriptor".to_vec())),
            ("FontFile2", Object::Reference(prog)),
        ]);
        let desc = dict(vec![
            ("Subtype", Object::Name(b"CIDFontType2".to_vec())),
            ("CIDSystemInfo", Object::Dictionary(info)),
            ("FontDescriptor", Object::Dictionary(fd)),
            ("CIDToGIDMap", Object::Name(b"Identity".to_vec())),
        ]);
        let font = dict(vec![
            ("Subtype", Object::Name(b"Type0".to_vec())),
            ("Encoding", Object::Name(b"Identity-H".to_vec())),
            (
                "DescendantFonts",
                Object::Array(vec![Object::Dictionary(desc)]),
            ),
        ]);
        let f = Font::load(&doc, &font, &mut FontCtx::default());
        assert_eq!(text(&f, &[0, 5, 0, 6, 0, 9, 0, 7]).0, "中丮A");
    }

    #[test]
    fn tounicode_with_usecmap_of_a_predefined_map() {
        if predefined::cmap("Adobe-GB1-UCS2").is_none() {
            return; // no poppler-data
        }
        let mut doc = Document::new();
        let tu = doc.add_object(Object::Stream(lopdf::Stream::new(
            Dictionary::new(),
            b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /Adobe-GB1-UCS2 usecmap endcmap end end".to_vec(),
        )));
        let font = dict(vec![
            ("Subtype", Object::Name(b"Type0".to_vec())),
            ("Encoding", Object::Name(b"Identity-H".to_vec())),
            ("ToUnicode", Object::Reference(tu)),
            (
                "DescendantFonts",
                Object::Array(vec![Object::Dictionary(Dictionary::new())]),
            ),
        ]);
        let f = Font::load(&doc, &font, &mut FontCtx::default());
        // CID 4559 is 中 in Adobe-GB1
        assert_eq!(text(&f, &[0x11, 0xcf]).0, "中");
    }

    #[test]
    fn type0_identity_with_collection() {
        let mut info = Dictionary::new();
        info.set("Registry", Object::string_literal("Adobe"));
        info.set("Ordering", Object::string_literal("GB1"));
        let desc = dict(vec![
            ("CIDSystemInfo", Object::Dictionary(info)),
            (
                "W",
                Object::Array(vec![
                    Object::Integer(1),
                    Object::Array(vec![Object::Integer(250)]),
                ]),
            ),
        ]);
        let f = simple_font(dict(vec![
            ("Subtype", Object::Name(b"Type0".to_vec())),
            ("Encoding", Object::Name(b"Identity-H".to_vec())),
            (
                "DescendantFonts",
                Object::Array(vec![Object::Dictionary(desc)]),
            ),
        ]));
        let (s, w) = text(&f, &[0, 1, 0, 2]);
        assert!((w - 1.25).abs() < 1e-4);
        if predefined::cid_to_unicode("Adobe-GB1").is_some() {
            // CID 1 = space, CID 2 = '!'
            assert_eq!(s, " !");
        }
    }
}
