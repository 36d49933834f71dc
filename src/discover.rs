//! Walking the inputs, classifying files by content (magic bytes, not extension) and hashing
//! them. Opens no document beyond its first bytes (and, for zips, the central directory).

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::read::sheet::SheetFormat;

/// What a file is, judged from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    /// a raster image (JPEG, PNG, TIFF, BMP, GIF, WebP)
    Image(ImageFormat),
    Sheet(SheetFormat),
    /// zero bytes
    Empty,
    /// content that claims to be a document (by extension) but is none of the above
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Tiff,
    Bmp,
    Gif,
    Webp,
}

impl FileKind {
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Image(ImageFormat::Jpeg) => "jpeg",
            FileKind::Image(ImageFormat::Png) => "png",
            FileKind::Image(ImageFormat::Tiff) => "tiff",
            FileKind::Image(ImageFormat::Bmp) => "bmp",
            FileKind::Image(ImageFormat::Gif) => "gif",
            FileKind::Image(ImageFormat::Webp) => "webp",
            FileKind::Sheet(SheetFormat::Xlsx) => "xlsx",
            FileKind::Sheet(SheetFormat::Xls) => "xls",
            FileKind::Sheet(SheetFormat::Xlsb) => "xlsb",
            FileKind::Sheet(SheetFormat::Ods) => "ods",
            FileKind::Sheet(SheetFormat::Csv) => "csv",
            FileKind::Empty => "empty",
            FileKind::Unknown => "unknown",
        }
    }
}

/// A file found under the inputs.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub path: PathBuf,
    /// the path as shown to the reviewer
    pub display: String,
    pub kind: FileKind,
    pub size: u64,
}

/// Extensions of files that are meant to be declaration material. A file with one of these
/// whose content is not recognised is reported as unreadable; other files (notes, readmes,
/// the generator's truth file) are skipped and listed as such.
const DOCUMENT_EXTENSIONS: &[&str] = &[
    "pdf", "xlsx", "xlsm", "xls", "xlsb", "ods", "csv", "tsv", "jpg", "jpeg", "png", "tif", "tiff", "bmp",
    "gif", "webp", "ofd", "doc", "docx", "wps", "zip", "rar",
];

/// The outcome of walking the inputs.
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<Discovered>,
    /// files that are not declaration material (by extension and content)
    pub skipped: Vec<String>,
    /// inputs that do not exist or cannot be walked: (path, reason)
    pub errors: Vec<(String, String)>,
}

/// Walks files and folders (recursively, following no symlinks out of the tree, hidden
/// entries skipped), classifying each file. Sorted by path for deterministic output.
pub fn walk(inputs: &[PathBuf]) -> Walk {
    let mut out = Walk::default();
    for input in inputs {
        if !input.exists() {
            out.errors.push((input.display().to_string(), "input does not exist".into()));
            continue;
        }
        let walker = WalkDir::new(input).sort_by_file_name().into_iter().filter_entry(|e| {
            e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
        });
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let p = e.path().map(|p| p.display().to_string()).unwrap_or_default();
                    out.errors.push((p, e.to_string()));
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path().to_path_buf();
            let display = path.display().to_string();
            match classify(&path) {
                Ok((kind, size)) => {
                    if kind == FileKind::Unknown && !has_document_extension(&path) {
                        out.skipped.push(display);
                    } else {
                        out.files.push(Discovered { path, display, kind, size });
                    }
                }
                Err(e) => out.errors.push((display, e.to_string())),
            }
        }
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out.files.dedup_by(|a, b| a.path == b.path);
    out
}

fn extension(path: &Path) -> String {
    path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default()
}

fn has_document_extension(path: &Path) -> bool {
    DOCUMENT_EXTENSIONS.contains(&extension(path).as_str())
}

/// Classifies one file from its first bytes (and a zip's entry names).
pub fn classify(path: &Path) -> std::io::Result<(FileKind, u64)> {
    let mut f = File::open(path)?;
    let size = f.metadata()?.len();
    if size == 0 {
        return Ok((FileKind::Empty, 0));
    }
    let mut head = vec![0u8; 4096.min(size as usize)];
    f.read_exact(&mut head)?;
    let kind = classify_bytes(&head, &extension(path), || zip_kind(&mut f));
    Ok((kind, size))
}

/// Classifies from the first bytes; `zip` inspects a zip container's entries when needed.
pub fn classify_bytes(head: &[u8], ext: &str, zip: impl FnOnce() -> Option<SheetFormat>) -> FileKind {
    // a PDF header may follow some junk (the spec allows 1024 bytes)
    if find(&head[..head.len().min(1024)], b"%PDF-").is_some() {
        return FileKind::Pdf;
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return FileKind::Image(ImageFormat::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return FileKind::Image(ImageFormat::Png);
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return FileKind::Image(ImageFormat::Tiff);
    }
    if head.starts_with(b"BM") && head.len() > 14 && ext == "bmp" {
        return FileKind::Image(ImageFormat::Bmp);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return FileKind::Image(ImageFormat::Gif);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return FileKind::Image(ImageFormat::Webp);
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        // OLE compound file: legacy .xls (or a .doc, or an encrypted OOXML package, which
        // the spreadsheet reader reports as encrypted)
        return if ext == "doc" || ext == "wps" { FileKind::Unknown } else { FileKind::Sheet(SheetFormat::Xls) };
    }
    if head.starts_with(b"PK\x03\x04") {
        return zip().map(FileKind::Sheet).unwrap_or(FileKind::Unknown);
    }
    if looks_like_text(head) && matches!(ext, "csv" | "tsv" | "txt") {
        return FileKind::Sheet(SheetFormat::Csv);
    }
    FileKind::Unknown
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Text in UTF-8, UTF-16 (with BOM) or GBK: no NUL bytes (outside UTF-16) and few control bytes.
fn looks_like_text(head: &[u8]) -> bool {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C))
        .count();
    !head.contains(&0) && controls * 100 <= head.len()
}

/// Which spreadsheet a zip holds: xlsx/xlsm (xl/workbook.xml), xlsb (xl/workbook.bin) or ods
/// (mimetype application/vnd.oasis.opendocument.spreadsheet).
fn zip_kind<R: Read + Seek>(r: &mut R) -> Option<SheetFormat> {
    r.rewind().ok()?;
    let mut archive = zip::ZipArchive::new(r).ok()?;
    let mut kind = None;
    for i in 0..archive.len().min(10_000) {
        let name = archive.name_for_index(i)?.ok()?.to_string();
        match name.as_str() {
            "xl/workbook.xml" => kind = Some(SheetFormat::Xlsx),
            "xl/workbook.bin" => kind = Some(SheetFormat::Xlsb),
            "mimetype" => {
                let mut m = String::new();
                if let Ok(f) = archive.by_index(i) {
                    let _ = f.take(200).read_to_string(&mut m);
                }
                if m.trim() == "application/vnd.oasis.opendocument.spreadsheet" {
                    kind = Some(SheetFormat::Ods);
                }
            }
            _ => {}
        }
        if kind.is_some() {
            break;
        }
    }
    kind
}

/// SHA-256 of a file's content, hex, streamed.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

pub fn hash_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_content() {
        let none = || None;
        assert_eq!(classify_bytes(b"%PDF-1.7\n", "jpg", none), FileKind::Pdf);
        assert_eq!(classify_bytes(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0], "pdf", none), FileKind::Image(ImageFormat::Jpeg));
        assert_eq!(classify_bytes(b"PK\x03\x04rest", "xlsx", none), FileKind::Unknown);
        assert_eq!(classify_bytes(b"PK\x03\x04rest", "xlsx", || Some(SheetFormat::Ods)), FileKind::Sheet(SheetFormat::Ods));
        assert_eq!(classify_bytes("申报编号,赛事类别\n".as_bytes(), "csv", none), FileKind::Sheet(SheetFormat::Csv));
        assert_eq!(classify_bytes("申报编号,赛事类别\n".as_bytes(), "md", none), FileKind::Unknown);
        assert_eq!(classify_bytes(&[0, 1, 2, 3], "csv", none), FileKind::Unknown);
    }
}
