//! Plain data shared by every stage: declarations, fields with provenance, findings.
//! Depends on no other module of the crate.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// How a value was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Text,
    Ocr,
    Sheet,
}

/// The shape of a field's value, which decides how it is normalised and serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// free text, whitespace collapsed
    Text,
    /// an identifier or code: half-width, upper-case, no spaces
    Code,
    /// a phone number: digits only (a landline keeps its area code, e.g. 02388152326)
    Phone,
    /// occupation category code `4-04-05`: half-width hyphens
    OccupationCode,
    Date,
    DateTime,
    Int,
    Number,
}

/// A field of the declaration form (form-spec §2). Order is the order of the output contract.
pub const HEADER_FIELDS: &[(&str, Kind, &str)] = &[
    ("declaration_id", Kind::Code, "申报编号"),
    ("category", Kind::Text, "赛事类别"),
    ("event_name", Kind::Text, "赛事名称"),
    ("unit_name", Kind::Text, "申报单位"),
    ("credit_code", Kind::Code, "统一社会信用代码"),
    ("unit_type", Kind::Text, "单位类型"),
    ("supervisor", Kind::Text, "主管部门"),
    ("contact_name", Kind::Text, "联系人"),
    ("contact_phone", Kind::Phone, "联系电话"),
    ("managers", Kind::Int, "管理人员（人）"),
    ("experts_judges", Kind::Int, "专家裁判人员（人）"),
    ("budget_wan", Kind::Number, "经费预算（万元）"),
    ("funding_source", Kind::Text, "经费来源"),
    ("venue", Kind::Text, "竞赛场地"),
    ("fill_date", Kind::Date, "填报日期"),
    ("submitted_at", Kind::DateTime, "提交时间"),
    ("account", Kind::Text, "账号"),
];

/// A column of the item table (二、竞赛项目).
pub const ITEM_FIELDS: &[(&str, Kind, &str)] = &[
    ("occupation", Kind::Text, "竞赛职业（工种）"),
    ("occupation_code", Kind::OccupationCode, "职业编码"),
    ("undertaker", Kind::Text, "承办单位"),
    ("host_location", Kind::Text, "承办地"),
    ("start_date", Kind::Date, "计划开始日期"),
    ("end_date", Kind::Date, "计划结束日期"),
    ("participants", Kind::Int, "预计参赛人数"),
];

pub fn field_kind(key: &str) -> Option<Kind> {
    HEADER_FIELDS
        .iter()
        .chain(ITEM_FIELDS.iter())
        .find(|(k, _, _)| *k == key)
        .map(|(_, kind, _)| *kind)
}

/// The Chinese name of a field, for everything a reviewer reads.
pub fn field_label(key: &str) -> &'static str {
    HEADER_FIELDS
        .iter()
        .chain(ITEM_FIELDS.iter())
        .find(|(k, _, _)| *k == key)
        .map(|(_, _, l)| *l)
        .unwrap_or("")
}

pub fn is_item_field(key: &str) -> bool {
    ITEM_FIELDS.iter().any(|(k, _, _)| *k == key)
}

/// A normalised value. (Its serde form is the exact, tagged storage form; the contract's
/// JSON form is `to_json`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Text(String),
    Int(i64),
    Number(f64),
    Date(NaiveDate),
    /// local time in the pipeline's time zone (UTC+8 for Chongqing)
    DateTime(NaiveDateTime),
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_date(&self) -> Option<NaiveDate> {
        match self {
            Value::Date(d) => Some(*d),
            Value::DateTime(t) => Some(t.date()),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Number(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Date(d) => serde_json::Value::String(d.format("%Y-%m-%d").to_string()),
            Value::DateTime(t) => {
                serde_json::Value::String(t.format("%Y-%m-%dT%H:%M:%S+08:00").to_string())
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Number(n) => {
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    write!(f, "{}", *n as i64)
                } else {
                    write!(f, "{n}")
                }
            }
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::DateTime(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M:%S")),
        }
    }
}

/// A shared name (a file path, a sheet name): one allocation per file, not per field.
pub type Name = std::sync::Arc<str>;

/// Where a value came from and how sure we are of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// the input file, as given on the command line (relative or absolute)
    pub file: Name,
    /// 1-based page for documents, 1-based row number for spreadsheets
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    pub method: Method,
    /// 0.0 ..= 1.0; text layers and spreadsheet cells are 1.0
    pub confidence: f32,
    /// the text as read, before normalisation, when it differs from the value
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// corrections applied to the raw reading (e.g. OCR character fixes)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<String>,
    /// where on the page the value was read (its table cell, or its text): x0, y0, x1, y1 in
    /// points from the top left
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[f32; 4]>,
    /// a greyscale PNG of that place, for a doubtful OCR'd value (HTML report only; not in
    /// records.jsonl)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crop_png: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub value: Value,
    pub prov: Provenance,
}

impl Field {
    /// The form a reviewer-facing JSON shows: `{"value": <contract value>, "source": {…}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "value": self.value.to_json(), "source": self.prov })
    }
}

/// A set of named fields (the header of a declaration, or one item row).
/// Keys are the static field names of HEADER_FIELDS / ITEM_FIELDS (no allocation per field).
pub type Fields = BTreeMap<&'static str, Field>;

/// The static name of a field key, if it is one.
pub fn static_key(key: &str) -> Option<&'static str> {
    HEADER_FIELDS.iter().chain(ITEM_FIELDS.iter()).find(|(k, _, _)| *k == key).map(|(k, _, _)| *k)
}

/// Deserialises a `Fields` map (keys back to their static names).
pub fn de_fields<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
    use serde::de::Error;
    let m: BTreeMap<String, Field> = BTreeMap::deserialize(d)?;
    m.into_iter()
        .map(|(k, v)| static_key(&k).map(|k| (k, v)).ok_or_else(|| D::Error::custom(format!("unknown field `{k}`"))))
        .collect()
}

pub fn get_text<'a>(fields: &'a Fields, key: &str) -> Option<&'a str> {
    fields.get(key).and_then(|f| f.value.as_text())
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Item {
    #[serde(deserialize_with = "de_fields")]
    pub fields: Fields,
}

impl Item {
    pub fn text(&self, key: &str) -> Option<&str> {
        get_text(&self.fields, key)
    }
    pub fn get(&self, key: &str) -> Option<&Field> {
        self.fields.get(key)
    }
}

/// What one document (a form PDF, a scan) or one declaration's spreadsheet rows yielded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    pub file: String,
    pub method: Method,
    #[serde(deserialize_with = "de_fields")]
    pub fields: Fields,
    pub items: Vec<Item>,
    /// legacy paper-era form (other title / labels, no declaration id)
    pub legacy: bool,
    /// the year of the call the document belongs to
    pub year: Option<i32>,
    /// findings that need no other document (unreadable field, malformed value …)
    pub findings: Vec<Finding>,
    /// seals found on the document's pages (forms only)
    #[serde(default)]
    pub seals: Vec<SealMark>,
    /// PDF signature fields (born-digital forms only)
    #[serde(default)]
    pub signatures: Vec<SignatureInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Review,
    Return,
}

impl Severity {
    pub fn label_zh(self) -> &'static str {
        match self {
            Severity::Info => "提示",
            Severity::Review => "复核",
            Severity::Return => "退回",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Review,
    Return,
}

impl Verdict {
    pub fn label_zh(self) -> &'static str {
        match self {
            Verdict::Pass => "通过",
            Verdict::Review => "复核",
            Verdict::Return => "退回",
        }
    }
    pub fn from_findings(findings: &[Finding]) -> Verdict {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::Return) => Verdict::Return,
            Some(Severity::Review) => Verdict::Review,
            _ => Verdict::Pass,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Review => "review",
            Verdict::Return => "return",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// Chinese, for the reviewer
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// 0-based index of the item the finding is about
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

impl Finding {
    pub fn new(rule: &str, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            rule: rule.to_string(),
            severity,
            message: message.into(),
            field: None,
            item: None,
            file: None,
            page: None,
        }
    }
    /// Points the finding at the field it is about (and the file/page that field came from).
    pub fn at(mut self, key: &str, field: Option<&Field>) -> Finding {
        self.field = Some(key.to_string());
        if let Some(f) = field {
            self.file = Some(f.prov.file.to_string());
            self.page = f.prov.page.or(f.prov.row);
        }
        self
    }
    pub fn item(mut self, index: usize) -> Finding {
        self.item = Some(index);
        self
    }
}

/// One input file that was read (or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    pub file: String,
    pub sha256: String,
    /// pdf, image, xlsx, xls, xlsb, ods, csv …
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
}

/// A file that could not be read: shown in the report, the run goes on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileError {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub kind: String,
    /// a stable English code: encrypted, truncated, not-a-pdf, empty, too-large, unsupported …
    pub code: String,
    /// Chinese, for the reviewer
    pub message: String,
    /// technical detail (English)
    pub detail: String,
}

/// The seal facts of a declaration (records.jsonl `seal`): the contract's `present`, `text`,
/// `matches_unit`, `confidence`, and the evidence behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Seal {
    pub present: Option<bool>,
    /// the best reading of the arc text (partial by nature)
    pub text: Option<String>,
    pub matches_unit: Option<bool>,
    pub confidence: Option<f32>,
    /// the seal the verdict is about (the best one found), when there is one
    #[serde(default)]
    pub mark: Option<SealMark>,
    /// how many seal-like marks were found on the form
    #[serde(default)]
    pub count: usize,
    /// the unit whose name the reading fits better, when it is not the applicant
    #[serde(default)]
    pub other_unit: Option<String>,
    #[serde(default)]
    pub signatures: Vec<SignatureInfo>,
}

/// One seal found on a page image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SealMark {
    /// the file and 1-based page it is on
    pub file: String,
    pub page: u32,
    /// centre on the page, mm from the page image's top-left corner
    pub center_mm: [f32; 2],
    /// outer size, mm (width, height)
    pub size_mm: [f32; 2],
    /// `round` | `oval`
    pub shape: String,
    pub star: bool,
    /// how sure the detector is that this is a seal, 0..1
    pub confidence: f32,
    /// `image` (an electronic seal image in a PDF) | `scan` (ink on a scanned page)
    pub source: String,
    /// candidate readings of the arc, best first
    pub readings: Vec<SealReading>,
    /// perceptual hash of the normalised seal (hex)
    pub fingerprint: String,
    /// a small PNG of the seal for the HTML report (not in records.jsonl)
    #[serde(default)]
    pub crop_png: Vec<u8>,
}

/// One reading of a seal's arc text: characters with their place along the arc (0..1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SealReading {
    pub text: String,
    pub confidence: f32,
    /// (character, position along the text arc 0..1, confidence)
    pub chars: Vec<(char, f32, f32)>,
    /// how it was read: radius / direction / scale
    pub how: String,
}

/// A PDF signature field (`/Sig` with `/ByteRange`); the certificate is not validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SignatureInfo {
    pub file: String,
    pub field: Option<String>,
    pub page: Option<u32>,
    pub byte_range: Vec<i64>,
    /// the signed range reaches the end of the file: nothing was appended after signing
    pub covers_whole_file: bool,
    /// bytes after the signed range (an incremental update after signing)
    pub appended_bytes: u64,
}

/// One declaration after assembly and checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Declaration {
    /// declaration_id, or a key made from the file for documents without one
    pub key: String,
    #[serde(deserialize_with = "de_fields")]
    pub fields: Fields,
    pub items: Vec<Item>,
    pub sources: Vec<SourceFile>,
    /// which methods were used: text / ocr / sheet
    pub has_form: bool,
    pub has_sheet: bool,
    /// the form was read by OCR (a scan): a field it lacks may be unreadable, not absent
    #[serde(default)]
    pub scanned: bool,
    pub legacy: bool,
    pub year: Option<i32>,
    /// fields where form and spreadsheet disagree: (key, item index, form value, sheet value)
    pub disagreements: Vec<Disagreement>,
    pub seal: Seal,
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    pub form: Option<Field>,
    pub sheet: Option<Field>,
}

impl Declaration {
    pub fn text(&self, key: &str) -> Option<&str> {
        get_text(&self.fields, key)
    }
    pub fn get(&self, key: &str) -> Option<&Field> {
        self.fields.get(key)
    }
    pub fn id(&self) -> Option<&str> {
        self.text("declaration_id")
    }
}
