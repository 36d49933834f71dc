//! Matching of OCR'd seal (公章) arc readings against unit names.
//!
//! An official seal carries the unit's full name along its upper arc, the
//! characters evenly spaced from left to right. The arc is unwarped into a
//! strip and OCR'd; only about half of the characters come back, some of them
//! as look-alikes. Every recognised character keeps its relative position
//! `pos` in `[0, 1]` along the text extent of the arc, so character `i` of an
//! `n`-character name is expected near `pos = (i + 0.5) / n`.
//!
//! [`score`] aligns one reading with one name: a monotone, position-windowed,
//! confidence-weighted alignment (generic characters such as 重庆 / 有限公司
//! weigh less than distinctive ones), normalised by the weight read, tolerant
//! of common name variants. [`decide`] scores the applicant's own name first
//! and, unless that is a certain match, the other units of the batch
//! (prefiltered by a cheap character-overlap bound), and turns the scores into
//! a [`Verdict`].
//!
//! A single reading of half the characters with ~10 % misreads cannot always
//! be decided: with only one distinctive character left, or one shared with
//! another batch unit (same trade, core not read), the honest answer is
//! `Unreadable` or `Mismatch { other: None }`; see the randomized tests for
//! the rates. Several candidate readings (radii) help: the best-supported one
//! decides, and when none identifies the unit on its own they are pooled.
//!
//! Only `std` is used; nothing panics on any input.

use std::cmp::Ordering;

/// One recognised character of a seal reading.
#[derive(Debug, Clone, PartialEq)]
pub struct ArcChar {
    /// the recognised character
    pub ch: char,
    /// relative position along the text extent of the arc, 0..1
    pub pos: f32,
    /// recognition confidence, 0..1
    pub conf: f32,
}

/// One candidate reading of the arc (one radius / direction / scale).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reading {
    /// the recognised characters (any order; sorted by `pos` where it matters)
    pub chars: Vec<ArcChar>,
    /// mean confidence, 0..1 (informative; [`decide`] works from the per-character values)
    pub confidence: f32,
}

impl Reading {
    /// The characters as a string (in position order).
    pub fn text(&self) -> String {
        let mut v: Vec<&ArcChar> = self.chars.iter().collect();
        v.sort_by(|a, b| a.pos.total_cmp(&b.pos));
        v.iter().map(|c| c.ch).collect()
    }
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// the seal is the applicant's
    Matches {
        /// own name's score on the deciding reading
        score: f32,
    },
    /// the seal is another unit's: `other` = index into `others` when it is a unit of the
    /// batch (`None`: a unit outside the batch, or several batch units fit equally well)
    Mismatch {
        /// own name's score on the deciding reading
        score_own: f32,
        /// the batch unit the seal belongs to, when singled out
        other: Option<usize>,
        /// best score of another batch unit (0 when none came close)
        other_score: f32,
    },
    /// too little was read to tell
    Unreadable,
}

// ---------------------------------------------------------------------------
// Tuning constants.
//
// Tuned with the randomized tests below on four RNG seeds: batches of 200
// generated Chongqing unit names; single readings keeping 50 % of the
// characters, ~10 % of those replaced by a look-alike or a random CJK
// character (at lower confidence), positions jittered by ±0.2 character.
// Own readings then score mostly 0.8..1.0 (one misread distinctive character
// costs ~0.15..0.25); readings of another unit score 0..0.55 against own (shared
// 重庆 / 有限公司 / trade words); a branch's seal against its parent's name (and
// vice versa) 0.1..0.55. MATCH_MIN is the lowest value at which no parent /
// branch / foreign reading matched (0.56 let about 1 in 200 through, for +1
// point of own matches); OTHER_MIN likewise (0.56 turned ~3 % of well-read
// foreign seals into a wrongly named batch unit); OWN_LOW keeps ≥ 97 % of
// well-read foreign seals `Mismatch { other: None }`. The position constants separate a name from the
// same name plus a suffix (parent / branch) without hurting jittered readings.
// ---------------------------------------------------------------------------

/// Weight of a generic character (place / legal-form words) relative to a distinctive one.
const GENERIC_WEIGHT: f32 = 0.35;
/// A character read with at least this confidence counts as "confident".
const CONFIDENT: f32 = 0.5;
/// Maximal distance (in characters) between a read char's expected index and the name index it aligns to.
const POS_TOL: f32 = 1.5;
/// Up to this distance an aligned character gets full credit ...
const POS_FULL: f32 = 0.5;
/// ... decreasing linearly to this credit at `POS_TOL` (favours the name whose layout fits best).
const POS_EDGE_CREDIT: f32 = 0.35;
/// Score factor when the aligned characters cover a single character of the name ...
const COVERAGE_BASE: f32 = 0.75;
/// ... rising linearly to 1 when they span at least this fraction of the name.
const COVERAGE_FULL: f32 = 0.6;
/// Score factor for a name variant that is not the literal (normalised) name; breaks ties
/// in favour of the literally fitting unit.
const VARIANT_FACTOR: f32 = 0.95;
/// A reading with fewer confident characters says little and is skipped.
const MIN_CONFIDENT_CHARS: usize = 3;
/// A positive identification (own or other) normally needs this many confident
/// distinctive characters aligned ...
const MIN_DISTINCT_MATCHED: usize = 2;
/// ... or a single one when the whole reading fits (nothing confident left unaligned, at
/// least this many confident characters aligned) and no other unit fits nearly as well.
const WEAK_MIN_MATCHED: usize = 4;
/// Own score needed for `Matches`.
const MATCH_MIN: f32 = 0.62;
/// Score another unit needs (in absolute terms) for `Mismatch { other: Some(_) }`.
const OTHER_MIN: f32 = 0.62;
/// "Clearly higher": another unit must beat the own score by this much.
/// Own scores at or above `1 - MARGIN` cannot be beaten, so the others are not scanned.
const MARGIN: f32 = 0.10;
/// "Singled out": with a single distinctive character, own must beat every other unit by this much.
const UNIQUE_MARGIN: f32 = 0.05;
/// A batch unit is named in `Mismatch` only when it beats every differently named unit by this much.
const IDENTIFY_MARGIN: f32 = 0.02;
/// Own score below which a substantial reading proves a foreign seal.
const OWN_LOW: f32 = 0.45;
/// A foreign seal (not in the batch) needs this many confident characters ...
const FOREIGN_MIN_CONFIDENT: usize = 5;
/// ... of which at least this many fail to align with the own name ...
const FOREIGN_MIN_UNMATCHED: usize = 3;
/// ... at least this many of them distinctive.
const FOREIGN_MIN_UNMATCHED_DISTINCT: usize = 2;
/// Readings are capped to their most confident characters (keeps huge inputs cheap; also
/// guarantees at most 64 distinct characters for the prefilter bit mask).
const MAX_READ_CHARS: usize = 64;
/// Pooling readings: the same character read within this distance (fraction of the arc)
/// by two readings is one character.
const POOL_MERGE: f32 = 0.05;
/// Names are cut after this many (normalised) characters.
const MAX_NAME_CHARS: usize = 96;

/// Characters that say little about which unit it is: place names, legal and
/// organisational forms. (分 is left distinctive: it marks a branch, 分公司.)
const GENERIC: &[char] = &[
    '重', '庆', '市', '区', '县', '省', '有', '限', '公', '司', '责', '任', '股', '份', '集', '团',
    '中', '心', '学', '校', '院', '协', '会', '总', '厂', '局', '所', '站', '社',
];

// Prefix and legal-form suffix variants (see `split`).
const CQ: &[char] = &['重', '庆'];
const CQS: &[char] = &['重', '庆', '市'];
const LTD: &[char] = &['有', '限', '公', '司'];
const LLC: &[char] = &['有', '限', '责', '任', '公', '司'];
const JSC: &[char] = &['股', '份', '有', '限', '公', '司'];

fn is_generic(c: char) -> bool {
    GENERIC.contains(&c)
}

/// Normalises one character: full-width ASCII to half-width, ASCII lower case;
/// `None` for anything that is not a letter or digit (spaces, brackets, punctuation).
fn norm_char(c: char) -> Option<char> {
    let u = c as u32;
    if (0x4E00..=0x9FFF).contains(&u) {
        return Some(c); // common CJK: the hot path
    }
    let c = match u {
        0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    if c.is_alphanumeric() {
        Some(c.to_ascii_lowercase())
    } else {
        None
    }
}

/// The normalised characters of a name (brackets, spaces, punctuation dropped), capped.
fn normalize(name: &str) -> Vec<char> {
    name.chars().filter_map(norm_char).take(MAX_NAME_CHARS).collect()
}

/// A name variant: prefix + core + suffix, viewed without copying.
#[derive(Debug, Clone, Copy)]
struct Variant<'a> {
    pre: &'a [char],
    core: &'a [char],
    suf: &'a [char],
}

impl Variant<'_> {
    fn len(&self) -> usize {
        self.pre.len() + self.core.len() + self.suf.len()
    }

    fn at(&self, i: usize) -> char {
        let (p, c) = (self.pre.len(), self.core.len());
        if i < p {
            self.pre[i]
        } else if i < p + c {
            self.core[i - p]
        } else {
            self.suf.get(i - p - c).copied().unwrap_or('\0')
        }
    }
}

/// Splits a normalised name into prefix alternatives (重庆市 ↔ 重庆), core and suffix
/// alternatives (有限公司 ↔ 有限责任公司 ↔ 股份有限公司); the literal alternatives first.
fn split(base: &[char]) -> (&'static [&'static [char]], &[char], &'static [&'static [char]]) {
    let (pres, rest): (&'static [&'static [char]], &[char]) = if base.starts_with(CQS) {
        (&[CQS, CQ], &base[CQS.len()..])
    } else if base.starts_with(CQ) {
        (&[CQ, CQS], &base[CQ.len()..])
    } else {
        (&[&[]], base)
    };
    let (sufs, core): (&'static [&'static [char]], &[char]) = if rest.ends_with(JSC) {
        (&[JSC, LLC, LTD], &rest[..rest.len() - JSC.len()])
    } else if rest.ends_with(LLC) {
        (&[LLC, LTD, JSC], &rest[..rest.len() - LLC.len()])
    } else if rest.ends_with(LTD) {
        (&[LTD, LLC, JSC], &rest[..rest.len() - LTD.len()])
    } else {
        (&[&[]], rest)
    };
    (pres, core, sufs)
}

/// The same key for all variants of a name (重庆…有限公司 form).
fn canonical(base: &[char]) -> Vec<char> {
    let (pres, core, sufs) = split(base);
    let pre = if pres[0].is_empty() { pres[0] } else { CQ };
    let suf = if sufs[0].is_empty() { sufs[0] } else { LTD };
    [pre, core, suf].concat()
}

// ---------------------------------------------------------------------------
// Prepared reading and alignment.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Item {
    ch: char,
    pos: f32,
    /// confidence × (generic ? GENERIC_WEIGHT : 1)
    w: f32,
    confident: bool,
    generic: bool,
}

/// A reading cleaned up for matching.
#[derive(Debug, Default)]
struct Prep {
    /// sorted by position
    items: Vec<Item>,
    total_w: f32,
    confident: usize,
    confident_distinct: usize,
    /// distinct characters read (sorted)
    keys: Vec<char>,
    /// distinct distinctive characters read (sorted) with their summed weights, for the prefilter
    dkeys: Vec<(char, f32)>,
    /// 256-bit membership filter over `dkeys`
    bloom: [u64; 4],
    /// summed weight of the generic characters read
    generic_w: f32,
}

/// Word and bit of a character in a 256-bit membership filter.
fn bloom_slot(c: char) -> (usize, u64) {
    let u = c as u32;
    let h = (u ^ (u >> 8)) & 0xFF;
    ((h >> 6) as usize, 1u64 << (h & 63))
}

/// Cleans a reading up: drops characters with non-finite positions or that are not letters /
/// digits, clamps positions and confidences, keeps the `MAX_READ_CHARS` most confident.
fn prepare(reading: &Reading) -> Prep {
    let mut items: Vec<Item> = reading
        .chars
        .iter()
        .filter(|c| c.pos.is_finite())
        .filter_map(|c| {
            let ch = norm_char(c.ch)?;
            let conf = if c.conf.is_finite() { c.conf.clamp(0.0, 1.0) } else { 0.0 };
            let generic = is_generic(ch);
            Some(Item {
                ch,
                pos: c.pos.clamp(0.0, 1.0),
                w: conf * if generic { GENERIC_WEIGHT } else { 1.0 },
                confident: conf >= CONFIDENT,
                generic,
            })
        })
        .collect();
    if items.len() > MAX_READ_CHARS {
        items.sort_by(|a, b| b.w.total_cmp(&a.w));
        items.truncate(MAX_READ_CHARS);
    }
    items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    finish(items)
}

/// Pools several readings of the same arc (other radii): their characters together, the
/// same character read at about the same position by several of them counted once.
fn pool<'a>(preps: impl Iterator<Item = &'a Prep>) -> Prep {
    let mut all: Vec<Item> = preps.flat_map(|p| p.items.iter().copied()).collect();
    all.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    let mut items: Vec<Item> = Vec::with_capacity(all.len());
    for it in all {
        let same = items.iter_mut().rev().take_while(|m| it.pos - m.pos <= POOL_MERGE).find(|m| m.ch == it.ch);
        match same {
            Some(m) => {
                if it.w > m.w {
                    *m = it;
                }
            }
            None => items.push(it),
        }
    }
    if items.len() > MAX_READ_CHARS {
        items.sort_by(|a, b| b.w.total_cmp(&a.w));
        items.truncate(MAX_READ_CHARS);
        items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    }
    finish(items)
}

/// Completes a `Prep` from its position-sorted items.
fn finish(items: Vec<Item>) -> Prep {
    let mut keys: Vec<char> = items.iter().map(|i| i.ch).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut dkeys: Vec<(char, f32)> = Vec::new();
    for it in items.iter().filter(|i| !i.generic) {
        match dkeys.iter_mut().find(|k| k.0 == it.ch) {
            Some(k) => k.1 += it.w,
            None => dkeys.push((it.ch, it.w)),
        }
    }
    dkeys.sort_by_key(|k| k.0);
    let mut bloom = [0u64; 4];
    for k in &dkeys {
        let (word, bit) = bloom_slot(k.0);
        bloom[word] |= bit;
    }

    Prep {
        total_w: items.iter().map(|i| i.w).sum(),
        generic_w: items.iter().filter(|i| i.generic).map(|i| i.w).sum(),
        confident: items.iter().filter(|i| i.confident).count(),
        confident_distinct: items.iter().filter(|i| i.confident && !i.generic).count(),
        items,
        keys,
        dkeys,
        bloom,
    }
}

/// How a reading fits one name.
#[derive(Debug, Clone, Copy, Default)]
struct Fit {
    score: f32,
    /// aligned weight (confidence × generic factor × position credit)
    weight: f32,
    /// confident read chars aligned with the name
    matched: usize,
    /// confident distinctive read chars aligned with the name
    distinct_matched: usize,
    /// confident read chars not aligned with the name
    unmatched: usize,
    /// confident distinctive read chars not aligned with the name
    distinct_unmatched: usize,
}

/// One possible alignment (read item `k` ↔ name index `i`) with the best chain ending in it.
#[derive(Debug, Clone, Copy)]
struct Node {
    i: u16,
    v: f32,
    cd: u16,
    c: u16,
    first: u16,
    /// read items in the chain (bit k = item k)
    items: u64,
}

fn chain_better(a: &Node, b: &Node) -> bool {
    match a.v.partial_cmp(&b.v).unwrap_or(Ordering::Equal) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => (a.cd, a.c) > (b.cd, b.c),
    }
}

/// Position credit for aligning a char expected at index `e` with name index `i`.
fn pos_credit(e: f32, i: usize) -> Option<f32> {
    let d = (i as f32 - e).abs();
    if d <= POS_FULL {
        Some(1.0)
    } else if d <= POS_TOL {
        Some(1.0 - (1.0 - POS_EDGE_CREDIT) * (d - POS_FULL) / (POS_TOL - POS_FULL))
    } else {
        None
    }
}

/// Aligns the reading with one name variant: the best monotone chain of position-windowed
/// character matches (a sparse weighted LCS; the window keeps the number of nodes small).
fn fit_variant(p: &Prep, v: Variant<'_>, nodes: &mut Vec<Node>) -> Fit {
    let n = v.len();
    let none = Fit { unmatched: p.confident, distinct_unmatched: p.confident_distinct, ..Fit::default() };
    if n == 0 || p.total_w <= 0.0 {
        return none;
    }
    nodes.clear();
    let mut best: Option<Node> = None;
    for (k, it) in p.items.iter().enumerate() {
        let e = it.pos * n as f32 - 0.5;
        let distinct = it.confident && !it.generic;
        let lo = (e - POS_TOL).ceil().max(0.0) as usize;
        let hi = ((e + POS_TOL).floor().max(-1.0) + 1.0) as usize;
        let group = nodes.len();
        for i in lo..hi.min(n) {
            if v.at(i) != it.ch {
                continue;
            }
            let Some(credit) = pos_credit(e, i) else { continue };
            let mut node = Node {
                i: i as u16,
                v: it.w * credit,
                cd: u16::from(distinct),
                c: u16::from(it.confident),
                first: i as u16,
                items: 1u64 << (k & 63),
            };
            let mut pred: Option<&Node> = None;
            for q in &nodes[..group] {
                if q.i < node.i && pred.is_none_or(|b| chain_better(q, b)) {
                    pred = Some(q);
                }
            }
            if let Some(q) = pred {
                node.v += q.v;
                node.cd += q.cd;
                node.c += q.c;
                node.first = q.first;
                node.items |= q.items;
            }
            if best.as_ref().is_none_or(|b| chain_better(&node, b)) {
                best = Some(node);
            }
            nodes.push(node);
        }
    }
    let Some(end) = best else { return none };
    // A generic character that the name has, but elsewhere, is misplaced rather than
    // misread: the layout differs (a parent's name read on a branch's seal). It counts
    // against the fit with full weight.
    let mut total = p.total_w;
    for (k, it) in p.items.iter().enumerate() {
        if it.generic && end.items & (1u64 << (k & 63)) == 0 && (0..n).any(|i| v.at(i) == it.ch) {
            total += it.w * (1.0 / GENERIC_WEIGHT - 1.0);
        }
    }
    let precision = (end.v / total).clamp(0.0, 1.0);
    let span = (end.i as f32 - end.first as f32) / n as f32;
    let cov = COVERAGE_BASE + (1.0 - COVERAGE_BASE) * (span / COVERAGE_FULL).min(1.0);
    Fit {
        score: precision * cov,
        weight: end.v,
        matched: end.c as usize,
        distinct_matched: end.cd as usize,
        unmatched: p.confident.saturating_sub(end.c as usize),
        distinct_unmatched: p.confident_distinct.saturating_sub(end.cd as usize),
    }
}

/// Best fit over the variants of a normalised name. A variant that adds characters
/// (重庆 → 重庆市, 有限公司 → 有限责任公司 / 股份有限公司) is only tried when the reading
/// contains one of the added characters: stretching a name for free would let it absorb
/// longer names (a branch's seal would fit its parent's name).
fn fit_name(p: &Prep, base: &[char]) -> Fit {
    let (pres, core, sufs) = split(base);
    let literal: Vec<char> = pres[0].iter().chain(sufs[0]).copied().collect();
    let read = |c: &char| p.keys.binary_search(c).is_ok();
    let mut nodes = Vec::new();
    let mut best: Option<Fit> = None;
    for (a, pre) in pres.iter().enumerate() {
        for (b, suf) in sufs.iter().enumerate() {
            let mut added = pre.iter().chain(suf.iter()).filter(|c| !literal.contains(c)).peekable();
            if added.peek().is_some() && !added.any(read) {
                continue;
            }
            let mut f = fit_variant(p, Variant { pre, core, suf }, &mut nodes);
            if a + b > 0 {
                f.score *= VARIANT_FACTOR;
            }
            if best.is_none_or(|x| f.score > x.score) {
                best = Some(f);
            }
        }
    }
    best.unwrap_or_default()
}

/// Cheap upper bound of [`fit_name`]'s score: the weight share of the read characters that
/// may align with the name — every generic one (they occur in nearly every name and may be
/// added by a variant) and the distinctive ones that occur anywhere in the name.
fn upper_bound(p: &Prep, name: &str) -> f32 {
    if p.total_w <= 0.0 {
        return 0.0;
    }
    let mut mask: u64 = 0;
    for c in name.chars().filter_map(norm_char).take(MAX_NAME_CHARS) {
        let (word, bit) = bloom_slot(c);
        if p.bloom[word] & bit == 0 {
            continue;
        }
        if let Ok(k) = p.dkeys.binary_search_by(|x| x.0.cmp(&c)) {
            mask |= 1u64 << (k & 63);
        }
    }
    let mut w = p.generic_w;
    for (k, key) in p.dkeys.iter().enumerate().take(64) {
        if mask & (1u64 << k) != 0 {
            w += key.1;
        }
    }
    (w / p.total_w).min(1.0)
}

/// How well `reading` fits `name`, 0..1: position-aware (a char read at pos p should equal
/// name[i] for i ≈ p·len(name), tolerance about ±1.5 characters), confidence-weighted, and
/// also tolerant of name variants: 有限公司 ↔ 有限责任公司, 股份有限公司, leading 重庆市 vs 重庆,
/// full-width/half-width brackets and parentheses （）() dropped, spaces dropped. Scores
/// against each variant and keeps the best.
pub fn score(reading: &Reading, name: &str) -> f32 {
    let p = prepare(reading);
    fit_name(&p, &normalize(name)).score
}

// ---------------------------------------------------------------------------
// Decision.
// ---------------------------------------------------------------------------

/// What one reading says.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// positive identification of own (`strength` ranks readings)
    Own { score: f32, strength: f32 },
    /// positive identification of a batch unit
    Other { own: f32, idx: usize, score: f32, strength: f32 },
    /// not own, unit not singled out (outside the batch, or several batch units fit)
    Foreign { own: f32, other_score: f32, evidence: usize },
    /// too little evidence either way
    Nothing,
}

/// The best-fitting other unit (not a variant of own).
#[derive(Debug)]
struct Top {
    idx: usize,
    fit: Fit,
    key: Vec<char>,
}

/// The other units that matter for one reading.
#[derive(Debug, Default)]
struct Ranked {
    /// the best-fitting other unit, if any may reach the floor
    top: Option<Top>,
    /// best score of a unit named differently from `top`
    second: f32,
}

/// Ranks the other units for a reading: the best one and the runner-up among those that may
/// reach `floor` (branch and bound over the prefilter's upper bound).
fn rank_others(p: &Prep, own_key: &[char], others: &[&str], floor: f32) -> Ranked {
    let mut cands: Vec<(f32, usize)> = others
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let ub = upper_bound(p, name);
            (ub >= floor).then_some((ub, i))
        })
        .collect();
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut r = Ranked::default();
    for (ub, i) in cands {
        if let Some(t) = &r.top {
            if ub <= r.second || ub < t.fit.score - UNIQUE_MARGIN {
                break;
            }
        }
        let base = normalize(others[i]);
        let key = canonical(&base);
        if key == own_key {
            continue; // own listed among the others (or a variant of it)
        }
        let fit = fit_name(p, &base);
        match &mut r.top {
            None => r.top = Some(Top { idx: i, fit, key }),
            Some(t) if fit.score > t.fit.score => {
                if key != t.key {
                    r.second = t.fit.score;
                }
                *t = Top { idx: i, fit, key };
            }
            Some(t) => {
                if key != t.key {
                    r.second = r.second.max(fit.score);
                }
            }
        }
    }
    r
}

/// Whether a fit is enough for a positive identification (see `MIN_DISTINCT_MATCHED`).
fn strong(f: &Fit) -> bool {
    f.distinct_matched >= MIN_DISTINCT_MATCHED
}

/// Whether a fit with a single distinctive character may still identify a unit (see
/// `WEAK_MIN_MATCHED`; the caller checks that no other unit fits nearly as well).
fn weak(f: &Fit) -> bool {
    f.distinct_matched == 1 && f.distinct_unmatched == 0 && f.matched >= WEAK_MIN_MATCHED
}

/// What one (usable) reading says, given its own fit `fo`.
/// `read_keys`: the distinctive characters of every usable reading of this seal (evidence for
/// the applicant in any reading keeps another unit from being named).
fn judge(p: &Prep, own_key: &[char], fo: Fit, others: &[&str], read_keys: &[char]) -> Outcome {
    let need_other = OTHER_MIN.max(fo.score + MARGIN);
    let own_strong = fo.score >= MATCH_MIN && strong(&fo);
    let own_weak = fo.score >= MATCH_MIN && weak(&fo);
    let floor = if own_weak { need_other.min(fo.score) } else { need_other } - UNIQUE_MARGIN;
    let r = rank_others(p, own_key, others, floor);

    if let Some(t) = &r.top {
        let f = t.fit;
        // another unit is named only on evidence against the applicant: a distinctive character
        // read that its name has and the applicant's lacks (a reading that merely misses the
        // applicant's distinctive characters is no evidence)
        let other_key = canonical(&normalize(others[t.idx]));
        // (or a much better positional fit: a parent's seal on its branch's form has no
        // character the branch's name lacks, only the wrong places)
        let contrast = p.dkeys.iter().any(|(c, _)| !own_key.contains(c) && other_key.contains(c)) || f.score >= fo.score + 0.3;
        // ... and none for the applicant: a distinctive character read that only the
        // applicant's name has makes it a question for a person, not a return
        let own_evidence = read_keys.iter().any(|c| own_key.contains(c) && !other_key.contains(c));
        let contrast = contrast && !own_evidence;
        if f.score >= need_other && f.distinct_matched >= 1 && contrast {
            let unique = f.score >= r.second + IDENTIFY_MARGIN;
            if unique && (strong(&f) || weak(&f)) {
                let strength = f.score * f.weight;
                return Outcome::Other { own: fo.score, idx: t.idx, score: f.score, strength };
            }
            if strong(&f) {
                return Outcome::Foreign { own: fo.score, other_score: f.score, evidence: f.matched };
            }
            return Outcome::Nothing;
        }
    }
    // No other unit fits clearly better. A single distinctive character is enough only when
    // no other unit fits nearly as well.
    let best_other = r.top.as_ref().map_or(0.0, |t| t.fit.score);
    if own_strong || (own_weak && best_other < fo.score - UNIQUE_MARGIN) {
        return Outcome::Own { score: fo.score, strength: fo.score * fo.weight };
    }
    if fo.score < OWN_LOW
        && fo.matched >= 1
        && p.confident >= FOREIGN_MIN_CONFIDENT
        && fo.unmatched >= FOREIGN_MIN_UNMATCHED
        && fo.distinct_unmatched >= FOREIGN_MIN_UNMATCHED_DISTINCT
    {
        return Outcome::Foreign { own: fo.score, other_score: best_other, evidence: fo.unmatched };
    }
    Outcome::Nothing
}

/// Keeps the better-supported of `best` and a positive `outcome` (others are ignored).
fn keep_stronger(best: &mut Option<(f32, Verdict)>, outcome: Outcome) {
    let (strength, verdict) = match outcome {
        Outcome::Own { score, strength } => (strength, Verdict::Matches { score }),
        Outcome::Other { own, idx, score, strength } => {
            (strength, Verdict::Mismatch { score_own: own, other: Some(idx), other_score: score })
        }
        Outcome::Foreign { .. } | Outcome::Nothing => return,
    };
    if best.as_ref().is_none_or(|(s, _)| strength > *s) {
        *best = Some((strength, verdict));
    }
}

/// Characters the candidate readings disagree on: where another reading has a different
/// character at about the same place and none has the same one, the character is a guess
/// (Tesseract's model is unsure of that glyph), so its confidence is cut to below
/// `CONFIDENT` — a misread glyph is no evidence against the applicant.
fn discount_disputed(readings: &[Reading]) -> Vec<Reading> {
    let mut out: Vec<Reading> = readings.to_vec();
    if readings.len() < 2 {
        return out;
    }
    // agreement: the share of a reading's characters another reading has at about the same place
    let agree = |a: &Reading, b: &Reading| -> f32 {
        let tol = 0.6 / a.chars.len().max(1) as f32;
        let hits = a.chars.iter().filter(|c| b.chars.iter().any(|d| d.ch == c.ch && (d.pos - c.pos).abs() <= tol)).count();
        hits as f32 / a.chars.len().max(1) as f32
    };
    for (ri, r) in readings.iter().enumerate() {
        let n = r.chars.len().max(1) as f32;
        let tol = 0.6 / n;
        // only a reading of the same text can dispute a glyph (junk readings dispute nothing)
        let peers: Vec<&Reading> = readings.iter().enumerate().filter(|(oi, o)| *oi != ri && agree(r, o) >= 0.4).map(|(_, o)| o).collect();
        for (ci, c) in r.chars.iter().enumerate() {
            if !c.pos.is_finite() {
                continue;
            }
            // the characters the peers read here: this one is a guess when no peer agrees and
            // either the peers agree among themselves on another, or every reading differs
            let mut here: Vec<char> = Vec::new();
            for o in &peers {
                if let Some(d) = o.chars.iter().filter(|d| d.pos.is_finite() && (d.pos - c.pos).abs() <= tol).min_by(|a, b| (a.pos - c.pos).abs().total_cmp(&(b.pos - c.pos).abs())) {
                    here.push(d.ch);
                }
            }
            let same = here.iter().filter(|&&d| d == c.ch).count();
            let mut others_agree = false;
            for (i, a) in here.iter().enumerate() {
                if *a != c.ch && here[i + 1..].contains(a) {
                    others_agree = true;
                }
            }
            let all_differ = here.len() >= 2 && same == 0 && {
                let mut v = here.clone();
                v.sort_unstable();
                v.dedup();
                v.len() == here.len()
            };
            if same == 0 && (others_agree || all_differ) {
                let cc = &mut out[ri].chars[ci];
                cc.conf = cc.conf.min(CONFIDENT * 0.8);
            }
        }
    }
    out
}

/// Decides over all candidate readings whether the seal is the applicant's (`own`), another
/// batch unit's (`others`; duplicates and variants of `own` among them are ignored) or a
/// unit's outside the batch.
///
/// Readings with fewer than 3 confident characters, or without confident distinctive
/// characters, are skipped. Own is scored first; the others are scanned (prefiltered by a
/// cheap character-overlap bound) only when own is not a certain match. Across readings a
/// positive identification (own or a batch unit) beats a "not singled out" conclusion, and
/// among positive identifications the best-supported one (score × aligned weight) wins.
pub fn decide(readings: &[Reading], own: &str, others: &[&str]) -> Verdict {
    let readings = &discount_disputed(readings);
    let own_base = normalize(own);
    let own_key = canonical(&own_base);
    let preps: Vec<(Prep, Fit)> = readings
        .iter()
        .map(prepare)
        .filter(|p| p.confident >= MIN_CONFIDENT_CHARS && p.confident_distinct > 0)
        .map(|p| {
            let f = fit_name(&p, &own_base);
            (p, f)
        })
        .collect();

    // Fast path: an own score no other unit can beat by MARGIN; the others are not scanned.
    let sure = preps
        .iter()
        .filter(|(_, f)| f.score >= 1.0 - MARGIN && strong(f))
        .map(|(_, f)| f.score)
        .fold(None, |acc: Option<f32>, s| Some(acc.map_or(s, |a| a.max(s))));
    if let Some(score) = sure {
        return Verdict::Matches { score };
    }

    let mut read_keys: Vec<char> = preps.iter().flat_map(|(p, _)| p.dkeys.iter().map(|(c, _)| *c)).collect();
    read_keys.sort_unstable();
    read_keys.dedup();
    let mut positive: Option<(f32, Verdict)> = None;
    let mut foreign: Option<(usize, Verdict)> = None;
    for (p, fo) in &preps {
        match judge(p, &own_key, *fo, others, &read_keys) {
            Outcome::Foreign { own, other_score, evidence } => {
                if foreign.as_ref().is_none_or(|(e, _)| evidence > *e) {
                    let v = Verdict::Mismatch { score_own: own, other: None, other_score };
                    foreign = Some((evidence, v));
                }
            }
            outcome => keep_stronger(&mut positive, outcome),
        }
    }

    // No single reading identifies the unit: pool the usable readings (one may hold the core
    // of the name, another the trade). The pool only contributes positive identifications;
    // junk readings dilute it, so its "foreign" evidence is not trusted.
    if positive.is_none() && preps.len() >= 2 {
        let p = pool(preps.iter().map(|(p, _)| p));
        let fo = fit_name(&p, &own_base);
        if p.confident >= MIN_CONFIDENT_CHARS {
            keep_stronger(&mut positive, judge(&p, &own_key, fo, others, &read_keys));
        }
    }

    match (positive, foreign) {
        (Some((_, v)), _) | (None, Some((_, v))) => v,
        (None, None) => Verdict::Unreadable,
    }
}

// ---------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::Instant;

    /// Tiny deterministic RNG.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn unit(&mut self) -> f32 {
            (self.next() >> 40) as f32 / (1u64 << 24) as f32
        }
        fn range(&mut self, lo: f32, hi: f32) -> f32 {
            lo + (hi - lo) * self.unit()
        }
        fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
            v[self.below(v.len())]
        }
    }

    const PREFIXES: &[&str] = &["重庆", "重庆市"];
    const DISTRICTS: &[&str] = &[
        "渝中区", "江北区", "沙坪坝区", "九龙坡区", "南岸区", "北碚区", "渝北区", "巴南区", "长寿区",
        "江津区", "合川区", "永川区", "綦江区", "大足区", "璧山区", "铜梁区", "潼南区", "荣昌区",
        "开州区", "梁平区", "武隆区", "万州区", "涪陵区", "黔江区",
    ];
    const CORES: &[&str] = &[
        "长江", "渝州", "山城", "嘉陵", "巴渝", "两江", "天府", "金佛山", "缙云", "朝天门", "华岩",
        "鹅岭", "磁器口", "解放碑", "南山", "歌乐山", "白帝", "红岩", "龙门", "三峡", "黄桷", "菜园坝",
        "洪崖洞", "南滨", "北滨", "龙湖", "金科", "隆鑫", "宗申", "建峰", "川维", "渝丰", "星海", "紫光",
        "银河", "东方", "聚福", "华龙", "新桥", "永辉", "金鹰", "正阳", "德润", "瑞丰", "恒信", "博远",
        "宏达", "鼎盛", "同创", "汇丰",
    ];
    const TRADES: &[&str] = &[
        "建设工程", "机械制造", "电子科技", "物流", "餐饮管理", "汽车维修", "人力资源服务", "建筑劳务",
        "环保科技", "医药", "房地产开发", "园林绿化", "信息技术", "商贸", "精密铸造", "数控设备", "焊接技术",
        "电力安装", "燃气设备", "化工", "食品加工", "服装", "印务", "钢结构", "水务", "交通运输", "装饰工程",
        "模具", "电梯安装", "新能源",
    ];
    /// Cores and trades of units outside the batch (agencies), disjoint from the above.
    const FOREIGN_CORES: &[&str] = &[
        "安盛", "百川", "诚达", "丰源", "国泰", "海纳", "红星", "锦程", "凯旋", "蓝天", "明德", "普惠",
        "千禧", "仁和", "盛世", "泰和", "万通", "鑫源", "远航", "",
    ];
    const FOREIGN_TRADES: &[&str] = &["劳务派遣", "人才服务", "职业介绍", "企业管理咨询", "社会保障服务", "会计代理"];
    const COMPANY_SUFFIXES: &[&str] = &["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"];
    const SCHOOLS: &[&str] = &["技师学院", "职业技术学院", "职业培训学校"];
    const ASSOCIATIONS: &[&str] = &["行业协会", "商会"];
    const CONFUSIONS: &[(char, char)] = &[
        ('庆', '广'), ('重', '童'), ('区', '匹'), ('司', '同'), ('公', '会'), ('限', '很'),
        ('江', '汪'), ('渝', '输'), ('设', '没'), ('程', '桯'), ('科', '料'), ('技', '枝'),
        ('术', '木'), ('学', '字'), ('院', '阮'), ('山', '出'), ('州', '川'), ('物', '牣'),
    ];

    fn gen_name(rng: &mut XorShift) -> String {
        let mut s = String::from(rng.pick(PREFIXES));
        if rng.below(2) == 0 {
            s.push_str(rng.pick(DISTRICTS));
        }
        s.push_str(rng.pick(CORES));
        match rng.below(10) {
            0 => {
                s.push_str(rng.pick(SCHOOLS));
            }
            1 => {
                s.push_str(rng.pick(&["建筑业", "物流", "餐饮", "汽车维修"]));
                s.push_str(rng.pick(ASSOCIATIONS));
            }
            _ => {
                s.push_str(rng.pick(TRADES));
                s.push_str(rng.pick(COMPANY_SUFFIXES));
            }
        }
        s
    }

    /// An agency-like unit outside the batch (e.g. 重庆市安盛劳务派遣有限公司, 重庆人才服务中心).
    fn gen_foreign(rng: &mut XorShift) -> String {
        let mut s = String::from(rng.pick(PREFIXES));
        if rng.below(3) == 0 {
            s.push_str(rng.pick(DISTRICTS));
        }
        s.push_str(rng.pick(FOREIGN_CORES));
        s.push_str(rng.pick(FOREIGN_TRADES));
        s.push_str(rng.pick(&["有限公司", "中心", "有限责任公司"]));
        s
    }

    /// Key under which two names are variants of each other (and indistinguishable by design).
    fn equivalence_key(name: &str) -> String {
        canonical(&normalize(name)).into_iter().collect()
    }

    /// `count` names, pairwise not variants of each other.
    fn gen_names(rng: &mut XorShift, count: usize) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        while out.len() < count {
            let n = gen_name(rng);
            if seen.insert(equivalence_key(&n)) {
                out.push(n);
            }
        }
        out
    }

    /// A complete, confident reading of `text`.
    fn full(text: &str) -> Reading {
        let cs: Vec<char> = text.chars().collect();
        let n = cs.len() as f32;
        Reading {
            chars: cs
                .iter()
                .enumerate()
                .map(|(i, &ch)| ArcChar { ch, pos: (i as f32 + 0.5) / n, conf: 0.9 })
                .collect(),
            confidence: 0.9,
        }
    }

    /// The characters of `text` at the given indices, confident.
    fn partial(text: &str, keep: &[usize]) -> Reading {
        let mut r = full(text);
        r.chars = keep.iter().filter_map(|&i| r.chars.get(i).cloned()).collect();
        r
    }

    /// A simulated partial reading and what went into it.
    struct Noisy {
        reading: Reading,
        /// characters substituted
        subs: usize,
        /// correctly read distinctive characters
        distinct_ok: usize,
        /// correctly read characters with their positions
        correct: Vec<(char, f32)>,
    }

    impl Noisy {
        /// Whether a careful human could still tell unit `j` of `names` from the reading
        /// alone: at least two correct distinctive characters, at most one substitution, and
        /// no other unit has the correctly read distinctive characters at about the same places.
        fn clean(&self, j: usize, names: &[String]) -> bool {
            let fits = |name: &str| {
                let cs: Vec<char> = name.chars().collect();
                let n = cs.len() as f32;
                self.correct.iter().filter(|(c, _)| !is_generic(*c)).all(|&(c, p)| {
                    let e = p * n - 0.5;
                    cs.iter().enumerate().any(|(i, &x)| x == c && (i as f32 - e).abs() <= POS_TOL)
                })
            };
            self.distinct_ok >= 2
                && self.subs <= 1
                && !names.iter().enumerate().any(|(m, name)| m != j && fits(name))
        }
    }

    /// Keeps half of the characters (randomly), substitutes ~10 % of them by a look-alike or
    /// a random CJK character, jitters positions by ±0.2 character.
    fn noisy_info(rng: &mut XorShift, text: &str) -> Noisy {
        let cs: Vec<char> = text.chars().collect();
        let n = cs.len();
        let mut idx: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = rng.below(i + 1);
            idx.swap(i, j);
        }
        idx.truncate(n / 2);
        idx.sort_unstable();
        let (mut subs, mut distinct_ok) = (0, 0);
        let mut correct = Vec::new();
        let mut chars = Vec::new();
        for i in idx {
            let mut ch = cs[i];
            let mut conf = rng.range(0.55, 0.97);
            if rng.unit() < 0.10 {
                subs += 1;
                conf = rng.range(0.35, 0.85);
                ch = match CONFUSIONS.iter().find(|(a, b)| *a == ch || *b == ch) {
                    Some(&(a, b)) if rng.below(3) > 0 => {
                        if a == ch {
                            b
                        } else {
                            a
                        }
                    }
                    _ => char::from_u32(0x4E00 + rng.below(0x51A6) as u32).unwrap_or('口'),
                };
            } else if !is_generic(ch) {
                distinct_ok += 1;
            }
            let pos = ((i as f32 + 0.5 + rng.range(-0.2, 0.2)) / n as f32).clamp(0.0, 1.0);
            if ch == cs[i] {
                correct.push((ch, pos));
            }
            chars.push(ArcChar { ch, pos, conf });
        }
        let confidence = chars.iter().map(|c| c.conf).sum::<f32>() / chars.len().max(1) as f32;
        Noisy { reading: Reading { chars, confidence }, subs, distinct_ok, correct }
    }

    fn noisy(rng: &mut XorShift, text: &str) -> Reading {
        noisy_info(rng, text).reading
    }

    /// A reading of a wrong radius / direction: random characters, mostly unconfident.
    fn junk(rng: &mut XorShift) -> Reading {
        let n = 4 + rng.below(8);
        let chars: Vec<ArcChar> = (0..n)
            .map(|i| ArcChar {
                ch: char::from_u32(0x4E00 + rng.below(0x51A6) as u32).unwrap_or('口'),
                pos: (i as f32 + 0.5) / n as f32,
                conf: rng.range(0.2, 0.65),
            })
            .collect();
        Reading { chars, confidence: 0.4 }
    }

    const OWN: &str = "重庆长江建设工程有限公司";
    const PARENT: &str = "重庆长江建设工程有限公司";
    const BRANCH: &str = "重庆长江建设工程有限公司长寿分公司";

    fn is_match(v: &Verdict) -> bool {
        matches!(v, Verdict::Matches { .. })
    }

    #[test]
    fn text_is_in_position_order() {
        let r = Reading {
            chars: vec![
                ArcChar { ch: '庆', pos: 0.6, conf: 1.0 },
                ArcChar { ch: '重', pos: 0.1, conf: 1.0 },
                ArcChar { ch: 'x', pos: f32::NAN, conf: 1.0 },
            ],
            confidence: 1.0,
        };
        assert_eq!(r.text(), "重庆x");
    }

    #[test]
    fn misread_distinctive_characters_name_no_other_unit() {
        // the applicant's distinctive 鑫鼎 misread, the trade read well: it fits a unit of the
        // same trade as well as the applicant, with nothing read that only that unit has
        let r = full("重庆夺网工业互联网有腿公局");
        let v = decide(&[r], "重庆鑫鼎工业互联网有限公司", &["重庆市九成工业互联网有限公司"]);
        assert!(!matches!(v, Verdict::Mismatch { other: Some(_), .. }), "{v:?}");
    }

    #[test]
    fn a_glyph_the_readings_disagree_on_is_no_evidence() {
        // 园 misread differently by each reading; the rest read alike
        let rs: Vec<Reading> = ["重庆市昌林协会", "重庆市吕林协会", "重庆市号林协会"].iter().map(|t| full(t)).collect();
        let v = decide(&rs, "重庆市园林协会", &["重庆市渝州机械有限公司", "重庆长江建设工程有限公司"]);
        assert!(is_match(&v), "{v:?}");
        // the same misread in every reading stays evidence
        let rs: Vec<Reading> = ["重庆市竹林协会", "重庆市竹林协会"].iter().map(|t| full(t)).collect();
        let v = decide(&rs, "重庆市园林协会", &["重庆市竹林协会"]);
        assert!(!is_match(&v), "{v:?}");
    }

    #[test]
    fn evidence_for_both_names_is_not_a_mismatch() {
        // 眼 read as 服 in every reading: 服 fits a unit of the batch, 镜 only the applicant
        let rs: Vec<Reading> = ["重庆市服镜学会", "重庆市服镜学会"].iter().map(|t| full(t)).collect();
        let v = decide(&rs, "重庆市眼镜学会", &["重庆市养老服务学会"]);
        assert!(!matches!(v, Verdict::Mismatch { other: Some(_), .. }), "{v:?}");
    }

    #[test]
    fn evidence_in_any_reading_counts() {
        // 眼镜 read 服锁 once and 服镜 twice: 镜 only the applicant has, in two readings
        let rs: Vec<Reading> = ["重庆市服锁学会", "重庆市服镜学会", "重庆市服镜学会"].iter().map(|t| full(t)).collect();
        let v = decide(&rs, "重庆市眼镜学会", &["重庆市养老服务学会"]);
        assert!(!matches!(v, Verdict::Mismatch { other: Some(_), .. }), "{v:?}");
    }

    #[test]
    fn full_reading_matches() {
        assert!(score(&full(OWN), OWN) > 0.95);
        let v = decide(&[full(OWN)], OWN, &["重庆渝州机械有限公司", OWN]);
        assert!(is_match(&v), "{v:?}");
    }

    #[test]
    fn partial_reading_matches() {
        // every other character, one look-alike
        let mut r = partial(OWN, &[0, 2, 4, 6, 7, 9, 11]);
        r.chars[2].ch = '没';
        let v = decide(&[r], OWN, &["重庆渝州机械有限公司", "重庆长江物流有限公司"]);
        assert!(is_match(&v), "{v:?}");
    }

    #[test]
    fn name_normalisation_and_variants() {
        let r = full("重庆长江建设工程有限公司");
        assert!(score(&r, "重庆市长江建设工程有限公司") > 0.9);
        assert!(score(&r, "重庆长江建设工程有限责任公司") > 0.9);
        assert!(score(&r, " 重庆（长江）建设工程 (有限) 公司 ") > 0.95);
        assert!(score(&full("重庆长江建设工程股份有限公司"), OWN) > 0.9);
        // wrong order / positions do not fit
        assert!(score(&full("公司有限工程建设长江重庆"), OWN) < 0.3);
    }

    #[test]
    fn limited_vs_limited_liability() {
        let a = "重庆渝州机械有限公司";
        let b = "重庆渝州机械有限责任公司";
        assert!(is_match(&decide(&[full(b)], a, &[])));
        assert!(is_match(&decide(&[full(a)], b, &[])));
        assert!(is_match(&decide(&[partial(b, &[0, 2, 3, 5, 7, 9, 11])], a, &[])));
        assert!(is_match(&decide(&[partial(a, &[0, 2, 3, 5, 7, 9])], b, &[])));
    }

    #[test]
    fn another_batch_unit() {
        let others = ["重庆渝州机械有限公司", OWN, "重庆长江物流有限公司", "重庆市两江电子科技有限公司"];
        let v = decide(&[full("重庆长江物流有限公司")], OWN, &others);
        assert!(matches!(v, Verdict::Mismatch { other: Some(2), .. }), "{v:?}");
        let v = decide(&[partial("重庆市两江电子科技有限公司", &[0, 3, 4, 6, 8, 10, 12])], OWN, &others);
        assert!(matches!(v, Verdict::Mismatch { other: Some(3), .. }), "{v:?}");
    }

    #[test]
    fn parent_seal_on_branch_form() {
        for others in [&[PARENT, "重庆渝州机械有限公司"][..], &["重庆渝州机械有限公司"][..]] {
            let v = decide(&[full(PARENT)], BRANCH, others);
            assert!(matches!(v, Verdict::Mismatch { .. }), "{v:?}");
            // 重 长 设 程 限 公 司: 有限公司 at pos ≈ 0.67..1 where the branch has 长寿分公司
            let r = partial(PARENT, &[0, 2, 5, 7, 9, 10, 11]);
            let v = decide(&[r], BRANCH, others);
            assert!(matches!(v, Verdict::Mismatch { .. }), "{v:?}");
        }
        let v = decide(&[partial(PARENT, &[0, 2, 5, 7, 9, 10, 11])], BRANCH, &[PARENT]);
        assert!(matches!(v, Verdict::Mismatch { other: Some(0), .. }), "{v:?}");
    }

    #[test]
    fn branch_seal_on_parent_form() {
        for others in [&[BRANCH][..], &[][..]] {
            let v = decide(&[full(BRANCH)], PARENT, others);
            assert!(matches!(v, Verdict::Mismatch { .. }), "{v:?}");
            let r = partial(BRANCH, &[0, 2, 4, 6, 8, 10, 12, 13, 14, 16]);
            let v = decide(&[r], PARENT, others);
            assert!(matches!(v, Verdict::Mismatch { .. }), "{v:?}");
        }
    }

    #[test]
    fn agency_not_in_batch() {
        let others = ["重庆渝州机械有限公司", "重庆长江物流有限公司"];
        for seal in ["重庆人才服务中心", "重庆市鼎盛人力资源服务有限公司"] {
            let v = decide(&[full(seal)], OWN, &others);
            assert!(matches!(v, Verdict::Mismatch { other: None, .. }), "{seal}: {v:?}");
        }
    }

    #[test]
    fn unreadable_readings() {
        assert_eq!(decide(&[], OWN, &[]), Verdict::Unreadable);
        assert_eq!(decide(&[Reading::default()], OWN, &[]), Verdict::Unreadable);
        // two confident characters only
        let mut r = partial(OWN, &[2, 3, 5, 8]);
        r.chars[2].conf = 0.3;
        r.chars[3].conf = 0.2;
        assert_eq!(decide(&[r], OWN, &[]), Verdict::Unreadable);
        // only generic characters
        let r = partial(OWN, &[0, 1, 8, 9, 10, 11]);
        assert_eq!(decide(&[r], OWN, &["重庆渝州机械有限公司"]), Verdict::Unreadable);
        // non-CJK garbage
        let r = full("|||...  ");
        assert_eq!(decide(&[r], OWN, &[]), Verdict::Unreadable);
    }

    #[test]
    fn never_matches_on_generic_chars_only() {
        // generic chars of own plus distinctive chars that do not fit
        let r = Reading {
            chars: vec![
                ArcChar { ch: '重', pos: 0.04, conf: 0.9 },
                ArcChar { ch: '庆', pos: 0.12, conf: 0.9 },
                ArcChar { ch: '龙', pos: 0.3, conf: 0.6 },
                ArcChar { ch: '有', pos: 0.71, conf: 0.9 },
                ArcChar { ch: '限', pos: 0.79, conf: 0.9 },
                ArcChar { ch: '公', pos: 0.88, conf: 0.9 },
                ArcChar { ch: '司', pos: 0.96, conf: 0.9 },
            ],
            confidence: 0.86,
        };
        assert!(!is_match(&decide(&[r], OWN, &[])));
        // one distinctive char is not enough when another batch unit fits as well
        let r = partial(OWN, &[0, 1, 2, 8, 9, 10, 11]);
        assert!(!is_match(&decide(&[r], OWN, &["重庆长安汽车配件有限公司"])));
    }

    #[test]
    fn best_supported_candidate_wins() {
        let mut rng = XorShift(7);
        let junk: Vec<ArcChar> = (0..8)
            .map(|i| ArcChar {
                ch: char::from_u32(0x4E00 + rng.below(0x51A6) as u32).unwrap_or('口'),
                pos: (i as f32 + 0.5) / 8.0,
                conf: 0.6,
            })
            .collect();
        let junk = Reading { chars: junk, confidence: 0.6 };
        let good = partial(OWN, &[0, 2, 4, 6, 7, 9, 11]);
        let v = decide(&[junk.clone(), good, Reading::default()], OWN, &["重庆渝州机械有限公司"]);
        assert!(is_match(&v), "{v:?}");
    }

    #[test]
    fn no_panic_on_odd_input() {
        let huge: String = "重庆长江建设工程有限公司".repeat(10_000);
        let r = full(&huge);
        let odd = Reading {
            chars: vec![
                ArcChar { ch: '重', pos: f32::NAN, conf: f32::NAN },
                ArcChar { ch: '庆', pos: f32::INFINITY, conf: -3.0 },
                ArcChar { ch: '长', pos: -1.0, conf: 7.0 },
                ArcChar { ch: '（', pos: 0.5, conf: 1.0 },
            ],
            confidence: f32::NAN,
        };
        let others = [huge.as_str(), "", " ", "（）", "abc"];
        for reading in [r.clone(), odd.clone(), Reading::default(), full("ABC 123")] {
            for own in ["", " ", huge.as_str(), OWN, "（）"] {
                let _ = decide(std::slice::from_ref(&reading), own, &others);
                let s = score(&reading, own);
                assert!((0.0..=1.0).contains(&s), "{s}");
            }
        }
    }

    /// Randomized test: partial noisy readings of own → Matches; of another batch unit →
    /// Mismatch with that unit's index.
    #[test]
    fn randomized_own_and_other() {
        let mut rng = XorShift(0x5eed_1234_abcd_0001);
        let names = gen_names(&mut rng, 200);
        let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        let trials = names.len();

        // [single reading, single clean reading, three candidates]: (trials, correct)
        let mut own = [(0, 0); 3];
        let mut other = [(0, 0); 3];
        let mut wrong = 0; // own reading → Mismatch, other reading → Matches or wrong unit
        let mut misses = Vec::new();
        for t in 0..trials {
            // the applicant's own seal
            let a = noisy_info(&mut rng, &names[t]);
            let v = decide(std::slice::from_ref(&a.reading), &names[t], &refs);
            let ok = is_match(&v);
            if matches!(v, Verdict::Mismatch { .. }) {
                wrong += 1;
                misses.push(format!("WRONG own {} <- {} : {v:?}", names[t], a.reading.text()));
            }
            own[0].0 += 1;
            own[0].1 += usize::from(ok);
            if a.clean(t, &names) {
                own[1].0 += 1;
                own[1].1 += usize::from(ok);
                if !ok {
                    misses.push(format!("clean miss: own {} <- {} : {v:?}", names[t], a.reading.text()));
                }
            }
            let cands = [a.reading, noisy(&mut rng, &names[t]), junk(&mut rng)];
            let v = decide(&cands, &names[t], &refs);
            own[2].0 += 1;
            own[2].1 += usize::from(is_match(&v));
            if matches!(v, Verdict::Mismatch { .. }) {
                wrong += 1;
                let texts: Vec<String> = cands.iter().map(Reading::text).collect();
                misses.push(format!("WRONG own {} <- {texts:?} : {v:?}", names[t]));
            }

            // another batch unit's seal
            let j = (t + 1 + rng.below(trials - 1)) % trials;
            let ok = |v: &Verdict| matches!(v, Verdict::Mismatch { other: Some(k), .. } if *k == j);
            let bad = |v: &Verdict| {
                matches!(v, Verdict::Matches { .. })
                    || matches!(v, Verdict::Mismatch { other: Some(k), .. } if *k != j)
            };
            let b = noisy_info(&mut rng, &names[j]);
            let v = decide(std::slice::from_ref(&b.reading), &names[t], &refs);
            other[0].0 += 1;
            other[0].1 += usize::from(ok(&v));
            if bad(&v) {
                wrong += 1;
                misses.push(format!("WRONG other {} (seal {}) <- {} : {v:?}", names[t], names[j], b.reading.text()));
            }
            if b.clean(j, &names) {
                other[1].0 += 1;
                other[1].1 += usize::from(ok(&v));
                if !ok(&v) {
                    misses.push(format!("clean miss: other {} (seal {}) <- {} : {v:?}", names[t], names[j], b.reading.text()));
                }
            }
            let cands = [junk(&mut rng), b.reading, noisy(&mut rng, &names[j])];
            let v = decide(&cands, &names[t], &refs);
            other[2].0 += 1;
            other[2].1 += usize::from(ok(&v));
            if bad(&v) {
                wrong += 1;
                let texts: Vec<String> = cands.iter().map(Reading::text).collect();
                misses.push(format!("WRONG other {} (seal {}) <- {texts:?} : {v:?}", names[t], names[j]));
            }
        }

        let pct = |(n, k): (usize, usize)| 100.0 * k as f32 / n.max(1) as f32;
        for (label, r) in [("own readings → Matches", own), ("other readings → Mismatch(that unit)", other)] {
            println!(
                "{label}: single reading {:.1} % ({} trials), clean single reading {:.1} % ({} trials), \
                 3 candidates {:.1} %",
                pct(r[0]), r[0].0, pct(r[1]), r[1].0, pct(r[2])
            );
        }
        println!("wrong verdicts: {wrong} of {}", 4 * trials);
        for m in &misses {
            println!("  {m}");
        }
        // Thresholds a little below the measured values (see the module notes on why a single
        // noisy reading cannot reach 97 % overall).
        assert!(pct(own[0]) >= 85.0 && pct(own[1]) >= 97.0 && pct(own[2]) >= 95.0, "{own:?}");
        assert!(pct(other[0]) >= 75.0 && pct(other[1]) >= 97.0 && pct(other[2]) >= 90.0, "{other:?}");
        assert!(wrong <= 4 * trials / 100, "{wrong} wrong verdicts");
    }

    /// Randomized test: parent seal on a branch form and vice versa → never Matches, and
    /// mostly Mismatch; parent in the batch → identified.
    #[test]
    fn randomized_parent_branch() {
        let mut rng = XorShift(0xb4a9_c0de_0000_0042);
        let parents: Vec<String> = gen_names(&mut rng, 300)
            .into_iter()
            .filter(|n| n.ends_with("公司"))
            .take(100)
            .collect();
        let branch_of = |p: &str, rng: &mut XorShift| {
            let d = rng.pick(DISTRICTS);
            let d: String = d.chars().take(d.chars().count() - 1).collect();
            format!("{p}{d}分公司")
        };
        let batch = ["重庆渝州机械有限公司", "重庆市两江电子科技有限公司"];
        let (mut matched, mut mismatch, mut identified, mut total) = (0, 0, 0, 0);
        for p in &parents {
            let b = branch_of(p, &mut rng);
            for (own, seal) in [(b.as_str(), p.as_str()), (p.as_str(), b.as_str())] {
                total += 1;
                let v = decide(&[noisy(&mut rng, seal)], own, &batch);
                match v {
                    Verdict::Matches { .. } => matched += 1,
                    Verdict::Mismatch { .. } => mismatch += 1,
                    Verdict::Unreadable => {}
                }
                let mut with_seal: Vec<&str> = batch.to_vec();
                with_seal.push(seal);
                let v = decide(&[noisy(&mut rng, seal)], own, &with_seal);
                if matches!(v, Verdict::Mismatch { other: Some(2), .. }) {
                    identified += 1;
                }
            }
        }
        println!(
            "parent/branch: Matches {matched}/{total}, Mismatch (not in batch) {mismatch}/{total}, \
             identified (in batch) {identified}/{total}"
        );
        assert!(matched as f32 <= 0.01 * total as f32);
        assert!(mismatch as f32 >= 0.75 * total as f32);
        assert!(identified as f32 >= 0.9 * total as f32);
    }

    /// Randomized test: agencies outside the batch read well → Mismatch { other: None }.
    #[test]
    fn randomized_foreign() {
        let mut rng = XorShift(0xf0e1_d2c3_b4a5_9687);
        let batch = gen_names(&mut rng, 200);
        let refs: Vec<&str> = batch.iter().map(|s| s.as_str()).collect();
        let (mut none_full, mut none_partial, mut matched) = (0, 0, 0);
        for own in &batch {
            let seal = gen_foreign(&mut rng);
            for (reading, count) in [(full(&seal), &mut none_full), (noisy(&mut rng, &seal), &mut none_partial)] {
                match decide(&[reading], own, &refs) {
                    Verdict::Mismatch { other: None, .. } => *count += 1,
                    Verdict::Matches { .. } => matched += 1,
                    _ => {}
                }
            }
        }
        println!(
            "foreign seals: full reading → Mismatch(None) {none_full}/200, partial → {none_partial}/200, \
             Matches {matched}/400"
        );
        assert_eq!(matched, 0);
        assert!(none_full >= 190);
    }

    /// Timing: 200 decisions against 2000 batch names (no assertion on time).
    #[test]
    fn timing_2000_others() {
        let mut rng = XorShift(0x7177_0000_0000_0003);
        let names = gen_names(&mut rng, 2000);
        let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        // (label, cases): the applicant's own seal read once; another unit's seal read on two
        // radii plus a junk candidate (the slow path: every candidate scans the others).
        let own_cases: Vec<(usize, Vec<Reading>)> = (0..200)
            .map(|_| {
                let own = rng.below(names.len());
                (own, vec![noisy(&mut rng, &names[own])])
            })
            .collect();
        let other_cases: Vec<(usize, Vec<Reading>)> = (0..200)
            .map(|_| {
                let own = rng.below(names.len());
                let seal = rng.below(names.len());
                let readings = vec![noisy(&mut rng, &names[seal]), noisy(&mut rng, &names[seal]), junk(&mut rng)];
                (own, readings)
            })
            .collect();
        for (label, cases) in [("own seal, 1 reading", &own_cases), ("other seal, 3 readings", &other_cases)] {
            let start = Instant::now();
            let mut counts = [0usize; 3];
            for (own, readings) in cases.iter() {
                match decide(readings, &names[*own], &refs) {
                    Verdict::Matches { .. } => counts[0] += 1,
                    Verdict::Mismatch { .. } => counts[1] += 1,
                    Verdict::Unreadable => counts[2] += 1,
                }
            }
            let el = start.elapsed();
            println!(
                "decide × 200 vs 2000 others ({label}): {el:?} total, {:.1} µs per call \
                 (Matches/Mismatch/Unreadable = {counts:?})",
                el.as_secs_f64() * 1e6 / 200.0,
            );
        }
    }
}
