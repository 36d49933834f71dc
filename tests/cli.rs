//! The command line as a reviewer and a nightly job use it: exit codes, error messages, bad
//! input mixed with good, and the outputs' presence.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;

#[test]
fn bad_pipeline_file_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(pipeline_file()).unwrap().replace("max_items = 5", "max_items = -5");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    let out = shenbao(&["run", "samples", "--pipeline", bad.to_str().unwrap(), "--out", dir.path().join("o").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_items"), "{err}");
    assert!(!dir.path().join("o/records.jsonl").exists(), "nothing is written on a pipeline error");

    let text = std::fs::read_to_string(pipeline_file()).unwrap().replace("end_by = \"2024-11-15\"", "end_by = \"mid-November\"");
    std::fs::write(&bad, text).unwrap();
    let out = shenbao(&["run", "samples", "--pipeline", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("end_by"));

    let out = shenbao(&["run", "samples", "--pipeline", "/nonexistent/p.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/p.toml"));

    let out = shenbao(&["run", "--jobs", "zero"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn fail_on_gives_status_3_for_nightly_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    samples(&input, 24, 11);
    let (out, records, _) = review(&[&input], &dir.path().join("o1"), &[]);
    assert_eq!(out.status.code(), Some(0), "verdicts do not change the exit status");
    assert!(records.iter().any(|r| r["verdict"] == "return"));
    let (out, _, _) = review(&[&input], &dir.path().join("o2"), &["--fail-on", "return"]);
    assert_eq!(out.status.code(), Some(3));
    let (out, _, _) = review(&[&input], &dir.path().join("o3"), &["--fail-on", "review"]);
    assert_eq!(out.status.code(), Some(3));
}

fn verdicts(records: &[serde_json::Value]) -> BTreeMap<String, String> {
    records
        .iter()
        .map(|r| (r["declaration_id"].as_str().unwrap_or("?").to_string(), r["verdict"].as_str().unwrap().to_string()))
        .collect()
}

/// Every malformed, encrypted, truncated or fuzzed file of the corpora, run together
/// with good files: the run completes, every bad file is reported with a reason, and the good
/// files' results are exactly what they are without the bad ones.
#[test]
fn bad_files_are_reported_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    samples(&good, 30, 5);
    let (out, alone, _) = review(&[&good], &dir.path().join("alone"), &[]);
    ok(&out);

    let mixed = dir.path().join("mixed");
    copy_dir(&good, &mixed.join("good"));
    for corpus in ["pdf-oddities", "sheet-oddities"] {
        copy_dir(&corpora().join(corpus), &mixed.join(corpus));
    }
    // a JPEG named .pdf, an empty xlsx, a zip that is not a workbook, a text file named .xls
    std::fs::write(mixed.join("photo.pdf"), [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F']).unwrap();
    std::fs::write(mixed.join("empty.xlsx"), b"").unwrap();
    {
        let f = std::fs::File::create(mixed.join("not-a-workbook.xlsx")).unwrap();
        let mut z = zip::ZipWriter::new(f);
        z.start_file("hello.txt", zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut z, b"hello").unwrap();
        z.finish().unwrap();
    }
    std::fs::write(mixed.join("notes.xls"), "这不是表格").unwrap();

    let started = std::time::Instant::now();
    let (out, records, errors) = review(&[&mixed], &dir.path().join("mixed-out"), &[]);
    ok(&out);
    assert!(started.elapsed().as_secs() < 120, "the batch must not hang");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&out.stderr));

    // the good files' results are all there, unchanged
    assert_eq!(verdicts(&records), verdicts(&alone));

    // every bad document appears with a code and a Chinese reason
    let by_file: BTreeMap<String, &serde_json::Value> =
        errors.iter().map(|e| (Path::new(e["file"].as_str().unwrap()).file_name().unwrap().to_string_lossy().to_string(), e)).collect();
    for corpus in ["pdf-oddities", "sheet-oddities"] {
        for e in std::fs::read_dir(corpora().join(corpus)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            if name.ends_with(".md") {
                continue;
            }
            let err = by_file.get(&name).unwrap_or_else(|| panic!("{corpus}/{name} is not in file-errors.jsonl"));
            assert!(!err["code"].as_str().unwrap().is_empty());
            assert!(err["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{err}");
        }
    }
    let code = |name: &str| by_file.get(name).map(|e| e["code"].as_str().unwrap().to_string()).unwrap_or_default();
    assert_eq!(code("photo.pdf"), "damaged", "a truncated JPEG, whatever its name");
    assert_eq!(by_file["photo.pdf"]["kind"], "jpeg", "classified by content");
    assert_eq!(code("empty.xlsx"), "empty");
    assert_eq!(code("not-a-workbook.xlsx"), "unsupported");
    assert_eq!(code("notes.xls"), "unsupported");
    assert_eq!(code("22060_A1_01_Plans.pdf"), "empty");
    assert_eq!(code("pass_protected.xlsx"), "encrypted");
    assert_eq!(code("pass_protected.ods"), "encrypted");
    // the HTML report lists them in its own section
    let html = std::fs::read_to_string(dir.path().join("mixed-out/review-report.html")).unwrap();
    assert!(html.contains("无法读取的文件"));
    assert!(html.contains("pass_protected.xlsx"));
}

#[test]
fn outputs_replace_old_ones_whole() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    samples(&input, 20, 3);
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("records.jsonl"), "stale\n").unwrap();
    let (out, records, _) = review(&[&input], &out_dir, &[]);
    ok(&out);
    assert!(records.len() >= 20);
    let names: Vec<String> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    for expected in ["records.jsonl", "file-errors.jsonl", "review-report.html", "review-report.csv", "roster.xlsx", "roster.csv"] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing: {names:?}");
    }
    assert!(names.iter().all(|n| !n.contains(".tmp")), "no temporary files left: {names:?}");
}

fn cjk_multiset(s: &str) -> BTreeMap<char, usize> {
    let mut m = BTreeMap::new();
    for c in s.chars().filter(|c| matches!(*c as u32, 0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x3040..=0x30FF | 0xAC00..=0xD7AF)) {
        *m.entry(c).or_insert(0) += 1;
    }
    m
}

/// The outside check of the CJK reader, through the command a reviewer would use.
#[test]
fn inspect_text_recovers_the_cjk_corpus() {
    let corpus = corpora().join("pdf-cjk");
    let mut checked = 0;
    for e in std::fs::read_dir(&corpus).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "pdf") {
            continue;
        }
        let expected = std::fs::read_to_string(path.with_extension("expected.txt")).unwrap();
        let out = shenbao(&["inspect", "--text", path.to_str().unwrap()]);
        ok(&out);
        let want = cjk_multiset(&expected);
        let got = cjk_multiset(&String::from_utf8_lossy(&out.stdout));
        let total: usize = want.values().sum();
        let found: usize = want.iter().map(|(c, n)| (*n).min(*got.get(c).unwrap_or(&0))).sum();
        let ratio = found as f64 / total.max(1) as f64;
        println!("{:28} {found}/{total} = {ratio:.4}", path.file_name().unwrap().to_string_lossy());
        assert!(ratio >= 0.99, "{}: {ratio:.4}", path.display());
        checked += 1;
    }
    assert!(checked >= 6);
}

#[test]
fn inspect_shows_fields_with_their_provenance() {
    let dir = tempfile::tempdir().unwrap();
    samples(dir.path(), 3, 9);
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("truth.json")).unwrap()).unwrap();
    let t = &truth["declarations"][0];
    let form = dir.path().join(t["form_file"].as_str().unwrap());
    let out = shenbao(&["inspect", form.to_str().unwrap()]);
    ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fields"]["unit_name"]["value"], t["fields"]["unit_name"]);
    assert_eq!(v["fields"]["unit_name"]["source"]["method"], "text");
    assert_eq!(v["fields"]["unit_name"]["source"]["page"], 1);
    assert_eq!(v["items"][0]["occupation"]["value"], t["items"][0]["occupation"]);
    // a form alone cannot show when it was submitted: a person must look
    assert!(v["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "deadline" && f["severity"] == "review"));
    // and its seal, as the records give it: this set's first form carries none, its second
    // the applicant's own
    assert_eq!((&t["seal"]["present"], &v["seal"]["present"]), (&false.into(), &false.into()), "{}", v["seal"]);
    let t = &truth["declarations"][1];
    assert_eq!(t["seal"]["kind"], "own");
    let out = shenbao(&["inspect", dir.path().join(t["form_file"].as_str().unwrap()).to_str().unwrap()]);
    ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&v["seal"]["present"], &v["seal"]["matches_unit"], &v["seal"]["page"]), (&true.into(), &true.into(), &1.into()), "{}", v["seal"]);
    assert!(v["seal"]["readings"].as_array().is_some_and(|r| !r.is_empty()), "{}", v["seal"]);
}

/// `--legacy` says which inputs are paper-era records when the document cannot: they are
/// migrated as legacy, and the 2024-only rules are not held against them.
#[test]
fn legacy_flag_marks_inputs_as_paper_era_records() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    samples(&input, 8, 11);
    let forms = input.join("forms");
    let only_2024 = ["deadline", "event-catalogue", "item-catalogue", "finish-by", "undertaker-limits"];
    let (out, records, _) = review(&[&forms], &dir.path().join("o1"), &[]);
    ok(&out);
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r["legacy"] == false), "2024 forms are not legacy by themselves");
    let (out, records, _) = review(&[&forms], &dir.path().join("o2"), &["--legacy", forms.to_str().unwrap()]);
    ok(&out);
    assert!(!records.is_empty());
    for r in &records {
        assert_eq!(r["legacy"], true, "{}", r["declaration_id"]);
        for f in r["findings"].as_array().unwrap() {
            assert!(!only_2024.contains(&f["rule"].as_str().unwrap()), "a 2024-only rule on a legacy record: {f}");
        }
    }
}

/// The nightly job reviews the same uploads again: electronic seal images read in an earlier
/// run come from the output folder's cache, and the records are exactly those of a fresh run.
#[test]
fn a_rerun_reads_no_seal_again_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    samples(&input, 12, 5);
    let out = dir.path().join("out");
    let seals_read = |o: &std::process::Output| -> u64 {
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        let line = err.lines().find(|l| l.contains("seals read")).unwrap_or_else(|| panic!("no timings: {err}")).to_string();
        let before = line.split(" seals read").next().unwrap();
        before.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let (first, records, _) = review(&[&input], &out, &["--timings"]);
    ok(&first);
    assert!(seals_read(&first) > 0, "the first run reads the seals");
    let (again, records_again, _) = review(&[&input], &out, &["--timings"]);
    ok(&again);
    assert_eq!(seals_read(&again), 0, "the rerun reads them from the cache");
    assert_eq!(records, records_again);
    let (fresh, records_fresh, _) = review(&[&input], &dir.path().join("fresh"), &["--no-cache"]);
    ok(&fresh);
    assert_eq!(records, records_fresh);
    assert!(!dir.path().join("fresh/.cache").exists(), "--no-cache keeps nothing");
}
