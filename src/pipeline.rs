//! Running the stages over a batch: discover → read + extract (rayon over files, panics
//! contained per file) → assemble → check. Per-file errors are collected, never fatal.
//! Only the small extracted records are kept; file bytes are dropped as soon as a file is read.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::assemble::{group_key, merge, Piece};
use crate::check::{check_one, cross_findings, finish, CrossView};
use crate::config::Pipeline;
use crate::discover::{self, Discovered, FileKind};
use crate::extract;
use crate::model::{Extracted, FileError, SourceFile, Verdict};
use crate::store::{self, Store};
use crate::read::{self, ReadError};

/// Files larger than this are refused before reading (a declaration is a few MB at most).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Options {
    pub inputs: Vec<PathBuf>,
    /// worker threads; None = one per core
    pub jobs: Option<usize>,
    pub progress: bool,
}

#[derive(Debug, Default)]
pub struct RunResult {
    /// the checked declarations, in key order
    pub store: Store,
    /// each declaration's verdict, in the store's order
    pub verdicts: Vec<Verdict>,
    pub file_errors: Vec<FileError>,
    pub skipped: Vec<String>,
    pub files_seen: usize,
    pub seconds: f64,
}

/// What one file gave.
enum Outcome {
    Pieces(Vec<Piece>),
    Error(FileError),
}

fn file_error(file: &str, sha256: Option<String>, kind: &str, e: &ReadError) -> FileError {
    FileError {
        file: file.to_string(),
        sha256,
        kind: kind.to_string(),
        code: e.code().to_string(),
        message: e.message_zh().to_string(),
        detail: e.to_string(),
    }
}

fn custom_error(file: &str, sha256: Option<String>, kind: &str, code: &str, message: &str, detail: &str) -> FileError {
    FileError {
        file: file.to_string(),
        sha256,
        kind: kind.to_string(),
        code: code.to_string(),
        message: message.to_string(),
        detail: detail.to_string(),
    }
}

/// Reads and extracts one file. Never panics (the caller also contains panics).
fn process(p: &Pipeline, f: &Discovered) -> Outcome {
    let kind = f.kind.name();
    if f.size > MAX_FILE_BYTES {
        let e = ReadError::TooLarge(format!("{} bytes, limit {MAX_FILE_BYTES}", f.size));
        return Outcome::Error(file_error(&f.display, None, kind, &e));
    }
    match f.kind {
        FileKind::Empty => Outcome::Error(file_error(&f.display, None, kind, &ReadError::Empty)),
        FileKind::Unknown => Outcome::Error(file_error(
            &f.display,
            discover::hash_file(&f.path).ok(),
            kind,
            &ReadError::Unsupported("content is not PDF, image or spreadsheet".into()),
        )),
        FileKind::Pdf => {
            let bytes = match std::fs::read(&f.path) {
                Ok(b) => b,
                Err(e) => return Outcome::Error(file_error(&f.display, None, kind, &ReadError::Io(e))),
            };
            let sha = discover::hash_bytes(&bytes);
            let doc = match read::pdf::read_pdf(&bytes) {
                Ok(d) => d,
                Err(e) => return Outcome::Error(file_error(&f.display, Some(sha), kind, &e)),
            };
            drop(bytes);
            let source = SourceFile { file: f.display.clone(), sha256: sha.clone(), kind: kind.into(), pages: Some(doc.pages.len() as u32) };
            let has_text = doc.pages.iter().any(|pg| pg.spans.iter().any(|s| !s.text.trim().is_empty()));
            if !has_text {
                let images: u32 = doc.pages.iter().map(|pg| pg.image_count).sum();
                return Outcome::Error(custom_error(
                    &f.display,
                    Some(sha),
                    kind,
                    "no-text",
                    "PDF无文字层（扫描件），OCR识别尚未启用，需人工审核",
                    &format!("{} pages, {images} images, no text", doc.pages.len()),
                ));
            }
            match extract::extract_pdf(p, &f.display, &doc) {
                Ok(extracted) => Outcome::Pieces(vec![Piece { extracted, source }]),
                Err(e) => Outcome::Error(custom_error(
                    &f.display,
                    Some(sha),
                    kind,
                    "not-a-form",
                    "未识别出申报表内容（无申报表标题，字段标签过少）",
                    &format!("{} labels found", e.labels_found),
                )),
            }
        }
        FileKind::Image(_) => Outcome::Error(custom_error(
            &f.display,
            discover::hash_file(&f.path).ok(),
            kind,
            "no-text",
            "图片（扫描件）无文字层，OCR识别尚未启用，需人工审核",
            "image input",
        )),
        FileKind::Sheet(format) => {
            let sha = discover::hash_file(&f.path).ok();
            let sheets = match read::sheet::read_sheets(&f.path, format) {
                Ok(s) => s,
                Err(e) => return Outcome::Error(file_error(&f.display, sha, kind, &e)),
            };
            let source = SourceFile { file: f.display.clone(), sha256: sha.clone().unwrap_or_default(), kind: kind.into(), pages: None };
            match extract::extract_sheets(p, &f.display, &sheets) {
                Ok(records) => Outcome::Pieces(
                    records
                        .into_iter()
                        .map(|extracted: Extracted| Piece { extracted, source: source.clone() })
                        .collect(),
                ),
                Err(_) => Outcome::Error(custom_error(
                    &f.display,
                    sha,
                    kind,
                    "not-a-summary",
                    "表格中未找到申报汇总表表头（申报编号、申报单位、竞赛职业等列）",
                    &format!("{} sheets, no header row with known column names", sheets.len()),
                )),
            }
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs the review over the inputs.
pub fn run(p: &Pipeline, opts: &Options) -> RunResult {
    let start = Instant::now();
    let walk = discover::walk(&opts.inputs);
    let mut file_errors: Vec<FileError> = walk
        .errors
        .iter()
        .map(|(file, why)| custom_error(file, None, "unknown", "io", "无法访问该输入路径", why))
        .collect();

    let bar = if opts.progress { ProgressBar::new(walk.files.len() as u64) } else { ProgressBar::hidden() };
    if opts.progress {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} 审核 {pos}/{len} 个文件 [{bar:30}] {per_sec} 剩余 {eta}")
                .unwrap()
                .progress_chars("=> "),
        );
    }

    let pool = rayon::ThreadPoolBuilder::new().num_threads(opts.jobs.unwrap_or(0)).build().expect("thread pool");
    // map: each file's records are encoded as they come, with the key that joins them (the
    // batch holds compact bytes, not parsed documents or whole records)
    let errors = Mutex::new(Vec::new());
    let pieces: Mutex<Vec<(String, String, Box<[u8]>)>> = Mutex::new(Vec::new());
    pool.install(|| {
        walk.files.par_iter().enumerate().for_each(|(n, f)| {
            let outcome = catch_unwind(AssertUnwindSafe(|| process(p, f))).unwrap_or_else(|payload| {
                Outcome::Error(file_error(&f.display, None, f.kind.name(), &ReadError::Panic(panic_message(payload.as_ref()))))
            });
            bar.inc(1);
            match outcome {
                Outcome::Pieces(v) => {
                    let encoded: Vec<_> = v
                        .iter()
                        .enumerate()
                        .map(|(i, pc)| (group_key(&pc.extracted, n * 100_000 + i), pc.source.file.clone(), store::encode(pc)))
                        .collect();
                    pieces.lock().unwrap().extend(encoded);
                }
                Outcome::Error(e) => errors.lock().unwrap().push(e),
            }
        })
    });
    bar.finish_and_clear();
    file_errors.extend(errors.into_inner().unwrap());
    file_errors.sort_by(|a, b| a.file.cmp(&b.file));

    // assemble + per-declaration rules, one group at a time, in parallel; keep the encoded
    // declaration and the small view the cross rules need
    let mut pieces = pieces.into_inner().unwrap();
    pieces.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut groups: Vec<(String, Vec<Box<[u8]>>)> = Vec::new();
    for (key, _, blob) in pieces {
        match groups.last_mut() {
            Some((k, v)) if *k == key => v.push(blob),
            _ => groups.push((key, vec![blob])),
        }
    }
    let checked: Vec<(Box<[u8]>, CrossView, Verdict)> = pool.install(|| {
        groups
            .into_par_iter()
            .map(|(key, blobs)| {
                let group: Vec<Piece> = blobs.iter().map(|b| store::decode(b)).collect();
                let mut d = merge(p, key, group);
                check_one(p, &mut d);
                finish(&mut d);
                (store::encode(&d), CrossView::of(&d), d.verdict)
            })
            .collect()
    });
    let mut blobs = Vec::with_capacity(checked.len());
    let mut views = Vec::with_capacity(checked.len());
    let mut verdicts = Vec::with_capacity(checked.len());
    for (b, v, verdict) in checked {
        blobs.push(b);
        views.push(v);
        verdicts.push(verdict);
    }
    let mut store = Store::from_blobs(blobs);

    // reduce: the cross-declaration rules over the small views
    let mut extra: std::collections::BTreeMap<usize, Vec<crate::model::Finding>> = Default::default();
    for (i, f) in pool.install(|| cross_findings(p, &views)) {
        extra.entry(i).or_default().push(f);
    }
    for (i, found) in extra {
        let mut d = store.get(i);
        d.findings.extend(found);
        finish(&mut d);
        verdicts[i] = d.verdict;
        store.set(i, &d);
    }
    RunResult {
        store,
        verdicts,
        file_errors,
        skipped: walk.skipped,
        files_seen: walk.files.len(),
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Silences the default panic message for panics that a reader raises and the pipeline
/// contains (they are reported per file); other panics still print.
pub fn quiet_contained_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_worker = std::thread::current().name().is_some_and(|n| n.starts_with("rayon")) || rayon::current_thread_index().is_some();
        if !in_worker {
            default(info);
        }
    }));
}

/// For `inspect`: everything read from one document that needs no other document.
pub fn inspect(p: &Pipeline, path: &Path) -> Result<Vec<Piece>, FileError> {
    let (kind, size) = discover::classify(path).map_err(|e| custom_error(&path.display().to_string(), None, "unknown", "io", "无法读取文件", &e.to_string()))?;
    let f = Discovered { path: path.to_path_buf(), display: path.display().to_string(), kind, size };
    match catch_unwind(AssertUnwindSafe(|| process(p, &f))) {
        Ok(Outcome::Pieces(v)) => Ok(v),
        Ok(Outcome::Error(e)) => Err(e),
        Err(payload) => Err(file_error(&f.display, None, kind.name(), &ReadError::Panic(panic_message(payload.as_ref())))),
    }
}
