//! The consolidated roster of competition items: `roster.xlsx` (sheet 通过名单: items of
//! passed declarations; sheet 待复核: items of declarations to review, with 复核事项) and
//! `roster.csv` (the passed items).

use std::io::{self, Write};

use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError};

use crate::model::{Declaration, Item, Severity, Value, Verdict};

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

/// The rows of a sheet: (declaration, item). A declaration without items still gets one
/// row (with the item columns empty) so it cannot silently go missing from the roster.
fn rows(decls: &[Declaration], verdict: Verdict) -> Vec<(&Declaration, Option<&Item>)> {
    let mut out = Vec::new();
    for d in decls.iter().filter(|d| d.verdict == verdict) {
        if d.items.is_empty() {
            out.push((d, None));
        } else {
            out.extend(d.items.iter().map(|i| (d, Some(i))));
        }
    }
    out
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

fn fill_sheet(
    ws: &mut Worksheet,
    name: &str,
    rows: &[(&Declaration, Option<&Item>)],
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
    for (r, (d, item)) in rows.iter().enumerate() {
        let row = r as u32 + 1;
        for (c, (_, src, _)) in COLUMNS.iter().enumerate() {
            let col = c as u16;
            if let Src::Seq = src {
                ws.write_number(row, col, row as f64)?;
            } else if let Some(v) = cell(d, *item, *src) {
                write_value(ws, row, col, v, fmt)?;
            }
        }
        if with_review {
            let mut notes = messages(d, Severity::Review);
            notes.extend(messages(d, Severity::Info));
            let text = notes.join("；");
            ws.write_string_with_format(row, COLUMNS.len() as u16, truncate(&text), &fmt.text)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows.len() as u32, headers.len() as u16 - 1)?;
    Ok(())
}

fn build_xlsx(decls: &[Declaration]) -> Result<Workbook, XlsxError> {
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
    fill_sheet(
        wb.add_worksheet(),
        "通过名单",
        &rows(decls, Verdict::Pass),
        false,
        &fmt,
    )?;
    fill_sheet(
        wb.add_worksheet(),
        "待复核",
        &rows(decls, Verdict::Review),
        true,
        &fmt,
    )?;
    Ok(wb)
}

pub(crate) fn write_xlsx<W: Write + Send>(w: &mut W, decls: &[Declaration]) -> io::Result<()> {
    let mut wb = build_xlsx(decls).map_err(io::Error::other)?;
    wb.save_to_writer(w).map_err(io::Error::other)
}

/// `roster.csv`: the passed items, same columns as the 通过名单 sheet.
pub(crate) fn write_csv<W: Write>(w: &mut W, decls: &[Declaration]) -> io::Result<()> {
    let mut out = excel_writer(w)?;
    out.write_record(COLUMNS.iter().map(|(h, _, _)| *h))?;
    for (r, (d, item)) in rows(decls, Verdict::Pass).iter().enumerate() {
        out.write_record(COLUMNS.iter().map(|(_, src, _)| match src {
            Src::Seq => (r + 1).to_string(),
            _ => csv_value(cell(d, *item, *src)),
        }))?;
    }
    out.flush()
}
