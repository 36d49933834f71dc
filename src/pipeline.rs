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
use crate::model::{Extracted, FileError, Finding, Method, SealMark, Severity, SignatureInfo, SourceFile, Verdict};
use crate::seal;
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
    /// files under these paths are paper-era (legacy) records whatever their title says:
    /// for scans whose title cannot be read or names no year
    pub legacy: Vec<PathBuf>,
}

/// A path as canonical as it can be made (as given when it does not exist).
fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
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
            let (doc, full) = match read::pdf::read_pdf_with_doc(&bytes) {
                Ok(d) => d,
                Err(e) => return Outcome::Error(file_error(&f.display, Some(sha), kind, &e)),
            };
            let source = SourceFile { file: f.display.clone(), sha256: sha.clone(), kind: kind.into(), pages: Some(doc.pages.len() as u32) };
            let has_text = doc.pages.iter().any(|pg| pg.spans.iter().any(|s| !s.text.trim().is_empty()));
            if !has_text {
                // an image-only PDF: a scan
                let pages = doc.pages.len() as u32;
                drop(doc);
                drop(bytes);
                let mut seals = Vec::new();
                let (lines, coverage, thumbs) = match scanned_pdf_lines(p, &full, pages, Some((&f.display, &mut seals))) {
                    Ok(l) => l,
                    Err(e) => return Outcome::Error(ocr_error(&f.display, Some(sha), kind, e)),
                };
                drop(full);
                let read = extract::extract_form(p, &f.display, Method::Ocr, &lines);
                if coverage < SCAN_COVERAGE && read.is_err() {
                    return Outcome::Error(custom_error(
                        &f.display,
                        Some(sha),
                        kind,
                        "no-text",
                        "PDF无文字层，也不是整页扫描件，未识别出申报表内容",
                        &format!("{pages} pages, largest image covers {:.0}% of a page", coverage * 100.0),
                    ));
                }
                return scanned_outcome(p, &f.display, lines.len(), read, source, seals, &thumbs);
            }
            let signatures: Vec<SignatureInfo> = doc
                .signatures
                .iter()
                .map(|s| SignatureInfo {
                    file: f.display.clone(),
                    field: s.field_name.clone(),
                    page: s.page,
                    byte_range: s.byte_range.clone(),
                    covers_whole_file: s.covers_whole_file,
                    appended_bytes: match s.byte_range[..] {
                        [_, _, c, d] => (bytes.len() as i64 - c.saturating_add(d)).max(0) as u64,
                        _ => 0,
                    },
                })
                .collect();
            drop(bytes);
            match extract::extract_pdf(p, &f.display, &doc) {
                Ok(mut extracted) => {
                    // electronic seals: only pages that paint images can carry one
                    if doc.pages.iter().any(|pg| pg.image_count > 0) {
                        let expected = extracted.fields.get("unit_name").map(|f| f.value.to_string());
                        match seal::in_pdf(p, &full, doc.pages.len() as u32, &f.display, expected.as_deref()) {
                            Ok(s) => extracted.seals = s,
                            Err(e) => return Outcome::Error(ocr_error(&f.display, Some(sha), kind, e)),
                        }
                    }
                    extracted.signatures = signatures;
                    Outcome::Pieces(vec![Piece { extracted, source }])
                }
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
        FileKind::Image(_) => {
            let sha = discover::hash_file(&f.path).ok();
            let mut lines = Vec::new();
            let mut ocr_failure = None;
            let mut seals = Vec::new();
            let mut thumbs = Vec::new();
            let pages = read::image::for_each_page(&f.path, &read::image::ImageLimits::default(), |page| {
                let n = page.index as u32 + 1;
                match scanned_page(p, &page.image, n, page.effective_dpi(), Some(&f.display)) {
                    Ok((l, thumb, s)) => {
                        lines.extend(l);
                        seals.extend(s);
                        if thumbs.len() < extract::scan::MAX_THUMBS {
                            thumbs.push(thumb);
                        }
                        std::ops::ControlFlow::Continue(())
                    }
                    Err(e) => {
                        ocr_failure = Some(e);
                        std::ops::ControlFlow::Break(())
                    }
                }
            });
            let pages = match pages {
                Ok(n) => n,
                Err(e) => return Outcome::Error(file_error(&f.display, sha, kind, &e)),
            };
            if let Some(e) = ocr_failure {
                return Outcome::Error(ocr_error(&f.display, sha, kind, e));
            }
            let source = SourceFile { file: f.display.clone(), sha256: sha.unwrap_or_default(), kind: kind.into(), pages: Some(pages as u32) };
            let read = extract::extract_form(p, &f.display, Method::Ocr, &lines);
            scanned_outcome(p, &f.display, lines.len(), read, source, seals, &thumbs)
        }
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

/// Page lines of an image-only PDF, one page image at a time, and the largest share of a
/// page an image covers (a scan covers its page; a logo does not).
fn scanned_pdf_lines(
    p: &Pipeline,
    doc: &lopdf::Document,
    pages: u32,
    mut seals: Option<(&str, &mut Vec<SealMark>)>,
) -> Result<(Vec<extract::layout::Line>, f32, Vec<extract::scan::PageThumb>), ScanError> {
    let limits = read::image::ImageLimits::default();
    let mut lines = Vec::new();
    let mut thumbs = Vec::new();
    let mut coverage = 0.0f32;
    for page in 1..=pages {
        let Some(img) = read::pdfimage::largest_page_image(doc, page, &limits).map_err(ScanError::Read)? else { continue };
        coverage = coverage.max(img.coverage);
        let (l, thumb, found) = scanned_page(p, &img.image, page, img.dpi, seals.as_ref().map(|(file, _)| *file))?;
        lines.extend(l);
        if thumbs.len() < extract::scan::MAX_THUMBS {
            thumbs.push(thumb);
        }
        if let Some((_, out)) = seals.as_mut() {
            out.extend(found);
        }
    }
    Ok((lines, coverage, thumbs))
}

/// One scanned page: its lines and thumbnail, and the seals on it when `file` (the name they
/// are reported under) is given. The seals are a task of their own, for a worker with nothing
/// else to do (the batch's last page).
fn scanned_page(
    p: &Pipeline,
    img: &image::DynamicImage,
    page: u32,
    dpi: f32,
    file: Option<&str>,
) -> Result<(Vec<extract::layout::Line>, extract::scan::PageThumb, Vec<SealMark>), crate::ocr::OcrError> {
    let (read, found) = rayon::join(
        || extract::scan::page_lines(p, img, page, dpi),
        || file.map(|file| seal::on_page(p, img, dpi, file, page)).transpose(),
    );
    let (lines, thumb) = read?;
    Ok((lines, thumb, found?.unwrap_or_default()))
}

/// A page image covering at least this share of its page is a scan of the page.
const SCAN_COVERAGE: f32 = 0.5;

enum ScanError {
    Read(ReadError),
    Ocr(crate::ocr::OcrError),
}

impl From<crate::ocr::OcrError> for ScanError {
    fn from(e: crate::ocr::OcrError) -> Self {
        ScanError::Ocr(e)
    }
}

fn ocr_error(file: &str, sha256: Option<String>, kind: &str, e: impl Into<ScanError>) -> FileError {
    match e.into() {
        ScanError::Read(e) => file_error(file, sha256, kind, &e),
        ScanError::Ocr(e) => custom_error(
            file,
            sha256,
            kind,
            "ocr-unavailable",
            "扫描件需要OCR识别，但OCR引擎不可用（请运行 scripts/setup.sh 安装 Tesseract 中文数据）",
            &e.to_string(),
        ),
    }
}

/// A scan's record: the fields OCR could read. A scan that yields no form is a declaration
/// of its own that a person must look at, never a pass.
fn scanned_outcome(
    p: &Pipeline,
    file: &str,
    lines: usize,
    read: Result<Extracted, extract::NotAForm>,
    source: SourceFile,
    seals: Vec<SealMark>,
    thumbs: &[extract::scan::PageThumb],
) -> Outcome {
    let mut extracted = match read {
        Ok(mut e) => {
            extract::scan::attach_crops(p, &mut e, thumbs);
            e
        }
        Err(e) => {
            let mut f = Finding::new(
                "required",
                Severity::Review,
                format!(
                    "扫描件无法识别：未识别出申报表内容（识别到{}行文字、{}个字段标签），请人工审核原件",
                    lines,
                    e.labels_found
                ),
            );
            f.file = Some(file.to_string());
            Extracted { file: file.to_string(), method: Method::Ocr, fields: Default::default(), items: Vec::new(), legacy: false, year: None, findings: vec![f], seals: Vec::new(), signatures: Vec::new() }
        }
    };
    extracted.seals = seals;
    Outcome::Pieces(vec![Piece { extracted, source }])
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

    let legacy_roots: Vec<PathBuf> = opts.legacy.iter().map(|r| canonical(r)).collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(opts.jobs.unwrap_or(0)).build().expect("thread pool");
    // map: each file's records are encoded as they come, with the key that joins them (the
    // batch holds compact bytes, not parsed documents or whole records)
    let errors = Mutex::new(Vec::new());
    let pieces: Mutex<Vec<(String, String, Box<[u8]>)>> = Mutex::new(Vec::new());
    pool.install(|| {
        // the biggest files first, each to the next free worker: a large multi-page scan
        // started last would keep one worker busy alone at the end
        let mut order: Vec<(usize, &Discovered)> = walk.files.iter().enumerate().collect();
        order.sort_by_key(|(n, f)| (std::cmp::Reverse(f.size), *n));
        order.into_iter().par_bridge().for_each(|(n, f)| {
            let mut outcome = catch_unwind(AssertUnwindSafe(|| process(p, f))).unwrap_or_else(|payload| {
                Outcome::Error(file_error(&f.display, None, f.kind.name(), &ReadError::Panic(panic_message(payload.as_ref()))))
            });
            if let Outcome::Pieces(pieces) = &mut outcome {
                if !legacy_roots.is_empty() && legacy_roots.iter().any(|r| canonical(&f.path).starts_with(r)) {
                    for pc in pieces {
                        pc.extracted.legacy = true;
                        // a year of this call on a paper-era record is a misreading or a default
                        pc.extracted.year = pc.extracted.year.filter(|y| *y != p.meta.year);
                    }
                }
            }
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
    type Extra = (Vec<crate::model::Finding>, Option<crate::check::seal::SealOutcome>);
    let mut extra: std::collections::BTreeMap<usize, Extra> = Default::default();
    for (i, f) in pool.install(|| cross_findings(p, &views)) {
        extra.entry(i).or_default().0.push(f);
    }
    for (i, o) in pool.install(|| crate::check::seal::resolve(p, &views)) {
        extra.entry(i).or_default().1 = Some(o);
    }
    for (i, (found, seal)) in extra {
        let mut d = store.get(i);
        d.findings.extend(found);
        if let Some(o) = seal {
            crate::check::apply_seal(&mut d, o);
        }
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

/// For `inspect --text`: a document's text in reading order, page after page — the text
/// layer of a PDF, or what OCR reads on a scan (table cells separated by ` | `).
pub fn document_text(p: &Pipeline, path: &Path) -> Result<String, FileError> {
    let display = path.display().to_string();
    let (kind, _) = discover::classify(path).map_err(|e| custom_error(&display, None, "unknown", "io", "无法读取文件", &e.to_string()))?;
    // as the extractor sees them: unruled item tables rebuilt as rows of cells
    let lines_text = |lines: &[extract::layout::Line]| {
        let lines = extract::stream::rebuild(p, lines);
        lines.iter().map(|l| l.chunks.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" | ")).collect::<Vec<_>>().join("\n")
    };
    match kind {
        FileKind::Pdf => {
            let bytes = std::fs::read(path).map_err(|e| file_error(&display, None, "pdf", &ReadError::Io(e)))?;
            let (doc, full) = read::pdf::read_pdf_with_doc(&bytes).map_err(|e| file_error(&display, None, "pdf", &e))?;
            if doc.pages.iter().any(|pg| pg.spans.iter().any(|s| !s.text.trim().is_empty())) {
                // what the extractor sees: a ruled table's row as its cells, wrapped lines joined
                return Ok(lines_text(&extract::layout::lines_from_pages(&doc.pages)));
            }
            let (lines, _, _) = scanned_pdf_lines(p, &full, doc.pages.len() as u32, None).map_err(|e| ocr_error(&display, None, "pdf", e))?;
            Ok(lines_text(&lines))
        }
        FileKind::Image(_) => {
            let mut lines = Vec::new();
            let mut failure = None;
            read::image::for_each_page(path, &read::image::ImageLimits::default(), |page| {
                match extract::scan::page_lines(p, &page.image, page.index as u32 + 1, page.effective_dpi()) {
                    Ok((l, _)) => lines.extend(l),
                    Err(e) => failure = Some(e),
                }
                std::ops::ControlFlow::Continue(())
            })
            .map_err(|e| file_error(&display, None, kind.name(), &e))?;
            if let Some(e) = failure {
                return Err(ocr_error(&display, None, kind.name(), e));
            }
            Ok(lines_text(&lines))
        }
        _ => Err(custom_error(&display, None, kind.name(), "unsupported", "不是PDF或图片，没有可显示的文字", "inspect --text reads PDFs and images")),
    }
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
