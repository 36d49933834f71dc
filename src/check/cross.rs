//! Rules across declarations, run once over the whole batch (the reduce step): limits per
//! undertaker, host locations per event, one platform account per unit.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{normalize_label, Pipeline};
use crate::model::{Declaration, Finding};

/// Findings to add, by declaration index.
pub type CrossFindings = Vec<(usize, Finding)>;

/// A rule over the whole batch.
pub type CrossRule = fn(&Pipeline, &[CrossView]) -> CrossFindings;

/// What the cross-declaration rules need of a declaration, and nothing more: the batch keeps
/// these small views in memory instead of whole declarations.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossView {
    pub key: String,
    pub legacy: bool,
    pub event_name: Option<String>,
    pub unit_name: Option<String>,
    pub credit_code: Option<String>,
    pub account: Option<String>,
    /// (undertaker, host_location) per item
    pub items: Vec<(Option<String>, Option<String>)>,
    /// the form's seal facts (None without a form)
    pub seal: Option<super::seal::SealView>,
}

impl CrossView {
    pub fn of(d: &Declaration) -> CrossView {
        let t = |k: &str| d.text(k).map(str::to_string);
        CrossView {
            key: d.key.clone(),
            legacy: d.legacy,
            event_name: t("event_name"),
            unit_name: t("unit_name"),
            credit_code: t("credit_code"),
            account: t("account"),
            items: d
                .items
                .iter()
                .map(|it| (it.text("undertaker").map(str::to_string), it.text("host_location").map(str::to_string)))
                .collect(),
            seal: d.has_form.then(|| super::seal::SealView::of(d)),
        }
    }
}

pub fn undertaker_limits(p: &Pipeline, decls: &[CrossView]) -> CrossFindings {
    let r = &p.rules.undertaker_limits;
    // undertaker → (events, item count, declarations, display name)
    let mut by: BTreeMap<String, (BTreeSet<String>, usize, BTreeSet<usize>, String)> = BTreeMap::new();
    for (di, d) in decls.iter().enumerate() {
        if d.legacy {
            continue;
        }
        let event = d.event_name.as_deref().map(normalize_label).unwrap_or_else(|| format!("#{}", d.key));
        for (undertaker, _) in &d.items {
            let Some(u) = undertaker.as_deref() else { continue };
            let e = by.entry(normalize_label(u)).or_insert_with(|| Default::default());
            e.0.insert(event.clone());
            e.1 += 1;
            e.2.insert(di);
            if e.3.is_empty() {
                e.3 = u.to_string();
            }
        }
    }
    let mut out = Vec::new();
    for (_, (events, items, ds, name)) in by {
        let mut problems = Vec::new();
        if events.len() > r.max_events {
            problems.push(format!("承办赛事{}场（不得超过{}场）", events.len(), r.max_events));
        }
        if items > r.max_items {
            problems.push(format!("承办赛项{}个（不得超过{}个）", items, r.max_items));
        }
        if problems.is_empty() {
            continue;
        }
        let ids: Vec<&str> = ds.iter().map(|&i| decls[i].key.as_str()).collect();
        for &di in &ds {
            out.push((
                di,
                Finding::new(
                    "undertaker-limits",
                    r.severity,
                    format!("承办单位“{name}”在本批申报中{}，涉及申报：{}", problems.join("、"), ids.join("、")),
                )
                .at("undertaker", None),
            ));
        }
    }
    out
}

pub fn host_locations(p: &Pipeline, decls: &[CrossView]) -> CrossFindings {
    let r = &p.rules.host_locations;
    // event → (locations, declarations, display name)
    let mut by: BTreeMap<String, (BTreeSet<String>, BTreeSet<usize>, String)> = BTreeMap::new();
    for (di, d) in decls.iter().enumerate() {
        if d.legacy {
            continue;
        }
        let Some(event) = d.event_name.as_deref() else { continue };
        let e = by.entry(normalize_label(event)).or_insert_with(|| Default::default());
        e.1.insert(di);
        if e.2.is_empty() {
            e.2 = event.to_string();
        }
        for (_, loc) in &d.items {
            if let Some(loc) = loc {
                e.0.insert(normalize_label(loc));
            }
        }
    }
    let mut out = Vec::new();
    for (_, (locs, ds, name)) in by {
        if locs.len() <= r.max_locations {
            continue;
        }
        let list: Vec<&str> = locs.iter().map(String::as_str).collect();
        let ids: Vec<&str> = ds.iter().map(|&i| decls[i].key.as_str()).collect();
        for &di in &ds {
            out.push((
                di,
                Finding::new(
                    "host-locations",
                    r.severity,
                    format!(
                        "赛事“{name}”的承办地有{}个（{}），同一赛事承办地不得超过{}个；涉及申报：{}",
                        locs.len(),
                        list.join("、"),
                        r.max_locations,
                        ids.join("、")
                    ),
                )
                .at("host_location", None),
            ));
        }
    }
    out
}

pub fn one_account(p: &Pipeline, decls: &[CrossView]) -> CrossFindings {
    let r = &p.rules.one_account;
    // unit → (accounts, declarations, display name)
    let mut by: BTreeMap<String, (BTreeSet<String>, BTreeSet<usize>, String)> = BTreeMap::new();
    for (di, d) in decls.iter().enumerate() {
        let Some(account) = d.account.as_deref() else { continue };
        let Some(unit) = d.credit_code.as_deref().or(d.unit_name.as_deref()) else { continue };
        let e = by.entry(normalize_label(unit)).or_insert_with(|| Default::default());
        e.0.insert(account.to_string());
        e.1.insert(di);
        if e.2.is_empty() {
            e.2 = d.unit_name.as_deref().unwrap_or(unit).to_string();
        }
    }
    let mut out = Vec::new();
    for (_, (accounts, ds, name)) in by {
        if accounts.len() <= 1 {
            continue;
        }
        let list: Vec<&str> = accounts.iter().map(String::as_str).collect();
        let ids: Vec<&str> = ds.iter().map(|&i| decls[i].key.as_str()).collect();
        for &di in &ds {
            out.push((
                di,
                Finding::new(
                    "one-account",
                    r.severity,
                    format!("申报单位“{name}”使用了{}个平台账号（{}），应一个单位一个账号；涉及申报：{}", accounts.len(), list.join("、"), ids.join("、")),
                )
                .at("account", None),
            ));
        }
    }
    out
}
