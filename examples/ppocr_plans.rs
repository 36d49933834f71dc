//! What the PP-OCR recogniser costs (issue 16): load time and memory, then for each input
//! width the time to make its plan (first line of that width), the time of a line after that,
//! and the heap the plan keeps (glibc's in-use bytes, so freed scratch memory does not count).
//! Run by `scripts/bench-ocr.sh`; `STEP=64` for more widths.

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .unwrap_or(0.0)
        / 1024.0
}

fn heap_mb() -> f64 {
    // SAFETY: mallinfo2 only reads glibc's allocator statistics
    let m = unsafe { libc::mallinfo2() };
    (m.uordblks + m.hblkhd) as f64 / 1048576.0
}

fn main() {
    let (r0, h0) = (rss_mb(), heap_mb());
    let t = std::time::Instant::now();
    let pp = shenbao::ocr::ppocr::PpOcr::load_default()
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        })
        // every width its own plan (by default lines are padded to 192 at least)
        .with_min_width(0);
    println!(
        "load (parse, checksum, the 320-px plan): {:.0} ms; RSS {:.1} → {:.1} MB, heap in use {:.1} → {:.1} MB",
        t.elapsed().as_secs_f64() * 1000.0,
        r0,
        rss_mb(),
        h0,
        heap_mb()
    );
    let mut last = heap_mb();
    for &w in &shenbao::ocr::ppocr::WIDTHS {
        // a line exactly as wide as the input (height 48: no resampling)
        let g = image::GrayImage::from_fn(w, 48, |x, y| image::Luma([if (x / 7 + y / 9) % 3 == 0 { 30 } else { 240 }]));
        let t = std::time::Instant::now();
        pp.recognize(&g).expect("recognise");
        let first = t.elapsed().as_secs_f64() * 1000.0;
        let t = std::time::Instant::now();
        for _ in 0..3 {
            pp.recognize(&g).expect("recognise");
        }
        let run = t.elapsed().as_secs_f64() * 1000.0 / 3.0;
        let now = heap_mb();
        println!("width {w:5}: first line {first:6.1} ms, then {run:6.1} ms a line; heap {now:6.1} MB (+{:.1})", now - last);
        last = now;
    }
    println!("all {} plans: RSS {:.1} MB, heap in use {:.1} MB", shenbao::ocr::ppocr::WIDTHS.len(), rss_mb(), heap_mb());
}
