//! `review-report.html`: one self-contained page in Chinese (inline CSS and a little
//! vanilla JS, nothing loaded from anywhere), for a reviewer with thousands of declarations:
//! summary tables, a filterable / sortable list, one closed `<details>` block per
//! declaration, the files that could not be read and the files that were skipped.
//!
//! Every piece of text that comes from the input goes through `esc`.
//!
//! The page is written straight to the output as it is produced, never held whole: a first
//! pass over the store gathers the summary counts, later passes write the list and the
//! details blocks one declaration at a time.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::model::{
    field_label, Declaration, Field, FileError, Finding, Method, Provenance, Severity, Verdict,
    HEADER_FIELDS, ITEM_FIELDS,
};
use crate::store::Store;

use super::{is_sheet_kind, main_findings, place_zh, rule_name_zh, RunSummary, RULE_ORDER};

/// Escapes text for HTML content and attribute values.
/// Standard base64 for the seal crops' data URIs (no base64 crate is in the offline registry;
/// RFC 4648 with padding).
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            out.push(if i <= c.len() { T[(n >> shift & 63) as usize] as char } else { '=' });
        }
    }
    out
}

pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
*{box-sizing:border-box}
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","Source Han Sans SC",SimSun,sans-serif;margin:0 auto;max-width:1400px;padding:12px 20px 60px;color:#222;background:#fafafa;font-size:14px;line-height:1.5}
h1{font-size:24px;margin:8px 0 4px}
h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid #c0392b}
h4{margin:12px 0 4px;font-size:14px}
.meta{color:#555;margin:2px 0}
.seal{display:flex;gap:12px;align-items:flex-start}.seal img{border:1px solid #ddd;background:#fff;flex:none}
.meta code,.path{font-family:Consolas,Menlo,monospace;font-size:12px;word-break:break-all}
nav a{margin-right:14px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:22px}
.grid{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.grid>div{background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px 10px;max-height:420px;overflow:auto}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eef3f8;white-space:nowrap}
td.n,th.n{text-align:right}
#list table{width:100%}
#list thead th{cursor:pointer;position:sticky;top:0;z-index:1}
#list thead th[data-d=a]::after{content:" ▲"}
#list thead th[data-d=d]::after{content:" ▼"}
#list tbody tr{cursor:pointer}
#list tbody tr:hover{background:#fff8e1}
.b{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;font-size:12px;white-space:nowrap}
.pass{background:#2e7d32}.review{background:#ef8f00}.return{background:#c62828}.info{background:#607d8b}
.controls{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:8px 0}
.controls input{width:320px;padding:4px 8px;font-size:14px}
.controls select{padding:3px;font-size:14px}
details.d{background:#fff;border:1px solid #ddd;border-radius:6px;margin:6px 0;padding:4px 10px}
details.d>summary{cursor:pointer;padding:2px 0}
details.d[open]{border-color:#888}
.fl{margin:4px 0;padding-left:20px}
.fl li{margin:2px 0}
.loc{color:#666;font-size:12px;margin-left:6px}
.na{color:#aaa}
.src{color:#777;font-size:12px}
.low{background:#fff3cd}
img.crop{display:block;max-width:240px;margin-top:3px;border:1px solid #e0c060;background:#fff}
.muted{color:#777}
"#;

const JS: &str = r##"
(function(){
var tb=document.querySelector('#list tbody');if(!tb)return;
var rows=Array.prototype.filter.call(tb.rows,function(r){return r.hasAttribute('data-v');}),txt=null,timer=null;
var q=document.getElementById('q'),fv=document.getElementById('fv'),fc=document.getElementById('fc'),cnt=document.getElementById('cnt');
function apply(){
 if(!txt){txt=rows.map(function(r){return r.textContent.toLowerCase();});}
 var s=q.value.trim().toLowerCase(),v=fv.value,c=fc.value,n=0;
 for(var i=0;i<rows.length;i++){var r=rows[i];
  var ok=(!v||r.getAttribute('data-v')===v)&&(!c||r.cells[3].textContent===c)&&(!s||txt[i].indexOf(s)>=0);
  r.hidden=!ok;if(ok)n++;}
 cnt.textContent=n;}
q.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(apply,150);});
fv.addEventListener('change',apply);fc.addEventListener('change',apply);
var ths=document.querySelectorAll('#list thead th');
Array.prototype.forEach.call(ths,function(th,ci){th.addEventListener('click',function(){
 var dir=th.getAttribute('data-d')==='a'?'d':'a',num=th.getAttribute('data-t')==='n';
 Array.prototype.forEach.call(ths,function(t){t.removeAttribute('data-d');});th.setAttribute('data-d',dir);
 var k=rows.map(function(r,i){var td=r.cells[ci],t=td.getAttribute('data-s')||td.textContent;return{r:r,i:i,k:num?(parseFloat(t)||0):t};});
 k.sort(function(a,b){var c=num?a.k-b.k:a.k.localeCompare(b.k,'zh-CN');if(c===0)c=a.i-b.i;return dir==='a'?c:-c;});
 var f=document.createDocumentFragment();k.forEach(function(o){f.appendChild(o.r);});tb.appendChild(f);});});
function openHash(){var id=decodeURIComponent(location.hash.slice(1));if(!id)return;var d=document.getElementById(id);
 if(d&&d.tagName==='DETAILS'){d.open=true;d.scrollIntoView();}}
window.addEventListener('hashchange',openHash);openHash();
tb.addEventListener('click',function(e){var r=e.target.closest('tr'),a=r&&r.querySelector('a[href^="#d"]');if(!a)return;
 e.preventDefault();var h=a.getAttribute('href');if(location.hash===h)openHash();else location.hash=h;});
})();
"##;

fn verdict_class(v: Verdict) -> &'static str {
    v.as_str()
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Review => "review",
        Severity::Return => "return",
    }
}

fn method_zh(m: Method) -> &'static str {
    match m {
        Method::Text => "文字层",
        Method::Ocr => "OCR识别",
        Method::Sheet => "汇总表",
    }
}

/// The shown id of a declaration: its 申报编号, else a marker.
fn shown_id(d: &Declaration) -> String {
    match d.id() {
        Some(id) => esc(id),
        None => "<span class=\"na\">（无编号）</span>".to_string(),
    }
}

/// Counts of declarations by some text (category, supervisor), with verdict breakdown.
#[derive(Default)]
struct Tally {
    total: usize,
    by: [usize; 3],
}

fn verdict_index(v: Verdict) -> usize {
    match v {
        Verdict::Pass => 0,
        Verdict::Review => 1,
        Verdict::Return => 2,
    }
}

/// Per rule: findings by severity (return, review, info) and how many declarations it touches.
#[derive(Default)]
struct RuleTally {
    sev: [usize; 3],
    decls: usize,
}

/// What the head and the summary tables need, gathered in a first pass over the store:
/// only counts, never a declaration.
#[derive(Default)]
struct Summary {
    decls: usize,
    /// declarations by verdict (pass, review, return)
    verdicts: [usize; 3],
    items: usize,
    by_category: BTreeMap<String, Tally>,
    by_supervisor: BTreeMap<String, Tally>,
    rules: BTreeMap<String, RuleTally>,
}

impl Summary {
    fn gather(store: &Store) -> Summary {
        let mut s = Summary::default();
        for d in store.iter() {
            s.add(&d);
        }
        s
    }

    fn add(&mut self, d: &Declaration) {
        self.decls += 1;
        self.verdicts[verdict_index(d.verdict)] += 1;
        self.items += d.items.len();
        tally_add(&mut self.by_category, d, "category");
        tally_add(&mut self.by_supervisor, d, "supervisor");
        let mut seen: Vec<&str> = Vec::new();
        for f in &d.findings {
            let r = match self.rules.get_mut(f.rule.as_str()) {
                Some(r) => r,
                None => self.rules.entry(f.rule.to_string()).or_default(),
            };
            r.sev[match f.severity {
                Severity::Return => 0,
                Severity::Review => 1,
                Severity::Info => 2,
            }] += 1;
            if !seen.contains(&f.rule.as_str()) {
                seen.push(&f.rule);
                r.decls += 1;
            }
        }
    }
}

/// Counts a declaration under its value of `key` (category, supervisor), by verdict.
fn tally_add(m: &mut BTreeMap<String, Tally>, d: &Declaration, key: &str) {
    let name = d
        .fields
        .get(key)
        .map(|f| f.value.to_string())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "（未识别）".to_string());
    let t = m.entry(name).or_default();
    t.total += 1;
    t.by[verdict_index(d.verdict)] += 1;
}

/// The tallies, most declarations first, then by name.
fn tally_sorted(m: &BTreeMap<String, Tally>) -> Vec<(&str, &Tally)> {
    let mut v: Vec<(&str, &Tally)> = m.iter().map(|(k, t)| (k.as_str(), t)).collect();
    v.sort_by(|a, b| b.1.total.cmp(&a.1.total).then_with(|| a.0.cmp(b.0)));
    v
}

fn tally_table<W: Write>(h: &mut W, title: &str, rows: &[(&str, &Tally)]) -> io::Result<()> {
    write!(
        h,
        "<div><h4>{}</h4><table><thead><tr><th>{}</th><th class=\"n\">合计</th>\
         <th class=\"n\">通过</th><th class=\"n\">复核</th><th class=\"n\">退回</th></tr></thead><tbody>",
        esc(title),
        esc(title.trim_start_matches("按")),
    )?;
    for (name, t) in rows {
        write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(name),
            t.total,
            t.by[0],
            t.by[1],
            t.by[2]
        )?;
    }
    h.write_all("</tbody></table></div>".as_bytes())
}

/// Per rule: findings by severity and how many declarations it touches.
fn rule_table<W: Write>(h: &mut W, rules: &BTreeMap<String, RuleTally>) -> io::Result<()> {
    let mut rules: Vec<(&str, &RuleTally)> = rules.iter().map(|(k, r)| (k.as_str(), r)).collect();
    let pos = |r: &str| {
        RULE_ORDER
            .iter()
            .position(|x| *x == r)
            .unwrap_or(usize::MAX)
    };
    rules.sort_by(|a, b| pos(a.0).cmp(&pos(b.0)).then_with(|| a.0.cmp(b.0)));
    h.write_all(
        "<div><h4>按审核规则</h4><table><thead><tr><th>规则</th><th>规则编号</th>\
         <th class=\"n\">涉及申报</th><th class=\"n\">退回</th><th class=\"n\">复核</th><th class=\"n\">提示</th></tr></thead><tbody>"
            .as_bytes(),
    )?;
    if rules.is_empty() {
        h.write_all("<tr><td colspan=\"6\" class=\"muted\">没有发现问题</td></tr>".as_bytes())?;
    }
    for (rule, r) in &rules {
        write!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(rule_name_zh(rule)),
            esc(rule),
            r.decls,
            r.sev[0],
            r.sev[1],
            r.sev[2]
        )?;
    }
    h.write_all("</tbody></table></div>".as_bytes())
}

/// Where a field was read: "[1] 第2页 · OCR识别" (plain text, not escaped; [n] is the
/// declaration's n-th source file).
fn where_text(d: &Declaration, p: &Provenance) -> String {
    let mut parts: Vec<String> = Vec::new();
    match d.sources.iter().position(|s| *s.file == *p.file) {
        Some(i) => parts.push(format!("[{}]", i + 1)),
        None => parts.push(p.file.to_string()),
    }
    if let Some(sheet) = &p.sheet {
        parts.push(format!("工作表 {sheet}"));
    }
    if let Some(row) = p.row {
        parts.push(format!("第{row}行"));
    } else if let Some(page) = p.page {
        parts.push(place_zh(d, &p.file, page));
    }
    parts.push(method_zh(p.method).to_string());
    parts.join(" ")
}

/// How sure the reading is: "置信度 62% · 原文“…” · 校正：…" (plain text), empty when the
/// field was read cleanly.
fn quality_text(f: &Field) -> String {
    let p = &f.prov;
    let mut parts: Vec<String> = Vec::new();
    if p.confidence < 0.995 {
        parts.push(format!("置信度 {:.0}%", p.confidence * 100.0));
    }
    if let Some(raw) = &p.raw {
        if *raw != f.value.to_string() {
            parts.push(format!("原文“{raw}”"));
        }
    }
    if !p.corrections.is_empty() {
        parts.push(format!("校正：{}", p.corrections.join("，")));
    }
    parts.join(" · ")
}

/// The full provenance of a field (plain text).
fn prov_text(d: &Declaration, f: &Field) -> String {
    let q = quality_text(f);
    let w = where_text(d, &f.prov);
    if q.is_empty() {
        w
    } else {
        format!("{w} · {q}")
    }
}

/// The place most fields of a declaration were read from, so it is said once and only the
/// exceptions are marked.
fn usual_where(d: &Declaration) -> Option<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let all = d
        .fields
        .values()
        .chain(d.items.iter().flat_map(|i| i.fields.values()));
    for f in all {
        let w = where_text(d, &f.prov);
        match counts.iter_mut().find(|(x, _)| *x == w) {
            Some((_, n)) => *n += 1,
            None => counts.push((w, 1)),
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(w, _)| w)
}

/// Where a finding points: 项目2 · 计划结束日期 · a.pdf 第2页.
fn finding_loc(d: &Declaration, f: &Finding) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(i) = f.item {
        parts.push(format!("项目{}", i + 1));
    }
    if let Some(field) = &f.field {
        let label = field_label(field);
        parts.push(esc(if label.is_empty() { field } else { label }));
    }
    if let Some(file) = &f.file {
        let mut s = format!("<span class=\"path\">{}</span>", esc(file));
        if let Some(page) = f.page {
            s.push(' ');
            s.push_str(&place_zh(d, file, page));
        }
        parts.push(s);
    }
    parts.join(" · ")
}

fn findings_list<W: Write>(h: &mut W, d: &Declaration) -> io::Result<()> {
    if d.findings.is_empty() {
        return h.write_all("<p class=\"muted\">未发现问题。</p>".as_bytes());
    }
    let mut fs: Vec<&Finding> = d.findings.iter().collect();
    fs.sort_by_key(|f| std::cmp::Reverse(f.severity));
    h.write_all("<ul class=\"fl\">".as_bytes())?;
    for f in fs {
        let loc = finding_loc(d, f);
        write!(
            h,
            "<li><span class=\"b {}\">{}</span> 【{}】{}",
            severity_class(f.severity),
            f.severity.label_zh(),
            esc(rule_name_zh(&f.rule)),
            esc(&f.message)
        )?;
        if !loc.is_empty() {
            write!(h, "<span class=\"loc\">{loc}</span>")?;
        }
        h.write_all("</li>".as_bytes())?;
    }
    h.write_all("</ul>".as_bytes())
}

/// A doubtful OCR'd value's crop of the page (what the recogniser saw, beside what it read),
/// or nothing.
fn crop_img(f: &Field) -> String {
    if f.prov.crop_png.is_empty() {
        return String::new();
    }
    format!("<img class=\"crop\" alt=\"原件\" src=\"data:image/png;base64,{}\">", base64(&f.prov.crop_png))
}

/// The cell attribute that highlights a value read below `low`, or nothing.
fn low_class(f: &Field, low: f32) -> &'static str {
    if f.prov.confidence < low {
        " class=\"low\""
    } else {
        ""
    }
}

/// A table cell with a value; low confidence is highlighted, and where the value came from
/// is given (as a tooltip) when it is not the usual place.
fn value_cell(d: &Declaration, f: Option<&Field>, usual: Option<&str>, low: f32) -> String {
    let Some(f) = f else {
        return "<td class=\"na\">—</td>".to_string();
    };
    let class = low_class(f, low);
    let w = where_text(d, &f.prov);
    let q = quality_text(f);
    let value = format!("{}{}", esc(&f.value.to_string()), crop_img(f));
    if q.is_empty() && usual == Some(w.as_str()) {
        format!("<td{class}>{value}</td>")
    } else {
        format!(
            "<td{class} title=\"{}\">{value}</td>",
            esc(&prov_text(d, f))
        )
    }
}

/// `low`: the confidence below which a value is highlighted (the pipeline's threshold).
fn details_block<W: Write>(h: &mut W, i: usize, d: &Declaration, low: f32) -> io::Result<()> {
    write!(
        h,
        "<details class=\"d\" id=\"d{i}\"><summary><span class=\"b {}\">{}</span> {} · {} · {}</summary>",
        verdict_class(d.verdict),
        d.verdict.label_zh(),
        shown_id(d),
        esc(d.text("unit_name").unwrap_or("（申报单位未识别）")),
        esc(d.text("event_name").unwrap_or("（赛事名称未识别）")),
    )?;

    h.write_all("<h4>审核意见</h4>".as_bytes())?;
    findings_list(h, d)?;

    h.write_all("<h4>来源文件</h4><ol class=\"fl\">".as_bytes())?;
    for s in &d.sources {
        let unit = if is_sheet_kind(&s.kind) { "行" } else { "页" };
        write!(
            h,
            "<li><span class=\"path\">{}</span> <span class=\"src\">{}{}{}</span></li>",
            esc(&s.file),
            esc(&s.kind),
            s.pages.map(|p| format!("，{p}{unit}")).unwrap_or_default(),
            if s.sha256.is_empty() {
                String::new()
            } else {
                let short: String = s.sha256.chars().take(16).collect();
                format!("，SHA-256 {}", esc(&short))
            },
        )?;
    }
    h.write_all("</ol>".as_bytes())?;
    let usual = usual_where(d);
    h.write_all("<h4>基本信息</h4>".as_bytes())?;
    if let Some(u) = &usual {
        write!(h, "<p class=\"src\">除注明外，内容读自 {}</p>", esc(u))?;
    }
    h.write_all("<table><tbody>".as_bytes())?;
    let mut unread: Vec<&str> = Vec::new();
    for (key, _, label) in HEADER_FIELDS {
        match d.fields.get(*key) {
            None => unread.push(label),
            Some(f) => {
                write!(h, "<tr><th>{}</th>", esc(label))?;
                let class = low_class(f, low);
                write!(h, "<td{class}>{}", esc(&f.value.to_string()))?;
                let w = where_text(d, &f.prov);
                let mut note = if usual.as_deref() == Some(w.as_str()) {
                    String::new()
                } else {
                    w
                };
                let q = quality_text(f);
                if !q.is_empty() {
                    if !note.is_empty() {
                        note.push_str(" · ");
                    }
                    note.push_str(&q);
                }
                if !note.is_empty() {
                    write!(h, " <span class=\"src\">（{}）</span>", esc(&note))?;
                }
                write!(h, "{}</td></tr>", crop_img(f))?;
            }
        }
    }
    h.write_all("</tbody></table>".as_bytes())?;
    if !unread.is_empty() {
        write!(
            h,
            "<p class=\"src\">未读取到：{}</p>",
            esc(&unread.join("、"))
        )?;
    }

    write!(h, "<h4>竞赛项目（{}项）</h4>", d.items.len())?;
    if d.items.is_empty() {
        h.write_all("<p class=\"muted\">未读取到竞赛项目。</p>".as_bytes())?;
    } else {
        h.write_all("<table><thead><tr><th>#</th>".as_bytes())?;
        for (_, _, label) in ITEM_FIELDS {
            write!(h, "<th>{}</th>", esc(label))?;
        }
        h.write_all("</tr></thead><tbody>".as_bytes())?;
        for (n, item) in d.items.iter().enumerate() {
            write!(h, "<tr><td class=\"n\">{}</td>", n + 1)?;
            for (key, _, _) in ITEM_FIELDS {
                h.write_all(value_cell(d, item.fields.get(*key), usual.as_deref(), low).as_bytes())?;
            }
            h.write_all("</tr>".as_bytes())?;
        }
        h.write_all("</tbody></table>".as_bytes())?;
    }

    let seal = &d.seal;
    let yn = |b: Option<bool>, yes: &str, no: &str| match b {
        Some(true) => yes.to_string(),
        Some(false) => no.to_string(),
        None => "未判断".to_string(),
    };
    h.write_all("<h4>公章</h4><div class=\"seal\">".as_bytes())?;
    if let Some(m) = seal.mark.as_ref().filter(|m| !m.crop_png.is_empty()) {
        write!(h, "<img alt=\"公章\" width=\"120\" height=\"120\" src=\"data:image/png;base64,{}\">", base64(&m.crop_png))?;
    }
    write!(
        h,
        "<p>{}；印文（识别，常不完整）：{}；与申报单位一致：{}{}",
        yn(seal.present, "有公章", "未发现公章"),
        seal.text
            .as_deref()
            .map(esc)
            .unwrap_or_else(|| "未识别".to_string()),
        yn(seal.matches_unit, "是", "否"),
        seal.confidence
            .map(|c| format!("；检出置信度 {:.0}%", c * 100.0))
            .unwrap_or_default(),
    )?;
    if let Some(u) = &seal.other_unit {
        write!(h, "；印文与「{}」相符", esc(u))?;
    }
    if let Some(m) = &seal.mark {
        write!(
            h,
            "<br><span class=\"src\">{} 第{}页 · 距页面左上 {:.0}×{:.0} mm · 直径 {:.0}×{:.0} mm · {}{}{}</span>",
            esc(&m.file),
            m.page,
            m.center_mm[0],
            m.center_mm[1],
            m.size_mm[0],
            m.size_mm[1],
            if m.shape == "oval" { "椭圆" } else { "圆形" },
            if m.star { " · 有五角星" } else { "" },
            if m.source == "image" { " · 电子印章图像" } else { " · 扫描件红色印迹" },
        )?;
    }
    for g in &seal.signatures {
        write!(
            h,
            "<br>电子签名{}{}：{}（未验证签名证书链）",
            g.field.as_deref().map(|f| format!("「{}」", esc(f))).unwrap_or_default(),
            g.page.map(|p| format!("，第{p}页")).unwrap_or_default(),
            if g.covers_whole_file { "签名范围覆盖整个文件".to_string() } else { format!("签名后追加了{}字节（文件被修改）", g.appended_bytes) },
        )?;
    }
    h.write_all("</p></div>".as_bytes())?;

    if !d.disagreements.is_empty() {
        h.write_all("<h4>表单与汇总表不一致</h4><table><thead><tr><th>字段</th><th>盖章表单</th><th>汇总表</th></tr></thead><tbody>".as_bytes())?;
        for x in &d.disagreements {
            let mut name = String::new();
            if let Some(i) = x.item {
                name.push_str(&format!("项目{} · ", i + 1));
            }
            let label = field_label(&x.field);
            name.push_str(if label.is_empty() { &x.field } else { label });
            let side = |f: &Option<Field>| match f {
                Some(f) => format!(
                    "{}<div class=\"src\">{}</div>",
                    esc(&f.value.to_string()),
                    esc(&prov_text(d, f))
                ),
                None => "<span class=\"na\">—</span>".to_string(),
            };
            write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&name),
                side(&x.form),
                side(&x.sheet)
            )?;
        }
        h.write_all("</tbody></table>".as_bytes())?;
    }

    if d.legacy {
        write!(
            h,
            "<p class=\"muted\">历史纸质材料（{}年）迁移记录。</p>",
            d.year
                .map(|y| y.to_string())
                .unwrap_or_else(|| "年份不详".to_string())
        )?;
    }
    h.write_all("</details>\n".as_bytes())
}

/// The "主要问题" cell: the worst finding, and how many more.
fn main_problem(d: &Declaration) -> String {
    let fs = main_findings(d);
    match fs.first() {
        None => "<span class=\"muted\">—</span>".to_string(),
        Some(f) => {
            let mut s = esc(&f.message);
            if fs.len() > 1 {
                s.push_str(&format!(
                    "<span class=\"muted\">（另有{}项）</span>",
                    fs.len() - 1
                ));
            }
            s
        }
    }
}

/// Writes the page straight to `h`, never holding it whole. The store is read three times,
/// one declaration at a time: first for the summary counts (`Summary`, only tallies), then
/// for the list, then for the details blocks.
pub(crate) fn write_report<W: Write>(
    h: &mut W,
    run: &RunSummary,
    store: &Store,
    file_errors: &[FileError],
    skipped: &[String],
) -> io::Result<()> {
    let sum = Summary::gather(store);
    let n_decls = sum.decls;
    let [n_pass, n_review, n_return] = sum.verdicts;
    let n_items = sum.items;

    let title = if run.pipeline_name.is_empty() {
        "申报材料审核报告".to_string()
    } else {
        format!("申报材料审核报告 — {}", run.pipeline_name)
    };
    write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body>\n",
        esc(&title)
    )?;

    // head: what was run, when, on what
    write!(h, "<header><h1>申报材料审核报告</h1>")?;
    if !run.pipeline_name.is_empty() || !run.pipeline_path.is_empty() {
        write!(
            h,
            "<p class=\"meta\">审核流程：<b>{}</b> <code>{}</code></p>",
            esc(&run.pipeline_name),
            esc(&run.pipeline_path)
        )?;
    }
    write!(
        h,
        "<p class=\"meta\">运行时间：{} 至 {}（用时 {:.1} 秒） · shenbao {}</p>",
        esc(&run.started),
        esc(&run.finished),
        run.elapsed_secs,
        esc(&run.version)
    )?;
    if !run.inputs.is_empty() {
        let inputs: Vec<String> = run.inputs.iter().map(|s| esc(s)).collect();
        write!(
            h,
            "<p class=\"meta\">输入：<code>{}</code>（共发现文件 {} 个）</p>",
            inputs.join("</code>、<code>"),
            run.files_seen
        )?;
    }
    write!(
        h,
        "<div class=\"cards\">\
         <div class=\"card\">申报材料<b>{}</b>份</div>\
         <div class=\"card\"><span class=\"b pass\">通过</span><b>{n_pass}</b>份</div>\
         <div class=\"card\"><span class=\"b review\">复核</span><b>{n_review}</b>份</div>\
         <div class=\"card\"><span class=\"b return\">退回</span><b>{n_return}</b>份</div>\
         <div class=\"card\">竞赛项目<b>{n_items}</b>个</div>\
         <div class=\"card\">无法读取的文件<b>{}</b>个</div>\
         <div class=\"card\">未处理的文件<b>{}</b>个</div></div>",
        n_decls,
        file_errors.len(),
        skipped.len()
    )?;
    h.write_all(
        "<nav><a href=\"#summary\">汇总</a><a href=\"#list\">申报清单</a>\
         <a href=\"#details\">逐份详情</a><a href=\"#errors\">无法读取的文件</a>\
         <a href=\"#skipped\">未处理的文件</a></nav></header>\n"
            .as_bytes(),
    )?;

    // summary tables
    h.write_all("<section id=\"summary\"><h2>汇总</h2><div class=\"grid\">".as_bytes())?;
    write!(
        h,
        "<div><h4>按审核结论</h4><table><thead><tr><th>结论</th><th class=\"n\">份数</th></tr></thead><tbody>\
         <tr><td><span class=\"b pass\">通过</span></td><td class=\"n\">{n_pass}</td></tr>\
         <tr><td><span class=\"b review\">复核</span></td><td class=\"n\">{n_review}</td></tr>\
         <tr><td><span class=\"b return\">退回</span></td><td class=\"n\">{n_return}</td></tr>\
         <tr><th>合计</th><th class=\"n\">{}</th></tr></tbody></table></div>",
        n_decls
    )?;
    let by_category = tally_sorted(&sum.by_category);
    tally_table(h, "按赛事类别", &by_category)?;
    tally_table(h, "按主管部门", &tally_sorted(&sum.by_supervisor))?;
    rule_table(h, &sum.rules)?;
    h.write_all("</div></section>\n".as_bytes())?;

    // the list
    h.write_all("<section id=\"list\"><h2>申报清单</h2>".as_bytes())?;
    h.write_all(
        "<div class=\"controls\"><input id=\"q\" type=\"search\" placeholder=\"搜索：编号、单位、赛事、问题……\">\
         <select id=\"fv\"><option value=\"\">全部结论</option><option value=\"pass\">通过</option>\
         <option value=\"review\">复核</option><option value=\"return\">退回</option></select>\
         <select id=\"fc\"><option value=\"\">全部赛事类别</option>"
            .as_bytes(),
    )?;
    for (name, _) in &by_category {
        if *name != "（未识别）" {
            write!(h, "<option value=\"{0}\">{0}</option>", esc(name))?;
        }
    }
    write!(
        h,
        "</select><span>显示 <b id=\"cnt\">{}</b> / {} 份（点击表头排序，点击编号查看详情）</span></div>",
        n_decls, n_decls
    )?;
    h.write_all(
        "<table><thead><tr><th>申报编号</th><th>申报单位</th><th>赛事名称</th><th>赛事类别</th>\
         <th class=\"n\" data-t=\"n\">项目数</th><th data-t=\"n\">结论</th><th>主要问题</th></tr></thead><tbody>\n"
            .as_bytes(),
    )?;
    let mut listed = 0usize;
    for (i, d) in store.iter().enumerate() {
        write!(
            h,
            "<tr data-v=\"{}\"><td><a href=\"#d{i}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"n\">{}</td><td data-s=\"{}\"><span class=\"b {}\">{}</span></td><td>{}</td></tr>",
            d.verdict.as_str(),
            shown_id(&d),
            esc(d.text("unit_name").unwrap_or("")),
            esc(d.text("event_name").unwrap_or("")),
            esc(d.text("category").unwrap_or("")),
            d.items.len(),
            verdict_index(d.verdict),
            verdict_class(d.verdict),
            d.verdict.label_zh(),
            main_problem(&d)
        )?;
        h.write_all(b"\n")?;
        listed += 1;
    }
    if listed == 0 {
        h.write_all(
            "<tr><td colspan=\"7\" class=\"muted\">没有读取到申报材料。</td></tr>".as_bytes(),
        )?;
    }
    h.write_all("</tbody></table></section>\n".as_bytes())?;

    // one closed block per declaration
    h.write_all("<section id=\"details\"><h2>逐份详情</h2>\n".as_bytes())?;
    for (i, d) in store.iter().enumerate() {
        details_block(h, i, &d, run.low_confidence)?;
    }
    h.write_all("</section>\n".as_bytes())?;

    // files that could not be read
    write!(
        h,
        "<section id=\"errors\"><h2>无法读取的文件（{}个）</h2>",
        file_errors.len()
    )?;
    if file_errors.is_empty() {
        h.write_all("<p class=\"muted\">所有文件均已读取。</p>".as_bytes())?;
    } else {
        h.write_all(
            "<p>以下文件未能读取，其内容未参与审核，请联系申报单位重新提交或人工查看。</p>\
             <table><thead><tr><th>文件</th><th>原因</th><th>技术详情</th></tr></thead><tbody>"
                .as_bytes(),
        )?;
        for e in file_errors {
            write!(
                h,
                "<tr><td class=\"path\">{}</td><td>{}</td><td class=\"src\">{}：{}</td></tr>",
                esc(&e.file),
                esc(&e.message),
                esc(&e.code),
                esc(&e.detail)
            )?;
        }
        h.write_all("</tbody></table>".as_bytes())?;
    }
    h.write_all("</section>\n".as_bytes())?;

    // files that are not declaration documents
    write!(
        h,
        "<section id=\"skipped\"><h2>未处理的文件（非申报材料，{}个）</h2>",
        skipped.len()
    )?;
    if skipped.is_empty() {
        h.write_all("<p class=\"muted\">无。</p>".as_bytes())?;
    } else {
        write!(
            h,
            "<details class=\"d\"><summary>这些文件不是PDF、图片或表格，已跳过（共{}个，点击展开）</summary><ul class=\"fl\">",
            skipped.len()
        )?;
        for s in skipped {
            write!(h, "<li class=\"path\">{}</li>", esc(s))?;
        }
        h.write_all("</ul></details>".as_bytes())?;
    }
    h.write_all("</section>\n".as_bytes())?;

    write!(h, "<script>{JS}</script>\n</body></html>\n")
}

#[cfg(test)]
mod base64_tests {
    #[test]
    fn rfc4648_vectors() {
        for (plain, coded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(super::base64(plain.as_bytes()), coded);
        }
    }
}
