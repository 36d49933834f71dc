//! Positioned text, as the field extractor sees it: lines of chunks with x extents and a
//! confidence. Built from a PDF text layer here, and from OCR word boxes for scans, so the
//! same extractor serves both.

use crate::read::pdf::{Page, TextLine};


#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub text: String,
    pub x0: f32,
    pub x1: f32,
    /// 1.0 for a text layer; the recogniser's confidence for OCR
    pub conf: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// 1-based page number
    pub page: u32,
    /// baseline (or box bottom), points from the page top
    pub y: f32,
    /// typical character height on the line
    pub size: f32,
    /// top of the line's highest chunk, points from the page top
    pub top: f32,
    pub chunks: Vec<Chunk>,
    /// one row of a ruled table found on a scan: its cells cannot continue another row
    pub ruled: bool,
}

impl Line {
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (i, c) in self.chunks.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&c.text);
        }
        s
    }
}

/// Turns one PDF text line into chunks: spans closer than a quarter of the font size are
/// one chunk (a word drawn glyph by glyph, or digits in another font); wider gaps separate
/// chunks (table cells, spaced-out labels).
pub fn chunks_from_text_line(line: &TextLine) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    for s in &line.spans {
        let text = s.text.replace('\u{0}', "");
        if text.trim().is_empty() {
            continue;
        }
        let gap_limit = s.size.max(1.0) * 0.25;
        match chunks.last_mut() {
            Some(c) if s.x - c.x1 <= gap_limit && s.x + 0.01 >= c.x0 => {
                c.text.push_str(&text);
                c.x1 = c.x1.max(s.x + s.width);
            }
            _ => chunks.push(Chunk {
                text,
                x0: s.x,
                x1: s.x + s.width,
                conf: 1.0,
            }),
        }
    }
    // a chunk that is wholly blank inside (e.g. "申报单位  重庆…" drawn as one string with
    // spaces standing for the cell gap) stays one chunk: the label matcher splits it
    chunks
}

/// All lines of a PDF document, page after page, in reading order: each row of a ruled table
/// is one line with one chunk per cell (its wrapped lines joined, see [`super::table`]); the
/// text outside the tables is grouped into lines by baseline.
pub fn lines_from_pages(pages: &[Page]) -> Vec<Line> {
    let mut out = Vec::new();
    for p in pages {
        let tables = super::table::tables(&p.rulings);
        let (filled, free) = super::table::fill(&tables, &p.spans);
        let mut lines: Vec<Line> = Vec::new();
        for f in &filled {
            lines.extend(table_rows(p.number, f));
        }
        for tl in crate::read::pdf::reading_order(&free) {
            let chunks = chunks_from_text_line(&tl);
            if chunks.is_empty() {
                continue;
            }
            let size = tl.spans.iter().map(|s| s.size).fold(0.0f32, f32::max);
            lines.push(Line { page: p.number, y: tl.y, size, top: tl.y - size, chunks, ruled: false });
        }
        // stable: a table's rows keep their order
        lines.sort_by(|a, b| a.y.total_cmp(&b.y));
        out.extend(lines);
    }
    out
}

/// The rows of a ruled table as lines: one chunk per cell with text, spanning the cell.
fn table_rows(page: u32, f: &super::table::Filled) -> Vec<Line> {
    let cells = &f.table.cells;
    let mut out: Vec<Line> = Vec::new();
    let mut k = 0;
    while k < cells.len() {
        let row = cells[k].row;
        let mut end = k;
        while end < cells.len() && cells[end].row == row {
            end += 1;
        }
        let mut chunks = Vec::new();
        let mut size = 0.0f32;
        for i in k..end {
            let text = super::table::cell_text(&f.spans[i]);
            if text.is_empty() {
                continue;
            }
            size = f.spans[i].iter().map(|s| s.size).fold(size, f32::max);
            chunks.push(Chunk { text, x0: cells[i].x0, x1: cells[i].x1, conf: 1.0 });
        }
        if !chunks.is_empty() {
            let top = cells[k].y0;
            let bottom = cells[k..end].iter().map(|c| c.y1).fold(f32::MAX, f32::min);
            out.push(Line { page, y: bottom, size, top, chunks, ruled: true });
        }
        k = end;
    }
    out
}
