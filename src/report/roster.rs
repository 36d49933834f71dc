//! The consolidated roster of competition items: `roster.xlsx` (sheet 通过名单: items of
//! passed declarations; sheet 待复核: items of declarations to review, with 复核事项) and
//! `roster.csv` (the passed items).
//!
//! Each is written in one pass over the store, row by row. The workbook's sheets are
//! rust_xlsxwriter constant-memory worksheets: rows must come in increasing order and are
//! flushed to a temporary file (in the system temp folder) as they are written; strings
//! are stored inline in the cells rather than in a shared-string table.

use std::io::{self, Write};

use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError};

use crate::model::{Declaration, Item, Severity, Value, Verdict};
use crate::store::Store;

use super::csv::excel_writer;
use super::{csv_value, messages};

/// Where a roster column takes its value from.
#[derive(Clone, Copy)]
enum Src {
    /// 序号: 1-based row number within the sheet
    Seq,
    Header(&'static str),
    Item(&'static str),
}

/// (header, source, column width in Excel character units)
const COLUMNS: &[(&str, Src, f64)] = &[
    ("序号", Src::Seq, 6.0),
    ("申报编号", Src::Header("declaration_id"), 14.0),
    ("赛事类别", Src::Header("category"), 22.0),
    ("赛事名称", Src::Header("event_name"), 32.0),
    ("申报单位", Src::Header("unit_name"), 32.0),
    ("统一社会信用代码", Src::Header("credit_code"), 22.0),
    ("主管部门", Src::Header("supervisor"), 20.0),
    ("竞赛职业（工种）", Src::Item("occupation"), 22.0),
    ("职业编码", Src::Item("occupation_code"), 11.0),
    ("承办单位", Src::Item("undertaker"), 30.0),
    ("承办地", Src::Item("host_location"), 12.0),
    ("计划开始日期", Src::Item("start_date"), 13.0),
    ("计划结束日期", Src::Item("end_date"), 13.0),
    ("预计参赛人数", Src::Item("participants"), 12.0),
    ("联系人", Src::Header("contact_name"), 10.0),
    ("联系电话", Src::Header("contact_phone"), 15.0),
];

const REVIEW_COLUMN: (&str, f64) = ("复核事项", 60.0);

/// Excel's limit on the length of a cell's text.
const MAX_CELL_CHARS: usize = 32_000;

/// The rows a declaration contributes to its sheet: one per item. A declaration without
/// items still gets one row (with the item columns empty) so it cannot silently go missing
/// from the roster.
fn rows_of(d: &Declaration) -> impl Iterator<Item = Option<&Item>> {
    let none = d.items.is_empty().then_some(None);
    none.into_iter().chain(d.items.iter().map(Some))
}

fn cell<'a>(d: &'a Declaration, item: Option<&'a Item>, src: Src) -> Option<&'a Value> {
    match src {
        Src::Seq => None,
        Src::Header(k) => d.fields.get(k).map(|f| &f.value),
        Src::Item(k) => item.and_then(|i| i.fields.get(k)).map(|f| &f.value),
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

struct Formats {
    header: Format,
    date: Format,
    datetime: Format,
    text: Format,
}

/// Writes one value. Text always goes in as a string (never a formula), so a value like
/// `=HYPERLINK(…)` stays literal text.
fn write_value(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    v: &Value,
    fmt: &Formats,
) -> Result<(), XlsxError> {
    match v {
        Value::Text(s) => {
            ws.write_string_with_format(row, col, truncate(s), &fmt.text)?;
        }
        Value::Int(i) => {
            ws.write_number(row, col, *i as f64)?;
        }
        Value::Number(n) if n.is_finite() => {
            ws.write_number(row, col, *n)?;
        }
        Value::Number(n) => {
            ws.write_string(row, col, n.to_string())?;
        }
        Value::Date(d) => {
            use chrono::Datelike;
            match ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8) {
                Ok(x) if (1900..=9999).contains(&d.year()) => {
                    ws.write_datetime_with_format(row, col, x, &fmt.date)?;
                }
                _ => {
                    ws.write_string(row, col, v.to_string())?;
                }
            }
        }
        Value::DateTime(t) => {
            use chrono::{Datelike, Timelike};
            let x = ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)
                .and_then(|x| x.and_hms(t.hour() as u16, t.minute() as u8, t.second()));
            match x {
                Ok(x) if (1900..=9999).contains(&t.year()) => {
                    ws.write_datetime_with_format(row, col, x, &fmt.datetime)?;
                }
                _ => {
                    ws.write_string(row, col, v.to_string())?;
                }
            }
        }
    }
    Ok(())
}

/// The sheet a verdict's items go to (index into `SHEETS`), if any.
fn sheet_of(v: Verdict) -> Option<usize> {
    match v {
        Verdict::Pass => Some(0),
        Verdict::Review => Some(1),
        Verdict::Return => None,
    }
}

/// (name, with the 复核事项 column) of the workbook's sheets, in order.
const SHEETS: [(&str, bool); 2] = [("通过名单", false), ("待复核", true)];

fn n_columns(with_review: bool) -> u16 {
    COLUMNS.len() as u16 + u16::from(with_review)
}

/// Names a sheet and writes its header row and column widths.
fn start_sheet(
    ws: &mut Worksheet,
    name: &str,
    with_review: bool,
    fmt: &Formats,
) -> Result<(), XlsxError> {
    ws.set_name(name)?;
    let mut headers: Vec<(&str, f64)> = COLUMNS.iter().map(|(h, _, w)| (*h, *w)).collect();
    if with_review {
        headers.push(REVIEW_COLUMN);
    }
    for (c, (h, w)) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &fmt.header)?;
        ws.set_column_width(c as u16, *w)?;
    }
    Ok(())
}

/// Writes one roster row (`row` ≥ 1; rows must come in increasing order, the sheet is in
/// constant-memory mode).
fn write_row(
    ws: &mut Worksheet,
    row: u32,
    d: &Declaration,
    item: Option<&Item>,
    with_review: bool,
    fmt: &Formats,
) -> Result<(), XlsxError> {
    for (c, (_, src, _)) in COLUMNS.iter().enumerate() {
        let col = c as u16;
        if let Src::Seq = src {
            ws.write_number(row, col, row as f64)?;
        } else if let Some(v) = cell(d, item, *src) {
            write_value(ws, row, col, v, fmt)?;
        }
    }
    if with_review {
        let mut notes = messages(d, Severity::Review);
        notes.extend(messages(d, Severity::Info));
        let text = notes.join("；");
        ws.write_string_with_format(row, COLUMNS.len() as u16, truncate(&text), &fmt.text)?;
    }
    Ok(())
}

/// Freezes the header and puts the autofilter over the header and the `last_row` rows
/// below it (set once the last row is known; it is sheet metadata, written at save).
fn finish_sheet(ws: &mut Worksheet, last_row: u32, with_review: bool) -> Result<(), XlsxError> {
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, last_row, n_columns(with_review) - 1)?;
    Ok(())
}

/// Builds the workbook in one pass over the store: both sheets are constant-memory
/// worksheets, each row is flushed to the sheet's temporary file as the next begins.
fn build_xlsx(store: &Store) -> Result<Workbook, XlsxError> {
    let fmt = Formats {
        header: Format::new()
            .set_bold()
            .set_background_color(0xDDEBF7)
            .set_align(FormatAlign::Center),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        // "@": the Text number format, so Excel keeps the cell text if it is edited
        text: Format::new().set_num_format("@"),
    };
    let mut wb = Workbook::new();
    for (name, with_review) in SHEETS {
        let ws = wb.add_worksheet_with_constant_memory()?;
        start_sheet(ws, name, with_review, &fmt)?;
    }
    // the last row written in each sheet (0: the header)
    let mut last = [0u32; SHEETS.len()];
    {
        let sheets = wb.worksheets_mut();
        for d in store.iter() {
            let Some(s) = sheet_of(d.verdict) else {
                continue;
            };
            let with_review = SHEETS[s].1;
            for item in rows_of(&d) {
                last[s] += 1;
                write_row(&mut sheets[s], last[s], &d, item, with_review, &fmt)?;
            }
        }
        for (s, (_, with_review)) in SHEETS.iter().enumerate() {
            finish_sheet(&mut sheets[s], last[s], *with_review)?;
        }
    }
    Ok(wb)
}

pub(crate) fn write_xlsx<W: Write + Send>(w: &mut W, store: &Store) -> io::Result<()> {
    let mut wb = build_xlsx(store).map_err(io::Error::other)?;
    wb.save_to_writer(w).map_err(io::Error::other)
}

/// `roster.csv`: the passed items, same columns as the 通过名单 sheet.
pub(crate) fn write_csv<W: Write>(w: &mut W, store: &Store) -> io::Result<()> {
    let mut out = excel_writer(w)?;
    out.write_record(COLUMNS.iter().map(|(h, _, _)| *h))?;
    let mut r = 0usize;
    for d in store.iter().filter(|d| d.verdict == Verdict::Pass) {
        for item in rows_of(&d) {
            r += 1;
            out.write_record(COLUMNS.iter().map(|(_, src, _)| match src {
                Src::Seq => r.to_string(),
                _ => csv_value(cell(&d, item, *src)),
            }))?;
        }
    }
    out.flush()
}
