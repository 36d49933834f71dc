//! PP-OCR recognition (`ocr::ppocr`, issue 16) with the real model that `scripts/setup.sh`
//! installs: lines rendered with the system's CJK font, cells cut from the committed scanned
//! fixtures, and the errors a missing or damaged model gives.
#![cfg(feature = "ppocr")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use image::GrayImage;
use shenbao::ocr::ppocr::{self, line_bands, PpOcr, PpOcrError, Reading};
use shenbao::samples::pdfgen::{Op, Page, PAGE_H};
use shenbao::samples::scan::rasterise;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The models folder: `$SHENBAO_MODELS`, else `<repo>/models` (where setup.sh installs).
fn models() -> PathBuf {
    std::env::var_os(ppocr::MODELS_ENV).map(PathBuf::from).unwrap_or_else(|| root().join("models"))
}

fn ocr() -> Arc<PpOcr> {
    static OCR: OnceLock<Arc<PpOcr>> = OnceLock::new();
    OCR.get_or_init(|| Arc::new(PpOcr::load(&models()).unwrap_or_else(|e| panic!("{e}"))))
        .clone()
}

/// `lines` rendered at 300 dpi (the rasteriser of the scanned samples, the system's CJK font),
/// `size` pt, one under another; each line's image cut out with PaddleOCR-like margins.
fn render(lines: &[&str], size: f32) -> Vec<GrayImage> {
    let ops = lines
        .iter()
        .enumerate()
        .map(|(i, s)| Op::Text { x: 60.0, y: PAGE_H - 80.0 - i as f32 * size * 3.0, size, s: s.to_string() })
        .collect();
    let page = Page { ops, footer: None, marks: Vec::new() };
    let gray = image::DynamicImage::ImageRgb8(rasterise(&page).expect("a CJK font (fonts-noto-cjk)")).to_luma8();
    let top = image::imageops::crop_imm(&gray, 0, 0, gray.width(), (size * 3.0 * lines.len() as f32 * 300.0 / 72.0) as u32 + 600).to_image();
    let bands = line_bands(&top);
    assert_eq!(bands.len(), lines.len(), "{bands:?}");
    bands.iter().map(|r| image::imageops::crop_imm(&top, r.x0, r.y0, r.width(), r.height()).to_image()).collect()
}

#[test]
fn rendered_lines_read_exactly() {
    let truth = [
        "重庆市大足区人力资源和社会保障局",
        "2024年1月25日",
        "91500103MA5U000000",
        "4-04-05",
        "2024年潼南区巴渝工匠杯退役军人职业技能竞赛",
        "联系电话：17067717549",
        "重庆鸿江检测技术股份有限公司",
    ];
    let ocr = ocr();
    for size in [10.5, 12.0] {
        let imgs = render(&truth, size);
        for (img, t) in imgs.iter().zip(truth) {
            let r = ocr.recognize(img).unwrap();
            assert_eq!(r.text, t, "{size} pt: {r:?}");
            assert!(r.conf > 0.8, "{size} pt {t}: conf {}", r.conf);
            assert_eq!(r.chars.len(), t.chars().count());
            // each character's columns lie in the image, left to right
            assert!(r.chars.windows(2).all(|w| w[0].x0 <= w[1].x0), "{r:?}");
            assert!(r.chars.iter().all(|c| c.x0 < c.x1 && c.x1 <= img.width()));
        }
    }
}

/// Curly quotes read as the fullwidth straight quote or the curly one (the model's classes
/// hold both and it weighs them alike); the quote is then the runner-up.
#[test]
fn curly_quotes_are_read_or_runners_up() {
    let t = "2024年潼南区“巴渝工匠”杯退役军人职业技能竞赛";
    let r = ocr().recognize(&render(&[t], 10.5)[0]).unwrap();
    assert_eq!(r.chars.len(), t.chars().count(), "{r:?}");
    for (c, want) in r.chars.iter().zip(t.chars()) {
        if want == '“' || want == '”' {
            assert!(c.ch == want || c.alt.is_some_and(|a| a.0 == want), "{want}: {c:?}");
        } else {
            assert_eq!(c.ch, want, "{r:?}");
        }
    }
}

#[test]
fn a_batch_reads_as_lines_one_by_one_whatever_the_thread() {
    let truth = ["重庆市大足区人力资源和社会保障局", "2024年1月25日", "4-04-05", "91500103MA5U000000"];
    let imgs = render(&truth, 11.0);
    let ocr = ocr();
    let one: Vec<Reading> = imgs.iter().map(|g| ocr.recognize(g).unwrap()).collect();
    let batch = ocr.recognize_batch(&imgs).unwrap();
    assert_eq!(one, batch);
    // from other threads, several at once
    let again: Vec<Reading> = std::thread::scope(|s| {
        let hs: Vec<_> = imgs.iter().rev().map(|g| { let ocr = ocr.clone(); s.spawn(move || ocr.recognize(g).unwrap()) }).collect();
        hs.into_iter().map(|h| h.join().unwrap()).rev().collect()
    });
    assert_eq!(one, again);
}

#[test]
fn characters_carry_probabilities_and_runners_up() {
    let imgs = render(&["2024年1月25日"], 11.0);
    let r = ocr().recognize(&imgs[0]).unwrap();
    for c in &r.chars {
        assert!(c.prob > 0.0 && c.prob <= 1.0 + 1e-6, "{c:?}");
        if let Some((alt, p)) = c.alt {
            assert_ne!(alt, c.ch);
            assert!(p <= c.prob, "{c:?}");
        }
    }
    assert!((r.conf - r.chars.iter().map(|c| c.prob).sum::<f32>() / r.chars.len() as f32).abs() < 1e-6);
    assert_eq!(r.char_probs().iter().map(|c| c.0).collect::<String>(), r.text);
}

#[test]
fn blank_and_degenerate_images_read_as_nothing() {
    let ocr = ocr();
    let r = ocr.recognize(&GrayImage::from_pixel(200, 40, image::Luma([255]))).unwrap();
    assert_eq!(r.text, "");
    assert!(r.conf > 0.5, "sure that nothing is written: {}", r.conf);
    assert_eq!(ocr.recognize(&GrayImage::new(0, 0)).unwrap(), Reading::default());
    // one pixel, an extreme aspect: no panic
    ocr.recognize(&GrayImage::new(1, 1)).unwrap();
    ocr.recognize(&GrayImage::new(5000, 3)).unwrap();
    ocr.recognize(&GrayImage::new(3, 900)).unwrap();
}

#[test]
fn the_dictionary_and_space_class_come_from_the_model() {
    let ocr = ocr();
    // blank + 6,623 dictionary entries + the space PaddleOCR appends
    assert_eq!(ocr.classes(), 6625);
    assert!(ocr.knows('渝') && ocr.knows(' ') && ocr.knows('9') && ocr.knows('X'));
    assert!(!ocr.knows('\0'));
}

fn copy_model_to(dir: &Path) -> PathBuf {
    let p = dir.join(ppocr::REC_MODEL);
    std::fs::copy(models().join(ppocr::REC_MODEL), &p).unwrap();
    p
}

#[test]
fn a_missing_model_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let e = PpOcr::load(dir.path()).unwrap_err();
    assert!(matches!(e, PpOcrError::NotFound { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("bash scripts/setup.sh") && msg.contains(ppocr::REC_MODEL) && msg.contains(&dir.path().display().to_string()), "{msg}");
}

#[test]
fn a_damaged_model_names_the_fix_and_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let p = copy_model_to(dir.path());
    // cut short
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let e = PpOcr::load(dir.path()).unwrap_err();
    assert!(matches!(e, PpOcrError::Corrupt { .. }), "{e:?}");
    assert!(e.to_string().contains("bash scripts/setup.sh"), "{e}");
    // without the checksum, tract's own parse rejects it cleanly too
    let e = PpOcr::from_file(&p).unwrap_err();
    assert!(e.to_string().contains("bash scripts/setup.sh"), "{e}");
    // not a model at all
    std::fs::write(&p, b"<html>404</html>").unwrap();
    let e = PpOcr::from_file(&p).unwrap_err();
    assert!(matches!(e, PpOcrError::Corrupt { .. }), "{e:?}");
    // a folder where the file should be
    std::fs::remove_file(&p).unwrap();
    std::fs::create_dir(&p).unwrap();
    assert!(PpOcr::load(dir.path()).is_err());
}

/// Every text region of a scanned page as PP-OCR reads it: the page prepared as the pipeline
/// does (straightened, red ink removed, deskewed), the ruled table cells
/// (`recognize_region`) and the lines of the rest of the page (tables whitened).
fn page_readings(ocr: &PpOcr, img: &image::DynamicImage) -> Vec<String> {
    let straight = shenbao::ocr::prep::rectify_photo(img);
    let prep = shenbao::ocr::prepare(straight.as_ref().unwrap_or(img), &shenbao::ocr::PrepOptions::default());
    let grid = shenbao::ocr::find_grid(prep.binary.as_ref().unwrap());
    let mut out = Vec::new();
    let mut rest = prep.gray.clone();
    let (w, h) = rest.dimensions();
    let mut white = |x0: u32, y0: u32, x1: u32, y1: u32| {
        for y in y0..y1.min(h) {
            for x in x0..x1.min(w) {
                rest.put_pixel(x, y, image::Luma([255]));
            }
        }
    };
    for c in &grid.cells {
        out.push(ocr.recognize_region(&prep.gray, c.rect.inset(2)).unwrap().text);
        white(c.rect.x0, c.rect.y0, c.rect.x1, c.rect.y1);
    }
    for l in &grid.h_lines {
        for &(a, b) in &l.spans {
            white(a.saturating_sub(3), l.pos0.saturating_sub(3), b + 3, l.pos1 + 4);
        }
    }
    for l in &grid.v_lines {
        for &(a, b) in &l.spans {
            white(l.pos0.saturating_sub(3), a.saturating_sub(3), l.pos1 + 4, b + 3);
        }
    }
    for b in line_bands(&rest).into_iter().filter(|b| b.height() >= 14) {
        out.push(ocr.recognize(&image::imageops::crop_imm(&rest, b.x0, b.y0, b.width(), b.height()).to_image()).unwrap().text);
    }
    out
}

/// A committed office-made scan (two grey TIFF pages at 200 dpi, skewed 1.7°, a red seal over
/// the date, Noto Serif): the core values read exactly, with no help from the correction code.
#[test]
fn a_scanned_fixture_reads_its_values_exactly() {
    let path = root().join("tests/fixtures/office/forms/BY2024-0025.tif");
    let ocr = ocr();
    let mut readings = Vec::new();
    shenbao::read::image::for_each_page(&path, &Default::default(), |p| {
        readings.extend(page_readings(&ocr, &p.image));
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    let canon = |s: &str| s.chars().filter(|c| !c.is_whitespace()).map(|c| if c == '：' { ':' } else { c }).collect::<String>();
    let all: Vec<String> = readings.iter().map(|r| canon(r)).collect();
    for want in [
        "重庆川图职业学院",
        "52500105MJNKKT4382",
        "重庆市第八届验光与配镜行业职业技能竞赛",
        "154-4671-2147",
        "生活垃圾清运工",
        "4-09-08",
        "重庆歌科新能源汽车销售服务有限公司",
        "2024年9月22日",
        "2024年10月6日",
        "填报日期:2024年1月14日",
        "BY2024-0025",
    ] {
        assert!(all.iter().any(|r| r.contains(want)), "{want} not read in {all:#?}");
    }
}
