//! The glyph layout of a printed Chinese date (`2024年8月10日`, `2023年9月24日至10月1日`):
//! which glyphs are digits and how many digits each number has, read from the pixels alone.
//!
//! Debian's fast `chi_sim` model reads such dates with the right structure but drops or adds
//! digits (`10日` → `1日`, `19日`), and `+eng` sometimes reads 年/月/日 as letters
//! (`2024478 A108`). The glyphs themselves are easy to tell apart: Chinese characters stand
//! taller than digits, and digits of one number are separate glyphs. So a reading whose
//! numbers have other lengths than the glyphs say is wrong, and the digits can be read again
//! on their own (a strip of the digit groups, recognised as digits).

use image::{GenericImageView, GrayImage};

use super::Rect;

/// Digit groups of a date cell, left to right, and the date pattern they make.
#[derive(Debug, Clone, PartialEq)]
pub struct DateGlyphs {
    /// each number's box in the crop, and its number of digits
    pub groups: Vec<(Rect, usize)>,
    /// height of the digit glyphs (px)
    pub digit_px: u32,
}

/// The Chinese characters after each number of a date with `n` numbers: a date, or a
/// range whose end gives the day, month and day, or a whole date.
fn pattern(n: usize) -> Option<&'static [&'static str]> {
    Some(match n {
        3 => &["年", "月", "日"],
        4 => &["年", "月", "日至", "日"],
        5 => &["年", "月", "日至", "月", "日"],
        6 => &["年", "月", "日至", "年", "月", "日"],
        _ => return None,
    })
}

impl DateGlyphs {
    /// The date these digits (all of them, in order, anything else ignored) write, or None
    /// when there are more or fewer than the glyphs.
    pub fn from_digits(&self, read: &str) -> Option<String> {
        let digits: String = read.chars().filter(char::is_ascii_digit).collect();
        if digits.len() != self.groups.iter().map(|g| g.1).sum::<usize>() {
            return None;
        }
        let mut rest = digits.as_str();
        let numbers: Vec<&str> = self
            .groups
            .iter()
            .map(|g| {
                let (n, r) = rest.split_at(g.1);
                rest = r;
                n
            })
            .collect();
        self.text(&numbers)
    }

    /// The date written with these numbers (one per group, in order), or None when a number
    /// has another length than its glyphs.
    pub fn text(&self, numbers: &[&str]) -> Option<String> {
        let after = pattern(self.groups.len())?;
        if numbers.len() != self.groups.len() || numbers.iter().zip(&self.groups).any(|(n, g)| n.len() != g.1 || !n.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        Some(numbers.iter().zip(after).map(|(n, a)| format!("{n}{a}")).collect())
    }

    /// Whether `reading` already is this date: the same numbers of the same lengths, in the
    /// date's pattern.
    pub fn agrees(&self, reading: &str) -> bool {
        let s: String = reading.chars().filter(|c| !c.is_whitespace()).collect();
        let numbers: Vec<&str> = s.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()).collect();
        self.text(&numbers).is_some_and(|t| t == s)
    }

    /// The digit groups alone, side by side on white with a digit's height between them: an
    /// image for a digits-only recognition.
    pub fn digit_strip(&self, crop: &GrayImage) -> GrayImage {
        let gap = self.digit_px;
        // above and below a little of the paper; not sideways, where the next glyph is
        let margin = (self.digit_px / 6).max(2);
        let boxes: Vec<Rect> = self
            .groups
            .iter()
            .map(|(r, _)| Rect::new(r.x0, r.y0.saturating_sub(margin), r.x1, (r.y1 + margin).min(crop.height())))
            .collect();
        let h = boxes.iter().map(Rect::height).max().unwrap_or(1);
        let w = boxes.iter().map(Rect::width).sum::<u32>() + gap * (boxes.len() as u32 + 1);
        let mut out = GrayImage::from_pixel(w, h + 2 * gap, image::Luma([255]));
        let mut x = gap;
        for b in &boxes {
            // bottoms aligned: digits stand on one baseline
            let y = gap + h - b.height();
            image::imageops::replace(&mut out, &*crop.view(b.x0, b.y0, b.width(), b.height()), x.into(), y.into());
            x += b.width() + gap;
        }
        out
    }
}

/// The digit groups of a cell crop holding one printed Chinese date or range, or None when
/// the glyphs do not make one clearly (no taller Chinese characters, touching digits, marks
/// that are neither, another pattern).
pub fn date_glyphs(crop: &GrayImage) -> Option<DateGlyphs> {
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    let mask: Vec<bool> = crop.as_raw().iter().map(|&v| v < 128).collect();
    // glyphs: components not touching the crop's edge (rule remnants), specks dropped,
    // pieces one above the other joined
    let mut glyphs: Vec<Rect> = super::prep::components(&mask, w, h)
        .into_iter()
        .filter(|&(x0, y0, x1, y1)| x0 > 0 && y0 > 0 && x1 + 1 < w && y1 + 1 < h)
        .map(|(x0, y0, x1, y1)| Rect::new(x0 as u32, y0 as u32, x1 as u32 + 1, y1 as u32 + 1))
        .collect();
    let tallest = glyphs.iter().map(Rect::height).max()?;
    glyphs.retain(|g| g.height().max(g.width()) * 4 > tallest);
    glyphs.sort_by_key(|g| g.x0);
    let mut joined: Vec<Rect> = Vec::new();
    for g in glyphs {
        match joined.last_mut() {
            Some(last) if overlap(last, &g) * 2 >= last.width().min(g.width()) => {
                *last = Rect::new(last.x0.min(g.x0), last.y0.min(g.y0), last.x1.max(g.x1), last.y1.max(g.y1));
            }
            _ => joined.push(g),
        }
    }
    // two heights: Chinese characters and the shorter digits, clearly apart
    let mut heights: Vec<u32> = joined.iter().map(Rect::height).collect();
    heights.sort_unstable();
    let split = heights.windows(2).enumerate().max_by_key(|(_, p)| p[1] - p[0]).map(|(i, _)| i + 1)?;
    let (short, tall) = heights.split_at(split);
    let digit_px = *short.last()?;
    if short[0] * 10 < digit_px * 8 || tall[0] * 100 < digit_px * 112 {
        return None;
    }
    let mut groups: Vec<(Rect, usize)> = Vec::new();
    let mut cjk_after: Vec<usize> = Vec::new();
    let mut prev_digit = false;
    for g in &joined {
        let digit = g.height() <= digit_px;
        if digit {
            // two digits touching would pass for one wide glyph
            if g.width() > digit_px {
                return None;
            }
            match groups.last_mut() {
                Some((r, n)) if prev_digit => {
                    *r = Rect::new(r.x0, r.y0.min(g.y0), g.x1, r.y1.max(g.y1));
                    *n += 1;
                }
                _ => {
                    groups.push((*g, 1));
                    cjk_after.push(0);
                }
            }
        } else {
            match cjk_after.last_mut() {
                Some(n) => *n += 1,
                None => return None,
            }
        }
        prev_digit = digit;
    }
    let after = pattern(groups.len())?;
    let year_ok = |i: usize| groups[i].1 == 4;
    let ok = after.iter().zip(&cjk_after).all(|(a, n)| a.chars().count() == *n)
        && year_ok(0)
        && (groups.len() != 6 || year_ok(3))
        && groups.iter().enumerate().all(|(i, g)| g.1 <= 2 || i == 0 || (i == 3 && groups.len() == 6));
    ok.then_some(DateGlyphs { groups, digit_px })
}

fn overlap(a: &Rect, b: &Rect) -> u32 {
    a.x1.min(b.x1).saturating_sub(a.x0.max(b.x0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyphs(counts: &[usize]) -> DateGlyphs {
        DateGlyphs { groups: counts.iter().map(|&n| (Rect::new(0, 0, 1, 1), n)).collect(), digit_px: 30 }
    }

    #[test]
    fn a_reading_agrees_only_with_numbers_of_the_glyphs_lengths() {
        let g = glyphs(&[4, 1, 2]);
        assert!(g.agrees("2024年8月10日"));
        assert!(g.agrees("2024年8月 10日"));
        assert!(!g.agrees("2024年8月1日"), "a digit dropped");
        assert!(!g.agrees("2024478 A108"), "年月日 read as digits and letters");
        assert!(!g.agrees("2024年8月1%日"));
        assert_eq!(g.text(&["2024", "8", "10"]).as_deref(), Some("2024年8月10日"));
        assert_eq!(g.text(&["2024", "8", "1"]), None);
        assert_eq!(g.from_digits("2024810").as_deref(), Some("2024年8月10日"), "digits read without spaces");
        assert_eq!(g.from_digits("2024 8 1"), None);
        let range = glyphs(&[4, 1, 2, 2, 1]);
        assert_eq!(range.text(&["2023", "9", "24", "10", "1"]).as_deref(), Some("2023年9月24日至10月1日"));
    }
}
