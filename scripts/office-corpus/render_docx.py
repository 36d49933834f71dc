"""Blocks → a .docx written with python-docx, as a person sets one up in Word/WPS: fixed column
widths, 'Table Grid' rulings (none for a borderless table), the item table's header row marked
to repeat on every page, the electronic seal a floating picture in front of the text over the
fill date. LibreOffice headless turns it into PDF."""

import copy

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from model import Heading, Para, SealBlock, Spacer, Table, Title

ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}


def _font(run, name, size=None, bold=None):
    run.font.name = name
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for a in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(a), name)
    if size:
        run.font.size = Pt(size)
    if bold is not None:
        run.font.bold = bold


def _para(container, text, font, size, align="left", bold=False, before=0, after=0, indent_mm=0):
    p = container.add_paragraph()
    p.alignment = ALIGN[align]
    pf = p.paragraph_format
    pf.space_before = Pt(before)
    pf.space_after = Pt(after)
    if indent_mm:
        pf.left_indent = Mm(indent_mm)
    if text:
        _font(p.add_run(text), font, size, bold)
    return p


def render(form, path, spacer_mm=0.0):
    f = form
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.left_margin = sec.right_margin = Mm(25)
    sec.top_margin, sec.bottom_margin = Mm(20), Mm(22)
    normal = doc.styles["Normal"]
    normal.font.name = f.font
    normal.font.size = Pt(10.5)
    rpr = normal.element.get_or_add_rPr()
    rf = rpr.find(qn("w:rFonts"))
    if rf is None:
        rf = OxmlElement("w:rFonts")
        rpr.insert(0, rf)
    rf.set(qn("w:eastAsia"), f.font)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.1
    first = True
    for i, b in enumerate(f.blocks):
        if isinstance(b, Title):
            p = _para(doc, b.text, f.title_font, b.size, "center", bold=True, after=10)
            if first:
                # python-docx's template starts with no paragraph: fine
                pass
        elif isinstance(b, Heading):
            if spacer_mm and i + 1 < len(f.blocks) and getattr(f.blocks[i + 1], "item_table", False):
                sp = _para(doc, "", f.font, 10.5)
                sp.paragraph_format.space_before = Pt(spacer_mm / 25.4 * 72)
            _para(doc, b.text, f.title_font, 12, bold=True, before=8, after=4)
        elif isinstance(b, Para):
            _para(doc, b.text, f.font, b.size, b.align, before=2, after=2, indent_mm=b.indent_mm)
        elif isinstance(b, Spacer):
            sp = _para(doc, "", f.font, 10.5)
            sp.paragraph_format.space_before = Pt(b.mm / 25.4 * 72)
        elif isinstance(b, Table):
            _table(doc, b, f)
        elif isinstance(b, SealBlock):
            _seal(doc, b, f)
        first = False
    doc.core_properties.author = "申报单位"
    doc.core_properties.title = "申报表"
    doc.save(path)


def _table(doc, t: Table, f):
    ncols = len(t.widths_mm)
    tb = doc.add_table(rows=len(t.rows), cols=ncols)
    if t.ruled:
        tb.style = doc.styles["Table Grid"]
    tb.alignment = WD_TABLE_ALIGNMENT.CENTER
    tb.autofit = False
    tblpr = tb._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblpr.append(layout)
    # cell margins ~1.2 mm left/right
    mar = OxmlElement("w:tblCellMar")
    for side, v in (("left", 68), ("right", 68), ("top", 28), ("bottom", 28)):
        e = OxmlElement(f"w:{side}")
        e.set(qn("w:w"), str(v))
        e.set(qn("w:type"), "dxa")
        mar.append(e)
    tblpr.append(mar)
    grid = tb._tbl.tblGrid
    for gc, w in zip(grid.findall(qn("w:gridCol")), t.widths_mm):
        gc.set(qn("w:w"), str(int(w / 25.4 * 1440)))
    va = WD_CELL_VERTICAL_ALIGNMENT.CENTER if t.valign == "middle" else WD_CELL_VERTICAL_ALIGNMENT.TOP
    for ri, row in enumerate(t.rows):
        r = tb.rows[ri]
        if ri < t.header_rows:
            trpr = r._tr.get_or_add_trPr()
            h = OxmlElement("w:tblHeader")
            h.set(qn("w:val"), "true")
            trpr.append(h)
        # a row is not split over two pages (as Word's "allow row to break" unticked)
        trpr = r._tr.get_or_add_trPr()
        cs = OxmlElement("w:cantSplit")
        cs.set(qn("w:val"), "true")
        trpr.append(cs)
        ci = 0
        for c in row:
            cell = r.cells[ci]
            if c.span > 1:
                cell = cell.merge(r.cells[ci + c.span - 1])
            cell.width = Mm(sum(t.widths_mm[ci:ci + c.span]))
            cell.vertical_alignment = va
            p = cell.paragraphs[0]
            p.alignment = ALIGN[c.align]
            if c.text:
                _font(p.add_run(c.text), f.font, t.size, False)
            ci += c.span
        for cell in r.cells:
            if cell.width is None:
                cell.width = Mm(t.widths_mm[0])
    # python-docx puts a table straight after the previous paragraph; a small gap after it
    _para(doc, "", f.font, 4)


def _anchor(run, x_mm, y_mm):
    """Turns the run's inline picture into a floating one in front of the text, offset from the
    paragraph's column/top."""
    inline = run._r.find(".//" + qn("wp:inline"))
    anchor = OxmlElement("wp:anchor")
    for k, v in dict(distT="0", distB="0", distL="0", distR="0", simplePos="0", relativeHeight="251659264",
                     behindDoc="0", locked="0", layoutInCell="1", allowOverlap="1").items():
        anchor.set(k, v)
    sp = OxmlElement("wp:simplePos")
    sp.set("x", "0")
    sp.set("y", "0")
    anchor.append(sp)
    for tag, rel, val in (("wp:positionH", "column", x_mm), ("wp:positionV", "paragraph", y_mm)):
        pos = OxmlElement(tag)
        pos.set("relativeFrom", rel)
        off = OxmlElement("wp:posOffset")
        off.text = str(int(val * 36000))
        pos.append(off)
        anchor.append(pos)
    anchor.append(copy.deepcopy(inline.find(qn("wp:extent"))))
    ee = OxmlElement("wp:effectExtent")
    for k in "ltrb":
        ee.set(k, "0")
    anchor.append(ee)
    anchor.append(OxmlElement("wp:wrapNone"))
    anchor.append(copy.deepcopy(inline.find(qn("wp:docPr"))))
    anchor.append(copy.deepcopy(inline.find(qn("wp:cNvGraphicFramePr"))))
    anchor.append(copy.deepcopy(inline.find(qn("a:graphic"))))
    inline.getparent().replace(inline, anchor)


def _seal(doc, s: SealBlock, f):
    # the signature block stays on one page (keep with next)
    h = _para(doc, s.heading, f.title_font, 12, bold=True, before=8, after=4)
    p = _para(doc, s.commitment, f.font, s.size, before=2)
    p.paragraph_format.first_line_indent = Pt(s.size * 2)
    g = _para(doc, "", f.font, s.size, before=30)
    sl = _para(doc, s.sign_line, f.font, s.size, indent_mm=90, before=6)
    for q in (h, p, g, sl):
        q.paragraph_format.keep_with_next = True
    p = _para(doc, f"{s.fill_label}{s.colon}{s.fill_value}", f.font, s.size, indent_mm=90, before=10)
    if s.seal_png:
        run = p.add_run()
        run.add_picture(s.seal_png, width=Mm(s.seal_mm), height=Mm(s.seal_mm))
        _anchor(run, 90 + s.seal_dx_mm - s.seal_mm / 2, s.seal_dy_mm - s.seal_mm / 2)
