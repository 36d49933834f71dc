//! Reading an embedded TrueType font's `cmap` table backwards (glyph id → Unicode), for CID
//! fonts that have neither a ToUnicode map nor a known character collection: what Chinese
//! "virtual printer" drivers typically write (Identity-H, CIDFontType2, ordering Identity).

use super::cmap::FastMap;

/// Bound on the (code point, glyph) pairs read from one cmap subtable.
const MAX_PAIRS: usize = 200_000;

fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(o)?, *d.get(o + 1)?]))
}

fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *d.get(o)?,
        *d.get(o + 1)?,
        *d.get(o + 2)?,
        *d.get(o + 3)?,
    ]))
}

/// How good a character is as the text of a glyph several code points map to: ordinary
/// characters beat compatibility ideographs, radicals and private-use code points.
fn rank(c: char) -> u8 {
    match c as u32 {
        0xe000..=0xf8ff | 0xf0000.. => 0,
        0x2e80..=0x2fdf | 0xf900..=0xfaff | 0x2f800..=0x2fa1f => 1,
        _ => 2,
    }
}

/// Glyph id → Unicode from a TrueType/OpenType font program's Unicode cmap; empty when the font
/// has none or cannot be read.
pub fn glyph_to_unicode(font: &[u8]) -> FastMap<u16, char> {
    let mut out: FastMap<u16, char> = FastMap::default();
    let Some(cmap) = find_table(font, b"cmap") else {
        return out;
    };
    let Some(n) = u16_at(cmap, 2) else { return out };
    // pick the best Unicode subtable: (3,10) or (0,4+) full repertoire, then (3,1) / (0,x) BMP
    let mut best: Option<(u8, usize)> = None;
    for i in 0..n as usize {
        let rec = 4 + i * 8;
        let (Some(pid), Some(eid), Some(off)) = (
            u16_at(cmap, rec),
            u16_at(cmap, rec + 2),
            u32_at(cmap, rec + 4),
        ) else {
            break;
        };
        let score = match (pid, eid) {
            (3, 10) | (0, 4) | (0, 6) => 3,
            (3, 1) | (0, 0..=3) => 2,
            _ => 0,
        };
        if score > 0 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, off as usize));
        }
    }
    let Some((_, off)) = best else { return out };
    let Some(sub) = cmap.get(off..) else {
        return out;
    };
    let mut add = |code: u32, gid: u32| {
        if gid == 0 || gid > 0xffff {
            return;
        }
        let Some(c) = char::from_u32(code) else {
            return;
        };
        if c.is_control() {
            return;
        }
        let e = out.entry(gid as u16).or_insert(c);
        if rank(c) > rank(*e) || (rank(c) == rank(*e) && c < *e) {
            *e = c;
        }
    };
    match u16_at(sub, 0) {
        Some(4) => {
            let Some(seg_x2) = u16_at(sub, 6) else {
                return out;
            };
            let segs = seg_x2 as usize / 2;
            let ends = 14;
            let starts = ends + seg_x2 as usize + 2;
            let deltas = starts + seg_x2 as usize;
            let range_offs = deltas + seg_x2 as usize;
            let mut pairs = 0usize;
            for i in 0..segs {
                let (Some(end), Some(start), Some(delta), Some(ro)) = (
                    u16_at(sub, ends + 2 * i),
                    u16_at(sub, starts + 2 * i),
                    u16_at(sub, deltas + 2 * i),
                    u16_at(sub, range_offs + 2 * i),
                ) else {
                    break;
                };
                if start > end {
                    continue;
                }
                for c in start..=end {
                    if c == 0xffff || pairs >= MAX_PAIRS {
                        break;
                    }
                    pairs += 1;
                    let gid = if ro == 0 {
                        c.wrapping_add(delta)
                    } else {
                        let addr = range_offs + 2 * i + ro as usize + 2 * (c - start) as usize;
                        match u16_at(sub, addr) {
                            Some(0) | None => 0,
                            Some(g) => g.wrapping_add(delta),
                        }
                    };
                    add(c as u32, gid as u32);
                }
            }
        }
        Some(12) => {
            let Some(groups) = u32_at(sub, 12) else {
                return out;
            };
            let mut pairs = 0usize;
            for g in 0..groups.min(100_000) as usize {
                let base = 16 + g * 12;
                let (Some(s), Some(e), Some(gid)) = (
                    u32_at(sub, base),
                    u32_at(sub, base + 4),
                    u32_at(sub, base + 8),
                ) else {
                    break;
                };
                if e < s || e > 0x10ffff {
                    continue;
                }
                for c in s..=e {
                    if pairs >= MAX_PAIRS {
                        return out;
                    }
                    pairs += 1;
                    add(c, gid.saturating_add(c - s));
                }
            }
        }
        _ => {}
    }
    out
}

fn find_table<'a>(font: &'a [u8], tag: &[u8; 4]) -> Option<&'a [u8]> {
    let n = u16_at(font, 4)? as usize;
    for i in 0..n.min(512) {
        let rec = 12 + i * 16;
        if font.get(rec..rec + 4)? == tag {
            let off = u32_at(font, rec + 8)? as usize;
            let len = u32_at(font, rec + 12)? as usize;
            return font.get(off..off.checked_add(len)?.min(font.len()));
        }
    }
    None
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A font with only a cmap table, format 4: U+4E2D..U+4E2E → glyphs 5, 6 by delta, and
    /// 'A' → glyph 9 through the glyph id array.
    pub fn tiny_font() -> Vec<u8> {
        let mut sub = Vec::new();
        let segs: u16 = 3;
        sub.extend_from_slice(&4u16.to_be_bytes()); // format
        sub.extend_from_slice(&0u16.to_be_bytes()); // length (unused)
        sub.extend_from_slice(&0u16.to_be_bytes()); // language
        sub.extend_from_slice(&(segs * 2).to_be_bytes());
        sub.extend_from_slice(&[0; 6]); // searchRange, entrySelector, rangeShift
        for e in [0x41u16, 0x4e2e, 0xffff] {
            sub.extend_from_slice(&e.to_be_bytes());
        }
        sub.extend_from_slice(&0u16.to_be_bytes()); // pad
        for s in [0x41u16, 0x4e2d, 0xffff] {
            sub.extend_from_slice(&s.to_be_bytes());
        }
        for d in [0u16, 5u16.wrapping_sub(0x4e2d), 1] {
            sub.extend_from_slice(&d.to_be_bytes());
        }
        // idRangeOffset: segment 0 points at the glyph id array right after the 3 offsets
        for r in [6u16, 0, 0] {
            sub.extend_from_slice(&r.to_be_bytes());
        }
        sub.extend_from_slice(&9u16.to_be_bytes()); // glyphIdArray[0]
        let mut cmap = Vec::new();
        cmap.extend_from_slice(&0u16.to_be_bytes());
        cmap.extend_from_slice(&1u16.to_be_bytes());
        cmap.extend_from_slice(&3u16.to_be_bytes());
        cmap.extend_from_slice(&1u16.to_be_bytes());
        cmap.extend_from_slice(&12u32.to_be_bytes());
        cmap.extend_from_slice(&sub);
        let mut font = Vec::new();
        font.extend_from_slice(&0x0001_0000u32.to_be_bytes());
        font.extend_from_slice(&1u16.to_be_bytes());
        font.extend_from_slice(&[0; 6]);
        font.extend_from_slice(b"cmap");
        font.extend_from_slice(&0u32.to_be_bytes());
        font.extend_from_slice(&28u32.to_be_bytes());
        font.extend_from_slice(&(cmap.len() as u32).to_be_bytes());
        font.extend_from_slice(&cmap);
        font
    }

    #[test]
    fn format4_reversed() {
        let m = glyph_to_unicode(&tiny_font());
        assert_eq!(m.get(&5), Some(&'中'));
        assert_eq!(m.get(&6), Some(&'丮'));
        assert_eq!(m.get(&9), Some(&'A'));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn garbage_fonts_are_harmless() {
        assert!(glyph_to_unicode(b"").is_empty());
        assert!(glyph_to_unicode(&[0, 1, 0, 0, 0xff, 0xff]).is_empty());
        let mut f = tiny_font();
        f.truncate(60);
        let _ = glyph_to_unicode(&f);
    }
}
