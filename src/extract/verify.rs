//! Leaning on what is known, for values read by OCR: check characters of codes, closed lists
//! (categories, unit types, Chongqing districts), the annex catalogues. A value that
//! validates is trusted more; a value one confusable character away from exactly one valid
//! value is corrected, and the correction is recorded in the field's provenance. Nothing is
//! replaced silently and nothing is guessed when two candidates fit.

use crate::codes::{validate_credit_code, validate_org_code};
use crate::config::{normalize_label, Pipeline};
use crate::model::{Field, Value};

/// Confidence given to a value that passed an independent check (a check character, an
/// exact closed-list entry).
const VALIDATED: f32 = 0.97;

/// Glyphs the recogniser reads in place of a district or county name's last character.
const SUFFIX_CONFUSABLE: &[(char, &str)] = &[('县', "具"), ('区', "匹巨")];

/// Characters OCR confuses in codes, and what each may really be.
const CONFUSABLE: &[(char, &str)] = &[
    ('0', "ODQG"),
    ('O', "0DQ"),
    ('D', "0O"),
    ('Q', "0O"),
    ('1', "IL7T"),
    ('I', "1LJ"),
    ('L', "1I"),
    ('7', "1T"),
    ('T', "17"),
    ('2', "Z"),
    ('Z', "2"),
    ('5', "S"),
    ('S', "5"),
    ('8', "B"),
    ('B', "8"),
    ('6', "G0"),
    ('G', "6"),
    ('4', "A"),
    ('A', "4"),
    ('@', "0Q"),
    ('U', "V"),
    ('V', "U"),
];

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The one entry of `list` within the allowed distance of `text` (one edit per four
/// characters, at least one), or None when there is none or more than one at the best distance.
fn closest<'a>(text: &str, list: impl Iterator<Item = &'a str>) -> Option<(&'a str, usize)> {
    let t: Vec<char> = normalize_label(text).chars().collect();
    let allowed = (t.len() / 4).max(1);
    let mut best = Nearest::default();
    for entry in list {
        let e: Vec<char> = normalize_label(entry).chars().collect();
        if e.len().abs_diff(t.len()) > allowed {
            continue;
        }
        let d = edit_distance(&t, &e);
        if d <= allowed {
            best.offer(entry, d);
        }
    }
    best.unique()
}

/// The entry at the smallest distance, unless two differ there.
#[derive(Default)]
struct Nearest<'a> {
    best: Option<(&'a str, usize)>,
    tie: bool,
}

impl<'a> Nearest<'a> {
    fn offer(&mut self, entry: &'a str, d: usize) {
        match self.best {
            Some((_, bd)) if d > bd => {}
            Some((b, bd)) if d == bd => self.tie |= b != entry,
            _ => {
                self.best = Some((entry, d));
                self.tie = false;
            }
        }
    }

    fn unique(self) -> Option<(&'a str, usize)> {
        self.best.filter(|_| !self.tie)
    }
}

fn correct(f: &mut Field, to: String, why: &str) {
    let from = f.value.to_string();
    f.prov.corrections.push(format!("“{from}”→“{to}”（{why}）"));
    if f.prov.raw.is_none() {
        f.prov.raw = Some(from);
    }
    f.value = Value::Text(to);
}

/// A credit code: valid → trusted; else the one code a single OCR slip away that is valid,
/// when exactly one is: a speck read as `]` (or a J read as one), or one confusable
/// character (O for 0 …).
fn verify_code(f: &mut Field, regions: &[String]) {
    let Some(code) = f.value.as_text().map(str::to_string) else { return };
    let valid = |c: &str| {
        if c.chars().filter(|c| *c != '-').count() == 9 {
            validate_org_code(c).is_ok()
        } else {
            validate_credit_code(c).is_ok()
        }
    };
    if valid(&code) {
        f.prov.confidence = f.prov.confidence.max(VALIDATED);
        return;
    }
    // the code's own characters: a `]` is a speck, or a J
    let keep = |c: &char| c.is_ascii_alphanumeric() || *c == '-' || *c == '@';
    let bases: Vec<String> = {
        let dropped: String = code.chars().filter(keep).collect();
        let as_j: String = code.chars().map(|c| if c == ']' || c == ')' { 'J' } else { c }).filter(keep).collect();
        if dropped == as_j { vec![dropped] } else { vec![dropped, as_j] }
    };
    let mut fixes: Vec<String> = Vec::new();
    let push = |cand: String, fixes: &mut Vec<String>| {
        let cand = crate::extract::normalize::clean_code(&cand);
        if cand != code && !fixes.contains(&cand) {
            fixes.push(cand);
        }
    };
    for base in &bases {
        if valid(base) {
            push(base.clone(), &mut fixes);
        }
    }
    if fixes.is_empty() {
        for base in &bases {
            let chars: Vec<char> = base.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                let Some((_, alts)) = CONFUSABLE.iter().find(|(k, _)| k == c) else { continue };
                for alt in alts.chars() {
                    let mut cand = chars.clone();
                    cand[i] = alt;
                    let cand: String = cand.into_iter().collect();
                    if valid(&cand) {
                        push(cand, &mut fixes);
                    }
                }
            }
        }
    }
    // an 18-character code in the region's division codes; one whose characters 9–17 are a
    // valid organisation code (the entity code inside a credit code carries its own GB 11714
    // check character)
    let local = |c: &String| c.len() == 18 && regions.iter().any(|r| c[2..].starts_with(r.as_str()));
    let entity_ok = |c: &String| c.len() == 18 && validate_org_code(&c[8..17]).is_ok();
    // a character too many (an 0 read twice, a speck): dropping one of 19 characters makes
    // another valid code too often to say which, so only a code that also passes both
    // checks above (three checks in all) is taken
    if fixes.is_empty() {
        for base in bases.iter().filter(|b| b.chars().count() == 19) {
            let chars: Vec<char> = base.chars().collect();
            for i in 0..chars.len() {
                let cand: String = chars.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| *c).collect();
                if local(&cand) && entity_ok(&cand) && valid(&cand) {
                    push(cand, &mut fixes);
                }
            }
        }
    }
    // more than one fix: the one that keeps the region's division code, if only one does;
    // still more than one: the one with a valid entity code, if only one has
    for prefer in [&local as &dyn Fn(&String) -> bool, &entity_ok] {
        if fixes.len() > 1 {
            let kept: Vec<String> = fixes.iter().filter(|c| prefer(c)).cloned().collect();
            if kept.len() == 1 {
                fixes = kept;
            }
        }
    }
    if let [to] = &fixes[..] {
        let to = to.clone();
        correct(f, to, "按校验码校正");
        // corrected, not confirmed: a person checks it against the original
        f.prov.confidence = f.prov.confidence.min(0.6);
    }
}

/// The longest entry of `list` that the text starts or ends with, when exactly one is
/// longest: OCR noise before or after a value (a neighbouring cell's last characters, specks
/// read as letters).
fn contained<'a>(text: &str, list: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let t = normalize_label(text);
    let mut best: Vec<&str> = Vec::new();
    for entry in list {
        let e = normalize_label(entry);
        if e.chars().count() < 3 || !(t.starts_with(&e) || t.ends_with(&e)) {
            continue;
        }
        match best.first().map(|b| normalize_label(b).chars().count()) {
            Some(n) if e.chars().count() < n => {}
            Some(n) if e.chars().count() == n => best.push(entry),
            _ => best = vec![entry],
        }
    }
    (best.len() == 1).then(|| best[0])
}

/// The one entry of `list` found inside the text within a few edits (about three in ten of
/// its characters, at least one): a value with a neighbouring cell's characters around it and
/// a character misread (中心壁山区), or cut short where the cell wrapped (西阳土家族苗族自).
fn fuzzy_contained<'a>(text: &str, list: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let t: Vec<char> = normalize_label(text).chars().collect();
    let mut best = Nearest::default();
    for entry in list {
        let e: Vec<char> = normalize_label(entry).chars().collect();
        if e.len() < 3 {
            continue;
        }
        let allowed = (e.len() * 3 / 10).max(1);
        let mut d_min = usize::MAX;
        for start in 0..t.len() {
            for len in e.len().saturating_sub(allowed).max(2)..=(e.len() + 1) {
                if start + len <= t.len() {
                    d_min = d_min.min(edit_distance(&t[start..start + len], &e));
                }
            }
        }
        // cut short where the cell wrapped: the text's end against the entry's beginning
        for keep in (e.len() * 6 / 10).max(3)..e.len() {
            let allowed_cut = (keep * 3 / 10).max(1);
            for start in t.len().saturating_sub(keep + 1)..t.len() {
                let d = edit_distance(&t[start..], &e[..keep]);
                if d <= allowed_cut {
                    d_min = d_min.min(d + 1);
                }
            }
        }
        if d_min <= allowed {
            best.offer(entry, d_min);
        }
    }
    best.unique().map(|(e, _)| e)
}

/// A text field against a closed list.
fn verify_list<'a>(f: &mut Field, list: impl Iterator<Item = &'a str> + Clone, why: &str) {
    let Some(text) = f.value.as_text().map(str::to_string) else { return };
    match closest(&text, list.clone()) {
        Some((entry, 0)) => {
            if entry != text {
                correct(f, entry.to_string(), why);
            }
            f.prov.confidence = f.prov.confidence.max(VALIDATED);
        }
        Some((entry, _)) => correct(f, entry.to_string(), why),
        None => {
            if let Some(entry) = by_glyph(&text, list.clone()) {
                correct(f, entry.to_string(), &format!("{why}，字形最近"));
            } else if let Some(entry) = contained(&text, list.clone()).or_else(|| fuzzy_contained(&text, list)) {
                correct(f, entry.to_string(), why);
            }
        }
    }
}

/// Of the entries one character from the text (same length, the rest read exactly), the one
/// whose character looks most like the one read — when there are several and its glyph is
/// clearly the nearest (蔡江区 → 綦江区, not 黔江区).
fn by_glyph<'a>(text: &str, list: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    /// how much nearer the best glyph must be than the next
    const MARGIN: f32 = 0.05;
    let t: Vec<char> = normalize_label(text).chars().collect();
    let mut cands: Vec<(&str, f32)> = Vec::new();
    for entry in list {
        let e: Vec<char> = normalize_label(entry).chars().collect();
        if e.len() != t.len() || e.len() < 2 {
            continue;
        }
        let diff: Vec<usize> = (0..e.len()).filter(|&i| e[i] != t[i]).collect();
        if let [i] = diff[..] {
            cands.push((entry, super::glyphs::likeness(t[i], e[i])?));
        }
    }
    if cands.len() < 2 {
        return None;
    }
    cands.sort_by(|a, b| b.1.total_cmp(&a.1));
    (cands[0].1 >= cands[1].1 + MARGIN).then_some(cands[0].0)
}

/// District and county names inside a name (重庆市壁山区… → 重庆市璧山区…): a run of
/// characters one character off exactly one of Chongqing's district or county names (the
/// suffix 区/县 read right), where no name is read exactly, is that name.
fn verify_places(f: &mut Field, locations: &[String]) {
    let Some(text) = f.value.as_text().map(str::to_string) else { return };
    let mut t: Vec<char> = text.chars().collect();
    let names: Vec<Vec<char>> = locations
        .iter()
        .map(|l| l.chars().collect::<Vec<char>>())
        .filter(|l| l.len() >= 3 && matches!(l.last(), Some('区' | '县')))
        .collect();
    let exact_at = |t: &[char], start: usize, len: usize| {
        names.iter().any(|n| (0..=t.len().saturating_sub(n.len())).any(|i| t[i..].starts_with(n) && i < start + len && start < i + n.len()))
    };
    let mut start = 0;
    while start < t.len() {
        // where a district's name starts: the text's start, after 重庆市 or a year (经济技术
        // 开发区 is not 开州区)
        let at_boundary = start == 0 || matches!(t[start - 1], '市' | '年' | '“' | '”' | '（' | '(' | '、') || t[start - 1].is_ascii();
        let mut fits: Vec<&Vec<char>> = Vec::new();
        for n in names.iter().filter(|_| at_boundary) {
            let last = n[n.len() - 1];
            // the suffix read right, or as a glyph OCR takes it for (垫江具 → 垫江县)
            let suffix_ok = |c: char| c == last || SUFFIX_CONFUSABLE.iter().any(|(s, alts)| *s == last && alts.contains(c));
            if start + n.len() > t.len() || !suffix_ok(t[start + n.len() - 1]) {
                continue;
            }
            let w = &t[start..start + n.len()];
            if w.iter().zip(n.iter()).filter(|(a, b)| a != b).count() == 1 {
                fits.push(n);
            }
        }
        if let [n] = fits[..] {
            if !exact_at(&t, start, n.len()) {
                let n = n.clone();
                t.splice(start..start + n.len(), n.iter().copied());
                start += n.len();
                continue;
            }
        }
        start += 1;
    }
    let to: String = t.into_iter().collect();
    if to != text {
        correct(f, to, "按重庆市区县名称校正");
    }
}

/// A declaration id off the pattern by one digit, where exactly one digit makes an id of this
/// call's year (OCR: BY2624-0012 → BY2024-0012).
/// A declaration id with its slips put right, when that makes it fit the id pattern: stray
/// punctuation or spaces around or inside it (`,BY2024-0183`, `BY 2024-0183。`), another dash
/// or none (`BY2024_0183`, `BY20240183`), letters OCR reads for digits in its digit part
/// (`BY2O24-O183`). None when it fits already or nothing fits.
pub fn repair_id(id: &str, pattern: &regex_lite::Regex) -> Option<String> {
    if pattern.is_match(id) {
        return None;
    }
    let mut alnum: Vec<char> = id.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    // the letters of the prefix stay letters; after the first digit, a letter that looks
    // like a digit is one
    if let Some(first_digit) = alnum.iter().position(|c| c.is_ascii_digit()) {
        for c in &mut alnum[first_digit..] {
            *c = match *c {
                'O' | 'D' | 'Q' => '0',
                'I' | 'L' | 'J' => '1',
                'Z' => '2',
                'S' => '5',
                'G' => '6',
                'B' => '8',
                c => c,
            };
        }
    }
    let plain: String = alnum.iter().collect();
    if pattern.is_match(&plain) {
        return Some(plain);
    }
    // the dash where the pattern wants it
    (1..alnum.len()).map(|i| format!("{}-{}", &plain[..i], &plain[i..])).find(|c| pattern.is_match(c))
}

pub(crate) fn verify_id(f: &mut Field, pattern: &regex_lite::Regex, year: i32) {
    let Some(id) = f.value.as_text().map(str::to_string) else { return };
    if pattern.is_match(&id) {
        return;
    }
    if let Some(to) = repair_id(&id, pattern) {
        correct(f, to, "按申报编号格式校正");
        return;
    }
    // a year an id can mean (last year's id) is a finding for the rules, not a misreading
    let years_read = id.split(|c: char| !c.is_ascii_digit()).filter(|r| r.len() == 4).filter_map(|r| r.parse::<i32>().ok());
    if years_read.into_iter().any(|y| (y - year).abs() <= 1) {
        return;
    }
    let chars: Vec<char> = id.chars().collect();
    let year = year.to_string();
    let mut fixes: Vec<String> = Vec::new();
    for i in (0..chars.len()).filter(|&i| chars[i].is_ascii_digit()) {
        for d in '0'..='9' {
            let mut cand = chars.clone();
            cand[i] = d;
            let cand: String = cand.into_iter().collect();
            if cand != id && pattern.is_match(&cand) && cand.contains(&year) && !fixes.contains(&cand) {
                fixes.push(cand);
            }
        }
    }
    if let [to] = &fixes[..] {
        let to = to.clone();
        correct(f, to, "按申报编号格式校正");
        f.prov.confidence = f.prov.confidence.min(0.6);
    }
}

/// An occupation code whose hyphens OCR lost or moved (a wrapped cell's `6-29-` / `01` read as
/// `6-2901`): five or seven digits in the catalogues' shape, 6-29-01 or 6-29-01-02.
fn reshape_occupation_code(f: &mut Field) {
    let Some(code) = f.value.as_text().map(str::to_string) else { return };
    let groups: Vec<usize> = code.split('-').map(str::len).collect();
    if groups.len() >= 3 && groups[0] == 1 && groups[1..].iter().all(|&n| n == 2) {
        return;
    }
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    if code.chars().any(|c| !c.is_ascii_digit() && c != '-') || !(digits.len() == 5 || digits.len() == 7) {
        return;
    }
    let mut to = digits[..1].to_string();
    for k in (1..digits.len()).step_by(2) {
        to.push('-');
        to.push_str(&digits[k..k + 2]);
    }
    correct(f, to, "按职业编码格式校正");
    f.prov.confidence = f.prov.confidence.min(0.7);
}

fn is_quote(c: char) -> bool {
    matches!(c, '“' | '”' | '"' | '〝' | '〞' | '„' | '‟')
}

/// An event name's fixed wording: quotes paired in order (OCR cannot tell an opening from a
/// closing quote), and a phrase of the pipeline's list found one character off (or with its
/// quotes lost) put right.
fn verify_phrases(f: &mut Field, phrases: &[String]) {
    let Some(text) = f.value.as_text().map(str::to_string) else { return };
    let mut t: Vec<char> = text.chars().collect();
    if t.iter().filter(|c| is_quote(**c)).count() % 2 == 0 {
        let mut open = true;
        for c in t.iter_mut().filter(|c| is_quote(**c)) {
            *c = if open { '“' } else { '”' };
            open = !open;
        }
    }
    for phrase in phrases {
        let want: Vec<char> = phrase.chars().collect();
        let core: Vec<char> = want.iter().copied().filter(|c| !is_quote(*c)).collect();
        if core.len() < 4 {
            continue;
        }
        // the text without quotes, with each character's index in `t`
        let idx: Vec<usize> = (0..t.len()).filter(|&i| !is_quote(t[i])).collect();
        let bare: Vec<char> = idx.iter().map(|&i| t[i]).collect();
        // (start, len, distance) of each window within one edit; overlapping windows are one
        // place, represented by its closest window
        let mut places: Vec<(usize, usize, usize)> = Vec::new();
        for start in 0..bare.len() {
            for len in [core.len(), core.len() - 1, core.len() + 1] {
                if start + len > bare.len() || bare[start] != core[0] && bare[start + len - 1] != core[core.len() - 1] {
                    continue;
                }
                let d = edit_distance(&bare[start..start + len], &core);
                if d > 1 {
                    continue;
                }
                match places.last_mut() {
                    Some(last) if start < last.0 + last.1 => {
                        if d < last.2 {
                            *last = (start, len, d);
                        }
                    }
                    _ => places.push((start, len, d)),
                }
            }
        }
        // one place only, or nothing is guessed
        let [(start, len, d)] = places[..] else { continue };
        // another phrase read exactly there is that phrase (职业技能大赛, not 职业技能竞赛)
        let exact_other = d > 0
            && phrases.iter().filter(|o| *o != phrase && o.chars().count() > 1).any(|o| {
                let oc: Vec<char> = o.chars().filter(|c| !is_quote(*c)).collect();
                (0..bare.len().saturating_sub(oc.len() - 1))
                    .any(|i| bare[i..i + oc.len()] == oc[..] && i < start + len && start < i + oc.len())
            });
        if exact_other {
            continue;
        }
        let mut a = idx[start];
        while a > 0 && is_quote(t[a - 1]) && want.first().is_some_and(|c| is_quote(*c)) {
            a -= 1;
        }
        let mut b = idx[start + len - 1] + 1;
        while b < t.len() && is_quote(t[b]) && want.last().is_some_and(|c| is_quote(*c)) {
            b += 1;
        }
        if t[a..b] != want[..] {
            t.splice(a..b, want.iter().copied());
        }
    }
    let to: String = t.into_iter().collect();
    if to != text {
        correct(f, to, "按赛事名称固定用语校正");
    }
}

/// A phone number that fits none of the pipeline's patterns, where exactly one digit more or
/// less makes one that does (602382129585 → 02382129585; 2367335895 → 02367335895): OCR adds
/// specks as digits and loses faint ones. A mobile number with a slip fits in many ways and
/// is left alone.
fn verify_phone(f: &mut Field, p: &Pipeline) {
    let Some(phone) = f.value.as_text().map(str::to_string) else { return };
    let fits = |c: &str| p.phone_fits(c);
    if !phone.bytes().all(|b| b.is_ascii_digit()) || fits(&phone) {
        return;
    }
    let mut fixes: Vec<String> = Vec::new();
    let mut offer = |c: String| {
        if fits(&c) && !fixes.contains(&c) {
            fixes.push(c);
        }
    };
    for i in 0..phone.len() {
        offer(format!("{}{}", &phone[..i], &phone[i + 1..]));
    }
    for i in 0..=phone.len() {
        for d in '0'..='9' {
            offer(format!("{}{d}{}", &phone[..i], &phone[i..]));
        }
    }
    if let [to] = &fixes[..] {
        let to = to.clone();
        correct(f, to, "按电话号码格式校正");
        f.prov.confidence = f.prov.confidence.min(0.6);
    }
}

/// Checks and, where one answer fits, corrects a field read by OCR.
pub fn verify(p: &Pipeline, key: &str, f: &mut Field) {
    match key {
        "credit_code" => verify_code(f, &p.lists.credit_code_regions),
        "contact_phone" => verify_phone(f, p),
        "declaration_id" => verify_id(f, &p.declaration_id, p.meta.year),
        "event_name" => {
            verify_phrases(f, &p.lists.phrases);
            verify_places(f, &p.lists.locations);
        }
        "unit_name" | "undertaker" | "supervisor" => verify_places(f, &p.lists.locations),
        "category" => verify_list(f, p.lists.categories.iter().map(String::as_str), "按赛事类别列表校正"),
        "unit_type" => verify_list(f, p.lists.unit_types.iter().map(String::as_str), "按单位类型列表校正"),
        "host_location" => verify_list(f, p.lists.locations.iter().map(String::as_str), "按重庆市区县名称校正"),
        "occupation" => verify_list(
            f,
            p.catalogue.items.iter().map(|i| i.occupation.as_str()).chain(p.catalogue.digital_items.iter().map(String::as_str)),
            "按附件2、附件3职业（工种）名称校正",
        ),
        "occupation_code" => {
            reshape_occupation_code(f);
            verify_list(f, p.catalogue.items.iter().map(|i| i.code.as_str()), "按附件2类别编码校正")
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Method, Provenance};
    use std::path::Path;

    fn field(text: &str) -> Field {
        Field {
            value: Value::Text(text.into()),
            prov: Provenance {
                file: "scan.png".into(),
                page: Some(1),
                sheet: None,
                row: None,
                method: Method::Ocr,
                confidence: 0.7,
                raw: None,
                corrections: vec![],
                bbox: None,
                crop_png: Vec::new(),
            },
        }
    }

    /// A field as OCR read it, after `verify`.
    fn verified(p: &Pipeline, key: &str, read: &str) -> Field {
        let mut f = field(read);
        verify(p, key, &mut f);
        f
    }

    fn pipeline() -> Pipeline {
        Pipeline::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/bayu-2024.toml"))).unwrap()
    }

    #[test]
    fn closed_lists_correct_one_character_and_record_it() {
        let p = pipeline();
        let f = verified(&p, "category", "企业和院校技能练兵比起");
        assert_eq!(f.value, Value::Text("企业和院校技能练兵比武".into()));
        assert_eq!(f.prov.corrections.len(), 1);
        assert_eq!(f.prov.raw.as_deref(), Some("企业和院校技能练兵比起"));
        let f = verified(&p, "occupation", "WP5S办公软件应用");
        assert_eq!(f.value, Value::Text("WPS办公软件应用".into()));
        // noise around a value is cut off
        let f = verified(&p, "host_location", "学院城口县");
        assert_eq!(f.value, Value::Text("城口县".into()));
        let f = verified(&p, "occupation", "白酒酿造工RAKE");
        assert_eq!(f.value, Value::Text("白酒酿造工".into()));
        // a neighbour's characters around a misread or cut-short value
        for (read, want) in [("中心壁山区", "璧山区"), ("公司西阳土家族苗族自", "酉阳土家族苗族自治县"), ("限公司瘟水苗族土家族", "彭水苗族土家族自治县")] {
            let f = verified(&p, "host_location", read);
            assert_eq!(f.value, Value::Text(want.into()), "{read}");
        }
        // as near one entry as another (黔江区 and 綦江区): the one whose character looks
        // like the one read, said so; where neither does, left as read
        let f = verified(&p, "host_location", "蔡江区");
        assert_eq!(f.value, Value::Text("綦江区".into()));
        assert!(f.prov.corrections[0].contains("字形最近"), "{:?}", f.prov.corrections);
        let f = verified(&p, "host_location", "一江区");
        assert_eq!(f.value, Value::Text("一江区".into()));
        // far from every entry: left as read
        let f = verified(&p, "occupation", "直播带货员");
        assert_eq!(f.value, Value::Text("直播带货员".into()));
        assert!(f.prov.corrections.is_empty());
        // exact: trusted more
        let f = verified(&p, "host_location", "渝中区");
        assert!(f.prov.confidence > 0.9);
    }

    #[test]
    fn a_declaration_id_one_digit_off_the_calls_year_is_put_right() {
        let p = pipeline();
        let f = verified(&p, "declaration_id", "BY2624-0012");
        assert_eq!(f.value, Value::Text("BY2024-0012".into()));
        assert_eq!(f.prov.corrections.len(), 1);
        // another year's id is a finding, not a misreading
        let f = verified(&p, "declaration_id", "BY2023-0012");
        assert_eq!(f.value, Value::Text("BY2023-0012".into()));
    }

    #[test]
    fn occupation_codes_that_lost_a_hyphen_are_reshaped() {
        let p = pipeline();
        let f = verified(&p, "occupation_code", "6-2901");
        assert_eq!(f.value, Value::Text("6-29-01".into()));
        assert_eq!(f.prov.corrections.len(), 1);
        let f = verified(&p, "occupation_code", "4-04-05");
        assert!(f.prov.corrections.is_empty());
        // not five or seven digits: not reshaped (left for the list and the rules)
        let f = verified(&p, "occupation_code", "123-456");
        assert!(!f.prov.corrections.iter().any(|c| c.contains("职业编码格式")), "{:?}", f.prov.corrections);
    }

    #[test]
    fn declaration_id_slips_are_put_right() {
        let p = pipeline();
        for (read, want) in [(",BY2024-0183", "BY2024-0183"), ("BY 2024-0183。", "BY2024-0183"), ("BY2024_0183", "BY2024-0183"), ("BY20240183", "BY2024-0183"), ("BY2O24-O183", "BY2024-0183"), ("by2024—0183", "BY2024-0183")] {
            assert_eq!(repair_id(read, &p.declaration_id).as_deref(), Some(want), "{read}");
        }
        assert_eq!(repair_id("BY2024-0183", &p.declaration_id), None);
        assert_eq!(repair_id("BY2024-01834", &p.declaration_id), None, "a digit too many is no slip");
        let f = verified(&p, "declaration_id", ",BY2024-0183");
        assert_eq!(f.value, Value::Text("BY2024-0183".into()));
        assert_eq!(f.prov.corrections.len(), 1, "the correction is recorded");
    }

    #[test]
    fn district_names_inside_names_are_put_right() {
        let p = pipeline();
        for (key, read, want) in [
            ("unit_name", "重庆市壁山区职业教育中心", "重庆市璧山区职业教育中心"),
            ("event_name", "架平区第二届乡村振兴技能大赛", "梁平区第二届乡村振兴技能大赛"),
        ] {
            let f = verified(&p, key, read);
            assert_eq!(f.value, Value::Text(want.into()), "{read}");
            assert_eq!(f.prov.corrections.len(), 1);
        }
        // the suffix misread as a glyph taken for it
        let f = verified(&p, "unit_name", "垫江具人力资源和社会保障局");
        assert_eq!(f.value, Value::Text("垫江县人力资源和社会保障局".into()));
        // names read right, a misreading as near two districts (黔江区, 綦江区), and a district's
        // first characters before something else, stay
        for read in ["重庆市渝北区人力资源和社会保障局", "重庆市江北区职业教育中心", "蔡江区第二届技能大赛", "重庆经济技术开发区管委会", "万州职业教育中心"] {
            let f = verified(&p, "unit_name", read);
            assert_eq!(f.value, Value::Text(read.into()), "{read}");
        }
    }

    #[test]
    fn event_names_keep_their_fixed_wording() {
        let p = pipeline();
        for (read, want) in [
            ("2024年城口县”巴渝工匠“杯汽车维修职业技能竞赛", "2024年城口县“巴渝工匠”杯汽车维修职业技能竞赛"),
            ("2024年潼南区巴渝工后杯农业职业技能竞赛", "2024年潼南区“巴渝工匠”杯农业职业技能竞赛"),
            ("2024年长寿区巴渝工抬杯农业职业技能竞赛", "2024年长寿区“巴渝工匠”杯农业职业技能竞赛"),
            ("鑫达公司2024年“工匠“岗位技能比武", "鑫达公司2024年“工匠”岗位技能比武"),
        ] {
            let f = verified(&p, "event_name", read);
            assert_eq!(f.value, Value::Text(want.into()), "{read}");
            assert_eq!(f.prov.corrections.len(), 1);
        }
        // right as read: untouched
        for good in ["2024年“巴渝工匠”杯汽车维修职业技能竞赛", "重庆市第四届咖啡行业职业技能联赛", "鑫达公司2024年“工匠”岗位技能比武"] {
            let f = verified(&p, "event_name", good);
            assert_eq!(f.value, Value::Text(good.into()));
        }
        let f = verified(&p, "event_name", "2024年“巴渝工匠”杯汽车维修职业技能竞赛");
        assert!(f.prov.corrections.is_empty());
        // two characters off is another name, not a misreading
        let f = verified(&p, "event_name", "2024年巴山工人杯汽车维修职业技能竞赛");
        assert_eq!(f.value, Value::Text("2024年巴山工人杯汽车维修职业技能竞赛".into()));
    }

    #[test]
    fn credit_codes_are_fixed_only_when_one_fix_fits() {
        let p = pipeline();
        let good = crate::codes::complete_credit_code("9150010380210043").unwrap();
        let f = verified(&p, "credit_code", &good);
        assert!(f.prov.confidence > 0.9);
        // an O read for a 0
        let bad = good.replacen("0", "O", 1);
        let f = verified(&p, "credit_code", &bad);
        assert_eq!(f.value, Value::Text(good.clone()));
        assert!(f.prov.confidence <= 0.6, "a corrected code is not a confirmed one");
        // a speck read as a bracket inside the code, a J read as one
        let with_j = crate::codes::complete_credit_code("51500242MJ19Y5BF").unwrap();
        for (bad, want) in [
            (format!("{}]{}", &good[..9], &good[9..]), &good),
            (with_j.replacen('J', "]", 1), &with_j),
        ] {
            let f = verified(&p, "credit_code", &bad);
            assert_eq!(&f.value, &Value::Text(want.clone()), "{bad}");
        }
        // fixes at two places fit the check character (8→B, Q→0); only one keeps the entity
        // code inside (characters 9–17) valid by its own check character
        let f = verified(&p, "credit_code", "51500000MJN1K8HHQN");
        assert_eq!(f.value, Value::Text("51500000MJN1K8HH0N".into()));
        // a G at the end read as a 0
        let f = verified(&p, "credit_code", "51500000MJ9YUAMP20");
        assert_eq!(f.value, Value::Text("51500000MJ9YUAMP2G".into()));
        // a J read as an I (not a code character) or as a bracket
        let f = verified(&p, "credit_code", "92500243MA3P8DWI3D");
        assert_eq!(f.value, Value::Text("92500243MA3P8DWJ3D".into()));
        let f = verified(&p, "credit_code", "11500105276007086)");
        assert_eq!(f.value, Value::Text("11500105276007086J".into()));
        // a digit too many: one deletion keeps the check character, the region's division
        // code and the entity code's check character
        let f = verified(&p, "credit_code", "515600104MJMDECGM29");
        assert_eq!(f.value, Value::Text("51500104MJMDECGM29".into()));
        // a legacy organisation code keeps no dash
        let f = verified(&p, "credit_code", "D2143569]-X");
        assert_eq!(f.value, Value::Text("D2143569X".into()));
    }

    #[test]
    fn phone_numbers_one_digit_off_their_pattern_are_put_right() {
        let p = pipeline();
        for (read, want) in [("602382129585", "02382129585"), ("2367335895", "02367335895")] {
            let f = verified(&p, "contact_phone", read);
            assert_eq!(f.value, Value::Text(want.into()), "{read}");
            assert!(f.prov.confidence <= 0.6 && f.prov.corrections.len() == 1, "{read}: {:?}", f.prov);
        }
        // right as read, or a mobile number a digit short (it fits in many ways): left alone
        for read in ["02386936633", "13812345678", "1381234567"] {
            let f = verified(&p, "contact_phone", read);
            assert_eq!(f.value, Value::Text(read.into()), "{read}");
            assert!(f.prov.corrections.is_empty(), "{read}");
        }
    }

    #[test]
    fn of_two_credit_code_fixes_the_one_in_the_regions_division_codes_is_taken() {
        let p = pipeline();
        // 0 read as 6 in the division code 500236: 506236 is no Chongqing code
        let f = verified(&p, "credit_code", "91506236MAUN5UP27U");
        assert_eq!(f.value, Value::Text("91500236MAUN5UP27U".into()), "{:?}", f.prov);
        let mut q = pipeline();
        q.lists.credit_code_regions.clear();
        let f = verified(&q, "credit_code", "91506236MAUN5UP27U");
        assert_eq!(f.value, Value::Text("91506236MAUN5UP27U".into()), "without the region two fixes fit: {:?}", f.prov);
    }
}
