//! The pipeline file (`pipelines/*.toml`): rule parameters, closed lists, label dictionary and
//! the annex catalogues. Parsed and validated once; the rest of the program trusts it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use thiserror::Error;

use crate::model::{field_kind, Severity};

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read pipeline file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pipeline file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("pipeline file {path}: key `{key}`: {problem}")]
    Invalid {
        path: PathBuf,
        key: String,
        problem: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    pub year: i32,
    #[serde(default)]
    pub titles: Vec<String>,
    pub declaration_id_pattern: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    pub severity: Severity,
    pub submitted_by: NaiveDateTime,
    pub missing_severity: Severity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Simple {
    pub severity: Severity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditCode {
    pub severity: Severity,
    pub not_legal_person_prefixes: Vec<String>,
    pub legal_person_categories: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UndertakerLimits {
    pub severity: Severity,
    pub max_events: usize,
    pub max_items: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostLocations {
    pub severity: Severity,
    pub max_locations: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishBy {
    pub severity: Severity,
    pub end_by: NaiveDate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemCatalogue {
    pub severity: Severity,
    pub no_national_standard_severity: Severity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventCatalogue {
    pub severity: Severity,
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    pub severity: Severity,
    pub min_managers: i64,
    pub min_experts_judges: i64,
    pub min_budget_wan: f64,
    pub require_venue: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Required {
    pub severity: Severity,
    pub fields: Vec<String>,
    pub item_fields: Vec<String>,
    pub missing_form_severity: Severity,
    pub phone_patterns: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consistency {
    pub severity: Severity,
    pub fields: Vec<String>,
    pub item_fields: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LowConfidence {
    pub threshold: f32,
    pub severity: Severity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub deadline: Deadline,
    pub category: Simple,
    pub credit_code: CreditCode,
    pub undertaker_limits: UndertakerLimits,
    pub host_locations: HostLocations,
    pub finish_by: FinishBy,
    pub item_catalogue: ItemCatalogue,
    pub event_catalogue: EventCatalogue,
    pub conditions: Conditions,
    pub required: Required,
    pub one_account: Simple,
    pub consistency: Consistency,
    pub low_confidence: LowConfidence,
    pub seal: SealRule,
}

/// The `seal` rule (form-spec §3): what a seal looks like and how its findings weigh.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealRule {
    /// outer diameter accepted as a seal, mm
    pub min_diameter_mm: f32,
    pub max_diameter_mm: f32,
    /// share of the ring's circumference that must carry ink
    pub min_ring_coverage: f32,
    /// two seals whose fingerprints differ in at most this share of bits are the same seal
    pub same_seal_max_distance: f32,
    /// two seals as large as each other (within this, mm) with the same distinctive arc text
    /// are one seal too (a stamp pressed twice, or stamped and pasted)
    pub same_seal_size_mm: f32,
    /// no seal on the form
    pub missing: Severity,
    /// another unit's seal
    pub mismatch: Severity,
    /// the arc text could not be read well enough to tell whose seal it is
    pub unreadable: Severity,
    /// content appended to a signed PDF after signing
    pub edited_after_signing: Severity,
    /// what a legacy (paper-era) record's seal findings weigh at most
    pub legacy_cap: Severity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lists {
    pub categories: Vec<String>,
    pub unit_types: Vec<String>,
    pub locations: Vec<String>,
    /// Fixed wording of event names (“巴渝工匠”杯 …): an OCR'd event name one character
    /// away from one of these, or with its quotes turned, is corrected to it.
    #[serde(default)]
    pub phrases: Vec<String>,
    /// Division-code prefixes (credit code characters 3–8) of the call's region: decide
    /// between two checksum-valid fixes of an OCR'd credit code.
    #[serde(default)]
    pub credit_code_regions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueItem {
    pub no: u32,
    pub category: String,
    pub code: String,
    pub occupation: String,
    pub no_national_standard: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub events: Vec<String>,
    pub digital_items: Vec<String>,
    pub items: Vec<CatalogueItem>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    pipeline: Meta,
    rules: Rules,
    lists: Lists,
    labels: BTreeMap<String, Vec<String>>,
    catalogue: Catalogue,
}

/// The validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub path: PathBuf,
    pub meta: Meta,
    pub rules: Rules,
    pub lists: Lists,
    /// field key → label variants, as written in the file
    pub labels: BTreeMap<String, Vec<String>>,
    pub catalogue: Catalogue,
    pub declaration_id: regex_lite::Regex,
    pub phone_patterns: Vec<regex_lite::Regex>,
    /// normalised label → field key, longest labels first when matching
    label_index: Vec<(String, String)>,
    occupation_index: HashMap<String, usize>,
}

/// Normalises a label or header for matching: drops whitespace and colons, folds full-width
/// ASCII and brackets to half-width.
pub fn normalize_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = fold_width(c);
        if c.is_whitespace() || c == ':' || c == '*' || c == '\u{3000}' {
            continue;
        }
        out.push(c);
    }
    out
}

/// Full-width ASCII variants (U+FF01..U+FF5E) and the ideographic space to half-width.
pub fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

impl Pipeline {
    /// Whether a phone number (digits, as normalised) fits one of the pipeline's patterns.
    pub fn phone_fits(&self, phone: &str) -> bool {
        self.phone_patterns.iter().any(|re| re.is_match(phone))
    }

    pub fn load(path: &Path) -> Result<Pipeline, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Pipeline::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Pipeline, ConfigError> {
        let raw: RawPipeline = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        let invalid = |key: &str, problem: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            problem,
        };

        let declaration_id = regex_lite::Regex::new(&raw.pipeline.declaration_id_pattern)
            .map_err(|e| invalid("pipeline.declaration_id_pattern", e.to_string()))?;
        let mut phone_patterns = Vec::new();
        for (i, p) in raw.rules.required.phone_patterns.iter().enumerate() {
            phone_patterns.push(
                regex_lite::Regex::new(p)
                    .map_err(|e| invalid(&format!("rules.required.phone_patterns[{i}]"), e.to_string()))?,
            );
        }
        for (key, list) in [
            ("rules.required.fields", &raw.rules.required.fields),
            ("rules.required.item_fields", &raw.rules.required.item_fields),
            ("rules.consistency.fields", &raw.rules.consistency.fields),
            ("rules.consistency.item_fields", &raw.rules.consistency.item_fields),
        ] {
            for f in list {
                if field_kind(f).is_none() {
                    return Err(invalid(key, format!("`{f}` is not a field of the declaration form")));
                }
            }
        }
        let mut label_index = Vec::new();
        for (key, variants) in &raw.labels {
            if field_kind(key).is_none() {
                return Err(invalid(
                    &format!("labels.{key}"),
                    "not a field of the declaration form (see form-spec §2)".into(),
                ));
            }
            if variants.is_empty() {
                return Err(invalid(&format!("labels.{key}"), "needs at least one label".into()));
            }
            for v in variants {
                let n = normalize_label(v);
                if n.is_empty() {
                    return Err(invalid(&format!("labels.{key}"), "an empty label".into()));
                }
                if let Some((_, other)) = label_index.iter().find(|(l, k)| *l == n && k != key) {
                    return Err(invalid(
                        &format!("labels.{key}"),
                        format!("label `{v}` is already a label of `{other}`"),
                    ));
                }
                label_index.push((n, key.clone()));
            }
        }
        label_index.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.0.cmp(&b.0)));
        label_index.dedup();
        for f in ["unit_name", "occupation"] {
            if !raw.labels.contains_key(f) {
                return Err(invalid("labels", format!("missing labels for `{f}`")));
            }
        }
        if raw.lists.categories.is_empty() {
            return Err(invalid("lists.categories", "must not be empty".into()));
        }
        if !(0.0..=1.0).contains(&raw.rules.low_confidence.threshold) {
            return Err(invalid("rules.low_confidence.threshold", "must be between 0 and 1".into()));
        }
        let code_re = regex_lite::Regex::new(r"^[0-9]-[0-9]{2}-[0-9]{2}$").unwrap();
        let mut occupation_index = HashMap::new();
        for (i, it) in raw.catalogue.items.iter().enumerate() {
            if !code_re.is_match(&it.code) {
                return Err(invalid(
                    &format!("catalogue.items[{i}].code"),
                    format!("`{}` is not a category code like 4-04-05", it.code),
                ));
            }
            occupation_index.entry(normalize_label(&it.occupation)).or_insert(i);
        }
        Ok(Pipeline {
            path: path.to_path_buf(),
            meta: raw.pipeline,
            rules: raw.rules,
            lists: raw.lists,
            labels: raw.labels,
            catalogue: raw.catalogue,
            declaration_id,
            phone_patterns,
            label_index,
            occupation_index,
        })
    }

    /// The field a label names, if the (normalised) text is exactly one of the label variants.
    pub fn field_for_label(&self, text: &str) -> Option<&str> {
        let n = normalize_label(text);
        let n = n.trim_end_matches(['：', ':']);
        self.label_index
            .iter()
            .find(|(l, _)| l == n)
            .map(|(_, k)| k.as_str())
    }

    /// Label variants, normalised, longest first, with their field keys.
    pub fn label_index(&self) -> &[(String, String)] {
        &self.label_index
    }

    /// The Annex 2 entry for an occupation name.
    pub fn catalogue_item(&self, occupation: &str) -> Option<&CatalogueItem> {
        self.occupation_index
            .get(&normalize_label(occupation))
            .map(|&i| &self.catalogue.items[i])
    }

    pub fn is_digital_item(&self, occupation: &str) -> bool {
        let n = normalize_label(occupation);
        self.catalogue.digital_items.iter().any(|d| normalize_label(d) == n)
    }

    pub fn is_catalogue_event(&self, event: &str) -> bool {
        let n = normalize_label(event);
        self.catalogue.events.iter().any(|e| normalize_label(e) == n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_pipeline() -> Pipeline {
        Pipeline::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/bayu-2024.toml"))).unwrap()
    }

    #[test]
    fn catalogues_are_complete() {
        let p = default_pipeline();
        assert_eq!(p.catalogue.events.len(), 31);
        assert_eq!(p.catalogue.items.len(), 165);
        assert_eq!(p.catalogue.digital_items.len(), 49);
        assert_eq!(p.catalogue.items.iter().filter(|i| i.no_national_standard).count(), 31);
        let it = p.catalogue_item("人工智能训练师").unwrap();
        assert_eq!(it.code, "4-04-05");
        assert!(p.catalogue_item("灭火救援员").unwrap().no_national_standard);
        assert!(p.is_catalogue_event("重庆市第三届数字技能竞赛"));
        assert!(p.is_digital_item("Linux系统基础运维"));
    }

    #[test]
    fn labels_match_spaced_and_full_width() {
        let p = default_pipeline();
        assert_eq!(p.field_for_label("联 系 人："), Some("contact_name"));
        assert_eq!(p.field_for_label("单位名称:"), Some("unit_name"));
        assert_eq!(p.field_for_label("竞赛职业(工种)"), Some("occupation"));
        assert_eq!(p.field_for_label("无关"), None);
    }

    #[test]
    fn bad_key_is_named() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/bayu-2024.toml"))
            .unwrap()
            .replace("max_events = 2", "max_events = \"two\"");
        let e = Pipeline::parse(Path::new("x.toml"), &text).unwrap_err().to_string();
        assert!(e.contains("max_events"), "{e}");
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/bayu-2024.toml"))
            .unwrap()
            .replace("unit_type = [\"单位类型\"", "unit_kind = [\"单位类型\"");
        let e = Pipeline::parse(Path::new("x.toml"), &text).unwrap_err().to_string();
        assert!(e.contains("labels.unit_kind"), "{e}");
    }
}
