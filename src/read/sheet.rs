//! Spreadsheets → grids of cells (calamine for xlsx/xls/xlsb/ods; csv + encoding_rs for csv).
//!
//! Every worksheet becomes a [`Sheet`]: the rectangle spanned by its non-empty cells (the "used
//! range"), with `first_row` / `first_col` saying where that rectangle sits on the sheet, so a
//! report can cite "第N行". Merged ranges are filled with their top-left value.
//!
//! Untrusted input is the normal case here, so every format is checked *before* calamine
//! materialises anything:
//! - the file is at most [`MAX_FILE_BYTES`];
//! - zip containers (xlsx, xlsb, ods) are decompressed once into a counting sink, at most
//!   [`MAX_UNZIPPED_BYTES`] in all (zip bombs), the `uniqueCount` that calamine reserves for
//!   shared strings is checked, and ODS `content.xml` is pre-scanned for what calamine will
//!   allocate (repeated rows/columns);
//! - OLE2 files (xls, encrypted OOXML) get their sector chains walked the way calamine walks
//!   them, refusing cycles (calamine would loop or grow without bound), and the BIFF records are
//!   pre-scanned for the `DIMENSIONS` reservation and the cell bounding box that calamine turns
//!   into a dense grid (the `OOM_alloc*.xls` allocation bombs);
//! - xlsx/xlsb worksheets are streamed cell by cell, never through calamine's dense ranges;
//! - every grid handed out is at most [`MAX_CELLS`] cells per workbook;
//! - calamine itself runs under `catch_unwind`.

use std::borrow::Cow;
use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use calamine::{
    Data, DataRef, Dimensions, ExcelDateTime, Ods, OdsError, Reader, SheetType, Xls, XlsError,
    Xlsb, XlsbError, Xlsx, XlsxError,
};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

use super::ReadError;

/// Files larger than this are refused before being read.
pub const MAX_FILE_BYTES: u64 = 200 * 1024 * 1024;
/// Total decompressed size allowed for the entries of a zip container (xlsx, xlsb, ods).
pub const MAX_UNZIPPED_BYTES: u64 = 256 * 1024 * 1024;
/// Rows of a worksheet (Excel's limit).
pub const MAX_ROWS: u32 = 1_048_576;
/// Columns of a worksheet (Excel's limit).
pub const MAX_COLS: u32 = 16_384;
/// Cells materialised per workbook (all grids together, empty cells included).
pub const MAX_CELLS: u64 = 5_000_000;
/// What an xls `DIMENSIONS` record may make calamine reserve (a full BIFF8 sheet, 65,536 × 256).
const MAX_XLS_DECLARED_CELLS: u64 = 65_536 * 256;
/// Longest XML tag accepted while pre-scanning ODS content.
const MAX_XML_TAG_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Xlsx,
    Xls,
    Xlsb,
    Ods,
    Csv,
}

impl SheetFormat {
    /// The format a file extension names (`xlsx`, `xlsm`, `xls`, `xlsb`, `ods`, `csv`, `tsv`,
    /// `txt`), case-insensitive. The content still decides: an OLE2 file is read as xls and a
    /// zip container as xlsx/xlsb/ods whatever the extension said.
    pub fn from_extension(ext: &str) -> Option<SheetFormat> {
        match ext.to_ascii_lowercase().as_str() {
            "xlsx" | "xlsm" | "xltx" | "xltm" => Some(SheetFormat::Xlsx),
            "xls" | "xlt" | "et" => Some(SheetFormat::Xls),
            "xlsb" => Some(SheetFormat::Xlsb),
            "ods" | "ots" => Some(SheetFormat::Ods),
            "csv" | "tsv" | "txt" => Some(SheetFormat::Csv),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    /// text with leading/trailing whitespace and control characters removed (never empty)
    Text(String),
    Number(f64),
    /// a cell formatted as a date/time (Excel serials already converted, 1904 workbooks
    /// included). A time of day or a duration without a date is anchored at 1899-12-31,
    /// Excel's day 0.
    DateTime(NaiveDateTime),
    Bool(bool),
    /// an error cell (#DIV/0! …)
    Error(String),
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    /// The used range, row by row, every row `width` cells long; `rows[i][j]` is the cell at
    /// sheet row `first_row + i`, column `first_col + j`. Merged ranges are filled with their
    /// top-left value. For csv a "row" is a record (a quoted field may span several lines).
    pub rows: Vec<Vec<Cell>>,
    /// 1-based sheet row number of `rows[0]` (1 when the sheet is empty)
    pub first_row: u32,
    /// 1-based sheet column number of `rows[i][0]` (1 = column A; 1 when the sheet is empty)
    pub first_col: u32,
}

impl Sheet {
    /// The cell at a 1-based sheet position (`None` outside the used range).
    pub fn cell(&self, row: u32, col: u32) -> Option<&Cell> {
        let r = row.checked_sub(self.first_row)? as usize;
        let c = col.checked_sub(self.first_col)? as usize;
        self.rows.get(r)?.get(c)
    }

    /// Number of columns of the used range.
    pub fn width(&self) -> usize {
        self.rows.first().map_or(0, Vec::len)
    }
}

/// Reads every worksheet of a workbook (or the one table of a csv file).
///
/// `format` is what the caller believes the file is; the content has the last word (an OLE2
/// file is read as xls, a zip container as xlsx/xlsb/ods by its entries, a text file given as
/// xls is read as csv). Chart sheets and macro sheets are skipped; empty worksheets are
/// returned with no rows.
pub fn read_sheets(path: &Path, format: SheetFormat) -> Result<Vec<Sheet>, ReadError> {
    let meta = std::fs::metadata(path)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large_file(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large_file(bytes.len() as u64));
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Sheet1".to_string());
    guarded(|| read_bytes(&bytes, format, &name))
}

/// Same as [`read_sheets`] on bytes already in memory (a csv table is named `Sheet1`).
pub fn read_sheets_from_bytes(bytes: &[u8], format: SheetFormat) -> Result<Vec<Sheet>, ReadError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large_file(bytes.len() as u64));
    }
    guarded(|| read_bytes(bytes, format, "Sheet1"))
}

fn too_large_file(len: u64) -> ReadError {
    ReadError::TooLarge(format!(
        "file is {} MiB, limit {} MiB",
        len / (1024 * 1024),
        MAX_FILE_BYTES / (1024 * 1024)
    ))
}

/// Runs a reader, turning a panic (in calamine or here) into `ReadError::Panic`.
fn guarded<T>(f: impl FnOnce() -> Result<T, ReadError>) -> Result<T, ReadError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "unknown panic".to_string()
            };
            Err(ReadError::Panic(format!(
                "spreadsheet reader panicked: {msg}"
            )))
        }
    }
}

const CFB_MAGIC: &[u8; 8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(b"PK\x05\x06")
        || bytes.starts_with(b"PK\x07\x08")
}

fn read_bytes(
    bytes: &[u8],
    declared: SheetFormat,
    csv_name: &str,
) -> Result<Vec<Sheet>, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    if bytes.starts_with(CFB_MAGIC) {
        return read_ole(bytes);
    }
    if is_zip(bytes) {
        return read_zip(bytes, declared);
    }
    if declared == SheetFormat::Csv {
        return read_csv(bytes, csv_name);
    }
    // Declared a binary workbook but it is neither OLE2 nor zip: platforms often export
    // tab-separated text or an HTML table under an .xls name.
    if looks_like_text(bytes) {
        let head = decode_text(&bytes[..bytes.len().min(8192)]).to_ascii_lowercase();
        if head.contains("urn:schemas-microsoft-com:office:spreadsheet") {
            return Err(ReadError::Unsupported(
                "Excel 2003 XML spreadsheet (SpreadsheetML), not supported; save as xlsx".into(),
            ));
        }
        if head.contains("<html") || head.contains("<table") || head.contains("<!doctype html") {
            return Err(ReadError::Unsupported(
                "an HTML page saved with a spreadsheet extension, not supported; save as xlsx"
                    .into(),
            ));
        }
        return read_csv(bytes, csv_name);
    }
    Err(ReadError::Damaged(format!(
        "not a {declared:?} file: neither an OLE2 compound file nor a zip container"
    )))
}

// ---------------------------------------------------------------------------------------------
// Cells

fn clean_text(s: &str) -> Cell {
    let t = s.trim_matches(|c: char| {
        c.is_whitespace() || c.is_control() || matches!(c, '\u{feff}' | '\u{200b}')
    });
    if t.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(t.to_string())
    }
}

fn anchor_day0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1899, 12, 31)
        .expect("valid date")
        .and_hms_opt(0, 0, 0)
        .expect("valid time")
}

/// Excel serial → date-time, in the workbook's date system. `None` outside Excel's range
/// (0 ≤ serial < 2,958,466, i.e. up to 9999-12-31).
pub fn excel_serial_to_datetime(serial: f64, is_1904: bool) -> Option<NaiveDateTime> {
    if !serial.is_finite() || !(0.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let (base, serial) = if is_1904 {
        (NaiveDate::from_ymd_opt(1904, 1, 1)?, serial)
    } else if serial < 60.0 {
        // Excel's 1900 leap-year bug: serials before the fictitious 1900-02-29 are one day off.
        (NaiveDate::from_ymd_opt(1899, 12, 31)?, serial)
    } else {
        (NaiveDate::from_ymd_opt(1899, 12, 30)?, serial)
    };
    let ms = (serial * 86_400_000.0).round() as i64;
    base.and_hms_opt(0, 0, 0)?
        .checked_add_signed(TimeDelta::try_milliseconds(ms)?)
}

fn excel_datetime(dt: &ExcelDateTime, is_1904: bool) -> Cell {
    let v = dt.as_f64();
    let converted = if dt.is_duration() {
        TimeDelta::try_milliseconds((v * 86_400_000.0).round() as i64)
            .filter(|_| v.is_finite())
            .and_then(|d| anchor_day0().checked_add_signed(d))
    } else {
        excel_serial_to_datetime(v, is_1904)
    };
    converted.map_or(Cell::Number(v), Cell::DateTime)
}

/// ISO 8601 date or date-time as written by ODS (`2021-01-01`, `2021-01-01T10:10:10.5`).
fn parse_iso_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let s = s.strip_suffix('Z').unwrap_or(s);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// ISO 8601 duration as written by ODS for times (`PT10H10M10.123456S`, `P1DT2H`).
/// Years and months are refused (no fixed length).
fn parse_iso_duration(s: &str) -> Option<TimeDelta> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.strip_prefix('P')?;
    let mut ms: f64 = 0.0;
    let mut in_time = false;
    let mut num = String::new();
    let mut any = false;
    for c in s.chars() {
        match c {
            'T' if !in_time && num.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => num.push(if c == ',' { '.' } else { c }),
            unit => {
                let v: f64 = num.parse().ok()?;
                num.clear();
                any = true;
                ms += v * match (in_time, unit) {
                    (false, 'W') => 7.0 * 86_400_000.0,
                    (false, 'D') => 86_400_000.0,
                    (true, 'H') => 3_600_000.0,
                    (true, 'M') => 60_000.0,
                    (true, 'S') => 1_000.0,
                    _ => return None,
                };
            }
        }
    }
    if !num.is_empty() || !any || !ms.is_finite() || ms.abs() > 1e15 {
        return None;
    }
    let ms = ms.round() as i64;
    TimeDelta::try_milliseconds(if neg { -ms } else { ms })
}

fn iso_datetime_cell(s: &str) -> Cell {
    parse_iso_datetime(s).map_or_else(|| clean_text(s), Cell::DateTime)
}

fn iso_duration_cell(s: &str) -> Cell {
    parse_iso_duration(s)
        .and_then(|d| anchor_day0().checked_add_signed(d))
        .map_or_else(|| clean_text(s), Cell::DateTime)
}

fn number_cell(v: f64) -> Cell {
    Cell::Number(v)
}

fn convert_data(d: &Data, is_1904: bool) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::Int(i) => number_cell(*i as f64),
        Data::Float(f) => number_cell(*f),
        Data::String(s) => clean_text(s),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => excel_datetime(dt, is_1904),
        Data::DateTimeIso(s) => iso_datetime_cell(s),
        Data::DurationIso(s) => iso_duration_cell(s),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

fn convert_data_ref(d: &DataRef<'_>, is_1904: bool) -> Cell {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::Int(i) => number_cell(*i as f64),
        DataRef::Float(f) => number_cell(*f),
        DataRef::String(s) => clean_text(s),
        DataRef::SharedString(s) => clean_text(s),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) => excel_datetime(dt, is_1904),
        DataRef::DateTimeIso(s) => iso_datetime_cell(s),
        DataRef::DurationIso(s) => iso_duration_cell(s),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Grids

/// Cells left for the workbook being read (all grids together).
struct Budget {
    cells_left: u64,
}

impl Budget {
    fn new() -> Budget {
        Budget {
            cells_left: MAX_CELLS,
        }
    }
}

fn too_many_cells(what: impl std::fmt::Display) -> ReadError {
    ReadError::TooLarge(format!("{what}, limit {MAX_CELLS} cells per workbook"))
}

/// Builds the dense used range from sparse non-empty cells `(row, col, value)` (0-based sheet
/// positions) and fills merged ranges with their top-left value.
fn build_sheet(
    name: String,
    mut cells: Vec<(u32, u32, Cell)>,
    merges: &[Dimensions],
    budget: &mut Budget,
) -> Result<Sheet, ReadError> {
    cells.retain(|c| !c.2.is_empty() && c.0 < MAX_ROWS && c.1 < MAX_COLS);
    if cells.is_empty() {
        return Ok(Sheet {
            name,
            rows: Vec::new(),
            first_row: 1,
            first_col: 1,
        });
    }
    // sort by position; a later duplicate wins
    cells.sort_by_key(|c| (c.0, c.1));
    cells.dedup_by(|later, earlier| {
        if later.0 == earlier.0 && later.1 == earlier.1 {
            std::mem::swap(&mut later.2, &mut earlier.2);
            true
        } else {
            false
        }
    });
    let (mut r0, mut r1, mut c0, mut c1) = (u32::MAX, 0u32, u32::MAX, 0u32);
    for (r, c, _) in &cells {
        r0 = r0.min(*r);
        r1 = r1.max(*r);
        c0 = c0.min(*c);
        c1 = c1.max(*c);
    }
    let area = |r0: u32, r1: u32, c0: u32, c1: u32| (r1 - r0 + 1) as u64 * (c1 - c0 + 1) as u64;
    if area(r0, r1, c0, c1) > budget.cells_left {
        return Err(too_many_cells(format!(
            "sheet {name:?} spans {} rows × {} columns",
            r1 - r0 + 1,
            c1 - c0 + 1
        )));
    }
    let has_value = |r: u32, c: u32| cells.binary_search_by_key(&(r, c), |x| (x.0, x.1)).is_ok();
    // Merged ranges whose top-left cell holds a value widen the used range, as long as the
    // grid stays within budget.
    let mut live_merges = Vec::new();
    for m in merges {
        let (mr0, mc0) = m.start;
        let (mr1, mc1) = (m.end.0.min(MAX_ROWS - 1), m.end.1.min(MAX_COLS - 1));
        if mr1 < mr0 || mc1 < mc0 || (mr0, mc0) == (mr1, mc1) || !has_value(mr0, mc0) {
            continue;
        }
        let (nr0, nr1, nc0, nc1) = (r0.min(mr0), r1.max(mr1), c0.min(mc0), c1.max(mc1));
        if area(nr0, nr1, nc0, nc1) <= budget.cells_left {
            (r0, r1, c0, c1) = (nr0, nr1, nc0, nc1);
        }
        live_merges.push((mr0, mc0, mr1, mc1));
    }
    let (height, width) = ((r1 - r0 + 1) as usize, (c1 - c0 + 1) as usize);
    budget.cells_left -= (height * width) as u64;
    let mut rows = vec![vec![Cell::Empty; width]; height];
    for (r, c, v) in cells {
        rows[(r - r0) as usize][(c - c0) as usize] = v;
    }
    // Fill: a well-formed sheet has disjoint merges, so the work is at most the grid size;
    // overlapping ones (malformed) stop being filled past that.
    let mut fill_left = (height * width) as u64;
    for (mr0, mc0, mr1, mc1) in live_merges {
        let anchor = rows[(mr0 - r0) as usize][(mc0 - c0) as usize].clone();
        let (fr0, fr1) = (mr0.max(r0), mr1.min(r1));
        let (fc0, fc1) = (mc0.max(c0), mc1.min(c1));
        if fr1 < fr0 || fc1 < fc0 {
            continue;
        }
        let work = (fr1 - fr0 + 1) as u64 * (fc1 - fc0 + 1) as u64;
        if work > fill_left {
            break;
        }
        fill_left -= work;
        for r in fr0..=fr1 {
            for c in fc0..=fc1 {
                if (r, c) != (mr0, mc0) {
                    rows[(r - r0) as usize][(c - c0) as usize] = anchor.clone();
                }
            }
        }
    }
    Ok(Sheet {
        name,
        rows,
        first_row: r0 + 1,
        first_col: c0 + 1,
    })
}

// ---------------------------------------------------------------------------------------------
// Errors from calamine

fn map_zip_error(e: &zip::result::ZipError) -> ReadError {
    use zip::result::ZipError;
    match e {
        ZipError::UnsupportedArchive(msg) if msg.contains("assword") || msg.contains("ncrypt") => {
            ReadError::Encrypted(format!("zip entry is encrypted: {msg}"))
        }
        ZipError::InvalidPassword => ReadError::Encrypted("zip entry is encrypted".into()),
        other => ReadError::Damaged(format!("zip container: {other}")),
    }
}

fn map_xlsx_error(e: XlsxError) -> ReadError {
    match e {
        XlsxError::Password => ReadError::Encrypted("xlsx workbook is password protected".into()),
        XlsxError::Zip(z) => map_zip_error(&z),
        other => ReadError::Damaged(format!("xlsx: {other}")),
    }
}

fn map_xlsb_error(e: XlsbError) -> ReadError {
    match e {
        XlsbError::Password => ReadError::Encrypted("xlsb workbook is password protected".into()),
        XlsbError::Zip(z) => map_zip_error(&z),
        other => ReadError::Damaged(format!("xlsb: {other}")),
    }
}

fn map_ods_error(e: OdsError) -> ReadError {
    match e {
        OdsError::Password => ReadError::Encrypted("ods document is password protected".into()),
        OdsError::Zip(z) => map_zip_error(&z),
        OdsError::CellLimitExceeded { requested, max } => ReadError::TooLarge(format!(
            "ods: {requested} cells requested, reader limit {max}"
        )),
        OdsError::InvalidMime(m) => ReadError::Unsupported(format!(
            "an OpenDocument file that is not a spreadsheet (mimetype {:?})",
            String::from_utf8_lossy(&m)
        )),
        other => ReadError::Damaged(format!("ods: {other}")),
    }
}

fn map_xls_error(e: XlsError) -> ReadError {
    match e {
        XlsError::Password => ReadError::Encrypted("xls workbook is password protected".into()),
        other => ReadError::Damaged(format!("xls: {other}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Zip containers: xlsx, xlsb, ods

fn read_zip(bytes: &[u8], declared: SheetFormat) -> Result<Vec<Sheet>, ReadError> {
    let facts = inspect_zip(bytes, declared)?;
    match facts.format {
        SheetFormat::Xlsx => read_xlsx(bytes),
        SheetFormat::Xlsb => read_xlsb(bytes),
        SheetFormat::Ods => read_ods(bytes, facts.ods_merges),
        SheetFormat::Xls | SheetFormat::Csv => unreachable!("inspect_zip returns a zip format"),
    }
}

struct ZipFacts {
    format: SheetFormat,
    /// per table, in document order: merged ranges read from ODS content.xml
    ods_merges: Vec<Vec<Dimensions>>,
}

/// Decides the zip-based format by its entries and checks, without keeping them, that the
/// entries decompress within [`MAX_UNZIPPED_BYTES`] and hold nothing that makes calamine
/// allocate beyond the limits.
fn inspect_zip(bytes: &[u8], declared: SheetFormat) -> Result<ZipFacts, ReadError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| map_zip_error(&e))?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_ascii_lowercase()))
        .collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    let format = if has("mimetype") || has("content.xml") {
        SheetFormat::Ods
    } else if has("xl/workbook.bin") {
        SheetFormat::Xlsb
    } else if has("xl/workbook.xml") {
        SheetFormat::Xlsx
    } else if matches!(
        declared,
        SheetFormat::Xlsx | SheetFormat::Xlsb | SheetFormat::Ods
    ) {
        declared
    } else {
        return Err(ReadError::Unsupported(
            "a zip archive that is not an xlsx, xlsb or ods workbook".into(),
        ));
    };

    if format == SheetFormat::Ods {
        if let Ok(manifest) = zip.by_name("META-INF/manifest.xml") {
            let mut head = Vec::new();
            // a read error here is calamine's to report
            let _ = manifest.take(4 * 1024 * 1024).read_to_end(&mut head);
            if contains(&head, b"encryption-data") {
                return Err(ReadError::Encrypted(
                    "ods document is password protected".into(),
                ));
            }
        }
    }

    let mut left = MAX_UNZIPPED_BYTES;
    let mut ods_merges = Vec::new();
    let over = || {
        ReadError::TooLarge(format!(
            "zip entries decompress to more than {} MiB",
            MAX_UNZIPPED_BYTES / (1024 * 1024)
        ))
    };
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(f) => f,
            Err(e) => match map_zip_error(&e) {
                enc @ ReadError::Encrypted(_) => return Err(enc),
                _ => continue, // calamine reports it if the entry matters
            },
        };
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map(|n| n.to_ascii_lowercase())
            .unwrap_or_default();
        let mut limited = (&mut entry).take(left + 1);
        let used = if format == SheetFormat::Ods && name == "content.xml" {
            let scan = scan_ods_content(&mut limited)?;
            ods_merges = scan.merges;
            scan.bytes
        } else if format == SheetFormat::Xlsx && name.ends_with(".xml") {
            // calamine reserves `uniqueCount` strings up front
            let mut head = Vec::new();
            let _ = (&mut limited).take(64 * 1024).read_to_end(&mut head);
            if let Some(n) = unique_count(&head) {
                if n > MAX_CELLS as u128 {
                    return Err(ReadError::TooLarge(format!(
                        "shared string table declares {n} strings"
                    )));
                }
            }
            head.len() as u64 + std::io::copy(&mut limited, &mut std::io::sink()).unwrap_or(0)
        } else {
            std::io::copy(&mut limited, &mut std::io::sink()).unwrap_or(0)
        };
        if used > left {
            return Err(over());
        }
        left -= used;
    }
    Ok(ZipFacts { format, ods_merges })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// `uniqueCount="N"` of an `<sst>` start tag in the head of an xml part.
fn unique_count(head: &[u8]) -> Option<u128> {
    let sst = head.windows(4).position(|w| w == b"<sst" || w == b":sst")?;
    let rest = &head[sst..];
    let end = rest.iter().position(|&b| b == b'>').unwrap_or(rest.len());
    let tag = &rest[..end];
    let at = tag.windows(12).position(|w| w == b"uniqueCount=")?;
    let v = &tag[at + 12..];
    let v = v.strip_prefix(b"\"").or_else(|| v.strip_prefix(b"'"))?;
    let digits: Vec<u8> = v.iter().copied().take_while(u8::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    // more digits than fit: certainly over the limit
    std::str::from_utf8(&digits)
        .ok()?
        .parse::<u128>()
        .ok()
        .or(Some(u128::MAX))
}

/// Drains a streaming cell reader (xlsx or xlsb) into the non-empty cells, refusing a sheet
/// with more cell records or cells than the workbook's budget allows.
fn collect_cells(
    sheet: &str,
    budget: &Budget,
    mut next: impl FnMut() -> Result<Option<((u32, u32), Cell)>, ReadError>,
) -> Result<Vec<(u32, u32, Cell)>, ReadError> {
    let mut cells = Vec::new();
    let mut seen: u64 = 0;
    while let Some(((r, c), v)) = next()? {
        seen += 1;
        if seen > 4 * MAX_CELLS {
            return Err(too_many_cells(format!("sheet {sheet:?} has over {seen} cell records")));
        }
        if !v.is_empty() {
            cells.push((r, c, v));
            if cells.len() as u64 > budget.cells_left {
                return Err(too_many_cells(format!("sheet {sheet:?} has over {} cells", cells.len())));
            }
        }
    }
    Ok(cells)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    let mut wb: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(map_xlsx_error)?;
    let is_1904 = wb.has_1904_epoch();
    let metas = wb.sheets_metadata().to_vec();
    let mut budget = Budget::new();
    let mut sheets = Vec::new();
    for meta in metas {
        if meta.typ != SheetType::WorkSheet {
            continue;
        }
        let cells = {
            let mut reader = match wb.worksheet_cells_reader(&meta.name) {
                Ok(r) => r,
                Err(XlsxError::NotAWorksheet(_)) => continue,
                Err(e) => return Err(map_xlsx_error(e)),
            };
            collect_cells(&meta.name, &budget, || {
                Ok(reader
                    .next_cell()
                    .map_err(map_xlsx_error)?
                    .map(|c| (c.get_position(), convert_data_ref(c.get_value(), is_1904))))
            })?
        };
        // merged ranges are presentation; a sheet whose merge list cannot be read keeps its data
        let merges = wb.merge_cells_by_sheet_name(&meta.name).unwrap_or_default();
        sheets.push(build_sheet(meta.name, cells, &merges, &mut budget)?);
    }
    Ok(sheets)
}

fn read_xlsb(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    let mut wb: Xlsb<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(map_xlsb_error)?;
    let is_1904 = wb.has_1904_epoch();
    let metas = wb.sheets_metadata().to_vec();
    let mut budget = Budget::new();
    let mut sheets = Vec::new();
    for meta in metas {
        if meta.typ != SheetType::WorkSheet {
            continue;
        }
        let cells = {
            let mut reader = wb
                .worksheet_cells_reader(&meta.name)
                .map_err(map_xlsb_error)?;
            collect_cells(&meta.name, &budget, || {
                Ok(reader
                    .next_cell()
                    .map_err(map_xlsb_error)?
                    .map(|c| (c.get_position(), convert_data_ref(c.get_value(), is_1904))))
            })?
        };
        // calamine exposes no merged ranges for xlsb
        sheets.push(build_sheet(meta.name, cells, &[], &mut budget)?);
    }
    Ok(sheets)
}

fn read_ods(bytes: &[u8], merges: Vec<Vec<Dimensions>>) -> Result<Vec<Sheet>, ReadError> {
    let mut wb: Ods<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(map_ods_error)?;
    let metas = wb.sheets_metadata().to_vec();
    // the pre-scan numbers tables in document order, as calamine lists them
    let merges = if merges.len() == metas.len() {
        merges
    } else {
        Vec::new()
    };
    let mut budget = Budget::new();
    let mut sheets = Vec::new();
    for (i, meta) in metas.into_iter().enumerate() {
        let range = match wb.worksheet_range(&meta.name) {
            Ok(r) => r,
            Err(OdsError::WorksheetNotFound(_)) => continue,
            Err(e) => return Err(map_ods_error(e)),
        };
        let cells = range_cells(&range, false, &budget, &meta.name)?;
        drop(range);
        let m = merges.get(i).map_or(&[][..], Vec::as_slice);
        sheets.push(build_sheet(meta.name, cells, m, &mut budget)?);
    }
    Ok(sheets)
}

/// Non-empty cells of a calamine range, at absolute 0-based positions.
fn range_cells(
    range: &calamine::Range<Data>,
    is_1904: bool,
    budget: &Budget,
    name: &str,
) -> Result<Vec<(u32, u32, Cell)>, ReadError> {
    let Some((sr, sc)) = range.start() else {
        return Ok(Vec::new());
    };
    let mut cells = Vec::new();
    for (r, c, d) in range.used_cells() {
        let v = convert_data(d, is_1904);
        if v.is_empty() {
            continue;
        }
        let (Some(r), Some(c)) = (
            u32::try_from(r).ok().and_then(|r| r.checked_add(sr)),
            u32::try_from(c).ok().and_then(|c| c.checked_add(sc)),
        ) else {
            continue;
        };
        cells.push((r, c, v));
        if cells.len() as u64 > budget.cells_left {
            return Err(too_many_cells(format!(
                "sheet {name:?} has over {} cells",
                cells.len()
            )));
        }
    }
    Ok(cells)
}

// ---------------------------------------------------------------------------------------------
// ODS content.xml pre-scan

#[derive(Debug)]
struct OdsScan {
    bytes: u64,
    merges: Vec<Vec<Dimensions>>,
}

#[derive(Default)]
struct OdsTableState {
    /// next row index (repeats expanded, capped like calamine)
    row: u64,
    first_nonempty: Option<u64>,
    last_end: u64,
    max_width: u64,
    // current row element
    row_start: u64,
    row_repeats: u64,
    col: u64,
    row_last_end: u64,
}

struct OdsScanner {
    tables: Vec<Vec<Dimensions>>,
    t: OdsTableState,
    in_table: bool,
    cell_depth: u32,
    /// cells calamine pushes while reading rows (before trimming)
    read_cells: u64,
    /// cells of the ranges calamine keeps
    area: u64,
}

fn attr<'a>(tag: &'a [u8], want: &[u8]) -> Option<&'a [u8]> {
    // skip the element name
    let mut i = tag.iter().position(|b| b.is_ascii_whitespace())?;
    while i < tag.len() {
        while i < tag.len() && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        let name_start = i;
        while i < tag.len() && !tag[i].is_ascii_whitespace() && tag[i] != b'=' {
            i += 1;
        }
        let name = &tag[name_start..i];
        while i < tag.len() && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= tag.len() || tag[i] != b'=' {
            return None;
        }
        i += 1;
        while i < tag.len() && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        let q = *tag.get(i)?;
        if q != b'"' && q != b'\'' {
            return None;
        }
        let v_start = i + 1;
        let v_len = tag[v_start..].iter().position(|&b| b == q)?;
        if name == want {
            return Some(&tag[v_start..v_start + v_len]);
        }
        i = v_start + v_len + 1;
    }
    None
}

fn attr_num(tag: &[u8], want: &[u8]) -> Option<u64> {
    let v = attr(tag, want)?;
    let s = std::str::from_utf8(v).ok()?.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        Some(s.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        None
    }
}

impl OdsScanner {
    fn new() -> Self {
        OdsScanner {
            tables: Vec::new(),
            t: OdsTableState::default(),
            in_table: false,
            cell_depth: 0,
            read_cells: 0,
            area: 0,
        }
    }

    fn check(&self) -> Result<(), ReadError> {
        if self.read_cells > MAX_CELLS || self.area > MAX_CELLS {
            return Err(too_many_cells(format!(
                "ods content expands to over {} cells",
                self.read_cells.max(self.area)
            )));
        }
        Ok(())
    }

    fn tag(&mut self, tag: &[u8]) -> Result<(), ReadError> {
        let closing = tag.first() == Some(&b'/');
        let self_closing = tag.last() == Some(&b'/');
        let body = if closing { &tag[1..] } else { tag };
        let name_end = body
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'/')
            .unwrap_or(body.len());
        let name = &body[..name_end];
        let is_cell = name == b"table:table-cell" || name == b"table:covered-table-cell";
        if closing {
            if is_cell {
                self.cell_depth = self.cell_depth.saturating_sub(1);
            } else if self.cell_depth == 0 && name == b"table:table-row" {
                self.end_row();
            } else if self.cell_depth == 0 && name == b"table:table" {
                self.end_table();
            }
            return self.check();
        }
        if is_cell {
            if self.cell_depth == 0 && self.in_table {
                self.cell(body, name == b"table:covered-table-cell", self_closing);
            }
            if !self_closing {
                self.cell_depth += 1;
            }
        } else if self.cell_depth == 0 && name == b"table:table-row" && self.in_table {
            let repeats = attr_num(body, b"table:number-rows-repeated").unwrap_or(1);
            let total = self.t.row;
            let capped = repeats.min((MAX_ROWS as u64).saturating_sub(total));
            self.t.row_start = self.t.row;
            self.t.row_repeats = capped;
            self.t.col = 0;
            self.t.row_last_end = 0;
            if self_closing {
                self.end_row();
            }
        } else if self.cell_depth == 0
            && name == b"table:table"
            && !self.in_table
            && attr(body, b"table:name").is_some()
        {
            // calamine reads only named tables
            self.tables.push(Vec::new());
            self.t = OdsTableState::default();
            self.in_table = true;
            if self_closing {
                self.end_table();
            }
        }
        self.check()
    }

    fn cell(&mut self, tag: &[u8], covered: bool, self_closing: bool) {
        let repeats = attr_num(tag, b"table:number-columns-repeated").unwrap_or(1);
        let eff = repeats.min((MAX_COLS as u64).saturating_sub(self.t.col));
        let nonempty = !self_closing
            || attr(tag, b"office:value-type").is_some()
            || attr(tag, b"table:formula").is_some();
        if !covered {
            let cs = attr_num(tag, b"table:number-columns-spanned").unwrap_or(1);
            let rs = attr_num(tag, b"table:number-rows-spanned").unwrap_or(1);
            if (cs > 1 || rs > 1)
                && self.t.row_start < MAX_ROWS as u64
                && self.t.col < MAX_COLS as u64
            {
                if let Some(merges) = self.tables.last_mut() {
                    if merges.len() < 1_000_000 {
                        let r0 = self.t.row_start as u32;
                        let c0 = self.t.col as u32;
                        let r1 = (self.t.row_start + rs - 1).min(MAX_ROWS as u64 - 1) as u32;
                        let c1 = (self.t.col + cs - 1).min(MAX_COLS as u64 - 1) as u32;
                        merges.push(Dimensions {
                            start: (r0, c0),
                            end: (r1, c1),
                        });
                    }
                }
            }
        }
        self.t.col += eff;
        if nonempty && eff > 0 {
            self.t.row_last_end = self.t.col;
        }
    }

    fn end_row(&mut self) {
        let t = &mut self.t;
        self.read_cells += t.row_last_end;
        if t.row_last_end > 0 && t.row_repeats > 0 {
            t.first_nonempty.get_or_insert(t.row_start);
            t.last_end = t.row_start + t.row_repeats;
            t.max_width = t.max_width.max(t.row_last_end);
        }
        t.row += t.row_repeats;
        t.row_repeats = 0;
        t.row_last_end = 0;
    }

    fn end_table(&mut self) {
        if !self.in_table {
            return;
        }
        if let Some(first) = self.t.first_nonempty {
            self.area = self
                .area
                .saturating_add((self.t.last_end - first).saturating_mul(self.t.max_width));
        }
        self.t = OdsTableState::default();
        self.in_table = false;
    }
}

/// Streams `content.xml`, tracking tables, rows and cells (with their repeat counts) to bound
/// what calamine will materialise, and collecting merged ranges.
fn scan_ods_content<R: Read>(r: &mut R) -> Result<OdsScan, ReadError> {
    #[derive(PartialEq)]
    enum St {
        Text,
        Tag,
        Comment,
        CData,
    }
    let mut st = St::Text;
    let mut quote: Option<u8> = None;
    let mut tag: Vec<u8> = Vec::new();
    let mut last2 = [0u8; 2];
    let mut scanner = OdsScanner::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break, // damaged entry: calamine reports it
        };
        total += n as u64;
        for &b in &buf[..n] {
            match st {
                St::Text => {
                    if b == b'<' {
                        st = St::Tag;
                        tag.clear();
                        quote = None;
                    }
                }
                St::Tag => {
                    if let Some(q) = quote {
                        if b == q {
                            quote = None;
                        }
                    } else if b == b'>' {
                        st = St::Text;
                        if tag.first() != Some(&b'?') && tag.first() != Some(&b'!') {
                            scanner.tag(&tag)?;
                        }
                        continue;
                    } else if (b == b'"' || b == b'\'') && tag.first() != Some(&b'!') {
                        quote = Some(b);
                    }
                    if tag.len() >= MAX_XML_TAG_BYTES {
                        return Err(ReadError::TooLarge(
                            "an XML tag in content.xml is over 16 MiB".into(),
                        ));
                    }
                    tag.push(b);
                    if tag == b"!--" {
                        st = St::Comment;
                        last2 = [0, 0];
                    } else if tag == b"![CDATA[" {
                        st = St::CData;
                        last2 = [0, 0];
                    }
                }
                St::Comment | St::CData => {
                    let end = if st == St::Comment { *b"--" } else { *b"]]" };
                    if b == b'>' && last2 == end {
                        st = St::Text;
                    }
                    last2 = [last2[1], b];
                }
            }
        }
    }
    scanner.end_table();
    scanner.check()?;
    Ok(OdsScan {
        bytes: total,
        merges: scanner.tables,
    })
}

// ---------------------------------------------------------------------------------------------
// OLE2 compound files: xls, encrypted OOXML
//
// calamine's own CFB reader trusts the sector chains: a cyclic chain makes it loop forever or
// grow a buffer without bound, and a DIFAT that lists FAT sectors many times grows the FAT
// beyond the file. This walks the structures exactly the way calamine 0.38 does (same reads in
// the same order on the same reader), with those cases refused, and returns the workbook
// stream calamine will parse.

const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const DIFSECT: u32 = 0xFFFF_FFFC;
const RESERVED_SECTORS: u32 = 0xFFFF_FFFA;

struct Sectors {
    data: Vec<u8>,
    size: usize,
    maxid: u32,
}

fn damaged(msg: impl Into<String>) -> ReadError {
    ReadError::Damaged(msg.into())
}

impl Sectors {
    fn get<R: Read>(&mut self, id: u32, r: &mut R) -> Result<&[u8], ReadError> {
        if self.maxid < id {
            return Err(damaged(format!(
                "OLE2 sector {id} points past the end of the file"
            )));
        }
        let start = id as usize * self.size;
        let end = start + self.size;
        if end > self.data.len() {
            let mut len = self.data.len();
            self.data.resize(end, 0);
            while len < end {
                let read = r.read(&mut self.data[len..end])?;
                if read == 0 {
                    if start > len {
                        return Err(damaged(format!(
                            "OLE2 sector {id} lies past the end of the file"
                        )));
                    }
                    return Ok(&self.data[start..len]);
                }
                len += read;
            }
        }
        Ok(&self.data[start..end])
    }

    fn get_chain<R: Read>(
        &mut self,
        mut sector_id: u32,
        fats: &[u32],
        r: &mut R,
        len: usize,
    ) -> Result<Vec<u8>, ReadError> {
        // more steps than there are sectors means the chain loops
        let max_steps = self.maxid as u64 + 2;
        let mut steps = 0u64;
        let mut chain = Vec::new();
        while sector_id != ENDOFCHAIN {
            steps += 1;
            if steps > max_steps {
                return Err(damaged("OLE2 sector chain loops"));
            }
            let sector = self.get(sector_id, r)?;
            let remaining = len - chain.len();
            let to_copy = sector.len().min(remaining);
            chain.extend_from_slice(&sector[..to_copy]);
            if chain.len() >= len {
                break;
            }
            sector_id = *fats
                .get(sector_id as usize)
                .ok_or_else(|| damaged("OLE2 sector chain leaves the allocation table"))?;
        }
        Ok(chain)
    }
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn to_u32s(s: &[u8]) -> Result<impl Iterator<Item = u32> + '_, ReadError> {
    if !s.len().is_multiple_of(4) {
        return Err(damaged("OLE2 allocation sector is truncated"));
    }
    Ok(s.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
}

struct CfbDir {
    name: String,
    start: u32,
    len: usize,
}

struct CfbFile<'a> {
    reader: Cursor<&'a [u8]>,
    dirs: Vec<CfbDir>,
    sectors: Sectors,
    fats: Vec<u32>,
    mini_sectors: Sectors,
    mini_fats: Vec<u32>,
}

impl<'a> CfbFile<'a> {
    fn open(bytes: &'a [u8]) -> Result<CfbFile<'a>, ReadError> {
        let mut reader = Cursor::new(bytes);
        let len = bytes.len();
        let mut hdr = [0u8; 512];
        if len < 512 {
            return Err(damaged("OLE2 header is truncated"));
        }
        reader.read_exact(&mut hdr)?;
        let sector_size = match le_u16(&hdr, 30) {
            Some(0x0009) => 512usize,
            Some(0x000C) => {
                let mut rest = vec![0u8; 4096 - 512];
                reader
                    .read_exact(&mut rest)
                    .map_err(|_| damaged("OLE2 header is truncated"))?;
                4096
            }
            _ => return Err(damaged("OLE2 header has an invalid sector size")),
        };
        if le_u16(&hdr, 32) != Some(0x0006) {
            return Err(damaged("OLE2 header has an invalid mini sector size"));
        }
        let version = le_u16(&hdr, 26).unwrap_or(0);
        let dir_start = le_u32(&hdr, 48).unwrap_or(0);
        let mini_fat_start = le_u32(&hdr, 60).unwrap_or(0);
        let mini_fat_len = le_u32(&hdr, 64).unwrap_or(0) as usize;
        let difat_start = le_u32(&hdr, 68).unwrap_or(0);
        let mut difat: Vec<u32> = to_u32s(&hdr[76..512])?.collect();

        let maxid = len / sector_size;
        let mut sectors = Sectors {
            data: Vec::with_capacity(1024),
            size: sector_size,
            maxid: maxid as u32,
        };

        let mut sector_id = difat_start;
        let mut difat_sectors = 0usize;
        while sector_id < RESERVED_SECTORS {
            difat_sectors += 1;
            if difat_sectors > maxid.saturating_add(1) {
                return Err(damaged("OLE2 DIFAT chain is longer than the file"));
            }
            difat.extend(to_u32s(sectors.get(sector_id, &mut reader)?)?);
            sector_id = difat
                .pop()
                .ok_or_else(|| damaged("OLE2 DIFAT chain is empty"))?;
        }

        // one FAT sector per listed id; more FAT sectors than the file has is a bomb
        let fat_ids: Vec<u32> = difat.into_iter().filter(|id| *id < DIFSECT).collect();
        if fat_ids.len() > maxid + 1 {
            return Err(ReadError::TooLarge(format!(
                "OLE2 file lists {} allocation sectors but has only {} sectors",
                fat_ids.len(),
                maxid + 1
            )));
        }
        let mut fats = Vec::new();
        for id in fat_ids {
            fats.extend(to_u32s(sectors.get(id, &mut reader)?)?);
        }

        let dir_bytes = sectors.get_chain(dir_start, &fats, &mut reader, usize::MAX)?;
        let dirs: Vec<CfbDir> = dir_bytes
            .chunks(128)
            .filter(|c| c.len() == 128)
            .map(|c| {
                let mut name = encoding_rs::UTF_16LE.decode(&c[..64]).0.into_owned();
                if let Some(l) = name.as_bytes().iter().position(|b| *b == 0) {
                    name.truncate(l);
                }
                let start = le_u32(c, 116).unwrap_or(0);
                let len = if sector_size == 512 {
                    le_u32(c, 120).unwrap_or(0) as usize
                } else {
                    le_u64(c, 120).unwrap_or(0) as usize
                };
                CfbDir { name, start, len }
            })
            .collect();
        drop(dir_bytes);
        if dirs.is_empty() || (version != 3 && dirs[0].start == ENDOFCHAIN) {
            return Err(damaged("OLE2 root directory is empty"));
        }

        let (mini_fats, ministream) = if mini_fat_len > 0 {
            let ministream = sectors.get_chain(dirs[0].start, &fats, &mut reader, dirs[0].len)?;
            let minifat = sectors.get_chain(
                mini_fat_start,
                &fats,
                &mut reader,
                mini_fat_len.saturating_mul(sector_size),
            )?;
            let minifat: Vec<u32> = to_u32s(&minifat)?.collect();
            (minifat, ministream)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(CfbFile {
            reader,
            dirs,
            sectors,
            fats,
            mini_sectors: Sectors {
                data: ministream,
                size: 64,
                maxid: (maxid * 8) as u32,
            },
            mini_fats,
        })
    }

    fn has(&self, name: &str) -> bool {
        self.dirs
            .iter()
            .any(|d| d.name.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
    }

    fn stream(&mut self, name: &str) -> Result<Vec<u8>, ReadError> {
        let Some(d) = self
            .dirs
            .iter()
            .find(|d| d.name.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
        else {
            return Err(damaged(format!("no {name} stream")));
        };
        let (start, len) = (d.start, d.len);
        if len < 4096 {
            self.mini_sectors
                .get_chain(start, &self.mini_fats, &mut self.reader, len)
        } else {
            self.sectors
                .get_chain(start, &self.fats, &mut self.reader, len)
        }
    }
}

fn read_ole(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    let mut cfb = CfbFile::open(bytes)?;
    if cfb.has("EncryptedPackage") || cfb.has("EncryptionInfo") {
        return Err(ReadError::Encrypted(
            "password-protected Office workbook (encrypted OOXML package)".into(),
        ));
    }
    if !cfb.has("Workbook") && !cfb.has("Book") {
        return Err(ReadError::Unsupported(
            "an OLE2 file without a workbook stream (a Word or other Office document?)".into(),
        ));
    }
    // calamine: `get_stream("Workbook").or_else(|_| get_stream("Book"))`. A Workbook stream
    // that fails here is refused outright: calamine could loop on it before trying Book.
    let stream = if cfb.has("Workbook") {
        cfb.stream("Workbook")?
    } else {
        cfb.stream("Book")?
    };
    prescan_biff(&stream)?;
    drop(stream);
    drop(cfb);
    read_xls(bytes)
}

/// BIFF records the way calamine's `RecordIter` yields them (CONTINUE records folded in).
struct BiffRecords<'a> {
    stream: &'a [u8],
}

impl<'a> Iterator for BiffRecords<'a> {
    type Item = (u16, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let s = self.stream;
        if s.len() < 4 {
            return None;
        }
        let typ = le_u16(s, 0)?;
        let len = le_u16(s, 2)? as usize;
        if s.len() < len + 4 {
            return None;
        }
        let (data, mut next) = s.split_at(len + 4);
        while next.len() > 4 && le_u16(next, 0) == Some(0x003C) {
            let l = le_u16(next, 2)? as usize;
            if next.len() < l + 4 {
                return None;
            }
            next = &next[l + 4..];
        }
        self.stream = next;
        Some((typ, &data[4..]))
    }
}

/// What calamine's xls reader will allocate, checked before it runs: the `DIMENSIONS`
/// reservation (computed the way calamine computes it, wrapping included) and the bounding box
/// of the cell records of every worksheet, which becomes a dense grid.
fn prescan_biff(stream: &[u8]) -> Result<(), ReadError> {
    let mut positions = Vec::new();
    for (typ, data) in (BiffRecords { stream }) {
        match typ {
            0x002F if le_u16(data, 0).is_some_and(|v| v != 0) => {
                return Err(ReadError::Encrypted(
                    "xls workbook is password protected".into(),
                ))
            }
            0x0085 => {
                if let Some(pos) = le_u32(data, 0) {
                    positions.push(pos as usize);
                }
            }
            0x000A => break,
            _ => {}
        }
    }
    let mut total: u64 = 0;
    for pos in positions {
        let Some(sheet) = stream.get(pos..) else {
            continue;
        };
        let mut seen_bof = false;
        let mut depth = 0usize;
        let mut bbox: Option<(u32, u32, u32, u32)> = None;
        let mut add = |r: u32, c0: u32, c1: u32| {
            bbox = Some(match bbox {
                None => (r, r, c0, c1),
                Some((a, b, c, d)) => (a.min(r), b.max(r), c.min(c0), d.max(c1)),
            });
        };
        for (typ, data) in (BiffRecords { stream: sheet }) {
            if depth > 0 {
                match typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            match typ {
                0x0809 => {
                    if seen_bof {
                        depth += 1;
                    } else {
                        seen_bof = true;
                    }
                }
                0x0200 => {
                    if let Some(n) = xls_dimensions_reservation(data) {
                        if n > MAX_XLS_DECLARED_CELLS {
                            return Err(ReadError::TooLarge(format!(
                                "xls DIMENSIONS record declares {n} cells"
                            )));
                        }
                    }
                }
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 => {
                    if let (Some(r), Some(c)) = (le_u16(data, 0), le_u16(data, 2)) {
                        add(r as u32, c as u32, c as u32);
                    }
                }
                0x00BD => {
                    // MulRk: row, first column, 6-byte RK values, last column
                    if let (Some(r), Some(c), true) =
                        (le_u16(data, 0), le_u16(data, 2), data.len() > 6)
                    {
                        let k = (data.len() - 6).div_ceil(6) as u32;
                        add(r as u32, c as u32, c as u32 + k - 1);
                    }
                }
                0x000A => break,
                _ => {}
            }
        }
        if let Some((r0, r1, c0, c1)) = bbox {
            let area = (r1 - r0 + 1) as u64 * (c1 - c0 + 1) as u64;
            total = total.saturating_add(area);
            if area > MAX_CELLS || total > MAX_CELLS {
                return Err(too_many_cells(format!(
                    "xls cell records span {} rows × {} columns",
                    r1 - r0 + 1,
                    c1 - c0 + 1
                )));
            }
        }
    }
    Ok(())
}

/// The number of cells calamine 0.38 reserves for an xls `DIMENSIONS` record (release-build
/// arithmetic), `None` when it rejects the record.
fn xls_dimensions_reservation(r: &[u8]) -> Option<u64> {
    let (rf, rl, mut cf, cl) = match r.len() {
        10 => (
            le_u16(r, 0)? as u32,
            le_u16(r, 2)? as u32,
            le_u16(r, 4)? as u32,
            le_u16(r, 6)? as u32,
        ),
        14 | 16 => (
            le_u32(r, 0)?,
            le_u32(r, 4)?,
            le_u16(r, 8)? as u32,
            le_u16(r, 10)? as u32,
        ),
        _ => return None,
    };
    if 0xFF < cf || cl < cf {
        cf = 0;
    }
    let (start, end) = if 1 <= rl && 1 <= cl {
        ((rf, cf), (rl - 1, cl - 1))
    } else {
        ((rf, cf), (rf, cf))
    };
    let rows = end.0.wrapping_sub(start.0).wrapping_add(1) as u64;
    let cols = end.1.wrapping_sub(start.1).wrapping_add(1) as u64;
    Some(rows.saturating_mul(cols))
}

fn read_xls(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    let mut wb: Xls<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(map_xls_error)?;
    let is_1904 = wb.has_1904_epoch();
    let metas = wb.sheets_metadata().to_vec();
    let mut budget = Budget::new();
    let mut sheets = Vec::new();
    for meta in metas {
        if meta.typ != SheetType::WorkSheet {
            continue;
        }
        let range = match wb.worksheet_range(&meta.name) {
            Ok(r) => r,
            Err(XlsError::WorksheetNotFound(_)) => continue,
            Err(e) => return Err(map_xls_error(e)),
        };
        let cells = range_cells(&range, is_1904, &budget, &meta.name)?;
        drop(range);
        let merges = wb.merge_cells_by_sheet_name(&meta.name).unwrap_or_default();
        sheets.push(build_sheet(meta.name, cells, &merges, &mut budget)?);
    }
    Ok(sheets)
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Text that is not binary: a BOM, or no NUL byte in the head.
fn looks_like_text(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\xEF\xBB\xBF")
        || bytes.starts_with(b"\xFF\xFE")
        || bytes.starts_with(b"\xFE\xFF")
    {
        return true;
    }
    let head = &bytes[..bytes.len().min(8192)];
    !head.contains(&0)
        && !head
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1A))
}

/// UTF-8 (BOM stripped), UTF-16 with a BOM (or an obvious one without), else GB18030 (a
/// superset of GBK and GB2312).
fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return encoding_rs::UTF_16LE.decode_without_bom_handling(rest).0;
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return encoding_rs::UTF_16BE.decode_without_bom_handling(rest).0;
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !s.contains('\0') {
            return Cow::Borrowed(s);
        }
    }
    // UTF-16 without BOM: ASCII text shows as every other byte NUL
    let head = &bytes[..bytes.len().min(4096) & !1];
    if head.len() >= 4 {
        let pairs = head.len() / 2;
        let odd_nul = head
            .chunks_exact(2)
            .filter(|p| p[1] == 0 && p[0] != 0)
            .count();
        let even_nul = head
            .chunks_exact(2)
            .filter(|p| p[0] == 0 && p[1] != 0)
            .count();
        if odd_nul * 10 >= pairs * 3 && even_nul == 0 {
            return encoding_rs::UTF_16LE.decode_without_bom_handling(bytes).0;
        }
        if even_nul * 10 >= pairs * 3 && odd_nul == 0 {
            return encoding_rs::UTF_16BE.decode_without_bom_handling(bytes).0;
        }
    }
    encoding_rs::GB18030.decode_without_bom_handling(bytes).0
}

/// `,` `;` or tab: the one whose count per line (outside quotes) is the most consistent over
/// the first lines, then the most frequent; ties go to `,` then tab then `;`.
fn detect_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    let mut best = (0usize, 0usize, b',');
    for d in [b',', b'\t', b';'] {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| {
                let mut in_q = false;
                l.bytes()
                    .filter(|&b| {
                        if b == b'"' {
                            in_q = !in_q;
                        }
                        b == d && !in_q
                    })
                    .count()
            })
            .collect();
        let mut mode = (0usize, 0usize); // (count value, how many lines)
        for &c in counts.iter().filter(|&&c| c > 0) {
            let n = counts.iter().filter(|&&x| x == c).count();
            if n > mode.1 || (n == mode.1 && c > mode.0) {
                mode = (c, n);
            }
        }
        let score = (mode.1, mode.0);
        if score > (best.0, best.1) {
            best = (score.0, score.1, d);
        }
    }
    best.2
}

fn read_csv(bytes: &[u8], name: &str) -> Result<Vec<Sheet>, ReadError> {
    let text = decode_text(bytes);
    let mut body: &str = text.trim_start_matches('\u{feff}');
    if body.trim().is_empty() {
        return Err(ReadError::Empty);
    }
    // Excel's `sep=;` first line
    let first_line = body.lines().next().unwrap_or("");
    let delimiter = match first_line.trim().as_bytes() {
        [b's' | b'S', b'e' | b'E', b'p' | b'P', b'=', d] if d.is_ascii() => {
            body = &body[first_line.len()..];
            body = body
                .strip_prefix("\r\n")
                .or_else(|| body.strip_prefix('\n'))
                .unwrap_or(body);
            *d
        }
        _ => detect_delimiter(body),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body.as_bytes());
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut count: u64 = 0;
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(ReadError::Damaged(format!("csv: {e}"))),
        }
        // the csv crate skips blank lines; Excel shows them as empty rows, keep the numbering
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let blanks = blank_lines_from(body.as_bytes(), start);
        count += blanks as u64 + record.len().max(1) as u64;
        if count > MAX_CELLS {
            return Err(too_many_cells("csv has more fields"));
        }
        rows.extend(std::iter::repeat_with(Vec::new).take(blanks));
        rows.push(record.iter().map(clean_text).collect());
    }
    Ok(vec![dense_to_sheet(name.to_string(), rows)])
}

/// Blank lines skipped by the csv reader between `start` (where the csv crate says a record's
/// read began: right after the previous record's line end, or mid-CRLF) and the record itself.
fn blank_lines_from(body: &[u8], start: usize) -> usize {
    let mut i = start.min(body.len());
    if i > 0 && body[i - 1] == b'\r' && body.get(i) == Some(&b'\n') {
        i += 1;
    }
    let mut n = 0usize;
    while i < body.len() && matches!(body[i], b'\r' | b'\n') {
        if body[i] == b'\r' && body.get(i + 1) == Some(&b'\n') {
            i += 2;
        } else {
            i += 1;
        }
        n += 1;
    }
    n
}

/// Trims empty leading/trailing rows and columns from dense rows and pads them to one width.
fn dense_to_sheet(name: String, rows: Vec<Vec<Cell>>) -> Sheet {
    let nonempty_row = |r: &Vec<Cell>| r.iter().any(|c| !c.is_empty());
    let Some(top) = rows.iter().position(nonempty_row) else {
        return Sheet {
            name,
            rows: Vec::new(),
            first_row: 1,
            first_col: 1,
        };
    };
    let bottom = rows.iter().rposition(nonempty_row).unwrap_or(top);
    let left = rows[top..=bottom]
        .iter()
        .filter_map(|r| r.iter().position(|c| !c.is_empty()))
        .min()
        .unwrap_or(0);
    let right = rows[top..=bottom]
        .iter()
        .filter_map(|r| r.iter().rposition(|c| !c.is_empty()))
        .max()
        .unwrap_or(left);
    let width = right - left + 1;
    let rows: Vec<Vec<Cell>> = rows
        .into_iter()
        .skip(top)
        .take(bottom - top + 1)
        .map(|r| {
            let mut r: Vec<Cell> = r.into_iter().skip(left).take(width).collect();
            r.resize(width, Cell::Empty);
            r
        })
        .collect();
    Sheet {
        name,
        rows,
        first_row: top as u32 + 1,
        first_col: left as u32 + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap()
    }

    #[test]
    fn excel_serials_in_both_date_systems() {
        assert_eq!(
            excel_serial_to_datetime(45432.0, false),
            Some(dt(2024, 5, 20, 0, 0, 0))
        );
        assert_eq!(
            excel_serial_to_datetime(45325.68206018518, false),
            Some(dt(2024, 2, 3, 16, 22, 10))
        );
        assert_eq!(
            excel_serial_to_datetime(1.0, false),
            Some(dt(1900, 1, 1, 0, 0, 0))
        );
        assert_eq!(
            excel_serial_to_datetime(61.0, false),
            Some(dt(1900, 3, 1, 0, 0, 0))
        );
        assert_eq!(
            excel_serial_to_datetime(0.5, false),
            Some(dt(1899, 12, 31, 12, 0, 0))
        );
        // the same serial is 1462 days later in the 1904 system
        assert_eq!(
            excel_serial_to_datetime(45432.0 - 1462.0, true),
            Some(dt(2024, 5, 20, 0, 0, 0))
        );
        assert_eq!(
            excel_serial_to_datetime(0.0, true),
            Some(dt(1904, 1, 1, 0, 0, 0))
        );
        assert_eq!(excel_serial_to_datetime(-1.0, false), None);
        assert_eq!(excel_serial_to_datetime(f64::NAN, false), None);
        assert_eq!(excel_serial_to_datetime(1e12, false), None);
    }

    #[test]
    fn calamine_datetimes_convert_with_the_workbook_epoch() {
        use calamine::ExcelDateTimeType::{DateTime, TimeDelta as Td};
        let d = ExcelDateTime::new(45432.0, DateTime, false);
        assert_eq!(
            excel_datetime(&d, false),
            Cell::DateTime(dt(2024, 5, 20, 0, 0, 0))
        );
        assert_eq!(
            excel_datetime(&d, true),
            Cell::DateTime(dt(2028, 5, 21, 0, 0, 0))
        );
        let dur = ExcelDateTime::new(1.5, Td, false);
        assert_eq!(
            excel_datetime(&dur, false),
            Cell::DateTime(dt(1900, 1, 1, 12, 0, 0))
        );
        let bad = ExcelDateTime::new(-3.0, DateTime, false);
        assert_eq!(excel_datetime(&bad, false), Cell::Number(-3.0));
    }

    #[test]
    fn iso_values_from_ods() {
        assert_eq!(
            parse_iso_datetime("2021-01-01"),
            Some(dt(2021, 1, 1, 0, 0, 0))
        );
        assert_eq!(
            parse_iso_datetime("2021-01-01T10:10:10"),
            Some(dt(2021, 1, 1, 10, 10, 10))
        );
        assert_eq!(
            parse_iso_datetime("2021-01-01T10:10:10.5")
                .map(|d| d.and_utc().timestamp_subsec_millis()),
            Some(500)
        );
        assert_eq!(
            parse_iso_duration("PT10H10M10S"),
            TimeDelta::try_seconds(36610)
        );
        assert_eq!(
            parse_iso_duration("PT10H10M10.123456S"),
            TimeDelta::try_milliseconds(36_610_123)
        );
        assert_eq!(parse_iso_duration("P1DT2H"), TimeDelta::try_hours(26));
        assert_eq!(parse_iso_duration("-PT1H"), TimeDelta::try_hours(-1));
        assert_eq!(parse_iso_duration("P1Y"), None);
        assert_eq!(parse_iso_duration("PT"), None);
        assert_eq!(parse_iso_duration("garbage"), None);
        assert_eq!(
            iso_duration_cell("PT10H10M10S"),
            Cell::DateTime(dt(1899, 12, 31, 10, 10, 10))
        );
        assert_eq!(
            iso_datetime_cell("not a date"),
            Cell::Text("not a date".into())
        );
    }

    #[test]
    fn text_is_trimmed_of_blanks_and_controls_only_at_the_ends() {
        assert_eq!(
            clean_text("\u{0}\u{3000} 联 系 人\u{a0}\r\n\u{0}"),
            Cell::Text("联 系 人".into())
        );
        assert_eq!(clean_text("a\nb"), Cell::Text("a\nb".into()));
        assert_eq!(clean_text(" \u{0}\t"), Cell::Empty);
    }

    #[test]
    fn grid_keeps_positions_and_fills_merges() {
        let mut budget = Budget::new();
        let cells = vec![
            (2, 1, Cell::Text("标题".into())),
            (4, 3, Cell::Number(7.0)),
            (4, 1, Cell::Text("x".into())),
        ];
        let merges = [
            Dimensions {
                start: (2, 1),
                end: (2, 5),
            }, // widens the range to column F
            Dimensions {
                start: (9, 9),
                end: (9, 10),
            }, // empty anchor: ignored
        ];
        let s = build_sheet("S".into(), cells, &merges, &mut budget).unwrap();
        assert_eq!((s.first_row, s.first_col), (3, 2));
        assert_eq!(s.rows.len(), 3);
        assert_eq!(s.width(), 5);
        assert!(s.rows[0].iter().all(|c| *c == Cell::Text("标题".into())));
        assert_eq!(s.cell(5, 4), Some(&Cell::Number(7.0)));
        assert_eq!(s.cell(5, 2), Some(&Cell::Text("x".into())));
        assert_eq!(s.cell(4, 3), Some(&Cell::Empty));
        assert_eq!(s.cell(1, 1), None);
        assert_eq!(budget.cells_left, MAX_CELLS - 15);
    }

    #[test]
    fn grid_refuses_sparse_bombs() {
        let mut budget = Budget::new();
        let cells = vec![
            (0, 0, Cell::Number(1.0)),
            (MAX_ROWS - 1, MAX_COLS - 1, Cell::Number(2.0)),
        ];
        let e = build_sheet("S".into(), cells, &[], &mut budget).unwrap_err();
        assert_eq!(e.code(), "too-large");
        // a huge merge is clipped to the budget rather than refused
        let cells = vec![(0, 0, Cell::Number(1.0)), (1, 1, Cell::Number(2.0))];
        let merges = [Dimensions {
            start: (0, 0),
            end: (MAX_ROWS - 1, MAX_COLS - 1),
        }];
        let s = build_sheet("S".into(), cells, &merges, &mut budget).unwrap();
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[1][1], Cell::Number(1.0));
    }

    #[test]
    fn csv_encodings_and_delimiters() {
        let (gbk, _, _) = encoding_rs::GBK.encode("申报单位,联系人\n重庆某某公司,张三\n");
        let s = read_sheets_from_bytes(&gbk, SheetFormat::Csv).unwrap();
        assert_eq!(s[0].rows[1][0], Cell::Text("重庆某某公司".into()));

        let bom = "\u{feff}申报编号;赛事类别\nBY2024-0001;市级行业赛\n"
            .as_bytes()
            .to_vec();
        let s = read_sheets_from_bytes(&bom, SheetFormat::Csv).unwrap();
        assert_eq!(s[0].rows[0][0], Cell::Text("申报编号".into()));
        assert_eq!(s[0].rows[1][1], Cell::Text("市级行业赛".into()));

        let mut utf16 = vec![0xFF, 0xFE];
        for u in "a\tb\n1\t2\n".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let s = read_sheets_from_bytes(&utf16, SheetFormat::Csv).unwrap();
        assert_eq!(
            s[0].rows,
            vec![
                vec![Cell::Text("a".into()), Cell::Text("b".into())],
                vec![Cell::Text("1".into()), Cell::Text("2".into())]
            ]
        );

        let sep = b"sep=;\na;b,c\n".to_vec();
        let s = read_sheets_from_bytes(&sep, SheetFormat::Csv).unwrap();
        assert_eq!(
            s[0].rows[0],
            vec![Cell::Text("a".into()), Cell::Text("b,c".into())]
        );

        assert_eq!(detect_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(detect_delimiter("a;b;c\n1;2,5;3\n"), b';');
        assert_eq!(detect_delimiter("a\tb\n1,000\t2\n"), b'\t');
        assert_eq!(detect_delimiter("\"x;y\",b\n\"p;q\",c\n"), b',');
    }

    #[test]
    fn csv_rows_are_trimmed_and_padded() {
        let s = read_sheets_from_bytes(b"\n,,\n,a\n,b,c,\n\n", SheetFormat::Csv).unwrap();
        let s = &s[0];
        assert_eq!((s.first_row, s.first_col), (3, 2));
        assert_eq!(
            s.rows,
            vec![
                vec![Cell::Text("a".into()), Cell::Empty],
                vec![Cell::Text("b".into()), Cell::Text("c".into())],
            ]
        );
        assert_eq!(
            read_sheets_from_bytes(b"", SheetFormat::Csv)
                .unwrap_err()
                .code(),
            "empty"
        );
        assert_eq!(
            read_sheets_from_bytes(b" \r\n", SheetFormat::Csv)
                .unwrap_err()
                .code(),
            "empty"
        );
    }

    #[test]
    fn text_given_as_xls_is_read_as_csv_and_html_is_refused() {
        let s = read_sheets_from_bytes(
            "姓名\t电话\n张三\t13800000000\n".as_bytes(),
            SheetFormat::Xls,
        )
        .unwrap();
        assert_eq!(s[0].rows[1][1], Cell::Text("13800000000".into()));
        let e = read_sheets_from_bytes(
            b"<html><table><tr><td>1</td></tr></table></html>",
            SheetFormat::Xls,
        )
        .unwrap_err();
        assert_eq!(e.code(), "unsupported");
        let e = read_sheets_from_bytes(&[0u8, 1, 2, 3, 0xff, 0], SheetFormat::Xlsx).unwrap_err();
        assert_eq!(e.code(), "damaged");
    }

    #[test]
    fn garbage_workbooks_are_errors_not_panics() {
        let mut zipish = b"PK\x03\x04".to_vec();
        zipish.extend_from_slice(&[0u8; 100]);
        assert_eq!(
            read_sheets_from_bytes(&zipish, SheetFormat::Xlsx)
                .unwrap_err()
                .code(),
            "damaged"
        );
        let mut ole = CFB_MAGIC.to_vec();
        ole.extend_from_slice(&[0u8; 100]);
        assert_eq!(
            read_sheets_from_bytes(&ole, SheetFormat::Xls)
                .unwrap_err()
                .code(),
            "damaged"
        );
    }

    #[test]
    fn xls_dimension_reservations_follow_calamine() {
        // BIFF8: rwMic, rwMac (u32), colMic, colMac (u16), reserved
        let rec = |rf: u32, rl: u32, cf: u16, cl: u16| {
            let mut v = Vec::new();
            v.extend_from_slice(&rf.to_le_bytes());
            v.extend_from_slice(&rl.to_le_bytes());
            v.extend_from_slice(&cf.to_le_bytes());
            v.extend_from_slice(&cl.to_le_bytes());
            v.extend_from_slice(&[0, 0]);
            v
        };
        assert_eq!(xls_dimensions_reservation(&rec(0, 10, 0, 4)), Some(40));
        assert_eq!(xls_dimensions_reservation(&rec(0, 0, 0, 0)), Some(1));
        // rwMic past rwMac wraps in calamine's arithmetic
        assert!(xls_dimensions_reservation(&rec(100, 10, 0, 4)).unwrap() > MAX_XLS_DECLARED_CELLS);
        assert!(
            xls_dimensions_reservation(&rec(0, u32::MAX, 0, 255)).unwrap() > MAX_XLS_DECLARED_CELLS
        );
        assert_eq!(xls_dimensions_reservation(&[0u8; 3]), None);
    }

    #[test]
    fn ods_prescan_bounds_repeats_and_reads_spans() {
        let xml = br#"<?xml version="1.0"?><office:document-content><!-- <table:table table:name="no"> --><office:body><office:spreadsheet>
<table:table table:name="A&amp;B"><table:table-row><table:table-cell table:number-columns-spanned="3" office:value-type="string"><text:p>title &gt; x</text:p></table:table-cell><table:covered-table-cell table:number-columns-repeated="2"/></table:table-row>
<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"#;
        let scan = scan_ods_content(&mut &xml[..]).unwrap();
        assert_eq!(
            scan.merges,
            vec![vec![Dimensions {
                start: (0, 0),
                end: (0, 2)
            }]]
        );

        let bomb = br#"<table:table table:name="x"><table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="16383"/><table:table-cell office:value-type="float" office:value="1"/></table:table-row></table:table>"#;
        assert_eq!(
            scan_ods_content(&mut &bomb[..]).unwrap_err().code(),
            "too-large"
        );

        let mut many_rows = br#"<table:table table:name="x">"#.to_vec();
        for _ in 0..400 {
            many_rows.extend_from_slice(br#"<table:table-row><table:table-cell table:number-columns-repeated="16383"/><table:table-cell office:value-type="float" office:value="1"/></table:table-row>"#);
        }
        assert_eq!(
            scan_ods_content(&mut &many_rows[..]).unwrap_err().code(),
            "too-large"
        );
    }

    #[test]
    fn sst_unique_count_is_read() {
        assert_eq!(
            unique_count(br#"<?xml?><sst xmlns="x" count="4" uniqueCount="4">"#),
            Some(4)
        );
        assert_eq!(
            unique_count(br#"<sst uniqueCount='99999999999999999999999999999999999999999'>"#),
            Some(u128::MAX)
        );
        assert_eq!(unique_count(br#"<sst count="4"/>"#), None);
    }

    #[test]
    fn panics_become_read_errors() {
        let e = guarded::<()>(|| panic!("boom")).unwrap_err();
        assert!(matches!(e, ReadError::Panic(ref m) if m.contains("boom")));
    }
}
