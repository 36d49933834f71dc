//! The PDF reader against real-world corpora:
//! - `pdf-cjk`: real-world CJK PDFs with the text a mature extractor gets; we must recover at
//!   least 99 % of the expected CJK characters (as a multiset) from every file;
//! - `pdf-oddities`: malformed, truncated, encrypted and fuzzed files; every one must give
//!   `Ok` or the right `ReadError`, quickly, without a panic escaping.
//!
//! The corpora are in `tests/fixtures/corpora` (pdf.js test files, Apache-2.0: see the README
//! there), so the repository alone runs these tests.

use shenbao::read::pdf::{page_text, read_pdf};
use shenbao::read::ReadError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The corpus folder (tests/fixtures/corpora); a missing corpus fails the test (it must not
/// pass by skipping).
fn corpus(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpora").join(name);
    assert!(d.is_dir(), "corpus {} not found", d.display());
    d
}

fn pdfs_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus directory readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf")))
        .collect();
    v.sort();
    v
}

/// CJK ideographs (with extension A and compatibility ideographs), kana, hangul, CJK
/// punctuation and full-width forms.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x3040..=0x30FF | 0xAC00..=0xD7AF | 0x3000..=0x303F | 0xFF00..=0xFFEF)
}

fn cjk_counts(s: &str) -> HashMap<char, usize> {
    let mut m = HashMap::new();
    for c in s.chars().filter(|c| is_cjk(*c)) {
        *m.entry(c).or_insert(0) += 1;
    }
    m
}

/// sum over chars of min(got, expected) / total expected
fn recovered(got: &HashMap<char, usize>, expected: &HashMap<char, usize>) -> (usize, usize) {
    let total: usize = expected.values().sum();
    let hit: usize = expected
        .iter()
        .map(|(c, n)| (*n).min(got.get(c).copied().unwrap_or(0)))
        .sum();
    (hit, total)
}

#[test]
fn cjk_corpus_recovers_expected_characters() {
    let dir = corpus("pdf-cjk");
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for pdf in pdfs_in(&dir) {
        let expected_path = pdf.with_extension("expected.txt");
        let Ok(expected) = std::fs::read_to_string(&expected_path) else {
            continue;
        };
        let name = pdf.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&pdf).expect("read pdf");
        let t0 = Instant::now();
        let text = match read_pdf(&bytes) {
            Ok(doc) => doc
                .pages
                .iter()
                .map(page_text)
                .collect::<Vec<_>>()
                .join("\n"),
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                String::new()
            }
        };
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        let exp = cjk_counts(&expected);
        let got = cjk_counts(&text);
        let (hit, total) = recovered(&got, &exp);
        let ratio = if total == 0 {
            1.0
        } else {
            hit as f64 / total as f64
        };
        if ratio < 0.99 {
            let mut missing: Vec<(char, usize)> = exp
                .iter()
                .filter_map(|(c, n)| {
                    let g = got.get(c).copied().unwrap_or(0);
                    (g < *n).then_some((*c, n - g))
                })
                .collect();
            missing.sort();
            let sample: String = missing
                .iter()
                .take(40)
                .map(|(c, n)| format!("{c}×{n} "))
                .collect();
            failures.push(format!(
                "{name}: recovered {hit}/{total} = {ratio:.4}; missing: {sample}"
            ));
        }
        rows.push((name, hit, total, ratio, ms));
    }
    println!(
        "\n{:<28} {:>8} {:>8} {:>8} {:>9}",
        "file", "found", "expected", "ratio", "ms"
    );
    for (name, hit, total, ratio, ms) in &rows {
        println!("{name:<28} {hit:>8} {total:>8} {ratio:>8.4} {ms:>9.1}");
    }
    assert!(
        !rows.is_empty(),
        "no X.pdf with X.expected.txt in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "CJK recovery below 0.99:\n{}",
        failures.join("\n")
    );
}

/// Files of the oddities corpus that cannot be opened without a password (poppler's `pdfinfo`
/// says "Incorrect password" for each).
const NEEDS_PASSWORD: &[&str] = &[
    "issue21579.pdf",
    "issue3371.pdf",
    "issue6010_1.pdf",
    "issue6010_2.pdf",
    "pr6531_1.pdf",
    "print_protection.pdf",
    "saslprep-r6.pdf",
];

#[test]
fn oddities_never_panic_or_hang() {
    let dir = corpus("pdf-oddities");
    let limit = Duration::from_secs(5);
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for pdf in pdfs_in(&dir) {
        let name = pdf.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&pdf).expect("read pdf");
        let len = bytes.len();
        let (tx, rx) = mpsc::channel();
        let t0 = Instant::now();
        // a thread per file, so a hang shows up as a timeout instead of a stuck test
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(|| read_pdf(&bytes));
            let summary = match r {
                Ok(Ok(doc)) => Ok(Ok((
                    doc.pages.len(),
                    doc.pages.iter().map(|p| p.spans.len()).sum::<usize>(),
                ))),
                Ok(Err(e)) => Ok(Err((
                    e.code(),
                    matches!(e, ReadError::Empty),
                    matches!(e, ReadError::Encrypted(_)),
                    e.to_string(),
                ))),
                Err(_) => Err(()),
            };
            let _ = tx.send(summary);
        });
        let outcome = rx.recv_timeout(limit);
        let elapsed = t0.elapsed();
        let shown = match &outcome {
            Err(_) => {
                failures.push(format!("{name}: did not finish within {limit:?}"));
                "TIMEOUT".to_string()
            }
            Ok(Err(())) => {
                failures.push(format!("{name}: a panic escaped read_pdf"));
                "PANIC".to_string()
            }
            Ok(Ok(Ok((pages, spans)))) => {
                if len == 0 {
                    failures.push(format!("{name}: empty file read as Ok"));
                }
                if NEEDS_PASSWORD.contains(&name.as_str()) {
                    failures.push(format!("{name}: needs a password but read as Ok"));
                }
                format!("Ok({pages} pages, {spans} spans)")
            }
            Ok(Ok(Err((code, empty, encrypted, msg)))) => {
                if len == 0 && !empty {
                    failures.push(format!("{name}: empty file gave {code}, not empty"));
                }
                if NEEDS_PASSWORD.contains(&name.as_str()) && !encrypted {
                    failures.push(format!("{name}: needs a password but gave {code}"));
                }
                let msg: String = msg.chars().take(70).collect();
                format!("Err({code}: {msg})")
            }
        };
        if elapsed > limit {
            failures.push(format!("{name}: took {elapsed:?}"));
        }
        rows.push((name, len, shown, elapsed));
    }
    println!("\n{:<28} {:>8} {:>9}  result", "file", "bytes", "ms");
    for (name, len, shown, elapsed) in &rows {
        println!(
            "{name:<28} {len:>8} {:>9.1}  {shown}",
            elapsed.as_secs_f64() * 1000.0
        );
    }
    assert!(!rows.is_empty(), "no PDFs in {}", dir.display());
    assert!(failures.is_empty(), "oddities:\n{}", failures.join("\n"));
}
