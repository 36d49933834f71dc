//! Spreadsheet reading against the odd-spreadsheet corpus (tests/fixtures/corpora/sheet-oddities) and
//! against small workbooks and csv files built in a temp dir: what a reviewer would check.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use shenbao::read::sheet::{read_sheets, Cell, Sheet, SheetFormat};
use shenbao::read::ReadError;

/// The corpus (calamine's test files, MIT: see the README there).
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpora/sheet-oddities")
}

fn format_of(path: &Path) -> SheetFormat {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    SheetFormat::from_extension(ext).unwrap_or(SheetFormat::Csv)
}

/// Reads in a worker thread so that a hang fails the test instead of blocking it.
fn read_with_deadline(path: &Path, limit: Duration) -> (Result<Vec<Sheet>, ReadError>, Duration) {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    let start = Instant::now();
    std::thread::spawn(move || {
        let fmt = format_of(&p);
        let _ = tx.send(read_sheets(&p, fmt));
    });
    match rx.recv_timeout(limit) {
        Ok(r) => (r, start.elapsed()),
        Err(_) => panic!("{} did not finish within {limit:?}", path.display()),
    }
}

/// Peak resident memory of this process so far (Linux), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn dt(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap()
}

fn summary(r: &Result<Vec<Sheet>, ReadError>) -> String {
    match r {
        Ok(sheets) => {
            let rows: Vec<String> = sheets
                .iter()
                .map(|s| {
                    format!(
                        "{}:{}x{}@R{}C{}",
                        s.name,
                        s.rows.len(),
                        s.width(),
                        s.first_row,
                        s.first_col
                    )
                })
                .collect();
            format!("Ok({} sheets; {})", sheets.len(), rows.join(", "))
        }
        Err(e) => format!("Err({}: {e})", e.code()),
    }
}

fn ok<'a>(r: &'a Result<Vec<Sheet>, ReadError>, file: &str) -> &'a [Sheet] {
    match r {
        Ok(s) => s,
        Err(e) => panic!("{file}: expected sheets, got {}: {e}", e.code()),
    }
}

#[test]
fn every_odd_spreadsheet_is_read_or_refused_cleanly() {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    files.sort();
    assert!(files.len() >= 14, "corpus looks incomplete: {files:?}");

    println!("\n{:<32} {:>8}  result", "file", "ms");
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (result, took) = read_with_deadline(path, Duration::from_secs(60));
        println!("{name:<32} {:>8}  {}", took.as_millis(), summary(&result));

        if let Err(ReadError::Panic(msg)) = &result {
            panic!("{name}: the reader crashed: {msg}");
        }
        if name.starts_with("pass_protected") {
            assert!(
                matches!(result, Err(ReadError::Encrypted(_))),
                "{name}: expected encrypted, got {}",
                summary(&result)
            );
        } else if name.starts_with("OOM_alloc") {
            // calamine's regression files for allocation bombs: with 0.38 they are readable
            // workbooks (calamine's own suite opens both), so what matters is that they come
            // back quickly with bounded memory, read or refused, never a crash
            assert!(
                matches!(
                    result,
                    Ok(_) | Err(ReadError::TooLarge(_) | ReadError::Damaged(_))
                ),
                "{name}: got {}",
                summary(&result)
            );
            assert!(took < Duration::from_secs(10), "{name}: took {took:?}");
        } else {
            // everything else in the corpus is a readable workbook
            ok(&result, &name);
        }
    }
    if let Some(peak) = peak_rss_mib() {
        println!("peak resident memory: {peak} MiB");
        assert!(peak < 1024, "reading the corpus peaked at {peak} MiB");
    }
}

fn read_corpus(file: &str) -> Vec<Sheet> {
    let path = corpus_dir().join(file);
    let (r, _) = read_with_deadline(&path, Duration::from_secs(60));
    ok(&r, file).to_vec()
}

#[test]
fn merged_cells_carry_the_top_left_value() {
    // A1:B1 "Row Merge", C1 "Not Merged", A2:A4 "Column Merge", B2:D4 "Chunk Merged"
    let sheets = read_corpus("merge_cells.xlsx");
    let s = &sheets[0];
    assert_eq!((s.first_row, s.first_col), (1, 1));
    assert_eq!(s.rows.len(), 4);
    assert_eq!(
        s.rows[0],
        vec![
            text("Row Merge"),
            text("Row Merge"),
            text("Not Merged"),
            Cell::Empty
        ]
    );
    for r in 1..4 {
        assert_eq!(
            s.rows[r],
            vec![
                text("Column Merge"),
                text("Chunk Merged"),
                text("Chunk Merged"),
                text("Chunk Merged")
            ],
            "row {}",
            r + 1
        );
    }
}

#[test]
fn merged_ranges_in_xls_are_filled_too() {
    // every cell holds its own address; merged ranges show the address of their top-left cell
    let row = |cells: &[&str]| cells.iter().map(|c| text(c)).collect::<Vec<_>>();
    let sheets = read_corpus("merged_range.xls");
    assert_eq!(sheets.len(), 2);
    let s1 = &sheets[0];
    assert_eq!(
        (s1.name.as_str(), s1.first_row, s1.first_col),
        ("Sheet1", 1, 1)
    );
    assert_eq!(
        s1.rows,
        vec![
            row(&["A1", "B1", "C1", "C1", "E1", "F1", "G1", "H1"]),
            row(&["A1", "B1", "C1", "C1", "E1", "F1", "G1", "H1"]),
            row(&["A3", "B3", "C3", "C3", "E3", "F3", "G3", "H3"]),
            row(&["A4", "B4", "C4", "C4", "E4", "F4", "G4", "H4"]),
        ]
    );
    let s2 = &sheets[1];
    assert_eq!(
        s2.rows,
        vec![
            row(&["A1", "B1", "C1", "C1", "E1", "F1", "F1", "F1"]),
            row(&["A1", "B1", "C1", "C1", "E1", "F1", "F1", "F1"]),
            row(&["A1", "B3", "C3", "C3", "E3", "F1", "F1", "F1"]),
            row(&["A1", "B4", "C3", "C3", "E4", "F1", "F1", "F1"]),
        ]
    );
}

#[test]
fn header_not_in_first_row_keeps_sheet_row_numbers() {
    // C3 "Note 1"; row 9 is the header (A9 "Columns", B9..D9 "Column A".."Column C"); row 10 data
    let sheets = read_corpus("header-row.xlsx");
    let s = &sheets[0];
    assert_eq!((s.first_row, s.first_col), (3, 1));
    assert_eq!(s.rows.len(), 8);
    assert_eq!(
        s.rows[0],
        vec![Cell::Empty, Cell::Empty, text("Note 1"), Cell::Empty]
    );
    assert_eq!(s.cell(9, 1), Some(&text("Columns")));
    assert_eq!(s.cell(9, 2), Some(&text("Column A")));
    assert_eq!(s.cell(9, 4), Some(&text("Column C")));
    assert_eq!(s.cell(10, 1), Some(&text("put data here")));
    assert_eq!(s.cell(10, 2), Some(&Cell::Number(1.0)));
    assert_eq!(s.cell(10, 4), Some(&Cell::Number(3.0)));
    assert!(s.rows[1..6].iter().all(|r| r.iter().all(Cell::is_empty)));
}

#[test]
fn ods_dates_and_times_become_datetimes() {
    let sheets = read_corpus("date.ods");
    let s = &sheets[0];
    assert_eq!((s.first_row, s.first_col), (1, 1));
    assert_eq!(
        s.rows.len(),
        4,
        "the 1,048,571 repeated empty rows are not materialised"
    );
    assert_eq!(s.cell(1, 1), Some(&Cell::DateTime(dt(2021, 1, 1, 0, 0, 0))));
    assert_eq!(
        s.cell(2, 1),
        Some(&Cell::DateTime(dt(2021, 1, 1, 10, 10, 10)))
    );
    // a time without a date is anchored at Excel's day 0
    assert_eq!(
        s.cell(3, 1),
        Some(&Cell::DateTime(dt(1899, 12, 31, 10, 10, 10)))
    );
    match s.cell(4, 1) {
        Some(Cell::DateTime(t)) => {
            assert_eq!(t.date(), NaiveDate::from_ymd_opt(1899, 12, 31).unwrap());
            assert_eq!(t.format("%H:%M:%S%.3f").to_string(), "10:10:10.123");
        }
        other => panic!("A4: {other:?}"),
    }
    assert_eq!(s.cell(1, 2), Some(&Cell::Number(15.0)));
    assert_eq!(s.cell(4, 2), Some(&Cell::Number(18.0)));
}

#[test]
fn error_cells_are_reported_as_errors() {
    let sheets = read_corpus("errors.xlsx");
    let s = sheets
        .iter()
        .find(|s| s.name == "Feuil1")
        .expect("sheet Feuil1");
    let col_a: Vec<&Cell> = s.rows.iter().map(|r| &r[0]).collect();
    let want = [
        "#DIV/0!", "#NAME?", "#VALUE!", "#NULL!", "#REF!", "#NUM!", "#N/A",
    ];
    assert_eq!(s.first_row, 1);
    for (i, w) in want.iter().enumerate() {
        assert_eq!(col_a[i], &Cell::Error(w.to_string()), "A{}", i + 1);
    }
    // the empty sheets are still listed
    assert_eq!(sheets.len(), 3);
    assert!(sheets
        .iter()
        .filter(|s| s.name != "Feuil1")
        .all(|s| s.rows.is_empty()));
}

#[test]
fn xlsb_is_read() {
    // issue127.xlsb: eight worksheets, all empty (only page setup and headers), in order
    let sheets = read_corpus("issue127.xlsb");
    let names: Vec<&str> = sheets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["Sheet1", "Sheet2", "Sheet3", "Sheet4", "Sheet5", "Sheet6", "Sheet7", "Sheet8"]
    );
    assert!(sheets
        .iter()
        .all(|s| s.rows.is_empty() && (s.first_row, s.first_col) == (1, 1)));
}

#[test]
fn calamine_allocation_regressions_read_with_bounded_memory() {
    let sheets = read_corpus("OOM_alloc2.xls");
    assert_eq!(sheets.len(), 1);
    assert_eq!(sheets[0].name, "Colsale (Aug");
    assert!(sheets[0].rows.len() * sheets[0].width() < 100_000);
    let sheets = read_corpus("OOM_alloc.xls");
    assert_eq!(sheets.len(), 10);
    assert_eq!(sheets[0].name, "Weekly Report");
    assert!(sheets.iter().any(|s| s.name == "EIM New Deals"));
}

/// A copy of `src` with the bytes after the first occurrence of `pattern` rewritten.
fn patched(src: &[u8], pattern: &[u8], patch: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut out = src.to_vec();
    let at = out
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("pattern in the source file");
    patch(&mut out[at + pattern.len()..]);
    out
}

#[test]
fn real_xls_allocation_bombs_are_refused() {
    // Built from merged_range.xls by rewriting records in place (sizes unchanged, so the OLE2
    // container stays valid). Without the pre-scan calamine would ask for a dense grid of
    // 65,536 × 65,536 cells, or reserve billions of cells, and the process would abort.
    let src = std::fs::read(corpus_dir().join("merged_range.xls")).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // LABELSST (0x00FD, 10 bytes): row, col → 65535, 65535
    let far_cell = patched(&src, b"\xFD\x00\x0A\x00", |d| {
        d[..4].copy_from_slice(&[0xFF; 4])
    });
    // DIMENSIONS (0x0200, 14 bytes): rwMic 0, rwMac 0xFFFFFFF0, colMic 0, colMac 255
    let huge_dims = patched(&src, b"\x00\x02\x0E\x00", |d| {
        d[..12].copy_from_slice(&[0, 0, 0, 0, 0xF0, 0xFF, 0xFF, 0xFF, 0, 0, 0xFF, 0]);
    });
    for (name, bytes) in [
        ("far-cell.xls", far_cell),
        ("huge-dimensions.xls", huge_dims),
    ] {
        let p = write(dir.path(), name, &bytes);
        let (r, took) = read_with_deadline(&p, Duration::from_secs(30));
        assert!(
            matches!(r, Err(ReadError::TooLarge(_))),
            "{name}: {}",
            summary(&r)
        );
        assert!(took < Duration::from_secs(5), "{name}: {took:?}");
    }

    // the directory sector's FAT entry pointing at itself: calamine would follow the chain
    // forever, growing its buffer
    let sector = |id: u32| 512 + id as usize * 512;
    let le = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let dir_start = le(&src, 48);
    let fat0 = le(&src, 76);
    assert!(dir_start < 128, "fixture layout changed");
    let mut looped = src.clone();
    let entry = sector(fat0) + dir_start as usize * 4;
    looped[entry..entry + 4].copy_from_slice(&dir_start.to_le_bytes());
    let p = write(dir.path(), "looped-fat.xls", &looped);
    let (r, took) = read_with_deadline(&p, Duration::from_secs(30));
    assert!(
        matches!(r, Err(ReadError::Damaged(_))),
        "looped FAT: {}",
        summary(&r)
    );
    assert!(took < Duration::from_secs(5), "looped FAT: {took:?}");
}

// ---------------------------------------------------------------------------------------------
// Inputs built here

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

#[test]
fn csv_in_gbk_utf8_bom_and_semicolons() {
    let dir = tempfile::tempdir().unwrap();
    let table = "申报编号,赛事类别,申报单位,联系电话,计划开始日期\n\
                 BY2024-0001,市级行业赛,重庆市某某职业学院,023-68881234,2024/5/20\n\
                 BY2024-0002,区县级竞赛,\"重庆某某有限公司，渝北分公司\",13800000000,2024年6月1日\n";

    let (gbk, _, bad) = encoding_rs::GBK.encode(table);
    assert!(!bad);
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "the GBK bytes must not be valid UTF-8"
    );
    let p = write(dir.path(), "gbk.csv", &gbk);
    let sheets = read_sheets(&p, SheetFormat::Csv).unwrap();
    assert_eq!(sheets.len(), 1);
    let s = &sheets[0];
    assert_eq!(s.name, "gbk");
    assert_eq!(
        (s.first_row, s.first_col, s.rows.len(), s.width()),
        (1, 1, 3, 5)
    );
    assert_eq!(s.rows[0][2], text("申报单位"));
    assert_eq!(s.rows[1][2], text("重庆市某某职业学院"));
    assert_eq!(s.rows[2][2], text("重庆某某有限公司，渝北分公司"));
    // numbers stay text in csv; the extractor normalises them
    assert_eq!(s.rows[2][3], text("13800000000"));
    assert_eq!(s.rows[2][4], text("2024年6月1日"));

    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(table.as_bytes());
    let p = write(dir.path(), "bom.csv", &bom);
    let s = &read_sheets(&p, SheetFormat::Csv).unwrap()[0];
    assert_eq!(
        s.rows[0][0],
        text("申报编号"),
        "the BOM must not stick to the first header"
    );
    assert_eq!(s.rows[1][0], text("BY2024-0001"));

    let semi =
        "申报编号;预计参赛人数;经费预算（万元）\r\nBY2024-0003;120;12,5\r\n\r\nBY2024-0004;;8\r\n";
    let p = write(dir.path(), "semi.csv", semi.as_bytes());
    let s = &read_sheets(&p, SheetFormat::Csv).unwrap()[0];
    assert_eq!(s.width(), 3);
    assert_eq!(
        s.rows[1],
        vec![text("BY2024-0003"), text("120"), text("12,5")]
    );
    // the blank line keeps its row, so row numbers match what Excel shows
    assert!(s.rows[2].iter().all(Cell::is_empty));
    assert_eq!(s.cell(4, 1), Some(&text("BY2024-0004")));
    assert_eq!(s.cell(4, 2), Some(&Cell::Empty));
    assert_eq!(s.cell(4, 3), Some(&text("8")));
}

/// A roster export as a platform might produce it: a title merged over A1:F1, a blank row,
/// the header on row 3, dates formatted as dates.
fn roster_xlsx() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("申报汇总").unwrap();
    let title = Format::new().set_bold();
    ws.merge_range(
        0,
        0,
        0,
        5,
        "2024年“巴渝工匠”杯职业技能竞赛申报汇总表",
        &title,
    )
    .unwrap();
    let header = [
        "申报编号",
        "申报单位",
        "承办地",
        "计划开始日期",
        "预计参赛人数",
        "提交时间",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    ws.write_string(3, 0, "BY2024-0001").unwrap();
    ws.write_string(3, 1, "  重庆市某某职业学院\u{3000}")
        .unwrap();
    ws.write_string(3, 2, "渝北区").unwrap();
    ws.write_datetime_with_format(3, 3, ExcelDateTime::from_ymd(2024, 5, 20).unwrap(), &date)
        .unwrap();
    ws.write_number(3, 4, 120).unwrap();
    let submitted = ExcelDateTime::from_ymd(2024, 2, 3)
        .unwrap()
        .and_hms(16, 22, 10)
        .unwrap();
    ws.write_datetime_with_format(3, 5, submitted, &stamp)
        .unwrap();
    ws.write_boolean(4, 0, true).unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn xlsx_with_merged_title_header_on_row_3_and_dates() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "roster.xlsx", &roster_xlsx());
    let sheets = read_sheets(&p, SheetFormat::Xlsx).unwrap();
    assert_eq!(sheets.len(), 1);
    let s = &sheets[0];
    assert_eq!(s.name, "申报汇总");
    assert_eq!((s.first_row, s.first_col), (1, 1));
    assert_eq!(s.width(), 6);
    let title = text("2024年“巴渝工匠”杯职业技能竞赛申报汇总表");
    assert!(
        s.rows[0].iter().all(|c| *c == title),
        "title row: {:?}",
        s.rows[0]
    );
    assert!(s.rows[1].iter().all(Cell::is_empty));
    assert_eq!(s.cell(3, 1), Some(&text("申报编号")));
    assert_eq!(s.cell(3, 6), Some(&text("提交时间")));
    assert_eq!(s.cell(4, 2), Some(&text("重庆市某某职业学院")));
    assert_eq!(
        s.cell(4, 4),
        Some(&Cell::DateTime(dt(2024, 5, 20, 0, 0, 0)))
    );
    assert_eq!(s.cell(4, 5), Some(&Cell::Number(120.0)));
    assert_eq!(
        s.cell(4, 6),
        Some(&Cell::DateTime(dt(2024, 2, 3, 16, 22, 10)))
    );
    assert_eq!(s.cell(5, 1), Some(&Cell::Bool(true)));
}

/// Rewrites `xl/workbook.xml` of an xlsx so that the workbook uses the 1904 date system.
fn with_1904_dates(xlsx: &[u8]) -> Vec<u8> {
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    let mut patched = false;
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if name == "xl/workbook.xml" {
            let xml = String::from_utf8(data).unwrap();
            let xml = if xml.contains("<workbookPr") {
                xml.replacen("<workbookPr", "<workbookPr date1904=\"1\"", 1)
            } else {
                xml.replacen("<sheets>", "<workbookPr date1904=\"1\"/><sheets>", 1)
            };
            patched = true;
            data = xml.into_bytes();
        }
        out.start_file(name, opts).unwrap();
        out.write_all(&data).unwrap();
    }
    assert!(patched);
    out.finish().unwrap().into_inner()
}

#[test]
fn xlsx_in_the_1904_date_system() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "roster1904.xlsx",
        &with_1904_dates(&roster_xlsx()),
    );
    let s = &read_sheets(&p, SheetFormat::Xlsx).unwrap()[0];
    // the stored serial is the 1900-system one; read in the 1904 system it is 1462 days later
    assert_eq!(
        s.cell(4, 4),
        Some(&Cell::DateTime(dt(2028, 5, 21, 0, 0, 0)))
    );
    assert_eq!(
        s.cell(4, 6),
        Some(&Cell::DateTime(dt(2028, 2, 4, 16, 22, 10)))
    );
}

#[test]
fn damaged_and_mislabelled_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let full = roster_xlsx();
    let p = write(dir.path(), "truncated.xlsx", &full[..full.len() / 2]);
    let r = read_sheets(&p, SheetFormat::Xlsx);
    assert!(matches!(r, Err(ReadError::Damaged(_))), "{}", summary(&r));

    let p = write(dir.path(), "empty.xlsx", b"");
    assert!(matches!(
        read_sheets(&p, SheetFormat::Xlsx),
        Err(ReadError::Empty)
    ));

    // an xlsx named .xls is read by its content
    let p = write(dir.path(), "really-xlsx.xls", &full);
    let s = &read_sheets(&p, SheetFormat::Xls).unwrap()[0];
    assert_eq!(s.cell(3, 1), Some(&text("申报编号")));

    // a tab-separated export named .xls is read as text
    let (tsv, _, _) = encoding_rs::GBK.encode("申报编号\t联系人\nBY2024-0009\t李四\n");
    let p = write(dir.path(), "export.xls", &tsv);
    let s = &read_sheets(&p, SheetFormat::Xls).unwrap()[0];
    assert_eq!(s.cell(2, 2), Some(&text("李四")));

    let r = read_sheets(&dir.path().join("missing.xlsx"), SheetFormat::Xlsx);
    assert!(matches!(r, Err(ReadError::Io(_))));
}

#[test]
fn zip_bombs_are_refused_before_calamine_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    // a shared-string table that claims an absurd number of strings
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(roster_xlsx())).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if name == "xl/sharedStrings.xml" {
            let xml = String::from_utf8(data).unwrap();
            let at = xml.find("uniqueCount=\"").unwrap() + 13;
            let end = at + xml[at..].find('"').unwrap();
            data = format!("{}900000000000{}", &xml[..at], &xml[end..]).into_bytes();
        }
        out.start_file(name, opts).unwrap();
        out.write_all(&data).unwrap();
    }
    let p = write(
        dir.path(),
        "sst-bomb.xlsx",
        &out.finish().unwrap().into_inner(),
    );
    let r = read_sheets(&p, SheetFormat::Xlsx);
    assert!(matches!(r, Err(ReadError::TooLarge(_))), "{}", summary(&r));

    // an entry that inflates past the unzipped-size limit
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    out.start_file("xl/workbook.xml", deflated).unwrap();
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..300 {
        out.write_all(&zeros).unwrap();
    }
    let bomb = out.finish().unwrap().into_inner();
    assert!(
        bomb.len() < 2 << 20,
        "the bomb should be small: {}",
        bomb.len()
    );
    let p = write(dir.path(), "inflate-bomb.xlsx", &bomb);
    let r = read_sheets(&p, SheetFormat::Xlsx);
    assert!(matches!(r, Err(ReadError::TooLarge(_))), "{}", summary(&r));
}

/// A minimal OpenDocument spreadsheet around the given `<table:table>` elements.
fn ods(tables: &str) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    out.start_file("mimetype", stored).unwrap();
    out.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    out.start_file("META-INF/manifest.xml", deflated).unwrap();
    out.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#,
    )
    .unwrap();
    out.start_file("content.xml", deflated).unwrap();
    write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"><office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"#
    )
    .unwrap();
    out.finish().unwrap().into_inner()
}

#[test]
fn ods_merged_title_and_header_on_row_3() {
    let table = r#"<table:table table:name="汇总">
<table:table-row><table:table-cell table:number-columns-spanned="6" table:number-rows-spanned="1" office:value-type="string"><text:p>申报汇总表</text:p></table:table-cell><table:covered-table-cell table:number-columns-repeated="5"/></table:table-row>
<table:table-row><table:table-cell table:number-columns-repeated="6"/></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>申报编号</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>计划开始日期</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>BY2024-0001</text:p></table:table-cell><table:table-cell office:value-type="date" office:date-value="2024-05-20"><text:p>2024/5/20</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>
</table:table>"#;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "roster.ods", &ods(table));
    let sheets = read_sheets(&p, SheetFormat::Ods).unwrap();
    let s = &sheets[0];
    assert_eq!(s.name, "汇总");
    assert_eq!(
        (s.first_row, s.first_col, s.rows.len(), s.width()),
        (1, 1, 4, 6)
    );
    assert!(
        s.rows[0].iter().all(|c| *c == text("申报汇总表")),
        "{:?}",
        s.rows[0]
    );
    assert_eq!(s.cell(3, 1), Some(&text("申报编号")));
    assert_eq!(
        s.cell(4, 2),
        Some(&Cell::DateTime(dt(2024, 5, 20, 0, 0, 0)))
    );
}

#[test]
fn ods_repeat_bombs_are_refused() {
    // one value in the last column of a million repeated rows: calamine would expand it to
    // its own 100-million-cell cap (gigabytes) before complaining
    let table = r#"<table:table table:name="x"><table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="16383"/><table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row></table:table>"#;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bomb.ods", &ods(table));
    let (r, took) = read_with_deadline(&p, Duration::from_secs(30));
    assert!(matches!(r, Err(ReadError::TooLarge(_))), "{}", summary(&r));
    assert!(took < Duration::from_secs(5), "{took:?}");
}
