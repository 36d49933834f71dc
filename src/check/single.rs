//! Rules that look at one declaration at a time (form-spec §4). Each is a small function
//! from a declaration to findings; parameters come from the pipeline file.

use crate::codes::{validate_credit_code, validate_org_code};
use crate::config::Pipeline;
use crate::model::{field_label, Declaration, Finding, Value};

pub type Rule = fn(&Pipeline, &Declaration) -> Vec<Finding>;

/// The per-declaration rules with the fields each depends on (for the confidence check).
pub const RULES: &[(&str, Rule, &[&str])] = &[
    ("required", required, &[]),
    ("deadline", deadline, &["submitted_at"]),
    ("category", category, &["category"]),
    ("credit-code", credit_code, &["credit_code", "category"]),
    ("finish-by", finish_by, &["end_date"]),
    ("item-catalogue", item_catalogue, &["occupation", "occupation_code"]),
    ("event-catalogue", event_catalogue, &["event_name", "category"]),
    ("conditions", conditions, &["managers", "experts_judges", "budget_wan", "venue"]),
    ("consistency", consistency, &[]),
];

fn text<'a>(d: &'a Declaration, key: &str) -> Option<&'a str> {
    d.text(key)
}

pub fn required(p: &Pipeline, d: &Declaration) -> Vec<Finding> {
    let r = &p.rules.required;
    let mut out = Vec::new();
    // on a scan, a field not found may be one OCR could not read: a person looks; a scan
    // where nothing was read carries its own finding and no list of every field
    if d.scanned && d.fields.is_empty() && d.items.is_empty() {
        return out;
    }
    let missing = if d.scanned { p.rules.low_confidence.severity } else { r.severity };
    if d.has_sheet && !d.has_form {
        out.push(Finding::new(
            "required",
            r.missing_form_severity,
            "未上传加盖申报单位公章的申报表（仅有线上汇总数据）",
        ));
    }
    if d.has_form && !d.legacy {
        match d.get("declaration_id") {
            None => out.push(Finding::new("required", missing, "申报表缺少申报编号").at("declaration_id", None)),
            Some(f) => {
                let id = f.value.to_string();
                if !p.declaration_id.is_match(&id) {
                    out.push(
                        Finding::new("required", r.severity, format!("申报编号“{id}”格式不正确"))
                            .at("declaration_id", Some(f)),
                    );
                }
            }
        }
    }
    for key in &r.fields {
        if d.get(key).is_none() {
            out.push(Finding::new("required", missing, format!("缺少必填项：{}", field_label(key))).at(key, None));
        }
    }
    if let Some(f) = d.get("contact_phone") {
        let phone = f.value.to_string();
        if !p.phone_fits(&phone) {
            out.push(
                Finding::new(
                    "required",
                    r.severity,
                    format!("联系电话“{}”格式不正确（应为11位手机号或023开头的8位固定电话）", f.prov.raw.as_deref().unwrap_or(&phone)),
                )
                .at("contact_phone", Some(f)),
            );
        }
    }
    if d.items.is_empty() {
        out.push(Finding::new("required", missing, "未填写竞赛项目"));
    }
    for (i, item) in d.items.iter().enumerate() {
        for key in &r.item_fields {
            if item.get(key).is_none() {
                out.push(
                    Finding::new("required", missing, format!("第{}个竞赛项目缺少{}", i + 1, field_label(key)))
                        .at(key, None)
                        .item(i),
                );
            }
        }
        if let (Some(s), Some(e)) = (
            item.get("start_date").and_then(|f| f.value.as_date()),
            item.get("end_date").and_then(|f| f.value.as_date()),
        ) {
            if s > e {
                out.push(
                    Finding::new("required", r.severity, format!("第{}个竞赛项目开始日期{}晚于结束日期{}", i + 1, s, e))
                        .at("start_date", item.get("start_date"))
                        .item(i),
                );
            }
        }
    }
    out
}

pub fn deadline(p: &Pipeline, d: &Declaration) -> Vec<Finding> {
    let r = &p.rules.deadline;
    if d.legacy {
        return vec![];
    }
    match d.get("submitted_at") {
        None => vec![Finding::new(
            "deadline",
            r.missing_severity,
            "无提交时间（未找到该申报的线上汇总数据），无法核对是否在申报截止时间前提交",
        )],
        Some(f) => match &f.value {
            Value::DateTime(t) if *t > r.submitted_by => vec![Finding::new(
                "deadline",
                r.severity,
                format!(
                    "逾期不予受理：提交时间{}晚于截止时间{}",
                    t.format("%Y-%m-%d %H:%M"),
                    r.submitted_by.format("%Y-%m-%d %H:%M")
                ),
            )
            .at("submitted_at", Some(f))],
            _ => vec![],
        },
    }
}

pub fn category(p: &Pipeline, d: &Declaration) -> Vec<Finding> {
    match d.get("category") {
        Some(f) if !p.lists.categories.iter().any(|c| f.value.as_text() == Some(c)) => vec![Finding::new(
            "category",
            p.rules.category.severity,
            format!("赛事类别“{}”不属于{}", f.value, p.lists.categories.join("、")),
        )
        .at("category", Some(f))],
        _ => vec![],
    }
}

pub fn credit_code(p: &Pipeline, d: &Declaration) -> Vec<Finding> {
    let r = &p.rules.credit_code;
    let Some(f) = d.get("credit_code") else { return vec![] };
    let code = f.value.to_string();
    let compact: String = code.chars().filter(|c| *c != '-').collect();
    let result = match compact.chars().count() {
        9 => validate_org_code(&code).map_err(|e| format!("组织机构代码“{code}”{}", e.message_zh())),
        _ => validate_credit_code(&code).map_err(|e| format!("统一社会信用代码“{code}”{}", e.message_zh())),
    };
    let mut out = Vec::new();
    if let Err(msg) = result {
        out.push(Finding::new("credit-code", r.severity, msg).at("credit_code", Some(f)));
        return out;
    }
    let in_scope = text(d, "category").is_some_and(|c| r.legal_person_categories.iter().any(|x| x == c));
    if in_scope {
        if let Some(prefix) = r.not_legal_person_prefixes.iter().find(|pre| code.starts_with(pre.as_str())) {
            out.push(
                Finding::new(
                    "credit-code",
                    r.severity,
                    format!("统一社会信用代码以{prefix}开头（个体工商户），不具备独立法人资格，不能申请承办行业赛"),
                )
                .at("credit_code", Some(f)),
            );
        }
    }
    out
}

pub fn finish_by(p: &Pipeline, d: &Declaration) -> Vec<Finding> {
    let r = &p.rules.finish_by;
    if d.legacy {
        return vec![];
    }
    let mut out = Vec::new();
    for (i, item) in d.items.iter().enumerate() {
        if let Some(f) = item.get("end_date") {
            if let Some(end) = f.value.as_date() {
                if end > r.end_by {
                    out.push(
                        Finding::new(
                            "finish-by",
                            r.severity,
                            format!(
                                "第{}个竞赛项目（{}）计划结束日期{}晚于{}（原则上须在11月中旬前完成）",
                                i + 1,
                                item.text("occupation").unwrap_or("未知职业"),
                                end,
                                r.end_by
                            ),
                        )
                        .at("end_date", Some(f))
                        .item(i),
                    );
                }
            }
        }
    }
    out
}

pub fn item_catalogue(p: &Pipeline, d: &Declaration) -> Vec<Finding> {
    let r = &p.rules.item_catalogue;
    if d.legacy {
        return vec![];
    }
    let mut out = Vec::new();
    for (i, item) in d.items.iter().enumerate() {
        let Some(f) = item.get("occupation") else { continue };
        let occ = f.value.to_string();
        if let Some(entry) = p.catalogue_item(&occ) {
            if let Some(code) = item.get("occupation_code") {
                if code.value.as_text() != Some(entry.code.as_str()) {
                    out.push(
                        Finding::new(
                            "item-catalogue",
                            r.severity,
                            format!(
                                "第{}个竞赛项目“{}”的职业编码{}与附件2所列类别编码{}（{}）不符",
                                i + 1,
                                occ,
                                code.value,
                                entry.code,
                                entry.category
                            ),
                        )
                        .at("occupation_code", Some(code))
                        .item(i),
                    );
                }
            }
            if entry.no_national_standard {
                out.push(
                    Finding::new(
                        "item-catalogue",
                        r.no_national_standard_severity,
                        format!("第{}个竞赛项目“{}”在附件2中标注为无国标，需对接我市专项职业能力考核规范", i + 1, occ),
                    )
                    .at("occupation", Some(f))
                    .item(i),
                );
            }
        } else if !p.is_digital_item(&occ) {
            out.push(
                Finding::new(
                    "item-catalogue",
                    r.severity,
                    format!(
                        "第{}个竞赛项目“{}”不在附件2建议赛项和附件3数字技能类建议赛项中，需与国家职业技能标准或我市专项职业能力考核规范对接",
                        i + 1,
                        occ
                    ),
                )
                .at("occupation", Some(f))
                .item(i),
            );
        }
    }
    out
}

pub fn event_catalogue(p: &Pipeline, d: &Declaration) -> Vec<Finding> {
    let r = &p.rules.event_catalogue;
    if d.legacy {
        return vec![];
    }
    let in_scope = text(d, "category").is_some_and(|c| r.categories.iter().any(|x| x == c));
    match d.get("event_name") {
        Some(f) if in_scope && !p.is_catalogue_event(&f.value.to_string()) => vec![Finding::new(
            "event-catalogue",
            r.severity,
            format!("市级行业赛“{}”不在附件1建议赛事中", f.value),
        )
        .at("event_name", Some(f))],
        _ => vec![],
    }
}

pub fn conditions(p: &Pipeline, d: &Declaration) -> Vec<Finding> {
    let r = &p.rules.conditions;
    let mut out = Vec::new();
    if d.scanned && d.fields.is_empty() && d.items.is_empty() {
        return out;
    }
    let missing = if d.scanned { p.rules.low_confidence.severity } else { r.severity };
    let mut at_least = |key: &str, min: f64, strictly: bool, what: &str| match d.get(key) {
        None => out.push(Finding::new("conditions", missing, format!("未填写{what}")).at(key, None)),
        Some(f) => {
            let v = f.value.as_f64().unwrap_or(f64::NAN);
            let ok = if strictly { v > min } else { v >= min };
            if !ok {
                out.push(
                    Finding::new(
                        "conditions",
                        r.severity,
                        format!("{what}为{}，不符合申报单位基本条件（应{}{}）", f.value, if strictly { "大于" } else { "不少于" }, min),
                    )
                    .at(key, Some(f)),
                );
            }
        }
    };
    at_least("managers", r.min_managers as f64, false, "管理人员数");
    at_least("experts_judges", r.min_experts_judges as f64, false, "专家裁判人员数");
    at_least("budget_wan", r.min_budget_wan, true, "经费预算（万元）");
    if r.require_venue && d.get("venue").is_none() {
        out.push(Finding::new("conditions", missing, "未填写竞赛场地").at("venue", None));
    }
    out
}

pub fn consistency(p: &Pipeline, d: &Declaration) -> Vec<Finding> {
    let r = &p.rules.consistency;
    d.disagreements
        .iter()
        .map(|g| {
            let show = |f: &Option<crate::model::Field>| f.as_ref().map(|f| f.value.to_string()).unwrap_or_else(|| "（空）".into());
            let what = match g.item {
                Some(i) => format!("第{}个竞赛项目的{}", i + 1, field_label(&g.field)),
                None if g.field == "items" => "竞赛项目数".to_string(),
                None => field_label(&g.field).to_string(),
            };
            // a form value OCR was unsure of may be a misreading, not a different value
            let unsure = g.form.as_ref().is_some_and(|f| f.prov.confidence < p.rules.low_confidence.threshold);
            let (severity, note) = if unsure {
                (p.rules.low_confidence.severity, "（申报表该字段识别置信度低，需人工核对原件）")
            } else {
                (r.severity, "")
            };
            let mut f = Finding::new(
                "consistency",
                severity,
                format!("盖章申报表与线上申报数据不一致：{what}，申报表为“{}”，线上数据为“{}”{note}", show(&g.form), show(&g.sheet)),
            );
            f.field = Some(g.field.clone());
            f.item = g.item;
            if let Some(form) = &g.form {
                f.file = Some(form.prov.file.to_string());
                f.page = form.prov.page;
            }
            f
        })
        .collect()
}
