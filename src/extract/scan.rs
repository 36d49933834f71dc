//! Scanned pages: page image → OCR → positioned lines for the same field extractor as the
//! text layer. Ruled table cells are recognised one by one (each cell is one chunk, as a
//! text layer's cell would be); the text outside the tables is read strip by strip
//! ([`super::bands`]).

use image::{DynamicImage, GrayImage};

use crate::config::Pipeline;
use crate::model::{field_kind, Kind};
use crate::ocr::{self, Grid, OcrError, PrepOptions, Psm, Rect};

use super::layout::{Chunk, Line};
use super::form::ocr_label;
use super::normalize::normalize;

/// The characters a value of this kind can hold, for a second, restricted recognition of a
/// cell whose first reading does not make a valid value.
fn whitelist(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Phone => Some("0123456789-()"),
        Kind::Code => Some("0123456789ABCDEFGHJKLMNPQRTUWXY-"),
        Kind::OccupationCode => Some("0123456789-"),
        Kind::Date => Some("0123456789年月日至-/."),
        Kind::Int | Kind::Number => Some("0123456789."),
        _ => None,
    }
}

/// Whether a reading is acceptable as a value of its kind (codes: a valid check character).
pub(super) fn acceptable(key: &str, kind: Kind, text: &str) -> bool {
    // a paper-era 竞赛时间 cell holds the whole period
    if kind == Kind::Date && super::normalize::parse_date_range(text).is_some() {
        return true;
    }
    match normalize(kind, text) {
        Ok(Some(v)) => match key {
            "credit_code" => {
                let c = v.to_string();
                crate::codes::validate_credit_code(&c).is_ok() || crate::codes::validate_org_code(&c).is_ok()
            }
            // an occupation code as the catalogues print it: 4-04-05 (or 4-04-05-01)
            "occupation_code" => {
                let groups: Vec<usize> = v.to_string().split('-').map(str::len).collect();
                groups.len() >= 3 && groups[0] == 1 && groups[1..].iter().all(|&n| n == 2)
            }
            _ => true,
        },
        _ => false,
    }
}

/// Whether a reading has a code's length (18, or an organisation code's 9), so that one slip
/// in it can be put right by its check character.
fn code_length(text: &str) -> bool {
    let n = super::normalize::clean_code(text).chars().filter(|c| *c != '-').count();
    n == 18 || n == 9
}

/// Points per pixel at `dpi`.
pub(super) fn pt(dpi: f32) -> f32 {
    72.0 / dpi.max(1.0)
}

/// A small greyscale copy of a page as it was recognised (straightened, deskewed), for the
/// crops of doubtful values in the HTML report.
pub struct PageThumb {
    pub page: u32,
    pub image: GrayImage,
    /// thumbnail pixels per point of the page coordinates the lines use
    pub px_per_pt: f32,
}

/// Resolution of the page thumbnails (enough to read 10-pt Chinese in a crop).
const THUMB_DPI: f32 = 150.0;

/// Lines of one scanned page, in reading order, coordinates in points, and the page's
/// thumbnail.
pub fn page_lines(p: &Pipeline, img: &DynamicImage, page: u32, dpi: f32) -> Result<(Vec<Line>, PageThumb), OcrError> {
    // a phone photo: the page straightened first (then it fills the image: A4 is 8.27 in wide)
    let rectified = ocr::prep::rectify_photo(img);
    let (img, dpi) = match &rectified {
        Some(r) => (r, r.width() as f32 / 8.27),
        None => (img, dpi),
    };
    let prep = ocr::prepare(img, &PrepOptions::default());
    let binary = prep.binary.as_ref().unwrap_or(&prep.gray);
    let grid = ocr::find_grid(binary);
    // the tables and the text around them are read as two tasks: a worker with nothing else
    // to do (the batch's last page) takes one
    let read = |part: &(dyn Fn(&mut ocr::OcrEngine) -> Result<Vec<Line>, OcrError> + Sync)| {
        ocr::with_engine(|eng| {
            eng.set_dpi(dpi.round() as u32);
            // the batch's forms repeat their print: readings of the same print are reused
            eng.set_memo(true);
            let lines = part(eng);
            eng.set_memo(false);
            lines
        })?
    };
    let (tables, bands) = rayon::join(
        || read(&|eng| table_lines(p, eng, &prep.gray, &grid, page, dpi)),
        || read(&|eng| super::bands::band_lines(p, eng, &prep.gray, &grid, page, dpi)),
    );
    let mut lines = tables?;
    lines.extend(bands?);
    lines.sort_by(|a, b| a.y.total_cmp(&b.y));
    // whole-pixel block means: a 300-dpi page → 150 dpi
    let k = (dpi / THUMB_DPI).round().max(1.0) as u32;
    let image = ocr::prep::small_gray(&DynamicImage::ImageLuma8(prep.gray), k);
    Ok((lines, PageThumb { page, image, px_per_pt: dpi / k as f32 / 72.0 }))
}

/// Pages of one document kept for crops at most (a declaration has a few; a 50-page TIFF
/// does not keep 50 thumbnails).
pub const MAX_THUMBS: usize = 8;

/// Puts a crop of the page beside every OCR'd value read below the pipeline's confidence
/// threshold, so a reviewer sees what the recogniser saw.
pub fn attach_crops(p: &Pipeline, e: &mut crate::model::Extracted, thumbs: &[PageThumb]) {
    let threshold = p.rules.low_confidence.threshold;
    let fields = e.fields.values_mut().chain(e.items.iter_mut().flat_map(|i| i.fields.values_mut()));
    for f in fields {
        let prov = &mut f.prov;
        if prov.method != crate::model::Method::Ocr || prov.confidence >= threshold {
            continue;
        }
        let (Some(b), Some(page)) = (prov.bbox, prov.page) else { continue };
        let Some(t) = thumbs.iter().find(|t| t.page == page) else { continue };
        prov.crop_png = crop_png(t, b);
    }
}

/// A PNG of the thumbnail around a box (points), with a margin, at most 480 px wide.
fn crop_png(t: &PageThumb, b: [f32; 4]) -> Vec<u8> {
    let margin = 4.0;
    let px = |v: f32, hi: u32| ((v * t.px_per_pt).round().max(0.0) as u32).min(hi);
    let (w, h) = t.image.dimensions();
    let (x0, y0) = (px(b[0] - margin, w), px(b[1] - margin, h));
    let (x1, y1) = (px(b[2] + margin, w), px(b[3] + margin, h));
    if x1 <= x0 + 2 || y1 <= y0 + 2 {
        return Vec::new();
    }
    // a value is a line or two: a taller box is cut to its top
    let (x1, y1) = (x1.min(x0 + 480), y1.min(y0 + 160));
    let crop = image::imageops::crop_imm(&t.image, x0, y0, x1 - x0, y1 - y0).to_image();
    // 16 grey levels, two pixels a byte: print stays legible and a crop is a few KB (a
    // report of thousands of scans carries thousands of them)
    let (cw, ch) = crop.dimensions();
    let mut packed = Vec::with_capacity(((cw as usize + 1) / 2) * ch as usize);
    for row in crop.as_raw().chunks(cw as usize) {
        for pair in row.chunks(2) {
            let hi = pair[0] >> 4;
            let lo = pair.get(1).map_or(0, |v| v >> 4);
            packed.push(hi << 4 | lo);
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, cw, ch);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Four);
    enc.set_compression(png::Compression::High);
    let written = enc.write_header().and_then(|mut w| w.write_image_data(&packed));
    match written {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// One line per table row; one chunk per non-empty cell. A cell to the right of a label, or
/// under an item-table header, whose reading is no valid value of its field is read again
/// with the characters that field allows, and the better reading kept.
fn table_lines(p: &Pipeline, eng: &mut ocr::OcrEngine, gray: &GrayImage, grid: &Grid, page: u32, dpi: f32) -> Result<Vec<Line>, OcrError> {
    let k = pt(dpi);
    let mut lines: Vec<Line> = Vec::new();
    // the item table's columns: (x0, x1, field) from its header row
    let mut columns: Vec<(u32, u32, String)> = Vec::new();
    for row in grid.rows() {
        let mut chunks = Vec::new();
        let mut y = 0.0f32;
        let mut top = f32::MAX;
        let mut size = 0.0f32;
        let mut pending: Option<String> = None;
        let mut header: Vec<(u32, u32, String)> = Vec::new();
        for cell in row {
            let r = cell.rect.inset(2);
            if r.is_empty() {
                continue;
            }
            let column = columns
                .iter()
                .find(|(x0, x1, _)| (r.x0 + r.x1) / 2 >= *x0 && (r.x0 + r.x1) / 2 <= *x1)
                .map(|(_, _, key)| key.clone());
            let expected = pending.as_ref().or(column.as_ref());
            let (mut text, mut conf) = wrapped_reading(eng, gray, r, expected.map(String::as_str), dpi)?;
            let label = ocr_label(p, &text);
            if let Some(key) = &label {
                header.push((r.x0, r.x1, key.clone()));
            }
            let field = match (&label, pending.take()) {
                (Some(_), _) => None,
                (None, Some(key)) => Some(key),
                (None, None) => column,
            };
            if let Some(key) = &field {
                (text, conf) = checked_value(eng, gray, r, key, text, conf)?;
            }
            pending = label;
            let text = text.trim().to_string();
            if text.is_empty() {
                continue;
            }
            chunks.push(Chunk { text, x0: r.x0 as f32 * k, x1: r.x1 as f32 * k, conf });
            y = y.max(r.y1 as f32 * k);
            top = top.min(r.y0 as f32 * k);
            size = size.max((r.height() as f32 * k).min(14.0));
        }
        // a row of three or more item labels is the item table's header
        if header.iter().filter(|(_, _, key)| crate::model::is_item_field(key)).count() >= 3 {
            columns = header;
        }
        if !chunks.is_empty() {
            lines.push(Line { page, y, size: size.max(6.0), top, chunks, ruled: true });
        }
    }
    Ok(lines)
}

/// The lines of print in a cell, top to bottom: a cell that wraps (`4-04-` / `05`, `黔江` /
/// `区`, `竞赛职业（工` / `种）`) holds two or three. Runs of inked rows a text line high, inside
/// the rules that bound the cell.
pub(super) fn print_lines(gray: &GrayImage, r: Rect, dpi: f32) -> Vec<Rect> {
    let mm = dpi / 25.4;
    let inner = r.inset((0.6 * mm).round() as u32);
    if inner.is_empty() {
        return Vec::new();
    }
    lines_of_print(gray, inner, mm, 7.0)
}

/// The runs of inked rows of `r` at least a small character high (1.5 mm) and at most `max_mm`,
/// each as wide as `r`.
pub(super) fn lines_of_print(gray: &GrayImage, r: Rect, mm: f32, max_mm: f32) -> Vec<Rect> {
    super::bands::ink_runs(gray, r, mm, 128)
        .into_iter()
        .filter(|(_, (a, b))| (b - a) as f32 >= 1.5 * mm && (b - a) as f32 <= max_mm * mm)
        .map(|(line, _)| Rect::new(r.x0, line.y0, r.x1, line.y1))
        .collect()
}

/// A cell's first reading: a cell of one line as [`first_reading`] reads it, a wrapped cell
/// line by line, the lines joined (Chinese and codes wrap with no space between).
pub(super) fn wrapped_reading(eng: &mut ocr::OcrEngine, gray: &GrayImage, r: Rect, expected: Option<&str>, dpi: f32) -> Result<(String, f32), OcrError> {
    let lines = print_lines(gray, r, dpi);
    if lines.len() < 2 || lines.len() > 4 {
        return first_reading(eng, gray, r, expected);
    }
    let mut parts: Vec<String> = Vec::new();
    let mut conf = 1.0f32;
    for l in lines {
        let (t, c) = first_reading(eng, gray, l, expected)?;
        let t = t.trim();
        if !t.is_empty() {
            parts.push(t.to_string());
            conf = conf.min(c);
        }
    }
    if parts.is_empty() {
        return first_reading(eng, gray, r, expected);
    }
    let text = parts.concat();
    // a code's line read with its characters loses the hyphen it ends with (`6-29-` / `01`):
    // put back where that alone makes the value
    if let Some(key) = expected {
        let kind = field_kind(key).unwrap_or(Kind::Text);
        if !acceptable(key, kind, &text) {
            for i in 1..parts.len() {
                let joined = format!("{}-{}", parts[..i].concat(), parts[i..].concat());
                let digits = parts[i - 1].ends_with(|c: char| c.is_ascii_digit()) && parts[i].starts_with(|c: char| c.is_ascii_digit());
                if digits && acceptable(key, kind, &joined) {
                    return Ok((joined, conf));
                }
            }
        }
    }
    Ok((text, conf))
}

/// A cell's first reading, `expected` the field its place says it holds. A code, phone or
/// number is read with its characters first; a cell that does not read as one (a label in an
/// item table's header row, which is label after label) is read again freely.
pub(super) fn first_reading(eng: &mut ocr::OcrEngine, gray: &GrayImage, r: Rect, expected: Option<&str>) -> Result<(String, f32), OcrError> {
    let expects = expected.map(|key| field_kind(key).unwrap_or(Kind::Text));
    if let (Some(key), Some(kind)) = (expected, expects) {
        if model(expects).is_none() && kind != Kind::Date {
            let (t, c) = read_line(eng, gray, r, None, whitelist(kind))?;
            if acceptable(key, kind, &t) {
                return Ok((t, c));
            }
        }
    }
    read_cell(eng, gray, r, expects)
}

/// The value of field `key` in region `r`, read as a table cell holding it is: its first
/// reading, then [`checked_value`].
pub(super) fn read_value(eng: &mut ocr::OcrEngine, gray: &GrayImage, r: Rect, key: &str) -> Result<(String, f32), OcrError> {
    let (text, conf) = first_reading(eng, gray, r, Some(key))?;
    checked_value(eng, gray, r, key, text, conf)
}

/// A value's reading, read again where it does not make a value of its field's kind: a
/// date's digits on their own (see [`date_digits`]), then the whole region in the models and
/// with the characters of [`rereads`], until one reading is acceptable. The first reading
/// stays when no other is.
pub(super) fn checked_value(eng: &mut ocr::OcrEngine, gray: &GrayImage, r: Rect, key: &str, mut text: String, mut conf: f32) -> Result<(String, f32), OcrError> {
    let Some(kind) = field_kind(key) else {
        return Ok((text, conf));
    };
    if kind == Kind::Date {
        if let Some(better) = date_digits(eng, gray, r, &text)? {
            (text, conf) = better;
        }
    }
    if text.trim().is_empty() || acceptable(key, kind, &text) {
        return Ok((text, conf));
    }
    for (lang, allowed) in rereads(kind) {
        let (t2, c2) = read_line(eng, gray, r, lang, allowed)?;
        if acceptable(key, kind, &t2) {
            return Ok((t2, c2));
        }
        if key == "credit_code" && code_length(&t2) && !code_length(&text) {
            (text, conf) = (t2, c2);
        }
    }
    Ok((text, conf))
}

/// A region read as one line in a model set (`None`: the configured one), restricted to the
/// `allowed` characters. A hyphen is allowed inside codes (`XXXXXXXX-X`, `BY2024-0001`),
/// never at their ends: a restricted reading is trimmed of them.
fn read_line(eng: &mut ocr::OcrEngine, gray: &GrayImage, r: Rect, lang: Option<&str>, allowed: Option<&str>) -> Result<(String, f32), OcrError> {
    use_model(eng, lang)?;
    let read = eng.recognise_region(gray, r, Psm::PsmSingleLine, allowed);
    eng.reset_lang();
    let (text, conf) = read?;
    Ok(match allowed {
        Some(_) => (text.trim_matches('-').to_string(), conf),
        None => (text, conf),
    })
}

/// The readings tried, in order, for a value whose first reading is no valid value of its
/// kind: (model set, `None` for the configured one; characters allowed). A code, phone or
/// number in `eng` alone first: the two models together read what `chi_sim` makes of it when
/// `chi_sim` was the last model to read a region (915001035MAQT2WNR6U), `eng` alone reads
/// 91500103MAQT2WNR6U.
fn rereads(kind: Kind) -> Vec<(Option<&'static str>, Option<&'static str>)> {
    let Some(allowed) = whitelist(kind) else {
        return Vec::new();
    };
    match kind {
        Kind::Date => vec![(None, Some(allowed))],
        _ => vec![(Some(LATIN_ONLY), Some(allowed)), (None, Some(allowed))],
    }
}

/// A date cell's reading put right where its numbers have other lengths than the cell's
/// digit glyphs (`2024年8月1日` for 2024年8月10日): the digits read again on their own, as
/// digits. None when the reading agrees with the glyphs, the glyphs make no clear date, or
/// the second reading does not fit them either.
fn date_digits(eng: &mut ocr::OcrEngine, gray: &GrayImage, r: Rect, reading: &str) -> Result<Option<(String, f32)>, OcrError> {
    let crop = ocr::prep::crop(gray, r.x0, r.y0, r.x1.min(gray.width()), r.y1.min(gray.height()));
    let Some(glyphs) = ocr::dates::date_glyphs(&crop) else {
        return Ok(None);
    };
    if glyphs.agrees(reading) {
        return Ok(None);
    }
    let strip = glyphs.digit_strip(&crop);
    let (digits, conf) = read_line(eng, &strip, Rect::new(0, 0, strip.width(), strip.height()), Some(LATIN_ONLY), Some("0123456789 "))?;
    Ok(glyphs.from_digits(&digits).map(|t| (t, conf)))
}

/// The model set for digits alone.
const LATIN_ONLY: &str = "eng";

/// Line height (px) for the last reading of a cell that holds print but read as nothing.
const RETRY_TEXT_PX: u32 = 20;

/// The model set for cells that hold Chinese only.
const CJK_ONLY: &str = "chi_sim";

/// Whether a cell holds print: dark pixels enough for a few strokes across its height.
fn has_print(gray: &GrayImage, r: Rect) -> bool {
    // inside the rules that bound it
    let r = r.inset(r.height().min(r.width()) / 8 + 3);
    let mut dark = 0u32;
    for y in r.y0..r.y1.min(gray.height()) {
        for x in r.x0..r.x1.min(gray.width()) {
            dark += u32::from(gray.get_pixel(x, y).0[0] < 96);
        }
    }
    dark >= r.height() * 3
}

/// The model set a region is read with, from the kind of value it is expected to hold
/// (`None`: a label, or anything else in Chinese). Chinese alone reads Chinese faster and
/// better than `chi_sim+eng`, which takes some CJK glyphs for letters (赛事类别 → 赛事类ji,
/// 联系电话 → K AR HF if) and tries `eng` on every word `chi_sim` is unsure of. Codes,
/// phones, numbers and dates keep both (`None`: the configured set): `chi_sim` alone adds
/// digits (19887552343 → 198875523435), `eng` alone reads this print's 0 as 9 or @.
fn model(kind: Option<Kind>) -> Option<&'static str> {
    match kind {
        None | Some(Kind::Text) => Some(CJK_ONLY),
        Some(_) => None,
    }
}

/// Switches the engine to a model set (`None`: the configured one).
fn use_model(eng: &mut ocr::OcrEngine, lang: Option<&str>) -> Result<(), OcrError> {
    match lang {
        Some(l) => eng.set_lang(l),
        None => {
            eng.reset_lang();
            Ok(())
        }
    }
}

/// One table cell's reading (`expects`: the kind of value the cell's place says it holds;
/// `None` for a label or a cell of no known field), with the retries some cells need.
pub(super) fn read_cell(eng: &mut ocr::OcrEngine, gray: &GrayImage, r: Rect, expects: Option<Kind>) -> Result<(String, f32), OcrError> {
    use_model(eng, model(expects))?;
    let read = |eng: &mut ocr::OcrEngine, psm: Psm, px: Option<u32>| {
        let keep = eng.region_text_px();
        eng.set_region_text_px(px);
        let out = eng.recognise_region(gray, r, psm, None);
        eng.set_region_text_px(keep);
        out
    };
    let px = eng.region_text_px();
    let mut out = read(eng, Psm::PsmSingleBlock, px);
    // block segmentation finds nothing in some short cells that plainly hold print, and some
    // short words read only at a smaller size (梁平区 at 30 px reads as nothing, at 21 px right)
    if out.as_ref().is_ok_and(|(t, _)| t.trim().is_empty()) && has_print(gray, r) {
        for retry_px in [px, Some(RETRY_TEXT_PX)] {
            out = read(eng, Psm::PsmSingleLine, retry_px);
            if !out.as_ref().is_ok_and(|(t, _)| t.trim().is_empty()) {
                break;
            }
        }
    }
    eng.reset_lang();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::pdfgen::{Op, Page};
    use crate::samples::scan::{rasterise, PX_PER_PT};

    /// Ruled cells holding `texts` (10.5 pt, as on the forms), rendered at 300 dpi: the page in
    /// grey and each cell's rectangle in pixels.
    fn cells(texts: &[&str]) -> (GrayImage, Vec<Rect>) {
        let mut page = Page::default();
        let mut rects = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let (x, y, w, h) = (60.0, 700.0 - 40.0 * i as f32, 200.0, 24.0);
            page.ops.push(Op::Rect { x, y, w, h });
            page.ops.push(Op::Text { x: x + 6.0, y: y + 7.0, size: 10.5, s: t.to_string() });
            let px = |v: f32| (v * PX_PER_PT).round() as u32;
            let top = crate::samples::pdfgen::PAGE_H - y - h;
            rects.push(Rect::new(px(x), px(top), px(x + w), px(top + h)).inset(2));
        }
        let gray = DynamicImage::ImageRgb8(rasterise(&page).expect("scripts/setup.sh installs the fonts")).to_luma8();
        (gray, rects)
    }

    /// A date whose numbers were read with a digit dropped or 年月日 read as letters (what the
    /// fast chi_sim model does to `10日`) is put right from its glyphs, through real Tesseract;
    /// a reading that fits the glyphs is left alone.
    #[test]
    fn a_date_read_with_the_wrong_digits_is_read_again_from_its_glyphs() {
        let (gray, r) = cells(&["2024年8月10日", "2023年9月24日至10月1日", "2024年1月16日"]);
        ocr::with_engine(|eng| {
            let read = |eng: &mut ocr::OcrEngine, i: usize, key: &str, text: &str| checked_value(eng, &gray, r[i], key, text.into(), 0.8).unwrap().0;
            assert_eq!(read(eng, 0, "end_date", "2024年8月1日"), "2024年8月10日");
            assert_eq!(read(eng, 0, "end_date", "2024478 A108"), "2024年8月10日");
            assert_eq!(read(eng, 1, "start_date", "2023年9月24日至1月1日"), "2023年9月24日至10月1日");
            // a reading the glyphs agree with is not read again, even if a digit differs
            assert_eq!(read(eng, 2, "fill_date", "2024年1月18日"), "2024年1月18日");
            // not a date field: nothing is read again
            assert_eq!(read(eng, 0, "venue", "2024年8月1日"), "2024年8月1日");
        })
        .expect("scripts/setup.sh installs Tesseract");
    }
}
