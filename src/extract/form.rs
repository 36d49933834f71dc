//! The declaration form: positioned lines → fields and item rows, driven by the label
//! dictionary of the pipeline file. Handles label/value grids, `label：value` lines,
//! two-column tables, spaced-out labels (`联 系 人`) and the item table.

use std::collections::BTreeMap;

use crate::config::{fold_width, Pipeline};
use crate::model::{field_kind, is_item_field, static_key, Extracted, Field, Finding, Item, Kind, Method, Name, Provenance, Value};

use super::layout::{Chunk, Line};
use super::normalize::normalize;

/// A piece of a line after label matching.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Label { key: String, x0: f32, x1: f32 },
    Value { text: String, x0: f32, x1: f32, conf: f32 },
}

/// Why a document is not a declaration form.
#[derive(Debug, Clone, PartialEq)]
pub struct NotAForm {
    pub labels_found: usize,
}

/// A raw reading of one field before normalisation.
#[derive(Debug, Clone)]
struct RawValue {
    text: String,
    page: u32,
    conf: f32,
    /// where on the page it was read: x0, y0, x1, y1 in points
    bbox: Option<[f32; 4]>,
}

/// The union of two boxes.
fn union(a: Option<[f32; 4]>, b: [f32; 4]) -> [f32; 4] {
    match a {
        Some(a) => [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
        None => b,
    }
}

fn is_colon(c: char) -> bool {
    matches!(c, ':' | '：' | '∶' | '﹕')
}

/// What OCR reads for a colon or a bracket of a label.
pub(crate) fn ocr_fold(c: char) -> char {
    match c {
        ';' | '；' | '∶' | '﹕' => ':',
        '【' | '[' | '〔' | '{' | '〈' | '《' | '<' => '(',
        '】' | ']' | '〕' | '}' | '〉' | '》' | '>' => ')',
        c => c,
    }
}

/// How far an OCR'd text is from a label: the characters read wrong, one Chinese character read
/// as two Latin letters (点 as `AS`) counting as one; None when it cannot be the label. A
/// label followed by a bracketed unit OCR could not read (竞赛职业(LAP), 专家裁判人员(A)) is the
/// label.
fn label_distance(label: &str, text: &str) -> Option<usize> {
    let (a, b): (Vec<char>, Vec<char>) = (label.chars().collect(), text.chars().map(ocr_fold).collect());
    if a.len() >= 4 && b.len() > a.len() + 1 && b[..a.len()] == a[..] && b[a.len()] == '(' && b.last() == Some(&')') {
        return Some(0);
    }
    if b.len() > 2 * a.len() + 2 {
        return None;
    }
    // d[i][j]: label[..i] against text[..j]
    let mut d = vec![vec![usize::MAX / 2; b.len() + 1]; a.len() + 1];
    d[0][0] = 0;
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let same = usize::from(a[i - 1] != b[j - 1]);
            let mut v = d[i - 1][j - 1] + same;
            if j >= 2 && !a[i - 1].is_ascii() && b[j - 1].is_ascii_alphanumeric() && b[j - 2].is_ascii_alphanumeric() {
                v = v.min(d[i - 1][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    Some(d[a.len()][b.len()]).filter(|&v| v < usize::MAX / 2)
}

/// Characters an OCR'd label may have wrong: one in a label of four to six, two in a longer
/// one (竞赛职业（工种） read as 葛村职业(工种)).
fn label_slack(label: &str) -> usize {
    match label.chars().count() {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    }
}

/// Equal, or (for OCR'd text) within the label's slack (see [`label_slack`]).
pub(crate) fn label_eq(label: &str, text: &str, fuzzy: bool) -> bool {
    label == text || fuzzy && label_distance(label, text).is_some_and(|d| d <= label_slack(label))
}

/// The label entry a text is: the exact one, else (OCR'd) the one nearest within its slack,
/// when no other is as near.
fn best_label<'a>(labels: &'a [(String, String)], text: &str, fuzzy: bool) -> Option<&'a (String, String)> {
    if let Some(l) = labels.iter().find(|(l, _)| l == text) {
        return Some(l);
    }
    if !fuzzy {
        return None;
    }
    let mut best: Option<(usize, &(String, String))> = None;
    let mut tie = false;
    for entry in labels {
        let Some(d) = label_distance(&entry.0, text).filter(|d| *d <= label_slack(&entry.0)) else { continue };
        match best {
            Some((bd, b)) if d == bd && b.1 != entry.1 => tie = true,
            Some((bd, _)) if d >= bd => {}
            _ => {
                best = Some((d, entry));
                tie = false;
            }
        }
    }
    best.filter(|_| !tie).map(|(_, e)| e)
}

/// Normalised characters of a text with the byte offset of each in the original.
fn norm_chars(text: &str) -> Vec<(usize, char)> {
    text.char_indices()
        .map(|(i, c)| (i, fold_width(c)))
        .filter(|(_, c)| !c.is_whitespace())
        .collect()
}

/// Matches labels inside a line's chunks and splits the line into label and value tokens.
pub(super) fn tokenize(p: &Pipeline, chunks: &[Chunk]) -> Vec<Token> {
    let labels = p.label_index();
    let max_label = labels.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0);
    let mut out = Vec::new();
    let mut i = 0;
    'chunks: while i < chunks.len() {
        // a label spread over several chunks (spaced-out characters), optionally with a colon
        let mut joined = String::new();
        let mut best: Option<(usize, &str)> = None;
        let mut fuzzy = false;
        for j in i..chunks.len() {
            fuzzy |= chunks[j].conf < 1.0;
            for c in chunks[j].text.chars().map(fold_width).map(|c| if fuzzy { ocr_fold(c) } else { c }).filter(|c| !c.is_whitespace()) {
                joined.push(c);
            }
            let bare = joined.trim_end_matches(is_colon);
            if bare.chars().count() > max_label {
                break;
            }
            let found = best_label(labels, bare, fuzzy);
            if let Some((_, key)) = found {
                best = Some((j, key.as_str()));
            }
        }
        if let Some((j, key)) = best {
            out.push(Token::Label { key: key.to_string(), x0: chunks[i].x0, x1: chunks[j].x1 });
            i = j + 1;
            continue 'chunks;
        }
        // an OCR'd run of labels with no colon (a table header read as one piece)
        if chunks[i].conf < 1.0 {
            if let Some(labels) = segment_labels(p, &chunks[i]) {
                out.extend(labels);
                i += 1;
                continue 'chunks;
            }
        }
        // `label：value` (possibly several) inside one chunk
        split_chunk(p, &chunks[i], &mut out);
        i += 1;
    }
    out
}

/// The field an OCR'd cell names, if its whole text is a label (tolerantly matched).
pub(crate) fn ocr_label(p: &Pipeline, text: &str) -> Option<String> {
    let t: String = text.chars().map(fold_width).map(ocr_fold).filter(|c| !c.is_whitespace()).collect();
    let t = t.trim_end_matches(is_colon);
    let labels = p.label_index();
    best_label(labels, t, true).map(|(_, k)| k.clone())
}

/// Display width of a character in ems (CJK full width, ASCII half).
fn em_width(c: char) -> f32 {
    if c.is_ascii() { 0.5 } else { 1.0 }
}

/// The x of each character's centre in a chunk, spreading the chunk's width by character width.
fn char_centres(chunk: &Chunk) -> Vec<f32> {
    let total: f32 = chunk.text.chars().map(em_width).sum::<f32>().max(0.5);
    let scale = (chunk.x1 - chunk.x0) / total;
    let mut x = chunk.x0;
    chunk
        .text
        .chars()
        .map(|c| {
            let w = em_width(c) * scale;
            x += w;
            x - w / 2.0
        })
        .collect()
}

/// A chunk that is nothing but labels (with OCR noise between them) → label tokens with
/// estimated x ranges; None if any part of it is not a label, or it is a single label.
fn segment_labels(p: &Pipeline, chunk: &Chunk) -> Option<Vec<Token>> {
    let chars: Vec<char> = chunk.text.chars().map(fold_width).map(ocr_fold).collect();
    let xs = char_centres(chunk);
    let noise = |c: char| c.is_whitespace() || "”“\"'|、，,.·`_-~".contains(c) || c == '‘' || c == '’';
    let mut out = Vec::new();
    let mut k = 0;
    'outer: while k < chars.len() {
        if noise(chars[k]) {
            k += 1;
            continue;
        }
        for (label, key) in p.label_index() {
            let n = label.chars().count();
            if k + n <= chars.len() && label_eq(label, &chars[k..k + n].iter().collect::<String>(), true) {
                let half = (xs.get(1).copied().unwrap_or(chunk.x1) - xs[0]).abs() / 2.0;
                let mut end = k + n;
                // a bracketed qualifier OCR could not read: 竞赛职业(LAP) for 竞赛职业（工种）
                if !label.contains('(') && chars.get(end) == Some(&'(') {
                    if let Some(close) = chars[end..].iter().take(8).position(|c| *c == ')') {
                        end += close + 1;
                    }
                }
                out.push(Token::Label { key: key.clone(), x0: xs[k] - half, x1: xs[end - 1] + half });
                k = end;
                continue 'outer;
            }
        }
        // 序号 (the row number column) is no field label but belongs to the header
        if chars[k..].starts_with(&['序', '号']) {
            let half = (xs.get(1).copied().unwrap_or(chunk.x1) - xs[0]).abs() / 2.0;
            out.push(Token::Value { text: "序号".into(), x0: xs[k] - half, x1: xs[k + 1] + half, conf: chunk.conf });
            k += 2;
            continue;
        }
        return None;
    }
    (out.len() >= 2 && out.iter().any(|t| matches!(t, Token::Label { .. }))).then_some(out)
}

/// Splits one chunk at every `label：` it contains (at its start or after whitespace).
fn split_chunk(p: &Pipeline, chunk: &Chunk, out: &mut Vec<Token>) {
    let text = &chunk.text;
    let fuzzy = chunk.conf < 1.0;
    let chars: Vec<(usize, char)> = norm_chars(text).into_iter().map(|(i, c)| (i, if fuzzy { ocr_fold(c) } else { c })).collect();
    let total = text.chars().count().max(1) as f32;
    let x_at = |byte: usize| -> f32 {
        let n = text[..byte].chars().count() as f32;
        chunk.x0 + (chunk.x1 - chunk.x0) * n / total
    };
    // (start byte, end byte after the colon, key)
    let mut found: Vec<(usize, usize, String)> = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        let at_start = k == 0
            || text[..chars[k].0].ends_with(char::is_whitespace)
            || is_colon(chars[k - 1].1)
            || matches!(chars[k - 1].1, '，' | ',' | '；' | ';');
        let mut matched = None;
        if at_start {
            for (label, key) in p.label_index() {
                let n = label.chars().count();
                if k + n < chars.len()
                    && is_colon(chars[k + n].1)
                    && label_eq(label, &chars[k..k + n].iter().map(|(_, c)| *c).collect::<String>(), fuzzy)
                {
                    matched = Some((n, key.clone()));
                    break;
                }
            }
        }
        if let Some((n, key)) = matched {
            let end = chars[k + n].0 + text[chars[k + n].0..].chars().next().unwrap().len_utf8();
            found.push((chars[k].0, end, key));
            k += n + 1;
        } else {
            k += 1;
        }
    }
    let mut pos = 0;
    for (start, end, key) in &found {
        push_value(out, &text[pos..*start], x_at(pos), x_at(*start), chunk.conf);
        out.push(Token::Label { key: key.clone(), x0: x_at(*start), x1: x_at(*end) });
        pos = *end;
    }
    push_value(out, &text[pos..], x_at(pos), chunk.x1, chunk.conf);
}

fn push_value(out: &mut Vec<Token>, text: &str, x0: f32, x1: f32, conf: f32) {
    // a colon OCR read apart from its label belongs to the label
    let t = text.trim().trim_start_matches(|c: char| is_colon(c) || (conf < 1.0 && ocr_fold(c) == ':')).trim();
    if !t.is_empty() {
        out.push(Token::Value { text: t.to_string(), x0, x1, conf });
    }
}

pub(super) fn is_section_heading(text: &str) -> bool {
    let t = text.trim_start();
    let mut chars = t.chars();
    let mut n = 0;
    for c in chars.by_ref() {
        if "一二三四五六七八九十".contains(c) {
            n += 1;
        } else {
            return n > 0 && matches!(c, '、' | '.' | '．');
        }
    }
    false
}

fn is_page_furniture(text: &str) -> bool {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (t.starts_with('第') && t.ends_with('页'))
        || t.chars().all(|c| c.is_ascii_digit() || c == '/' || c == '-')
        || t.starts_with("共") && t.ends_with('页')
}

/// The key of an item-table column whose header OCR could not read.
const UNREAD: &str = "?";

/// An item table: column keys with their x ranges, from the header line.
struct Columns {
    /// (key, "" for the 序号 column or UNREAD, x0, x1)
    cols: Vec<(String, f32, f32)>,
}

/// Whether a header cell is the row-number column's (序号): no field, but a column.
pub(super) fn is_seq(text: &str) -> bool {
    matches!(text.trim(), "序号" | "序 号" | "No." | "编号")
}

/// The columns of an item table's header line: (key, "" for 序号 or UNREAD, x0, x1), left to
/// right, when three or more are item fields.
pub(super) fn header_columns(tokens: &[Token]) -> Option<Vec<(String, f32, f32)>> {
    let mut cols = Vec::new();
    for t in tokens {
        match t {
            Token::Label { key, x0, x1 } if is_item_field(key) => cols.push((key.clone(), *x0, *x1)),
            Token::Value { text, x0, x1, .. } if is_seq(text) => {
                cols.push((String::new(), *x0, *x1))
            }
            // a header OCR could not read (参赛人数 as BEAM) is still a column: what sits
            // under it is no part of its neighbour's value
            Token::Value { text, x0, x1, conf } if *conf < 1.0 && text.chars().filter(|c| c.is_alphanumeric()).count() >= 2 => {
                cols.push((UNREAD.to_string(), *x0, *x1))
            }
            _ => {}
        }
    }
    let items = cols.iter().filter(|(k, _, _)| is_item_field(k)).count();
    if items < 3 {
        return None;
    }
    cols.sort_by(|a, b| a.1.total_cmp(&b.1));
    Some(cols)
}

impl Columns {
    fn from_header(tokens: &[Token]) -> Option<Columns> {
        header_columns(tokens).map(|cols| Columns { cols })
    }

    /// The column whose span (extended to the midpoints between header centres) holds x.
    fn column_at(&self, x0: f32, x1: f32) -> usize {
        let centre = (x0 + x1) / 2.0;
        let centres: Vec<f32> = self.cols.iter().map(|(_, a, b)| (a + b) / 2.0).collect();
        // a value left-aligned in a wide cell starts near the header's left edge: use the
        // chunk's left edge against the boundaries between header centres, unless the chunk
        // is centred under a header
        let mut best = 0;
        let mut best_d = f32::MAX;
        for (i, (_, a, b)) in self.cols.iter().enumerate() {
            let d = if centre >= *a && centre <= *b { 0.0 } else { (centre - centres[i]).abs() };
            if d < best_d {
                best_d = d;
                best = i;
            }
        }
        if best_d > 0.0 {
            // fall back to the boundary rule on the left edge
            for i in (0..self.cols.len()).rev() {
                let left_bound = if i == 0 { f32::MIN } else { (centres[i - 1] + centres[i]) / 2.0 };
                if x0 + 0.5 >= left_bound.min(self.cols[i].1) {
                    return i;
                }
            }
        }
        best
    }
}

/// Extracts the declaration fields and items from a document's lines.
pub fn extract_form(p: &Pipeline, file: &str, method: Method, lines: &[Line]) -> Result<Extracted, NotAForm> {
    // item tables without rulings, as ruled rows
    let lines = &super::stream::rebuild(p, lines)[..];
    let mut header: BTreeMap<String, RawValue> = BTreeMap::new();
    let mut rows: Vec<BTreeMap<String, RawValue>> = Vec::new();
    let mut title: Option<String> = None;
    let mut labels_found = 0;
    let mut table: Option<Columns> = None;
    let mut last_row_y: Option<f32> = None;
    let mut last_row_ruled = false;
    // index of a header label whose value cell was empty on its own line: maybe below
    let mut pending_below: Vec<(String, f32, f32)> = Vec::new();
    // items are written as blocks of label/value pairs, not as a table
    let mut block_items = false;

    for (li, line) in lines.iter().enumerate() {
        let text = line.text();
        if title.is_none() && li < 12 && text.contains("申报表") {
            title = Some(text.chars().filter(|c| !c.is_whitespace()).collect());
            continue;
        }
        if is_page_furniture(&text) {
            continue;
        }
        let tokens = tokenize(p, &line.chunks);
        let has_header_label = tokens
            .iter()
            .any(|t| matches!(t, Token::Label { key, .. } if !is_item_field(key)));

        // the item table
        if let Some(cols) = &table {
            // rows of cells (a ruled table, or an unruled one rebuilt) do not go on in a line
            // that is none
            if is_section_heading(&text) || has_header_label || last_row_ruled && !line.ruled {
                table = None;
            } else if Columns::from_header(&tokens).is_some() {
                continue; // the header repeated on a new page
            } else {
                let mut cells: Vec<Option<String>> = vec![None; cols.cols.len()];
                let mut boxes: Vec<Option<[f32; 4]>> = vec![None; cols.cols.len()];
                let mut conf = 1.0f32;
                for c in &line.chunks {
                    // OCR'd specks and shadows read as letters and signs (`Bae`, `%`, `eta`):
                    // every item cell holds Chinese or digits
                    if c.conf < 1.0 && !c.text.chars().any(|ch| ch.is_ascii_digit() || !ch.is_ascii() && ch.is_alphabetic()) {
                        continue;
                    }
                    conf = conf.min(c.conf);
                    let (first, last) = (cols.column_at(c.x0, c.x0 + 1.0), cols.column_at(c.x1 - 1.0, c.x1));
                    // (a ruled row's chunk is one cell)
                    if c.conf < 1.0 && first != last && !line.ruled {
                        // OCR ran two cells together: cut by where each character sits
                        let mut parts: Vec<(usize, String)> = Vec::new();
                        for (ch, x) in c.text.chars().zip(char_centres(c)) {
                            let col = cols.column_at(x - 0.5, x + 0.5);
                            match parts.last_mut() {
                                Some((pc, t)) if *pc == col => t.push(ch),
                                _ => parts.push((col, ch.to_string())),
                            }
                        }
                        for (col, t) in parts {
                            let t = t.trim_matches(|ch: char| ch.is_whitespace() || "，,、”“|".contains(ch));
                            if !t.is_empty() {
                                let cell = cells[col].get_or_insert_with(String::new);
                                cell.push_str(t);
                                boxes[col] = Some(union(boxes[col], [c.x0, line.top, c.x1, line.y]));
                            }
                        }
                        continue;
                    }
                    let i = cols.column_at(c.x0, c.x1);
                    boxes[i] = Some(union(boxes[i], [c.x0, line.top, c.x1, line.y]));
                    let cell = cells[i].get_or_insert_with(String::new);
                    if !cell.is_empty() {
                        cell.push(' ');
                    }
                    cell.push_str(c.text.trim());
                }
                let first_key_col = cols.cols.iter().position(|(k, _, _)| is_item_field(k)).unwrap_or(0);
                let seq_col = cols.cols.iter().position(|(k, _, _)| k.is_empty());
                let starts_row = match seq_col {
                    Some(s) => cells[s].as_deref().is_some_and(|t| t.trim().chars().all(|c| c.is_ascii_digit())),
                    None => cells[first_key_col].is_some(),
                } || rows.is_empty()
                    || line.ruled;
                // OCR'd text far below the last row is not a wrapped cell (a misread heading)
                let ocr = line.chunks.iter().any(|c| c.conf < 1.0);
                if !starts_row && ocr && last_row_y.is_some_and(|y| line.y - y > 1.8 * line.size) {
                    table = None;
                    continue;
                }
                last_row_y = Some(line.y);
                last_row_ruled = line.ruled;
                if starts_row {
                    rows.push(BTreeMap::new());
                }
                let row = rows.last_mut().unwrap();
                for (i, cell) in cells.into_iter().enumerate() {
                    let (key, _, _) = &cols.cols[i];
                    let Some(cell) = cell else { continue };
                    if !is_item_field(key) {
                        continue;
                    }
                    row.entry(key.clone())
                        .and_modify(|v: &mut RawValue| {
                            // a wrapped cell continues on the next line
                            v.text.push_str(&cell);
                            v.conf = v.conf.min(conf);
                            // the box grows by the wrapped line right under it, not by text
                            // that strayed in from far below
                            if let (Some(b), Some(vb)) = (boxes[i], v.bbox) {
                                if b[1] - vb[3] < 1.5 * (b[3] - b[1]).max(1.0) {
                                    v.bbox = Some(union(v.bbox, b));
                                }
                            }
                        })
                        .or_insert(RawValue { text: cell, page: line.page, conf, bbox: boxes[i] });
                }
                continue;
            }
        }
        if let Some(cols) = Columns::from_header(&tokens) {
            labels_found += cols.cols.len();
            table = Some(cols);
            last_row_ruled = false;
            pending_below.clear();
            continue;
        }

        // a value on this line that sits under a label of the previous line
        // (the next row of a ruled table is below, however tall its wrapped cells make it)
        let below_ok = li > 0
            && lines[li - 1].page == line.page
            && (line.y - lines[li - 1].y <= 2.5 * line.size.max(lines[li - 1].size) || line.ruled && lines[li - 1].ruled)
            && !is_section_heading(&text)
            // a sentence (本单位承诺以上信息真实有效。) is no field's value, also with a speck of
            // a seal read after it
            && !line.chunks.iter().any(|c| c.text.trim_end().ends_with('。'));
        if below_ok && !pending_below.is_empty() && !tokens.iter().any(|t| matches!(t, Token::Label { .. })) {
            for (key, lx0, lx1) in std::mem::take(&mut pending_below) {
                // a ruled row's cells are exact: the cell under the label's cell
                let under: Vec<&Chunk> = line
                    .chunks
                    .iter()
                    .filter(|c| if line.ruled && lines[li - 1].ruled {
                        let mid = (c.x0 + c.x1) / 2.0;
                        mid > lx0 && mid < lx1 || (lx0 + lx1) / 2.0 > c.x0 && (lx0 + lx1) / 2.0 < c.x1
                    } else {
                        c.x0 < lx1 + 40.0 && c.x1 > lx0 - 4.0
                    })
                    .collect();
                if let Some(first) = under.first() {
                    header.entry(key).or_insert(RawValue {
                        text: under.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" "),
                        page: line.page,
                        conf: first.conf,
                        bbox: Some([first.x0, line.top, under.iter().map(|c| c.x1).fold(first.x1, f32::max), line.y]),
                    });
                }
            }
            continue;
        }
        pending_below.clear();

        // header fields: each label takes the value tokens up to the next label (a row of
        // nothing but labels has its values in the row below)
        let only_labels = tokens.iter().all(|t| matches!(t, Token::Label { .. }));
        let mut k = 0;
        while k < tokens.len() {
            if let Token::Label { key, x0, x1 } = &tokens[k] {
                labels_found += 1;
                let mut parts: Vec<&str> = Vec::new();
                let mut conf = 1.0f32;
                let mut bbox: Option<[f32; 4]> = None;
                let mut j = k + 1;
                while j < tokens.len() {
                    match &tokens[j] {
                        Token::Value { text, conf: c, x0: v0, x1: v1 } => {
                            parts.push(text);
                            conf = conf.min(*c);
                            bbox = Some(union(bbox, [*v0, line.top, *v1, line.y]));
                        }
                        Token::Label { .. } => break,
                    }
                    j += 1;
                }
                if parts.is_empty() {
                    if j >= tokens.len() || only_labels {
                        pending_below.push((key.clone(), *x0, *x1));
                    }
                } else if is_item_field(key) {
                    // an item written as a block of its own (竞赛职业（工种）：…, 职业编码：… per
                    // item): a field the current block already has starts the next item
                    let raw = RawValue { text: parts.join(" "), page: line.page, conf, bbox };
                    match rows.last_mut() {
                        Some(row) if block_items && !row.contains_key(key) => {
                            row.insert(key.clone(), raw);
                        }
                        _ => {
                            rows.push(BTreeMap::from([(key.clone(), raw)]));
                            block_items = true;
                        }
                    }
                } else if !header.contains_key(key) {
                    header.insert(key.clone(), RawValue { text: parts.join(" "), page: line.page, conf, bbox });
                }
                k = j;
            } else {
                k += 1;
            }
        }
    }

    if title.is_none() && labels_found < 4 {
        return Err(NotAForm { labels_found });
    }

    let mut out = Extracted {
        file: file.to_string(),
        method,
        fields: BTreeMap::new(),
        items: Vec::new(),
        legacy: false,
        year: None,
        findings: Vec::new(),
        seals: Vec::new(),
        signatures: Vec::new(),
    };
    if let Some(t) = &title {
        out.year = t
            .find('年')
            .and_then(|i| t[..i].chars().rev().take(4).collect::<String>().chars().rev().collect::<String>().parse().ok());
        // a year after the call's or before the platform's is a misread digit (OCR: 2024 → 2624)
        out.year = out.year.filter(|y| (2010..=p.meta.year).contains(y));
        out.legacy = match out.year {
            Some(y) => y != p.meta.year,
            None => !p.meta.titles.iter().any(|known| t.contains(known.as_str())),
        };
    }
    // a paper-era title without a year: the year the event name or the filing date gives
    // (渝北区2020年物流职业技能竞赛), when it is a year such a form can have
    if out.legacy && out.year.is_none() {
        // the four-digit runs of the event name, then of the filing date
        let runs: Vec<&str> = ["event_name", "fill_date"]
            .iter()
            .filter_map(|k| header.get(*k))
            .flat_map(|raw| raw.text.split(|c: char| !c.is_ascii_digit()).filter(|run| run.len() == 4))
            .collect();
        let era = 2010..p.meta.year;
        out.year = runs
            .iter()
            .filter_map(|run| run.parse::<i32>().ok())
            .find(|y| era.contains(y))
            // else an OCR'd year one digit from exactly one year of the paper era (2620 → 2020)
            .or_else(|| {
                if method != Method::Ocr {
                    return None;
                }
                let mut near: Vec<i32> = runs
                    .iter()
                    .flat_map(|run| era.clone().filter(move |y| y.to_string().chars().zip(run.chars()).filter(|(a, b)| a != b).count() == 1))
                    .collect();
                near.sort_unstable();
                near.dedup();
                (near.len() == 1).then(|| near[0])
            });
    }
    // the year OCR'd years are held to: the form's, or the call's for a form of this call
    let form_year = out.year.or((title.is_some() && !out.legacy).then_some(p.meta.year));
    let name: Name = file.into();
    for (key, raw) in header {
        if is_item_field(&key) {
            continue;
        }
        if let Some(f) = make_field(p, &name, method, &key, &raw, None, form_year, &mut out.findings) {
            out.fields.insert(static_key(&key).expect("label keys are fields"), f);
        }
    }
    for (i, mut row) in rows.into_iter().enumerate() {
        let mut item = Item::default();
        // one cell holding the whole period (a 竞赛时间 column on older forms) fills both dates
        if !row.contains_key("end_date") {
            if let Some(raw) = row.get("start_date").cloned() {
                if let Some((start, end)) = super::normalize::parse_date_range(&raw.text) {
                    row.insert("start_date".into(), RawValue { text: start.to_string(), ..raw.clone() });
                    row.insert("end_date".into(), RawValue { text: end.to_string(), ..raw });
                } else if let Some([start, end]) = period_with_year_as_read(&raw.text, method, form_year) {
                    // a period whose year OCR got wrong (2919.08.15-08.24): split, the year
                    // left as read for the field to put right and say so
                    row.insert("start_date".into(), RawValue { text: start, ..raw.clone() });
                    row.insert("end_date".into(), RawValue { text: end, ..raw });
                } else if out.legacy && is_one_date(&raw.text, method, form_year) {
                    // a paper-era form's 竞赛时间 with one day (its year perhaps misread, put
                    // right by the field): a one-day competition (2024 forms have their own
                    // end-date column, and a missing one is a finding)
                    row.insert("end_date".into(), raw);
                }
            }
        }
        for (key, raw) in row {
            if let Some(f) = make_field(p, &name, method, &key, &raw, Some(i), form_year, &mut out.findings) {
                item.fields.insert(static_key(&key).expect("label keys are fields"), f);
            }
        }
        if !item.fields.is_empty() {
            out.items.push(item);
        }
    }
    Ok(out)
}

/// Whether a cell holds one date: as read, or once an OCR'd year is put right (`fix_year`;
/// the field then corrects it and says so).
fn is_one_date(text: &str, method: Method, year: Option<i32>) -> bool {
    let fixed = year.filter(|_| method == Method::Ocr).and_then(|y| fix_year(text, y));
    let date = |t: &str| normalize(Kind::Date, t).is_ok_and(|v| v.is_some());
    date(text) || fixed.is_some_and(|t| date(&t))
}

/// An OCR'd period that is a range only once its year is put right (`fix_year`): its two days
/// as `YYYY-MM-DD` with the year as read, so the fields correct it and record the correction.
fn period_with_year_as_read(text: &str, method: Method, year: Option<i32>) -> Option<[String; 2]> {
    use chrono::Datelike;
    let y = year.filter(|_| method == Method::Ocr)?;
    let (start, end) = super::normalize::parse_date_range(&fix_year(text, y)?)?;
    let chars: Vec<char> = text.chars().collect();
    let read: String = chars.windows(4).find(|w| w.iter().all(char::is_ascii_digit))?.iter().collect();
    let as_read = |d: chrono::NaiveDate| {
        if d.year() == start.year() {
            format!("{read}-{:02}-{:02}", d.month(), d.day())
        } else {
            d.to_string()
        }
    };
    Some([as_read(start), as_read(end)])
}

/// An OCR'd text with its years put right: a four-digit run that is no year a form of `year`
/// can mean (more than one year away) but one digit from it — 2624 or 2924 on a 2024 form,
/// 2028 on a 2020 one. None when nothing changes.
fn fix_year(text: &str, year: i32) -> Option<String> {
    let want = year.to_string();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut run = String::new();
    let mut flush = |run: &mut String, out: &mut String| {
        let differ = run.chars().zip(want.chars()).filter(|(a, b)| a != b).count();
        let far = run.parse::<i32>().is_ok_and(|n| (n - year).abs() > 1);
        if run.len() == 4 && differ == 1 && far {
            out.push_str(&want);
            changed = true;
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    changed.then_some(out)
}

/// Normalises a raw reading into a field; an unreadable value becomes a `required` finding.
fn make_field(
    p: &Pipeline,
    file: &Name,
    method: Method,
    key: &str,
    raw: &RawValue,
    item: Option<usize>,
    year: Option<i32>,
    findings: &mut Vec<Finding>,
) -> Option<Field> {
    let kind = field_kind(key)?;
    // an OCR'd date or event name with a year this form cannot mean, one digit from its year
    let fixed_year = match (method, year) {
        (Method::Ocr, Some(y)) if kind == Kind::Date || key == "event_name" => fix_year(&raw.text, y),
        _ => None,
    };
    let read = raw.text.trim().to_string();
    let fixed;
    let raw = match &fixed_year {
        Some(t) => {
            fixed = RawValue { text: t.clone(), ..raw.clone() };
            &fixed
        }
        None => raw,
    };
    let prov = Provenance {
        file: file.clone(),
        page: Some(raw.page),
        sheet: None,
        row: None,
        method,
        confidence: raw.conf,
        raw: None,
        corrections: Vec::new(),
        bbox: raw.bbox,
        crop_png: Vec::new(),
    };
    match normalize(kind, &raw.text) {
        Ok(Some(value)) => {
            let raw_differs = match &value {
                Value::Text(t) => t != raw.text.trim(),
                _ => true,
            };
            let prov = Provenance { raw: raw_differs.then(|| raw.text.trim().to_string()), ..prov };
            let mut field = Field { value, prov };
            if let Some(to) = fixed_year {
                field.prov.corrections.push(format!("“{read}”→“{}”（按申报表年份校正）", to.trim()));
                field.prov.raw = Some(read);
                field.prov.confidence = field.prov.confidence.min(0.6);
            }
            if method == Method::Ocr {
                super::verify::verify(p, key, &mut field);
            } else if key == "declaration_id" {
                // a stray comma or a full-width dash typed into the form
                super::verify::verify_id(&mut field, &p.declaration_id, p.meta.year);
            }
            Some(field)
        }
        Ok(None) => None,
        Err(e) => {
            let mut f = Finding::new(
                "required",
                p.rules.required.severity,
                format!(
                    "{}“{}”无法识别为{}",
                    crate::model::field_label(key),
                    raw.text.trim(),
                    e.kind_zh()
                ),
            );
            f.field = Some(key.to_string());
            f.item = item;
            f.file = Some(file.to_string());
            f.page = Some(raw.page);
            findings.push(f);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn pipeline() -> Pipeline {
        Pipeline::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/bayu-2024.toml"))).unwrap()
    }

    /// A line as OCR gives it (confidence 0.9).
    fn ocr(y: f32, chunks: &[(&str, f32)]) -> Line {
        let mut l = line(y, chunks);
        l.chunks.iter_mut().for_each(|c| c.conf = 0.9);
        l
    }

    fn line(y: f32, chunks: &[(&str, f32)]) -> Line {
        Line {
            page: 1,
            y,
            top: y - 10.0,
            size: 10.0,
            ruled: false,
            chunks: chunks
                .iter()
                .map(|(t, x)| Chunk { text: t.to_string(), x0: *x, x1: *x + 10.0 * t.chars().count() as f32, conf: 1.0 })
                .collect(),
        }
    }

    fn text(e: &Extracted, key: &str) -> Option<String> {
        e.fields.get(key).map(|f| f.value.to_string())
    }

    #[test]
    fn grid_colon_and_spaced_labels() {
        let p = pipeline();
        let lines = vec![
            line(20.0, &[("2024年“巴渝工匠”杯职业技能竞赛申报表", 100.0)]),
            line(40.0, &[("申报编号", 50.0), ("ＢＹ2024－0012", 150.0), ("赛事类别", 300.0), ("区县级竞赛", 400.0)]),
            line(60.0, &[("申报单位名称：重庆市某某职业技术学院", 50.0)]),
            line(80.0, &[("联", 50.0), ("系", 70.0), ("人", 90.0), ("张三", 150.0), ("联系电话:", 300.0), ("138-1234-5678", 400.0)]),
            line(100.0, &[("统一社会信用代码：91500103MA5U000000  单位类型：职业院校", 50.0)]),
            line(120.0, &[("竞赛场地", 50.0), ("经费预算（万元）", 300.0), ("12.5", 480.0)]),
            line(140.0, &[("经费来源", 50.0)]),
            line(160.0, &[("四、申报单位（盖章）", 50.0)]),
        ];
        let e = extract_form(&p, "a.pdf", Method::Text, &lines).unwrap();
        assert_eq!(text(&e, "declaration_id").as_deref(), Some("BY2024-0012"));
        assert_eq!(text(&e, "category").as_deref(), Some("区县级竞赛"));
        assert_eq!(text(&e, "unit_name").as_deref(), Some("重庆市某某职业技术学院"));
        assert_eq!(text(&e, "contact_name").as_deref(), Some("张三"));
        assert_eq!(text(&e, "contact_phone").as_deref(), Some("13812345678"));
        assert_eq!(text(&e, "credit_code").as_deref(), Some("91500103MA5U000000"));
        assert_eq!(text(&e, "unit_type").as_deref(), Some("职业院校"));
        assert_eq!(text(&e, "venue"), None, "an empty cell is null, not the next label");
        assert_eq!(text(&e, "funding_source"), None, "an empty last cell is null, not the next heading");
        assert_eq!(e.fields["budget_wan"].value, Value::Number(12.5));
        assert_eq!(e.year, Some(2024));
        assert!(!e.legacy);
    }

    #[test]
    fn item_table_with_wrapped_cell() {
        let p = pipeline();
        let lines = vec![
            line(20.0, &[("2024年“巴渝工匠”杯职业技能竞赛申报表", 100.0)]),
            line(40.0, &[("序号", 20.0), ("竞赛职业（工种）", 60.0), ("职业编码", 200.0), ("承办单位", 280.0), ("承办地", 420.0), ("计划结束日期", 480.0)]),
            line(60.0, &[("1", 25.0), ("人工智能训练师", 60.0), ("4－04－05", 200.0), ("重庆某某科技有限", 280.0), ("渝中区", 420.0), ("2024年10月9日", 480.0)]),
            line(72.0, &[("公司", 280.0)]),
            line(90.0, &[("2", 25.0), ("焊工", 60.0), ("6-18-02", 200.0), ("重庆某某学院", 280.0), ("江北区", 420.0), ("2024/11/20", 480.0)]),
            line(110.0, &[("三、办赛条件", 20.0)]),
            line(130.0, &[("管理人员（人）", 20.0), ("5", 200.0)]),
        ];
        let e = extract_form(&p, "a.pdf", Method::Text, &lines).unwrap();
        assert_eq!(e.items.len(), 2);
        assert_eq!(e.items[0].text("undertaker"), Some("重庆某某科技有限公司"));
        assert_eq!(e.items[0].text("occupation_code"), Some("4-04-05"));
        assert_eq!(e.items[1].get("end_date").unwrap().value.to_string(), "2024-11-20");
        assert_eq!(e.fields["managers"].value, Value::Int(5));
    }

    /// The signature block's heading names the unit's label, and the commitment sentence
    /// under it is no value of it, also with a speck of the seal read after it.
    #[test]
    fn a_sentence_under_a_label_is_not_its_value() {
        let p = pipeline();
        let lines = vec![
            ocr(20.0, &[("2024年“巴渝工匠”杯职业技能竞赛申报表", 100.0)]),
            ocr(40.0, &[("赛事名称：重庆市第一届职业技能大赛", 50.0)]),
            ocr(60.0, &[("申报单位", 50.0)]),
            ocr(80.0, &[("本单位承诺以上信息真实有效。", 50.0), ("7", 400.0)]),
        ];
        let e = extract_form(&p, "a.png", Method::Ocr, &lines).unwrap();
        assert_eq!(text(&e, "unit_name"), None);
        // a value under its label is taken
        let mut lines = lines;
        lines[3] = ocr(80.0, &[("重庆市城市管理局", 50.0)]);
        let e = extract_form(&p, "a.png", Method::Ocr, &lines).unwrap();
        assert_eq!(text(&e, "unit_name").as_deref(), Some("重庆市城市管理局"));
    }

    #[test]
    fn ocr_labels_are_matched_tolerantly() {
        let p = pipeline();
        let lines = vec![
            ocr(20.0, &[("2024年“巴渝工匠”杯职业技能竞赛申报表", 100.0)]),
            ocr(40.0, &[("统一社会信用伐码；91500103MA5U000000", 50.0)]),
            ocr(60.0, &[("经费预算【万元】", 50.0), ("12", 300.0)]),
        ];
        let e = extract_form(&p, "a.png", Method::Ocr, &lines).unwrap();
        assert_eq!(text(&e, "credit_code").as_deref(), Some("91500103MA5U000000"));
        assert_eq!(e.fields["budget_wan"].value, Value::Int(12).to_string().parse::<f64>().map(Value::Number).unwrap());
        // a text layer is matched exactly: one wrong character is not a label
        let lines = vec![line(20.0, &[("申报表", 1.0)]), line(40.0, &[("统一社会信用伐码：9150", 50.0)])];
        assert!(extract_form(&p, "a.pdf", Method::Text, &lines).unwrap().fields.get("credit_code").is_none());
    }

    /// A paper-era title without a year: the year comes from the event name, also when OCR got
    /// one digit of it wrong and only one paper-era year is that near.
    #[test]
    fn a_legacy_forms_year_is_read_through_one_wrong_digit() {
        let p = pipeline();
        let lines = vec![ocr(20.0, &[("重庆市职业技能竞赛申报表", 100.0)]), ocr(40.0, &[("竞赛名称：云阳县2620年制造业职业技能竞赛", 50.0)])];
        let e = extract_form(&p, "a.png", Method::Ocr, &lines).unwrap();
        assert!(e.legacy);
        assert_eq!(e.year, Some(2020));
        assert_eq!(text(&e, "event_name").as_deref(), Some("云阳县2020年制造业职业技能竞赛"));
        assert_eq!(e.fields["event_name"].prov.corrections.len(), 1);
        // a text layer says what it says
        let lines = vec![line(20.0, &[("重庆市职业技能竞赛申报表", 100.0)]), line(40.0, &[("竞赛名称：云阳县2620年制造业职业技能竞赛", 50.0)])];
        assert_eq!(extract_form(&p, "a.pdf", Method::Text, &lines).unwrap().year, None);
    }

    #[test]
    fn ocr_years_one_digit_off_the_forms_are_put_right() {
        assert_eq!(fix_year("2624年7月1日", 2024).as_deref(), Some("2024年7月1日"));
        assert_eq!(fix_year("2028-03-22", 2020).as_deref(), Some("2020-03-22"));
        // a year a form can mean is a finding for the rules, never corrected
        assert_eq!(fix_year("2025-01-10", 2024), None);
        assert_eq!(fix_year("2023-12-30", 2024), None);
        // two digits off: not a misreading of this year
        assert_eq!(fix_year("2131-01-10", 2024), None);
        assert_eq!(fix_year("7月1日", 2024), None);
        assert_eq!(fix_year("渝北区2624年建筑行业职业技能竞赛", 2024).as_deref(), Some("渝北区2024年建筑行业职业技能竞赛"));
        assert_eq!(fix_year("第12024届", 2024), None);
        // a period cell whose year is off splits into its two days, the year left as read
        assert_eq!(period_with_year_as_read("2919.08.15-08.24", Method::Ocr, Some(2019)), Some(["2919-08-15".to_string(), "2919-08-24".to_string()]));
        assert_eq!(period_with_year_as_read("2919.08.15-08.24", Method::Text, Some(2019)), None, "a text layer is never corrected");
        assert_eq!(period_with_year_as_read("2019.08.15-08.24", Method::Ocr, Some(2019)), None, "nothing to put right");
        // a one-day period whose year OCR got wrong is still one date; a text layer's is not
        assert!(is_one_date("2619年6月5日", Method::Ocr, Some(2019)));
        assert!(!is_one_date("2619年6月5日", Method::Text, Some(2019)));
        assert!(is_one_date("2019年6月5日", Method::Text, None));
    }

    #[test]
    fn ocr_labels_with_two_letters_for_one_character_or_two_wrong_are_labels() {
        assert_eq!(label_distance("举办地点", "举办地AS"), Some(1));
        assert!(label_eq("举办地点", "举办地AS", true));
        assert!(!label_eq("举办地点", "举办地AS", false), "a text layer is matched exactly");
        // seven characters or more: two may be wrong
        assert!(label_eq("竞赛职业（工种）", "葛村职业（工种）", true));
        assert!(!label_eq("承办地", "承办他", true), "a short label must be read right");
        // the nearest label wins; a tie between two fields is none
        let p = pipeline();
        assert_eq!(best_label(p.label_index(), "计划结東日期", true).map(|(_, k)| k.as_str()), Some("end_date"));
    }

    #[test]
    fn not_a_form() {
        let p = pipeline();
        let lines = vec![line(20.0, &[("Firefox", 10.0)])];
        assert!(extract_form(&p, "a.pdf", Method::Text, &lines).is_err());
    }

    #[test]
    fn unreadable_value_is_null_with_a_finding() {
        let p = pipeline();
        let lines = vec![
            line(20.0, &[("2024年“巴渝工匠”杯职业技能竞赛申报表", 100.0)]),
            line(40.0, &[("填报日期：2024年13月40日", 50.0)]),
        ];
        let e = extract_form(&p, "a.pdf", Method::Text, &lines).unwrap();
        assert!(e.fields.get("fill_date").is_none());
        assert_eq!(e.findings.len(), 1);
        assert_eq!(e.findings[0].field.as_deref(), Some("fill_date"));
    }
}
