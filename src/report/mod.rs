//! The outputs a reviewer (and the next program) reads: `records.jsonl` (the contract,
//! form-spec §5), `file-errors.jsonl`, `review-report.html`, `review-report.csv`,
//! `file-errors.csv`, `roster.xlsx` and `roster.csv`.
//!
//! Every file is first written to a temporary name in the output folder and renamed into
//! place only when all of them are complete, so a crash or a full disk never leaves a half
//! file (or a report that belongs to another run than the records beside it).
//!
//! This module only renders: findings and verdicts come from `check`.
//!
//! Peak memory does not grow with the batch: the declarations come from a `Store` that
//! decodes one at a time, and every output is streamed to its (buffered) file. The HTML
//! report first reads the store for the summary tallies only, then again to write the
//! list and the details; the workbook uses rust_xlsxwriter's constant-memory worksheets
//! (each row goes to a temporary file as the next one starts).

mod atomic;
mod csv;
mod html;
mod jsonl;
mod roster;

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::model::{Declaration, FileError, Finding, Severity, Value};
use crate::store::Store;

/// What the run was, for the head of the report. Plain data, filled by `pipeline`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    /// the pipeline's name (e.g. `2024年“巴渝工匠”杯申报审核`)
    pub pipeline_name: String,
    /// the pipeline file, as given
    pub pipeline_path: String,
    /// when the run started / finished, as the reviewer should read it (e.g. `2024-02-06 09:12:03`)
    pub started: String,
    pub finished: String,
    /// the input folders / files given on the command line
    pub inputs: Vec<String>,
    /// how many files discovery found (documents, spreadsheets and skipped files)
    pub files_seen: usize,
    /// shenbao's version
    pub version: String,
    pub elapsed_secs: f64,
    /// the pipeline's `rules.low_confidence.threshold`: values read below it are highlighted
    pub low_confidence: f32,
}

/// Why an output could not be written. Each names the file.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("cannot create the output folder {dir}: {source}; check the path and that you may write there")]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {file}: {source}; check free disk space and permissions (nothing was replaced)")]
    Write {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot move the finished {file} into place: {source}; is the file open in another program (Excel)?")]
    Rename {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ReportError {
    /// The output file (or folder) the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReportError::CreateDir { dir, .. } => dir,
            ReportError::Write { file, .. } | ReportError::Rename { file, .. } => file,
        }
    }

    /// What a reviewer reads (the path is added by the caller, or see `path()`).
    pub fn message_zh(&self) -> &'static str {
        match self {
            ReportError::CreateDir { .. } => {
                "无法创建输出文件夹，请检查路径是否正确、是否有写入权限"
            }
            ReportError::Write { .. } => {
                "无法写入输出文件，请检查磁盘空间和写入权限（原有文件未被改动）"
            }
            ReportError::Rename { .. } => {
                "无法替换输出文件，该文件可能正在 Excel 或其他程序中打开，请关闭后重新运行"
            }
        }
    }
}

/// The names of the files `write_all` produces, in the order it returns them.
pub const OUTPUT_FILES: &[&str] = &[
    "records.jsonl",
    "file-errors.jsonl",
    "review-report.html",
    "review-report.csv",
    "file-errors.csv",
    "roster.xlsx",
    "roster.csv",
];

/// Writes every output into `out_dir` (created if missing) and returns their paths.
///
/// All files are staged under temporary names first; only when every one is complete are
/// they renamed into place. On error the temporary files are removed and the previous
/// outputs (if any) are left untouched.
///
/// The declarations are read from `store` one at a time (in several passes), never all at
/// once, and every file is streamed to disk as it is produced.
pub fn write_all(
    out_dir: &Path,
    run: &RunSummary,
    store: &Store,
    file_errors: &[FileError],
    skipped: &[String],
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::CreateDir {
        dir: out_dir.to_path_buf(),
        source,
    })?;

    // staged one after another: if one fails, those already staged are dropped, which
    // removes their temporary files
    let mut staged = Vec::with_capacity(OUTPUT_FILES.len());
    staged.push(atomic::stage(out_dir, "records.jsonl", |w| {
        jsonl::write_records(w, store)
    })?);
    staged.push(atomic::stage(out_dir, "file-errors.jsonl", |w| {
        jsonl::write_file_errors(w, file_errors)
    })?);
    staged.push(atomic::stage(out_dir, "review-report.html", |w| {
        html::write_report(w, run, store, file_errors, skipped)
    })?);
    staged.push(atomic::stage(out_dir, "review-report.csv", |w| {
        csv::write_review(w, store)
    })?);
    staged.push(atomic::stage(out_dir, "file-errors.csv", |w| {
        csv::write_file_errors(w, file_errors)
    })?);
    staged.push(atomic::stage(out_dir, "roster.xlsx", |w| {
        roster::write_xlsx(w, store)
    })?);
    staged.push(atomic::stage(out_dir, "roster.csv", |w| {
        roster::write_csv(w, store)
    })?);

    let mut written = Vec::with_capacity(staged.len());
    // a failed rename drops the rest of the iterator, whose temporary files are removed
    for s in staged {
        written.push(s.commit()?);
    }
    atomic::sync_dir(out_dir);
    Ok(written)
}

// ---------------------------------------------------------------------------------------
// helpers shared by the renderers

/// The Chinese name of a rule id (form-spec §4), for the reviewer. Unknown ids are shown as is.
/// A declaration's seal as `records.jsonl` gives it (for `inspect`).
pub fn seal_json(seal: &crate::model::Seal) -> serde_json::Value {
    jsonl::seal_json(seal)
}

pub fn rule_name_zh(rule: &str) -> &str {
    match rule {
        "deadline" => "申报时间",
        "category" => "赛事类别",
        "credit-code" => "统一社会信用代码",
        "undertaker-limits" => "承办数量限制",
        "host-locations" => "承办地数量",
        "finish-by" => "完成时间",
        "item-catalogue" => "竞赛项目目录",
        "event-catalogue" => "赛事目录",
        "seal" => "公章",
        "conditions" => "办赛条件",
        "required" => "必填项",
        "one-account" => "一单位一账号",
        "consistency" => "表单与线上数据一致性",
        "low-confidence" => "识别置信度",
        other => other,
    }
}

/// The order rules are listed in the report (form-spec §4); unknown ids come after.
pub(crate) const RULE_ORDER: &[&str] = &[
    "deadline",
    "category",
    "credit-code",
    "undertaker-limits",
    "host-locations",
    "finish-by",
    "item-catalogue",
    "event-catalogue",
    "seal",
    "conditions",
    "required",
    "one-account",
    "consistency",
    "low-confidence",
];

/// The value of a header field as text, or "" when absent.
pub(crate) fn header_text(d: &Declaration, key: &str) -> String {
    d.fields
        .get(key)
        .map(|f| f.value.to_string())
        .unwrap_or_default()
}

/// The messages of a declaration's findings of one severity, duplicates removed, in order.
pub(crate) fn messages(d: &Declaration, sev: Severity) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for f in d.findings.iter().filter(|f| f.severity == sev) {
        if !out.contains(&f.message.as_str()) {
            out.push(&f.message);
        }
    }
    out
}

/// The findings that decide the verdict, worst first (for "主要问题").
pub(crate) fn main_findings(d: &Declaration) -> Vec<&Finding> {
    let mut v: Vec<&Finding> = d
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Review)
        .collect();
    v.sort_by_key(|f| std::cmp::Reverse(f.severity));
    v
}

/// The source files of a declaration, joined for one cell.
pub(crate) fn source_list(d: &Declaration) -> String {
    d.sources
        .iter()
        .map(|s| s.file.as_str())
        .collect::<Vec<_>>()
        .join("；")
}

/// Is this source kind a spreadsheet (so a "page" is a row)?
pub(crate) fn is_sheet_kind(kind: &str) -> bool {
    matches!(
        kind.to_ascii_lowercase().as_str(),
        "xlsx" | "xls" | "xlsb" | "xlsm" | "ods" | "csv" | "sheet" | "spreadsheet"
    )
}

/// "第2页" for documents, "第5行" for spreadsheets (by the kind of the source file).
pub(crate) fn place_zh(d: &Declaration, file: &str, page: u32) -> String {
    let sheet = d
        .sources
        .iter()
        .find(|s| s.file == file)
        .map(|s| is_sheet_kind(&s.kind))
        .unwrap_or(false);
    if sheet {
        format!("第{page}行")
    } else {
        format!("第{page}页")
    }
}

/// A text cell for a spreadsheet program: values starting with `=`, `+`, `-`, `@`, tab or
/// CR are prefixed with `'` so no spreadsheet evaluates them as a formula.
pub(crate) fn csv_safe(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// A value for a CSV cell: text is guarded against formula injection, numbers and dates
/// are written plainly (ISO dates).
pub(crate) fn csv_value(v: Option<&Value>) -> String {
    match v {
        None => String::new(),
        Some(Value::Text(s)) => csv_safe(s).into_owned(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
