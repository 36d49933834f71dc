//! Readings of electronic seal images, by content hash, in memory for the run and, when a
//! cache folder is set, on disk across runs: the same unit's electronic seal image comes back
//! on every form it signs, and the nightly compliance job reviews the year's uploads again
//! every night. A seal image read once is not decoded or read again.
//!
//! The disk cache is one JSON-lines file (`seal-readings-v1.jsonl`: key, marks, crops in hex)
//! appended as seals are read. The key hashes the image and mask streams together with
//! [`VERSION`] and the pipeline's seal sizes, so a change to either reads seals afresh. A line
//! that does not parse (a run killed mid-write) is skipped.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::model::SealMark;

/// Bump when detection or reading changes what a seal image gives.
pub const VERSION: &str = "seal-readings-v1";

/// Entries kept in memory at most (the disk file keeps them all).
const MEMORY_MAX: usize = 16_384;

static DIR: OnceLock<PathBuf> = OnceLock::new();

struct Cache {
    map: HashMap<[u8; 32], Vec<SealMark>>,
    file: Option<File>,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// Keep readings in `dir` across runs (set once, before the run).
pub fn use_dir(dir: PathBuf) {
    let _ = DIR.set(dir);
}

fn file_name() -> String {
    format!("{VERSION}.jsonl")
}

#[derive(Serialize, Deserialize)]
struct Line {
    k: String,
    marks: Vec<SealMark>,
    /// each mark's crop PNG, hex (kept out of `marks` so the file stays text)
    crops: Vec<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

fn load() -> Cache {
    let mut map = HashMap::new();
    let Some(dir) = DIR.get() else { return Cache { map, file: None } };
    let path = dir.join(file_name());
    if let Ok(f) = File::open(&path) {
        for line in BufReader::new(f).lines().map_while(Result::ok) {
            let Ok(l) = serde_json::from_str::<Line>(&line) else { continue };
            let (Some(k), true) = (unhex(&l.k), l.crops.len() == l.marks.len()) else { continue };
            let Ok(k) = <[u8; 32]>::try_from(k) else { continue };
            let mut marks = l.marks;
            for (m, c) in marks.iter_mut().zip(&l.crops) {
                m.crop_png = unhex(c).unwrap_or_default();
            }
            if map.len() < MEMORY_MAX {
                map.insert(k, marks);
            }
        }
    }
    let file = std::fs::create_dir_all(dir).ok().and_then(|_| OpenOptions::new().create(true).append(true).open(&path).ok());
    Cache { map, file }
}

/// The readings of a seal image seen before (this run or, with a cache folder, an earlier one).
pub fn get(k: &[u8; 32]) -> Option<Vec<SealMark>> {
    let mut g = CACHE.lock().ok()?;
    g.get_or_insert_with(load).map.get(k).cloned()
}

/// Keeps the readings of a seal image.
pub fn put(k: [u8; 32], marks: &[SealMark]) {
    let Ok(mut g) = CACHE.lock() else { return };
    let c = g.get_or_insert_with(load);
    if let Some(f) = c.file.as_mut() {
        let line = Line {
            k: hex(&k),
            marks: marks.iter().map(|m| SealMark { crop_png: Vec::new(), ..m.clone() }).collect(),
            crops: marks.iter().map(|m| hex(&m.crop_png)).collect(),
        };
        if let Ok(mut s) = serde_json::to_string(&line) {
            s.push('\n');
            // one write per line, under the lock: lines never interleave
            if f.write_all(s.as_bytes()).is_err() {
                c.file = None;
            }
        }
    }
    if c.map.len() >= MEMORY_MAX {
        c.map.clear();
    }
    c.map.insert(k, marks.to_vec());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let b = vec![0u8, 1, 127, 128, 255];
        assert_eq!(unhex(&hex(&b)), Some(b));
        assert_eq!(unhex("zz"), None);
    }
}
