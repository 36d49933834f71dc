"""Round official seals drawn with PIL: a ring, a five-pointed star and the unit's full name
along the upper arc. `electronic` gives the clean red PNG with transparency that e-seal
software places on a born-digital form; `ink` gives the same design as a rubber stamp leaves it
(uneven ink, gaps, slightly rotated), as an alpha mask plus colour for multiply blending.

The design depends only on (text, diameter, seed), so one seal reused on two units' forms is the
same image on both (truth.json `seal.kind` = reused)."""

import math
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SEAL_FONTS = [
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
]


def _font(path_idx, size):
    for p in SEAL_FONTS[path_idx:] + SEAL_FONTS:
        try:
            # index 2 = SC in the Noto CJK collections (J, K, SC, TC, HK)
            return ImageFont.truetype(p, size, index=2 if "Noto" in p else 0)
        except OSError:
            continue
    raise SystemExit("no CJK font for the seal (apt-get install fonts-noto-cjk)")


def _star(draw, cx, cy, r, fill):
    pts = []
    for k in range(10):
        rad = r if k % 2 == 0 else r * 0.382
        a = math.pi / 2 + k * math.pi / 5
        pts.append((cx + rad * math.cos(a), cy - rad * math.sin(a)))
    draw.polygon(pts, fill=fill)


def seal_mask(text, diameter_mm, seed, dpi):
    """The seal's ink as an 8-bit mask (255 = ink), square, `diameter_mm` across at `dpi`."""
    rng = random.Random(f"{text}|{diameter_mm:.1f}|{seed}")
    ss = 3  # supersampling
    d = diameter_mm / 25.4 * dpi * ss
    pad = int(d * 0.04) + 2
    size = int(d) + 2 * pad
    im = Image.new("L", (size, size), 0)
    dr = ImageDraw.Draw(im)
    c = size / 2
    r = d / 2
    ring = d * rng.uniform(0.028, 0.036)
    dr.ellipse([c - r, c - r, c + r, c + r], fill=255)
    dr.ellipse([c - r + ring, c - r + ring, c + r - ring, c + r - ring], fill=0)
    _star(dr, c, c, d * rng.uniform(0.15, 0.17), 255)
    # the name along the upper arc, tops outward
    chars = list(text)
    n = len(chars)
    span = min(250.0, max(120.0, 17.0 * n)) * rng.uniform(0.97, 1.03)
    ch = d * (0.16 if n <= 10 else 0.14 if n <= 14 else 0.12 if n <= 18 else 0.105)
    font = _font(rng.randrange(2), int(ch))
    rr = r - ring - d * 0.025 - ch / 2
    for i, chr_ in enumerate(chars):
        theta = math.radians(90 + span / 2 - (i * span / (n - 1) if n > 1 else span / 2))
        x = c + rr * math.cos(theta)
        y = c - rr * math.sin(theta)
        g = Image.new("L", (int(ch * 1.6), int(ch * 1.6)), 0)
        gd = ImageDraw.Draw(g)
        # squeeze horizontally a little, as seal engravers do
        gd.text((g.width / 2, g.height / 2), chr_, font=font, fill=255, anchor="mm")
        g = g.resize((int(g.width * 0.82), g.height))
        g = g.rotate(math.degrees(theta) - 90, resample=Image.BICUBIC, expand=True)
        im.paste(255, (int(x - g.width / 2), int(y - g.height / 2)), g)
    out = size // ss
    return im.resize((out, out), Image.LANCZOS)


def electronic(text, diameter_mm, seed, dpi=200):
    """An RGBA PNG: flat red ink, slightly translucent, transparent elsewhere."""
    rng = random.Random(seed)
    m = seal_mask(text, diameter_mm, seed, dpi)
    color = (rng.randint(210, 235), rng.randint(20, 40), rng.randint(25, 45))
    alpha = m.point(lambda v: int(v * 0.92))
    rgba = Image.new("RGBA", m.size, color + (0,))
    rgba.putalpha(alpha)
    return rgba


def ink(text, diameter_mm, seed, dpi, rng):
    """(mask, colour) of a rubber stamp: uneven ink, worn spots, rotated a little.
    `rng` is a random.Random; numpy noise is seeded from it (deterministic)."""
    import numpy as np

    m = seal_mask(text, diameter_mm, seed, dpi)
    w, h = m.size
    npr = np.random.default_rng(rng.randrange(1 << 30))
    # low-frequency ink density 0.5..1
    low = npr.random((max(4, h // 35), max(4, w // 35))).astype(np.float32)
    low = np.asarray(Image.fromarray((low * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC), np.float32) / 255
    density = 0.5 + 0.5 * np.clip((low - 0.2) / 0.6, 0, 1)
    speck = (npr.random((h, w)) > 0.12).astype(np.float32)
    a = np.asarray(m, np.float32) / 255 * density * speck
    m = Image.fromarray((a * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))
    m = m.rotate(rng.uniform(-12, 12), resample=Image.BICUBIC)
    color = (rng.randint(190, 225), rng.randint(25, 60), rng.randint(35, 70))
    return m, color
