//! The `seal` rule (form-spec §3–4, 四、申报流程 1): a form carries the applicant's seal.
//!
//! It runs in the cross-declaration step because whose seal it is is scored against every
//! unit of the batch (a half-read arc still tells whose it is), and because one seal on the
//! forms of different units is found by comparing fingerprints across the batch.
//! Findings: no seal → `missing`; another unit's seal (parent company's on a branch included)
//! → `mismatch`; unreadable arc → `unreadable` (never a pass); the same seal on different
//! units' forms → return on the form whose unit does not match it, review on the other; a PDF
//! appended to after signing → `edited_after_signing`. Severities come from `[rules.seal]`;
//! legacy records are capped at `legacy_cap`.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::config::{normalize_label, Pipeline};
use crate::model::{Declaration, Finding, SealReading, Severity};
use crate::seal::{arc, matching};

use super::cross::CrossView;

/// What the seal rule needs of a declaration with a form.
#[derive(Debug, Clone, PartialEq)]
pub struct SealView {
    pub present: bool,
    pub readings: Vec<SealReading>,
    pub fingerprint: Vec<u64>,
    pub file: String,
    pub page: u32,
    /// signatures whose range does not reach the end of the file: (field, page, bytes after)
    pub edited: Vec<(Option<String>, Option<u32>, u64)>,
    /// signatures intact: (field, page)
    pub intact: Vec<(Option<String>, Option<u32>)>,
    pub scanned: bool,
    /// outer size, mm
    pub size_mm: [f32; 2],
    /// the applicant's name as each source gives it (the form's reading, the online data's)
    pub names: Vec<String>,
}

impl SealView {
    pub fn of(d: &Declaration) -> SealView {
        let seal = &d.seal;
        let scanned = d.scanned;
        let m = seal.mark.as_ref();
        let mut names: Vec<String> = d.text("unit_name").map(str::to_string).into_iter().collect();
        for dis in d.disagreements.iter().filter(|x| x.field == "unit_name") {
            for side in [&dis.form, &dis.sheet].into_iter().flatten() {
                let n = side.value.to_string();
                if !n.is_empty() && !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        SealView {
            names,
            present: seal.present == Some(true),
            readings: m.map(|m| m.readings.clone()).unwrap_or_default(),
            fingerprint: m.map(|m| arc::from_hex(&m.fingerprint)).unwrap_or_default(),
            file: m.map(|m| m.file.clone()).unwrap_or_default(),
            page: m.map(|m| m.page).unwrap_or(0),
            edited: seal
                .signatures
                .iter()
                .filter(|s| !s.covers_whole_file)
                .map(|s| (s.field.clone(), s.page, s.appended_bytes))
                .collect(),
            intact: seal.signatures.iter().filter(|s| s.covers_whole_file).map(|s| (s.field.clone(), s.page)).collect(),
            scanned,
            size_mm: m.map(|m| m.size_mm).unwrap_or_default(),
        }
    }
}

/// The rule's outcome for one declaration: the completed seal facts and the findings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SealOutcome {
    pub matches_unit: Option<bool>,
    pub other_unit: Option<String>,
    pub findings: Vec<Finding>,
}

/// Runs the rule over the batch; one outcome per declaration that has a form.
pub fn resolve(p: &Pipeline, views: &[CrossView]) -> Vec<(usize, SealOutcome)> {
    let r = &p.rules.seal;
    // the batch's unit names, each once
    let mut names: Vec<&str> = Vec::new();
    let mut name_index: HashMap<String, usize> = HashMap::new();
    for v in views {
        if let Some(u) = v.unit_name.as_deref() {
            name_index.entry(normalize_label(u)).or_insert_with(|| {
                names.push(u);
                names.len() - 1
            });
        }
    }
    let mut out: Vec<(usize, SealOutcome)> = views
        .par_iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let s = v.seal.as_ref()?;
            let mut o = SealOutcome::default();
            let at = |f: Finding| -> Finding {
                let mut f = f.at("seal", None);
                f.file = Some(s.file.clone()).filter(|x| !x.is_empty());
                f.page = (s.page > 0).then_some(s.page);
                f
            };
            for (field, page, after) in &s.edited {
                let mut f = Finding::new(
                    "seal",
                    r.edited_after_signing,
                    format!(
                        "电子签名后文件被修改：签名{}{}之后追加了{}字节内容（增量更新），签名不再覆盖整个文件",
                        field.as_deref().map(|f| format!("「{f}」")).unwrap_or_default(),
                        page.map(|p| format!("（第{p}页）")).unwrap_or_default(),
                        after
                    ),
                );
                f.page = *page;
                o.findings.push(f);
            }
            for (field, page) in &s.intact {
                let mut f = Finding::new(
                    "seal",
                    Severity::Info,
                    format!(
                        "含电子签名{}{}，签名范围覆盖整个文件；未验证签名证书链",
                        field.as_deref().map(|f| format!("「{f}」")).unwrap_or_default(),
                        page.map(|p| format!("（第{p}页）")).unwrap_or_default()
                    ),
                );
                f.page = *page;
                o.findings.push(f);
            }
            if !s.present {
                // a scan where not even the applicant could be read may hide its seal too: a
                // person looks
                let (severity, why) = match (s.scanned, v.unit_name.is_some()) {
                    (false, _) => (r.missing, "未加盖申报单位公章"),
                    (true, true) => (r.missing, "未加盖申报单位公章（扫描件中未检出印章）"),
                    (true, false) => (Severity::Review.min(r.missing), "扫描件中未检出印章，扫描件也无法识别，请人工核对是否加盖公章"),
                };
                o.findings.push(Finding::new("seal", severity, why).at("seal", None));
                return Some((i, o));
            }
            let own = v.unit_name.as_deref().unwrap_or("");
            let readings: Vec<matching::Reading> = s.readings.iter().map(arc::to_matching).collect();
            let own_keys: Vec<String> = s.names.iter().map(|n| normalize_label(n)).collect();
            let others: Vec<&str> = names.iter().copied().filter(|n| !own_keys.contains(&normalize_label(n))).collect();
            // the applicant's name as the form and as the online data give it (an OCR'd name
            // may be misread): the seal is the applicant's if it fits either
            let mut verdict = matching::Verdict::Unreadable;
            for name in &s.names {
                let v = matching::decide(&readings, name, &others);
                let rank = |v: &matching::Verdict| match v {
                    matching::Verdict::Matches { .. } => 2,
                    matching::Verdict::Mismatch { .. } => 1,
                    matching::Verdict::Unreadable => 0,
                };
                if rank(&v) > rank(&verdict) || matches!(verdict, matching::Verdict::Unreadable) {
                    verdict = v;
                }
            }
            let read = s.readings.first().map(|r| r.text.as_str()).unwrap_or("");
            match verdict {
                matching::Verdict::Matches { .. } => o.matches_unit = Some(true),
                matching::Verdict::Mismatch { other, .. } => {
                    o.matches_unit = Some(false);
                    o.other_unit = other.map(|j| others[j].to_string());
                    let msg = match &o.other_unit {
                        Some(u) => format!("印章与申报单位不符：印章文字（识别为「{read}」）与「{u}」相符，而非申报单位「{own}」"),
                        None => format!("印章与申报单位不符：印章文字识别为「{read}」，与申报单位「{own}」不符"),
                    };
                    o.findings.push(at(Finding::new("seal", r.mismatch, msg)));
                }
                matching::Verdict::Unreadable => {
                    let msg = if read.is_empty() {
                        "印章文字无法识别，请人工核对印章是否为申报单位公章".to_string()
                    } else {
                        format!("印章文字识别不全（识别为「{read}」），无法确认是否为申报单位公章，请人工核对")
                    };
                    o.findings.push(at(Finding::new("seal", r.unreadable, msg)));
                }
            }
            Some((i, o))
        })
        .collect();
    reuse(p, views, &mut out);
    for (i, o) in out.iter_mut() {
        if views[*i].legacy {
            for f in o.findings.iter_mut() {
                if f.severity > r.legacy_cap {
                    f.severity = r.legacy_cap;
                    f.message.push_str("（历史申报记录，仅作提示）");
                }
            }
        }
    }
    out
}

/// The same seal on forms of different units: one seal image (fingerprints), or a seal as large
/// whose text names the same unit, on two units' forms.
fn reuse(p: &Pipeline, views: &[CrossView], out: &mut [(usize, SealOutcome)]) {
    let r = &p.rules.seal;
    let seals: Vec<(usize, usize)> = out
        .iter()
        .enumerate()
        .filter(|(_, (i, _))| views[*i].seal.as_ref().is_some_and(|s| s.present && !s.fingerprint.is_empty()))
        .map(|(k, (i, _))| (k, *i))
        .collect();
    let unit = |i: usize| views[i].unit_name.as_deref().map(normalize_label).unwrap_or_default();
    let fps: Vec<&[u64]> = seals.iter().map(|&(_, i)| views[i].seal.as_ref().unwrap().fingerprint.as_slice()).collect();
    // how well declaration `reader`'s seal reading fits declaration `name_of`'s unit name
    let fit = |reader: usize, name_of: usize| -> f32 {
        let name = views[name_of].unit_name.as_deref().unwrap_or("");
        views[reader].seal.as_ref().map_or(0.0, |s| s.readings.iter().map(|r| matching::score(&arc::to_matching(r), name)).fold(0.0, f32::max))
    };
    // whose seal each is, as its arc text told (the applicant's, or another unit's of the batch)
    let owners: Vec<Option<String>> = seals
        .iter()
        .map(|&(k, i)| match out[k].1.matches_unit {
            Some(true) => views[i].unit_name.as_deref().map(normalize_label),
            _ => out[k].1.other_unit.as_deref().map(normalize_label),
        })
        .collect();
    let pairs: Vec<(usize, usize)> = (0..seals.len())
        .into_par_iter()
        .flat_map_iter(|a| {
            let (fps, seals, owners, unit) = (&fps, &seals, &owners, &unit);
            ((a + 1)..seals.len()).filter_map(move |b| {
                let (ia, ib) = (seals[a].1, seals[b].1);
                let (sa, sb) = (views[ia].seal.as_ref().unwrap(), views[ib].seal.as_ref().unwrap());
                if (sa.size_mm[0] - sb.size_mm[0]).abs() > r.same_seal_size_mm || (sa.size_mm[1] - sb.size_mm[1]).abs() > r.same_seal_size_mm {
                    return None;
                }
                if unit(ia) == unit(ib) {
                    return None;
                }
                let d = arc::distance(fps[a], fps[b]);
                if d <= r.same_seal_max_distance {
                    return Some((a, b));
                }
                // a stamp pressed twice, or a seal both stamped and pasted: as large, and its text
                // names the same unit both times
                matches!((&owners[a], &owners[b]), (Some(x), Some(y)) if x == y).then_some((a, b))
            })
        })
        .collect();
    for (a, b) in pairs {
        let (ka, ia) = seals[a];
        let (kb, ib) = seals[b];
        // whose seal it is: the unit whose name the arc fits better (the two names may differ
        // in a character only); a tie leaves each form's own verdict
        let (fa, fb) = (fit(ia, ia).max(fit(ib, ia)), fit(ia, ib).max(fit(ib, ib)));
        let (mut ma, mut mb) = (out[ka].1.matches_unit, out[kb].1.matches_unit);
        if fa.max(fb) < 0.7 {
            // the arc fits neither name: whose seal it is stays as each form's rule said
        } else if fa > fb + 0.02 {
            (ma, mb) = (Some(true), Some(false));
        } else if fb > fa + 0.02 {
            (ma, mb) = (Some(false), Some(true));
        }
        out[ka].1.matches_unit = ma;
        out[kb].1.matches_unit = mb;
        for (k, me, other, mine, theirs) in [(ka, ia, ib, ma, mb), (kb, ib, ia, mb, ma)] {
            // the form whose unit the seal is not gets the return; the seal's owner a review;
            // when neither is known both are reviewed
            let not_mine = mine == Some(false) || (mine.is_none() && theirs == Some(true));
            let (severity, tail) = if not_mine {
                (r.mismatch, "，印章并非本单位所有")
            } else if mine == Some(true) {
                (Severity::Review.min(r.mismatch), "，本单位印章出现在其他单位的申报表上，请核实")
            } else {
                (Severity::Review.min(r.mismatch), "，无法确认印章属于哪个单位，请人工核对")
            };
            let msg = format!(
                "同一印章出现在多个单位的申报表上：与{}（{}）的印章相同{}",
                views[other].key,
                views[other].unit_name.as_deref().unwrap_or("单位名称未识别"),
                tail
            );
            let s = views[me].seal.as_ref().unwrap();
            let mut f = Finding::new("seal", severity, msg).at("seal", None);
            f.file = Some(s.file.clone());
            f.page = Some(s.page);
            out[k].1.findings.push(f);
        }
    }
}
