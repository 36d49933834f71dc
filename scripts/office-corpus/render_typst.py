"""Blocks → Typst markup, compiled with the `typst` PyPI package (the Typst compiler)."""

import os

from model import Heading, Para, SealBlock, Spacer, Table, Title


def _s(text):
    """A Typst string literal: the text verbatim (no markup, no `--` ligatures)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_TF = ["Noto Sans CJK SC"]


def render(form, spacer_mm=0.0, base_dir="."):
    f = form
    out = [
        '#set page(paper: "a4", margin: (left: 25mm, right: 25mm, top: 20mm, bottom: 22mm))',
        f'#set text(font: ("{f.font}", "Noto Serif CJK SC"), size: 10.5pt, lang: "zh", region: "cn")',
        "#set par(leading: 0.55em, spacing: 0.6em)",
    ]
    _TF[0] = f.title_font
    for i, b in enumerate(f.blocks):
        if isinstance(b, Title):
            out.append(f'#align(center, text(font: "{f.title_font}", size: {b.size}pt, weight: "bold", {_s(b.text)}))')
            out.append("#v(3mm)")
        elif isinstance(b, Heading):
            if spacer_mm and i + 1 < len(f.blocks) and getattr(f.blocks[i + 1], "item_table", False):
                out.append(f"#v({spacer_mm:.1f}mm)")
            out.append("#v(2mm)")
            out.append(f'#text(font: "{f.title_font}", size: 12pt, weight: "bold", {_s(b.text)})')
            out.append("#v(1mm)")
        elif isinstance(b, Para):
            body = f"text(size: {b.size}pt, {_s(b.text)})"
            if b.indent_mm:
                body = f"pad(left: {b.indent_mm}mm, {body})"
            out.append(f"#align({b.align}, {body})")
        elif isinstance(b, Spacer):
            out.append(f"#v({b.mm}mm)")
        elif isinstance(b, Table):
            out.append(_table(b))
        elif isinstance(b, SealBlock):
            out.append(_seal(b, base_dir))
    return "\n".join(out) + "\n"


def _cell(c, header=False):
    args = []
    if c.span > 1:
        args.append(f"colspan: {c.span}")
    if c.align == "center":
        args.append("align: center + horizon" if False else "align: center")
    body = f"[#{_s(c.text)}]" if c.text else "[]"
    if args:
        return f"table.cell({', '.join(args)})" + body
    return body


def _table(t: Table):
    widths = list(t.widths_mm)
    if t.role == "items":
        # Typst breaks no line after a hyphen before a digit (UAX 14): a code column as narrow
        # as the others would overflow its cell, so it gets room for the code
        need = 7 * 0.5 * t.size * 25.4 / 72 + 2.8
        if widths[2] < need:
            widths[3] -= need - widths[2]
            widths[2] = need
    cols = ", ".join(f"{w:.1f}mm" for w in widths)
    stroke = "0.6pt" if t.ruled else "none"
    valign = "horizon" if t.valign == "middle" else "top"
    lines = [f"#text(size: {t.size}pt, table(", f"  columns: ({cols},),", f"  stroke: {stroke},",
             f"  inset: (x: 1.3mm, y: 1.1mm),", f"  align: left + {valign},"]
    rows = t.rows
    if t.header_rows:
        hdr = ", ".join(_cell(c, True) for r in rows[: t.header_rows] for c in r)
        lines.append(f"  table.header(repeat: true, {hdr}),")
        rows = rows[t.header_rows:]
    for r in rows:
        lines.append("  " + ", ".join(_cell(c) for c in r) + ",")
    lines.append("))")
    return "\n".join(lines)


def _seal(s: SealBlock, base_dir):
    img = ""
    if s.seal_png:
        src = os.path.relpath(s.seal_png, base_dir)
        img = (f'place(top + left, dx: {s.seal_dx_mm - s.seal_mm / 2:.1f}mm, dy: {s.seal_dy_mm - s.seal_mm / 2:.1f}mm, '
               f'image({_s(src)}, width: {s.seal_mm:.1f}mm))')
    fill = f"text(size: {s.size}pt, {_s(s.fill_label + s.colon + s.fill_value)})"
    parts = [
        "v(4mm)",
        f'text(font: "{_TF[0]}", size: 12pt, weight: "bold", {_s(s.heading)})',
        "v(2mm)",
        f"pad(left: {s.size * 2}pt, text(size: {s.size}pt, {_s(s.commitment)}))",
        "v(14mm)",
        f"pad(left: 90mm, text(size: {s.size}pt, {_s(s.sign_line)}))",
        "v(4mm)",
        f"pad(left: 90mm, block({fill}{' + ' + img if img else ''}))",
    ]
    # the signature block stays on one page, as people keep it
    return "#block(breakable: false, width: 100%, stack(dir: ttb,\n  " + ",\n  ".join(parts) + "))"
