//! `review-report.csv` (one row per declaration) and `file-errors.csv`, for Excel:
//! UTF-8 with a byte-order mark, CRLF line ends, Chinese headers, text guarded against
//! formula injection.

use std::io::{self, Write};

use crate::model::{FileError, Severity};
use crate::store::Store;

use super::{csv_safe, header_text, messages, source_list};

pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV writer for Excel, after the BOM has been written.
pub(crate) fn excel_writer<W: Write>(w: W) -> io::Result<::csv::Writer<W>> {
    let mut w = w;
    w.write_all(BOM)?;
    Ok(::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(w))
}

pub(crate) const REVIEW_HEADERS: &[&str] = &[
    "申报编号",
    "申报单位",
    "统一社会信用代码",
    "赛事名称",
    "赛事类别",
    "主管部门",
    "项目数",
    "结论",
    "退回原因",
    "复核事项",
    "提示",
    "公章",
    "印章与申报单位一致",
    "来源文件",
];

/// One row per declaration, decoded from the store one at a time.
pub(crate) fn write_review<W: Write>(w: &mut W, store: &Store) -> io::Result<()> {
    let mut out = excel_writer(w)?;
    out.write_record(REVIEW_HEADERS)?;
    for d in store.iter() {
        let d = &d;
        let text = |key: &str| csv_safe(&header_text(d, key)).into_owned();
        let joined = |sev: Severity| csv_safe(&messages(d, sev).join("；")).into_owned();
        out.write_record([
            text("declaration_id"),
            text("unit_name"),
            text("credit_code"),
            text("event_name"),
            text("category"),
            text("supervisor"),
            d.items.len().to_string(),
            d.verdict.label_zh().to_string(),
            joined(Severity::Return),
            joined(Severity::Review),
            joined(Severity::Info),
            match d.seal.present {
                Some(true) => "有",
                Some(false) => "无",
                None => "",
            }
            .to_string(),
            match (d.seal.present, d.seal.matches_unit) {
                (Some(true), Some(true)) => "是",
                (Some(true), Some(false)) => "否",
                (Some(true), None) => "待人工核对",
                _ => "",
            }
            .to_string(),
            csv_safe(&source_list(d)).into_owned(),
        ])?;
    }
    out.flush()
}

pub(crate) fn write_file_errors<W: Write>(w: &mut W, errors: &[FileError]) -> io::Result<()> {
    let mut out = excel_writer(w)?;
    out.write_record(["文件", "原因", "详情"])?;
    for e in errors {
        out.write_record([
            csv_safe(&e.file).into_owned(),
            csv_safe(&e.message).into_owned(),
            csv_safe(&format!("{}: {}", e.code, e.detail)).into_owned(),
        ])?;
    }
    out.flush()
}
