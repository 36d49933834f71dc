//! `records.jsonl` (the output contract, form-spec §5) and `file-errors.jsonl`.
//!
//! Objects are serialised through small wrappers so that keys come out in the contract's
//! order (header fields as in `HEADER_FIELDS`, then items, sources, seal, findings, …)
//! whatever serde_json's map features are.

use std::io::{self, Write};

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::model::{
    Declaration, Disagreement, Field, FileError, Item, Provenance, Seal, SourceFile, HEADER_FIELDS,
    ITEM_FIELDS,
};
use crate::store::Store;

/// One declaration per line, decoded from the store one at a time.
pub(crate) fn write_records<W: Write>(w: &mut W, store: &Store) -> io::Result<()> {
    for d in store.iter() {
        serde_json::to_writer(&mut *w, &Record(&d))?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// One unreadable file per line.
pub(crate) fn write_file_errors<W: Write>(w: &mut W, errors: &[FileError]) -> io::Result<()> {
    for e in errors {
        serde_json::to_writer(&mut *w, e)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// The JSON value of a field, `null` when it was not read.
fn value(f: Option<&Field>) -> serde_json::Value {
    f.map(|f| f.value.to_json())
        .unwrap_or(serde_json::Value::Null)
}

/// Confidence as a short decimal (an f32 widened to f64 prints as 0.8999999761581726).
fn conf(c: f32) -> f64 {
    ((c as f64) * 1000.0).round() / 1000.0
}

/// A declaration as a contract record.
pub(crate) struct Record<'a>(pub &'a Declaration);

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut m = s.serialize_map(None)?;
        for (key, _, _) in HEADER_FIELDS {
            m.serialize_entry(key, &value(d.fields.get(*key)))?;
        }
        m.serialize_entry("items", &Items(&d.items))?;
        m.serialize_entry("sources", &Sources(d))?;
        m.serialize_entry("seal", &SealJson(&d.seal))?;
        m.serialize_entry("findings", &d.findings)?;
        m.serialize_entry("disagreements", &Disagreements(&d.disagreements))?;
        m.serialize_entry("legacy", &d.legacy)?;
        m.serialize_entry("year", &d.year)?;
        m.serialize_entry("verdict", d.verdict.as_str())?;
        m.end()
    }
}

struct Items<'a>(&'a [Item]);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&ItemJson(item))?;
        }
        seq.end()
    }
}

struct ItemJson<'a>(&'a Item);

impl Serialize for ItemJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(ITEM_FIELDS.len()))?;
        for (key, _, _) in ITEM_FIELDS {
            m.serialize_entry(key, &value(self.0.fields.get(*key)))?;
        }
        m.end()
    }
}

/// How one field was read, without the file (the enclosing source names it).
struct ProvJson<'a>(&'a Provenance);

impl Serialize for ProvJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("method", &p.method)?;
        m.serialize_entry("page", &p.page)?;
        m.serialize_entry("sheet", &p.sheet)?;
        m.serialize_entry("row", &p.row)?;
        m.serialize_entry("confidence", &conf(p.confidence))?;
        m.serialize_entry("raw", &p.raw)?;
        m.serialize_entry("corrections", &p.corrections)?;
        // where on the page: x0, y0, x1, y1 in points from the top left, to a tenth
        if let Some(b) = p.bbox {
            m.serialize_entry("bbox", &b.map(|v| (v * 10.0).round() / 10.0))?;
        }
        m.end()
    }
}

/// Every field of a declaration with its contract path (`unit_name`, `items[0].occupation`),
/// header fields in contract order, then any other header key, then items.
fn field_paths(d: &Declaration) -> Vec<(String, &Field)> {
    let mut out = Vec::new();
    for (key, _, _) in HEADER_FIELDS {
        if let Some(f) = d.fields.get(*key) {
            out.push((key.to_string(), f));
        }
    }
    for (key, f) in &d.fields {
        if !HEADER_FIELDS.iter().any(|(k, _, _)| k == key) {
            out.push((key.to_string(), f));
        }
    }
    for (i, item) in d.items.iter().enumerate() {
        for (key, _, _) in ITEM_FIELDS {
            if let Some(f) = item.fields.get(*key) {
                out.push((format!("items[{i}].{key}"), f));
            }
        }
        for (key, f) in &item.fields {
            if !ITEM_FIELDS.iter().any(|(k, _, _)| k == key) {
                out.push((format!("items[{i}].{key}"), f));
            }
        }
    }
    out
}

struct Sources<'a>(&'a Declaration);

impl Serialize for Sources<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let paths = field_paths(d);
        // fields read from a file that is not among the sources (should not happen) still
        // keep their provenance, under a source entry of their own
        let mut orphans: Vec<&str> = Vec::new();
        for (_, f) in &paths {
            let file: &str = &f.prov.file;
            if !d.sources.iter().any(|s| s.file == file) && !orphans.contains(&file) {
                orphans.push(file);
            }
        }
        let mut seq = s.serialize_seq(Some(d.sources.len() + orphans.len()))?;
        for src in &d.sources {
            seq.serialize_element(&SourceJson {
                file: &src.file,
                src: Some(src),
                paths: &paths,
            })?;
        }
        for file in orphans {
            seq.serialize_element(&SourceJson {
                file,
                src: None,
                paths: &paths,
            })?;
        }
        seq.end()
    }
}

struct SourceJson<'a> {
    file: &'a str,
    src: Option<&'a SourceFile>,
    paths: &'a [(String, &'a Field)],
}

impl Serialize for SourceJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("file", self.file)?;
        m.serialize_entry("sha256", &self.src.map(|s| s.sha256.as_str()))?;
        m.serialize_entry("kind", &self.src.map(|s| s.kind.as_str()))?;
        m.serialize_entry("pages", &self.src.and_then(|s| s.pages))?;
        m.serialize_entry("fields", &SourceFields(self))?;
        m.end()
    }
}

struct SourceFields<'a>(&'a SourceJson<'a>);

impl Serialize for SourceFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (path, f) in self.0.paths {
            if *f.prov.file == *self.0.file {
                m.serialize_entry(path, &ProvJson(&f.prov))?;
            }
        }
        m.end()
    }
}

struct SealJson<'a>(&'a Seal);

pub(crate) fn seal_json(seal: &Seal) -> serde_json::Value {
    serde_json::to_value(SealJson(seal)).unwrap_or(serde_json::Value::Null)
}

impl Serialize for SealJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let seal = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("present", &seal.present)?;
        m.serialize_entry("text", &seal.text)?;
        m.serialize_entry("matches_unit", &seal.matches_unit)?;
        m.serialize_entry("confidence", &seal.confidence.map(conf))?;
        // the evidence behind the four contract keys
        m.serialize_entry("count", &seal.count)?;
        if let Some(mark) = &seal.mark {
            m.serialize_entry("file", &mark.file)?;
            m.serialize_entry("page", &mark.page)?;
            m.serialize_entry("source", &mark.source)?;
            m.serialize_entry("center_mm", &mark.center_mm.map(|v| (v * 10.0).round() / 10.0))?;
            m.serialize_entry("size_mm", &mark.size_mm.map(|v| (v * 10.0).round() / 10.0))?;
            m.serialize_entry("shape", &mark.shape)?;
            m.serialize_entry("star", &mark.star)?;
            m.serialize_entry("fingerprint", &mark.fingerprint)?;
            let readings: Vec<serde_json::Value> = mark
                .readings
                .iter()
                .map(|r| serde_json::json!({ "text": r.text, "confidence": conf(r.confidence), "how": r.how }))
                .collect();
            m.serialize_entry("readings", &readings)?;
        }
        if seal.other_unit.is_some() {
            m.serialize_entry("other_unit", &seal.other_unit)?;
        }
        if !seal.signatures.is_empty() {
            let sigs: Vec<serde_json::Value> = seal
                .signatures
                .iter()
                .map(|g| {
                    serde_json::json!({
                        "field": g.field, "page": g.page, "byte_range": g.byte_range,
                        "covers_whole_file": g.covers_whole_file, "appended_bytes": g.appended_bytes,
                        "certificate_checked": false,
                    })
                })
                .collect();
            m.serialize_entry("signatures", &sigs)?;
        }
        m.end()
    }
}

/// A field's value with where it came from, for a disagreement.
struct SideJson<'a>(&'a Field);

impl Serialize for SideJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("value", &f.value.to_json())?;
        m.serialize_entry("file", &f.prov.file)?;
        m.serialize_entry("source", &ProvJson(&f.prov))?;
        m.end()
    }
}

struct Disagreements<'a>(&'a [Disagreement]);

impl Serialize for Disagreements<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for d in self.0 {
            seq.serialize_element(&DisJson(d))?;
        }
        seq.end()
    }
}

struct DisJson<'a>(&'a Disagreement);

impl Serialize for DisJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("field", &d.field)?;
        m.serialize_entry("item", &d.item)?;
        m.serialize_entry("form", &d.form.as_ref().map(SideJson))?;
        m.serialize_entry("sheet", &d.sheet.as_ref().map(SideJson))?;
        m.end()
    }
}
