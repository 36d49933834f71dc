#!/usr/bin/env python3
"""Builds tests/fixtures/office from a `shenbao samples` set: every form re-typeset by office /
typesetting software this project did not write, some printed-and-scanned, with truth.

    python3 build.py --gen GENERATED_SET --out tests/fixtures/office --seed 15

See README.md beside this file."""

import argparse
import collections
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import model  # noqa: E402
import render_docx  # noqa: E402
import render_html  # noqa: E402
import render_typst  # noqa: E402
import scan  # noqa: E402
import seal as sealmod  # noqa: E402

PRODUCERS = ["libreoffice-docx", "chromium", "weasyprint", "typst"]
LAYOUTS = ["grid", "lines", "two-column", "continued", "stacked", "borderless"]
SOFFICE_PROFILE = None


# ---------------------------------------------------------------------------- producers
def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r


def produce(producer, form, work, name, spacer_mm=0.0):
    """Typesets `form` with `producer` into work/name.pdf; returns the PDF path."""
    pdf = os.path.join(work, name + ".pdf")
    if producer == "libreoffice-docx":
        src = os.path.join(work, name + ".docx")
        render_docx.render(form, src, spacer_mm)
        run(["soffice", f"-env:UserInstallation=file://{SOFFICE_PROFILE}", "--headless", "--norestore",
             "--convert-to", "pdf:writer_pdf_Export", "--outdir", work, src], timeout=180)
    elif producer in ("chromium", "weasyprint"):
        src = os.path.join(work, name + ".html")
        with open(src, "w", encoding="utf-8") as f:
            f.write(render_html.render(form, spacer_mm, work))
        if producer == "chromium":
            run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                 "--generate-pdf-document-outline=false", "--disable-extensions", "--no-first-run",
                 f"--user-data-dir={work}/.chromium", f"--print-to-pdf={pdf}", "file://" + src], timeout=180)
        else:
            import weasyprint

            weasyprint.HTML(filename=src).write_pdf(pdf)
    elif producer == "typst":
        import typst

        src = os.path.join(work, name + ".typ")
        with open(src, "w", encoding="utf-8") as f:
            f.write(render_typst.render(form, spacer_mm, work))
        typst.compile(src, output=pdf, root=work)
    else:
        raise ValueError(producer)
    if not os.path.exists(pdf):
        raise RuntimeError(f"{producer} wrote no PDF for {name}")
    return pdf


def pages_with(pdf, needle):
    n = int(re.search(r"Pages:\s+(\d+)", run(["pdfinfo", pdf]).stdout).group(1))
    found = []
    for p in range(1, n + 1):
        t = run(["pdftotext", "-f", str(p), "-l", str(p), pdf, "-"]).stdout
        if needle in t.replace(" ", ""):
            found.append(p)
    return found, n


def produce_continued(producer, form, work, name):
    """The item table split over two pages with its header repeated: blank space before the
    table's heading, found by bisection (the producers lay out differently)."""
    lo, hi = 0.0, 240.0
    s = 0.0
    for _ in range(12):
        pdf = produce(producer, form, work, name, s)
        pages, n = pages_with(pdf, "序号")
        if len(pages) >= 2:
            return pdf, s
        if pages and pages[0] == 1:
            lo = s  # the whole table still on page 1: more space
        else:
            hi = s  # the whole table moved to page 2: less
        if hi - lo < 0.5:
            break
        s = (lo + hi) / 2
    raise RuntimeError(f"{name}: could not split the item table over two pages ({producer})")


# ---------------------------------------------------------------------------- signatures
def signer(work):
    """A self-signed certificate for the units' PDF signatures (pyHanko)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from pyhanko.sign import signers

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "申报单位电子印章"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(20240115).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    kp, cp = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
    with open(kp, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(cp, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return signers.SimpleSigner.load(kp, cp)


def sign_pdf(path, out, sgn, unit, appended):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    with open(path, "rb") as f:
        w = IncrementalPdfFileWriter(f, strict=False)
        meta = signers.PdfSignatureMetadata(field_name="Signature1", reason="电子印章", name=unit)
        buf = signers.sign_pdf(w, meta, signer=sgn)
    data = buf.getvalue()
    if appended:
        # changed after signing: a new incremental update drawing over page 1
        import io

        from pyhanko.pdf_utils import generic
        from pyhanko.pdf_utils.content import RawContent

        w = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        stream = generic.StreamObject(stream_data=b"q 1 1 1 rg 400 20 120 12 re f Q")
        ref = w.add_object(stream)
        page_ref = w.root["/Pages"]["/Kids"][0]
        page = page_ref.get_object()
        contents = page["/Contents"]
        arr = generic.ArrayObject(list(contents) if isinstance(contents, generic.ArrayObject) else [page.raw_get("/Contents")])
        arr.append(ref)
        page["/Contents"] = arr
        w.update_container(page)
        out_buf = io.BytesIO()
        w.write(out_buf)
        data = out_buf.getvalue()
    with open(out, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------- plan
def plan(decls, rng):
    """(declaration index, kind, producer, layout) for every declaration with a form.
    Born-digital forms go through every producer × layout; scans and paper-era forms again."""
    withform = [i for i, d in enumerate(decls) if d.get("form_file")]
    groups = {"pdf": [], "scan": [], "legacy": []}
    for i in withform:
        d = decls[i]
        g = "legacy" if d.get("legacy") else ("scan" if d.get("form_kind") == "scan" else "pdf")
        groups[g].append(i)
    out = {}
    for g, idx in groups.items():
        # every run of six goes through the six layouts, the producers rotating
        combos = [(PRODUCERS[(j + i) % len(PRODUCERS)], LAYOUTS[j]) for i in range(len(PRODUCERS)) for j in range(len(LAYOUTS))]
        k = rng.randrange(len(combos))
        pending = list(idx)
        while pending:
            p, l = combos[k % len(combos)]
            k += 1
            # `continued` needs two item rows at least
            pick = next((i for i in pending if l != "continued" or len(decls[i]["items"]) >= 2), None)
            if pick is None:
                continue
            pending.remove(pick)
            out[pick] = (g, p, l)
    return out


def main():
    global SOFFICE_PROFILE
    ap = argparse.ArgumentParser()
    ap.add_argument("--gen", required=True, help="a `shenbao samples` output folder")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--photos", type=int, default=2, help="scans taken as phone photos")
    ap.add_argument("--keep-work", help="keep the sources (.docx/.html/.typ) and plain PDFs here")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    truth = json.load(open(os.path.join(a.gen, "truth.json"), encoding="utf-8"))
    decls = truth["declarations"]
    work = a.keep_work or tempfile.mkdtemp(prefix="office-corpus-")
    os.makedirs(work, exist_ok=True)
    SOFFICE_PROFILE = os.path.join(work, ".lo-profile")
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    os.makedirs(os.path.join(a.out, "forms"))
    shutil.copytree(os.path.join(a.gen, "sheets"), os.path.join(a.out, "sheets"))
    assignment = plan(decls, rng)
    sgn = signer(work)
    scan_ids = [i for i, (g, _, _) in sorted(assignment.items()) if g == "scan"]
    photo_ids = set(rng.sample(scan_ids, min(a.photos, len(scan_ids))))
    # image formats in turn (a multi-page form cannot be a single JPEG/PNG)
    single_cycle = ["jpg", "pdf", "png", "jpg", "tif", "pdf"]
    multi_cycle = ["pdf", "tif", "pdf"]
    n_single = n_multi = 0
    counts = collections.Counter()
    for i, d in enumerate(decls):
        if i not in assignment:
            d["producer"] = None
            d["form_kind"] = None
            d.setdefault("legacy", False)
            continue
        g, producer, layout = assignment[i]
        frng = random.Random(f"{a.seed}|{d['declaration_id']}")
        stem = os.path.splitext(os.path.basename(d["form_file"]))[0]
        sl = d.get("seal") or {}
        born_digital = g == "pdf"
        seal_png = None
        if born_digital and sl.get("text"):
            seal_png = os.path.join(work, f"seal-{sl['text']}-{d['declaration_id']}.png")
            # the same design for the same seal (reused seals: same text and seed)
            img = sealmod.electronic(sl["text"], float(sl.get("diameter_mm") or 40), _seal_seed(d))
            img.save(seal_png, optimize=False)
        form = model.build(d, layout, frng, seal_png)
        name = f"{d['declaration_id']}-{producer}"
        if layout == "continued":
            pdf, spacer = produce_continued(producer, form, work, name)
        else:
            pdf, spacer = produce(producer, form, work, name), 0.0
        form.meta["spacer_mm"] = round(spacer, 1)
        d["generator_layout"] = d.get("layout")
        d["layout"] = layout
        d["producer"] = producer
        d["font_encoding"] = None
        d["form_render"] = form.meta
        d["legacy"] = bool(d.get("legacy"))
        d.pop("scan", None)
        if born_digital:
            rel = f"forms/{stem}.pdf"
            dest = os.path.join(a.out, rel)
            if sl.get("signed"):
                sign_pdf(pdf, dest, sgn, d["fields"]["unit_name"] or "", bool(sl.get("appended")))
            else:
                shutil.copyfile(pdf, dest)
            d["form_kind"] = "pdf"
        else:
            pages = int(re.search(r"Pages:\s+(\d+)", run(["pdfinfo", pdf]).stdout).group(1))
            photo = i in photo_ids
            if photo:
                fmt = "jpg" if pages == 1 else "pdf"  # a phone scanning app's PDF
            elif pages == 1:
                fmt = single_cycle[n_single % len(single_cycle)]
                n_single += 1
            else:
                fmt = multi_cycle[n_multi % len(multi_cycle)]
                n_multi += 1
            spec = {
                "kind": "photo" if photo else "scan",
                "fmt": fmt,
                "gray": (not photo) and (fmt == "tif" or frng.random() < 0.3),
                "dpi": frng.choice([200, 200, 240, 300]) if fmt in ("jpg", "pdf") and pages == 1 else 200,
                "quality": frng.choice([75, 80, 85]),
                "seal_text": sl.get("text") if sl.get("present", True) else None,
                "seal_mm": float(sl.get("diameter_mm") or 40),
                "seal_seed": _seal_seed(d),
                "fill_label": form.blocks[-1].fill_label,
            }
            file, info = scan.make(pdf, os.path.join(a.out, "forms", stem), spec, frng)
            rel = f"forms/{file}"
            info["font"] = form.meta["font"]
            d["scan"] = info
            d["form_kind"] = "photo" if photo else "scan"
        d["form_file"] = rel
        d["form_pages"] = int(re.search(r"Pages:\s+(\d+)", run(["pdfinfo", pdf]).stdout).group(1))
        counts[(producer, layout, d["form_kind"] if not d["legacy"] else "legacy-" + d["form_kind"])] += 1
        print(f"{d['declaration_id']:12} {producer:17} {layout:11} {d['form_kind']:6} {rel}", flush=True)
    truth["office_corpus"] = {
        "made_by": "scripts/office-corpus (build.py)",
        "seed": a.seed,
        "producers": PRODUCERS,
        "layouts": LAYOUTS,
        "note": "per declaration: producer, layout, form_kind (pdf|scan|photo), legacy, form_file; "
                "generator_layout is the generator's own layout (not used); form_render says font, "
                "vertical alignment, font size, spaced labels and the continued layout's spacer",
    }
    truth["summary"]["office_forms"] = sum(counts.values())
    with open(os.path.join(a.out, "truth.json"), "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    print("\nproducer × layout × kind:")
    for k, n in sorted(counts.items()):
        print(f"  {k[0]:17} {k[1]:11} {k[2]:12} {n}")
    if not a.keep_work:
        shutil.rmtree(work, ignore_errors=True)


def _seal_seed(d):
    sl = d.get("seal") or {}
    # truth.json does not carry the generator's image seed; a reused seal must be the same image
    # on both forms, so the design is keyed on the seal's text and diameter
    return f"{sl.get('text')}|{sl.get('diameter_mm')}"


if __name__ == "__main__":
    main()
