"""Blocks → an HTML page (A4 print CSS) for Chromium's --print-to-pdf and WeasyPrint."""

import html
import os

from model import Cell, Heading, Para, SealBlock, Spacer, Table, Title


def _e(s):
    return html.escape(s, quote=True)


def render(form, spacer_mm=0.0, base_dir="."):
    """The HTML text; `spacer_mm` of blank space before the item table's heading
    (layout `continued`), images referenced relative to `base_dir`."""
    f = form
    valign = "middle" if f.valign == "middle" else "top"
    css = f"""
@page {{ size: A4; margin: 20mm 25mm 22mm 25mm; }}
html {{ -webkit-print-color-adjust: exact; }}
body {{ font-family: "{f.font}"; font-size: 10.5pt; margin: 0; line-height: 1.35; }}
h1 {{ font-family: "{f.title_font}"; text-align: center; font-weight: bold; margin: 0 0 5mm 0; }}
h2 {{ font-size: 12pt; font-weight: bold; margin: 4mm 0 2mm 0; font-family: "{f.title_font}"; }}
p {{ margin: 1.2mm 0; }}
table {{ border-collapse: collapse; table-layout: fixed; }}
table.ruled td, table.ruled th {{ border: 0.6pt solid #000; }}
td, th {{ padding: 1mm 1.3mm; vertical-align: {valign}; overflow-wrap: anywhere; font-weight: normal; text-align: left; }}
th {{ text-align: center; }}
thead {{ display: table-header-group; }}
tr {{ break-inside: avoid; }}
.sealblock {{ position: relative; break-inside: avoid; page-break-inside: avoid; }}
.sealblock img {{ position: absolute; }}
"""
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           f"<title>{_e(_title(f))}</title><style>{css}</style></head><body>"]
    for i, b in enumerate(f.blocks):
        if isinstance(b, Title):
            out.append(f'<h1 style="font-size:{b.size}pt">{_e(b.text)}</h1>')
        elif isinstance(b, Heading):
            if spacer_mm and i + 1 < len(f.blocks) and getattr(f.blocks[i + 1], "item_table", False):
                out.append(f'<div style="height:{spacer_mm:.1f}mm"></div>')
            out.append(f"<h2>{_e(b.text)}</h2>")
        elif isinstance(b, Para):
            ind = f"padding-left:{b.indent_mm}mm;" if b.indent_mm else ""
            out.append(f'<p style="font-size:{b.size}pt;text-align:{b.align};{ind}">{_e(b.text)}</p>')
        elif isinstance(b, Spacer):
            out.append(f'<div style="height:{b.mm}mm"></div>')
        elif isinstance(b, Table):
            out.append(_table(b))
        elif isinstance(b, SealBlock):
            out.append(_seal(b, base_dir))
    out.append("</body></html>")
    return "\n".join(out)


def _title(f):
    for b in f.blocks:
        if isinstance(b, Title):
            return b.text
    return ""


def _cell(c: Cell, tag="td"):
    span = f' colspan="{c.span}"' if c.span > 1 else ""
    style = ' style="text-align:center"' if c.align == "center" else ""
    return f"<{tag}{span}{style}>{_e(c.text)}</{tag}>"


def _table(t: Table):
    width = sum(t.widths_mm)
    cls = "ruled" if t.ruled else "plain"
    out = [f'<table class="{cls}" style="width:{width:.1f}mm;font-size:{t.size}pt">', "<colgroup>"]
    out += [f'<col style="width:{w:.1f}mm">' for w in t.widths_mm]
    out.append("</colgroup>")
    rows = t.rows
    if t.header_rows:
        out.append("<thead>")
        for r in rows[: t.header_rows]:
            out.append("<tr>" + "".join(_cell(c, "th") for c in r) + "</tr>")
        out.append("</thead>")
        rows = rows[t.header_rows:]
    out.append("<tbody>")
    for r in rows:
        out.append("<tr>" + "".join(_cell(c) for c in r) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _seal(s: SealBlock, base_dir):
    out = ['<div class="sealblock">', f"<h2>{_e(s.heading)}</h2>",
           f'<p style="font-size:{s.size}pt;text-indent:2em">{_e(s.commitment)}</p>',
           '<div style="height:14mm"></div>',
           f'<p style="font-size:{s.size}pt;margin-left:90mm">{_e(s.sign_line)}</p>',
           '<div style="position:relative;margin-left:90mm;margin-top:4mm">',
           f'<p style="font-size:{s.size}pt;margin:0">{_e(s.fill_label)}{_e(s.colon)}{_e(s.fill_value)}</p>']
    if s.seal_png:
        src = os.path.relpath(s.seal_png, base_dir)
        left = s.seal_dx_mm - s.seal_mm / 2
        top = s.seal_dy_mm - s.seal_mm / 2
        out.append(f'<img src="{_e(src)}" style="position:absolute;left:{left:.1f}mm;top:{top:.1f}mm;'
                   f'width:{s.seal_mm:.1f}mm;height:{s.seal_mm:.1f}mm">')
    out.append("</div></div>")
    return "\n".join(out)
