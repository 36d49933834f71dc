//! Text outside the ruled tables (title, id line, headings, `label：value` lines of unruled
//! layouts, the signature block): each band between tables cut into strips of print, a
//! line's phrases apart, and recognised piece by piece; print the batch read before (a
//! label, a heading, an item table's header) is known from the memo.

use image::GrayImage;

use crate::config::Pipeline;
use crate::model::{field_kind, Kind};
use crate::ocr::{self, Grid, OcrError, Psm, Rect, Word};

use super::form::ocr_label;
use super::layout::{Chunk, Line};
use super::scan::{acceptable, checked_value, pt, read_cell, read_value};

/// Horizontal bands of the page not covered by a table.
fn free_bands(gray: &GrayImage, grid: &Grid) -> Vec<Rect> {
    let (w, h) = gray.dimensions();
    let mut covered: Vec<(u32, u32)> = grid.cells.iter().map(|c| (c.rect.y0.saturating_sub(6), c.rect.y1 + 6)).collect();
    covered.sort();
    let mut bands = Vec::new();
    let mut y = 0u32;
    for (a, b) in covered {
        if a > y + 8 {
            bands.push(Rect::new(0, y, w, a));
        }
        y = y.max(b);
    }
    if h > y + 8 {
        bands.push(Rect::new(0, y, w, h));
    }
    bands
}

/// Lines of text outside the tables: each band cut into strips of print (Tesseract's own line
/// grouping within a strip), so the white paper and specks between them are never recognised.
pub(super) fn band_lines(p: &Pipeline, eng: &mut ocr::OcrEngine, gray: &GrayImage, grid: &Grid, page: u32, dpi: f32) -> Result<Vec<Line>, OcrError> {
    let k = pt(dpi);
    let mut lines = Vec::new();
    // the columns of an unruled item table whose header wraps: (x0, x1, field)
    let mut header: Vec<(u32, u32, String)> = Vec::new();
    for band in free_bands(gray, grid) {
        for strip in print_strips(gray, band, dpi) {
            if let Some(rows) = wrapped_rows(p, eng, gray, strip, dpi, page, &mut header)? {
                lines.extend(rows);
                continue;
            }
            let cols = Columns::of(gray, strip);
            let parts = phrases(strip, &cols, dpi);
            let mut words = Vec::new();
            for &r in &parts {
                let part_cols = (parts.len() > 1).then(|| Columns::of(gray, r));
                let Some(mut read) = strip_words(p, eng, gray, r, part_cols.as_ref().unwrap_or(&cols))? else { continue };
                // the phrases of a line are one line
                if parts.len() > 1 {
                    read.iter_mut().for_each(|w| (w.block, w.par, w.line) = (1, 1, 1));
                }
                words.extend(read);
            }
            lines.extend(words_to_lines(&words, page, k));
        }
    }
    Ok(lines)
}

/// Rows of an unruled table whose cells wrap: a strip two or more lines tall, cut into its
/// columns where white wider than a character runs down its whole height, at least one column
/// of two lines or more. Each line of print of each column is read on its own (a column under
/// a header column of a known field in that field's model and characters) and becomes a chunk
/// spanning its column at its own height; chunks side by side make a line. The lines go on as
/// a text layer's do: the header stacked by column, the rows anchored by their numbers
/// ([`super::stream`]). A strip whose columns, each joined, are labels, three or more of the
/// item table, is the header; its columns are kept for the rows below. `None` for any other
/// strip.
fn wrapped_rows(p: &Pipeline, eng: &mut ocr::OcrEngine, gray: &GrayImage, strip: Rect, dpi: f32, page: u32, header: &mut Vec<(u32, u32, String)>) -> Result<Option<Vec<Line>>, OcrError> {
    let mm = dpi / 25.4;
    let cols = Columns::of(gray, strip);
    let h = cols.height as f32;
    if h < 5.5 * mm || h > 40.0 * mm || cols.x1 <= cols.x0 {
        return Ok(None);
    }
    // columns: parted by white wider than a character (3.2 mm) down the whole strip
    let min_gap = (3.0 * mm) as u32;
    let mut cells = Vec::new();
    let mut from = cols.x0;
    for &(a, b) in &cols.gaps {
        if b - a >= min_gap {
            cells.push(Rect::new(from, strip.y0, a, strip.y1));
            from = b;
        }
    }
    cells.push(Rect::new(from, strip.y0, cols.x1, strip.y1));
    // (a row number 1 is half a millimetre wide)
    cells.retain(|c| c.width() as f32 >= 0.3 * mm);
    // (no rules to keep clear of: the lines of each column's own ink)
    let lines_of: Vec<Vec<Rect>> = cells.iter().map(|c| super::scan::lines_of_print(gray, *c, mm, f32::MAX)).collect();
    if cells.len() < 2 || !lines_of.iter().any(|l| l.len() >= 2) || lines_of.iter().any(|l| l.len() > 12) {
        return Ok(None);
    }
    let k = pt(dpi);
    let pad = (1.0 * mm) as u32;
    // (column's x0, x1, top, bottom, text, conf) of every line of print
    let mut pieces: Vec<(u32, u32, u32, u32, String, f32)> = Vec::new();
    let mut labels = Vec::new();
    for (c, lines) in cells.iter().zip(&lines_of) {
        let column = header
            .iter()
            .max_by_key(|(x0, x1, _)| x1.min(&c.x1).saturating_sub(*x0.max(&c.x0)))
            .filter(|(x0, x1, _)| x1.min(&c.x1) > x0.max(&c.x0))
            .map(|(_, _, key)| key.clone());
        let mut joined = String::new();
        for l in lines {
            // white around the print, as a cell gives it (a lone row number read tight reads
            // as nothing)
            let r = Rect::new(c.x0.saturating_sub(2 * pad), l.y0, c.x1 + 2 * pad, l.y1);
            let (text, conf) = super::scan::first_reading(eng, gray, r, column.as_deref())?;
            let text = text.trim().to_string();
            if !text.is_empty() {
                joined.push_str(&text);
                pieces.push((c.x0, c.x1, l.y0, l.y1, text, conf));
            }
        }
        if let Some(key) = ocr_label(p, &joined) {
            labels.push((c.x0, c.x1, key));
        }
    }
    if labels.iter().filter(|(_, _, key)| crate::model::is_item_field(key)).count() >= 3 {
        *header = labels;
    }
    if pieces.is_empty() {
        return Ok(None);
    }
    // pieces side by side (their middles within half a line) are one line
    pieces.sort_by_key(|p| ((p.2 + p.3) / 2, p.0));
    let line_h = 3.7 * mm;
    let mut out: Vec<Line> = Vec::new();
    // the middle of the current line's first piece
    let mut line_mid = f32::MIN;
    for (x0, x1, y0, y1, text, conf) in pieces {
        let mid = (y0 + y1) as f32 / 2.0;
        let chunk = Chunk { text, x0: x0 as f32 * k, x1: x1 as f32 * k, conf };
        match out.last_mut() {
            Some(line) if mid - line_mid <= 0.5 * line_h => {
                line.chunks.push(chunk);
                line.y = line.y.max(y1 as f32 * k);
                line.top = line.top.min(y0 as f32 * k);
            }
            _ => {
                line_mid = mid;
                out.push(Line { page, y: y1 as f32 * k, size: (line_h * k).max(6.0), top: y0 as f32 * k, chunks: vec![chunk], ruled: false });
            }
        }
    }
    for l in &mut out {
        l.chunks.sort_by(|a, b| a.x0.total_cmp(&b.x0));
    }
    Ok(Some(out))
}

/// A strip of one line of print cut where white wider than a character and a fifth separates
/// two phrases (the columns of an unruled item table, two `label：value` on a line), so each
/// phrase is read on its own and a phrase the batch printed before is known from the memo (an
/// item table's header, a unit or district repeated down its rows). A phrase is at least two
/// characters wide: a row's number or a count at its end stays with its neighbour.
fn phrases(strip: Rect, cols: &Columns, dpi: f32) -> Vec<Rect> {
    let h = cols.height;
    // taller print than one line of the forms' text (5.5 mm) is not cut
    if h < 8 || h as f32 > 5.5 * dpi / 25.4 {
        return vec![strip];
    }
    let margin = h / 3;
    let mut out = Vec::new();
    let mut from = (strip.x0, cols.x0);
    for &(a, b) in &cols.gaps {
        if (b - a) * 5 > h * 6 && a >= from.1 + 2 * h && cols.x1 >= b + 2 * h {
            out.push(Rect::new(from.0, strip.y0, a + margin, strip.y1));
            from = (b - margin, b);
        }
    }
    out.push(Rect::new(from.0, strip.y0, strip.x1, strip.y1));
    out
}

/// The words of one strip (`cols`: its ink columns). A strip that starts with a label and
/// its colon has the label read on its own and then its value as a table cell of that field
/// ([`label_and_value`]); any other strip, or one whose value that way makes no valid value,
/// is recognised whole, its label print kept ([`learn_label`]) and its `label：value` values
/// checked ([`checked_line_values`]). `None` for a strip without ink.
fn strip_words(p: &Pipeline, eng: &mut ocr::OcrEngine, gray: &GrayImage, strip: Rect, cols: &Columns) -> Result<Option<Vec<Word>>, OcrError> {
    if let Some(words) = label_and_value(p, eng, gray, strip, cols)? {
        return Ok(Some(words));
    }
    let Some(words) = eng.recognise_region_words(gray, strip, Psm::PsmSingleBlock, None)? else { return Ok(None) };
    learn_label(p, eng, gray, strip, cols, &words);
    checked_line_values(p, eng, gray, words).map(Some)
}

/// The memo's mode for label prints: a line's label and its colon, up to the white after the
/// colon.
const LABEL_PRINT: &str = "label-print";

/// The ink columns of a strip: where its print starts and ends, how tall it is, and the runs
/// of white columns between.
struct Columns {
    /// first and one-past-last column with ink
    x0: u32,
    x1: u32,
    /// height of the ink, pixels
    height: u32,
    /// runs of columns without ink, `[start, end)`, left to right
    gaps: Vec<(u32, u32)>,
    /// top and bottom of the ink
    y0: u32,
    y1: u32,
}

impl Columns {
    fn of(gray: &GrayImage, r: Rect) -> Columns {
        let (w, h) = gray.dimensions();
        let (x0, x1, y0, y1) = (r.x0.min(w), r.x1.min(w), r.y0.min(h), r.y1.min(h));
        let mut ink = vec![false; (x1 - x0) as usize];
        let (mut top, mut bottom) = (u32::MAX, 0);
        for y in y0..y1 {
            let row = &gray.as_raw()[(y * w + x0) as usize..(y * w + x1) as usize];
            let mut any = false;
            for (c, &v) in ink.iter_mut().zip(row) {
                if v < 128 {
                    *c = true;
                    any = true;
                }
            }
            if any {
                top = top.min(y);
                bottom = y + 1;
            }
        }
        let first = ink.iter().position(|&c| c).map_or(x1, |i| x0 + i as u32);
        let last = ink.iter().rposition(|&c| c).map_or(x0, |i| x0 + i as u32 + 1);
        let mut gaps = Vec::new();
        let mut x = first;
        while x < last {
            if ink[(x - x0) as usize] {
                x += 1;
                continue;
            }
            let start = x;
            while x < last && !ink[(x - x0) as usize] {
                x += 1;
            }
            gaps.push((start, x));
        }
        Columns { x0: first, x1: last, height: bottom.saturating_sub(top), gaps, y0: top.min(bottom), y1: bottom }
    }

    /// Whether the print just left of gap `i` is a colon (`：` `:` `；` `;`): a narrow run of
    /// ink in two or more short pieces one above the other, not as tall as a character.
    fn colon_before(&self, gray: &GrayImage, i: usize) -> bool {
        let end = self.gaps[i].0;
        let start = if i == 0 { self.x0 } else { self.gaps[i - 1].1 };
        let h = self.height;
        if end <= start || (end - start) * 20 > h * 7 {
            return false;
        }
        let w = gray.width();
        let rows: Vec<bool> = (self.y0..self.y1)
            .map(|y| gray.as_raw()[(y * w + start) as usize..(y * w + end) as usize].iter().any(|&v| v < 128))
            .collect();
        let inked = rows.iter().filter(|&&r| r).count() as u32;
        let pieces = rows.windows(2).filter(|p| p[1] && !p[0]).count() + usize::from(rows.first() == Some(&true));
        pieces >= 2 && inked * 5 <= h * 3
    }

    /// The gaps that follow a colon, as indexes into `gaps`, where a label of two to sixteen
    /// characters would end.
    fn after_colons<'a>(&'a self, gray: &'a GrayImage) -> impl Iterator<Item = usize> + 'a {
        let h = self.height;
        (0..self.gaps.len())
            .filter(move |&i| (self.x0 + 3 * h / 2..=self.x0 + 16 * h).contains(&self.gaps[i].0))
            .filter(move |&i| self.colon_before(gray, i))
    }
}

/// A strip that starts with a label and its colon: the label's words and the value right of
/// it, read as a table cell of that field is (in the model and with the characters its kind
/// calls for, [`read_value`]). The label is a print the batch read before when one matches
/// ([`learn_label`]); else the print up to the first colon is read on its own, in Chinese,
/// and kept as a label print once its value has been read. `None` when the strip has no
/// colon after two to sixteen characters, its label names no field, the rest of the strip is
/// not one value (a wide white gap in it: a second `label：value`; a second line of print),
/// or the value read alone does not [`fits`].
fn label_and_value(p: &Pipeline, eng: &mut ocr::OcrEngine, gray: &GrayImage, strip: Rect, cols: &Columns) -> Result<Option<Vec<Word>>, OcrError> {
    let h = cols.height;
    if h < 8 || cols.x1 <= cols.x0 {
        return Ok(None);
    }
    let label_crop = |cut: u32| ocr::prep::crop(gray, strip.x0, strip.y0, cut, strip.y1);
    let colons: Vec<usize> = cols.after_colons(gray).collect();
    let (i, mut label, learnt) = match known_label(eng, gray, strip, cols, &colons) {
        Some((i, words)) => (i, words, true),
        None => {
            let Some(&i) = colons.first() else { return Ok(None) };
            let r = Rect::new(strip.x0, strip.y0, cols.gaps[i].0, strip.y1);
            let (text, conf) = read_cell(eng, gray, r, None)?;
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            let word = Word { text: text.to_string(), x0: cols.x0 - strip.x0, y0: cols.y0 - strip.y0, x1: r.x1 - strip.x0, y1: cols.y1 - strip.y0, conf, block: 1, par: 1, line: 1 };
            (i, vec![word], false)
        }
    };
    let (cut, end) = cols.gaps[i];
    let Some(key) = ocr_label(p, &label.iter().map(|w| w.text.as_str()).collect::<String>()) else {
        return Ok(None);
    };
    let rel = label.clone();
    for w in &mut label {
        (w.x0, w.x1, w.y0, w.y1) = (w.x0 + strip.x0, w.x1 + strip.x0, w.y0 + strip.y0, w.y1 + strip.y0);
        (w.block, w.par, w.line) = (1, 1, 1);
    }
    let keep = |eng: &mut ocr::OcrEngine| {
        if !learnt {
            eng.remember(LABEL_PRINT, &label_crop(cut), &rel);
        }
    };
    if cols.x1 <= end {
        keep(eng);
        return Ok(Some(label));
    }
    // the value: one run of print, on the label's line
    if cols.gaps.iter().any(|(a, b)| *a >= end && b - a > 5 * h / 2) {
        return Ok(None);
    }
    let value = Columns::of(gray, Rect::new(end, strip.y0, strip.x1, strip.y1));
    if value.height > h * 3 / 2 {
        return Ok(None);
    }
    let m = (h / 4).max(2);
    let r = Rect::new(end.saturating_sub(m), strip.y0, (value.x1 + m).min(strip.x1), strip.y1);
    let (text, conf) = read_value(eng, gray, r, &key)?;
    let text = text.trim().trim_start_matches([':', '：', ';', '；']).trim();
    // a code, phone, number or date read alone that makes no valid value, or unsurely, is
    // read with its label before it (the label's characters set the scale Tesseract reads
    // the line at; a line of digits alone reads at another, 023-84903173 as 025-8490351735):
    // the strip is read whole
    if !text.is_empty() && !fits(p, &key, text, conf) {
        return Ok(None);
    }
    keep(eng);
    if !text.is_empty() {
        let a = &label[0];
        label.push(Word { text: text.to_string(), x0: value.x0, x1: value.x1, conf, ..a.clone() });
    }
    Ok(Some(label))
}

/// Whether a value read alone can stand: text always; a code, phone, number or date when it
/// makes a valid one (a phone one of the pipeline's patterns) and, unless a check character
/// vouches for it (a credit code), was read with the confidence that needs no review.
fn fits(p: &Pipeline, key: &str, text: &str, conf: f32) -> bool {
    let kind = match field_kind(key) {
        None | Some(Kind::Text) => return true,
        Some(kind) => kind,
    };
    if !acceptable(key, kind, text) {
        return false;
    }
    if key == "credit_code" {
        return true;
    }
    let phone_ok = || super::normalize::clean_phone(text).is_ok_and(|d| p.phone_fits(&d));
    conf >= p.rules.low_confidence.threshold && (kind != Kind::Phone || phone_ok())
}

/// The first of a strip's colon gaps (`colons`, indexes into `cols.gaps`) whose print up to
/// it is a label print the batch's memo knows, with that label's words (strip pixels).
fn known_label(eng: &ocr::OcrEngine, gray: &GrayImage, strip: Rect, cols: &Columns, colons: &[usize]) -> Option<(usize, Vec<Word>)> {
    colons.iter().find_map(|&i| {
        let crop = ocr::prep::crop(gray, strip.x0, strip.y0, cols.gaps[i].0, strip.y1);
        eng.recall(LABEL_PRINT, &crop).map(|words| (i, words))
    })
}

/// Keeps the label print of a strip read whole, for [`label_and_value`]: when the strip is one
/// `label：value` line whose label names a field, its print from the start up to the white
/// after the colon, with the label's words. Tesseract places the colon only as a share of
/// its word's box, so the cut is made after the colon print nearest to that place (within a
/// character's height; none near it: nothing is kept).
fn learn_label(p: &Pipeline, eng: &mut ocr::OcrEngine, gray: &GrayImage, strip: Rect, cols: &Columns, words: &[Word]) {
    let Some(first) = words.first() else { return };
    if words.iter().any(|w| (w.block, w.par, w.line) != (first.block, first.par, first.line)) {
        return;
    }
    let Some((label, value)) = split_at_colon(words) else { return };
    let (Some(colon), false) = (label.last(), value.is_empty()) else { return };
    if ocr_label(p, &label.iter().map(|w| w.text.as_str()).collect::<String>()).is_none() {
        return;
    }
    let at = colon.x1 as i64;
    let Some(cut) = cols.after_colons(gray).map(|i| cols.gaps[i].0).min_by_key(|&a| (a as i64 - at).abs()) else { return };
    if (cut as i64 - at).unsigned_abs() > cols.height as u64 {
        return;
    }
    let crop = ocr::prep::crop(gray, strip.x0, strip.y0, cut, strip.y1);
    if eng.recall(LABEL_PRINT, &crop).is_some() {
        return;
    }
    let rel: Vec<Word> = label
        .iter()
        .map(|w| Word {
            x0: w.x0.saturating_sub(strip.x0),
            x1: w.x1.min(cut).saturating_sub(strip.x0),
            y0: w.y0.saturating_sub(strip.y0),
            y1: w.y1.saturating_sub(strip.y0),
            ..w.clone()
        })
        .collect();
    eng.remember(LABEL_PRINT, &crop, &rel);
}

/// The words of a strip with each `label：value` line's value checked as a table cell's is
/// ([`checked_value`]): the words after the colon, where the words before it name a field.
fn checked_line_values(p: &Pipeline, eng: &mut ocr::OcrEngine, gray: &GrayImage, words: Vec<Word>) -> Result<Vec<Word>, OcrError> {
    let mut out: Vec<Word> = Vec::with_capacity(words.len());
    let same_line = |a: &Word, b: &Word| (a.block, a.par, a.line) == (b.block, b.par, b.line);
    let mut rest = words.as_slice();
    while let Some(first) = rest.first() {
        let n = rest.iter().take_while(|w| same_line(w, first)).count();
        let (line, next) = rest.split_at(n);
        rest = next;
        let Some((label, value)) = split_at_colon(line) else {
            out.extend_from_slice(line);
            continue;
        };
        let key = ocr_label(p, &label.iter().map(|w| w.text.as_str()).collect::<String>());
        let (Some(key), Some(a), Some(b)) = (key, value.first(), value.last()) else {
            out.extend_from_slice(line);
            continue;
        };
        let r = Rect::new(a.x0, value.iter().map(|w| w.y0).min().unwrap_or(a.y0), b.x1, value.iter().map(|w| w.y1).max().unwrap_or(a.y1));
        let m = (r.height() / 4).max(2);
        let r = Rect::new(r.x0.saturating_sub(m), r.y0.saturating_sub(m), r.x1 + m, r.y1 + m);
        let (text, conf) = ocr::join_words(&value);
        let (checked, c) = checked_value(eng, gray, r, &key, text.clone(), conf)?;
        out.extend_from_slice(&label);
        if checked == text {
            out.extend_from_slice(&value);
        } else {
            out.push(Word { text: checked, x0: a.x0, y0: r.y0 + m, x1: b.x1, y1: r.y1 - m, conf: c, ..a.clone() });
        }
    }
    Ok(out)
}

/// A line's words split at its first colon (`:` `：` `;` `；`, which OCR confuses): the words
/// before it and the words after it. A colon inside a word splits that word, its box shared
/// out by characters. `None` without a colon.
fn split_at_colon(line: &[Word]) -> Option<(Vec<Word>, Vec<Word>)> {
    let is_colon = |c: char| matches!(c, ':' | '：' | ';' | '；');
    let i = line.iter().position(|w| w.text.contains(is_colon))?;
    let w = &line[i];
    let chars: Vec<char> = w.text.chars().collect();
    let at = chars.iter().position(|c| is_colon(*c))?;
    let x_at = |k: usize| w.x0 + ((w.x1 - w.x0) as usize * k / chars.len().max(1)) as u32;
    let mut label = line[..i].to_vec();
    let mut value = Vec::new();
    let before: String = chars[..=at].iter().collect();
    label.push(Word { text: before, x1: x_at(at + 1), ..w.clone() });
    if at + 1 < chars.len() {
        value.push(Word { text: chars[at + 1..].iter().collect(), x0: x_at(at + 1), ..w.clone() });
    }
    value.extend_from_slice(&line[i + 1..]);
    Some((label, value))
}

/// The strips of a band that hold print: runs of rows with dark pixels, joined across gaps of
/// under 1 mm (the strokes of 二 or 三 leave such gaps), at least 1 mm tall, each cut to
/// its print's width with a margin. A run taller than three lines of text (12 mm) is cut
/// again by black alone: on a greyscale scan a seal cannot be told from text by its colour,
/// and its grey ring and lettering join the lines around it (the commitment, the fill date)
/// into one block of junk; the black print in it comes out line by line.
fn print_strips(gray: &GrayImage, band: Rect, dpi: f32) -> Vec<Rect> {
    let mm = dpi / 25.4;
    let (w, h) = gray.dimensions();
    let band = Rect::new(band.x0.min(w), band.y0.min(h), band.x1.min(w), band.y1.min(h));
    let mut out = Vec::new();
    for (r, (a, b)) in ink_runs(gray, band, mm, 128) {
        let inner = if (b - a) as f32 > 12.0 * mm { ink_runs(gray, Rect::new(band.x0, a, band.x1, b), mm, BLACK) } else { Vec::new() };
        if inner.is_empty() {
            out.push(r);
        } else {
            out.extend(inner.into_iter().map(|(r, _)| r));
        }
    }
    out
}

/// Below this a pixel is black print: a grey seal's ring and lettering are lighter.
const BLACK: u8 = 70;

/// The runs of rows of `band` with pixels below `level` (see [`print_strips`]), each with its
/// strip: cut to its print's width, a 2 mm margin at the sides and 1 mm above and below.
pub(super) fn ink_runs(gray: &GrayImage, band: Rect, mm: f32, level: u8) -> Vec<(Rect, (u32, u32))> {
    let (join, min_h, margin) = (mm.round() as u32, mm.round() as u32, (2.0 * mm).round() as u32);
    let w = gray.width();
    let (x0, x1) = (band.x0, band.x1);
    let dark_in = |y: u32| gray.as_raw()[(y * w + x0) as usize..(y * w + x1) as usize].iter().filter(|&&v| v < level).count();
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for y in band.y0..band.y1 {
        if dark_in(y) < 2 {
            continue;
        }
        match runs.last_mut() {
            Some(r) if y <= r.1 + join => r.1 = y + 1,
            _ => runs.push((y, y + 1)),
        }
    }
    runs.into_iter()
        .filter(|(a, b)| b - a >= min_h)
        .filter_map(|(a, b)| {
            let cols = |x: u32| (a..b).any(|y| gray.as_raw()[(y * w + x) as usize] < level);
            let left = (x0..x1).find(|&x| cols(x))?;
            let right = (x0..x1).rev().find(|&x| cols(x))?;
            let r = Rect::new(
                left.saturating_sub(margin).max(x0),
                a.saturating_sub(margin / 2).max(band.y0),
                (right + 1 + margin).min(x1),
                (b + margin / 2).min(band.y1),
            );
            Some((r, (a, b)))
        })
        .collect()
}

/// Groups words by Tesseract's (block, paragraph, line) and splits a line into chunks at gaps
/// wider than one character height.
pub fn words_to_lines(words: &[Word], page: u32, k: f32) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut last: Option<(u32, u32, u32)> = None;
    for w in words {
        let text = w.text.trim();
        // specks read as quotes or bars would bridge the gap between two cells
        if text.is_empty() || text.chars().all(|c| "”“\"'‘’|`·.,，、_-~".contains(c)) {
            continue;
        }
        let id = (w.block, w.par, w.line);
        let height = (w.y1 - w.y0) as f32;
        if last != Some(id) {
            out.push(Line { page, y: w.y1 as f32 * k, size: (height * k).max(6.0), top: w.y0 as f32 * k, chunks: Vec::new(), ruled: false });
            last = Some(id);
        }
        let line = out.last_mut().unwrap();
        line.y = line.y.max(w.y1 as f32 * k);
        line.top = line.top.min(w.y0 as f32 * k);
        match line.chunks.last_mut() {
            Some(c) if (w.x0 as f32 * k) - c.x1 <= height * k * 0.9 => {
                c.text.push_str(text);
                c.x1 = w.x1 as f32 * k;
                c.conf = c.conf.min(w.conf);
            }
            _ => line.chunks.push(Chunk { text: text.to_string(), x0: w.x0 as f32 * k, x1: w.x1 as f32 * k, conf: w.conf }),
        }
    }
    out.retain(|l| !l.chunks.is_empty());
    out
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::pdfgen::{Op, Page};
    use crate::samples::scan::rasterise;

    fn pipeline() -> Pipeline {
        Pipeline::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/bayu-2024.toml"))).unwrap()
    }

    /// Lines of print at 10.5 pt (the forms' size), one under the other, rendered at 300 dpi in
    /// grey, and their strips.
    fn printed(lines: &[&str]) -> (GrayImage, Vec<Rect>) {
        let mut page = Page::default();
        for (i, t) in lines.iter().enumerate() {
            page.ops.push(Op::Text { x: 60.0, y: 700.0 - 30.0 * i as f32, size: 10.5, s: t.to_string() });
        }
        let gray = image::DynamicImage::ImageRgb8(rasterise(&page).expect("scripts/setup.sh installs the fonts")).to_luma8();
        let strips = print_strips(&gray, Rect::new(0, 0, gray.width(), gray.height()), 300.0);
        assert_eq!(strips.len(), lines.len());
        (gray, strips)
    }

    /// The label print a strip starts with, as the batch's memo knows it (its words joined).
    fn recalled(eng: &ocr::OcrEngine, g: &GrayImage, strip: Rect) -> Option<String> {
        let cols = Columns::of(g, strip);
        let colons: Vec<usize> = cols.after_colons(g).collect();
        known_label(eng, g, strip, &cols, &colons).map(|(_, w)| ocr::join_words(&w).0)
    }

    /// A label read on one form is known by its print on the next: its words come from the
    /// batch's memo and only the value right of the colon is read, through real Tesseract. A
    /// longer label that starts with the same characters (联系人姓名 after 联系人) is not taken
    /// for it.
    #[test]
    fn a_label_read_once_is_known_by_its_print_and_only_its_value_is_read() {
        let p = pipeline();
        let (a, at) = printed(&["单位名称：重庆市渝北区职业技能鉴定所", "联系人：李四", "联系电话：023-84903173"]);
        let (b, bt) = printed(&["单位名称：重庆市江北区人力资源和社会保障局", "联系人姓名：王小明", "联系电话：13912345678"]);
        ocr::with_engine(|eng| {
            eng.set_dpi(300);
            eng.set_memo(true);
            for r in &at {
                strip_words(&p, eng, &a, *r, &Columns::of(&a, *r)).unwrap().expect("print");
            }
            let name = recalled(eng, &b, bt[0]).expect("单位名称 was read on the first form");
            assert!(name.starts_with("单位名称"), "{name}");
            // 联系人 is a label print of its own; 联系人姓名 is another label
            assert!(recalled(eng, &b, bt[1]).is_none_or(|t| t.contains("姓名")));
            let read: Vec<String> = bt.iter().map(|r| ocr::join_words(&strip_words(&p, eng, &b, *r, &Columns::of(&b, *r)).unwrap().unwrap()).0).collect();
            assert!(read[0].starts_with("单位名称") && read[0].ends_with("重庆市江北区人力资源和社会保障局"), "{read:?}");
            assert!(read[1].ends_with("王小明") && read[1].contains("姓名"), "{read:?}");
            assert!(read[2].ends_with("13912345678"), "{read:?}");
            eng.set_memo(false);
        })
        .expect("scripts/setup.sh installs Tesseract");
    }

    /// A label seen for the first time is read on its own, up to its colon, and its value as
    /// a table cell of that field (a number with a number's characters); the label's print is
    /// kept for the next form. A line without a colon, or whose words before a colon name no
    /// field, is left to be read whole.
    #[test]
    fn a_new_label_is_read_up_to_its_colon_and_its_value_as_a_cell() {
        let p = pipeline();
        let (g, st) = printed(&["预计参赛人数：120", "举办地点：渝北区", "本单位承诺以上信息真实有效。", "备注：无"]);
        ocr::with_engine(|eng| {
            eng.set_dpi(300);
            eng.set_memo(true);
            let read = |eng: &mut ocr::OcrEngine, i: usize| label_and_value(&p, eng, &g, st[i], &Columns::of(&g, st[i])).unwrap();
            let count = read(eng, 0).expect("a label and a value");
            assert_eq!(count.len(), 2, "{count:?}");
            assert!(count[0].text.starts_with("预计参赛人数"), "{count:?}");
            assert_eq!(count[1].text, "120");
            assert!(count[0].x1 <= count[1].x0 && count[1].x1 <= st[0].x1, "{count:?}");
            assert!(recalled(eng, &g, st[0]).is_some_and(|t| t.starts_with("预计参赛人数")));
            let place = read(eng, 1).map(|w| ocr::join_words(&w).0);
            assert!(place.as_deref().is_some_and(|t| t.ends_with("渝北区")), "{place:?}");
            assert!(read(eng, 2).is_none());
            assert!(read(eng, 3).is_none());
            eng.set_memo(false);
        })
        .expect("scripts/setup.sh installs Tesseract");
    }

    /// A `label：value` line splits at its colon, whether the colon is a word of its own or
    /// sits inside a word (`联系电话;023…` as Chinese-alone reads it), the box shared out.
    #[test]
    fn a_line_splits_at_its_colon_inside_a_word_too() {
        let w = |t: &str, x0: u32, x1: u32| Word { text: t.into(), x0, y0: 0, x1, y1: 40, conf: 0.9, block: 1, par: 1, line: 1 };
        let (label, value) = split_at_colon(&[w("联系电话;0238", 0, 90), w("1744", 100, 140)]).unwrap();
        assert_eq!(label.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["联系电话;"]);
        assert_eq!(value.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["0238", "1744"]);
        assert_eq!((label[0].x1, value[0].x0), (50, 50));
        let (label, value) = split_at_colon(&[w("单位名称", 0, 40), w("：", 40, 50), w("重庆", 50, 90)]).unwrap();
        assert_eq!((label.len(), value.len(), value[0].text.as_str()), (2, 1, "重庆"));
        assert!(split_at_colon(&[w("一、基本信息", 0, 90)]).is_none());
    }

    /// A line of print is cut at white wider than a character and a fifth, never so that a
    /// phrase is narrower than two characters (a row's number, a count at its end); white a
    /// character wide does not cut, nor does anything cut two lines of print.
    #[test]
    fn a_line_is_cut_into_phrases_at_wide_white() {
        let mut g = GrayImage::from_pixel(1000, 200, image::Luma([255]));
        let ink = |g: &mut GrayImage, x0: u32, x1: u32, y0: u32, y1: u32| {
            for y in y0..y1 {
                for x in x0..x1 {
                    g.put_pixel(x, y, image::Luma([0]));
                }
            }
        };
        // a 40-px line: "1", 80 px of white, a phrase, 80 of white, a phrase with 40 of white
        // inside it, 80 of white, a count
        ink(&mut g, 100, 120, 20, 60);
        ink(&mut g, 200, 360, 20, 60);
        ink(&mut g, 440, 500, 20, 60);
        ink(&mut g, 540, 600, 20, 60);
        ink(&mut g, 680, 720, 20, 60);
        let strip = Rect::new(90, 10, 730, 70);
        let cut = phrases(strip, &Columns::of(&g, strip), 300.0);
        let m = 40 / 3;
        assert_eq!(cut, [Rect::new(90, 10, 360 + m, 70), Rect::new(440 - m, 10, 730, 70)]);
        // a second line under it: not cut
        ink(&mut g, 100, 720, 110, 150);
        let strip = Rect::new(90, 10, 730, 160);
        assert_eq!(phrases(strip, &Columns::of(&g, strip), 300.0), [strip]);
    }

    /// Two lines of black print joined by a grey seal's ring (a greyscale scan) make one run
    /// of ink taller than three lines: it is cut again by black alone, into the two lines.
    #[test]
    fn a_grey_seal_does_not_join_the_lines_around_it() {
        let mut g = GrayImage::from_pixel(2400, 900, image::Luma([255]));
        let mut ink = |x0: u32, y0: u32, x1: u32, y1: u32, v: u8| {
            for y in y0..y1 {
                for x in x0..x1 {
                    g.put_pixel(x, y, image::Luma([v]));
                }
            }
        };
        ink(300, 100, 1000, 145, 20);
        ink(1500, 400, 2000, 445, 20);
        // the ring's sides, grey, from above the first line to below the second
        ink(1400, 80, 1412, 480, 110);
        ink(2100, 80, 2112, 480, 110);
        let strips = print_strips(&g, Rect::new(0, 0, 2400, 900), 300.0);
        assert_eq!(strips.len(), 2, "{strips:?}");
        assert!(strips[0].y1 < 200 && strips[1].y0 > 300, "{strips:?}");
        assert!(strips[0].x1 < 1100 && strips[1].x0 > 1400, "{strips:?}");
    }

    /// Two lines of print and a speck in a white band: two strips, each as wide as its print
    /// plus the margin; the speck and the white between are not recognised.
    #[test]
    fn a_band_is_cut_into_strips_of_print() {
        let mut g = GrayImage::from_pixel(2400, 900, image::Luma([255]));
        let mut ink = |x0: u32, y0: u32, x1: u32, y1: u32| {
            for y in y0..y1 {
                for x in x0..x1 {
                    g.put_pixel(x, y, image::Luma([20]));
                }
            }
        };
        // a line of "characters" with the gap of 二 inside it, and a short second line
        ink(300, 100, 1500, 118);
        ink(300, 126, 1500, 145);
        ink(1800, 500, 2100, 545);
        ink(1000, 800, 1002, 802); // a speck
        let strips = print_strips(&g, Rect::new(0, 0, 2400, 900), 300.0);
        assert_eq!(strips.len(), 2, "{strips:?}");
        let m = (2.0f32 * 300.0 / 25.4).round() as u32;
        assert_eq!((strips[0].x0, strips[0].x1), (300 - m, 1500 + m));
        assert!(strips[0].y0 <= 100 && strips[0].y1 >= 145 && strips[0].y1 < 200, "{:?}", strips[0]);
        assert_eq!((strips[1].x0, strips[1].x1), (1800 - m, 2100 + m));
    }
}
