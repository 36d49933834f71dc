//! Seals through the real pipeline on a generated set mixing born-digital and scanned forms
//! (real Tesseract): the figures of the seals issue, printed — presence precision and recall,
//! `matches_unit` correctness, planted reuse and post-signing edits caught — with the floors
//! they must not fall below, and what a reviewer must never see: a form without the
//! applicant's seal passing.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::*;
use serde_json::Value;

#[test]
fn seals_are_found_read_and_matched() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let out = Command::new(bin())
        .args(["samples", "--out", input.to_str().unwrap(), "--count", "90", "--seed", "31", "--scanned", "0.3"])
        .current_dir(root())
        .output()
        .unwrap();
    ok(&out);
    let (out, records, _) = review(&[&input], &dir.path().join("out"), &[]);
    ok(&out);
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(input.join("truth.json")).unwrap()).unwrap();
    let by_file: BTreeMap<String, &Value> = records
        .iter()
        .flat_map(|r| r["sources"].as_array().unwrap().iter().map(move |s| (s["file"].as_str().unwrap().rsplit('/').next().unwrap().to_string(), r)))
        .collect();

    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    let (mut match_ok, mut match_n) = (0, 0);
    let mut by_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut reuse_caught, mut reuse_n, mut edit_caught, mut edit_n) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for t in truth["declarations"].as_array().unwrap() {
        let Some(file) = t["form_file"].as_str() else { continue };
        let ts = &t["seal"];
        let file = file.rsplit('/').next().unwrap();
        let r = by_file.get(file).unwrap_or_else(|| panic!("{file} has no record"));
        let s = &r["seal"];
        let id = t["declaration_id"].as_str().unwrap();
        let kind = format!("{}/{}", t["form_kind"].as_str().unwrap_or("?"), ts["kind"].as_str().unwrap());
        // presence
        match (ts["present"] == true, s["present"] == true) {
            (true, true) => tp += 1,
            (true, false) => {
                fn_ += 1;
                misses.push(format!("{id} {kind}: seal not found"));
            }
            (false, true) => {
                fp += 1;
                misses.push(format!("{id} {kind}: seal found where there is none"));
            }
            (false, false) => tn += 1,
        }
        // whose seal: true / false as planted (null counts as wrong: a person must look)
        if ts["present"] == true {
            match_n += 1;
            let e = by_kind.entry(kind.clone()).or_default();
            e.1 += 1;
            if s["matches_unit"] == ts["matches_unit"] {
                match_ok += 1;
                e.0 += 1;
            } else {
                misses.push(format!("{id} {kind}: matches_unit {} (truth {}), read {}", s["matches_unit"], ts["matches_unit"], s["text"]));
            }
        }
        let seal_findings: Vec<&Value> = r["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "seal").collect();
        let has = |needle: &str, sev: &str| seal_findings.iter().any(|f| f["message"].as_str().unwrap().contains(needle) && f["severity"] == sev);
        if ts["kind"] == "reused" || !ts["reused_by"].is_null() {
            reuse_n += 1;
            let sev = if ts["kind"] == "reused" { "return" } else { "review" };
            if has("同一印章", sev) {
                reuse_caught += 1;
            } else {
                misses.push(format!("{id} {kind}: reuse not flagged ({sev}): {seal_findings:?}"));
            }
        }
        if ts["appended"] == true {
            edit_n += 1;
            if has("签名后文件被修改", "return") {
                edit_caught += 1;
            } else {
                misses.push(format!("{id}: post-signing edit not caught"));
            }
        }
        if ts["signed"] == true && ts["appended"] == false {
            assert!(has("未验证签名证书链", "info"), "{id}: a signed form says the certificate is not validated");
        }
        // never a silent pass: without the applicant's seal the verdict is not `pass`
        if ts["matches_unit"] != true {
            assert_ne!(r["verdict"], "pass", "{id} {kind} passed without the applicant's seal: {s}");
        }
        // the evidence is there for the reviewer
        if s["present"] == true {
            assert!(s["size_mm"][0].as_f64().unwrap() > 30.0 && s["size_mm"][0].as_f64().unwrap() < 60.0, "{id}: {s}");
            assert_eq!(s["fingerprint"].as_str().unwrap().len(), 512, "{id}");
        }
    }
    // the reviewer sees each seal found beside its declaration
    let html = std::fs::read_to_string(dir.path().join("out/review-report.html")).unwrap();
    assert!(html.matches("data:image/png;base64,").count() >= tp, "a crop per seal found");
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    let matched = match_ok as f64 / match_n.max(1) as f64;
    println!("seal presence: precision {precision:.3} recall {recall:.3} ({tp} found, {fp} false, {fn_} missed, {tn} correctly none)");
    println!("matches_unit correct: {match_ok}/{match_n} = {matched:.3}");
    for (k, (a, n)) in &by_kind {
        println!("  {k:<16} {a}/{n}");
    }
    println!("reuse flagged: {reuse_caught}/{reuse_n}; post-signing edits caught: {edit_caught}/{edit_n}");
    for m in &misses {
        println!("  miss: {m}");
    }
    assert!(reuse_n > 0 && edit_n > 0, "the set plants reuse and post-signing edits");
    assert!(by_kind.keys().any(|k| k.ends_with("/other")) && by_kind.keys().any(|k| k.ends_with("/parent")), "{by_kind:?}");
    assert_eq!(edit_caught, edit_n, "every post-signing edit is caught");
    assert_eq!(reuse_caught, reuse_n, "every planted reuse is caught");
    assert!(precision >= 0.99 && recall >= 0.99, "presence precision {precision:.3} recall {recall:.3}");
    assert!(matched >= 0.97, "matches_unit {matched:.3}");
}
