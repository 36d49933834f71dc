//! Ruled tables of a born-digital page ("lattice"): the drawn rulings, whoever drew them
//! (stroked lines, box sides, thin filled boxes), give a grid; units of the grid not parted by
//! a ruling are one cell (merged cells); text goes to the cell that holds it and a cell's
//! wrapped lines are joined in reading order. A table row then reads as one line of one chunk
//! per cell, as a scanned table's row does, so one extractor serves both and a cell that wraps
//! onto three lines is still one value.

use crate::read::pdf::{reading_order, Ruling, TextSpan};

/// Rulings this close (points) are one line: a border drawn twice, both sides of a thick
/// line, the shared side of two adjacent boxes.
const SNAP: f32 = 2.0;

/// A cell: its box in page points (top-left origin) and the grid row its top edge is on.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    /// the grid row of the cell's top edge
    pub row: usize,
}

impl Cell {
    fn holds(&self, x: f32, y: f32) -> bool {
        x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1
    }
}

/// A ruled table: its cells (by row, then left to right) and the grid's row edges.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub cells: Vec<Cell>,
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Table {
    fn holds(&self, x: f32, y: f32) -> bool {
        x >= self.x0 - 0.5 && x <= self.x1 + 0.5 && y >= self.y0 - 0.5 && y <= self.y1 + 0.5
    }
}

/// One axis's segments, merged: (position, from, to).
type Segs = Vec<(f32, f32, f32)>;

/// Clusters positions within [`SNAP`] and merges segments on one position that touch.
fn merge(mut segs: Segs) -> Segs {
    segs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    // positions: runs of segments each within SNAP of the previous share the run's mean
    let mut out: Segs = Vec::new();
    let mut i = 0;
    while i < segs.len() {
        let mut j = i + 1;
        while j < segs.len() && segs[j].0 - segs[j - 1].0 <= SNAP && segs[j].0 - segs[i].0 <= 2.0 * SNAP {
            j += 1;
        }
        let pos = segs[i..j].iter().map(|s| s.0).sum::<f32>() / (j - i) as f32;
        let mut spans: Vec<(f32, f32)> = segs[i..j].iter().map(|s| (s.1, s.2)).collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut cur = spans[0];
        for s in &spans[1..] {
            if s.0 <= cur.1 + SNAP {
                cur.1 = cur.1.max(s.1);
            } else {
                out.push((pos, cur.0, cur.1));
                cur = *s;
            }
        }
        out.push((pos, cur.0, cur.1));
        i = j;
    }
    out
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn join(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb)] = ra.min(rb);
    }
}

/// Distinct positions (clustered within SNAP), sorted.
fn positions(mut v: Vec<f32>) -> Vec<f32> {
    v.sort_by(f32::total_cmp);
    let mut out: Vec<f32> = Vec::new();
    for x in v {
        match out.last() {
            Some(l) if x - l <= SNAP => {}
            _ => out.push(x),
        }
    }
    out
}

/// Whether one of `segs` lies at `pos` and covers `from..to` (all but a snap at each end).
fn covered(segs: &[&(f32, f32, f32)], pos: f32, from: f32, to: f32) -> bool {
    segs.iter().any(|s| (s.0 - pos).abs() <= SNAP && s.1 <= from + SNAP && s.2 >= to - SNAP)
}

/// The ruled tables a page's rulings draw: groups of crossing horizontal and vertical lines
/// with at least two of each (a lone underline or a box around the seal is no table).
pub fn tables(rulings: &[Ruling]) -> Vec<Table> {
    let h = merge(rulings.iter().filter(|r| r.horizontal()).map(|r| (r.y0, r.x0, r.x1)).collect());
    let v = merge(rulings.iter().filter(|r| !r.horizontal()).map(|r| (r.x0, r.y0, r.y1)).collect());
    if h.len() < 2 || v.len() < 2 || h.len() * v.len() > 4_000_000 {
        return Vec::new();
    }
    // connected groups of crossing segments
    let n = h.len() + v.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for (i, hs) in h.iter().enumerate() {
        for (j, vs) in v.iter().enumerate() {
            if vs.0 >= hs.1 - SNAP && vs.0 <= hs.2 + SNAP && hs.0 >= vs.1 - SNAP && hs.0 <= vs.2 + SNAP {
                join(&mut parent, i, h.len() + j);
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, (Vec<usize>, Vec<usize>)> = Default::default();
    for i in 0..h.len() {
        groups.entry(find(&mut parent, i)).or_default().0.push(i);
    }
    for j in 0..v.len() {
        groups.entry(find(&mut parent, h.len() + j)).or_default().1.push(j);
    }
    let mut out = Vec::new();
    for (hi, vi) in groups.into_values() {
        if hi.len() < 2 || vi.len() < 2 {
            continue;
        }
        let hs: Vec<&(f32, f32, f32)> = hi.iter().map(|&i| &h[i]).collect();
        let vs: Vec<&(f32, f32, f32)> = vi.iter().map(|&j| &v[j]).collect();
        if let Some(t) = grid_table(&hs, &vs) {
            out.push(t);
        }
    }
    out.sort_by(|a, b| a.y0.total_cmp(&b.y0).then(a.x0.total_cmp(&b.x0)));
    out
}

/// The cells of one group of crossing rulings.
fn grid_table(hs: &[&(f32, f32, f32)], vs: &[&(f32, f32, f32)]) -> Option<Table> {
    let ys = positions(hs.iter().map(|s| s.0).collect());
    let xs = positions(vs.iter().map(|s| s.0).collect());
    if ys.len() < 2 || xs.len() < 2 {
        return None;
    }
    let (rows, cols) = (ys.len() - 1, xs.len() - 1);
    // one box (a frame around a signature, a seal, a note) is no table
    if rows * cols < 2 || rows * cols > 100_000 {
        return None;
    }
    // grid units joined where no ruling parts them
    let mut parent: Vec<usize> = (0..rows * cols).collect();
    for r in 0..rows {
        for c in 0..cols {
            if c + 1 < cols && !covered(vs, xs[c + 1], ys[r], ys[r + 1]) {
                join(&mut parent, r * cols + c, r * cols + c + 1);
            }
            if r + 1 < rows && !covered(hs, ys[r + 1], xs[c], xs[c + 1]) {
                join(&mut parent, r * cols + c, (r + 1) * cols + c);
            }
        }
    }
    let mut cells: std::collections::BTreeMap<usize, Cell> = Default::default();
    for r in 0..rows {
        for c in 0..cols {
            let root = find(&mut parent, r * cols + c);
            let cell = cells.entry(root).or_insert(Cell { x0: xs[c], y0: ys[r], x1: xs[c + 1], y1: ys[r + 1], row: r });
            cell.x0 = cell.x0.min(xs[c]);
            cell.x1 = cell.x1.max(xs[c + 1]);
            cell.y0 = cell.y0.min(ys[r]);
            cell.y1 = cell.y1.max(ys[r + 1]);
            cell.row = cell.row.min(r);
        }
    }
    let mut cells: Vec<Cell> = cells.into_values().collect();
    cells.sort_by(|a, b| a.row.cmp(&b.row).then(a.x0.total_cmp(&b.x0)));
    Some(Table { cells, x0: xs[0], y0: ys[0], x1: xs[cols], y1: ys[rows] })
}

/// Display width of a character in ems (CJK full width, ASCII half).
fn em_width(c: char) -> f32 {
    if c.is_ascii() { 0.5 } else { 1.0 }
}

/// A span cut into the runs it was joined from, each going to the cell it starts in: a run
/// that crosses a cell's border is text overflowing its cell (Typst lets `2024-07-02` run over
/// into the next column), not two cells' texts. A run that starts in no cell is cut by where
/// each character falls. (cell index or None, piece)
fn split_span(s: &TextSpan, cells: &[Cell]) -> Vec<(Option<usize>, TextSpan)> {
    // a point inside the glyph box: the baseline is its bottom
    let y = s.y - 0.3 * s.size.abs().max(1.0);
    let mut bounds: Vec<(usize, f32)> = vec![(0, s.x)];
    bounds.extend(s.joins.iter().filter(|(b, _)| *b > 0 && *b < s.text.len() && s.text.is_char_boundary(*b)).copied());
    bounds.push((s.text.len(), s.x + s.width));
    let mut out: Vec<(Option<usize>, TextSpan)> = Vec::new();
    let mut push = |cell: Option<usize>, text: &str, x: f32, w: f32| match out.last_mut() {
        Some((k, piece)) if *k == cell => {
            piece.text.push_str(text);
            piece.width = x + w - piece.x;
        }
        _ => out.push((cell, TextSpan { text: text.to_string(), x, y: s.y, width: w, size: s.size, joins: Vec::new() })),
    };
    for run in bounds.windows(2) {
        let ((from, x0), (to, x1)) = (run[0], run[1]);
        let text = &s.text[from..to];
        let total: f32 = text.chars().map(em_width).sum::<f32>().max(0.5);
        let scale = (x1 - x0).max(0.0) / total;
        let first = text.chars().next().map_or(0.0, em_width) * scale;
        if let Some(cell) = cells.iter().position(|c| c.holds(x0 + first / 2.0, y)) {
            push(Some(cell), text, x0, x1 - x0);
            continue;
        }
        let mut x = x0;
        for ch in text.chars() {
            let w = em_width(ch) * scale;
            let cell = cells.iter().position(|c| c.holds(x + w / 2.0, y));
            let mut buf = [0u8; 4];
            push(cell, ch.encode_utf8(&mut buf), x, w);
            x += w;
        }
    }
    out
}

/// A cell's text: its lines in reading order, joined as wrapped text is (no break inside a
/// Chinese word or a number; a space between two words of Latin letters, and before a line that
/// starts a `label：value` of its own).
pub fn cell_text(spans: &[TextSpan]) -> String {
    let mut out = String::new();
    for line in reading_order(spans) {
        let t = line.text();
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        let prev = out.chars().last();
        let next = t.chars().next();
        let colon_soon = t.chars().take(12).any(|c| matches!(c, ':' | '：'));
        let words = prev.is_some_and(|c| c.is_ascii_alphabetic()) && next.is_some_and(|c| c.is_ascii_alphabetic());
        if prev.is_some() && (words || colon_soon) {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

/// A table's text by cell: for each cell, the spans it holds.
pub struct Filled<'t> {
    pub table: &'t Table,
    pub spans: Vec<Vec<TextSpan>>,
}

/// Sorts a page's spans into its tables' cells; the spans outside every table are returned
/// apart (pieces of a span that crosses a table's edge go each their way).
pub fn fill<'t>(tables: &'t [Table], spans: &[TextSpan]) -> (Vec<Filled<'t>>, Vec<TextSpan>) {
    let mut filled: Vec<Filled> = tables.iter().map(|t| Filled { table: t, spans: vec![Vec::new(); t.cells.len()] }).collect();
    let mut free = Vec::new();
    for s in spans {
        let (x0, x1) = (s.x, s.x + s.width);
        let y = s.y - 0.3 * s.size.abs().max(1.0);
        let Some(ti) = tables.iter().position(|t| t.holds(x0, y) || t.holds(x1, y) || t.holds((x0 + x1) / 2.0, y)) else {
            free.push(s.clone());
            continue;
        };
        for (cell, piece) in split_span(s, &tables[ti].cells) {
            match cell {
                Some(c) => filled[ti].spans[c].push(piece),
                None => free.push(piece),
            }
        }
    }
    (filled, free)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hl(y: f32, x0: f32, x1: f32) -> Ruling {
        Ruling { x0, y0: y, x1, y1: y }
    }
    fn vl(x: f32, y0: f32, y1: f32) -> Ruling {
        Ruling { x0: x, y0, x1: x, y1 }
    }
    fn span(t: &str, x: f32, y: f32) -> TextSpan {
        let w: f32 = t.chars().map(em_width).sum::<f32>() * 10.0;
        TextSpan { text: t.into(), x, y, width: w, size: 10.0, joins: Vec::new() }
    }

    /// A 2×3 grid whose second row merges its last two cells (no ruling between them there),
    /// drawn as a box per cell (every inner side twice, half a point apart).
    #[test]
    fn grid_with_a_merged_cell() {
        let mut r = Vec::new();
        for (x0, x1) in [(0.0, 100.0), (100.5, 200.0), (200.0, 300.0)] {
            r.extend([hl(0.0, x0, x1), hl(20.0, x0, x1), vl(x0, 0.0, 20.0), vl(x1, 0.0, 20.0)]);
        }
        r.extend([hl(50.0, 0.0, 300.0), vl(0.0, 20.0, 50.0), vl(100.0, 20.0, 50.0), vl(300.0, 20.0, 50.0)]);
        let t = tables(&r);
        assert_eq!(t.len(), 1);
        let cells = &t[0].cells;
        assert_eq!(cells.len(), 5, "{cells:?}");
        assert_eq!(cells[4].row, 1);
        assert!((cells[4].x0 - 100.0).abs() < 1.0 && (cells[4].x1 - 300.0).abs() < 1.0);
    }

    #[test]
    fn lone_lines_and_boxes_make_no_table() {
        assert!(tables(&[hl(10.0, 0.0, 100.0), hl(30.0, 0.0, 100.0), vl(200.0, 0.0, 50.0)]).is_empty());
        assert!(tables(&[hl(10.0, 0.0, 100.0), hl(30.0, 0.0, 100.0), vl(0.0, 10.0, 30.0), vl(100.0, 10.0, 30.0)]).is_empty());
    }

    /// Wrapped lines of a cell join; the next cell's lines (vertically centred beside them)
    /// stay in their own cell.
    #[test]
    fn wrapped_cells_join_in_their_cell() {
        let r = vec![hl(0.0, 0.0, 200.0), hl(40.0, 0.0, 200.0), vl(0.0, 0.0, 40.0), vl(60.0, 0.0, 40.0), vl(200.0, 0.0, 40.0)];
        let t = tables(&r);
        let spans = vec![span("竞赛职业（工", 2.0, 12.0), span("种）", 2.0, 24.0), span("2024年6月", 62.0, 18.0), span("12日", 62.0, 30.0), span("页脚", 10.0, 80.0)];
        let (filled, free) = fill(&t, &spans);
        assert_eq!(cell_text(&filled[0].spans[0]), "竞赛职业（工种）");
        assert_eq!(cell_text(&filled[0].spans[1]), "2024年6月12日");
        assert_eq!(free.len(), 1);
    }

    /// Two cells' runs that the reader joined (they continue each other on the baseline) are
    /// parted at the ruling; one run that overflows its cell stays in it.
    #[test]
    fn joined_runs_part_at_the_ruling_and_overflow_stays() {
        let r = vec![hl(0.0, 0.0, 200.0), hl(20.0, 0.0, 200.0), vl(0.0, 0.0, 20.0), vl(32.0, 0.0, 20.0), vl(200.0, 0.0, 20.0)];
        let t = tables(&r);
        let mut joined = span("承办地渝中区", 1.0, 15.0);
        joined.joins = vec![("承办地".len(), 33.0)];
        let (filled, _) = fill(&t, &[joined]);
        assert_eq!(cell_text(&filled[0].spans[0]), "承办地");
        assert_eq!(cell_text(&filled[0].spans[1]), "渝中区");
        let (filled, _) = fill(&t, &[span("2024-07-02", 1.0, 15.0), span("2024-07-04", 51.0, 15.0)]);
        assert_eq!(cell_text(&filled[0].spans[0]), "2024-07-02");
        assert_eq!(cell_text(&filled[0].spans[1]), "2024-07-04");
    }

    #[test]
    fn lines_of_labels_in_one_cell_stay_apart() {
        let spans = vec![span("联系人：张三", 0.0, 10.0), span("联系电话：13812345678", 0.0, 22.0)];
        assert_eq!(cell_text(&spans), "联系人：张三 联系电话：13812345678");
    }
}
