//! The rules of the call (form-spec §4). Per-declaration rules run in parallel (rayon);
//! cross-declaration rules run once over the batch. Findings only: nothing is printed or
//! written here.

pub mod cross;
pub mod seal;
pub mod single;

use rayon::prelude::*;

use crate::config::Pipeline;
pub use cross::CrossView;
use crate::model::{field_label, Declaration, Finding, Severity, Verdict};

/// Runs every rule over the batch and sets each declaration's verdict.
pub fn check_all(p: &Pipeline, decls: &mut [Declaration]) {
    decls.par_iter_mut().for_each(|d| check_one(p, d));
    let views: Vec<CrossView> = decls.iter().map(CrossView::of).collect();
    for (i, f) in cross_findings(p, &views) {
        decls[i].findings.push(f);
    }
    for (i, o) in seal::resolve(p, &views) {
        apply_seal(&mut decls[i], o);
    }
    decls.par_iter_mut().for_each(finish);
}

/// Completes a declaration's seal facts with the rule's outcome and adds its findings.
pub fn apply_seal(d: &mut Declaration, o: seal::SealOutcome) {
    d.seal.matches_unit = o.matches_unit;
    d.seal.other_unit = o.other_unit;
    d.findings.extend(o.findings);
}

/// The cross-declaration rules (the reduce step), by declaration index.
pub fn cross_findings(p: &Pipeline, decls: &[CrossView]) -> Vec<(usize, Finding)> {
    let cross_rules: [cross::CrossRule; 3] = [cross::undertaker_limits, cross::host_locations, cross::one_account];
    cross_rules.par_iter().flat_map(|rule| rule(p, decls)).collect()
}

/// The per-declaration rules, with the low-confidence guard: a rule that needs a field read
/// below the pipeline's confidence threshold cannot pass or return on it, it asks a person.
pub fn check_one(p: &Pipeline, d: &mut Declaration) {
    let threshold = p.rules.low_confidence.threshold;
    let mut all = Vec::new();
    for (rule_id, rule, deps) in single::RULES {
        let mut findings = rule(p, d);
        let mut low: Vec<(String, Option<usize>, f32)> = Vec::new();
        for key in deps.iter() {
            if let Some(f) = d.get(key) {
                if f.prov.confidence < threshold {
                    low.push((key.to_string(), None, f.prov.confidence));
                }
            }
            for (i, item) in d.items.iter().enumerate() {
                if let Some(f) = item.get(key) {
                    if f.prov.confidence < threshold {
                        low.push((key.to_string(), Some(i), f.prov.confidence));
                    }
                }
            }
        }
        for f in findings.iter_mut() {
            let about_low = low.iter().any(|(k, i, _)| f.field.as_deref() == Some(k) && (f.item == *i || i.is_none()));
            if about_low && f.severity == Severity::Return {
                f.severity = p.rules.low_confidence.severity;
                f.message.push_str("（该字段识别置信度低，需人工核对原件）");
            }
        }
        for (key, item, conf) in low {
            let field = if key.starts_with("items") { None } else { d.get(&key).or_else(|| item.and_then(|i| d.items[i].get(&key))) };
            let what = match item {
                Some(i) => format!("第{}个竞赛项目的{}", i + 1, field_label(&key)),
                None => field_label(&key).to_string(),
            };
            let mut f = Finding::new(
                rule_id,
                p.rules.low_confidence.severity,
                format!("字段识别置信度低：{what}（{:.0}%），请人工核对", conf * 100.0),
            )
            .at(&key, field);
            f.item = item;
            findings.push(f);
        }
        all.extend(findings);
    }
    d.findings.extend(all);
}

/// Orders the findings (worst first, by rule), drops exact duplicates, sets the verdict.
pub fn finish(d: &mut Declaration) {
    d.findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)).then(a.item.cmp(&b.item)));
    d.findings.dedup();
    d.verdict = Verdict::from_findings(&d.findings);
}
