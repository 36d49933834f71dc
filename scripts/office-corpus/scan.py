"""Print-and-scan: an office PDF rasterised by pdftoppm (poppler), stamped with a red ink seal over
the fill date, put on greyish/yellowish paper, skewed, blurred, noised, and saved as a JPEG, PNG,
multi-page TIFF or image-only PDF; or photographed with a phone (perspective, a darker desk)."""

import io
import math
import os
import re
import subprocess
import tempfile

import numpy as np
from PIL import Image, ImageFilter

import seal as sealmod

PAPERS = [(238, 236, 230), (242, 239, 228), (232, 232, 230), (240, 235, 220), (236, 233, 226)]


def words(pdf):
    """[(page 0-based, xMin, yMin, xMax, yMax, text)] in points from `pdftotext -bbox`, and the
    page sizes."""
    out = subprocess.run(["pdftotext", "-bbox", pdf, "-"], capture_output=True, text=True, check=True).stdout
    res, sizes = [], []
    page = -1
    for line in out.splitlines():
        m = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', line)
        if m:
            page += 1
            sizes.append((float(m.group(1)), float(m.group(2))))
            continue
        m = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if m:
            res.append((page, float(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4)), m.group(5)))
    return res, sizes


def fill_date_place(pdf, fill_label):
    """(page, x, y) in points of the fill-date line's start (the last word with the label)."""
    ws, sizes = words(pdf)
    hits = [w for w in ws if fill_label in w[5] or "日期" in w[5]]
    if not hits:
        p = len(sizes) - 1
        return p, sizes[p][0] * 0.6, sizes[p][1] * 0.8
    w = hits[-1]
    return w[0], w[1], w[2]


def rasterise(pdf, dpi, gray):
    with tempfile.TemporaryDirectory() as d:
        args = ["pdftoppm", "-r", str(dpi), "-png"] + (["-gray"] if gray else []) + [pdf, os.path.join(d, "p")]
        subprocess.run(args, check=True)
        files = sorted(os.listdir(d), key=lambda s: int(re.search(r"(\d+)\.png$", s).group(1)))
        return [Image.open(os.path.join(d, f)).convert("RGB").copy() for f in files]


def _lowfreq(npr, h, w, cells=6):
    g = npr.random((cells, cells)).astype(np.float32)
    im = Image.fromarray((g * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
    return np.asarray(im, np.float32) / 255


def degrade(img, paper, npr, ink_grey, shade):
    a = np.asarray(img, np.float32) / 255  # 1 = white paper, 0 = black print
    h, w = a.shape[:2]
    p = np.array(paper, np.float32)[None, None, :] * (1 - shade * _lowfreq(npr, h, w))[..., None]
    out = ink_grey + (p - ink_grey) * a
    return out


def stamp(arr, mask, color, cx, cy):
    m = np.asarray(mask, np.float32) / 255
    h, w = m.shape
    x0, y0 = int(cx - w / 2), int(cy - h / 2)
    H, W = arr.shape[:2]
    xs, ys = max(0, x0), max(0, y0)
    xe, ye = min(W, x0 + w), min(H, y0 + h)
    if xe <= xs or ye <= ys:
        return
    mm = m[ys - y0:ye - y0, xs - x0:xe - x0][..., None]
    c = np.array(color, np.float32)[None, None, :] / 255
    arr[ys:ye, xs:xe] *= (1 - mm) + mm * c


def make(pdf, out_stem, spec, rng):
    """Writes `out_stem.<ext>`; returns (file name, info for truth.json).

    spec: kind (scan|photo), fmt (jpg|png|tif|pdf), gray, dpi, quality, seal_text, seal_mm,
    seal_seed, fill_label."""
    npr = np.random.default_rng(rng.randrange(1 << 30))
    dpi = spec["dpi"]
    pages = rasterise(pdf, dpi, False)
    paper = rng.choice(PAPERS)
    ink_grey = rng.uniform(20, 55)
    blur = rng.choice([0.4, 0.6, 0.8, 1.0])
    # lossless formats stay small only without much noise (and with fewer grey levels)
    lossless = spec["fmt"] in ("png", "tif")
    sigma = rng.uniform(0.6, 1.2) if lossless else rng.uniform(2.0, 5.5)
    skew = rng.choice([-1, 1]) * rng.uniform(0.3, 2.0)
    seal_page, sx, sy = fill_date_place(pdf, spec["fill_label"])
    k = dpi / 72.0
    info_seal = None
    outs = []
    for i, pg in enumerate(pages):
        arr = degrade(pg, paper, npr, ink_grey, rng.uniform(0.02, 0.06))
        if spec.get("seal_text") and i == seal_page:
            mask, color = sealmod.ink(spec["seal_text"], spec["seal_mm"], spec["seal_seed"], dpi, rng)
            cx = (sx + rng.uniform(15, 40) / 25.4 * 72) * k
            cy = (sy - rng.uniform(2, 12) / 25.4 * 72) * k
            r = mask.size[0] / 2
            cx = min(max(cx, r + 10), arr.shape[1] - r - 10)
            stamp(arr, mask, color, cx, cy)
            info_seal = {"seal_page": i + 1, "seal_center_px_before_skew": [round(cx, 1), round(cy, 1)],
                         "seal_diameter_px": round(spec["seal_mm"] / 25.4 * dpi, 1), "seal_color": list(color),
                         "seal_text": spec["seal_text"]}
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        if spec["kind"] == "photo":
            im = photo(im, rng, npr)
        else:
            im = im.rotate(skew, resample=Image.BICUBIC, expand=False, fillcolor=(246, 246, 244))
        im = im.filter(ImageFilter.GaussianBlur(blur))
        a = np.asarray(im, np.float32) + npr.normal(0, sigma, (im.height, im.width, 1)).astype(np.float32)
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        if spec["gray"]:
            im = im.convert("L")
        if lossless:
            im = im.point(lambda v: (v // 8) * 8 + 4)
        outs.append(im)
    fmt = spec["fmt"]
    q = spec["quality"]
    file = f"{out_stem}.{fmt}"
    dpi_t = (dpi, dpi)
    if fmt == "jpg":
        outs[0].save(file, "JPEG", quality=q, dpi=dpi_t, optimize=True)
    elif fmt == "png":
        outs[0].save(file, "PNG", dpi=dpi_t, optimize=False, compress_level=9)
    elif fmt == "tif":
        outs[0].save(file, "TIFF", save_all=True, append_images=outs[1:], compression="tiff_adobe_deflate", dpi=dpi_t)
    else:
        import img2pdf

        jpgs = []
        for im in outs:
            b = io.BytesIO()
            im.save(b, "JPEG", quality=q, dpi=dpi_t)
            jpgs.append(b.getvalue())
        with open(file, "wb") as f:
            f.write(img2pdf.convert(jpgs, producer=rng.choice(["Canon MF Scan Utility", "EPSON Scan", "CamScanner"]),
                                    nodate=True))
    info = {
        "format": fmt, "pages": len(outs), "dpi": dpi, "width": outs[0].width, "height": outs[0].height,
        "color": "gray" if spec["gray"] else "rgb", "source": "phone" if spec["kind"] == "photo" else "scanner",
        "skew_deg": round(skew, 2) if spec["kind"] != "photo" else None,
        "jpeg_quality": q if fmt in ("jpg", "pdf") or spec["kind"] == "photo" else None,
        "blur_radius": blur, "noise_sigma": round(sigma, 2), "paper": list(paper), "rasteriser": "pdftoppm",
        "seal": info_seal is not None,
    }
    if info_seal:
        info.update(info_seal)
    return os.path.basename(file), info


def _coeffs(src, dst):
    """PIL PERSPECTIVE coefficients mapping output (dst) points to input (src) points."""
    A, B = [], []
    for (x, y), (u, v) in zip(dst, src):
        A.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        A.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        B += [u, v]
    return np.linalg.solve(np.array(A, float), np.array(B, float)).tolist()


def photo(page, rng, npr):
    """The page photographed on a desk: perspective, a darker border, uneven light, downscaled."""
    w, h = page.size
    W, H = int(w * 1.18), int(h * 1.14)
    desk = np.zeros((H, W, 3), np.float32)
    base = np.array(rng.choice([(92, 78, 64), (70, 70, 74), (120, 100, 80)]), np.float32)
    desk[:] = base * (0.8 + 0.4 * _lowfreq(npr, H, W, 4))[..., None]
    desk_im = Image.fromarray(desk.astype(np.uint8))
    mx, my = (W - w) / 2, (H - h) / 2
    j = lambda s: rng.uniform(-s, s)
    dst = [(mx + j(60), my + j(50)), (mx + w + j(60), my + j(50) + 30), (mx + w + j(40) - 40, my + h + j(40)),
           (mx + j(40) + 30, my + h + j(40))]
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    warped = page.transform((W, H), Image.PERSPECTIVE, _coeffs(src, dst), Image.BICUBIC, fillcolor=None)
    mask = Image.new("L", page.size, 255).transform((W, H), Image.PERSPECTIVE, _coeffs(src, dst), Image.BILINEAR)
    desk_im.paste(warped, (0, 0), mask)
    a = np.asarray(desk_im, np.float32)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    light = 1.0 - 0.18 * ((xx / W - rng.uniform(0.3, 0.7)) ** 2 + (yy / H - rng.uniform(0.3, 0.7)) ** 2)
    a *= light[..., None]
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    scale = 3000 / H
    return im.resize((int(W * scale), int(H * scale)), Image.LANCZOS)
