//! OCR tests on real renders: PDFs made here with lopdf (Chinese text in STSong-Light, a ruled
//! table, a red seal drawn with multiply blending over the signature block), rasterised at
//! 300 dpi by poppler's `pdftoppm`, recognised by the system Tesseract. No mocks.

use super::*;
use crate::read::image::{self as rimage, ImageLimits};
use image::{DynamicImage, Luma};
use lopdf::{dictionary, Document, Object, Stream};
use std::sync::OnceLock;
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// fixture: a form-like page

/// (label, value, value is ASCII) rows of the test table.
const ROWS: &[(&str, &str, bool)] = &[
    ("申报单位", "重庆市巴渝机械制造有限公司", false),
    ("统一社会信用代码", "91500106MA5U7G3X2K", true),
    ("赛事名称", "重庆市第三届数字技能竞赛", false),
    ("联系人", "张明华", false),
    ("联系电话", "13983012345", true),
    ("承办地", "渝北区", false),
];
const BODY: &[&str] = &[
    "各区县人力社保局，市级有关部门，各行业协会：",
    "申报单位应当加盖公章后上传申报表。",
];
const TITLE: &str = "2024年“巴渝工匠”杯职业技能竞赛申报表";
const DATE_LINE: &str = "填报日期：2024年1月25日";

/// Table geometry in PDF points (A4, origin bottom-left).
const TX0: f32 = 70.0;
const TX1: f32 = 200.0;
const TX2: f32 = 525.0;
const TTOP: f32 = 640.0;
const ROW_H: f32 = 32.0;
/// Seal centre and radius (pt).
const SEAL: (f32, f32, f32) = (420.0, 262.0, 55.0);

fn ucs2_hex(s: &str) -> String {
    let mut h = String::from("<");
    for u in s.encode_utf16() {
        h.push_str(&format!("{u:04X}"));
    }
    h.push('>');
    h
}

fn text(ops: &mut String, cjk: bool, size: f32, x: f32, y: f32, s: &str) {
    let (font, lit) = if cjk {
        ("F1", ucs2_hex(s))
    } else {
        ("F2", format!("({s})"))
    };
    ops.push_str(&format!("BT /{font} {size} Tf {x} {y} Td {lit} Tj ET\n"));
}

/// Content of the test page; `seal` adds the red ring and star over the signature block.
fn page_content(seal: bool) -> String {
    let mut o = String::new();
    text(&mut o, true, 16.0, 120.0, 770.0, TITLE);
    text(&mut o, true, 12.0, 70.0, 720.0, BODY[0]);
    text(&mut o, true, 12.0, 70.0, 700.0, BODY[1]);
    // table
    o.push_str("0 0 0 RG 1 w\n");
    let n = ROWS.len() as f32;
    for i in 0..=ROWS.len() {
        let y = TTOP - i as f32 * ROW_H;
        o.push_str(&format!("{TX0} {y} m {TX2} {y} l S\n"));
    }
    for x in [TX0, TX1, TX2] {
        o.push_str(&format!("{x} {TTOP} m {x} {} l S\n", TTOP - n * ROW_H));
    }
    for (i, (label, value, ascii)) in ROWS.iter().enumerate() {
        let base = TTOP - (i as f32 + 1.0) * ROW_H + 10.0;
        text(&mut o, true, 12.0, TX0 + 8.0, base, label);
        text(&mut o, !ascii, 12.0, TX1 + 10.0, base, value);
    }
    // signature block
    text(&mut o, true, 12.0, 330.0, 280.0, "申报单位（盖章）：");
    text(&mut o, true, 12.0, 330.0, 250.0, DATE_LINE);
    if seal {
        let (cx, cy, r) = SEAL;
        let k = 0.5523 * r;
        o.push_str("q /GS1 gs 0.86 0.12 0.12 RG 0.86 0.12 0.12 rg 4 w\n");
        o.push_str(&format!(
            "{} {cy} m {} {} {} {} {cx} {} c {} {} {} {} {} {cy} c {} {} {} {} {cx} {} c {} {} {} {} {} {cy} c S\n",
            cx + r,
            cx + r, cy + k, cx + k, cy + r, cy + r,
            cx - k, cy + r, cx - r, cy + k, cx - r,
            cx - r, cy - k, cx - k, cy - r, cy - r,
            cx + k, cy - r, cx + r, cy - k, cx + r,
        ));
        // a five-pointed star in the middle
        let mut pts = Vec::new();
        for i in 0..10 {
            let a = std::f32::consts::FRAC_PI_2 + i as f32 * std::f32::consts::PI / 5.0;
            let rr = if i % 2 == 0 { 16.0 } else { 6.5 };
            pts.push((cx + rr * a.cos(), cy + rr * a.sin()));
        }
        o.push_str(&format!("{} {} m ", pts[0].0, pts[0].1));
        for p in &pts[1..] {
            o.push_str(&format!("{} {} l ", p.0, p.1));
        }
        o.push_str("h f\n");
        // an arc of red "text" blobs along the upper ring
        for i in 0..9 {
            let a = (150.0 - i as f32 * 15.0f32).to_radians();
            let (x, y) = (cx + (r - 14.0) * a.cos(), cy + (r - 14.0) * a.sin());
            o.push_str(&format!("{} {} 7 7 re f\n", x - 3.5, y - 3.5));
        }
        o.push_str("Q\n");
    }
    o
}

/// A one-page A4 PDF with the content, fonts F1 (STSong-Light, UniGB-UCS2-H) and F2
/// (Helvetica), and ExtGState GS1 (multiply blending, as ink on paper).
fn make_pdf(content: &str) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let descendant = dictionary! {
        "Type" => "Font", "Subtype" => "CIDFontType0", "BaseFont" => "STSong-Light",
        "CIDSystemInfo" => dictionary! { "Registry" => Object::string_literal("Adobe"), "Ordering" => Object::string_literal("GB1"), "Supplement" => 4 },
        "FontDescriptor" => dictionary! {
            "Type" => "FontDescriptor", "FontName" => "STSong-Light", "Flags" => 6,
            "FontBBox" => vec![(-25).into(), (-254).into(), 1000.into(), 880.into()],
            "ItalicAngle" => 0, "Ascent" => 880, "Descent" => -120, "CapHeight" => 880, "StemV" => 93,
        },
        "DW" => 1000,
        "W" => vec![1.into(), 95.into(), 500.into()],
    };
    let f1 = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "STSong-Light", "Encoding" => "UniGB-UCS2-H",
        "DescendantFonts" => vec![Object::Dictionary(descendant)],
    });
    let f2 = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding" });
    let gs = doc.add_object(dictionary! { "Type" => "ExtGState", "BM" => "Multiply" });
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.as_bytes().to_vec()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => f1, "F2" => f2 }, "ExtGState" => dictionary! { "GS1" => gs } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// Rasterise page 1 of a PDF with poppler's pdftoppm and decode the PNG with read::image.
fn render(pdf: &[u8], dpi: u32) -> DynamicImage {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.pdf");
    std::fs::write(&src, pdf).unwrap();
    let out = dir.path().join("page");
    let st = std::process::Command::new("pdftoppm")
        .args([
            "-r",
            &dpi.to_string(),
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
        ])
        .arg(&src)
        .arg(&out)
        .status()
        .expect("pdftoppm (poppler-utils) must be installed: scripts/setup.sh");
    assert!(st.success());
    let page = rimage::open(&dir.path().join("page.png"), &ImageLimits::default())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    page.image
}

struct Fixture {
    plain: DynamicImage,
    sealed: DynamicImage,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        plain: render(&make_pdf(&page_content(false)), 300),
        sealed: render(&make_pdf(&page_content(true)), 300),
    })
}

fn pt_to_px(x: f32, y: f32) -> (u32, u32) {
    (
        (x * 300.0 / 72.0).round() as u32,
        ((842.0 - y) * 300.0 / 72.0).round() as u32,
    )
}

/// Longest common subsequence of `want` in `got` (chars, whitespace ignored), / len(want).
fn char_recall(want: &str, got: &str) -> f32 {
    let a: Vec<char> = want.chars().filter(|c| !c.is_whitespace()).collect();
    let b: Vec<char> = got.chars().filter(|c| !c.is_whitespace()).collect();
    let mut prev = vec![0usize; b.len() + 1];
    for &ca in &a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = if ca == cb {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        prev = cur;
    }
    prev[b.len()] as f32 / a.len().max(1) as f32
}

fn ocr_text(words: &[Word]) -> String {
    join_words(words).0
}

// ---------------------------------------------------------------------------------------------
// tests

#[test]
fn whole_page_words_have_boxes_and_read_the_chinese_text() {
    let f = fixture();
    // pdftoppm: 595 pt × 300/72 = 2479.2 px
    assert_eq!((f.plain.width(), f.plain.height()), (2479, 3508));
    let p = prepare(&f.plain, &PrepOptions::default());
    let words = with_engine(|e| {
        e.set_dpi(300);
        e.recognise_words(&p.gray, Psm::PsmAuto)
    })
    .unwrap()
    .unwrap();
    let text = ocr_text(&words);
    for want in BODY.iter().chain([&TITLE]) {
        let r = char_recall(want, &text);
        assert!(r >= 0.9, "{want}: recall {r:.2} in «{text}»");
    }
    // boxes: the words whose centre lies in the title's band read as the title
    let (_, base) = pt_to_px(0.0, 770.0);
    let band = |w: &&Word| {
        let c = (w.y0 + w.y1) / 2;
        c + 75 > base && c < base + 10
    };
    let title_words: Vec<Word> = words.iter().filter(band).cloned().collect();
    let title = ocr_text(&title_words);
    assert!(
        char_recall(TITLE, &title) >= 0.85,
        "title band reads «{title}»"
    );
    for w in &title_words {
        assert!(
            w.x1 > w.x0 && w.y1 > w.y0 && w.x0 >= 400 && w.x1 <= 2100,
            "{w:?}"
        );
    }
    assert!(words.iter().all(|w| w.conf >= 0.0 && w.conf <= 1.0));
}

#[test]
fn rotate_is_counter_clockwise_and_deskew_recovers_it() {
    // sign convention on a synthetic line: +10° CCW lifts the right end
    let mut g = GrayImage::from_pixel(400, 400, Luma([255]));
    for x in 50..350 {
        for t in 0..3 {
            g.put_pixel(x, 200 + t, Luma([0]));
        }
    }
    let r = prep::rotate(&g, 10.0, 255);
    let ink_y = |x: u32| (0..400).find(|&y| r.get_pixel(x, y).0[0] < 128).unwrap();
    assert!(ink_y(320) + 30 < ink_y(80), "right end must be higher");

    let f = fixture();
    let gray = f.plain.to_luma8();
    for applied in [2.0f32, -1.3, 0.6] {
        let t = Instant::now();
        let rotated = prep::rotate(&gray, applied, 255);
        let est = prep::estimate_skew(&rotated, 5.0);
        eprintln!(
            "applied {applied:+.1}°, estimated {est:+.2}° ({:?})",
            t.elapsed()
        );
        assert!(
            (est - applied).abs() <= 0.3,
            "applied {applied}, estimated {est}"
        );
    }
    // prepare() deskews: the table's top rule is level again
    let p = prepare(
        &DynamicImage::ImageLuma8(prep::rotate(&gray, 2.0, 255)),
        &PrepOptions::default(),
    );
    assert!((p.skew_deg - 2.0).abs() <= 0.3, "{}", p.skew_deg);
    let grid = find_grid(p.binary.as_ref().unwrap());
    let top = grid
        .h_lines
        .iter()
        .find(|l| l.spans.iter().any(|s| s.1 - s.0 > 1000))
        .expect("table rule");
    assert!(
        top.pos1 - top.pos0 <= 8,
        "rule still slanted: band {}..{}",
        top.pos0,
        top.pos1
    );
    // and to_source maps back to the rotated input
    let (sx, sy) = p.to_source(1240.0, 500.0);
    assert!((sx - 1240.0).abs() > 1.0 || (sy - 500.0).abs() > 1.0);
}

/// Plain bilinear rotation, pixel by pixel: what `prep::rotate` must give byte for byte.
fn rotate_plain(g: &GrayImage, deg: f32, fill: u8) -> GrayImage {
    let (w, h) = g.dimensions();
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let mut out = GrayImage::from_pixel(w, h, Luma([fill]));
    for yo in 0..h {
        let dy = yo as f32 - cy;
        let mut sx = cx - cx * c - dy * s;
        let mut sy = cy - cx * s + dy * c;
        for xo in 0..w {
            if sx >= 0.0 && sy >= 0.0 && sx < (w - 1) as f32 && sy < (h - 1) as f32 {
                let (x0, y0) = (sx as u32, sy as u32);
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                let px = |x: u32, y: u32| g.get_pixel(x, y).0[0] as f32;
                let top = px(x0, y0) + (px(x0 + 1, y0) - px(x0, y0)) * fx;
                let bot = px(x0, y0 + 1) + (px(x0 + 1, y0 + 1) - px(x0, y0 + 1)) * fx;
                out.put_pixel(xo, yo, Luma([(top + (bot - top) * fy + 0.5) as u8]));
            }
            sx += c;
            sy += s;
        }
    }
    out
}

/// The rotation (pixels gathered row by row, then blended over whole arrays) gives the plain
/// blend's bytes, on a page with specks of noise, at small and large angles.
#[test]
fn rotation_gives_the_plain_blends_bytes() {
    let f = fixture();
    let mut gray = f.plain.to_luma8();
    for (i, p) in gray.pixels_mut().enumerate() {
        if (i.wrapping_mul(2_654_435_761) >> 7) % 97 == 0 {
            p.0[0] = p.0[0].min(200);
        }
    }
    for deg in [2.7f32, -0.6, 0.05, -3.0, 12.0] {
        let rotated = prep::rotate(&gray, deg, 255);
        let plain = rotate_plain(&gray, deg, 255);
        let differ = rotated.as_raw().iter().zip(plain.as_raw()).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{differ} pixels differ at {deg}°");
    }
}


/// The one-channel resampler gives `image`'s Triangle resize byte for byte: text crops and
/// noise, shrunk and enlarged, one way, the other or both, down to one pixel.
#[test]
fn triangle_resize_gives_the_librarys_bytes() {
    let page = fixture().plain.to_luma8();
    let text = prep::crop(&page, 300, 400, 1100, 520);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let noise = GrayImage::from_fn(97, 41, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        Luma([(seed >> 24) as u8])
    });
    for img in [&text, &noise] {
        let (w, h) = img.dimensions();
        for (nw, nh) in [(w / 3, 12), (w * 2, h), (w, h / 2 + 1), (w + 7, h + 3), (1, 1), (w / 2, h * 3), (w, h)] {
            let ours = prep::resize_triangle(img, nw, nh);
            let lib = image::imageops::resize(img, nw, nh, image::imageops::FilterType::Triangle);
            assert_eq!(ours.dimensions(), lib.dimensions());
            let differ = ours.as_raw().iter().zip(lib.as_raw()).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "{w}×{h} → {nw}×{nh}: {differ} pixels differ");
        }
    }
}
#[test]
fn red_seal_is_removed_and_the_text_under_it_is_read() {
    let f = fixture();
    let (cx, cy, r) = SEAL;
    // pixels on the ring away from text (top and bottom arcs)
    let ring: Vec<(u32, u32)> = (0..60)
        .flat_map(|i| {
            let a = (60.0 + i as f32).to_radians();
            let b = (240.0 + i as f32).to_radians();
            [
                pt_to_px(cx + r * a.cos(), cy + r * a.sin()),
                pt_to_px(cx + r * b.cos(), cy + r * b.sin()),
            ]
        })
        .collect();
    let rgb = f.sealed.to_rgb8();
    let red_in_render = ring.iter().filter(|&&(x, y)| {
        let p = rgb.get_pixel(x, y).0;
        prep::is_red_ink(p[0], p[1], p[2], 40, 0.22)
    });
    assert!(
        red_in_render.count() * 10 >= ring.len() * 9,
        "the fixture's ring should be red"
    );

    let without = prepare(
        &f.sealed,
        &PrepOptions {
            remove_red: false,
            deskew: false,
            ..Default::default()
        },
    );
    let with = prepare(
        &f.sealed,
        &PrepOptions {
            deskew: false,
            ..Default::default()
        },
    );
    let ink = |b: &GrayImage| {
        ring.iter()
            .filter(|&&(x, y)| b.get_pixel(x, y).0[0] < 128)
            .count()
    };
    let (b0, b1) = (
        without.binary.as_ref().unwrap(),
        with.binary.as_ref().unwrap(),
    );
    assert!(
        ink(b0) * 10 >= ring.len() * 9,
        "without removal the ring binarises to ink: {}/{}",
        ink(b0),
        ring.len()
    );
    assert!(
        ink(b1) * 50 <= ring.len(),
        "with removal the ring is gone: {}/{}",
        ink(b1),
        ring.len()
    );
    assert!(with.red_pixels > 20_000, "{}", with.red_pixels);

    // the black text under the seal survives and is read
    let (x0, y0) = pt_to_px(320.0, 300.0);
    let (x1, y1) = pt_to_px(560.0, 235.0);
    let region = Rect::new(x0, y0, x1, y1);
    // Chinese-only region: chi_sim alone (with +eng, 盖章 tends to come out as Latin letters)
    let (got, conf) = with_engine(|e| {
        e.set_lang("chi_sim")?;
        let r = e.recognise_region(&with.gray, region, Psm::PsmSingleBlock, None);
        e.reset_lang();
        r
    })
    .unwrap()
    .unwrap();
    let (got_red, _) =
        with_engine(|e| e.recognise_region(&without.gray, region, Psm::PsmSingleBlock, None))
            .unwrap()
            .unwrap();
    eprintln!("under the seal: with removal «{got}» ({conf:.2}); without «{got_red}»");
    let r = char_recall(DATE_LINE, &got);
    assert!(r >= 0.9, "«{got}» recall {r:.2}");
    assert!(got.contains("2024年1月25日"), "«{got}»");
    assert!(char_recall("申报单位（盖章）", &got) >= 0.75, "«{got}»");
}

#[test]
fn grid_finds_the_table_and_cells_read_one_by_one() {
    let f = fixture();
    let p = prepare(&f.plain, &PrepOptions::default());
    let bin = p.binary.as_ref().unwrap();
    let grid = find_grid(bin);
    let rows = grid.rows();
    assert_eq!(rows.len(), ROWS.len(), "{:#?}", grid.cells);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), 2, "row {i}");
        let (_, ytop) = pt_to_px(0.0, TTOP - i as f32 * ROW_H);
        let (xl, _) = pt_to_px(TX0, 0.0);
        let (xm, _) = pt_to_px(TX1, 0.0);
        assert!(
            row[0].rect.y0.abs_diff(ytop) <= 8 && row[0].rect.x0.abs_diff(xl) <= 8,
            "{:?}",
            row[0].rect
        );
        assert!(row[1].rect.x0.abs_diff(xm) <= 8, "{:?}", row[1].rect);
    }
    let mut exact = 0;
    let (mut found, mut total) = (0f32, 0f32);
    with_engine(|e| {
        e.set_dpi(300);
        for (row, (label, value, ascii)) in rows.iter().zip(ROWS) {
            let (l, lc) = e
                .recognise_region(&p.gray, row[0].rect, Psm::PsmSingleLine, None)
                .unwrap();
            let wl = match *label {
                "统一社会信用代码" => Some("0123456789ABCDEFGHJKLMNPQRTUWXY"),
                "联系电话" => Some("0123456789-"),
                _ => None,
            };
            let (v, vc) = e
                .recognise_region(&p.gray, row[1].rect, Psm::PsmSingleLine, wl)
                .unwrap();
            eprintln!("{label}: «{l}» ({lc:.2}) | «{v}» ({vc:.2})");
            assert!(char_recall(label, &l) >= 0.75, "label «{l}» for {label}");
            if *ascii {
                assert_eq!(v, *value, "whitelisted cell must be exact");
            }
            let n = value.chars().count() as f32;
            found += char_recall(value, &v) * n;
            total += n;
            if v == *value {
                exact += 1;
            }
        }
    })
    .unwrap();
    // Debian's fast chi_sim model reads 渝 as 澈/流 in this font: the extractor's catalogue
    // (district names, unit name from the sheet) has to fix such characters.
    assert!(
        found / total >= 0.9,
        "character recall over value cells {:.3}",
        found / total
    );
    assert!(
        exact >= ROWS.len() - 2,
        "{exact}/{} values exact",
        ROWS.len()
    );
}

#[test]
fn blank_and_tiny_regions() {
    let g = GrayImage::from_pixel(300, 100, Luma([255]));
    let r = with_engine(|e| {
        e.recognise_region(&g, Rect::new(10, 10, 290, 90), Psm::PsmSingleLine, None)
    })
    .unwrap()
    .unwrap();
    assert_eq!(r, (String::new(), 1.0));
    let r = with_engine(|e| {
        e.recognise_region(&g, Rect::new(10, 10, 12, 90), Psm::PsmSingleLine, None)
    })
    .unwrap()
    .unwrap();
    assert_eq!(r.0, "");
    let words = with_engine(|e| e.recognise_words(&g, Psm::PsmAuto))
        .unwrap()
        .unwrap();
    assert!(words.is_empty());
}

#[test]
fn scanned_pdf_page_round_trip_through_pdfimage() {
    // the rendered form as a JPEG inside a PDF (what a scanner writes) → page image → OCR
    let f = fixture();
    let rgb = f.sealed.to_rgb8();
    let mut jpg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 80)
        .encode_image(&rgb)
        .unwrap();
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let img = doc.add_object(Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => rgb.width() as i64, "Height" => rgb.height() as i64,
                      "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "DCTDecode" },
        jpg,
    ));
    let content = doc.add_object(Stream::new(
        dictionary! {},
        b"q 595 0 0 842 0 0 cm /Im0 Do Q".to_vec(),
    ));
    let page = doc.add_object(
        dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content,
        "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => img } } },
    );
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()] },
        ),
    );
    let cat = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", cat);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    let doc = Document::load_mem(&bytes).unwrap();
    let pi = crate::read::pdfimage::largest_page_image(&doc, 1, &ImageLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!((pi.image.width(), pi.image.height()), rgb.dimensions());
    assert!((pi.dpi - 300.0).abs() < 1.0);
    let p = prepare(&pi.image, &PrepOptions::default());
    let grid = find_grid(p.binary.as_ref().unwrap());
    assert_eq!(grid.rows().len(), ROWS.len());
    let unit_cell = grid.rows()[0][1].rect;
    let (v, c) = with_engine(|e| {
        e.set_dpi(pi.dpi.round() as u32);
        e.recognise_region(&p.gray, unit_cell, Psm::PsmSingleLine, None)
    })
    .unwrap()
    .unwrap();
    assert!(char_recall(ROWS[0].1, &v) >= 0.9, "«{v}» ({c:.2})");
}

/// Run the probe in a child with OMP_THREAD_LIMIT unset: it calls ensure_single_threaded_env,
/// which must re-execute it with the variable set (and the allocator settings) and pass the
/// exit status through.
#[test]
fn ensure_single_threaded_env_reexecutes_with_omp_limit() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "ocr::tests::reexec_probe",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_remove("OMP_THREAD_LIMIT")
        .env_remove("GLIBC_TUNABLES")
        .env("SHENBAO_REEXEC_PROBE", "1")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(all.contains("probe: OMP_THREAD_LIMIT=1"), "{all}");
    assert!(all.contains("probe: GLIBC_TUNABLES=glibc.malloc.mmap_threshold="), "{all}");
}

#[test]
#[ignore = "helper for ensure_single_threaded_env_reexecutes_with_omp_limit"]
fn reexec_probe() {
    if std::env::var_os("SHENBAO_REEXEC_PROBE").is_none() {
        return;
    }
    ensure_single_threaded_env();
    // only the re-executed process gets here
    println!(
        "probe: OMP_THREAD_LIMIT={}",
        std::env::var("OMP_THREAD_LIMIT").unwrap_or_default()
    );
    println!("probe: GLIBC_TUNABLES={}", std::env::var("GLIBC_TUNABLES").unwrap_or_default());
}

/// Timings for the lead's note. Run in the dev profile (Tesseract itself is the system's
/// optimised build; our prep is slower in dev than in release):
/// `OMP_THREAD_LIMIT=1 cargo test --lib ocr::tests::timings -- --ignored --nocapture`
#[test]
#[ignore = "prints timings; slow"]
fn timings() {
    if std::env::var("OMP_THREAD_LIMIT").as_deref() != Ok("1") {
        eprintln!("note: OMP_THREAD_LIMIT is not 1: Tesseract may use several threads");
    }
    let t = Instant::now();
    let engine = OcrEngine::new(&EngineConfig::default()).unwrap();
    eprintln!("engine init (chi_sim+eng): {:?}", t.elapsed());
    drop(engine);
    let f = fixture();
    for (name, img) in [("plain", &f.plain), ("sealed", &f.sealed)] {
        let t = Instant::now();
        let p = prepare(img, &PrepOptions::default());
        let prep_t = t.elapsed();
        let t = Instant::now();
        let grid = find_grid(p.binary.as_ref().unwrap());
        let grid_t = t.elapsed();
        let t = Instant::now();
        let words = with_engine(|e| e.recognise_words(&p.gray, Psm::PsmAuto))
            .unwrap()
            .unwrap();
        let whole_t = t.elapsed();
        let mut cells_t = Vec::new();
        let mut n = 0;
        for px in [None, Some(40)] {
            let t = Instant::now();
            n = 0;
            with_engine(|e| {
                e.set_region_text_px(px);
                for c in &grid.cells {
                    let _ = e
                        .recognise_region(&p.gray, c.rect, Psm::PsmSingleLine, None)
                        .unwrap();
                    n += 1;
                }
                e.set_region_text_px(Some(40));
            })
            .unwrap();
            cells_t.push(t.elapsed());
        }
        let small = image::imageops::resize(
            &p.gray,
            p.gray.width() * 2 / 3,
            p.gray.height() * 2 / 3,
            image::imageops::FilterType::Triangle,
        );
        let t = Instant::now();
        let words_small = with_engine(|e| {
            e.set_dpi(200);
            let w = e.recognise_words(&small, Psm::PsmAuto);
            e.set_dpi(300);
            w
        })
        .unwrap()
        .unwrap();
        let whole_small_t = t.elapsed();
        let recall = |ws: &[Word]| {
            let txt = ocr_text(ws);
            ROWS.iter().map(|r| char_recall(r.1, &txt)).sum::<f32>() / ROWS.len() as f32
        };
        eprintln!(
            "{name}: whole page at 200 dpi {whole_small_t:?} ({} words), value recall whole@300 {:.3} whole@200 {:.3}",
            words_small.len(),
            recall(&words),
            recall(&words_small)
        );
        let cells_t = format!(
            "full size {:?}, text scaled to 40 px {:?}",
            cells_t[0], cells_t[1]
        );
        eprintln!(
            "{name}: prep {prep_t:?} (skew {:.2}°, red px {}), grid {grid_t:?} ({} cells), whole page {whole_t:?} ({} words), {n} cells one by one: {cells_t}",
            p.skew_deg,
            p.red_pixels,
            grid.cells.len(),
            words.len()
        );
    }
}

#[test]
#[ignore = "debug: dumps the prepared page and cells of $SHENBAO_OCR_DUMP_PDF to /tmp/ocrdbg"]
fn dump_crops() {
    let Some(pdf) = std::env::var_os("SHENBAO_OCR_DUMP_PDF") else {
        return;
    };
    let mut img = render(&std::fs::read(pdf).unwrap(), 300);
    if std::env::var_os("SHENBAO_OCR_DUMP_DEGRADE").is_some() {
        img = degrade_scan(&img);
    }
    std::fs::create_dir_all("/tmp/ocrdbg").unwrap();
    let p = prepare(&img, &PrepOptions::default());
    p.gray.save("/tmp/ocrdbg/page_prep.png").unwrap();
    p.binary
        .as_ref()
        .unwrap()
        .save("/tmp/ocrdbg/page_bin.png")
        .unwrap();
    let grid = find_grid(p.binary.as_ref().unwrap());
    with_engine(|e| {
        for (i, c) in grid.cells.iter().enumerate() {
            prep::crop(&p.gray, c.rect.x0, c.rect.y0, c.rect.x1, c.rect.y1)
                .save(format!("/tmp/ocrdbg/cell{i:03}.png"))
                .unwrap();
            let (t, conf) = e
                .recognise_region(&p.gray, c.rect, Psm::PsmSingleLine, None)
                .unwrap();
            eprintln!(
                "cell{i:03} r{} c{} {:?}: «{t}» {conf:.2}",
                c.row, c.col, c.rect
            );
        }
    })
    .unwrap();
}

/// Field-level numbers on the sample generator's born-digital forms, rendered at 300 dpi and
/// degraded like a scan (grey paper, 1.2° skew, red ring seal, JPEG q75): how many true core
/// values appear verbatim in the whole-page OCR text vs. in some cell read on its own.
/// `OMP_THREAD_LIMIT=1 cargo test --lib ocr::tests::sample_forms_bench -- --ignored --nocapture`
/// (`SHENBAO_OCR_BENCH_COUNT` declarations, default 6).
#[test]
#[ignore = "benchmark on generated sample forms; slow"]
fn sample_forms_bench() {
    use serde_json::Value as J;
    let count: usize = std::env::var("SHENBAO_OCR_BENCH_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let page_lang =
        std::env::var("SHENBAO_OCR_BENCH_LANG").unwrap_or_else(|_| "chi_sim+eng".into());
    let cell_lang =
        std::env::var("SHENBAO_OCR_BENCH_CELL_LANG").unwrap_or_else(|_| page_lang.clone());
    eprintln!("whole pages in {page_lang}, cells in {cell_lang}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let pipeline = crate::config::Pipeline::load(&root.join("pipelines/bayu-2024.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    crate::samples::generate(&pipeline, dir.path(), count, 7).unwrap();
    let truth: J =
        serde_json::from_slice(&std::fs::read(dir.path().join("truth.json")).unwrap()).unwrap();
    let norm = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
                    char::from_u32(c as u32 - 0xFEE0).unwrap()
                } else {
                    c
                }
            })
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '—' | '‐' | '–' | '(' | ')'))
            .collect()
    };
    // (values, verbatim in whole-page text, verbatim in a cell) for ruled-table forms; and
    // (values, verbatim in whole-page text) for forms without a table grid
    let (mut n_vals, mut hit_whole, mut hit_cells, mut hit_cells_wl) = (0, 0, 0, 0);
    let (mut n_other, mut hit_other) = (0, 0);
    let (mut t_prep, mut t_whole, mut t_cells, mut pages) = (0f64, 0f64, 0f64, 0);
    let mut misses: Vec<String> = Vec::new();
    let mut skipped = 0;
    for d in truth["declarations"].as_array().unwrap() {
        let Some(file) = d["form_file"].as_str() else {
            continue;
        };
        // Only forms whose CJK text poppler can draw without the (absent) SimSun font make
        // test scans: GBK bytes through a WinAnsi font and Identity-H glyph ids of a
        // non-embedded TrueType font render as mojibake.
        if !matches!(
            d["font_encoding"].as_str(),
            Some("unigb-ucs2-h" | "gbk-euc-h")
        ) {
            skipped += 1;
            continue;
        }
        let pdf = std::fs::read(dir.path().join(file)).unwrap();
        let n_pages = d["form_pages"].as_u64().unwrap_or(1).min(2) as u32;
        let mut whole_text = String::new();
        let mut cell_texts: Vec<String> = Vec::new();
        let mut wl_texts: Vec<String> = Vec::new();
        for pg in 1..=n_pages {
            let tmp = tempfile::tempdir().unwrap();
            std::fs::write(tmp.path().join("f.pdf"), &pdf).unwrap();
            let st = std::process::Command::new("pdftoppm")
                .args([
                    "-r",
                    "300",
                    "-png",
                    "-f",
                    &pg.to_string(),
                    "-l",
                    &pg.to_string(),
                    "-singlefile",
                ])
                .arg(tmp.path().join("f.pdf"))
                .arg(tmp.path().join("p"))
                .status()
                .unwrap();
            assert!(st.success());
            let img = rimage::open(&tmp.path().join("p.png"), &ImageLimits::default())
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .image;
            let scan = degrade_scan(&img);

            let t = Instant::now();
            let p = prepare(&scan, &PrepOptions::default());
            let grid = find_grid(p.binary.as_ref().unwrap());
            t_prep += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let words = with_engine(|e| {
                e.set_dpi(300);
                e.set_lang(&page_lang).unwrap();
                e.recognise_words(&p.gray, Psm::PsmAuto)
            })
            .unwrap()
            .unwrap();
            t_whole += t.elapsed().as_secs_f64();
            whole_text.push_str(&ocr_text(&words));
            let t = Instant::now();
            with_engine(|e| {
                e.set_lang(&cell_lang).unwrap();
                let texts: Vec<String> = grid
                    .cells
                    .iter()
                    .map(|c| {
                        e.recognise_region(&p.gray, c.rect, Psm::PsmSingleLine, None)
                            .unwrap()
                            .0
                    })
                    .collect();
                // what a field-aware reader does next: re-read cells whose label says they hold
                // a code, a phone or an occupation code with a character whitelist
                let mut wl: Vec<Option<&str>> = vec![None; texts.len()];
                for (i, t) in texts.iter().enumerate() {
                    let code = "0123456789ABCDEFGHJKLMNPQRTUWXY";
                    if t.contains("信用代码") {
                        if let Some(j) = grid.right_of(i) {
                            wl[j] = Some(code);
                        }
                    } else if t.contains("电话") {
                        if let Some(j) = grid.right_of(i) {
                            wl[j] = Some("0123456789-");
                        }
                    } else if t.contains("职业编码") {
                        let mut k = i;
                        while let Some(j) = grid.below(k) {
                            wl[j] = Some("0123456789-");
                            k = j;
                        }
                    }
                }
                for (i, t) in texts.into_iter().enumerate() {
                    cell_texts.push(t);
                    if let Some(w) = wl[i] {
                        let (s, _) = e
                            .recognise_region(
                                &p.gray,
                                grid.cells[i].rect,
                                Psm::PsmSingleLine,
                                Some(w),
                            )
                            .unwrap();
                        wl_texts.push(s);
                    }
                }
                e.reset_lang();
            })
            .unwrap();
            t_cells += t.elapsed().as_secs_f64();
            pages += 1;
            eprintln!(
                "{file} p{pg} ({} {}): skew {:.2}°, {} cells, {} words",
                d["layout"].as_str().unwrap_or("-"),
                d["font_encoding"].as_str().unwrap_or("-"),
                p.skew_deg,
                grid.cells.len(),
                words.len()
            );
        }
        let whole_n = norm(&whole_text);
        let cells_n: Vec<String> = cell_texts.iter().map(|s| norm(s)).collect();
        let wl_n: Vec<String> = wl_texts.iter().map(|s| norm(s)).collect();
        let mut vals: Vec<String> = [
            "unit_name",
            "credit_code",
            "event_name",
            "contact_name",
            "contact_phone",
        ]
        .iter()
        .filter_map(|k| d["fields"][k].as_str().map(str::to_string))
        .collect();
        for it in d["items"].as_array().into_iter().flatten() {
            for k in [
                "occupation",
                "occupation_code",
                "host_location",
                "undertaker",
            ] {
                if let Some(v) = it[k].as_str() {
                    vals.push(v.to_string());
                }
            }
        }
        let has_grid = !cell_texts.is_empty();
        for v in vals {
            let v = norm(&v);
            if v.is_empty() {
                continue;
            }
            if !has_grid {
                n_other += 1;
                hit_other += whole_n.contains(&v) as usize;
                continue;
            }
            n_vals += 1;
            let w = whole_n.contains(&v);
            let c = cells_n.iter().any(|s| s.contains(&v));
            let cw = c || wl_n.iter().any(|s| s.contains(&v));
            hit_whole += w as usize;
            hit_cells += c as usize;
            hit_cells_wl += cw as usize;
            if !cw {
                let got = cells_n
                    .iter()
                    .max_by(|a, b| char_recall(&v, a).total_cmp(&char_recall(&v, b)))
                    .cloned()
                    .unwrap_or_default();
                misses.push(format!("{v} → {got}"));
            }
        }
    }
    eprintln!("{skipped} forms skipped (fonts poppler cannot draw)");
    eprintln!(
        "{pages} pages; ruled-table forms, {n_vals} core values: verbatim in whole-page text {:.1}%, in a cell read alone {:.1}%, with whitelists for code/phone cells {:.1}%",
        100.0 * hit_whole as f64 / n_vals.max(1) as f64,
        100.0 * hit_cells as f64 / n_vals.max(1) as f64,
        100.0 * hit_cells_wl as f64 / n_vals.max(1) as f64
    );
    eprintln!(
        "forms without a grid, {n_other} core values: verbatim in whole-page text {:.1}%",
        100.0 * hit_other as f64 / n_other.max(1) as f64
    );
    eprintln!(
        "per page: prep+grid {:.3} s, whole-page recognition {:.2} s, cell-by-cell {:.2} s",
        t_prep / pages as f64,
        t_whole / pages as f64,
        t_cells / pages as f64
    );
    eprintln!(
        "missed by cells (truth → closest cell): {}",
        misses.join("; ")
    );
}

/// Make a render look scanned: grey paper, a red ring seal near the bottom right, 1.2° skew
/// (colour kept), JPEG quality 75.
fn degrade_scan(img: &DynamicImage) -> DynamicImage {
    let mut rgb = img.to_rgb8();
    let (w, h) = rgb.dimensions();
    for p in rgb.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = (*c as u32 * 225 / 255) as u8;
        }
    }
    let (cx, cy, r) = (w as f32 * 0.7, h as f32 * 0.8, 230.0f32);
    for y in (cy - r - 12.0) as u32..(cy + r + 12.0) as u32 {
        for x in (cx - r - 12.0) as u32..(cx + r + 12.0) as u32 {
            let dd = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            if (dd - r).abs() < 9.0 && x < w && y < h {
                let p = rgb.get_pixel_mut(x, y);
                p.0 = [
                    (p.0[0] as u32 * 215 / 255) as u8,
                    (p.0[1] as u32 * 40 / 255) as u8,
                    (p.0[2] as u32 * 45 / 255) as u8,
                ];
            }
        }
    }
    let chans: Vec<GrayImage> = (0..3)
        .map(|c| {
            let ch = GrayImage::from_fn(w, h, |x, y| Luma([rgb.get_pixel(x, y).0[c]]));
            prep::rotate(&ch, 1.2, 225)
        })
        .collect();
    let skewed = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            chans[0].get_pixel(x, y).0[0],
            chans[1].get_pixel(x, y).0[0],
            chans[2].get_pixel(x, y).0[0],
        ])
    });
    let mut jpg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 75)
        .encode_image(&skewed)
        .unwrap();
    let page = rimage::from_bytes(&jpg, &ImageLimits::default())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    page.image
}

/// The small grey copy used for photo detection and the crops' page thumbnails is the block
/// mean of the luminance `to_luma8` gives.
#[test]
fn small_gray_is_the_block_mean_of_the_luminance() {
    let rgb = image::RgbImage::from_fn(37, 23, |x, y| image::Rgb([(x * 7) as u8, (y * 11) as u8, ((x + y) * 5) as u8]));
    let img = DynamicImage::ImageRgb8(rgb);
    let luma = img.to_luma8();
    let small = prep::small_gray(&img, 4);
    assert_eq!(small.dimensions(), (9, 5));
    for (sx, sy, p) in small.enumerate_pixels() {
        let mut sum = 0u32;
        for y in sy * 4..sy * 4 + 4 {
            for x in sx * 4..sx * 4 + 4 {
                sum += luma.get_pixel(x, y).0[0] as u32;
            }
        }
        assert!((p.0[0] as i32 - ((sum + 8) / 16) as i32).abs() <= 1, "({sx}, {sy})");
    }
}

/// The block means of the luminance written plainly, pixel by pixel.
fn small_gray_plain(img: &image::RgbImage, k: u32) -> GrayImage {
    let (sw, sh) = ((img.width() / k).max(1), (img.height() / k).max(1));
    GrayImage::from_fn(sw, sh, |sx, sy| {
        let (mut sum, mut n) = (0u32, 0u32);
        for y in sy * k..((sy + 1) * k).min(img.height()) {
            for x in sx * k..(sx + 1) * k {
                let p = img.get_pixel(x, y).0;
                sum += (2126 * p[0] as u32 + 7152 * p[1] as u32 + 722 * p[2] as u32 + 5000) / 10000;
                n += 1;
            }
        }
        Luma([((sum + n / 2) / n) as u8])
    })
}

/// The f32 luma is the integer formula for every sum the formula can meet.
#[test]
fn luma709_is_the_integer_formula() {
    for r in (0..=255u32).step_by(5).chain([254, 1]) {
        for g in 0..=255u32 {
            for b in 0..=255u32 {
                let want = (2126 * r + 7152 * g + 722 * b + 5000) / 10000;
                assert_eq!(prep::luma709(r as u8, g as u8, b as u8), want, "({r}, {g}, {b})");
            }
        }
    }
    // every sum up to the largest, floor-divided through f32
    for n in 0..=(10000 * 255 + 5000) {
        assert_eq!((n as f32 / 10000.0) as u32, n / 10000, "{n}");
    }
}

/// The small grey copy of a colour or grey page is the plain block mean, byte for byte, for
/// the photo test's and the thumbnails' block sizes, on a photo-like page with noise.
#[test]
fn small_gray_gives_the_plain_block_means() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let rgb = image::RgbImage::from_fn(1243, 877, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let base = if (x / 200 + y / 150) % 2 == 0 { 235u8 } else { 60 };
        let n = |s: u64| base.saturating_add((s & 31) as u8).saturating_sub(16);
        image::Rgb([n(seed >> 8), n(seed >> 20), n(seed >> 32)])
    });
    // a grey page, and the same page as colour of equal channels (whose luma is the level)
    let gray = DynamicImage::ImageRgb8(rgb.clone()).to_luma8();
    let gray_rgb = image::RgbImage::from_fn(gray.width(), gray.height(), |x, y| {
        let v = gray.get_pixel(x, y).0[0];
        image::Rgb([v, v, v])
    });
    let pages = [(DynamicImage::ImageRgb8(rgb.clone()), rgb), (DynamicImage::ImageLuma8(gray), gray_rgb)];
    for (img, reference) in &pages {
        for k in [1, 2, 3, 6, 7] {
            let ours = prep::small_gray(img, k);
            let plain = small_gray_plain(reference, k);
            assert_eq!(ours.dimensions(), plain.dimensions(), "k = {k}");
            let differ = ours.as_raw().iter().zip(plain.as_raw()).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "k = {k}, {:?}: {differ} pixels differ", img.color());
        }
    }
}
