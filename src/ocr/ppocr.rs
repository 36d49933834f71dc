//! PP-OCR text-line recognition (issue 16): PaddleOCR's PP-OCRv4 Chinese recognition model
//! (SVTR-LCNet with a CTC head, ONNX) run by `tract-onnx` in pure Rust — a second recogniser
//! beside Tesseract, for one text line at a time (a cell's line, a label/value line, a seal
//! strip). It does no layout: the caller cuts the lines ([`line_bands`] helps for a cell).
//!
//! **Model.** `ch_PP-OCRv4_rec_infer.onnx` from the PyPI package `rapidocr-onnxruntime`
//! 1.4.4, installed by `bash scripts/setup.sh` (pinned wheel, sha256 checked, Apache-2.0).
//! [`PpOcr::load`] checks the file's sha256 again, so a damaged or different file is an error
//! naming the fix, never other readings. The character dictionary (6,623 entries) is in the
//! model's ONNX metadata (`character`); class 0 is the CTC blank, classes 1..=6623 the
//! dictionary and, when the model has one more class (PaddleOCR's `use_space_char`), the last
//! is a space.
//!
//! **Where the model is found** ([`models_dir`]): `$SHENBAO_MODELS` if set (and then only
//! there), else `<folder of the executable>/../../models` (so `target/release/shenbao` finds
//! `<repo>/models`, where `scripts/setup.sh` puts it; for cargo's examples and test binaries,
//! a folder deeper, one more `..`), else `/usr/local/share/shenbao/models`.
//!
//! **Input.** A grey image of one text line, any size: resized (bilinear, as OpenCV's
//! `INTER_LINEAR` in PaddleOCR) to height [`HEIGHT`] with its aspect kept (width at most
//! [`MAX_WIDTH`]; a longer line is squeezed), normalised as PaddleOCR does
//! (`(x / 255 − 0.5) / 0.5`, the grey replicated to three channels) and padded on the right
//! with 0 (mid grey, as PaddleOCR pads) to the next of the [`WIDTHS`], at least
//! [`DEFAULT_MIN_WIDTH`] (PaddleOCR: 320).
//!
//! **Plans.** One optimised plan per input width, made on first use (0.12–0.35 s each) and
//! kept (≈ 12 MB each: tract packs the weights for each plan); every plan runs on the calling
//! thread (`run(&self)`), so one [`PpOcr`] (in an `Arc`) serves all rayon workers. Measured
//! alternatives: tract types this model with a symbolic width only once the `Cast`s of its
//! shape arithmetic to int32 are patched out, and the plan then runs 8–11× slower than a
//! concrete one (W = 320: 350 ms against 32 ms); a batch of several lines in one run is
//! slower per line than one line a run (4 × 320 px: 50 ms a line against 34 ms), so
//! [`PpOcr::recognize_batch`] runs the lines one by one (in parallel on rayon's workers). The
//! widths are spaced so that padding costs at most a quarter more time (time grows with the
//! width, ≈ 0.09 ms a column) while the plans stay few (12 at most from the default narrowest
//! width, ≈ 150 MB; the parsed model ≈ 12 MB more).
//!
//! **Checked against ONNX Runtime.** The same input tensors run by onnxruntime 1.32 (Python)
//! give the same readings, confidences within 10⁻⁴ (15 lines cut from the scanned fixtures).
//!
//! **Determinism.** A line's reading depends only on its pixels: the same image gives the same
//! width bucket, the same plan and the same single-threaded arithmetic, whatever the thread or
//! the other lines of a batch.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use image::GrayImage;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use thiserror::Error;
use tract_onnx::prelude::*;

use super::grid::Rect;

/// File name of the recognition model in the models folder.
pub const REC_MODEL: &str = "ch_PP-OCRv4_rec_infer.onnx";
/// sha256 of [`REC_MODEL`] as `scripts/setup.sh` installs it (from rapidocr-onnxruntime 1.4.4).
pub const REC_MODEL_SHA256: &str = "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b";
/// Environment variable naming the models folder.
pub const MODELS_ENV: &str = "SHENBAO_MODELS";
/// The system-wide models folder, looked in last.
pub const SYSTEM_MODELS_DIR: &str = "/usr/local/share/shenbao/models";
/// Input height of the model.
pub const HEIGHT: u32 = 48;
/// The input widths: a line resized to height 48 is padded to the next of these (multiples
/// of 32; the model's time step is 8 columns).
pub const WIDTHS: [u32; 16] = [64, 96, 128, 160, 192, 256, 320, 384, 480, 576, 704, 832, 1024, 1280, 1536, 1920];
/// Narrowest input by default (see [`PpOcr::with_min_width`]). Measured on the office-made
/// scans (`scripts/bench-ocr.sh`, 479 values): a lone character padded only to 64 px is often
/// misread (`区` → `冈`); values exact at 64 / 128 / 192 / 320 px: 91.8 / 92.3 / 93.1 / 93.1 %,
/// at 2.0 / 2.4 / 2.4 / 3.1 × Tesseract's time a line.
pub const DEFAULT_MIN_WIDTH: u32 = 192;
/// Widest input: a longer line is squeezed to this width.
pub const MAX_WIDTH: u32 = WIDTHS[WIDTHS.len() - 1];

const FIX: &str = "bash scripts/setup.sh";

/// Why the recogniser could not be set up or run.
#[derive(Debug, Error)]
pub enum PpOcrError {
    #[error("PP-OCR model not found: no {REC_MODEL} in {looked}; run `{FIX}` to install it (or set {MODELS_ENV} to the folder holding it)")]
    NotFound { looked: String },
    #[error("PP-OCR model {path} could not be read ({reason}); run `{FIX}` to install it again")]
    Unreadable { path: PathBuf, reason: String },
    #[error("PP-OCR model {path} is damaged or not the expected file ({reason}); delete it and run `{FIX}` to install it again")]
    Corrupt { path: PathBuf, reason: String },
    #[error("PP-OCR model {path} cannot be run by tract ({reason}); `{FIX}` installs the model this build reads")]
    Unsupported { path: PathBuf, reason: String },
    #[error("PP-OCR recognition failed: {0}")]
    Run(String),
}

/// One recognised character.
#[derive(Clone, Debug, PartialEq)]
pub struct RecChar {
    pub ch: char,
    /// its probability: the highest of the frames that emitted it
    pub prob: f32,
    /// the runner-up: the likeliest other character (not the blank) over the same frames,
    /// with its probability; `None` when no other class had any weight there
    pub alt: Option<(char, f32)>,
    /// the columns of the input image it was read from, `[x0, x1)` (its CTC frames; a
    /// character's frames cover part of its glyph, not always all of it)
    pub x0: u32,
    pub x1: u32,
}

/// What one text line reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reading {
    pub text: String,
    /// each character of `text` in order, with its probability and runner-up
    pub chars: Vec<RecChar>,
    /// mean of the characters' probabilities (PaddleOCR's line score); for an empty reading
    /// the mean probability of the blank over the frames (how sure it is that nothing is
    /// written)
    pub conf: f32,
}

impl Reading {
    /// The characters with their probabilities, as `(char, prob)`.
    pub fn char_probs(&self) -> Vec<(char, f32)> {
        self.chars.iter().map(|c| (c.ch, c.prob)).collect()
    }
    /// The lowest character probability (1 for an empty reading).
    pub fn min_prob(&self) -> f32 {
        self.chars.iter().map(|c| c.prob).fold(1.0, f32::min)
    }
}

type Plan = Arc<TypedRunnableModel>;

/// The PP-OCR recogniser: the model parsed once, one optimised plan per input width bucket.
/// `Send + Sync`: share it in an `Arc`.
pub struct PpOcr {
    path: PathBuf,
    model: InferenceModel,
    /// class index → character (0: the blank, never emitted)
    classes: Vec<char>,
    /// plans by input width (index in [`WIDTHS`]), made on first use
    plans: [OnceLock<Result<Plan, String>>; WIDTHS.len()],
    /// narrowest input: shorter lines are padded to it
    min_width: u32,
}

impl std::fmt::Debug for PpOcr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PpOcr").field("path", &self.path).field("classes", &self.classes.len()).finish()
    }
}

/// The models folder: `$SHENBAO_MODELS` if set, else the first of
/// `<folder of the executable>/../../models` (`../../../models` from cargo's `examples/` and
/// `deps/` folders) and `/usr/local/share/shenbao/models` that holds [`REC_MODEL`]. The error
/// names every folder looked in and the fix.
pub fn models_dir() -> Result<PathBuf, PpOcrError> {
    let candidates = model_dir_candidates();
    if let Some(d) = candidates.iter().find(|d| d.join(REC_MODEL).is_file()) {
        return Ok(d.clone());
    }
    let looked = candidates.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
    Err(PpOcrError::NotFound { looked: if looked.is_empty() { "no folder".into() } else { looked } })
}

/// The folders [`models_dir`] looks in, in order.
pub fn model_dir_candidates() -> Vec<PathBuf> {
    if let Some(d) = std::env::var_os(MODELS_ENV).filter(|v| !v.is_empty()) {
        return vec![PathBuf::from(d)];
    }
    let mut out = Vec::new();
    if let Some(bin) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        // cargo's examples and test binaries are one folder deeper
        // (target/release/examples/…, target/release/deps/…)
        let up = if bin.file_name().is_some_and(|n| n == "examples" || n == "deps") { "../../../models" } else { "../../models" };
        let d = bin.join(up);
        out.push(d.canonicalize().unwrap_or(d));
    }
    out.push(PathBuf::from(SYSTEM_MODELS_DIR));
    out
}

impl PpOcr {
    /// The recogniser from the models folder found by [`models_dir`].
    pub fn load_default() -> Result<PpOcr, PpOcrError> {
        PpOcr::load(&models_dir()?)
    }

    /// The recogniser from `dir/`[`REC_MODEL`], checked against [`REC_MODEL_SHA256`].
    pub fn load(dir: &Path) -> Result<PpOcr, PpOcrError> {
        let path = dir.join(REC_MODEL);
        if !path.is_file() {
            return Err(PpOcrError::NotFound { looked: dir.display().to_string() });
        }
        let bytes = read(&path)?;
        let sum = hex(&Sha256::digest(&bytes));
        if sum != REC_MODEL_SHA256 {
            return Err(PpOcrError::Corrupt {
                path,
                reason: format!("{} bytes with sha256 {sum}, expected {REC_MODEL_SHA256}", bytes.len()),
            });
        }
        PpOcr::from_bytes(path, &bytes)
    }

    /// A PP-OCR recognition model from any file (another PP-OCR version, say), without the
    /// checksum: its dictionary must be in its metadata.
    pub fn from_file(path: &Path) -> Result<PpOcr, PpOcrError> {
        let bytes = read(path)?;
        PpOcr::from_bytes(path.to_path_buf(), &bytes)
    }

    fn from_bytes(path: PathBuf, bytes: &[u8]) -> Result<PpOcr, PpOcrError> {
        let corrupt = |reason: String| PpOcrError::Corrupt { path: path.clone(), reason };
        let onnx = tract_onnx::onnx();
        let proto = onnx.proto_model_for_read(&mut &bytes[..]).map_err(|e| corrupt(format!("not an ONNX model: {e}")))?;
        let dict = proto
            .metadata_props
            .iter()
            .find(|p| p.key == "character")
            .map(|p| p.value.clone())
            .ok_or_else(|| corrupt("no character dictionary in its metadata (key `character`)".into()))?;
        let model = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| PpOcrError::Unsupported { path: path.clone(), reason: format!("{e:#}") })?;
        let mut classes = vec!['\0'];
        for (i, entry) in dict.split('\n').enumerate() {
            let mut it = entry.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => classes.push(c),
                _ => return Err(corrupt(format!("dictionary entry {} is {entry:?}, not one character", i + 1))),
            }
        }
        let mut ocr = PpOcr { path: path.clone(), model, classes, plans: Default::default(), min_width: DEFAULT_MIN_WIDTH };
        // the plan of PaddleOCR's default width, made now: checks that tract runs the model
        // and tells its number of classes
        let plan = ocr.plan(320).map_err(|reason| PpOcrError::Unsupported { path: path.clone(), reason })?;
        let out = plan
            .run(tvec!(Tensor::zero::<f32>(&[1, 3, HEIGHT as usize, 320]).map_err(|e| corrupt(e.to_string()))?.into()))
            .map_err(|e| PpOcrError::Unsupported { path: path.clone(), reason: format!("{e:#}") })?;
        let shape = out[0].shape().to_vec();
        let n = ocr.classes.len();
        match shape.as_slice() {
            [1, 40, c] if *c == n + 1 => ocr.classes.push(' '),
            [1, 40, c] if *c == n => {}
            _ => {
                return Err(corrupt(format!(
                    "output shape {shape:?} for a 320-px line; expected [1, 40, {}] (blank + {} dictionary entries + space)",
                    n + 1,
                    n - 1
                )))
            }
        }
        Ok(ocr)
    }

    /// Lines narrower than `width` (at height 48) padded to it (the next of [`WIDTHS`];
    /// PaddleOCR pads to 320).
    pub fn with_min_width(mut self, width: u32) -> PpOcr {
        self.min_width = width.min(MAX_WIDTH);
        self
    }

    /// The model file this recogniser was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of output classes (blank, dictionary, space).
    pub fn classes(&self) -> usize {
        self.classes.len()
    }

    /// Whether the model can emit `c`.
    pub fn knows(&self, c: char) -> bool {
        c != '\0' && self.classes.contains(&c)
    }

    /// The optimised plan for inputs `width` pixels wide (one of [`WIDTHS`]), made on first
    /// use.
    fn plan(&self, width: u32) -> Result<Plan, String> {
        let i = WIDTHS.iter().position(|&w| w == width).ok_or_else(|| format!("no plan for width {width}"))?;
        let slot = &self.plans[i];
        slot.get_or_init(|| {
            self.model
                .clone()
                .with_input_fact(0, f32::fact([1, 3, HEIGHT as usize, width as usize]).into())
                .and_then(|m| m.into_typed())
                .and_then(|m| m.into_optimized())
                .and_then(|m| m.into_runnable())
                .map_err(|e| format!("{e:#}"))
        })
        .clone()
    }

    /// Widths for which a plan has been made so far.
    pub fn planned_widths(&self) -> Vec<u32> {
        (0..WIDTHS.len()).filter(|&i| self.plans[i].get().is_some_and(|p| p.is_ok())).map(|i| WIDTHS[i]).collect()
    }

    /// Read one text line. An image without rows or columns reads as nothing.
    pub fn recognize(&self, gray: &GrayImage) -> Result<Reading, PpOcrError> {
        let (w, h) = gray.dimensions();
        if w == 0 || h == 0 {
            return Ok(Reading::default());
        }
        let input = Input::of(gray, self.min_width);
        let plan = self.plan(input.width).map_err(PpOcrError::Run)?;
        let tensor = input.tensor().map_err(|e| PpOcrError::Run(e.to_string()))?;
        let out = plan.run(tvec!(tensor.into())).map_err(|e| PpOcrError::Run(format!("{e:#}")))?;
        let probs = out[0].to_plain_array_view::<f32>().map_err(|e| PpOcrError::Run(e.to_string()))?;
        let shape = probs.shape().to_vec();
        let (frames, classes) = (shape[1], shape[2]);
        if classes != self.classes.len() {
            return Err(PpOcrError::Run(format!("{classes} classes out, {} expected", self.classes.len())));
        }
        let probs = probs.as_slice().ok_or_else(|| PpOcrError::Run("output not contiguous".into()))?;
        // frames beyond the line's own columns (the padding) decode too, as in PaddleOCR
        let px_per_frame = input.width as f32 / frames as f32 * w as f32 / input.resized as f32;
        Ok(self.decode(&probs[..frames * classes], classes, px_per_frame, w))
    }

    /// Read a region of a page (a table cell): cut into its text lines ([`region_lines`]), each
    /// line read, the lines' readings joined in order (no separator). Characters' columns are
    /// page columns. A region without ink reads as nothing with confidence 1.
    pub fn recognize_region(&self, page: &GrayImage, rect: Rect) -> Result<Reading, PpOcrError> {
        let (crop, lines) = region_lines(page, rect);
        if lines.is_empty() {
            return Ok(Reading { conf: 1.0, ..Reading::default() });
        }
        let mut out = Reading::default();
        for l in &lines {
            let img = image::imageops::crop_imm(&crop, l.x0, l.y0, l.width(), l.height()).to_image();
            let r = self.recognize(&img)?;
            if r.chars.is_empty() {
                continue;
            }
            out.text.push_str(&r.text);
            let dx = rect.x0 + l.x0;
            out.chars.extend(r.chars.into_iter().map(|c| RecChar { x0: c.x0 + dx, x1: c.x1 + dx, ..c }));
        }
        out.conf = if out.chars.is_empty() { 0.0 } else { out.chars.iter().map(|c| c.prob).sum::<f32>() / out.chars.len() as f32 };
        Ok(out)
    }

    /// Read several text lines, in parallel on rayon's workers; the same readings as
    /// [`recognize`](Self::recognize) one by one, in order.
    pub fn recognize_batch(&self, lines: &[GrayImage]) -> Result<Vec<Reading>, PpOcrError> {
        lines.par_iter().map(|g| self.recognize(g)).collect()
    }

    /// CTC greedy decoding: each frame's likeliest class; runs of one class are one
    /// character, blanks part them.
    fn decode(&self, probs: &[f32], classes: usize, px_per_frame: f32, width: u32) -> Reading {
        // per frame: the likeliest class and the two likeliest non-blank ones
        struct Frame {
            best: usize,
            p: f32,
            top: [(usize, f32); 2],
        }
        let frames: Vec<Frame> = probs
            .chunks_exact(classes)
            .map(|row| {
                let mut top = [(0usize, f32::NEG_INFINITY); 2];
                for (i, &p) in row.iter().enumerate().skip(1) {
                    if p > top[1].1 {
                        if p > top[0].1 {
                            top[1] = top[0];
                            top[0] = (i, p);
                        } else {
                            top[1] = (i, p);
                        }
                    }
                }
                let (best, p) = if row[0] >= top[0].1 { (0, row[0]) } else { top[0] };
                Frame { best, p, top }
            })
            .collect();
        let mut chars: Vec<RecChar> = Vec::new();
        let mut t = 0;
        while t < frames.len() {
            let k = frames[t].best;
            let mut end = t + 1;
            while end < frames.len() && frames[end].best == k {
                end += 1;
            }
            if k != 0 {
                let mut prob = 0f32;
                let mut alt: Option<(usize, f32)> = None;
                for f in &frames[t..end] {
                    prob = prob.max(f.p);
                    let other = if f.top[0].0 == k { f.top[1] } else { f.top[0] };
                    if other.0 != 0 && other.1 > 0.0 && alt.is_none_or(|a| other.1 > a.1) {
                        alt = Some(other);
                    }
                }
                let x = |f: usize| ((f as f32 * px_per_frame).round() as u32).min(width);
                chars.push(RecChar {
                    ch: self.classes[k],
                    prob,
                    alt: alt.map(|(i, p)| (self.classes[i], p)),
                    x0: x(t),
                    x1: x(end).max(x(t) + 1).min(width),
                });
            }
            t = end;
        }
        let conf = if chars.is_empty() {
            let n = frames.len().max(1) as f32;
            probs.chunks_exact(classes).map(|r| r[0]).sum::<f32>() / n
        } else {
            chars.iter().map(|c| c.prob).sum::<f32>() / chars.len() as f32
        };
        Reading { text: chars.iter().map(|c| c.ch).collect(), chars, conf }
    }
}

/// A line resized to the model's height: `HEIGHT` rows of `resized` grey values, to be padded
/// to `width`.
struct Input {
    px: Vec<f32>,
    resized: u32,
    width: u32,
}

impl Input {
    fn of(gray: &GrayImage, min_width: u32) -> Input {
        let (w, h) = gray.dimensions();
        let resized = ((HEIGHT as f64 * w as f64 / h as f64).ceil() as u32).clamp(1, MAX_WIDTH);
        let width = WIDTHS.iter().copied().find(|&w| w >= resized.max(min_width)).unwrap_or(MAX_WIDTH);
        Input { px: resize_bilinear(gray, resized, HEIGHT), resized, width }
    }

    /// `[1, 3, HEIGHT, width]`, `(x / 255 − 0.5) / 0.5`, padded with 0.
    fn tensor(&self) -> TractResult<Tensor> {
        let (rw, w, h) = (self.resized as usize, self.width as usize, HEIGHT as usize);
        let mut plane = vec![0f32; w * h];
        for (dst, src) in plane.chunks_exact_mut(w).zip(self.px.chunks_exact(rw)) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = (s / 255.0 - 0.5) / 0.5;
            }
        }
        let mut all = Vec::with_capacity(3 * w * h);
        for _ in 0..3 {
            all.extend_from_slice(&plane);
        }
        Tensor::from_shape(&[1, 3, h, w], &all)
    }
}

/// Bilinear resampling as OpenCV's `INTER_LINEAR` (pixel centres aligned, edges clamped), to
/// floats (OpenCV rounds to bytes; the difference is below a grey level).
fn resize_bilinear(g: &GrayImage, nw: u32, nh: u32) -> Vec<f32> {
    let (w, h) = g.dimensions();
    let taps = |len: u32, new_len: u32| -> Vec<(usize, usize, f32)> {
        let scale = len as f32 / new_len as f32;
        (0..new_len)
            .map(|o| {
                let s = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (s.floor() as usize).min(len as usize - 1);
                let i1 = (i0 + 1).min(len as usize - 1);
                (i0, i1, s - i0 as f32)
            })
            .collect()
    };
    let (xs, ys) = (taps(w, nw), taps(h, nh));
    let src = g.as_raw();
    let wu = w as usize;
    let mut out = Vec::with_capacity(nw as usize * nh as usize);
    let mut row = vec![0f32; wu];
    for &(y0, y1, fy) in &ys {
        let (r0, r1) = (&src[y0 * wu..][..wu], &src[y1 * wu..][..wu]);
        for ((d, &a), &b) in row.iter_mut().zip(r0).zip(r1) {
            *d = a as f32 * (1.0 - fy) + b as f32 * fy;
        }
        out.extend(xs.iter().map(|&(x0, x1, fx)| row[x0] * (1.0 - fx) + row[x1] * fx));
    }
    out
}

fn read(path: &Path) -> Result<Vec<u8>, PpOcrError> {
    std::fs::read(path).map_err(|e| PpOcrError::Unreadable { path: path.to_path_buf(), reason: e.to_string() })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|v| format!("{v:02x}")).collect()
}

/// A region of a page (`rect`, clamped to the page) cut into text lines: its crop, with the
/// remnants of ruling lines along its edges whitened (rows or columns within 8 px of an edge
/// that are mostly ink, as Tesseract's regions are cleaned), and the rectangles of its lines in
/// the crop ([`line_bands`]; bands under 8 px high or wide are specks and left out).
pub fn region_lines(page: &GrayImage, rect: Rect) -> (GrayImage, Vec<Rect>) {
    let (w, h) = page.dimensions();
    let r = Rect::new(rect.x0.min(w), rect.y0.min(h), rect.x1.min(w), rect.y1.min(h));
    let mut crop = super::prep::crop(page, r.x0, r.y0, r.x1, r.y1);
    super::clear_border_rules(&mut crop);
    let lines = line_bands(&crop).into_iter().filter(|b| b.height() >= 8 && b.width() >= 8).collect();
    (crop, lines)
}


/// The text lines of a region (a table cell's crop; 0 = ink, 255 = paper, grey allowed):
/// bands of rows holding ink (< 128), parted by rows without and by valleys of rows with
/// little ink (≤ 6 % of the band's fullest row, between two parts whose fullest rows have at
/// least 30 % of it: two lines that a slight skew or a descender joins); a band thinner than a
/// third of the median band is joined to its nearer neighbour (a stroke of 一, punctuation). Each
/// band is cut to its ink's columns, with a margin of a quarter of its height (as a PaddleOCR
/// text box has; clamped to the image). Empty when there is no ink.
pub fn line_bands(g: &GrayImage) -> Vec<Rect> {
    let (w, h) = g.dimensions();
    let (wu, raw) = (w as usize, g.as_raw());
    let count: Vec<u32> = raw.chunks_exact(wu.max(1)).map(|r| r.iter().filter(|&&v| v < 128).count() as u32).collect();
    let mut bands: Vec<(u32, u32)> = Vec::new();
    let mut y = 0;
    while y < h as usize {
        if count[y] > 0 {
            let s = y;
            while y < h as usize && count[y] > 0 {
                y += 1;
            }
            split_valleys(&count, s, y, &mut bands);
        } else {
            y += 1;
        }
    }
    // the typical line: the median band (a band of several lines that no blank row parts,
    // or a large title, must not make every line look thin)
    let mut heights: Vec<u32> = bands.iter().map(|b| b.1 - b.0).collect();
    heights.sort_unstable();
    let typical = heights.get(heights.len() / 2).copied().unwrap_or(0);
    loop {
        let Some(i) = bands.iter().position(|b| (b.1 - b.0) * 3 < typical) else { break };
        if bands.len() == 1 {
            break;
        }
        let gap_above = if i > 0 { Some(bands[i].0 - bands[i - 1].1) } else { None };
        let gap_below = bands.get(i + 1).map(|n| n.0 - bands[i].1);
        let j = match (gap_above, gap_below) {
            (Some(a), Some(b)) => if a <= b { i - 1 } else { i + 1 },
            (Some(_), None) => i - 1,
            _ => i + 1,
        };
        let (a, b) = (i.min(j), i.max(j));
        bands[a] = (bands[a].0, bands[b].1);
        bands.remove(b);
    }
    bands
        .into_iter()
        .filter_map(|(y0, y1)| {
            let cols = (0..wu).filter(|&x| (y0..y1).any(|y| raw[y as usize * wu + x] < 128));
            let (mut x0, mut x1) = (usize::MAX, 0);
            for x in cols {
                x0 = x0.min(x);
                x1 = x + 1;
            }
            if x0 == usize::MAX {
                return None;
            }
            let m = ((y1 - y0) / 4).max(2);
            Some(Rect::new((x0 as u32).saturating_sub(m), y0.saturating_sub(m), (x1 as u32 + m).min(w), (y1 + m).min(h)))
        })
        .collect()
}

/// Push band `[s, e)` of rows, split at its valleys (see [`line_bands`]).
fn split_valleys(count: &[u32], s: usize, e: usize, out: &mut Vec<(u32, u32)>) {
    let peak = count[s..e].iter().copied().max().unwrap_or(0);
    let low = peak * 6 / 100;
    let strong = |a: usize, b: usize| count[a..b].iter().any(|&c| c * 10 >= peak * 3);
    let mut start = s;
    let mut y = s + 1;
    while y < e {
        if count[y] <= low {
            let v0 = y;
            while y < e && count[y] <= low {
                y += 1;
            }
            // a valley inside the band, with a line above it and one below
            if y < e && v0 - start >= 8 && strong(start, v0) && strong(y, e) && e - y >= 8 {
                out.push((start as u32, v0 as u32));
                start = y;
            }
        } else {
            y += 1;
        }
    }
    out.push((start as u32, e as u32));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_keeps_a_flat_image_and_matches_opencv_at_scale_one() {
        let g = GrayImage::from_fn(10, 4, |x, y| image::Luma([(x * 20 + y) as u8]));
        let same = resize_bilinear(&g, 10, 4);
        assert!(same.iter().zip(g.as_raw()).all(|(a, &b)| (a - b as f32).abs() < 1e-4));
        let flat = GrayImage::from_pixel(7, 3, image::Luma([200]));
        assert!(resize_bilinear(&flat, 29, 48).iter().all(|&v| (v - 200.0).abs() < 1e-3));
        // doubling: OpenCV's INTER_LINEAR gives 0, 0.25·a+0.75·b … pattern at half-pixel centres
        let two = GrayImage::from_raw(2, 1, vec![0, 100]).unwrap();
        assert_eq!(resize_bilinear(&two, 4, 1), vec![0.0, 25.0, 75.0, 100.0]);
    }

    #[test]
    fn input_width_is_a_bucket_and_the_padding_mid_grey() {
        let g = GrayImage::from_pixel(100, 24, image::Luma([255]));
        let input = Input::of(&g, DEFAULT_MIN_WIDTH);
        assert_eq!((input.resized, input.width), (200, 256));
        let t = input.tensor().unwrap();
        assert_eq!(t.shape(), &[1, 3, 48, 256]);
        let v = t.to_plain_array_view::<f32>().unwrap();
        assert_eq!(v[[0, 2, 47, 199]], 1.0);
        assert_eq!(v[[0, 0, 0, 200]], 0.0);
        // a very long line is squeezed to the widest input
        let long = GrayImage::new(10_000, 20);
        assert_eq!(Input::of(&long, DEFAULT_MIN_WIDTH).width, MAX_WIDTH);
        // PaddleOCR's narrowest input
        assert_eq!(Input::of(&g, 320).width, 320);
    }

    /// A white page of `w`×`h` with black boxes (x0, y0, x1, y1).
    fn inked(w: u32, h: u32, boxes: &[(u32, u32, u32, u32)]) -> GrayImage {
        let mut g = GrayImage::from_pixel(w, h, image::Luma([255]));
        for &(x0, y0, x1, y1) in boxes {
            for y in y0..y1 {
                for x in x0..x1 {
                    g.put_pixel(x, y, image::Luma([0]));
                }
            }
        }
        g
    }

    #[test]
    fn bands_part_lines_and_keep_strokes_with_their_line() {
        let g = inked(200, 100, &[
            (20, 10, 120, 30), // line 1
            (30, 33, 60, 35),  // a thin stroke just under it
            (40, 60, 180, 85), // line 2
        ]);
        let b = line_bands(&g);
        assert_eq!(b.len(), 2, "{b:?}");
        assert_eq!((b[0].y0, b[0].x0), (10 - 6, 20 - 6));
        assert_eq!(b[0].y1, 35 + 6);
        assert_eq!((b[1].x1, b[1].y1), (186, 91));
        assert!(line_bands(&GrayImage::from_pixel(5, 5, image::Luma([255]))).is_empty());
    }

    #[test]
    fn bands_part_lines_joined_by_a_thin_stroke() {
        let g = inked(300, 100, &[
            (10, 10, 290, 40), // line 1
            (50, 40, 53, 55),  // a descender reaching line 2 (3 px wide)
            (10, 55, 250, 85), // line 2
        ]);
        let b = line_bands(&g);
        assert_eq!(b.len(), 2, "{b:?}");
        assert_eq!((b[0].y0, b[0].y1), (10 - 7, 40 + 7));
        assert_eq!((b[1].y0, b[1].y1), (55 - 7, 85 + 7));
    }
}
