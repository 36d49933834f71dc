"""What a form says and how it is laid out, independent of the producer.

Values are printed from the generator's truth.json exactly as the generator prints them
(src/samples/fmt.rs, pdfgen.rs `Form::values`, legacy.rs): the same date, phone, budget and code
styles and the same label variants (`form_style`), so a perfect reader gets truth.json back.

A form is a list of blocks (Title, Para, Heading, Table, Spacer, SealBlock); the renderers in
render_*.py turn blocks into .docx, HTML or Typst."""

from dataclasses import dataclass, field

STD_LABELS = {
    "declaration_id": "申报编号",
    "category": "赛事类别",
    "event_name": "赛事名称",
    "unit_name": "申报单位",
    "credit_code": "统一社会信用代码",
    "unit_type": "单位类型",
    "supervisor": "主管部门",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "managers": "管理人员（人）",
    "experts_judges": "专家裁判人员（人）",
    "budget_wan": "经费预算（万元）",
    "funding_source": "经费来源",
    "venue": "竞赛场地",
    "fill_date": "填报日期",
}
ITEM_HEADERS = ["序号", "竞赛职业（工种）", "职业编码", "承办单位", "承办地", "计划开始日期", "计划结束日期", "预计参赛人数"]
LEGACY_ITEM_HEADERS = ["序号", "竞赛工种", "职业代码", "承办单位", "举办地点", "竞赛时间", "参赛人数"]
TITLE_2024 = "2024年“巴渝工匠”杯职业技能竞赛申报表"
COMMITMENT = "本单位承诺以上信息真实有效。"

BASIC_KEYS = ["category", "event_name", "unit_name", "credit_code", "unit_type", "supervisor", "contact_name", "contact_phone"]
LEGACY_BASIC_KEYS = ["unit_name", "credit_code", "unit_type", "event_name", "category", "supervisor", "contact_name", "contact_phone"]
COND_KEYS = ["managers", "experts_judges", "budget_wan", "funding_source", "venue"]


# ---------------------------------------------------------------------------- value printing
def _ymd(iso):
    y, m, d = iso.split("-")
    return int(y), int(m), int(d)


def cn_date(iso):
    y, m, d = _ymd(iso)
    return f"{y}年{m}月{d}日"


def date(iso, style):
    if iso is None:
        return ""
    y, m, d = _ymd(iso)
    if style == "iso":
        return iso
    if style == "slash":
        return f"{y}/{m}/{d}"
    return cn_date(iso)


def legacy_date(iso, dot):
    return iso.replace("-", ".") if dot else cn_date(iso)


def legacy_range(s, e, dot):
    if s == e:
        return legacy_date(s, dot)
    (ys, _, _), (ye, me, de) = _ymd(s), _ymd(e)
    if not dot:
        return f"{cn_date(s)}至{me}月{de}日" if ys == ye else f"{cn_date(s)}至{cn_date(e)}"
    return f"{legacy_date(s, True)}-{e[5:].replace('-', '.')}" if ys == ye else f"{legacy_date(s, True)}-{legacy_date(e, True)}"


def phone(digits, style):
    if not digits:
        return ""
    mobile = len(digits) == 11 and digits.startswith("1")
    landline = len(digits) == 11 and digits.startswith("023")
    if style == 1 and mobile:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 1 and landline:
        return f"023-{digits[3:]}"
    if style == 2 and landline:
        return f"(023){digits[3:]}"
    return digits


def fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def budget(b, two):
    if b is None:
        return ""
    if two:
        return f"{b:.2f}"
    if float(b) == int(b):
        return str(int(b))
    return repr(float(b))


def text(v):
    return "" if v is None else str(v)


class Values:
    """The strings a form prints for one truth.json declaration."""

    def __init__(self, t):
        self.t = t
        self.f = t["fields"]
        self.st = t.get("form_style") or {}
        self.legacy = bool(t.get("legacy"))
        self.labels = dict(STD_LABELS)
        self.labels.update(self.st.get("labels") or {})
        self.colon = self.st.get("colon", "：")

    def label(self, key):
        return self.labels[key]

    def value(self, key):
        f, st = self.f, self.st
        if key == "credit_code":
            c = text(f["credit_code"])
            if self.legacy:
                if st.get("org_code_hyphen") and len(c) == 9:
                    return f"{c[:8]}-{c[8]}"
                return c
            return fullwidth(c) if st.get("credit_code_fullwidth") else c
        if key == "contact_phone":
            return phone(f["contact_phone"], st.get("phone_style", 0))
        if key == "budget_wan":
            return budget(f["budget_wan"], st.get("budget_two_decimals", False))
        if key == "fill_date":
            if f["fill_date"] is None:
                return ""
            if self.legacy:
                return legacy_date(f["fill_date"], st.get("date_style") == "legacy-dot")
            return cn_date(f["fill_date"])
        return text(f[key])

    def item_headers(self):
        return LEGACY_ITEM_HEADERS if self.legacy else ITEM_HEADERS

    def item_rows(self):
        rows = []
        full = self.st.get("occupation_code_fullwidth", False)
        ds = self.st.get("date_style", "cn")
        for i, it in enumerate(self.t["items"]):
            code = text(it["occupation_code"])
            if full:
                code = code.replace("-", "－")
            if self.legacy:
                dot = ds == "legacy-dot"
                rows.append([str(i + 1), text(it["occupation"]), code, text(it["undertaker"]), text(it["host_location"]),
                             legacy_range(it["start_date"], it["end_date"], dot), text(it["participants"])])
            else:
                rows.append([str(i + 1), text(it["occupation"]), code, text(it["undertaker"]), text(it["host_location"]),
                             date(it["start_date"], ds), date(it["end_date"], ds), text(it["participants"])])
        return rows


# ---------------------------------------------------------------------------- blocks
@dataclass
class Cell:
    text: str
    span: int = 1
    label: bool = False
    align: str = "left"  # left | center


@dataclass
class Title:
    text: str
    size: float = 16


@dataclass
class Para:
    text: str
    size: float = 10.5
    align: str = "left"
    indent_mm: float = 0


@dataclass
class Heading:
    text: str


@dataclass
class Table:
    widths_mm: list
    rows: list  # list of list of Cell
    header_rows: int = 0  # repeated on every page
    ruled: bool = True
    valign: str = "middle"  # middle | top
    size: float = 10.5
    role: str = "basic"  # basic | items | conditions | item-block
    item_table: bool = False  # the spacer of the `continued` layout goes before it


@dataclass
class Spacer:
    mm: float


@dataclass
class SealBlock:
    heading: str
    commitment: str
    sign_line: str  # 申报单位（盖章）：
    fill_label: str
    fill_value: str
    colon: str
    seal_png: str = None  # electronic seal (born-digital), or None
    seal_mm: float = 40
    seal_dx_mm: float = 0  # seal centre relative to the start of the fill-date line
    seal_dy_mm: float = 0
    size: float = 10.5


@dataclass
class Form:
    blocks: list
    font: str
    title_font: str
    layout: str
    valign: str
    spaced_labels: bool = False
    meta: dict = field(default_factory=dict)


FONTS = [
    # (family as fontconfig/Typst/LibreOffice name it, kind)
    ("Noto Serif CJK SC", "song"),
    ("AR PL UMing CN", "song"),
    ("AR PL UKai CN", "kai"),
    ("WenQuanYi Micro Hei", "hei"),
    ("Noto Serif CJK SC", "song"),
]
TITLE_FONTS = ["Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei"]


def spaced(label):
    """`联 系 人`: short labels spread out with spaces, as people justify them."""
    if len(label) <= 4 and all(not c.isascii() for c in label):
        return " ".join(label)
    return label


def _widths(rng, total, parts):
    """Column widths (mm) from weights with some jitter, summing to `total`."""
    w = [p * rng.uniform(0.9, 1.1) for p in parts]
    s = sum(w)
    return [round(x * total / s, 1) for x in w]


def build(t, layout, rng, seal_png=None):
    """The blocks of one declaration's form in `layout`."""
    v = Values(t)
    font = rng.choice([f for f, _ in FONTS])
    title_font = rng.choice(TITLE_FONTS)
    valign = rng.choice(["middle", "top"])
    size = rng.choice([10.5, 10.5, 11, 12])
    spaced_labels = layout == "two-column" and rng.random() < 0.5
    L = (lambda k: spaced(v.label(k))) if spaced_labels else v.label
    total = 160.0  # text width, mm
    blocks = []
    title = t.get("title") or TITLE_2024
    blocks.append(Title(title, rng.choice([16, 18])))
    legacy = v.legacy
    basic_keys = LEGACY_BASIC_KEYS if legacy else BASIC_KEYS
    id_line = None if legacy else f"{v.label('declaration_id')}{v.colon}{t['fields']['declaration_id']}"

    def lines(keys):
        return [Para(f"{L(k)}{v.colon}{v.value(k)}", size, indent_mm=rng.choice([0, 0, 7.4])) for k in keys]

    def grid(keys, with_id):
        lw = rng.uniform(20, 25)
        vw = (total - 2 * lw) / 2
        vw1 = vw * rng.uniform(0.85, 1.15)
        widths = [round(lw, 1), round(vw1, 1), round(lw, 1), round(2 * vw - vw1, 1)]
        pairs = [("declaration_id", t["fields"]["declaration_id"])] if with_id else []
        pairs += [(k, v.value(k)) for k in keys]
        rows = []
        for i in range(0, len(pairs), 2):
            a = pairs[i:i + 2]
            if len(a) == 2:
                rows.append([Cell(L(a[0][0]), label=True), Cell(a[0][1]), Cell(L(a[1][0]), label=True), Cell(a[1][1])])
            else:
                rows.append([Cell(L(a[0][0]), label=True), Cell(a[0][1], span=3)])
        return Table(widths, rows, ruled=True, valign=valign, size=size)

    def two_col(keys, with_id, role="basic"):
        lw = rng.uniform(30, 42)
        vw = rng.uniform(60, 100)
        pairs = [("declaration_id", t["fields"]["declaration_id"])] if with_id else []
        pairs += [(k, v.value(k)) for k in keys]
        rows = [[Cell(L(k), label=True, align=rng.choice(["left", "center"]) if False else "left"), Cell(val)] for k, val in pairs]
        return Table([round(lw, 1), round(vw, 1)], rows, ruled=True, valign=valign, size=size, role=role)

    def item_table(ruled=True, header_repeat=True):
        headers = v.item_headers()
        if legacy:
            parts = [9, 22, 14, 30, 14, 30, 12]
        else:
            parts = [9, 20, 13, 28, 13, 19, 19, 13]
        widths = _widths(rng, total * rng.uniform(0.9, 1.0), parts)
        widths[0] = max(widths[0], 2 * size * 25.4 / 72 + 3.5)  # 序号 stays on one line
        rows = [[Cell(h, label=True, align="center") for h in headers]]
        for r in v.item_rows():
            rows.append([Cell(x, align="center" if j in (0, len(r) - 1) else "left") for j, x in enumerate(r)])
        return Table(widths, rows, header_rows=1 if header_repeat else 0, ruled=ruled, valign=valign,
                     size=size if ruled else min(size, 10.5), role="items", item_table=True)

    def item_blocks():
        out = []
        headers = v.item_headers()[1:]
        lw = rng.uniform(24, 30)
        vw = rng.uniform(40, 55)
        for i, r in enumerate(v.item_rows()):
            out.append(Para(f"项目{i + 1}", size))
            rows = [[Cell(h, label=True), Cell(x)] for h, x in zip(headers, r[1:])]
            out.append(Table([round(lw, 1), round(vw, 1)], rows, ruled=True, valign=valign, size=size, role="item-block"))
        return out

    # 一、基本信息
    if layout in ("lines", "borderless"):
        if id_line:
            blocks.append(Para(id_line, size, align=rng.choice(["left", "right"])))
        blocks.append(Heading("一、基本信息"))
        blocks += lines(basic_keys)
    elif layout in ("two-column", "stacked"):
        if id_line and rng.random() < 0.5:
            blocks.append(Para(id_line, size, align="right"))
            blocks.append(Heading("一、基本信息"))
            blocks.append(two_col(basic_keys, False))
        else:
            blocks.append(Heading("一、基本信息"))
            blocks.append(two_col(basic_keys, not legacy))
    else:  # grid, continued
        blocks.append(Heading("一、基本信息"))
        blocks.append(grid(basic_keys, not legacy))
    # 二、竞赛项目
    blocks.append(Heading("二、竞赛项目"))
    if layout == "stacked":
        blocks += item_blocks()
    elif layout == "borderless":
        blocks.append(item_table(ruled=False, header_repeat=False))
    else:
        blocks.append(item_table())
    # 三、办赛条件
    blocks.append(Heading("三、办赛条件"))
    if layout in ("lines", "borderless"):
        blocks += lines(COND_KEYS)
    elif layout in ("two-column", "stacked"):
        blocks.append(two_col(COND_KEYS, False, role="conditions"))
    else:
        tb = grid(COND_KEYS, False)
        tb.role = "conditions"
        blocks.append(tb)
    # 四、申报单位（盖章）
    blocks.append(SealBlock(
        heading="四、申报单位（盖章）",
        commitment=COMMITMENT,
        sign_line=f"申报单位（盖章）{v.colon}",
        fill_label=v.label("fill_date"),
        fill_value=v.value("fill_date"),
        colon=v.colon,
        seal_png=seal_png,
        seal_mm=float((t.get("seal") or {}).get("diameter_mm") or 40),
        seal_dx_mm=rng.uniform(8, 30),
        seal_dy_mm=rng.uniform(-14, -4),
        size=size,
    ))
    return Form(blocks, font, title_font, layout, valign, spaced_labels,
                meta={"font": font, "title_font": title_font, "valign": valign, "font_size": size,
                      "spaced_labels": spaced_labels})
