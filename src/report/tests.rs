use std::fs;
use std::path::Path;

use calamine::{open_workbook, Data, Reader, Xlsx};
use chrono::NaiveDate;

use super::*;
use crate::model::{
    Declaration, Disagreement, Field, FileError, Finding, Item, Method, Provenance, Seal, Severity,
    SourceFile, Value, Verdict, HEADER_FIELDS, ITEM_FIELDS,
};

fn prov(file: &str, page: u32, method: Method, confidence: f32) -> Provenance {
    Provenance {
        file: file.into(),
        page: Some(page),
        sheet: None,
        row: None,
        method,
        confidence,
        raw: None,
        corrections: Vec::new(),
        bbox: None,
        crop_png: Vec::new(),
    }
}

fn field(value: Value, file: &str) -> Field {
    Field {
        value,
        prov: prov(file, 1, Method::Text, 1.0),
    }
}

fn text(s: &str, file: &str) -> Field {
    field(Value::Text(s.to_string()), file)
}

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn item(occupation: &str, file: &str, start: (u32, u32), end: (u32, u32)) -> Item {
    let mut it = Item::default();
    let f = &mut it.fields;
    f.insert("occupation".into(), text(occupation, file));
    f.insert("occupation_code".into(), text("4-04-05", file));
    f.insert("undertaker".into(), text("重庆市信息通信行业协会", file));
    f.insert("host_location".into(), text("渝北区", file));
    f.insert(
        "start_date".into(),
        field(date(2024, start.0, start.1), file),
    );
    f.insert("end_date".into(), field(date(2024, end.0, end.1), file));
    f.insert("participants".into(), field(Value::Int(120), file));
    it
}

fn decl(id: &str, unit: &str, event: &str, file: &str, verdict: Verdict) -> Declaration {
    let mut fields = Fields::new();
    fields.insert("declaration_id".into(), text(id, file));
    fields.insert("category".into(), text("市级行业赛", file));
    fields.insert("event_name".into(), text(event, file));
    fields.insert("unit_name".into(), text(unit, file));
    fields.insert("credit_code".into(), text("91500000MA5U7AAA1X", file));
    fields.insert("supervisor".into(), text("重庆市经济和信息化委员会", file));
    fields.insert("contact_name".into(), text("张三", file));
    fields.insert("contact_phone".into(), text("02388152326", file));
    fields.insert("managers".into(), field(Value::Int(5), file));
    fields.insert("budget_wan".into(), field(Value::Number(12.5), file));
    fields.insert("fill_date".into(), field(date(2024, 1, 25), file));
    Declaration {
        key: id.to_string(),
        fields,
        items: vec![item("信息通信网络运行管理员", file, (5, 20), (5, 22))],
        sources: vec![SourceFile {
            file: file.to_string(),
            sha256: "ab".repeat(32),
            kind: "pdf".into(),
            pages: Some(2),
        }],
        has_form: true,
        has_sheet: false,
        scanned: false,
        legacy: false,
        year: Some(2024),
        disagreements: Vec::new(),
        seal: Seal {
            present: Some(true),
            text: Some(unit.to_string()),
            matches_unit: Some(true),
            confidence: Some(0.9),
            ..Seal::default()
        },
        findings: Vec::new(),
        verdict,
    }
}

use crate::model::Fields;
use crate::store::Store;

/// pass (2 items, form + sheet), review, return (findings at file/page), pass with hostile text.
fn fixtures() -> Vec<Declaration> {
    let mut pass = decl(
        "BY2024-0001",
        "重庆市信息通信行业协会",
        "重庆市第三届数字技能竞赛",
        "in/a.pdf",
        Verdict::Pass,
    );
    pass.items
        .push(item("网络与信息安全管理员", "in/a.pdf", (6, 1), (6, 3)));
    pass.sources.push(SourceFile {
        file: "in/汇总表.xlsx".into(),
        sha256: "cd".repeat(32),
        kind: "xlsx".into(),
        pages: None,
    });
    let mut submitted = field(
        Value::DateTime(
            NaiveDate::from_ymd_opt(2024, 2, 3)
                .unwrap()
                .and_hms_opt(16, 22, 10)
                .unwrap(),
        ),
        "in/汇总表.xlsx",
    );
    submitted.prov = Provenance {
        file: "in/汇总表.xlsx".into(),
        page: None,
        sheet: Some("Sheet1".into()),
        row: Some(3),
        method: Method::Sheet,
        confidence: 1.0,
        raw: Some("2024-02-03 16:22:10".into()),
        corrections: Vec::new(),
        bbox: None,
        crop_png: Vec::new(),
    };
    pass.fields.insert("submitted_at".into(), submitted);
    pass.has_sheet = true;
    pass.findings.push(Finding::new(
        "low-confidence",
        Severity::Info,
        "联系人识别置信度略低",
    ));

    let mut review = decl(
        "BY2024-0002",
        "重庆工程职业技术学院",
        "重庆市职业院校技能练兵比武",
        "in/b.pdf",
        Verdict::Review,
    );
    review.fields.insert(
        "category".into(),
        text("企业和院校技能练兵比武", "in/b.pdf"),
    );
    review.items[0]
        .fields
        .insert("end_date".into(), field(date(2024, 11, 30), "in/b.pdf"));
    let end = review.items[0].fields.get("end_date").cloned();
    review.findings.push(
        Finding::new(
            "finish-by",
            Severity::Review,
            "计划结束日期晚于2024年11月15日",
        )
        .at("end_date", end.as_ref())
        .item(0),
    );
    review.items[0].fields.get_mut("occupation").unwrap().prov =
        prov("in/b.pdf", 1, Method::Ocr, 0.62);

    let mut ret = decl(
        "BY2024-0003",
        "重庆某某科技有限公司",
        "重庆市电子商务技能竞赛",
        "in/c.pdf",
        Verdict::Return,
    );
    ret.seal = Seal {
        present: Some(false),
        ..Seal::default()
    };
    let mut seal_finding = Finding::new("seal", Severity::Return, "未加盖申报单位公章");
    seal_finding.file = Some("in/c.pdf".into());
    seal_finding.page = Some(2);
    ret.findings.push(seal_finding);
    ret.findings.push(Finding::new(
        "deadline",
        Severity::Return,
        "提交时间晚于申报截止时间",
    ));
    ret.disagreements.push(Disagreement {
        field: "contact_phone".into(),
        item: None,
        form: Some(text("02388152326", "in/c.pdf")),
        sheet: Some(text("13800000000", "in/汇总表.xlsx")),
    });

    let hostile = decl(
        "BY2024-0004",
        "=HYPERLINK(\"http://x\")",
        "<script>alert(1)</script>",
        "in/d & 'x'.pdf",
        Verdict::Pass,
    );
    vec![pass, review, ret, hostile]
}

fn file_error() -> FileError {
    FileError {
        file: "in/<坏>.pdf".into(),
        sha256: None,
        kind: "pdf".into(),
        code: "encrypted".into(),
        message: "文件已加密或设有密码，无法读取".into(),
        detail: "PDF has /Encrypt".into(),
    }
}

fn run() -> RunSummary {
    RunSummary {
        pipeline_name: "2024年巴渝工匠杯申报审核".into(),
        pipeline_path: "pipelines/2024.toml".into(),
        started: "2024-02-06 09:00:00".into(),
        finished: "2024-02-06 09:01:30".into(),
        inputs: vec!["in".into()],
        files_seen: 7,
        version: "0.1.0".into(),
        elapsed_secs: 90.0,
        low_confidence: 0.8,
    }
}

fn write_fixture(dir: &Path) -> Vec<PathBuf> {
    write_all(
        dir,
        &run(),
        &Store::from_decls(&fixtures()),
        &[file_error()],
        &["in/readme.txt".to_string()],
    )
    .expect("write_all")
}

#[test]
fn writes_every_output_and_no_temp_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    let paths = write_fixture(&out);
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, OUTPUT_FILES);
    let mut left: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut expected: Vec<String> = OUTPUT_FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(left, expected, "only the outputs, no temporary files");

    // a second run replaces the files in place
    write_all(&out, &run(), &Store::new(), &[], &[]).unwrap();
    let records = fs::read_to_string(out.join("records.jsonl")).unwrap();
    assert!(records.is_empty());
    assert_eq!(fs::read_dir(&out).unwrap().count(), OUTPUT_FILES.len());
}

#[test]
fn records_follow_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    write_fixture(tmp.path());
    let text = fs::read_to_string(tmp.path().join("records.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);

    // keys in contract order
    let line = lines[0];
    let mut last = 0;
    for (key, _, _) in HEADER_FIELDS {
        let pos = line
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} missing"));
        assert!(pos >= last, "{key} out of order");
        last = pos;
    }
    for key in [
        "items",
        "sources",
        "seal",
        "findings",
        "disagreements",
        "legacy",
        "year",
        "verdict",
    ] {
        let pos = line.find(&format!("\"{key}\":")).unwrap();
        assert!(pos > last, "{key} out of order");
        last = pos;
    }

    let recs: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let r = &recs[0];
    assert_eq!(r["declaration_id"], "BY2024-0001");
    assert_eq!(r["fill_date"], "2024-01-25");
    assert_eq!(r["submitted_at"], "2024-02-03T16:22:10+08:00");
    assert_eq!(r["budget_wan"], 12.5);
    assert_eq!(r["managers"], 5);
    assert!(r["account"].is_null());
    assert!(r["unit_type"].is_null());
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["legacy"], false);
    assert_eq!(r["year"], 2024);
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for it in items {
        for (key, _, _) in ITEM_FIELDS {
            assert!(it.get(*key).is_some(), "item key {key}");
        }
    }
    assert_eq!(items[0]["start_date"], "2024-05-20");
    assert_eq!(items[1]["end_date"], "2024-06-03");
    assert_eq!(items[0]["participants"], 120);

    let sources = r["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[0]["file"], "in/a.pdf");
    assert_eq!(sources[0]["kind"], "pdf");
    assert_eq!(sources[0]["pages"], 2);
    let f = &sources[0]["fields"];
    assert_eq!(f["unit_name"]["method"], "text");
    assert_eq!(f["unit_name"]["page"], 1);
    assert_eq!(f["items[1].occupation"]["confidence"], 1.0);
    assert!(
        f.get("submitted_at").is_none(),
        "submitted_at came from the sheet"
    );
    let s = &sources[1]["fields"]["submitted_at"];
    assert_eq!(s["method"], "sheet");
    assert_eq!(s["row"], 3);
    assert_eq!(s["sheet"], "Sheet1");
    assert!(s["page"].is_null());

    assert_eq!(r["seal"]["present"], true);
    assert_eq!(r["seal"]["confidence"], 0.9);

    // review: low confidence keeps its short decimal
    assert_eq!(recs[1]["verdict"], "review");
    assert_eq!(
        recs[1]["sources"][0]["fields"]["items[0].occupation"]["confidence"],
        0.62
    );
    assert_eq!(recs[1]["findings"][0]["rule"], "finish-by");
    assert_eq!(recs[1]["findings"][0]["item"], 0);

    // return: findings point at file and page
    let ret = &recs[2];
    assert_eq!(ret["verdict"], "return");
    assert_eq!(ret["findings"][0]["severity"], "return");
    assert_eq!(ret["findings"][0]["file"], "in/c.pdf");
    assert_eq!(ret["findings"][0]["page"], 2);
    assert!(ret["findings"][1].get("file").is_none());
    assert_eq!(ret["seal"]["present"], false);
    assert!(ret["seal"]["text"].is_null());
    assert_eq!(ret["disagreements"][0]["field"], "contact_phone");
    assert_eq!(ret["disagreements"][0]["sheet"]["value"], "13800000000");

    assert_eq!(recs[3]["unit_name"], "=HYPERLINK(\"http://x\")");

    let errs = fs::read_to_string(tmp.path().join("file-errors.jsonl")).unwrap();
    assert_eq!(errs.lines().count(), 1);
    let e: serde_json::Value = serde_json::from_str(errs.lines().next().unwrap()).unwrap();
    assert_eq!(e["code"], "encrypted");
    assert_eq!(e["file"], "in/<坏>.pdf");
}

#[test]
fn html_is_escaped_self_contained_and_complete() {
    let tmp = tempfile::tempdir().unwrap();
    write_fixture(tmp.path());
    let html = fs::read_to_string(tmp.path().join("review-report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("申报材料审核报告"));
    assert!(html.contains("2024年巴渝工匠杯申报审核"));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("=HYPERLINK(&quot;http://x&quot;)"));
    assert!(html.contains("in/d &amp; &#39;x&#39;.pdf"));
    assert!(html.contains("in/&lt;坏&gt;.pdf"));
    assert!(!html.contains("<坏>"));
    for word in ["通过", "复核", "退回", "提示"] {
        assert!(html.contains(word), "{word}");
    }
    // summary tables, rule names, file-error reason, skipped files
    for s in [
        "按赛事类别",
        "按主管部门",
        "按审核规则",
        "公章",
        "申报时间",
        "完成时间",
        "无法读取的文件",
        "文件已加密或设有密码，无法读取",
        "PDF has /Encrypt",
        "in/readme.txt",
        "未加盖申报单位公章",
        "第2页",
        "置信度 62%",
        "表单与汇总表不一致",
    ] {
        assert!(html.contains(s), "missing {s}");
    }
    // one closed details block per declaration, linked from the list
    assert_eq!(html.matches("<details class=\"d\" id=\"d").count(), 4);
    assert!(html.contains("href=\"#d2\""));
    // nothing loaded from anywhere
    for bad in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(bad), "{bad}");
    }
    assert!(!html.contains("<link"));
    // the only script is ours
    assert_eq!(html.matches("<script").count(), 1);
}

#[test]
fn csv_has_bom_and_guards_formulas() {
    let tmp = tempfile::tempdir().unwrap();
    write_fixture(tmp.path());
    let bytes = fs::read(tmp.path().join("review-report.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let mut rdr = ::csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(headers, super::csv::REVIEW_HEADERS);
    let rows: Vec<::csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(&rows[0][7], "通过");
    assert_eq!(&rows[2][7], "退回");
    assert!(rows[2][8].contains("未加盖申报单位公章"));
    assert!(rows[1][9].contains("计划结束日期"));
    assert_eq!(&rows[0][6], "2");
    assert_eq!(&rows[3][1], "'=HYPERLINK(\"http://x\")");
    assert_eq!((&rows[0][11], &rows[0][12]), ("有", "是"));
    assert_eq!((&rows[2][11], &rows[2][12]), ("无", ""));
    assert_eq!(&rows[0][13], "in/a.pdf；in/汇总表.xlsx");

    let errs = fs::read(tmp.path().join("file-errors.csv")).unwrap();
    assert!(errs.starts_with(b"\xEF\xBB\xBF"));
    let errs = String::from_utf8(errs[3..].to_vec()).unwrap();
    assert!(errs.starts_with("文件,原因,详情\r\n"));
    assert!(errs.contains("文件已加密或设有密码"));

    let roster = fs::read(tmp.path().join("roster.csv")).unwrap();
    assert!(roster.starts_with(b"\xEF\xBB\xBF"));
    let roster = String::from_utf8(roster[3..].to_vec()).unwrap();
    let mut rdr = ::csv::Reader::from_reader(roster.as_bytes());
    assert_eq!(rdr.headers().unwrap().len(), 16);
    let rows: Vec<::csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3, "the pass items only");
    assert_eq!(&rows[0][0], "1");
    assert_eq!(&rows[0][11], "2024-05-20");
    assert_eq!(&rows[2][4], "'=HYPERLINK(\"http://x\")");
}

#[test]
fn csv_safe_prefixes_formula_starts() {
    for s in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
        assert_eq!(csv_safe(s), format!("'{s}"));
    }
    for s in ["重庆", "2024-05-20", "", "a=b"] {
        assert_eq!(csv_safe(s), s);
    }
}

fn cell_str(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

#[test]
fn roster_xlsx_has_pass_and_review_sheets() {
    let tmp = tempfile::tempdir().unwrap();
    write_fixture(tmp.path());
    let mut wb: Xlsx<_> = open_workbook(tmp.path().join("roster.xlsx")).unwrap();
    assert_eq!(wb.sheet_names(), vec!["通过名单", "待复核"]);

    let pass = wb.worksheet_range("通过名单").unwrap();
    let rows: Vec<&[Data]> = pass.rows().collect();
    assert_eq!(rows.len(), 1 + 3, "header + 2 items + 1 item");
    let header: Vec<String> = rows[0].iter().map(cell_str).collect();
    assert_eq!(header[0], "序号");
    assert_eq!(header[7], "竞赛职业（工种）");
    assert_eq!(header[15], "联系电话");
    assert_eq!(header.len(), 16);
    assert_eq!(rows[1][0], Data::Float(1.0));
    assert_eq!(cell_str(&rows[1][1]), "BY2024-0001");
    assert_eq!(cell_str(&rows[2][7]), "网络与信息安全管理员");
    assert_eq!(rows[1][13], Data::Float(120.0), "participants is a number");
    assert_eq!(cell_str(&rows[1][15]), "02388152326", "phone keeps its 0");
    match &rows[1][11] {
        Data::DateTime(dt) => {
            assert!(dt.is_datetime());
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            assert_eq!((y, m, d), (2024, 5, 20));
        }
        other => panic!("start date is not a date cell: {other:?}"),
    }
    // the formula-like unit name is a literal string
    assert_eq!(cell_str(&rows[3][4]), "=HYPERLINK(\"http://x\")");
    let formulas = wb.worksheet_formula("通过名单").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formulas in the roster"
    );

    let review = wb.worksheet_range("待复核").unwrap();
    let rows: Vec<&[Data]> = review.rows().collect();
    assert_eq!(rows.len(), 1 + 1);
    assert_eq!(cell_str(&rows[0][16]), "复核事项");
    assert_eq!(cell_str(&rows[1][1]), "BY2024-0002");
    assert!(cell_str(&rows[1][16]).contains("计划结束日期晚于"));
}

#[test]
fn failures_name_the_file_and_leave_no_temp() {
    let tmp = tempfile::tempdir().unwrap();
    // the output folder is a file
    let file = tmp.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    let err = write_all(&file, &run(), &Store::new(), &[], &[]).unwrap_err();
    assert!(matches!(err, ReportError::CreateDir { .. }));
    assert_eq!(err.path(), file.as_path());

    // a failing body removes its temp file
    let dir = tmp.path().join("out");
    fs::create_dir(&dir).unwrap();
    let err = atomic::stage(&dir, "x.txt", |w| {
        use std::io::Write;
        w.write_all(b"half")?;
        Err(io::Error::other("disk full"))
    })
    .unwrap_err();
    assert!(err.to_string().contains("x.txt"));
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);

    // staged but never committed: removed on drop
    let s = atomic::stage(&dir, "y.txt", |_| Ok(())).unwrap();
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    drop(s);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn stays_small_with_3000_declarations() {
    let base = fixtures();
    let decls: Vec<Declaration> = (0..3000)
        .map(|i| {
            let mut d = base[i % base.len()].clone();
            d.fields.insert(
                "declaration_id".into(),
                text(&format!("BY2024-{i:04}"), "in/a.pdf"),
            );
            d
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    write_all(tmp.path(), &run(), &Store::from_decls(&decls), &[], &[]).unwrap();
    let took = started.elapsed();
    let html = fs::metadata(tmp.path().join("review-report.html"))
        .unwrap()
        .len();
    if let Ok(dir) = std::env::var("SHENBAO_REPORT_DUMP") {
        for name in OUTPUT_FILES {
            fs::copy(tmp.path().join(name), Path::new(&dir).join(name)).unwrap();
        }
    }
    eprintln!("3000 declarations: html {} KiB, {:?}", html / 1024, took);
    assert!(html < 20 * 1024 * 1024, "html is {html} bytes");
    let records = fs::read_to_string(tmp.path().join("records.jsonl")).unwrap();
    assert_eq!(records.lines().count(), 3000);
}

#[test]
fn empty_store_still_writes_every_output() {
    let tmp = tempfile::tempdir().unwrap();
    write_all(tmp.path(), &run(), &Store::new(), &[], &[]).unwrap();
    let html = fs::read_to_string(tmp.path().join("review-report.html")).unwrap();
    assert!(html.contains("没有读取到申报材料。"));
    assert!(html.contains("没有发现问题"));
    assert!(html.ends_with("</body></html>\n"));
    let mut wb: Xlsx<_> = open_workbook(tmp.path().join("roster.xlsx")).unwrap();
    assert_eq!(wb.sheet_names(), vec!["通过名单", "待复核"]);
    let pass = wb.worksheet_range("通过名单").unwrap();
    assert_eq!(pass.rows().count(), 1, "the header only");
    let review = wb.worksheet_range("待复核").unwrap();
    let header: Vec<String> = review.rows().next().unwrap().iter().map(cell_str).collect();
    assert_eq!(header.len(), 17);
    assert_eq!(header[16], "复核事项");
}

/// The HTML highlights the values read below the pipeline's own threshold, not a fixed one.
#[test]
fn html_highlights_below_the_pipelines_threshold() {
    let lows = |threshold: f32| {
        let tmp = tempfile::tempdir().unwrap();
        let summary = RunSummary { low_confidence: threshold, ..run() };
        write_all(tmp.path(), &summary, &Store::from_decls(&fixtures()), &[], &[]).unwrap();
        fs::read_to_string(tmp.path().join("review-report.html")).unwrap().matches("<td class=\"low\"").count()
    };
    assert!(lows(0.8) >= 1, "the value read at 0.62 is highlighted under a 0.8 threshold");
    assert_eq!(lows(0.5), 0, "and not under a 0.5 threshold");
}
