//! Read text-line images with PP-OCR: `ppocr_read [--min-width PX] IMAGE...` prints each
//! file's reading, its confidence and each character's probability and runner-up.
fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut pp = shenbao::ocr::ppocr::PpOcr::load_default().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    if args.first().is_some_and(|a| a == "--min-width") {
        pp = pp.with_min_width(args[1].parse().expect("--min-width PX"));
        args.drain(..2);
    }
    for f in &args {
        let g = image::open(f).expect("an image").to_luma8();
        let r = pp.recognize(&g).expect("recognise");
        let detail: Vec<String> = r
            .chars
            .iter()
            .map(|c| match c.alt {
                Some((a, p)) => format!("{}{:.3}/{}{:.3}", c.ch, c.prob, a, p),
                None => format!("{}{:.3}", c.ch, c.prob),
            })
            .collect();
        println!("{} {} {:.4}  [{}]", f.rsplit('/').next().unwrap_or(f), r.text, r.conf, detail.join(" "));
    }
}
