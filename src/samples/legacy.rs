//! Paper-era (2019–2023) declarations for the scanned samples: another title
//! (`重庆市职业技能竞赛申报表`, `2021年重庆市职业技能竞赛申报表`), label wording of the time
//! (单位名称, 竞赛名称, 组织机构代码, 联系方式, 竞赛工种, 职业代码, 举办地点), a 9-character
//! organisation code (GB 11714, sometimes printed `XXXXXXXX-X`), one 竞赛时间 column with a date
//! or a range (`2019年10月15日至10月16日`, `2022.05.17`), no declaration id. They are not in the
//! spreadsheets and carry no planted violations.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rand::prelude::*;
use rand::rngs::StdRng;

use super::data::{self, pick, pick_str, weighted, Decl};
use super::fmt::DateStyle;
use super::pdfgen::{FontEnc, FormStyle, Layout, LegacyForm};
use crate::codes::{org_check_char, CREDIT_ALPHABET};
use crate::config::Pipeline;
use crate::model::field_label;

pub struct LegacyDecl {
    /// true values; `credit_code` holds the 9-character organisation code (no hyphen), `id` a
    /// key for truth.json only (`L2021-0003`: the form has no declaration id)
    pub decl: Decl,
    pub year: i32,
    pub title: String,
    pub style: FormStyle,
}

fn with_year(d: NaiveDate, year: i32) -> NaiveDate {
    d.with_year(year).or_else(|| NaiveDate::from_ymd_opt(year, d.month(), 28)).expect("valid date")
}

/// The organisation code inside a credit code (characters 9–17), its check character recomputed;
/// a fresh random one when the body has characters GB 11714 does not allow.
fn org_code(rng: &mut StdRng, credit: &str) -> String {
    let chars: Vec<char> = credit.chars().collect();
    if chars.len() >= 16 {
        let body: String = chars[8..16].iter().collect();
        if let Some(c) = org_check_char(&body) {
            return format!("{body}{c}");
        }
    }
    let alphabet: Vec<char> = CREDIT_ALPHABET.chars().filter(|c| c.is_ascii_digit()).collect();
    loop {
        let body: String = (0..8).map(|_| *pick(rng, &alphabet)).collect();
        if let Some(c) = org_check_char(&body) {
            return format!("{body}{c}");
        }
    }
}

fn legacy_style(rng: &mut StdRng, year: i32) -> FormStyle {
    let layout = *weighted(rng, &[(Layout::Grid, 45), (Layout::Lines, 35), (Layout::Spaced, 20)]);
    let mut labels = BTreeMap::new();
    for &key in super::pdfgen::LABEL_KEYS {
        let label = match key {
            "category" => "竞赛类别",
            "event_name" => "竞赛名称",
            "unit_name" => "单位名称",
            "credit_code" => "组织机构代码",
            "unit_type" => pick_str(rng, &["单位类型", "单位性质"]),
            "supervisor" => pick_str(rng, &["主管部门", "主管单位"]),
            "contact_phone" => "联系方式",
            "fill_date" => pick_str(rng, &["日期", "填报日期"]),
            k => field_label(k),
        };
        labels.insert(key, label.to_string());
    }
    FormStyle {
        layout,
        enc: FontEnc::IdentityH,
        latin_font: false,
        hex: false,
        compress: true,
        date_style: DateStyle::Cn,
        phone_style: *weighted(rng, &[(0u8, 60), (1, 25), (2, 15)]),
        occ_fullwidth: rng.random_bool(0.3),
        credit_fullwidth: false,
        colon: if rng.random_bool(0.8) { "：" } else { ":" },
        split_label_value: rng.random_bool(0.5),
        labels,
        base_font: pick_str(rng, &["SimSun", "SimSun", "FangSong", "SimHei"]),
        page_break: rng.random_bool(0.15),
        ruled_items: layout != Layout::Lines || rng.random_bool(0.7),
        budget_two_decimals: rng.random_bool(0.2),
        unit_in_file_name: rng.random_bool(0.8),
        producer: "",
        version: "1.4",
        legacy: Some(LegacyForm { year, dot_dates: rng.random_bool(0.4), org_hyphen: rng.random_bool(0.4) }),
    }
}

/// `n` paper-era declarations, years 2019–2023.
pub fn build(p: &Pipeline, n: usize, rng: &mut StdRng) -> Vec<LegacyDecl> {
    if n == 0 {
        return Vec::new();
    }
    let base = data::build(p, n, rng);
    let mut counters: BTreeMap<i32, usize> = BTreeMap::new();
    base.into_iter()
        .map(|mut d| {
            let year = rng.random_range(2019..=2023);
            let k = counters.entry(year).or_default();
            *k += 1;
            d.id = format!("L{year}-{:04}", k);
            d.credit_code = org_code(rng, &d.credit_code);
            d.event_name = d.event_name.replace("2024", &year.to_string());
            d.fill_date = with_year(d.fill_date, year);
            for it in d.items.iter_mut() {
                it.start_date = with_year(it.start_date, year);
                it.end_date = with_year(it.end_date, year);
                if it.end_date < it.start_date || rng.random_bool(0.4) {
                    it.end_date = it.start_date;
                }
            }
            if let Some(first) = d.items.iter().map(|it| it.start_date).min() {
                if d.fill_date > first {
                    d.fill_date = first - chrono::Duration::days(rng.random_range(20..90));
                }
            }
            d.has_form = true;
            d.sheet_diffs.clear();
            d.planted.clear();
            d.account.clear();
            let title = if rng.random_bool(0.5) {
                "重庆市职业技能竞赛申报表".to_string()
            } else {
                format!("{year}年重庆市职业技能竞赛申报表")
            };
            let style = legacy_style(rng, year);
            LegacyDecl { decl: d, year, title, style }
        })
        .collect()
}
