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

/// All lines of a PDF document, page after page, in reading order.
pub fn lines_from_pages(pages: &[Page]) -> Vec<Line> {
    let mut out = Vec::new();
    for p in pages {
        for tl in p.lines() {
            let chunks = chunks_from_text_line(&tl);
            if chunks.is_empty() {
                continue;
            }
            let size = tl.spans.iter().map(|s| s.size).fold(0.0f32, f32::max);
            out.push(Line { page: p.number, y: tl.y, size, top: tl.y - size, chunks, ruled: false });
        }
    }
    out
}
