//! Item tables drawn without rulings ("stream" tables, as Camelot and Tabula call them): the
//! columns come from the header, the rows from the row numbers.
//!
//! A header whose labels wrap (`竞赛职业` / `（工种）`, `计划结束日` / `期`) spreads over two or
//! three lines, and a header cell centred in its row sits on the middle one: the header is the
//! band of lines whose chunks, stacked by column, read as labels of the dictionary. Below it,
//! a cell that wraps is a block of lines in its column, centred on its row, top- or
//! bottom-aligned, so the lines of one row interleave with the next cell's: each column's
//! lines are parted into the rows that the 序号 numbers anchor, the way (top, centre, bottom)
//! that fits all columns best. The table is handed on as ruled rows (one chunk per cell) with
//! a one-line header, as a ruled table's are: the extractor needs no path of its own.

use crate::config::Pipeline;
use crate::model::is_item_field;

use super::form::{header_columns, is_section_heading, is_seq, tokenize, Token};
use super::layout::{Chunk, Line};

/// Lines a wrapped header may take.
const MAX_HEADER_LINES: usize = 3;

/// A column of the table: its header text and its x extent (header and cells).
#[derive(Debug, Clone)]
struct Column {
    label: String,
    x0: f32,
    x1: f32,
}

/// Stacks the chunks of consecutive lines into columns by horizontal overlap, top to bottom:
/// (text, x0, x1) left to right.
fn stack(lines: &[Line]) -> Vec<(String, f32, f32)> {
    let mut cols: Vec<(Vec<(f32, String)>, f32, f32)> = Vec::new();
    for l in lines {
        for c in &l.chunks {
            let mid = (c.x0 + c.x1) / 2.0;
            let hit = cols.iter_mut().find(|(_, x0, x1)| (mid >= *x0 && mid <= *x1) || (c.x0 <= (*x0 + *x1) / 2.0 && c.x1 >= (*x0 + *x1) / 2.0));
            match hit {
                Some((parts, x0, x1)) => {
                    parts.push((l.y, c.text.clone()));
                    *x0 = x0.min(c.x0);
                    *x1 = x1.max(c.x1);
                }
                None => cols.push((vec![(l.y, c.text.clone())], c.x0, c.x1)),
            }
        }
    }
    cols.sort_by(|a, b| a.1.total_cmp(&b.1));
    cols.into_iter()
        .map(|(mut parts, x0, x1)| {
            parts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (parts.into_iter().map(|(_, t)| t.trim().to_string()).collect::<String>(), x0, x1)
        })
        .collect()
}

/// The header that lines `i..` begin, if they do: its columns and how many lines it takes.
/// Every stacked column must be a label (or 序号), three of them item columns; the fewest
/// lines that give the most item columns win.
fn header_at(p: &Pipeline, lines: &[Line], i: usize) -> Option<(Vec<Column>, usize)> {
    let mut best: Option<(Vec<Column>, usize, usize)> = None;
    for k in 1..=MAX_HEADER_LINES.min(lines.len() - i) {
        let band = &lines[i..i + k];
        let last = &band[k - 1];
        if last.ruled || last.page != band[0].page {
            break;
        }
        if k > 1 && last.y - band[k - 2].y > 2.0 * last.size.max(band[k - 2].size) {
            break;
        }
        let stacked = stack(band);
        let chunks: Vec<Chunk> = stacked.iter().map(|(t, x0, x1)| Chunk { text: t.clone(), x0: *x0, x1: *x1, conf: 1.0 }).collect();
        let conf = band.iter().flat_map(|l| &l.chunks).map(|c| c.conf).fold(1.0f32, f32::min);
        let chunks: Vec<Chunk> = chunks.into_iter().map(|c| Chunk { conf, ..c }).collect();
        let tokens = tokenize(p, &chunks);
        let Some(cols) = header_columns(&tokens) else { continue };
        // a header is labels alone: no value left over, no label outside the item table
        let clean = tokens.iter().all(|t| match t {
            Token::Label { key, .. } => is_item_field(key),
            Token::Value { text, .. } => is_seq(text),
        });
        let items = cols.iter().filter(|(key, _, _)| is_item_field(key)).count();
        if !clean || cols.len() != stacked.len() {
            continue;
        }
        if best.as_ref().is_none_or(|b| items > b.2) {
            let columns = stacked.iter().map(|(t, x0, x1)| Column { label: t.clone(), x0: *x0, x1: *x1 }).collect();
            best = Some((columns, k, items));
        }
    }
    best.map(|(c, k, _)| (c, k))
}

/// The column a chunk falls in: the one whose extent holds its centre, else the nearest.
fn column_of(cols: &[Column], c: &Chunk) -> usize {
    let mid = (c.x0 + c.x1) / 2.0;
    let mut best = (f32::MAX, 0);
    for (i, col) in cols.iter().enumerate() {
        let d = if mid >= col.x0 && mid <= col.x1 { 0.0 } else { (mid - col.x0).abs().min((mid - col.x1).abs()) };
        if d < best.0 {
            best = (d, i);
        }
    }
    best.1
}

/// How a cell's lines sit in their row.
#[derive(Clone, Copy)]
enum Align {
    Top,
    Centre,
    Bottom,
}

/// Parts `ys` (a column's line baselines, sorted) into one contiguous group per anchor (row
/// baselines, sorted), each group's reference line as near its anchor as can be: (cost, the
/// group of each line).
fn part(ys: &[f32], anchors: &[f32], align: Align) -> (f32, Vec<usize>) {
    let (m, n) = (ys.len(), anchors.len());
    // cost[k][j]: lines 0..j in rows 0..=k; groups may be empty
    let inf = f32::MAX / 4.0;
    let group_cost = |k: usize, a: usize, b: usize| -> f32 {
        if a == b {
            return 0.0;
        }
        let r = match align {
            Align::Top => ys[a],
            Align::Centre => (ys[a] + ys[b - 1]) / 2.0,
            Align::Bottom => ys[b - 1],
        };
        (r - anchors[k]).abs()
    };
    let mut cost = vec![vec![inf; m + 1]; n];
    let mut from = vec![vec![0usize; m + 1]; n];
    for j in 0..=m {
        cost[0][j] = group_cost(0, 0, j);
    }
    for k in 1..n {
        for j in 0..=m {
            for a in 0..=j {
                let c = cost[k - 1][a] + group_cost(k, a, j);
                if c < cost[k][j] {
                    cost[k][j] = c;
                    from[k][j] = a;
                }
            }
        }
    }
    let mut groups = vec![0usize; m];
    let mut j = m;
    for k in (0..n).rev() {
        let a = if k == 0 { 0 } else { from[k][j] };
        for g in &mut groups[a..j] {
            *g = k;
        }
        j = a;
    }
    (cost[n - 1][m], groups)
}

/// The lines with every unruled item table rebuilt as a one-line header and one ruled line per
/// row. Lines of ruled tables and everything else pass as they are.
pub fn rebuild(p: &Pipeline, lines: &[Line]) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        if lines[i].ruled {
            out.push(lines[i].clone());
            i += 1;
            continue;
        }
        let Some((mut cols, k)) = header_at(p, lines, i) else {
            out.push(lines[i].clone());
            i += 1;
            continue;
        };
        // the body: up to a heading, a ruled line, a header field's label or a wide gap; a
        // header repeated on the next page is skipped
        let mut body: Vec<&Line> = Vec::new();
        let mut j = i + k;
        let mut last_y = lines[i + k - 1].y;
        let mut page = lines[i].page;
        while j < lines.len() {
            let l = &lines[j];
            if l.ruled || is_section_heading(&l.text()) {
                break;
            }
            if l.page != page {
                if let Some((_, k2)) = header_at(p, lines, j) {
                    page = l.page;
                    j += k2;
                    last_y = lines[j - 1].y;
                    continue;
                }
                page = l.page;
                last_y = l.top;
            }
            // a table's lines are packed: white of more than a line ends it
            if l.top - last_y > 1.2 * l.size.max(1.0) {
                break;
            }
            let tokens = tokenize(p, &l.chunks);
            if tokens.iter().any(|t| matches!(t, Token::Label { key, .. } if !is_item_field(key))) {
                break;
            }
            body.push(l);
            last_y = l.y;
            j += 1;
        }
        let seq = cols.iter().position(|c| is_seq(&c.label));
        // every chunk of the body in its column; the columns widen to their cells
        let placed: Vec<(usize, &Line, &Chunk)> = body.iter().flat_map(|l| l.chunks.iter().map(move |c| (*l, c))).map(|(l, c)| (column_of(&cols, c), l, c)).collect();
        for (ci, _, c) in &placed {
            cols[*ci].x0 = cols[*ci].x0.min(c.x0);
            cols[*ci].x1 = cols[*ci].x1.max(c.x1);
        }
        // neighbours that now overlap meet halfway
        for i in 1..cols.len() {
            if cols[i - 1].x1 > cols[i].x0 {
                let mid = (cols[i - 1].x1 + cols[i].x0) / 2.0;
                cols[i - 1].x1 = mid;
                cols[i].x0 = mid;
            }
        }
        let header_lines = &lines[i..i + k];
        out.push(Line {
            page: header_lines[0].page,
            y: header_lines[k - 1].y,
            size: header_lines.iter().map(|l| l.size).fold(0.0, f32::max),
            top: header_lines[0].top,
            chunks: cols.iter().map(|c| Chunk { text: c.label.clone(), x0: c.x0, x1: c.x1, conf: header_lines.iter().flat_map(|l| &l.chunks).map(|c| c.conf).fold(1.0, f32::min) }).collect(),
            ruled: false,
        });
        let rows = seq.map(|s| rows_by_number(&cols, s, &placed)).unwrap_or_default();
        if rows.is_empty() {
            // no row numbers: the lines as they are, under the one-line header
            out.extend(body.iter().map(|l| (*l).clone()));
        } else {
            out.extend(rows);
        }
        i = j;
    }
    out
}

/// One ruled line per row, the rows anchored by the numbers in column `seq` (page by page).
fn rows_by_number(cols: &[Column], seq: usize, placed: &[(usize, &Line, &Chunk)]) -> Vec<Line> {
    let mut out = Vec::new();
    let mut pages: Vec<u32> = placed.iter().map(|(_, l, _)| l.page).collect();
    pages.dedup();
    for page in pages {
        let here: Vec<&(usize, &Line, &Chunk)> = placed.iter().filter(|(_, l, _)| l.page == page).collect();
        let anchors: Vec<f32> = here
            .iter()
            .filter(|(ci, _, c)| *ci == seq && !c.text.trim().is_empty() && c.text.trim().chars().all(|ch| ch.is_ascii_digit()))
            .map(|(_, l, _)| l.y)
            .collect();
        if anchors.is_empty() {
            return Vec::new();
        }
        // each column's lines parted into rows, the alignment that fits all columns best
        let by_col: Vec<Vec<&(usize, &Line, &Chunk)>> = (0..cols.len()).map(|ci| here.iter().copied().filter(|(c, _, _)| *c == ci).collect()).collect();
        let mut best: Option<(f32, Vec<Vec<usize>>)> = None;
        for align in [Align::Top, Align::Centre, Align::Bottom] {
            let mut total = 0.0;
            let mut groups = Vec::new();
            for col in &by_col {
                let ys: Vec<f32> = col.iter().map(|(_, l, _)| l.y).collect();
                let (c, g) = part(&ys, &anchors, align);
                total += c;
                groups.push(g);
            }
            if best.as_ref().is_none_or(|b| total < b.0) {
                best = Some((total, groups));
            }
        }
        let groups = best.map(|b| b.1).unwrap_or_default();
        for (r, &anchor) in anchors.iter().enumerate() {
            let mut chunks = Vec::new();
            let (mut top, mut bottom, mut size) = (f32::MAX, anchor, 0.0f32);
            for (ci, col) in by_col.iter().enumerate() {
                let mine: Vec<&&(usize, &Line, &Chunk)> = col.iter().zip(&groups[ci]).filter(|(_, g)| **g == r).map(|(x, _)| x).collect();
                if mine.is_empty() {
                    continue;
                }
                let text: String = mine.iter().map(|(_, _, c)| c.text.trim()).collect::<Vec<_>>().join("");
                for (_, l, _) in &mine {
                    top = top.min(l.top);
                    bottom = bottom.max(l.y);
                    size = size.max(l.size);
                }
                let conf = mine.iter().map(|(_, _, c)| c.conf).fold(1.0, f32::min);
                chunks.push(Chunk { text, x0: cols[ci].x0, x1: cols[ci].x1, conf });
            }
            out.push(Line { page, y: bottom, size, top: top.min(bottom), chunks, ruled: true });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centred_blocks_go_to_their_rows() {
        // row anchors at 100 and 130; a three-line cell centred on 100, a two-line one on 130
        let ys = [88.0, 100.0, 112.0, 124.0, 136.0];
        let (_, g) = part(&ys, &[100.0, 130.0], Align::Centre);
        assert_eq!(g, vec![0, 0, 0, 1, 1]);
        // top-aligned: a row's lines start at its number
        let ys = [100.0, 112.0, 124.0, 136.0, 148.0];
        let (_, g) = part(&ys, &[100.0, 136.0], Align::Top);
        assert_eq!(g, vec![0, 0, 0, 1, 1]);
    }
}
