//! Helpers for the integration tests: run the real binary, read its outputs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_shenbao"))
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real-world corpora the tests read (copied from the project's shared corpora, with their
/// licence notes): `pdf-cjk`, `pdf-oddities`, `sheet-oddities`.
pub fn corpora() -> PathBuf {
    root().join("tests/fixtures/corpora")
}

pub fn pipeline_file() -> PathBuf {
    root().join("pipelines/bayu-2024.toml")
}

pub fn shenbao(args: &[&str]) -> Output {
    Command::new(bin()).args(args).current_dir(root()).output().expect("run shenbao")
}

#[track_caller]
pub fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Generates a sample set with the real `shenbao samples`.
pub fn samples(dir: &Path, count: usize, seed: u64) {
    let out = shenbao(&[
        "samples",
        "--out",
        dir.to_str().unwrap(),
        "--count",
        &count.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    ok(&out);
}

/// Runs a review and returns (exit output, records, file errors).
pub fn review<P: AsRef<Path>>(inputs: &[P], out_dir: &Path, extra: &[&str]) -> (Output, Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let mut args: Vec<String> = vec!["run".into()];
    args.extend(inputs.iter().map(|p| p.as_ref().to_str().unwrap().to_string()));
    args.extend(["--out".into(), out_dir.to_str().unwrap().into(), "--quiet".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = Command::new(bin()).args(&args).current_dir(root()).output().expect("run shenbao");
    let records = read_jsonl(&out_dir.join("records.jsonl"));
    let errors = read_jsonl(&out_dir.join("file-errors.jsonl"));
    (out, records, errors)
}

pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(path) {
        Ok(s) => s.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("valid JSON line")).collect(),
        Err(_) => Vec::new(),
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
