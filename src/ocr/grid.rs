//! Ruled-table detection on a binarised page: long horizontal and vertical ink runs → lines →
//! cells (merged cells included), so each cell can be recognised on its own.
//!
//! Lines: a horizontal rule is a run of ink ≥ 1/6 of the page width, a vertical one ≥ 1/40 of
//! the page height, allowing gaps of a few pixels (broken scans) and a pixel of drift per row
//! (3-row / 3-column OR), so a residual skew of a few tenths of a degree is tolerated.
//! Cells: the line positions cut the page into atoms; neighbouring atoms whose separating
//! line is (mostly) absent are merged; a merged region whose four sides are drawn is a cell.

use image::GrayImage;

/// A pixel rectangle `[x0, x1) × [y0, y1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rect {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Rect {
    pub fn new(x0: u32, y0: u32, x1: u32, y1: u32) -> Self {
        Rect { x0, y0, x1, y1 }
    }
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }
    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }
    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }
    /// Shrunk by `d` on every side (never inverted).
    pub fn inset(&self, d: u32) -> Rect {
        let x0 = (self.x0 + d).min(self.x1);
        let y0 = (self.y0 + d).min(self.y1);
        Rect {
            x0,
            y0,
            x1: self.x1.saturating_sub(d).max(x0),
            y1: self.y1.saturating_sub(d).max(y0),
        }
    }
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x0 && x < self.x1 && y >= self.y0 && y < self.y1
    }
}

/// A ruled line: its band across (`pos0..=pos1`, y for horizontal, x for vertical) and the
/// covered spans along it (`(start, end)`, exclusive end, merged, sorted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub pos0: u32,
    pub pos1: u32,
    pub spans: Vec<(u32, u32)>,
}

impl Line {
    pub fn centre(&self) -> u32 {
        (self.pos0 + self.pos1) / 2
    }
    /// Fraction of `[a, b)` covered by the line's spans, ends widened by `slack`.
    fn coverage(&self, a: u32, b: u32, slack: u32) -> f32 {
        if b <= a {
            return 1.0;
        }
        let mut covered = 0;
        for &(s, e) in &self.spans {
            let s = s.saturating_sub(slack).max(a);
            let e = (e + slack).min(b);
            if e > s {
                covered += e - s;
            }
        }
        covered as f32 / (b - a) as f32
    }
}

/// A table cell: `rect` is the interior (line bands excluded); `row`/`col` index the line
/// positions (`Grid::h_lines[row]` is its top rule, `Grid::v_lines[col]` its left rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub rect: Rect,
    pub row: usize,
    pub col: usize,
    pub row_span: usize,
    pub col_span: usize,
}

/// Lines and cells of the ruled tables on a page. `cells` are ordered row by row (top rule,
/// then left rule).
#[derive(Clone, Debug, Default)]
pub struct Grid {
    pub h_lines: Vec<Line>,
    pub v_lines: Vec<Line>,
    pub cells: Vec<Cell>,
}

impl Grid {
    /// Cells grouped by their top rule, each group left to right.
    pub fn rows(&self) -> Vec<Vec<&Cell>> {
        let mut rows: Vec<Vec<&Cell>> = Vec::new();
        for c in &self.cells {
            match rows.last_mut() {
                Some(r) if r[0].row == c.row => r.push(c),
                _ => rows.push(vec![c]),
            }
        }
        rows
    }
    /// The cell sharing cell `i`'s right rule and overlapping its rows (label → value).
    pub fn right_of(&self, i: usize) -> Option<usize> {
        let c = &self.cells[i];
        let col = c.col + c.col_span;
        self.cells
            .iter()
            .position(|d| d.col == col && d.row < c.row + c.row_span && c.row < d.row + d.row_span)
    }
    /// The cell under cell `i` sharing its bottom rule and overlapping its columns.
    pub fn below(&self, i: usize) -> Option<usize> {
        let c = &self.cells[i];
        let row = c.row + c.row_span;
        self.cells
            .iter()
            .position(|d| d.row == row && d.col < c.col + c.col_span && c.col < d.col + d.col_span)
    }
    /// The cell containing point `(x, y)`.
    pub fn cell_at(&self, x: u32, y: u32) -> Option<usize> {
        self.cells.iter().position(|c| c.rect.contains(x, y))
    }
}

/// Parameters for [`find_grid_with`].
#[derive(Clone, Debug)]
pub struct GridOptions {
    /// Minimum horizontal run, as a fraction of the page width.
    pub min_h_frac: f32,
    /// Minimum vertical run, as a fraction of the page height.
    pub min_v_frac: f32,
    /// Gaps inside a run bridged, pixels.
    pub max_gap: u32,
    /// A side counts as drawn when this fraction of it is covered.
    pub min_cover: f32,
    /// Cells smaller than this (either side), pixels, are dropped.
    pub min_cell: u32,
}

impl Default for GridOptions {
    fn default() -> Self {
        GridOptions {
            min_h_frac: 1.0 / 6.0,
            min_v_frac: 1.0 / 40.0,
            max_gap: 3,
            min_cover: 0.6,
            min_cell: 12,
        }
    }
}

/// Find ruled lines and table cells. `bin`: 0 = ink, 255 = paper (any value < 128 is ink).
pub fn find_grid(bin: &GrayImage) -> Grid {
    find_grid_with(bin, &GridOptions::default())
}

pub fn find_grid_with(bin: &GrayImage, o: &GridOptions) -> Grid {
    let (w, h) = bin.dimensions();
    if w < 16 || h < 16 {
        return Grid::default();
    }
    let raw = bin.as_raw();
    let wu = w as usize;
    let row = |y: usize| &raw[y * wu..(y + 1) * wu];

    // horizontal runs: each row OR'd with its neighbours (a missing neighbour: the row itself)
    let min_h = ((w as f32 * o.min_h_frac) as u32).max(8);
    let mut hsegs: Vec<(u32, u32, u32)> = Vec::new(); // (y, x0, x1)
    let mut orow = vec![false; wu];
    for y in 0..h as usize {
        let (up, here, down) = (row(y.saturating_sub(1)), row(y), row((y + 1).min(h as usize - 1)));
        for (((v, &a), &b), &c) in orow.iter_mut().zip(up).zip(here).zip(down) {
            *v = (a < 128) | (b < 128) | (c < 128);
        }
        runs(&orow, o.max_gap, min_h, |a, b| hsegs.push((y as u32, a, b)));
    }
    // vertical runs: per-column state while scanning rows (cache friendly)
    let min_v = ((h as f32 * o.min_v_frac) as u32).max(8);
    let mut vsegs: Vec<(u32, u32, u32)> = Vec::new(); // (x, y0, y1)
    let mut start = vec![u32::MAX; wu];
    let mut last = vec![0u32; wu];
    // each row OR'd with its left and right neighbours (a missing neighbour: the pixel itself)
    let mut wide = vec![false; wu];
    for y in 0..h {
        let r = row(y as usize);
        wide[0] = (r[0] < 128) | (r[1] < 128);
        wide[wu - 1] = (r[wu - 1] < 128) | (r[wu - 2] < 128);
        for (((v, &a), &b), &c) in wide[1..wu - 1].iter_mut().zip(r).zip(&r[1..]).zip(&r[2..]) {
            *v = (a < 128) | (b < 128) | (c < 128);
        }
        for x in 0..wu {
            if wide[x] {
                if start[x] == u32::MAX {
                    start[x] = y;
                } else if y - last[x] > o.max_gap + 1 {
                    if last[x] + 1 - start[x] >= min_v {
                        vsegs.push((x as u32, start[x], last[x] + 1));
                    }
                    start[x] = y;
                }
                last[x] = y;
            }
        }
    }
    for x in 0..wu {
        if start[x] != u32::MAX && last[x] + 1 - start[x] >= min_v {
            vsegs.push((x as u32, start[x], last[x] + 1));
        }
    }
    let h_lines = cluster(hsegs);
    let v_lines = cluster(vsegs);
    let cells = cells_from_lines(&h_lines, &v_lines, o);
    Grid {
        h_lines,
        v_lines,
        cells,
    }
}

/// Runs of `true` in `row` bridging gaps ≤ `max_gap`, reported when ≥ `min_len`.
fn runs(row: &[bool], max_gap: u32, min_len: u32, mut emit: impl FnMut(u32, u32)) {
    let mut start: Option<u32> = None;
    let mut last = 0u32;
    for (x, &b) in row.iter().enumerate() {
        let x = x as u32;
        if b {
            match start {
                Some(s) if x - last > max_gap + 1 => {
                    if last + 1 - s >= min_len {
                        emit(s, last + 1);
                    }
                    start = Some(x);
                }
                None => start = Some(x),
                _ => {}
            }
            last = x;
        }
    }
    if let Some(s) = start {
        if last + 1 - s >= min_len {
            emit(s, last + 1);
        }
    }
}

/// Group segments `(pos, a, b)` whose positions are adjacent (≤ 2 px apart, chained) into
/// lines; each line's spans are the merged `(a, b)`s.
fn cluster(mut segs: Vec<(u32, u32, u32)>) -> Vec<Line> {
    segs.sort_unstable();
    let mut lines: Vec<Line> = Vec::new();
    type Open = (u32, u32, Vec<(u32, u32)>); // first pos, last pos, spans
    let mut cur: Option<Open> = None;
    for (p, a, b) in segs {
        match &mut cur {
            Some((_, p1, spans)) if p <= *p1 + 2 => {
                *p1 = (*p1).max(p);
                spans.push((a, b));
            }
            _ => {
                if let Some((p0, p1, spans)) = cur.take() {
                    lines.push(make_line(p0, p1, spans));
                }
                cur = Some((p, p, vec![(a, b)]));
            }
        }
    }
    if let Some((p0, p1, spans)) = cur {
        lines.push(make_line(p0, p1, spans));
    }
    lines
}

fn make_line(p0: u32, p1: u32, mut spans: Vec<(u32, u32)>) -> Line {
    spans.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::new();
    for (a, b) in spans {
        match merged.last_mut() {
            Some(l) if a <= l.1 + 2 => l.1 = l.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    Line {
        pos0: p0,
        pos1: p1,
        spans: merged,
    }
}

fn cells_from_lines(hl: &[Line], vl: &[Line], o: &GridOptions) -> Vec<Cell> {
    if hl.len() < 2 || vl.len() < 2 {
        return Vec::new();
    }
    let ys: Vec<u32> = hl.iter().map(Line::centre).collect();
    let xs: Vec<u32> = vl.iter().map(Line::centre).collect();
    let (nr, nc) = (ys.len() - 1, xs.len() - 1);
    let slack = 6;
    // is the vertical rule j drawn between rows i..i+1? the horizontal rule i between cols j..j+1?
    let v_drawn =
        |j: usize, i0: usize, i1: usize| vl[j].coverage(ys[i0], ys[i1], slack) >= o.min_cover;
    let h_drawn =
        |i: usize, j0: usize, j1: usize| hl[i].coverage(xs[j0], xs[j1], slack) >= o.min_cover;

    let mut parent: Vec<usize> = (0..nr * nc).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for i in 0..nr {
        for j in 0..nc {
            if j + 1 < nc && !v_drawn(j + 1, i, i + 1) {
                let (a, b) = (
                    find(&mut parent, i * nc + j),
                    find(&mut parent, i * nc + j + 1),
                );
                parent[a] = b;
            }
            if i + 1 < nr && !h_drawn(i + 1, j, j + 1) {
                let (a, b) = (
                    find(&mut parent, i * nc + j),
                    find(&mut parent, (i + 1) * nc + j),
                );
                parent[a] = b;
            }
        }
    }
    // components → atom bounding boxes
    let mut comp: std::collections::HashMap<usize, (usize, usize, usize, usize, usize)> =
        Default::default();
    for i in 0..nr {
        for j in 0..nc {
            let r = find(&mut parent, i * nc + j);
            let e = comp.entry(r).or_insert((i, i, j, j, 0));
            e.0 = e.0.min(i);
            e.1 = e.1.max(i);
            e.2 = e.2.min(j);
            e.3 = e.3.max(j);
            e.4 += 1;
        }
    }
    let mut cells = Vec::new();
    for (_, (i0, i1, j0, j1, n)) in comp {
        if n != (i1 - i0 + 1) * (j1 - j0 + 1) {
            continue; // not a rectangle: outside of tables, or an L-shaped region
        }
        let closed = h_drawn(i0, j0, j1 + 1)
            && h_drawn(i1 + 1, j0, j1 + 1)
            && v_drawn(j0, i0, i1 + 1)
            && v_drawn(j1 + 1, i0, i1 + 1);
        if !closed {
            continue;
        }
        let rect = Rect::new(
            vl[j0].pos1 + 1,
            hl[i0].pos1 + 1,
            vl[j1 + 1].pos0,
            hl[i1 + 1].pos0,
        );
        if rect.width() < o.min_cell || rect.height() < o.min_cell {
            continue;
        }
        cells.push(Cell {
            rect,
            row: i0,
            col: j0,
            row_span: i1 - i0 + 1,
            col_span: j1 - j0 + 1,
        });
    }
    cells.sort_by_key(|c| (c.row, c.col));
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn draw_h(g: &mut GrayImage, y: u32, x0: u32, x1: u32, t: u32) {
        for yy in y..y + t {
            for x in x0..x1 {
                g.put_pixel(x, yy, Luma([0]));
            }
        }
    }
    fn draw_v(g: &mut GrayImage, x: u32, y0: u32, y1: u32, t: u32) {
        for y in y0..y1 {
            for xx in x..x + t {
                g.put_pixel(xx, y, Luma([0]));
            }
        }
    }

    #[test]
    fn table_with_merged_cells() {
        // 3 rows × 3 cols; the first column's cell spans rows 1–2 (no rule between them there)
        let mut g = GrayImage::from_pixel(1200, 1600, Luma([255]));
        let (x0, x1, x2, x3) = (100, 400, 700, 1100);
        let (y0, y1, y2, y3) = (200, 320, 440, 560);
        draw_h(&mut g, y0, x0, x3 + 3, 3);
        draw_h(&mut g, y1, x0, x3 + 3, 3);
        draw_h(&mut g, y2, x1, x3 + 3, 3); // starts at x1: the label cell spans two rows
        draw_h(&mut g, y3, x0, x3 + 3, 3);
        for x in [x0, x1, x2, x3] {
            draw_v(&mut g, x, y0, y3 + 3, 3);
        }
        // text-like clutter inside cells and a stray underline below the table
        draw_h(&mut g, 260, 120, 300, 1);
        for k in 0..10 {
            draw_v(&mut g, 450 + k * 20, 350, 385, 2);
        }
        draw_h(&mut g, 900, 100, 600, 2);
        let grid = find_grid(&g);
        assert_eq!(grid.v_lines.len(), 4, "{:?}", grid.v_lines);
        assert_eq!(grid.h_lines.len(), 5, "4 table rules + the underline");
        let rows = grid.rows();
        assert_eq!(rows.len(), 3, "{:#?}", grid.cells);
        assert_eq!(rows[0].len(), 3);
        assert_eq!(rows[1].len(), 3);
        assert_eq!(rows[2].len(), 2);
        let merged = rows[1][0];
        assert_eq!((merged.row_span, merged.col_span), (2, 1));
        assert!(
            merged.rect.y0 > y1
                && merged.rect.y0 <= y1 + 5
                && merged.rect.y1 >= y3 - 2
                && merged.rect.y1 <= y3
        );
        let first = grid.cells.iter().position(|c| c == merged).unwrap();
        let right = grid.right_of(first).unwrap();
        assert_eq!(grid.cells[right].col, 1);
        assert_eq!(grid.below(0).map(|i| grid.cells[i].row), Some(1));
        assert_eq!(
            grid.cell_at(550, 500)
                .map(|i| (grid.cells[i].row, grid.cells[i].col)),
            Some((2, 1))
        );
    }

    #[test]
    fn slight_skew_and_broken_lines_still_found() {
        let mut g = GrayImage::from_pixel(2000, 1000, Luma([255]));
        // a long rule drifting 4 px over its length, with gaps of 2 px every 100 px
        for x in 100..1900u32 {
            if x % 100 < 2 {
                continue;
            }
            let y = 300 + (x - 100) * 4 / 1800;
            for t in 0..2 {
                g.put_pixel(x, y + t, Luma([0]));
            }
        }
        let grid = find_grid(&g);
        assert_eq!(grid.h_lines.len(), 1, "{:?}", grid.h_lines);
        let l = &grid.h_lines[0];
        assert!(l.coverage(100, 1900, 0) > 0.95, "{:?}", l.spans);
        assert!(grid.cells.is_empty());
    }
}
