//! Scanned pages: page image → OCR → positioned lines for the same field extractor as the
//! text layer. Ruled table cells are recognised one by one (each cell is one chunk, as a
//! text layer's cell would be); text outside the tables (title, id line, headings, the
//! signature block) is recognised band by band.

use image::{DynamicImage, GrayImage};

use crate::ocr::{self, Grid, OcrError, PrepOptions, Psm, Rect, Word};

use super::layout::{Chunk, Line};

/// Points per pixel at `dpi`.
fn pt(dpi: f32) -> f32 {
    72.0 / dpi.max(1.0)
}

/// Lines of one scanned page, in reading order, coordinates in points.
pub fn page_lines(img: &DynamicImage, page: u32, dpi: f32) -> Result<Vec<Line>, OcrError> {
    let prep = ocr::prepare(img, &PrepOptions::default());
    let binary = prep.binary.as_ref().unwrap_or(&prep.gray);
    let grid = ocr::find_grid(binary);
    ocr::with_engine(|eng| -> Result<Vec<Line>, OcrError> {
        eng.set_dpi(dpi.round() as u32);
        let mut lines = table_lines(eng, &prep.gray, &grid, page, dpi)?;
        lines.extend(band_lines(eng, &prep.gray, &grid, page, dpi)?);
        lines.sort_by(|a, b| a.y.total_cmp(&b.y));
        Ok(lines)
    })?
}

/// One line per table row; one chunk per non-empty cell.
fn table_lines(eng: &mut ocr::OcrEngine, gray: &GrayImage, grid: &Grid, page: u32, dpi: f32) -> Result<Vec<Line>, OcrError> {
    let k = pt(dpi);
    let mut lines: Vec<Line> = Vec::new();
    for row in grid.rows() {
        let mut chunks = Vec::new();
        let mut y = 0.0f32;
        let mut size = 0.0f32;
        for cell in row {
            let r = cell.rect.inset(2);
            if r.is_empty() {
                continue;
            }
            let (text, conf) = eng.recognise_region(gray, r, Psm::PsmSingleBlock, None)?;
            let text = text.trim().to_string();
            if text.is_empty() {
                continue;
            }
            chunks.push(Chunk { text, x0: r.x0 as f32 * k, x1: r.x1 as f32 * k, conf });
            y = y.max(r.y1 as f32 * k);
            size = size.max((r.height() as f32 * k).min(14.0));
        }
        if !chunks.is_empty() {
            lines.push(Line { page, y, size: size.max(6.0), chunks, ruled: true });
        }
    }
    Ok(lines)
}

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

/// Lines of text outside the tables, from Tesseract's own line grouping.
fn band_lines(eng: &mut ocr::OcrEngine, gray: &GrayImage, grid: &Grid, page: u32, dpi: f32) -> Result<Vec<Line>, OcrError> {
    let k = pt(dpi);
    let mut lines = Vec::new();
    for band in free_bands(gray, grid) {
        let Some(words) = eng.recognise_region_words(gray, band, Psm::PsmSingleBlock, None)? else { continue };
        lines.extend(words_to_lines(&words, page, k));
    }
    Ok(lines)
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
            out.push(Line { page, y: w.y1 as f32 * k, size: (height * k).max(6.0), chunks: Vec::new(), ruled: false });
            last = Some(id);
        }
        let line = out.last_mut().unwrap();
        line.y = line.y.max(w.y1 as f32 * k);
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
