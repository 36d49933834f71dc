//! CMaps: `/ToUnicode` streams (bfchar/bfrange) and character-code → CID maps (embedded CMap
//! streams and the predefined Adobe CMaps, cidchar/cidrange), with codespace ranges and
//! `usecmap`.

use super::lexer::{Lexer, Tok};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small multiplicative hasher for u32 keys (the std SipHash is needlessly slow here).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Ranges wider than this stay ranges instead of being expanded into the exact map.
const EXPAND_MAX: u32 = 4096;
/// Bound on expanded entries per map (a CMap cannot make us allocate without limit).
const MAX_ENTRIES: usize = 1 << 21;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Codespace {
    pub len: u8,
    pub lo: [u8; 4],
    pub hi: [u8; 4],
}

/// code → u32 (a CID), ranges increment.
#[derive(Clone, Debug, Default)]
pub struct RangeMap {
    exact: FastMap<u32, u32>,
    /// (lo, hi, value at lo), sorted by lo after `finish`
    ranges: Vec<(u32, u32, u32)>,
}

impl RangeMap {
    fn insert_range(&mut self, lo: u32, hi: u32, start: u32) {
        if hi < lo {
            return;
        }
        if hi - lo < EXPAND_MAX && self.exact.len() + ((hi - lo) as usize) < MAX_ENTRIES {
            for c in lo..=hi {
                self.exact.insert(c, start.wrapping_add(c - lo));
            }
        } else if self.ranges.len() < MAX_ENTRIES {
            self.ranges.push((lo, hi, start));
        }
    }

    fn insert(&mut self, code: u32, v: u32) {
        if self.exact.len() < MAX_ENTRIES {
            self.exact.insert(code, v);
        }
    }

    fn finish(&mut self) {
        self.ranges.sort_by_key(|r| r.0);
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.ranges.is_empty()
    }

    #[inline]
    pub fn get(&self, code: u32) -> Option<u32> {
        if let Some(v) = self.exact.get(&code) {
            return Some(*v);
        }
        if self.ranges.is_empty() {
            return None;
        }
        let i = self.ranges.partition_point(|r| r.0 <= code);
        for r in self.ranges[..i].iter().rev().take(16) {
            if code <= r.1 {
                return Some(r.2.wrapping_add(code - r.0));
            }
        }
        None
    }

    /// Adds `parent`'s entries where `self` has none.
    fn inherit(&mut self, parent: &RangeMap) {
        for (k, v) in &parent.exact {
            if self.exact.len() >= MAX_ENTRIES {
                break;
            }
            self.exact.entry(*k).or_insert(*v);
        }
        self.ranges.extend_from_slice(&parent.ranges);
        self.finish();
    }
}

/// Values of `UniMap::exact`: a scalar value, or (with this bit) an index into `pool`.
const POOL_BIT: u32 = 0x8000_0000;

/// code → Unicode text.
#[derive(Clone, Debug, Default)]
pub struct UniMap {
    exact: FastMap<u32, u32>,
    pool: Vec<Box<str>>,
    /// (lo, hi, scalar at lo) for wide single-character ranges
    ranges: Vec<(u32, u32, u32)>,
}

impl UniMap {
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.ranges.is_empty()
    }

    fn insert_str(&mut self, code: u32, s: &[char]) {
        if self.exact.len() >= MAX_ENTRIES {
            return;
        }
        match s {
            [] => {}
            [c] => {
                self.exact.insert(code, *c as u32);
            }
            many => {
                let idx = self.pool.len() as u32;
                self.pool
                    .push(many.iter().collect::<String>().into_boxed_str());
                self.exact.insert(code, POOL_BIT | idx);
            }
        }
    }

    fn insert_range(&mut self, lo: u32, hi: u32, dst: &[char]) {
        if hi < lo || dst.is_empty() {
            return;
        }
        if dst.len() == 1
            && (hi - lo >= EXPAND_MAX || self.exact.len() + ((hi - lo) as usize) >= MAX_ENTRIES)
        {
            if self.ranges.len() < MAX_ENTRIES {
                self.ranges.push((lo, hi, dst[0] as u32));
            }
            return;
        }
        let hi = hi.min(lo.saturating_add(EXPAND_MAX - 1));
        let mut buf: Vec<char> = dst.to_vec();
        let last = buf.len() - 1;
        let base = dst[last] as u32;
        for c in lo..=hi {
            if let Some(ch) = char::from_u32(base.wrapping_add(c - lo)) {
                buf[last] = ch;
                self.insert_str(c, &buf);
            }
        }
    }

    fn finish(&mut self) {
        self.ranges.sort_by_key(|r| r.0);
    }

    /// Appends the text for `code` to `out`; false when the code is not mapped.
    #[inline]
    pub fn lookup(&self, code: u32, out: &mut String) -> bool {
        if let Some(&v) = self.exact.get(&code) {
            if v & POOL_BIT != 0 {
                if let Some(s) = self.pool.get((v & !POOL_BIT) as usize) {
                    out.push_str(s);
                }
            } else if let Some(c) = char::from_u32(v) {
                out.push(c);
            }
            return true;
        }
        if self.ranges.is_empty() {
            return false;
        }
        let i = self.ranges.partition_point(|r| r.0 <= code);
        for r in self.ranges[..i].iter().rev().take(16) {
            if code <= r.1 {
                if let Some(c) = char::from_u32(r.2.wrapping_add(code - r.0)) {
                    out.push(c);
                }
                return true;
            }
        }
        false
    }

    /// The single character a code maps to, if it maps to exactly one.
    #[cfg(test)]
    pub fn get_char(&self, code: u32) -> Option<char> {
        let mut s = String::new();
        if !self.lookup(code, &mut s) {
            return None;
        }
        let mut it = s.chars();
        match (it.next(), it.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct CMap {
    pub name: Option<String>,
    pub usecmap: Option<String>,
    pub vertical: bool,
    pub codespace: Vec<Codespace>,
    pub cid: RangeMap,
    pub uni: UniMap,
}

fn code_of(bytes: &[u8]) -> u32 {
    let b = if bytes.len() > 4 {
        &bytes[bytes.len() - 4..]
    } else {
        bytes
    };
    b.iter().fold(0u32, |a, &x| a << 8 | x as u32)
}

/// UTF-16BE bytes → chars (lone surrogates dropped); a 1-byte or odd string maps byte-wise.
pub fn utf16_chars(bytes: &[u8], out: &mut Vec<char>) {
    out.clear();
    if bytes.len() == 1 {
        out.push(bytes[0] as char);
        return;
    }
    let units = bytes.chunks(2).map(|c| {
        if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            c[0] as u16
        }
    });
    for c in char::decode_utf16(units).flatten() {
        out.push(c);
    }
}

impl CMap {
    /// Parses CMap text (ToUnicode or CID CMap). Never fails: unreadable parts are skipped.
    pub fn parse(data: &[u8]) -> CMap {
        let mut cm = CMap::default();
        let mut lx = Lexer::new(data, 1 << 20);
        let mut chars: Vec<char> = Vec::new();
        while let Some(op) = lx.next_op() {
            match op {
                b"endcodespacerange" => {
                    for pair in lx.ops.chunks(2) {
                        if let [a @ Tok::Str(..), b @ Tok::Str(..)] = pair {
                            let lo = lx.tok_bytes(*a);
                            let hi = lx.tok_bytes(*b);
                            if lo.is_empty() || lo.len() > 4 || cm.codespace.len() > 256 {
                                continue;
                            }
                            let mut cs = Codespace {
                                len: lo.len() as u8,
                                lo: [0; 4],
                                hi: [0xff; 4],
                            };
                            for (i, &x) in lo.iter().enumerate() {
                                cs.lo[i] = x;
                                cs.hi[i] = hi.get(i).copied().unwrap_or(0xff);
                            }
                            cm.codespace.push(cs);
                        }
                    }
                }
                b"endcidrange" => {
                    for tri in lx.ops.chunks(3) {
                        if let [a @ Tok::Str(..), b @ Tok::Str(..), Tok::Num(v)] = tri {
                            let lo = code_of(lx.tok_bytes(*a));
                            let hi = code_of(lx.tok_bytes(*b));
                            cm.cid.insert_range(lo, hi, v.max(0.0) as u32);
                        }
                    }
                }
                b"endcidchar" => {
                    for pair in lx.ops.chunks(2) {
                        if let [a @ Tok::Str(..), Tok::Num(v)] = pair {
                            cm.cid.insert(code_of(lx.tok_bytes(*a)), v.max(0.0) as u32);
                        }
                    }
                }
                b"endbfchar" => {
                    for pair in lx.ops.chunks(2) {
                        if let [a @ Tok::Str(..), b @ Tok::Str(..)] = pair {
                            utf16_chars(lx.tok_bytes(*b), &mut chars);
                            cm.uni.insert_str(code_of(lx.tok_bytes(*a)), &chars);
                        }
                    }
                }
                b"endbfrange" => {
                    let ops = &lx.ops;
                    let mut i = 0;
                    while i + 2 < ops.len() {
                        let (Tok::Str(..), Tok::Str(..)) = (ops[i], ops[i + 1]) else {
                            i += 1;
                            continue;
                        };
                        let lo = code_of(lx.tok_bytes(ops[i]));
                        let hi = code_of(lx.tok_bytes(ops[i + 1]));
                        match ops[i + 2] {
                            Tok::Str(..) => {
                                utf16_chars(lx.tok_bytes(ops[i + 2]), &mut chars);
                                cm.uni.insert_range(lo, hi, &chars);
                                i += 3;
                            }
                            Tok::ArrOpen => {
                                let mut j = i + 3;
                                let mut code = lo;
                                while j < ops.len() && ops[j] != Tok::ArrClose {
                                    if let Tok::Str(..) = ops[j] {
                                        if code <= hi {
                                            utf16_chars(lx.tok_bytes(ops[j]), &mut chars);
                                            cm.uni.insert_str(code, &chars);
                                        }
                                        code = code.wrapping_add(1);
                                    }
                                    j += 1;
                                }
                                i = j + 1;
                            }
                            _ => i += 3,
                        }
                    }
                }
                b"usecmap" => {
                    if let Some(t @ Tok::Name(..)) = lx.ops.last() {
                        cm.usecmap = Some(String::from_utf8_lossy(lx.tok_bytes(*t)).into_owned());
                    }
                }
                b"def" if lx.ops.len() >= 2 => {
                    let k = lx.ops[lx.ops.len() - 2];
                    let v = lx.ops[lx.ops.len() - 1];
                    match (lx.tok_bytes(k), v) {
                        (b"WMode", Tok::Num(n)) if matches!(k, Tok::Name(..)) => {
                            cm.vertical = n == 1.0
                        }
                        (b"CMapName", Tok::Name(..)) if matches!(k, Tok::Name(..)) => {
                            cm.name = Some(String::from_utf8_lossy(lx.tok_bytes(v)).into_owned())
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        cm.cid.finish();
        cm.uni.finish();
        cm
    }

    /// Adds the parent's (usecmap) codespaces and mappings under this map's own.
    pub fn inherit(&mut self, parent: &CMap) {
        for cs in &parent.codespace {
            if !self.codespace.contains(cs) {
                self.codespace.push(*cs);
            }
        }
        self.cid.inherit(&parent.cid);
        for (k, v) in &parent.uni.exact {
            if !self.uni.exact.contains_key(k) {
                if v & POOL_BIT != 0 {
                    if let Some(s) = parent.uni.pool.get((v & !POOL_BIT) as usize) {
                        let chars: Vec<char> = s.chars().collect();
                        self.uni.insert_str(*k, &chars);
                    }
                } else {
                    self.uni.exact.insert(*k, *v);
                }
            }
        }
        self.uni.ranges.extend_from_slice(&parent.uni.ranges);
        self.uni.finish();
        if parent.vertical {
            self.vertical = true;
        }
    }

    /// Reads one character code at the start of `bytes`: (code, length in bytes). Always
    /// consumes at least one byte of a non-empty input.
    #[cfg(test)]
    pub fn next_code(&self, bytes: &[u8]) -> (u32, usize) {
        next_code(&self.codespace, bytes)
    }
}

/// Codespace matching as in ISO 32000 9.7.6.2: the shortest code whose bytes fall in a
/// codespace range of that length. When nothing matches, the length of the shortest range whose
/// first byte matches (or 1).
pub fn next_code(codespace: &[Codespace], bytes: &[u8]) -> (u32, usize) {
    if bytes.is_empty() {
        return (0, 0);
    }
    if codespace.is_empty() {
        let n = bytes.len().min(2);
        return (code_of(&bytes[..n]), n);
    }
    for n in 1..=4usize {
        if n > bytes.len() {
            break;
        }
        for cs in codespace {
            if cs.len as usize == n && (0..n).all(|i| cs.lo[i] <= bytes[i] && bytes[i] <= cs.hi[i])
            {
                return (code_of(&bytes[..n]), n);
            }
        }
    }
    let mut best: Option<usize> = None;
    for cs in codespace {
        if cs.lo[0] <= bytes[0] && bytes[0] <= cs.hi[0] {
            let l = cs.len as usize;
            best = Some(best.map_or(l, |b: usize| b.min(l)));
        }
    }
    let n = best
        .unwrap_or_else(|| codespace.iter().map(|c| c.len as usize).min().unwrap_or(1))
        .clamp(1, bytes.len().max(1));
    let n = n.min(bytes.len());
    (code_of(&bytes[..n]), n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOUNICODE: &[u8] = br#"/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
3 beginbfchar
<0003> <0020>
<0010> <4E2D>
<0011> <D840DC0B>
endbfchar
2 beginbfrange
<0020> <0022> <5E74>
<0030> <0032> [<6708> <0066006C> <65E5>]
endbfrange
1 beginbfchar
<0040> <00660069>
endbfchar
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"#;

    fn text(cm: &CMap, codes: &[u32]) -> String {
        let mut s = String::new();
        for &c in codes {
            cm.uni.lookup(c, &mut s);
        }
        s
    }

    #[test]
    fn tounicode_bfchar_bfrange_surrogates() {
        let cm = CMap::parse(TOUNICODE);
        assert_eq!(cm.codespace.len(), 1);
        assert_eq!(cm.codespace[0].len, 2);
        assert_eq!(text(&cm, &[0x10, 0x03, 0x20, 0x21, 0x22]), "中 年幵并");
        assert_eq!(text(&cm, &[0x11]), "\u{2000B}");
        assert_eq!(text(&cm, &[0x30, 0x31, 0x32]), "月fl日");
        assert_eq!(text(&cm, &[0x40]), "fi");
        assert!(!cm.uni.lookup(0x99, &mut String::new()));
        assert_eq!(cm.name.as_deref(), Some("Adobe-Identity-UCS"));
    }

    #[test]
    fn cid_ranges_codespace_usecmap() {
        let parent = CMap::parse(
            b"begincmap /CMapName /P def 2 begincodespacerange <00> <80> <8140> <FEFE> endcodespacerange
              1 begincidrange <20> <7e> 1 endcidrange
              1 begincidrange <8140> <817f> 100 endcidrange endcmap",
        );
        let mut child = CMap::parse(b"/P usecmap /WMode 1 def 1 begincidchar <8141> 7 endcidchar");
        assert_eq!(child.usecmap.as_deref(), Some("P"));
        assert!(child.vertical);
        child.inherit(&parent);
        assert_eq!(child.cid.get(0x41), Some(34));
        assert_eq!(child.cid.get(0x8140), Some(100));
        assert_eq!(child.cid.get(0x8141), Some(7));
        assert_eq!(child.cid.get(0x8142), Some(102));
        // codespace splitting: one byte for ASCII, two for the rest
        let bytes = [0x41u8, 0x81, 0x41, 0x42];
        let (c, n) = child.next_code(&bytes);
        assert_eq!((c, n), (0x41, 1));
        let (c, n) = child.next_code(&bytes[1..]);
        assert_eq!((c, n), (0x8141, 2));
        // a byte outside every range still makes progress
        let (_, n) = child.next_code(&[0xff]);
        assert_eq!(n, 1);
    }

    #[test]
    fn wide_ranges_stay_ranges() {
        let cm = CMap::parse(b"1 begincidrange <0000> <ffff> 0 endcidrange 1 beginbfrange <0000> <ffff> <0000> endbfrange");
        assert_eq!(cm.cid.get(0x1234), Some(0x1234));
        assert_eq!(cm.uni.get_char(0x4e2d), Some('中'));
    }

    #[test]
    fn garbage_cmap_is_harmless() {
        let cm = CMap::parse(
            b"beginbfrange <00> endbfrange <<>> ]] ) begincodespacerange <> <> endcodespacerange",
        );
        assert!(cm.uni.is_empty());
        let _ = cm.next_code(&[1, 2, 3]);
    }
}
