//! OCR of page images with Tesseract: page bitmap → words with boxes and confidences, or one
//! region (a table cell) → text. Knows nothing of fields.
//!
//! * [`prep`]: grey, red seal ink removed, paper flattened, deskewed, binarised.
//! * [`grid`]: ruled table lines and cells ([`find_grid`]), for cell-by-cell recognition.
//! * [`OcrEngine`]: one Tesseract instance (`chi_sim+eng` by default), reused. Use
//!   [`with_engine`] to get the calling thread's instance (one per rayon worker, created on
//!   first use, kept for the thread's life).
//!
//! Tesseract links to the system libtesseract (5.x) through the `tesseract` crate of the
//! tesseract-rs project (`tesseract-sys` finds it with pkg-config and binds it with bindgen).
//!
//! **Threads.** Debian's libtesseract is built with OpenMP; each recognition would start its
//! own thread team and fight rayon for the cores. libgomp reads `OMP_THREAD_LIMIT` once, when
//! the library is loaded — before `main` runs — so setting it from `main` is too late. The
//! binary's `main` must call [`ensure_single_threaded_env`] first thing: if the variable is
//! not `1` it re-executes the program with `OMP_THREAD_LIMIT=1` and exits with the child's
//! status. Parallelism then comes from rayon over pages/documents only.
//!
//! **Noise.** Tesseract's diagnostics ("Estimating resolution as …", "Detected N diacritics")
//! go to `debug_file`, which is set to `/dev/null`; the source resolution is always set, so the
//! resolution warning is not produced in the first place.

pub mod dates;
pub mod grid;
pub mod memo;
#[cfg(feature = "ppocr")]
pub mod ppocr;
pub mod prep;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::GrayImage;
use tesseract::{OcrEngineMode, Tesseract};
use thiserror::Error;

pub use grid::{find_grid, find_grid_with, Cell, Grid, GridOptions, Line, Rect};
pub use prep::{prepare, Binarise, PrepOptions, Prepared};
/// Tesseract page segmentation modes (`PsmSingleLine` for a cell, `PsmSingleBlock` for a
/// region, `PsmAuto` / `PsmSparseText` for a whole page).
pub use tesseract::PageSegMode as Psm;

/// Why OCR failed. Recognition of a bad page is not an error (it yields few words with low
/// confidence); these are set-up and engine failures.
#[derive(Debug, Error)]
pub enum OcrError {
    #[error("Tesseract could not load language `{lang}` from {datapath}: {reason}; install tesseract-ocr-chi-sim / tesseract-ocr-eng (scripts/setup.sh) or set TESSDATA_PREFIX")]
    Init {
        lang: String,
        datapath: String,
        reason: String,
    },
    #[error("Tesseract failed: {0}")]
    Engine(String),
    #[error("image of {0} × {1} pixels is too large for Tesseract")]
    TooLarge(u32, u32),
}

/// Which Tesseract model to load.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// `+`-joined traineddata names, default `chi_sim+eng`.
    pub lang: String,
    /// Directory holding the `.traineddata` files; `None` lets Tesseract decide.
    pub datapath: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            lang: "chi_sim+eng".into(),
            datapath: default_datapath(),
        }
    }
}

/// `TESSDATA_PREFIX` if set, else the first existing Debian/Ubuntu/local tessdata directory.
pub fn default_datapath() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TESSDATA_PREFIX") {
        let p = PathBuf::from(p);
        if p.join("tessdata").is_dir() && !p.join("eng.traineddata").exists() {
            return Some(p.join("tessdata"));
        }
        return Some(p);
    }
    [
        "/usr/share/tesseract-ocr/5/tessdata",
        "/usr/share/tesseract-ocr/4.00/tessdata",
        "/usr/share/tessdata",
        "/usr/local/share/tessdata",
        "/opt/homebrew/share/tessdata",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_dir())
}

static CONFIG: OnceLock<EngineConfig> = OnceLock::new();

/// Set the model for every thread's engine; call before the first [`with_engine`]. Returns
/// the config back if one was already in force.
pub fn configure(cfg: EngineConfig) -> Result<(), EngineConfig> {
    CONFIG.set(cfg)
}

fn config() -> &'static EngineConfig {
    CONFIG.get_or_init(EngineConfig::default)
}

/// glibc's allocator settings for the re-executed process (unless `GLIBC_TUNABLES` is set
/// already). Page images and Tesseract's buffers, tens of MB, are allocated and freed for
/// every page; by default glibc maps each such block from the kernel and unmaps it when
/// freed, so its pages are faulted in and zeroed again every time. Kept in the heap instead
/// (blocks up to 32 MB, the most glibc allows; the heap trimmed only above 1 GB free).
const MALLOC_TUNABLES: &str = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864";

/// Re-execute the current program with `OMP_THREAD_LIMIT=1` unless it is already set to 1
/// (and with [`MALLOC_TUNABLES`]).
///
/// Call first thing in `main`, before any thread starts (the lead's `main.rs`). In the parent
/// this never returns: it waits for the child (same arguments, same stdin/stdout/stderr) and
/// exits with its status (128 + signal number if the child was killed). If the program
/// cannot be re-executed, it returns and the run continues (Tesseract then may use more
/// threads, which is slower on a loaded machine but not wrong). `SHENBAO_NO_REEXEC=1` turns
/// the re-execution off.
pub fn ensure_single_threaded_env() {
    if std::env::var_os("OMP_THREAD_LIMIT").is_some_and(|v| v == "1")
        || std::env::var_os("SHENBAO_NO_REEXEC").is_some()
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(exe);
    #[cfg(unix)]
    if let Some(a0) = args.next() {
        use std::os::unix::process::CommandExt;
        cmd.arg0(a0);
    }
    #[cfg(not(unix))]
    args.next();
    cmd.args(args).env("OMP_THREAD_LIMIT", "1");
    if std::env::var_os("GLIBC_TUNABLES").is_none() {
        cmd.env("GLIBC_TUNABLES", MALLOC_TUNABLES);
    }
    if let Ok(st) = cmd.status() {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(sig) = st.signal() {
                std::process::exit(128 + sig);
            }
        }
        std::process::exit(st.code().unwrap_or(1));
    }
}

/// One recognised word. Coordinates are pixels of the image passed in (for a region: of the
/// whole image, not the crop), `x1`/`y1` exclusive.
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    pub text: String,
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    /// Tesseract's word confidence scaled to 0..1.
    pub conf: f32,
    /// Tesseract's block / paragraph / line numbers; words with the same triple are on one
    /// text line, in reading order.
    pub block: u32,
    pub par: u32,
    pub line: u32,
}

/// A Tesseract instance per language set, with the current settings. Not `Send`: keep it on
/// its thread (see [`with_engine`]).
pub struct OcrEngine {
    cfg: EngineConfig,
    /// language set in use (default: the config's)
    lang: String,
    /// loaded instances by language set; `None` while one is lent to a recognition or after
    /// an engine error (rebuilt on next use)
    tess: Vec<(String, Option<Tesseract>)>,
    dpi: u32,
    region_text_px: Option<u32>,
    /// reuse readings of prints recognised before ([`memo`])
    memo: bool,
}

impl OcrEngine {
    /// An engine for the configured model set. Each language set is loaded (≈ 0.1–0.3 s,
    /// tens of MB) on its first use, so a run that only reads seals (`chi_sim`) never loads
    /// `chi_sim+eng`; `new` checks that the configured set loads.
    pub fn new(cfg: &EngineConfig) -> Result<Self, OcrError> {
        let e = OcrEngine {
            cfg: cfg.clone(),
            lang: cfg.lang.clone(),
            tess: Vec::new(),
            dpi: 300,
            region_text_px: Some(40),
            memo: false,
        };
        e.check_loads()
    }

    /// Whether the configured language set loads (checked once per process; the engine that
    /// makes the check keeps the instance it loaded).
    fn check_loads(mut self) -> Result<Self, OcrError> {
        static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
        let mut loaded = None;
        let r = CHECKED.get_or_init(|| match self.init(&self.cfg.lang) {
            Ok(t) => {
                loaded = Some(t);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        });
        if r.is_err() {
            self.init(&self.cfg.lang)?;
        }
        if let Some(t) = loaded {
            self.tess.push((self.cfg.lang.clone(), Some(t)));
        }
        Ok(self)
    }

    fn init(&self, lang: &str) -> Result<Tesseract, OcrError> {
        let dp = self.cfg.datapath.as_deref().and_then(Path::to_str);
        let err = |reason: String| OcrError::Init {
            lang: lang.to_string(),
            datapath: dp.unwrap_or("Tesseract's default path").to_string(),
            reason,
        };
        let mut t = Tesseract::new_with_oem(dp, Some(lang), OcrEngineMode::LstmOnly)
            .map_err(|e| err(e.to_string()))?;
        for (k, v) in [
            ("debug_file", "/dev/null"),
            // our pages are dark-on-light after prep: do not retry lines inverted
            ("tessedit_do_invert", "0"),
            ("preserve_interword_spaces", "1"),
        ] {
            t = t
                .set_variable(k, v)
                .map_err(|e| err(format!("setting {k}: {e}")))?;
        }
        Ok(t)
    }

    /// Switch the language set for the following calls (e.g. `"chi_sim"` for a cell known to
    /// hold only Chinese: with `+eng`, Tesseract sometimes prefers a Latin reading of CJK
    /// glyphs, `（盖章）` → `(ee)`). Each set is loaded once per engine, on first use.
    pub fn set_lang(&mut self, lang: &str) -> Result<(), OcrError> {
        if !self.tess.iter().any(|(l, _)| l == lang) {
            let t = self.init(lang)?;
            self.tess.push((lang.to_string(), Some(t)));
        }
        self.lang = lang.to_string();
        Ok(())
    }

    /// Back to the configured language set.
    pub fn reset_lang(&mut self) {
        self.lang = self.cfg.lang.clone();
    }

    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// Resolution told to Tesseract for the following images (default 300).
    pub fn set_dpi(&mut self, dpi: u32) {
        self.dpi = dpi.clamp(70, 2400);
    }

    pub fn dpi(&self) -> u32 {
        self.dpi
    }

    /// Regions whose text lines are taller than this (pixels, ×1.3) are downscaled before
    /// recognition so lines are about this tall — Tesseract's LSTM normalises lines to a
    /// fixed height anyway, so big text only costs time. `None` keeps regions at full size.
    /// Default `Some(40)` (12-pt text at 300 dpi is ≈ 50 px).
    pub fn set_region_text_px(&mut self, px: Option<u32>) {
        self.region_text_px = px;
    }

    pub fn region_text_px(&self) -> Option<u32> {
        self.region_text_px
    }

    /// Whether the following region recognitions reuse the batch's readings of prints that
    /// look the same ([`memo`]; default off). Only confident readings are reused.
    pub fn set_memo(&mut self, on: bool) {
        self.memo = on;
    }

    /// The batch's reading of a print like `crop`'s, kept under `mode` by
    /// [`remember`](Self::remember), its words placed on `crop` (crop pixels). `None` when the
    /// memo is off or no kept print matches.
    pub fn recall(&self, mode: &str, crop: &GrayImage) -> Option<Vec<Word>> {
        if !self.memo {
            return None;
        }
        batch_memo().find(mode, &memo::print_of(crop)?)
    }

    /// Keep `words` (crop pixels) as the reading of `crop`'s print under `mode`, for
    /// [`recall`](Self::recall), when the memo is on and the reading is confident.
    pub fn remember(&self, mode: &str, crop: &GrayImage, words: &[Word]) {
        if let Some(print) = self.memo.then(|| memo::print_of(crop)).flatten() {
            batch_memo().keep(mode, &print, words);
        }
    }

    /// Run one recognition on `img` and return the TSV output. The instance is dropped on an
    /// engine error and rebuilt on the next call.
    fn run(
        &mut self,
        img: &GrayImage,
        psm: Psm,
        whitelist: Option<&str>,
    ) -> Result<String, OcrError> {
        let (w, h) = img.dimensions();
        if w as u64 * h as u64 > 40_000_000 || w > 32_000 || h > 32_000 {
            return Err(OcrError::TooLarge(w, h));
        }
        let slot = match self.tess.iter().position(|(l, _)| *l == self.lang) {
            Some(i) => i,
            None => {
                self.tess.push((self.lang.clone(), None));
                self.tess.len() - 1
            }
        };
        let t = match self.tess[slot].1.take() {
            Some(t) => t,
            None => self.init(&self.lang)?,
        };
        let eng = |e: &dyn std::fmt::Display| OcrError::Engine(e.to_string());
        let mut t = t
            .set_variable("tessedit_char_whitelist", whitelist.unwrap_or(""))
            .map_err(|e| eng(&e))?;
        t.set_page_seg_mode(psm);
        let t = t
            .set_frame(img.as_raw(), w as i32, h as i32, 1, w as i32)
            .map_err(|e| eng(&e))?;
        let mut t = t
            .set_source_resolution(self.dpi as i32)
            .recognize()
            .map_err(|e| eng(&e))?;
        let tsv = t.get_tsv_text(0).map_err(|e| eng(&e));
        // reset the whitelist so the next call starts clean
        let t = if whitelist.is_some() {
            t.set_variable("tessedit_char_whitelist", "")
                .map_err(|e| eng(&e))?
        } else {
            t
        };
        self.tess[slot].1 = Some(t);
        tsv
    }

    /// Recognise a whole image: every word with its box and confidence, in reading order.
    pub fn recognise_words(&mut self, img: &GrayImage, psm: Psm) -> Result<Vec<Word>, OcrError> {
        let (w, h) = img.dimensions();
        if w < 4 || h < 4 {
            return Ok(Vec::new());
        }
        Ok(parse_tsv(&self.run(img, psm, None)?, 0, 0))
    }

    /// Recognise one region (a table cell): the crop is put on a white margin and recognised
    /// alone, with `whitelist` (e.g. `"0123456789-"`) restricting the characters for this
    /// call only. Returns the text (words joined; no space between two CJK characters) and
    /// its confidence (0..1, character-weighted mean of the words). A region without ink
    /// returns `("", 1.0)`.
    pub fn recognise_region(
        &mut self,
        img: &GrayImage,
        rect: Rect,
        psm: Psm,
        whitelist: Option<&str>,
    ) -> Result<(String, f32), OcrError> {
        let words = self.recognise_region_words(img, rect, psm, whitelist)?;
        match words {
            None => Ok((String::new(), 1.0)),
            Some(words) => Ok(join_words(&words)),
        }
    }

    /// Like [`recognise_region`](Self::recognise_region) but returns the words (page
    /// coordinates); `None` if the region has no ink.
    pub fn recognise_region_words(
        &mut self,
        img: &GrayImage,
        rect: Rect,
        psm: Psm,
        whitelist: Option<&str>,
    ) -> Result<Option<Vec<Word>>, OcrError> {
        let r = Rect::new(
            rect.x0.min(img.width()),
            rect.y0.min(img.height()),
            rect.x1.min(img.width()),
            rect.y1.min(img.height()),
        );
        if r.width() < 4 || r.height() < 4 {
            return Ok(None);
        }
        let mut crop = prep::crop(img, r.x0, r.y0, r.x1, r.y1);
        clear_border_rules(&mut crop);
        let ink = crop.as_raw().iter().filter(|&&v| v < 128).count();
        if ink < 12 {
            return Ok(None);
        }
        // a print read before in this mode: its reading, placed on this crop
        let memo = self.memo.then(|| memo::print_of(&crop)).flatten().map(|print| {
            let mode = format!("{}|{:?}|{}|{:?}", self.lang, psm, whitelist.unwrap_or(""), self.region_text_px);
            (print, mode)
        });
        if let Some(mut words) = memo.as_ref().and_then(|(print, mode)| batch_memo().find(mode, print)) {
            for w in &mut words {
                (w.x0, w.x1, w.y0, w.y1) = (w.x0 + r.x0, w.x1 + r.x0, w.y0 + r.y0, w.y1 + r.y0);
            }
            return Ok(Some(words));
        }
        // shrink big text to the line height Tesseract works at
        let scale = match (self.region_text_px, line_height(&crop)) {
            (Some(t), Some(lh)) if lh as f32 > t as f32 * 1.3 => (t as f32 / lh as f32).max(0.25),
            _ => 1.0,
        };
        let crop = if scale < 1.0 {
            let (w, h) = (
                ((crop.width() as f32 * scale).round() as u32).max(4),
                ((crop.height() as f32 * scale).round() as u32).max(4),
            );
            prep::resize_triangle(&crop, w, h)
        } else {
            crop
        };
        const PAD: u32 = 12;
        let padded = prep::pad_white(&crop, PAD);
        let dpi = self.dpi;
        self.dpi = ((dpi as f32 * scale).round() as u32).max(70);
        let tsv = self.run(&padded, psm, whitelist);
        self.dpi = dpi;
        let mut words = parse_tsv(&tsv?, -(PAD as i64), -(PAD as i64));
        let back = |v: u32, o: u32, hi: u32| (o + (v as f32 / scale).round() as u32).clamp(o, hi);
        for w in &mut words {
            w.x0 = back(w.x0, r.x0, r.x1);
            w.x1 = back(w.x1, r.x0, r.x1);
            w.y0 = back(w.y0, r.y0, r.y1);
            w.y1 = back(w.y1, r.y0, r.y1);
        }
        if let Some((print, mode)) = &memo {
            let rel: Vec<Word> = words
                .iter()
                .map(|w| Word { x0: w.x0 - r.x0, x1: w.x1 - r.x0, y0: w.y0 - r.y0, y1: w.y1 - r.y0, ..w.clone() })
                .collect();
            batch_memo().keep(mode, print, &rel);
        }
        Ok(Some(words))
    }
}

/// Typical text line height in a crop: the median length of runs of rows that contain ink
/// (runs shorter than 6 px — specks, rule remnants — ignored). `None` without such runs.
fn line_height(g: &GrayImage) -> Option<u32> {
    let (w, _) = g.dimensions();
    let mut runs = Vec::new();
    let mut run = 0u32;
    for row in g.as_raw().chunks_exact(w as usize) {
        if row.iter().any(|&v| v < 128) {
            run += 1;
        } else {
            if run >= 6 {
                runs.push(run);
            }
            run = 0;
        }
    }
    if run >= 6 {
        runs.push(run);
    }
    runs.sort_unstable();
    runs.get(runs.len() / 2).copied()
}

/// Whiten remnants of ruling lines along the edges of a cell crop (rows/columns within 8 px
/// of an edge that are mostly ink), so Tesseract does not read them as `一`, `|` or `l`.
pub(crate) fn clear_border_rules(g: &mut GrayImage) {
    let (w, h) = g.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let raw: &mut [u8] = g.as_mut();
    let band = 8.min(hu / 3).min(wu / 3);
    for y in (0..band).chain(hu.saturating_sub(band)..hu) {
        let row = &mut raw[y * wu..(y + 1) * wu];
        if row.iter().filter(|&&v| v < 128).count() * 10 > wu * 6 {
            row.fill(255);
        }
    }
    for x in (0..band).chain(wu.saturating_sub(band)..wu) {
        let n = (0..hu).filter(|&y| raw[y * wu + x] < 128).count();
        if n * 10 > hu * 6 {
            (0..hu).for_each(|y| raw[y * wu + x] = 255);
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

/// Words → one string and a character-weighted mean confidence. Words are joined with a
/// space only when both neighbours are non-CJK (Latin words, numbers) on the same line —
/// Chinese text has no spaces, and Tesseract splits `2024年1月` into separate words.
pub fn join_words(words: &[Word]) -> (String, f32) {
    let mut s = String::new();
    let (mut wsum, mut n) = (0f32, 0usize);
    let mut prev_line = None;
    for w in words {
        let line = (w.block, w.par, w.line);
        if let (Some(last), Some(first)) = (s.chars().last(), w.text.chars().next()) {
            if prev_line != Some(line) || !(is_cjk(last) || is_cjk(first)) {
                s.push(' ');
            }
        }
        s.push_str(&w.text);
        prev_line = Some(line);
        let k = w.text.chars().count();
        wsum += w.conf * k as f32;
        n += k;
    }
    (s, if n == 0 { 0.0 } else { wsum / n as f32 })
}

/// Parse Tesseract's TSV (level 5 rows are words), shifting boxes by `(dx, dy)`.
fn parse_tsv(tsv: &str, dx: i64, dy: i64) -> Vec<Word> {
    let mut out = Vec::new();
    for line in tsv.lines() {
        let f: Vec<&str> = line.splitn(12, '\t').collect();
        if f.len() < 12 || f[0] != "5" {
            continue;
        }
        let num = |i: usize| f[i].trim().parse::<i64>().unwrap_or(0);
        let text = f[11].trim();
        if text.is_empty() {
            continue;
        }
        let conf = f[10].trim().parse::<f32>().unwrap_or(-1.0);
        if conf < 0.0 {
            continue;
        }
        let (l, t, w, h) = (num(6) + dx, num(7) + dy, num(8), num(9));
        out.push(Word {
            text: text.to_string(),
            x0: l.max(0) as u32,
            y0: t.max(0) as u32,
            x1: (l + w).max(0) as u32,
            y1: (t + h).max(0) as u32,
            conf: (conf / 100.0).clamp(0.0, 1.0),
            block: num(2) as u32,
            par: num(3) as u32,
            line: num(4) as u32,
        });
    }
    out
}

/// The readings of this process's batch ([`memo`]), shared by every thread's engine.
fn batch_memo() -> &'static memo::Memo {
    static MEMO: OnceLock<memo::Memo> = OnceLock::new();
    MEMO.get_or_init(memo::Memo::default)
}

thread_local! {
    static ENGINE: RefCell<Option<OcrEngine>> = const { RefCell::new(None) };
}

/// Run `f` with this thread's engine, creating it on first use (one Tesseract per rayon
/// worker, reused for every page the worker handles). Do not call `with_engine` from inside
/// `f` (the engine is borrowed).
pub fn with_engine<R>(f: impl FnOnce(&mut OcrEngine) -> R) -> Result<R, OcrError> {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(OcrEngine::new(config())?);
        }
        Ok(f(slot.as_mut().expect("just set")))
    })
}
