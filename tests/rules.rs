//! One fixture per rule (form-spec §4): a valid declaration, changed in the one way the rule
//! is about, and the findings a reviewer expects — rule id, severity, and what the message
//! names. Built through the real extract → assemble → check path from field texts.

use std::collections::BTreeMap;
use std::path::Path;

use shenbao::assemble::{assemble, Piece};
use shenbao::check::check_all;
use shenbao::config::Pipeline;
use shenbao::extract::normalize::normalize;
use shenbao::model::{
    field_kind, Declaration, Extracted, Field, Item, Method, Provenance, SealMark, SealReading, Severity, SignatureInfo, SourceFile, Verdict,
};

fn pipeline() -> Pipeline {
    Pipeline::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/bayu-2024.toml"))).unwrap()
}

type Spec = (Vec<(&'static str, String)>, Vec<Vec<(&'static str, String)>>);

fn fields(file: &str, method: Method, kv: &[(&'static str, String)]) -> BTreeMap<&'static str, Field> {
    kv.iter()
        .filter_map(|(k, v)| {
            let value = normalize(field_kind(k).unwrap(), v).unwrap()?;
            Some((
                *k,
                Field {
                    value,
                    prov: Provenance {
                        file: file.into(),
                        page: Some(1),
                        sheet: None,
                        row: None,
                        method,
                        confidence: 1.0,
                        raw: None,
                        corrections: vec![],
                        bbox: None,
                        crop_png: Vec::new(),
                    },
                },
            ))
        })
        .collect()
}

/// A seal as the seal finder reports it: `text` read along the arc (every character, evenly
/// spaced, sure), with a fingerprint of its own unless given.
fn seal(file: &str, text: &str, fingerprint: Option<&str>) -> SealMark {
    let n = text.chars().count() as f32;
    let chars: Vec<(char, f32, f32)> = text.chars().enumerate().map(|(i, c)| (c, (i as f32 + 0.5) / n, 0.95)).collect();
    // a fingerprint unlike any other fixture's: the text's bytes spread over 2048 bits
    let own_fp: String = (0..32)
        .map(|k| {
            let h = text.bytes().fold(0xcbf29ce484222325u64 ^ k, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3));
            format!("{h:016x}")
        })
        .collect();
    SealMark {
        file: file.into(),
        page: 1,
        center_mm: [150.0, 240.0],
        size_mm: [42.0, 42.0],
        shape: "round".into(),
        star: true,
        confidence: 0.95,
        source: "image".into(),
        readings: vec![SealReading { text: text.into(), confidence: 0.95, chars, how: "band".into() }],
        fingerprint: fingerprint.map(str::to_string).unwrap_or(own_fp),
        crop_png: vec![],
    }
}

fn extracted(file: &str, method: Method, spec: &Spec) -> Piece {
    let header = fields(file, method, &spec.0);
    // a form carries its unit's seal
    let seals = match (method, header.get("unit_name")) {
        (Method::Sheet, _) | (_, None) => vec![],
        (_, Some(u)) => vec![seal(file, &u.value.to_string(), None)],
    };
    Piece {
        extracted: Extracted {
            file: file.into(),
            method,
            fields: header,
            items: spec.1.iter().map(|it| Item { fields: fields(file, method, it) }).collect(),
            legacy: false,
            year: Some(2024),
            findings: vec![],
            seals,
            signatures: vec![],
        },
        source: SourceFile { file: file.into(), sha256: "0".repeat(64), kind: "pdf".into(), pages: Some(1) },
    }
}

/// A valid credit code of its own for each declaration id.
fn credit_code_for(id: &str) -> String {
    let digits: String = id.chars().filter(|c| c.is_ascii_digit()).collect();
    let tail = &digits[digits.len() - 4..];
    shenbao::codes::complete_credit_code(&format!("915001038021{tail}")).unwrap()
}

/// A declaration that passes every rule.
fn valid(id: &str) -> Spec {
    let s = |x: &str| x.to_string();
    (
        vec![
            ("declaration_id", s(id)),
            ("category", s("企业和院校技能练兵比武")),
            ("event_name", format!("重庆某某科技有限公司2024年技能练兵比武{id}")),
            ("unit_name", format!("重庆某某科技有限公司{id}")),
            ("credit_code", credit_code_for(id)),
            ("unit_type", s("企业")),
            ("supervisor", s("重庆市渝北区人力资源和社会保障局")),
            ("contact_name", s("张三")),
            ("contact_phone", s("13812345678")),
            ("managers", s("5")),
            ("experts_judges", s("8")),
            ("budget_wan", s("12.5")),
            ("funding_source", s("自筹")),
            ("venue", s("公司实训基地")),
            ("submitted_at", s("2024-02-01 10:00:00")),
            ("account", format!("acct-{id}")),
        ],
        vec![vec![
            ("occupation", s("人工智能训练师")),
            ("occupation_code", s("4-04-05")),
            ("undertaker", format!("承办单位{id}")),
            ("host_location", s("渝北区")),
            ("start_date", s("2024-05-20")),
            ("end_date", s("2024-05-22")),
            ("participants", s("60")),
        ]],
    )
}

fn set(spec: &mut Spec, key: &'static str, value: &str) {
    spec.0.retain(|(k, _)| *k != key);
    spec.0.push((key, value.to_string()));
}

fn set_item(spec: &mut Spec, i: usize, key: &'static str, value: &str) {
    spec.1[i].retain(|(k, _)| *k != key);
    spec.1[i].push((key, value.to_string()));
}

/// Reviews form+sheet pairs (the sheet is the same data unless `sheet` is given).
fn review(forms: Vec<Spec>, sheets: Option<Vec<Spec>>) -> Vec<Declaration> {
    let p = pipeline();
    let sheets = sheets.unwrap_or_else(|| forms.clone());
    let mut pieces = Vec::new();
    for (i, f) in forms.iter().enumerate() {
        // the stamped form has no submission time or account: those come from the platform
        let mut f = f.clone();
        f.0.retain(|(k, _)| !matches!(*k, "submitted_at" | "account"));
        pieces.push(extracted(&format!("forms/{i}.pdf"), Method::Text, &f));
    }
    for (i, s) in sheets.iter().enumerate() {
        pieces.push(extracted(&format!("sheets/{i}.xlsx"), Method::Sheet, s));
    }
    let mut decls = assemble(&p, pieces);
    check_all(&p, &mut decls);
    decls
}

fn only(decls: &[Declaration], id: &str) -> Declaration {
    decls.iter().find(|d| d.key == id).unwrap_or_else(|| panic!("no declaration {id}")).clone()
}

fn rules_of(d: &Declaration) -> Vec<(String, Severity)> {
    d.findings.iter().map(|f| (f.rule.clone(), f.severity)).collect()
}

#[track_caller]
fn expect(d: &Declaration, rule: &str, severity: Severity, message_has: &str) {
    assert!(
        d.findings.iter().any(|f| f.rule == rule && f.severity == severity && f.message.contains(message_has)),
        "expected {rule}/{severity:?} containing {message_has:?}, got {:#?}",
        d.findings
    );
}

#[test]
fn valid_declaration_passes() {
    let d = only(&review(vec![valid("BY2024-0001")], None), "BY2024-0001");
    assert_eq!(rules_of(&d), vec![], "{:#?}", d.findings);
    assert_eq!(d.verdict, Verdict::Pass);
}

#[test]
fn deadline() {
    let mut late = valid("BY2024-0001");
    set(&mut late, "submitted_at", "2024-02-05 18:00:01");
    let mut on_time = valid("BY2024-0002");
    set(&mut on_time, "submitted_at", "2024-02-05 18:00:00");
    let decls = review(vec![late, on_time], None);
    let d = only(&decls, "BY2024-0001");
    expect(&d, "deadline", Severity::Return, "逾期不予受理");
    assert_eq!(d.verdict, Verdict::Return);
    assert_eq!(only(&decls, "BY2024-0002").verdict, Verdict::Pass);
    // no online data: the time cannot be checked, a person must look
    let d = only(&review(vec![valid("BY2024-0003")], Some(vec![])), "BY2024-0003");
    expect(&d, "deadline", Severity::Review, "无提交时间");
}

#[test]
fn category() {
    let mut s = valid("BY2024-0001");
    set(&mut s, "category", "省级竞赛");
    let d = only(&review(vec![s], None), "BY2024-0001");
    expect(&d, "category", Severity::Return, "省级竞赛");
}

#[test]
fn credit_code() {
    let mut bad = valid("BY2024-0001");
    set(&mut bad, "credit_code", "91350100M000100Y44");
    let mut individual = valid("BY2024-0002");
    set(&mut individual, "category", "市级行业赛");
    set(&mut individual, "event_name", "重庆市第三届数字技能竞赛");
    let code = shenbao::codes::complete_credit_code("9250010380210043").unwrap();
    set(&mut individual, "credit_code", &code);
    let mut org = valid("BY2024-0003");
    set(&mut org, "credit_code", "80210043-4");
    let decls = review(vec![bad, individual, org], None);
    expect(&only(&decls, "BY2024-0001"), "credit-code", Severity::Return, "校验码错误");
    expect(&only(&decls, "BY2024-0002"), "credit-code", Severity::Return, "个体工商户");
    expect(&only(&decls, "BY2024-0003"), "credit-code", Severity::Return, "组织机构代码");
}

#[test]
fn undertaker_limits() {
    // one undertaker, three events: every declaration involved is returned
    let mut specs = Vec::new();
    for i in 1..=3 {
        let mut s = valid(&format!("BY2024-000{i}"));
        set_item(&mut s, 0, "undertaker", "重庆市某某职业培训学校");
        specs.push(s);
    }
    let mut other = valid("BY2024-0009");
    set_item(&mut other, 0, "undertaker", "另一承办单位");
    specs.push(other);
    let decls = review(specs, None);
    for i in 1..=3 {
        expect(&only(&decls, &format!("BY2024-000{i}")), "undertaker-limits", Severity::Return, "承办赛事3场");
    }
    assert_eq!(only(&decls, "BY2024-0009").verdict, Verdict::Pass);
    // one event, six items with one undertaker
    let mut s = valid("BY2024-0010");
    let item = s.1[0].clone();
    s.1 = vec![item; 6];
    let d = only(&review(vec![s], None), "BY2024-0010");
    expect(&d, "undertaker-limits", Severity::Return, "承办赛项6个");
}

#[test]
fn host_locations() {
    let mut a = valid("BY2024-0001");
    let mut b = valid("BY2024-0002");
    for s in [&mut a, &mut b] {
        set(s, "event_name", "重庆市第三届数字技能竞赛");
        set(s, "category", "市级行业赛");
    }
    a.1.push(a.1[0].clone());
    set_item(&mut a, 0, "host_location", "渝中区");
    set_item(&mut a, 1, "host_location", "江北区");
    set_item(&mut a, 1, "undertaker", "承办单位X");
    set_item(&mut b, 0, "host_location", "南岸区");
    b.1.push(b.1[0].clone());
    set_item(&mut b, 1, "host_location", "万州区");
    set_item(&mut b, 1, "undertaker", "承办单位Y");
    let decls = review(vec![a, b], None);
    for id in ["BY2024-0001", "BY2024-0002"] {
        expect(&only(&decls, id), "host-locations", Severity::Return, "承办地有4个");
    }
}

#[test]
fn finish_by() {
    let mut s = valid("BY2024-0001");
    set_item(&mut s, 0, "end_date", "2024年11月16日");
    let d = only(&review(vec![s], None), "BY2024-0001");
    expect(&d, "finish-by", Severity::Review, "2024-11-16");
    assert_eq!(d.verdict, Verdict::Review);
    let f = d.findings.iter().find(|f| f.rule == "finish-by").unwrap();
    assert_eq!((f.item, f.file.as_deref(), f.page), (Some(0), Some("forms/0.pdf"), Some(1)));
}

#[test]
fn item_catalogue() {
    let mut s = valid("BY2024-0001");
    set_item(&mut s, 0, "occupation", "直播带货员");
    let d = only(&review(vec![s], None), "BY2024-0001");
    expect(&d, "item-catalogue", Severity::Review, "不在附件2");
    // Annex 3 only (no code in Annex 2): fine
    let mut s = valid("BY2024-0002");
    set_item(&mut s, 0, "occupation", "WPS办公软件应用");
    assert_eq!(only(&review(vec![s], None), "BY2024-0002").verdict, Verdict::Pass);
    // 无国标: only information
    let mut s = valid("BY2024-0003");
    set_item(&mut s, 0, "occupation", "灭火救援员");
    set_item(&mut s, 0, "occupation_code", "3－02－03");
    let d = only(&review(vec![s], None), "BY2024-0003");
    expect(&d, "item-catalogue", Severity::Info, "无国标");
    assert_eq!(d.verdict, Verdict::Pass);
    // the wrong category code
    let mut s = valid("BY2024-0004");
    set_item(&mut s, 0, "occupation_code", "6-18-02");
    expect(&only(&review(vec![s], None), "BY2024-0004"), "item-catalogue", Severity::Review, "4-04-05");
}

#[test]
fn event_catalogue() {
    let mut s = valid("BY2024-0001");
    set(&mut s, "category", "市级行业赛");
    set(&mut s, "event_name", "重庆市第一届直播电商行业职业技能竞赛");
    expect(&only(&review(vec![s], None), "BY2024-0001"), "event-catalogue", Severity::Review, "不在附件1");
    let mut s = valid("BY2024-0002");
    set(&mut s, "category", "市级行业赛");
    set(&mut s, "event_name", "重庆市第三届数字技能竞赛");
    assert_eq!(only(&review(vec![s], None), "BY2024-0002").verdict, Verdict::Pass);
}

#[test]
fn conditions() {
    let mut s = valid("BY2024-0001");
    set(&mut s, "managers", "0");
    set(&mut s, "budget_wan", "0");
    s.0.retain(|(k, _)| *k != "venue");
    let d = only(&review(vec![s], None), "BY2024-0001");
    expect(&d, "conditions", Severity::Return, "管理人员数为0");
    expect(&d, "conditions", Severity::Return, "经费预算（万元）为0");
    expect(&d, "conditions", Severity::Return, "未填写竞赛场地");
}

#[test]
fn required() {
    let mut s = valid("BY2024-0001");
    set(&mut s, "contact_phone", "138123456");
    s.0.retain(|(k, _)| *k != "contact_name");
    set_item(&mut s, 0, "start_date", "2024-06-01");
    let d = only(&review(vec![s.clone()], None), "BY2024-0001");
    expect(&d, "required", Severity::Return, "联系电话“138123456”格式不正确");
    expect(&d, "required", Severity::Return, "缺少必填项：联系人");
    expect(&d, "required", Severity::Return, "开始日期2024-06-01晚于结束日期2024-05-22");
    // a landline with the Chongqing area code is fine
    let mut s = valid("BY2024-0002");
    set(&mut s, "contact_phone", "(023)88152326");
    assert_eq!(only(&review(vec![s], None), "BY2024-0002").verdict, Verdict::Pass);
    // only the online data, no stamped form
    let d = only(&review(vec![], Some(vec![valid("BY2024-0003")])), "BY2024-0003");
    expect(&d, "required", Severity::Return, "未上传加盖申报单位公章的申报表");
}

#[test]
fn one_account() {
    let a = valid("BY2024-0001");
    let mut b = valid("BY2024-0002");
    set(&mut b, "unit_name", "重庆某某科技有限公司BY2024-0001");
    set(&mut b, "credit_code", &credit_code_for("BY2024-0001"));
    set(&mut b, "account", "another-account");
    let decls = review(vec![a, b], None);
    for id in ["BY2024-0001", "BY2024-0002"] {
        expect(&only(&decls, id), "one-account", Severity::Review, "2个平台账号");
    }
}

#[test]
fn consistency() {
    let form = valid("BY2024-0001");
    let mut sheet = form.clone();
    set(&mut sheet, "contact_phone", "13900000000");
    set_item(&mut sheet, 0, "participants", "80");
    let d = only(&review(vec![form], Some(vec![sheet])), "BY2024-0001");
    expect(&d, "consistency", Severity::Return, "联系电话，申报表为“13812345678”，线上数据为“13900000000”");
    expect(&d, "consistency", Severity::Return, "第1个竞赛项目的预计参赛人数");
    // spacing and full-width differences are not disagreements
    let form = valid("BY2024-0002");
    let mut sheet = form.clone();
    set(&mut sheet, "venue", "公司 实训基地");
    assert_eq!(only(&review(vec![form], Some(vec![sheet])), "BY2024-0002").verdict, Verdict::Pass);
}

#[test]
fn low_confidence_never_passes_silently() {
    let p = pipeline();
    let mut piece = extracted("scan.png", Method::Ocr, &valid("BY2024-0001"));
    let mut sheet = extracted("s.xlsx", Method::Sheet, &valid("BY2024-0001"));
    piece.extracted.fields.get_mut("credit_code").unwrap().prov.confidence = 0.4;
    sheet.extracted.fields.remove("credit_code");
    let mut decls = assemble(&p, vec![piece, sheet]);
    check_all(&p, &mut decls);
    let d = &decls[0];
    expect(d, "credit-code", Severity::Review, "字段识别置信度低");
    assert_eq!(d.verdict, Verdict::Review);

    // an unsure OCR reading that disagrees with the online data: a person looks
    let mut piece = extracted("scan.png", Method::Ocr, &valid("BY2024-0002"));
    let sheet = extracted("s.xlsx", Method::Sheet, &valid("BY2024-0002"));
    let phone = piece.extracted.fields.get_mut("contact_phone").unwrap();
    phone.value = shenbao::model::Value::Text("13812345679".into());
    phone.prov.confidence = 0.5;
    let mut decls = assemble(&p, vec![piece, sheet]);
    check_all(&p, &mut decls);
    expect(&decls[0], "consistency", Severity::Review, "识别置信度低");
    assert!(!decls[0].findings.iter().any(|f| f.severity == Severity::Return), "{:#?}", decls[0].findings);
}

/// Reviews prepared pieces (forms and their sheets).
fn review_pieces(pieces: Vec<Piece>) -> Vec<Declaration> {
    let p = pipeline();
    let mut decls = assemble(&p, pieces);
    check_all(&p, &mut decls);
    decls
}

/// A form piece and its sheet piece for `spec`, the form's seals replaced by `seals`.
fn form_and_sheet(i: usize, spec: &Spec, seals: Vec<SealMark>) -> Vec<Piece> {
    let mut f = spec.clone();
    f.0.retain(|(k, _)| !matches!(*k, "submitted_at" | "account"));
    let mut form = extracted(&format!("forms/{i}.pdf"), Method::Text, &f);
    form.extracted.seals = seals;
    vec![form, extracted(&format!("sheets/{i}.xlsx"), Method::Sheet, spec)]
}

#[test]
fn seal_rule() {
    let unit = |spec: &Spec| spec.0.iter().find(|(k, _)| *k == "unit_name").unwrap().1.clone();
    let a = valid("BY2024-0001");
    let mut b = valid("BY2024-0002");
    set(&mut b, "unit_name", "重庆渝州机械制造有限公司");
    let mut c = valid("BY2024-0003");
    set(&mut c, "unit_name", "重庆长江建设工程有限公司长寿分公司");
    let mut d = valid("BY2024-0004");
    set(&mut d, "unit_name", "重庆嘉陵电子科技有限公司");
    let (ua, ub) = (unit(&a), unit(&b));

    // no seal on the form
    let decls = review_pieces(form_and_sheet(0, &a, vec![]));
    expect(&only(&decls, "BY2024-0001"), "seal", Severity::Return, "未加盖申报单位公章");
    assert_eq!(only(&decls, "BY2024-0001").seal.present, Some(false));

    // another unit's seal (that unit is in the batch), the parent company's on a branch,
    // an unreadable arc, the applicant's own seal
    let mut pieces = form_and_sheet(0, &a, vec![seal("forms/0.pdf", &ub, None)]);
    pieces.extend(form_and_sheet(1, &b, vec![seal("forms/1.pdf", &ub, None)]));
    pieces.extend(form_and_sheet(2, &c, vec![seal("forms/2.pdf", "重庆长江建设工程有限公司", None)]));
    pieces.extend(form_and_sheet(3, &d, vec![seal("forms/3.pdf", "口", None)]));
    let decls = review_pieces(pieces);
    let da = only(&decls, "BY2024-0001");
    expect(&da, "seal", Severity::Return, "印章与申报单位不符");
    expect(&da, "seal", Severity::Return, &ub);
    assert_eq!(da.seal.matches_unit, Some(false));
    assert_eq!(da.seal.other_unit.as_deref(), Some(ub.as_str()));
    let db = only(&decls, "BY2024-0002");
    assert_eq!(db.seal.matches_unit, Some(true), "{:#?}", db.findings);
    let dc = only(&decls, "BY2024-0003");
    expect(&dc, "seal", Severity::Return, "印章与申报单位不符");
    assert_eq!(dc.seal.matches_unit, Some(false));
    let dd = only(&decls, "BY2024-0004");
    expect(&dd, "seal", Severity::Review, "无法确认");
    assert_eq!(dd.seal.matches_unit, None);
    assert_eq!(dd.verdict, Verdict::Review, "an unreadable seal is never a pass");

    // one seal image on two units' forms: return where it is not the unit's, review where it is
    let fp = "ab".repeat(256);
    let mut pieces = form_and_sheet(0, &a, vec![seal("forms/0.pdf", &ua, Some(&fp))]);
    pieces.extend(form_and_sheet(1, &b, vec![seal("forms/1.pdf", "口口", Some(&fp))]));
    let decls = review_pieces(pieces);
    let (da, db) = (only(&decls, "BY2024-0001"), only(&decls, "BY2024-0002"));
    expect(&da, "seal", Severity::Review, "BY2024-0002");
    expect(&db, "seal", Severity::Return, "同一印章");
    expect(&db, "seal", Severity::Return, "BY2024-0001");

    // a signed PDF appended to after signing; an intact signature is only noted
    let mut pieces = form_and_sheet(0, &a, vec![seal("forms/0.pdf", &ua, None)]);
    let sig = |covers: bool| SignatureInfo {
        file: "forms/0.pdf".into(),
        field: Some("Signature1".into()),
        page: Some(2),
        byte_range: vec![0, 100, 200, if covers { 300 } else { 250 }],
        covers_whole_file: covers,
        appended_bytes: if covers { 0 } else { 50 },
    };
    pieces[0].extracted.signatures = vec![sig(false)];
    let d = only(&review_pieces(pieces), "BY2024-0001");
    expect(&d, "seal", Severity::Return, "签名后文件被修改");
    let mut pieces = form_and_sheet(0, &a, vec![seal("forms/0.pdf", &ua, None)]);
    pieces[0].extracted.signatures = vec![sig(true)];
    let d = only(&review_pieces(pieces), "BY2024-0001");
    expect(&d, "seal", Severity::Info, "未验证签名证书链");
    assert_eq!(d.verdict, Verdict::Pass);
}
