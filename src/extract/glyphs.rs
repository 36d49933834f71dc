//! How alike two characters look: their glyphs in a Song-style CJK font (the face forms are
//! printed in; deliberately not the face the sample generator draws with) compared as ink
//! coverage. OCR substitutes characters that look alike, so where a misreading is one
//! character from two entries of a closed list (蔡江区: 黔江区 or 綦江区?), the entry whose
//! character looks more like the one read is the likelier.

use std::sync::OnceLock;

use ab_glyph::{Font, PxScale};

use crate::samples::scan::{open_font, CjkFont};

/// Song-style faces tried in order (Debian's fonts-noto-cjk, which `scripts/setup.sh` installs).
const SONG_FONTS: &[(&str, &[&str])] = &[
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", &["Noto Serif CJK SC"]),
    ("/usr/share/fonts/noto-cjk/NotoSerifCJK-Regular.ttc", &["Noto Serif CJK SC"]),
];

/// Glyph box side in pixels.
const PX: usize = 40;

fn font() -> Option<&'static CjkFont> {
    static FONT: OnceLock<Option<CjkFont>> = OnceLock::new();
    FONT.get_or_init(|| SONG_FONTS.iter().find_map(|(path, families)| open_font(path, families, None).ok())).as_ref()
}

/// The glyph's ink coverage in a PX × PX box (the em square), None without the font or glyph.
fn coverage(c: char) -> Option<Vec<f32>> {
    let f = font()?.font();
    let id = f.glyph_id(c);
    if id.0 == 0 {
        return None;
    }
    let scale = PxScale::from(PX as f32 * 1.15);
    let glyph = id.with_scale_and_position(scale, ab_glyph::point(0.0, PX as f32 * 0.88));
    let outline = f.outline_glyph(glyph)?;
    let b = outline.px_bounds();
    let mut px = vec![0f32; PX * PX];
    outline.draw(|x, y, v| {
        let (x, y) = (x as i64 + b.min.x as i64, y as i64 + b.min.y as i64);
        if (0..PX as i64).contains(&x) && (0..PX as i64).contains(&y) {
            px[y as usize * PX + x as usize] += v;
        }
    });
    Some(px)
}

/// Likeness of two characters' glyphs, 0 (no shared ink) … 1 (the same): the ink they share
/// over the ink of either, after a 3 × 3 blur so strokes a pixel apart still meet.
pub fn likeness(a: char, b: char) -> Option<f32> {
    if a == b {
        return Some(1.0);
    }
    let blur = |v: Vec<f32>| -> Vec<f32> {
        (0..PX * PX)
            .map(|i| {
                let (x, y) = ((i % PX) as i64, (i / PX) as i64);
                let mut s = 0.0;
                for (dx, dy) in [(-1i64, -1i64), (0, -1), (1, -1), (-1, 0), (0, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                    let (nx, ny) = (x + dx, y + dy);
                    if (0..PX as i64).contains(&nx) && (0..PX as i64).contains(&ny) {
                        s += v[ny as usize * PX + nx as usize].min(1.0);
                    }
                }
                s / 9.0
            })
            .collect()
    };
    let (ga, gb) = (blur(coverage(a)?), blur(coverage(b)?));
    let (mut both, mut either) = (0f32, 0f32);
    for (x, y) in ga.iter().zip(&gb) {
        both += x.min(*y);
        either += x.max(*y);
    }
    (either > 0.0).then(|| both / either)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_ocr_confuses_look_alike() {
        let l = |a, b| likeness(a, b).expect("scripts/setup.sh installs fonts-noto-cjk");
        assert_eq!(l('綦', '綦'), 1.0);
        // 蔡 is read for 綦 (both: a top over 示/糸), not for 黔
        assert!(l('蔡', '綦') > l('蔡', '黔') + 0.05, "{} {}", l('蔡', '綦'), l('蔡', '黔'));
        assert!(l('璧', '壁') > l('璧', '口'));
    }
}
