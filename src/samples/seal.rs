//! Seals on the generated forms: which seal each form carries (the applicant's, none, another
//! unit's, the parent company's on a branch, one seal image on two units' forms), electronic seal
//! images placed on born-digital PDFs (RGB + soft mask), and the signature plants (a signed PDF,
//! a signed PDF appended to after signing).

use anyhow::Context;
use lopdf::{dictionary, Document, Object, Stream};
use rand::prelude::*;
use rand::rngs::StdRng;
use serde::Serialize;

use super::data::Decl;

/// What a form's seal is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SealPlan {
    /// own | missing | other | parent | reused
    pub kind: &'static str,
    /// the text on the seal's arc; None: no seal at all
    pub text: Option<String>,
    /// for `other` / `reused`: the declaration whose unit the seal belongs to
    pub of_declaration: Option<String>,
    /// the seal image seed (the same seed = the same seal image)
    pub image_seed: u64,
    /// diameter, mm
    pub diameter_mm: f32,
    /// born-digital only: an electronic signature over the whole file
    pub signed: bool,
    /// born-digital only: content appended after signing
    pub appended: bool,
    /// another declaration's form carries this form's seal (set on the source of a reuse)
    pub reused_by: Option<String>,
}

impl SealPlan {
    /// Whether the seal on the form is the applicant's.
    pub fn matches_unit(&self) -> Option<bool> {
        self.text.as_ref().map(|_| matches!(self.kind, "own"))
    }
    /// The seal rule's planted failure: (kind, severity, Chinese detail).
    pub fn planted(&self) -> Vec<(&'static str, &'static str, String)> {
        let mut v = Vec::new();
        match self.kind {
            "missing" => v.push(("seal-missing", "return", "未加盖申报单位公章".to_string())),
            "other" => v.push(("seal-other-unit", "return", format!("加盖的是{}的公章", self.text.as_deref().unwrap_or("")))),
            "parent" => v.push(("seal-parent-company", "return", format!("分公司申报表加盖总公司公章：{}", self.text.as_deref().unwrap_or("")))),
            "reused" => v.push(("seal-reused", "return", format!("与{}的申报表为同一印章", self.of_declaration.as_deref().unwrap_or("")))),
            _ => {}
        }
        if self.reused_by.is_some() {
            v.push(("seal-reused-source", "review", format!("本单位印章出现在{}的申报表上", self.reused_by.as_deref().unwrap_or(""))));
        }
        if self.appended {
            v.push(("signed-then-edited", "return", "签名后文件被修改（签名范围之后有追加内容）".to_string()));
        }
        v
    }
}

/// Plans every form's seal. `forms[i]` says whether declaration i has a form and whether it is
/// born-digital. Plants are made only on declarations without other plants, so each planted
/// seal case is what decides its verdict; rates are per form.
pub fn plan(decls: &mut [Decl], forms: &[(bool, bool)], rng: &mut StdRng) -> Vec<Option<SealPlan>> {
    let n = decls.len();
    let mut plans: Vec<Option<SealPlan>> = (0..n)
        .map(|i| {
            forms[i].0.then(|| SealPlan {
                kind: "own",
                text: Some(decls[i].unit_name.clone()),
                of_declaration: None,
                image_seed: rng.random(),
                diameter_mm: rng.random_range(38.0f32..44.0),
                // drawn for every form, so a set with scans keeps its born-digital forms as
                // they are without them
                signed: rng.random_bool(0.3) && forms[i].1,
                appended: false,
                reused_by: None,
            })
        })
        .collect();
    // units seen once: their name may change (a branch) without touching other declarations
    let mut count_unit = std::collections::HashMap::new();
    for d in decls.iter() {
        *count_unit.entry(d.unit_name.clone()).or_insert(0usize) += 1;
    }
    let clean = |d: &Decl| d.planted.is_empty() && d.sheet_diffs.is_empty();
    let candidates: Vec<usize> = (0..n).filter(|&i| plans[i].is_some() && clean(&decls[i])).collect();
    let mut taken = vec![false; n];
    let pick = |rng: &mut StdRng, taken: &mut Vec<bool>| -> Option<usize> {
        for _ in 0..50 {
            let &i = candidates.choose(rng)?;
            if !taken[i] {
                taken[i] = true;
                return Some(i);
            }
        }
        None
    };
    let forms_n = plans.iter().flatten().count();
    let k = |rate: f64| ((forms_n as f64 * rate).round() as usize).max(1);
    for _ in 0..k(0.03) {
        let Some(i) = pick(rng, &mut taken) else { break };
        let p = plans[i].as_mut().unwrap();
        p.kind = "missing";
        p.text = None;
        p.signed = false;
    }
    for _ in 0..k(0.03) {
        let Some(i) = pick(rng, &mut taken) else { break };
        // another unit's seal: a unit of the batch whose own form is not in it (a unit with a
        // form in the batch lending its seal is the `reused` case)
        // (a name that differs only in 重庆/重庆市 or the legal form is the same unit)
        let core = |n: &str| {
            let mut n = n.trim_start_matches("重庆市").trim_start_matches("重庆").to_string();
            for suf in ["股份有限公司", "有限责任公司", "有限公司"] {
                if let Some(stem) = n.strip_suffix(suf) {
                    n = stem.to_string();
                    break;
                }
            }
            n
        };
        let differs = |j: usize| core(&decls[j].unit_name) != core(&decls[i].unit_name) && !decls[j].unit_name.is_empty();
        let mut others: Vec<usize> = (0..n).filter(|&j| differs(j) && !forms[j].0).collect();
        if others.is_empty() {
            others = (0..n).filter(|&j| differs(j)).collect();
        }
        let Some(&j) = others.choose(rng) else { continue };
        let p = plans[i].as_mut().unwrap();
        p.kind = "other";
        p.text = Some(decls[j].unit_name.clone());
        p.of_declaration = Some(decls[j].id.clone());
    }
    for _ in 0..k(0.02) {
        let Some(i) = pick(rng, &mut taken) else { break };
        let name = decls[i].unit_name.clone();
        if count_unit.get(&name) != Some(&1) || !name.ends_with("公司") {
            taken[i] = false;
            continue;
        }
        let branch = ["长寿", "江津", "永川", "万州", "涪陵", "合川"].choose(rng).unwrap();
        decls[i].unit_name = format!("{name}{branch}分公司");
        let p = plans[i].as_mut().unwrap();
        p.kind = "parent";
        p.text = Some(name);
    }
    for _ in 0..k(0.01) {
        let (Some(a), Some(b)) = (pick(rng, &mut taken), pick(rng, &mut taken)) else { break };
        if decls[a].unit_name == decls[b].unit_name {
            continue;
        }
        let src = plans[a].clone().unwrap();
        let (ida, idb) = (decls[a].id.clone(), decls[b].id.clone());
        let p = plans[b].as_mut().unwrap();
        p.kind = "reused";
        p.text = src.text.clone();
        p.image_seed = src.image_seed;
        p.diameter_mm = src.diameter_mm;
        p.of_declaration = Some(ida);
        plans[a].as_mut().unwrap().reused_by = Some(idb);
    }
    // signed, then appended to: born-digital forms only (picked among all forms, so the
    // picks do not depend on which forms are scans)
    for _ in 0..k(0.02) {
        let Some(i) = pick(rng, &mut taken) else { break };
        if forms[i].1 {
            let p = plans[i].as_mut().unwrap();
            p.signed = true;
            p.appended = true;
        }
    }
    plans
}

/// Places an electronic seal image on page `page` (0-based) of `pdf`, centred at (x, y) in
/// points (PDF coordinates, y up): an RGB image XObject with a soft mask, drawn last.
pub fn stamp_pdf(pdf: &[u8], page: usize, x: f32, y: f32, diameter_mm: f32, text: &str, seed: u64) -> anyhow::Result<Vec<u8>> {
    let dpi = 200.0;
    let (size, rgb, alpha) = super::scan::electronic_seal(text, diameter_mm, dpi, seed)?;
    let mut doc = Document::load_mem(pdf).context("stamping the seal")?;
    let mut smask = Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => size as i64, "Height" => size as i64,
                      "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
        alpha,
    );
    smask.compress()?;
    let smask = doc.add_object(smask);
    let mut im = Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => size as i64, "Height" => size as i64,
                      "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "SMask" => smask },
        rgb,
    );
    im.compress()?;
    let im = doc.add_object(im);
    let side = size as f32 / dpi * 72.0;
    let content = format!("q {side:.2} 0 0 {side:.2} {:.2} {:.2} cm /SealIm Do Q", x - side / 2.0, y - side / 2.0);
    let cs = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
    let pages = doc.get_pages();
    let pid = *pages.get(&(page as u32 + 1)).context("no such page")?;
    // resources: inline or referenced; the XObject dictionary likewise
    let res_ref = doc.get_dictionary(pid)?.get(b"Resources").ok().and_then(|o| o.as_reference().ok());
    let res: &mut lopdf::Dictionary = match res_ref {
        Some(r) => doc.get_dictionary_mut(r)?,
        None => {
            let pd = doc.get_dictionary_mut(pid)?;
            if pd.get(b"Resources").is_err() {
                pd.set("Resources", dictionary! {});
            }
            pd.get_mut(b"Resources")?.as_dict_mut()?
        }
    };
    match res.get(b"XObject").ok().and_then(|o| o.as_reference().ok()) {
        Some(x) => doc.get_dictionary_mut(x)?.set("SealIm", im),
        None => {
            if res.get(b"XObject").is_err() {
                res.set("XObject", dictionary! {});
            }
            res.get_mut(b"XObject")?.as_dict_mut()?.set("SealIm", im);
        }
    }
    let pd = doc.get_dictionary_mut(pid)?;
    let contents = match pd.get(b"Contents") {
        Ok(Object::Array(a)) => {
            let mut a = a.clone();
            a.push(Object::Reference(cs));
            a
        }
        Ok(o) => vec![o.clone(), Object::Reference(cs)],
        Err(_) => vec![Object::Reference(cs)],
    };
    pd.set("Contents", contents);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}
