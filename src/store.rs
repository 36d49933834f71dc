//! Compact in-memory storage of records between stages, so that peak memory does not grow
//! with the batch: each record is kept as deflated JSON (file paths and keys repeat from
//! field to field and compress to almost nothing) and decoded one at a time when needed.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::model::Declaration;

thread_local! {
    /// One compressor, one decompressor and their buffers per thread, reused: creating a
    /// deflate state per record churns hundreds of kilobytes each time and fragments the heap.
    static CODEC: RefCell<(Compress, Decompress, Vec<u8>, Vec<u8>)> =
        RefCell::new((Compress::new(Compression::fast(), false), Decompress::new(false), Vec::new(), Vec::new()));
}

/// Encodes a value to deflated JSON.
pub fn encode<T: Serialize>(value: &T) -> Box<[u8]> {
    CODEC.with(|c| {
        let (comp, _, json, out) = &mut *c.borrow_mut();
        json.clear();
        serde_json::to_writer(&mut *json, value).expect("records serialise");
        comp.reset();
        out.clear();
        out.reserve(json.len() / 2 + 64);
        loop {
            let consumed = comp.total_in() as usize;
            let status = comp.compress_vec(&json[consumed..], out, FlushCompress::Finish).expect("deflate in memory");
            if status == Status::StreamEnd {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        out.as_slice().into()
    })
}

/// Decodes what `encode` made.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> T {
    CODEC.with(|c| {
        let (_, dec, json, _) = &mut *c.borrow_mut();
        dec.reset(false);
        json.clear();
        json.reserve(bytes.len() * 8);
        loop {
            let consumed = dec.total_in() as usize;
            let status = dec.decompress_vec(&bytes[consumed..], json, FlushDecompress::Finish).expect("inflate in memory");
            if status == Status::StreamEnd {
                break;
            }
            json.reserve(json.capacity().max(64));
        }
        serde_json::from_slice(json).expect("records round-trip")
    })
}

/// The checked declarations of a run, in order, each encoded on its own.
#[derive(Debug, Default)]
pub struct Store {
    blobs: Vec<Box<[u8]>>,
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    pub fn push(&mut self, d: &Declaration) {
        self.blobs.push(encode(d));
    }

    /// A store of already encoded declarations (from `encode`).
    pub fn from_blobs(blobs: Vec<Box<[u8]>>) -> Store {
        Store { blobs }
    }

    pub fn from_decls(decls: &[Declaration]) -> Store {
        let mut s = Store::new();
        for d in decls {
            s.push(d);
        }
        s
    }

    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Decodes one declaration.
    pub fn get(&self, i: usize) -> Declaration {
        decode(&self.blobs[i])
    }

    /// Replaces one declaration.
    pub fn set(&mut self, i: usize, d: &Declaration) {
        self.blobs[i] = encode(d);
    }

    /// Decodes the declarations one at a time, in order.
    pub fn iter(&self) -> impl Iterator<Item = Declaration> + '_ {
        self.blobs.iter().map(|b| decode(b))
    }

    /// Bytes held (for the benchmark's curiosity).
    pub fn encoded_bytes(&self) -> usize {
        self.blobs.iter().map(|b| b.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Field, Item, Method, Provenance, Value};

    #[test]
    fn declarations_round_trip_exactly() {
        let prov = Provenance {
            file: "forms/a.pdf".into(),
            page: Some(2),
            sheet: None,
            row: None,
            method: Method::Text,
            confidence: 0.75,
            raw: Some("2024年5月20日".into()),
            corrections: vec!["O→0".into()],
            bbox: Some([10.0, 20.5, 110.0, 32.0]),
            crop_png: vec![137, 80, 78, 71],
        };
        let date = Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 5, 20).unwrap());
        let mut d = Declaration {
            key: "BY2024-0001".into(),
            fields: Default::default(),
            items: vec![Item::default()],
            sources: vec![],
            has_form: true,
            has_sheet: false,
            scanned: false,
            legacy: false,
            year: Some(2024),
            disagreements: vec![],
            seal: Default::default(),
            findings: vec![],
            verdict: crate::model::Verdict::Review,
        };
        d.fields.insert("unit_name", Field { value: Value::Text("重庆某某有限公司".into()), prov: prov.clone() });
        d.fields.insert("budget_wan", Field { value: Value::Number(12.5), prov: prov.clone() });
        d.items[0].fields.insert("end_date", Field { value: date, prov });
        let mut store = Store::from_decls(&[d.clone(), d.clone()]);
        assert_eq!(store.len(), 2);
        assert_eq!(store.get(1), d);
        d.key = "changed".into();
        store.set(0, &d);
        assert_eq!(store.iter().map(|x| x.key).collect::<Vec<_>>(), vec!["changed", "BY2024-0001"]);
        assert!(store.encoded_bytes() < 1200, "compact: {}", store.encoded_bytes());
    }
}
