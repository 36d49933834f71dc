//! The platform export (申报汇总表): one row per competition item, declaration-level columns
//! repeated on every item row, in rotating formats (.xlsx, .xls, .ods, UTF-8 and GBK .csv).

use chrono::{NaiveDate, NaiveDateTime};
use rand::prelude::*;
use rand::rngs::StdRng;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, Workbook};

use super::data::{pick, weighted, Decl, SheetVal};
use super::fmt::{self, DateStyle};
use crate::config::Pipeline;
use crate::model::field_label;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Xlsx,
    Xls,
    Ods,
    CsvUtf8,
    CsvGbk,
}

impl SheetFormat {
    pub const ROTATION: [SheetFormat; 5] =
        [SheetFormat::Xlsx, SheetFormat::Xls, SheetFormat::Ods, SheetFormat::CsvUtf8, SheetFormat::CsvGbk];
    pub fn ext(self) -> &'static str {
        match self {
            SheetFormat::Xlsx => "xlsx",
            SheetFormat::Xls => "xls",
            SheetFormat::Ods => "ods",
            SheetFormat::CsvUtf8 | SheetFormat::CsvGbk => "csv",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SheetFormat::Xlsx => "xlsx",
            SheetFormat::Xls => "xls",
            SheetFormat::Ods => "ods",
            SheetFormat::CsvUtf8 => "csv-utf8",
            SheetFormat::CsvGbk => "csv-gbk",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CellV {
    Empty,
    Text(String),
    Int(i64),
    Num(f64),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

/// A sheet, ready for any writer.
#[derive(Debug, Clone)]
pub struct Table {
    pub sheet_name: String,
    pub title_rows: Vec<String>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<CellV>>,
    /// how dates are shown (number format, or text in csv / text-date xls)
    pub date_style: DateStyle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Seq,
    Status,
    Field(&'static str),
}

const BASE_ORDER: &[&str] = &[
    "declaration_id",
    "category",
    "event_name",
    "unit_name",
    "credit_code",
    "unit_type",
    "supervisor",
    "contact_name",
    "contact_phone",
    "occupation",
    "occupation_code",
    "undertaker",
    "host_location",
    "start_date",
    "end_date",
    "participants",
    "managers",
    "experts_judges",
    "budget_wan",
    "funding_source",
    "venue",
    "submitted_at",
    "account",
];

/// What was written, for truth.json.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SheetInfo {
    pub file: String,
    pub format: &'static str,
    pub sheet_name: String,
    pub title_rows: usize,
    /// 0-based index of the header row
    pub header_row: usize,
    pub rows: usize,
    pub columns: Vec<String>,
    pub date_cells: &'static str,
    pub declarations: Vec<String>,
}

pub struct SheetPlan {
    pub format: SheetFormat,
    pub file: String,
    table_style: TableStyle,
}

struct TableStyle {
    cols: Vec<(Col, String)>,
    title_rows: Vec<String>,
    sheet_name: String,
    date_style: DateStyle,
    phone_style: u8,
    serial_dates: bool,
    crlf: bool,
}

fn header_label(rng: &mut StdRng, p: &Pipeline, key: &str) -> String {
    if rng.random_bool(0.6) {
        return field_label(key).to_string();
    }
    let variants: Vec<&String> = p
        .labels
        .get(key)
        .map(|v| v.iter().filter(|l| l.as_str() != "组织机构代码").collect())
        .unwrap_or_default();
    if variants.is_empty() {
        field_label(key).to_string()
    } else {
        (*pick(rng, &variants)).clone()
    }
}

pub fn plan_sheet(rng: &mut StdRng, p: &Pipeline, format: SheetFormat, index: usize) -> SheetPlan {
    let mut keys: Vec<&'static str> = BASE_ORDER.to_vec();
    match rng.random_range(0..10) {
        0..=3 => {}
        4..=6 => {
            // item columns right after the id
            let item_keys: Vec<&str> = keys.iter().copied().filter(|k| crate::model::is_item_field(k)).collect();
            keys.retain(|k| !crate::model::is_item_field(k));
            for (i, k) in item_keys.into_iter().enumerate() {
                keys.insert(1 + i, k);
            }
        }
        _ => {
            for _ in 0..5 {
                let i = rng.random_range(1..keys.len() - 1);
                keys.swap(i, i + 1);
            }
        }
    }
    let mut cols: Vec<(Col, String)> = Vec::new();
    if rng.random_bool(0.5) {
        cols.push((Col::Seq, "序号".into()));
    }
    for k in keys {
        let label = header_label(rng, p, k);
        cols.push((Col::Field(k), label));
    }
    if rng.random_bool(0.3) {
        cols.push((Col::Status, "审核状态".into()));
    }
    let title = p.meta.titles.first().map(|t| t.replace("申报表", "申报汇总表"));
    let title = title.unwrap_or_else(|| "2024年“巴渝工匠”杯职业技能竞赛申报汇总表".into());
    let n_titles = match format {
        SheetFormat::Xlsx => {
            if rng.random_bool(0.3) {
                2
            } else {
                1
            }
        }
        _ => *weighted(rng, &[(0usize, 40), (1, 40), (2, 20)]),
    };
    let mut title_rows = Vec::new();
    if n_titles >= 1 {
        title_rows.push(title);
    }
    if n_titles >= 2 {
        title_rows.push(
            pick(
                rng,
                &["导出时间：2024-02-06 09:30:12", "数据来源：重庆市职业技能竞赛信息管理服务平台", "单位：重庆市职业技能鉴定指导中心"],
            )
            .to_string(),
        );
    }
    let prefix = *pick(rng, &["申报汇总表", "2024巴渝工匠杯申报汇总", "export", "竞赛申报数据导出"]);
    let file = format!("sheets/{prefix}-{:02}.{}", index + 1, format.ext());
    SheetPlan {
        format,
        file,
        table_style: TableStyle {
            cols,
            title_rows,
            sheet_name: pick(rng, &["申报汇总表", "Sheet1", "汇总", "2024申报"]).to_string(),
            date_style: *pick(rng, &DateStyle::ALL),
            phone_style: if rng.random_bool(0.8) { 0 } else { 1 },
            serial_dates: rng.random_bool(0.5),
            crlf: rng.random_bool(0.5),
        },
    }
}

fn text(s: &str) -> CellV {
    if s.is_empty() {
        CellV::Empty
    } else {
        CellV::Text(s.to_string())
    }
}

fn cell(d: &Decl, item: usize, key: &str, phone_style: u8) -> CellV {
    let it = &d.items[item];
    let diff = |k: &str, i: Option<usize>| d.sheet_diff(k, i);
    match key {
        "declaration_id" => text(&d.id),
        "category" => text(&d.category),
        "event_name" => text(&d.event_name),
        "unit_name" => match diff("unit_name", None) {
            Some(SheetVal::Text(s)) => text(s),
            _ => text(&d.unit_name),
        },
        "credit_code" => text(&d.credit_code),
        "unit_type" => text(&d.unit_type),
        "supervisor" => text(&d.supervisor),
        "contact_name" => text(&d.contact_name),
        "contact_phone" => match diff("contact_phone", None) {
            Some(SheetVal::Text(s)) => text(&fmt::phone(s, phone_style)),
            _ => text(&fmt::phone(&d.contact_phone, phone_style)),
        },
        "occupation" => text(&it.occupation),
        "occupation_code" => text(&it.occupation_code),
        "undertaker" => text(&it.undertaker),
        "host_location" => text(&it.host_location),
        "start_date" => CellV::Date(it.start_date),
        "end_date" => match diff("end_date", Some(item)) {
            Some(SheetVal::Date(v)) => CellV::Date(*v),
            _ => CellV::Date(it.end_date),
        },
        "participants" => match diff("participants", Some(item)) {
            Some(SheetVal::Int(v)) => CellV::Int(*v),
            _ => CellV::Int(it.participants),
        },
        "managers" => CellV::Int(d.managers),
        "experts_judges" => CellV::Int(d.experts_judges),
        "budget_wan" => CellV::Num(d.budget_wan),
        "funding_source" => text(&d.funding_source),
        "venue" => text(&d.venue),
        "submitted_at" => CellV::DateTime(d.submitted_at),
        "account" => text(&d.account),
        _ => CellV::Empty,
    }
}

/// Builds the table for a chunk of declarations; returns it with the 1-based spreadsheet row
/// of each declaration's first item row.
fn build_table(plan: &SheetPlan, decls: &[&Decl], rng: &mut StdRng) -> (Table, Vec<usize>) {
    let ts = &plan.table_style;
    let mut rows = Vec::new();
    let mut first_rows = Vec::new();
    let first_data = ts.title_rows.len() + 1;
    let mut seq = 0;
    for d in decls {
        first_rows.push(first_data + rows.len() + 1);
        let status = pick(rng, &["待审核", "区县已审核", "已提交", "行业主管部门已审核"]).to_string();
        for i in 0..d.items.len() {
            seq += 1;
            let row: Vec<CellV> = ts
                .cols
                .iter()
                .map(|(c, _)| match c {
                    Col::Seq => CellV::Int(seq),
                    Col::Status => CellV::Text(status.clone()),
                    Col::Field(k) => cell(d, i, k, ts.phone_style),
                })
                .collect();
            rows.push(row);
        }
    }
    let table = Table {
        sheet_name: ts.sheet_name.clone(),
        title_rows: ts.title_rows.clone(),
        header: ts.cols.iter().map(|(_, h)| h.clone()).collect(),
        rows,
        date_style: ts.date_style,
    };
    (table, first_rows)
}

/// Writes one sheet file for `decls`; returns what truth.json records and the first row of
/// each declaration.
pub fn write_sheet(
    plan: &SheetPlan,
    decls: &[&Decl],
    out: &std::path::Path,
    rng: &mut StdRng,
) -> anyhow::Result<(SheetInfo, Vec<usize>)> {
    let (table, first_rows) = build_table(plan, decls, rng);
    let ts = &plan.table_style;
    let (bytes, date_cells) = match plan.format {
        SheetFormat::Xlsx => (write_xlsx(&table)?, "date"),
        SheetFormat::Xls => (
            super::xls::write(&table, ts.serial_dates)?,
            if ts.serial_dates { "serial" } else { "text" },
        ),
        SheetFormat::Ods => (super::ods::write(&table)?, "date"),
        SheetFormat::CsvUtf8 => {
            let mut b = vec![0xEF, 0xBB, 0xBF];
            b.extend(write_csv(&table, ts.crlf)?);
            (b, "text")
        }
        SheetFormat::CsvGbk => {
            let utf8 = String::from_utf8(write_csv(&table, ts.crlf)?)?;
            (super::pdfgen::gbk(&utf8)?, "text")
        }
    };
    std::fs::write(out.join(&plan.file), bytes)?;
    let info = SheetInfo {
        file: plan.file.clone(),
        format: plan.format.as_str(),
        sheet_name: table.sheet_name.clone(),
        title_rows: table.title_rows.len(),
        header_row: table.title_rows.len(),
        rows: table.rows.len(),
        columns: table.header.clone(),
        date_cells,
        declarations: decls.iter().map(|d| d.id.clone()).collect(),
    };
    Ok((info, first_rows))
}

pub fn excel_date_format(st: DateStyle) -> &'static str {
    match st {
        DateStyle::Iso => "yyyy-mm-dd",
        DateStyle::Slash => "yyyy/m/d",
        DateStyle::Cn => "yyyy\"年\"m\"月\"d\"日\"",
    }
}

pub fn excel_datetime_format(st: DateStyle) -> &'static str {
    match st {
        DateStyle::Slash => "yyyy/m/d h:mm:ss",
        _ => "yyyy-mm-dd hh:mm:ss",
    }
}

fn write_xlsx(t: &Table) -> anyhow::Result<Vec<u8>> {
    use chrono::{Datelike, Timelike};
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(2024, 2, 6)?.and_hms(9, 30, 0)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created).set_author("重庆市职业技能竞赛信息管理服务平台"));
    let ws = wb.add_worksheet();
    ws.set_name(&t.sheet_name)?;
    let ncols = t.header.len() as u16;
    let title_fmt = Format::new().set_bold().set_font_size(14).set_align(FormatAlign::Center);
    let sub_fmt = Format::new().set_align(FormatAlign::Left);
    let bold = Format::new().set_bold();
    let date_fmt = Format::new().set_num_format(excel_date_format(t.date_style));
    let dt_fmt = Format::new().set_num_format(excel_datetime_format(t.date_style));
    let mut r: u32 = 0;
    for (i, title) in t.title_rows.iter().enumerate() {
        let f = if i == 0 { &title_fmt } else { &sub_fmt };
        ws.merge_range(r, 0, r, ncols - 1, title, f)?;
        r += 1;
    }
    for (c, h) in t.header.iter().enumerate() {
        ws.write_string_with_format(r, c as u16, h, &bold)?;
    }
    r += 1;
    for row in &t.rows {
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            match v {
                CellV::Empty => {}
                CellV::Text(s) => {
                    ws.write_string(r, c, s)?;
                }
                CellV::Int(i) => {
                    ws.write_number(r, c, *i as f64)?;
                }
                CellV::Num(n) => {
                    ws.write_number(r, c, *n)?;
                }
                CellV::Date(d) => {
                    let x = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                    ws.write_datetime_with_format(r, c, x, &date_fmt)?;
                }
                CellV::DateTime(t) => {
                    let x = ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)?
                        .and_hms(t.hour() as u16, t.minute() as u8, t.second())?;
                    ws.write_datetime_with_format(r, c, x, &dt_fmt)?;
                }
            }
        }
        r += 1;
    }
    for c in 0..ncols {
        ws.set_column_width(c, 14)?;
    }
    Ok(wb.save_to_buffer()?)
}

/// The text of a cell as a CSV (or a text-date xls) shows it.
pub fn cell_text(v: &CellV, st: DateStyle) -> String {
    match v {
        CellV::Empty => String::new(),
        CellV::Text(s) => s.clone(),
        CellV::Int(i) => i.to_string(),
        CellV::Num(n) => format!("{n}"),
        CellV::Date(d) => fmt::date(*d, st),
        CellV::DateTime(t) => fmt::datetime(*t, st),
    }
}

fn write_csv(t: &Table, crlf: bool) -> anyhow::Result<Vec<u8>> {
    let term = if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') };
    let mut w = csv::WriterBuilder::new().flexible(true).terminator(term).from_writer(Vec::new());
    for title in &t.title_rows {
        w.write_record([title.as_str()])?;
    }
    w.write_record(&t.header)?;
    for row in &t.rows {
        w.write_record(row.iter().map(|v| cell_text(v, t.date_style)))?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))
}
