//! The predefined Adobe CMaps and CID → Unicode tables that Debian's `poppler-data` installs
//! (`/usr/share/poppler/cMap/<collection>/<name>`, `/usr/share/poppler/cidToUnicode/<collection>`).
//! Each is read once per process and shared between threads. Missing data is not an error: the
//! callers fall back to built-in rules (Identity, UCS-2, encoding_rs legacy decoders).

use super::cmap::CMap;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// Where poppler-data may live; `SHENBAO_POPPLER_DATA` first.
fn data_dirs() -> &'static [PathBuf] {
    static DIRS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    DIRS.get_or_init(|| {
        let mut v = Vec::new();
        if let Some(d) = std::env::var_os("SHENBAO_POPPLER_DATA") {
            v.push(PathBuf::from(d));
        }
        for d in [
            "/usr/share/poppler",
            "/usr/local/share/poppler",
            "/opt/homebrew/share/poppler",
        ] {
            let p = PathBuf::from(d);
            if p.is_dir() {
                v.push(p);
            }
        }
        v
    })
}

const COLLECTIONS: &[&str] = &[
    "Adobe-GB1",
    "Adobe-Japan1",
    "Adobe-CNS1",
    "Adobe-Korea1",
    "Adobe-KR",
    "Adobe-Japan2",
];

fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !name.contains("..")
}

/// The collection (e.g. "Adobe-GB1") a predefined CMap belongs to, from its name. Used when the
/// font's CIDSystemInfo is missing or wrong.
pub fn collection_for_cmap_name(name: &str) -> Option<&'static str> {
    let n = name;
    if n.starts_with("UniGB")
        || n.starts_with("GB")
        || n.contains("GBK")
        || n.starts_with("Adobe-GB1")
    {
        return Some("Adobe-GB1");
    }
    if n.starts_with("UniCNS")
        || n.starts_with("B5")
        || n.starts_with("ETen")
        || n.starts_with("HKscs")
        || n.starts_with("CNS")
        || n.starts_with("ETHK")
        || n.starts_with("HK")
        || n.starts_with("Adobe-CNS1")
    {
        return Some("Adobe-CNS1");
    }
    if n.starts_with("UniKS") || n.starts_with("KSC") || n.starts_with("Adobe-Korea1") {
        return Some("Adobe-Korea1");
    }
    if n.starts_with("UniJIS")
        || n.contains("RKSJ")
        || n.starts_with("EUC-")
        || n.starts_with("90")
        || n.starts_with("83pv")
        || n.starts_with("Ext-")
        || n.starts_with("Add-")
        || n.starts_with("NWP")
        || n.starts_with("Hankaku")
        || n.starts_with("Hiragana")
        || n.starts_with("Katakana")
        || n.starts_with("Roman")
        || n.starts_with("WP-")
        || n == "H"
        || n == "V"
        || n.starts_with("Adobe-Japan1")
    {
        return Some("Adobe-Japan1");
    }
    None
}

fn read_cmap_file(name: &str) -> Option<Vec<u8>> {
    if !safe_name(name) {
        return None;
    }
    for dir in data_dirs() {
        let base = dir.join("cMap");
        if let Some(coll) = collection_for_cmap_name(name) {
            if let Ok(b) = std::fs::read(base.join(coll).join(name)) {
                return Some(b);
            }
        }
        for coll in COLLECTIONS {
            if let Ok(b) = std::fs::read(base.join(coll).join(name)) {
                return Some(b);
            }
        }
        if let Ok(b) = std::fs::read(base.join(name).join(name)) {
            return Some(b);
        }
    }
    None
}

type Cache = Mutex<HashMap<String, Option<Arc<CMap>>>>;

fn cache() -> &'static Cache {
    static C: OnceLock<Cache> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A predefined CMap by name, with its `usecmap` chain merged in; `None` when poppler-data does
/// not have it.
pub fn cmap(name: &str) -> Option<Arc<CMap>> {
    cmap_depth(name, 0)
}

fn cmap_depth(name: &str, depth: u32) -> Option<Arc<CMap>> {
    if depth > 6 {
        return None;
    }
    if let Ok(c) = cache().lock() {
        if let Some(v) = c.get(name) {
            return v.clone();
        }
    }
    // parse outside the lock (usecmap recurses into this function)
    let parsed = read_cmap_file(name).map(|data| {
        let mut cm = CMap::parse(&data);
        if let Some(parent) = cm.usecmap.clone() {
            if parent != name {
                if let Some(p) = cmap_depth(&parent, depth + 1) {
                    cm.inherit(&p);
                }
            }
        }
        Arc::new(cm)
    });
    match cache().lock() {
        Ok(mut c) => c.entry(name.to_string()).or_insert(parsed).clone(),
        Err(_) => parsed,
    }
}

/// Resolves an embedded CMap's `usecmap` against the predefined ones.
pub fn resolve_usecmap(cm: &mut CMap) {
    if let Some(parent) = cm.usecmap.clone() {
        if let Some(p) = cmap(&parent) {
            cm.inherit(&p);
        }
    }
}

/// CID → Unicode scalar for a collection ("Adobe-GB1", "Adobe-Japan1", "Adobe-CNS1",
/// "Adobe-Korea1"); 0 where a CID has no mapping.
pub fn cid_to_unicode(collection: &str) -> Option<&'static [u32]> {
    static GB1: OnceLock<Option<Vec<u32>>> = OnceLock::new();
    static JAPAN1: OnceLock<Option<Vec<u32>>> = OnceLock::new();
    static CNS1: OnceLock<Option<Vec<u32>>> = OnceLock::new();
    static KOREA1: OnceLock<Option<Vec<u32>>> = OnceLock::new();
    let (cell, file) = match collection {
        "Adobe-GB1" => (&GB1, "Adobe-GB1"),
        "Adobe-Japan1" => (&JAPAN1, "Adobe-Japan1"),
        "Adobe-CNS1" => (&CNS1, "Adobe-CNS1"),
        "Adobe-Korea1" | "Adobe-KR" => (&KOREA1, "Adobe-Korea1"),
        _ => return None,
    };
    cell.get_or_init(|| load_cid_table(file)).as_deref()
}

fn load_cid_table(file: &str) -> Option<Vec<u32>> {
    for dir in data_dirs() {
        if let Ok(text) = std::fs::read(dir.join("cidToUnicode").join(file)) {
            return Some(parse_cid_table(&text));
        }
    }
    None
}

/// One hex value per line, line index = CID (extra values on a line are ignored).
pub fn parse_cid_table(text: &[u8]) -> Vec<u32> {
    let mut v = Vec::with_capacity(text.len() / 5 + 1);
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let first = line
            .split(|&b| b == b' ' || b == b'\t')
            .next()
            .unwrap_or(&[]);
        let val = std::str::from_utf8(first)
            .ok()
            .and_then(|s| u32::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        v.push(val);
    }
    // a trailing newline makes one empty last line
    if text.ends_with(b"\n") {
        v.pop();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cid_table_format() {
        let t = parse_cid_table(b"0000\n0020\n4e2d\n\n20089\n");
        assert_eq!(t, vec![0, 0x20, 0x4e2d, 0, 0x20089]);
    }

    #[test]
    fn collections_from_names() {
        assert_eq!(collection_for_cmap_name("GBK-EUC-H"), Some("Adobe-GB1"));
        assert_eq!(collection_for_cmap_name("UniGB-UCS2-H"), Some("Adobe-GB1"));
        assert_eq!(
            collection_for_cmap_name("90ms-RKSJ-H"),
            Some("Adobe-Japan1")
        );
        assert_eq!(
            collection_for_cmap_name("UniJIS-UCS2-H"),
            Some("Adobe-Japan1")
        );
        assert_eq!(collection_for_cmap_name("B5pc-H"), Some("Adobe-CNS1"));
        assert_eq!(
            collection_for_cmap_name("KSCms-UHC-H"),
            Some("Adobe-Korea1")
        );
        assert!(!safe_name("../etc/passwd"));
    }

    /// Runs only where poppler-data is installed.
    #[test]
    fn poppler_data_when_present() {
        if let Some(cm) = cmap("GBK-EUC-H") {
            // 中 is D6D0 in GBK; its CID must map back to U+4E2D
            let (code, n) = cm.next_code(&[0xd6, 0xd0]);
            assert_eq!((code, n), (0xd6d0, 2));
            let cid = cm.cid.get(code).expect("cid");
            if let Some(t) = cid_to_unicode("Adobe-GB1") {
                assert_eq!(t[cid as usize], 0x4e2d);
            }
            // ASCII is one byte
            assert_eq!(cm.next_code(b"A").1, 1);
        }
        if let Some(cm) = cmap("GBK-EUC-V") {
            assert!(cm.vertical);
            assert!(cm.cid.get(0xd6d0).is_some(), "usecmap merged");
        }
        if let Some(cm) = cmap("90ms-RKSJ-H") {
            // あ is 82A0 in Shift-JIS
            let cid = cm.cid.get(0x82a0).expect("cid");
            if let Some(t) = cid_to_unicode("Adobe-Japan1") {
                assert_eq!(t[cid as usize], 0x3042);
            }
        }
    }
}
