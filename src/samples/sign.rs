//! Electronic-signature fixtures for the seal/signature check: [`sign`] adds a (fake) signature
//! to a born-digital PDF by an incremental update, [`append_edit`] appends a further update that
//! changes a page after signing (the classic "edited after signing" case).
//!
//! The file is read with lopdf (`Document::load_mem`) and extended with lopdf's
//! [`IncrementalDocument`]: the original bytes stay untouched, followed by the new and changed
//! objects, a cross-reference section listing only them (of the same kind as the file's newest
//! one: a classic `xref` table with a `trailer`, or an uncompressed cross-reference stream) with
//! `/Prev` set to the previous `startxref`, and a new `startxref`. Encrypted files and files
//! whose cross-reference data lopdf had to rebuild by scanning are refused.

use lopdf::xref::XrefRecovery;
use lopdf::{
    decode_text_string, dictionary, text_string, Dictionary, Document, IncrementalDocument, Object,
    ObjectId, Stream, StringFormat,
};

/// Size in bytes of the (fake) PKCS#7 blob reserved in `/Contents` (hex-encoded: twice as many
/// characters).
const CONTENTS_LEN: usize = 8192;
/// Signing time written to `/M`.
const SIGN_TIME: &str = "D:20240125103000+08'00'";
/// Written in the three variable `/ByteRange` slots, then patched in place (same width).
const RANGE_PLACEHOLDER: i64 = 9_999_999_999;
/// Maximum depth followed up the page tree for inherited attributes.
const MAX_DEPTH: usize = 64;

/// Signs `pdf` by an incremental update.
///
/// Adds a signature field (`/FT /Sig`, partial name `field_name`) merged with its widget
/// annotation on page `page_index` (0-based) at `/Rect` `rect` (PDF points, `[x0 y0 x1 y1]`; a
/// zero-size rect gives an invisible signature) with a plain border appearance stream, registers
/// it in the catalog's `/AcroForm /Fields` (an `/AcroForm` with `/SigFlags 3` is created when
/// missing, otherwise `/SigFlags` gets bits 1 and 2), and writes the signature value dictionary
/// `/Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /Name (signer)
/// /M (D:20240125103000+08'00') /ByteRange [0 a b c] /Contents <...>`.
///
/// The `/ByteRange` is exact for the final file: `a` is the offset of the `<` opening
/// `/Contents`, `b` the offset just after its closing `>`, and `b + c` the file length.
///
/// The signature is **fake**: `/Contents` holds 8192 bytes that start like a DER-encoded
/// detached PKCS#7 `SignedData` (a SEQUENCE header and the signedData OID) followed by
/// deterministic pseudo-random bytes derived from `seed` and zero padding. There is no
/// certificate and no digest of the signed bytes, so any verifier reports the signature as
/// invalid or unverifiable; only its structure (field, byte range, coverage) is meaningful.
///
/// Errors on unparsable or encrypted input, a page index out of range, an empty field name, a
/// name containing `.` or already used by a top-level field, or a non-finite rect.
pub fn sign(
    pdf: &[u8],
    field_name: &str,
    signer: &str,
    page_index: usize,
    rect: [f32; 4],
    seed: u64,
) -> Result<Vec<u8>, String> {
    if field_name.is_empty() || field_name.contains('.') {
        return Err(format!("bad signature field name {field_name:?}"));
    }
    if rect.iter().any(|v| !v.is_finite()) {
        return Err(format!("signature rect {rect:?} is not finite"));
    }
    let (mut inc, page_id, mut page) = load(pdf, page_index)?;
    let prev = inc.get_prev_documents();
    let root_id = prev.trailer.get(b"Root").and_then(Object::as_reference);
    let root_id = root_id.map_err(|_| "no /Root in the trailer")?;
    let mut catalog = dict_of(prev, Some(&Object::Reference(root_id)));

    // Existing AcroForm: indirect, inline or missing.
    let acroform_ref = catalog.get(b"AcroForm").and_then(Object::as_reference);
    let acroform_ref = acroform_ref
        .ok()
        .filter(|id| prev.get_dictionary(*id).is_ok());
    let mut acroform = dict_of(prev, catalog.get(b"AcroForm").ok());
    let mut fields = array_of(prev, acroform.get(b"Fields").ok());
    for f in &fields {
        let name = dict_of(prev, Some(f)).get(b"T").map(decode_text_string);
        if matches!(name, Ok(Ok(name)) if name == field_name) {
            return Err(format!("a field named {field_name:?} already exists"));
        }
    }
    let mut annots = array_of(prev, page.get(b"Annots").ok());

    let new = &mut inc.new_document;
    let mut alloc = || new.try_new_object_id().map_err(|e| e.to_string());
    let (sig_id, widget_id, ap_id) = (alloc()?, alloc()?, alloc()?);

    let [lx, ux] = [rect[0].min(rect[2]), rect[0].max(rect[2])];
    let [ly, uy] = [rect[1].min(rect[3]), rect[1].max(rect[3])];
    let (w, h) = (f64::from(ux - lx), f64::from(uy - ly));

    let blob = fake_pkcs7(seed);
    let placeholder = Object::Integer(RANGE_PLACEHOLDER);
    let sig = dictionary! {
        "Type" => "Sig", "Filter" => "Adobe.PPKLite", "SubFilter" => "adbe.pkcs7.detached",
        "Name" => text_string(signer), "M" => Object::string_literal(SIGN_TIME),
        "ByteRange" => vec![0.into(), placeholder.clone(), placeholder.clone(), placeholder],
        "Contents" => Object::String(blob.clone(), StringFormat::Hexadecimal)
    };
    let widget = dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig", "T" => text_string(field_name),
        "V" => sig_id, "F" => 132, "Rect" => vec![lx.into(), ly.into(), ux.into(), uy.into()],
        "P" => page_id, "AP" => dictionary! { "N" => ap_id }
    };
    // Appearance: a thin border (nothing for an invisible signature).
    let (bw, bh) = (fmt_num(w - 1.0), fmt_num(h - 1.0));
    let mut ap_content = format!("q 0.1 0.2 0.6 RG 1 w 0.5 0.5 {bw} {bh} re S Q");
    if w <= 1.0 || h <= 1.0 {
        ap_content.clear();
    }
    let ap_dict = dictionary! {
        "Type" => "XObject", "Subtype" => "Form", "Resources" => Dictionary::new(),
        "BBox" => vec![0.into(), 0.into(), (w as f32).into(), (h as f32).into()]
    };

    // Page: add the widget to /Annots (an indirect /Annots array is copied inline).
    annots.push(widget_id.into());
    page.set("Annots", annots);
    // AcroForm: add the field, set SigFlags.
    fields.push(widget_id.into());
    acroform.set("Fields", fields);
    let flags = acroform.get(b"SigFlags").and_then(Object::as_i64);
    acroform.set("SigFlags", flags.unwrap_or(0) | 3);

    new.set_object(page_id, page);
    new.set_object(sig_id, sig);
    new.set_object(widget_id, widget);
    new.set_object(ap_id, Stream::new(ap_dict, ap_content.into_bytes()));
    match acroform_ref {
        Some(id) => new.set_object(id, acroform),
        None => {
            catalog.set("AcroForm", acroform);
            new.set_object(root_id, catalog);
        }
    }
    let mut out = save(&mut inc)?;

    // Patch the byte range now that the final length is known.
    let tail = pdf.len();
    let hex: String = blob.iter().map(|b| format!("{b:02X}")).collect();
    let hex = format!("<{hex}>");
    let a = tail + find(&out[tail..], hex.as_bytes()).ok_or("internal error: no /Contents")?;
    let b = a + hex.len();
    let c = out.len() - b;
    let slot = format!("[0 {0} {0} {0}]", RANGE_PLACEHOLDER);
    let at = tail + find(&out[tail..], slot.as_bytes()).ok_or("internal error: no /ByteRange")?;
    let range = format!("{:1$}]", format!("[0 {a} {b} {c}"), slot.len() - 1);
    if range.len() != slot.len() {
        return Err("file too large for the /ByteRange placeholder".into());
    }
    out[at..at + slot.len()].copy_from_slice(range.as_bytes());
    Ok(out)
}

/// Appends an incremental update that edits page `page_index` (0-based) after signing.
///
/// The page object is rewritten with its `/Contents` turned into an array
/// `[q-stream, old contents..., new stream]`: the first new stream saves the graphics state,
/// the last one restores it and draws one line of text (Helvetica, WinAnsi, with a reference
/// derived from `seed`) near the bottom-left corner of the page's crop/media box. The font is
/// added to a copy of the page's (possibly inherited or shared) resources written inline in the
/// page dictionary, so other pages are untouched.
///
/// Everything before the update stays byte-for-byte intact, so an existing signature's
/// `/ByteRange` still matches its bytes but no longer reaches the end of the file. The input
/// does not have to be signed. Errors on unparsable or encrypted input or a page index out of
/// range.
pub fn append_edit(pdf: &[u8], page_index: usize, seed: u64) -> Result<Vec<u8>, String> {
    let (mut inc, page_id, mut page) = load(pdf, page_index)?;
    let prev = inc.get_prev_documents();

    // Resources: own (direct or indirect) or inherited, copied inline with the new font.
    let mut resources = dict_of(prev, inherited(prev, &page, b"Resources"));
    let mut fonts = dict_of(prev, resources.get(b"Font").ok());
    let font_name = (1..)
        .map(|k| format!("SbEdit{k}"))
        .find(|n| !fonts.has(n.as_bytes()))
        .unwrap_or_default();

    // Contents: [q, old..., Q + text].
    let old = page.get(b"Contents").ok();
    let mut contents = match deref(prev, old) {
        Some(Object::Array(items)) => items.clone(),
        _ => old
            .filter(|o| o.as_reference().is_ok())
            .into_iter()
            .cloned()
            .collect(),
    };

    // Position: bottom-left of the visible box.
    let bbox = inherited(prev, &page, b"CropBox").or(inherited(prev, &page, b"MediaBox"));
    let v: Vec<f32> = (array_of(prev, bbox).iter())
        .filter_map(|x| deref(prev, Some(x))?.as_float().ok())
        .collect();
    let (x, y) = match v[..] {
        [x0, y0, x1, y1] => (f64::from(x0.min(x1)), f64::from(y0.min(y1))),
        _ => (0.0, 0.0),
    };
    let mut rng = SplitMix64(seed ^ 0x5eed_ed17_0000_0001);
    let r = rng.next_u64() as u32;
    let text = format!("Amended after signing: figures revised, ref {r:08X}");
    let content = format!(
        "Q\nBT\n/{font_name} 10 Tf\n1 0 0 1 {} {} Tm\n({text}) Tj\nET\n",
        fmt_num(x + 36.0),
        fmt_num(y + 24.0),
    );

    let new = &mut inc.new_document;
    let mut alloc = || new.try_new_object_id().map_err(|e| e.to_string());
    let (font_id, open_id, text_id) = (alloc()?, alloc()?, alloc()?);
    fonts.set(font_name, font_id);
    resources.set("Font", fonts);
    page.set("Resources", resources);
    contents.insert(0, open_id.into());
    contents.push(text_id.into());
    page.set("Contents", contents);

    let font = dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding"
    };
    new.set_object(page_id, page);
    new.set_object(font_id, font);
    new.set_object(open_id, Stream::new(Dictionary::new(), b"q".to_vec()));
    let text = Stream::new(Dictionary::new(), content.into_bytes());
    new.set_object(text_id, text);
    save(&mut inc)
}

/// Loads `pdf` for an incremental update (new object numbers start at the trailer's `/Size`)
/// and returns it with the id and a copy of the dictionary of page `page` (0-based).
fn load(pdf: &[u8], page: usize) -> Result<(IncrementalDocument, ObjectId, Dictionary), String> {
    let doc = Document::load_mem(pdf).map_err(|e| format!("cannot read PDF: {e}"))?;
    if doc.trailer.has(b"Encrypt") || doc.encryption_state.is_some() {
        return Err("encrypted PDFs are not supported".into());
    }
    if doc.xref_recovery == Some(XrefRecovery::Reconstructed) || doc.xref_start == 0 {
        return Err("the cross-reference data is damaged".into());
    }
    let page_id = page_id(&doc, page)?;
    let page = dict_of(&doc, Some(&Object::Reference(page_id)));
    let size = doc.trailer.get(b"Size").and_then(Object::as_i64);
    let mut inc = IncrementalDocument::create_from(pdf.to_vec(), doc);
    let new = &mut inc.new_document;
    let last = u32::try_from(size.unwrap_or(0) - 1).unwrap_or(0);
    new.max_id = new.max_id.max(last);
    // Keys describing the previous section's own (stream) encoding do not carry over.
    for key in "XRefStm DecodeParms Filter DL F FFilter FDecodeParms".split(' ') {
        new.trailer.remove(key.as_bytes());
    }
    Ok((inc, page_id, page))
}

/// Writes the update after the original bytes, ending with `%%EOF` and a newline.
fn save(inc: &mut IncrementalDocument) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(inc.get_prev_documents_bytes().len() + 32 * 1024);
    inc.save_to(&mut out).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}

/// The object id of page `index` (0-based).
fn page_id(doc: &Document, index: usize) -> Result<ObjectId, String> {
    let pages = doc.get_pages();
    let count = pages.len();
    let id = pages.into_values().nth(index);
    id.ok_or_else(|| format!("page index {index} out of range ({count} pages)"))
}

/// `obj`, dereferenced.
fn deref<'a>(doc: &'a Document, obj: Option<&'a Object>) -> Option<&'a Object> {
    doc.dereference(obj?).ok().map(|(_, o)| o)
}

/// A copy of the dictionary `obj` is or refers to; empty if none.
fn dict_of(doc: &Document, obj: Option<&Object>) -> Dictionary {
    let dict = deref(doc, obj).and_then(|o| o.as_dict().ok());
    dict.cloned().unwrap_or_default()
}

/// A copy of the array `obj` is or refers to; empty if none.
fn array_of(doc: &Document, obj: Option<&Object>) -> Vec<Object> {
    let array = deref(doc, obj).and_then(|o| o.as_array().ok());
    array.cloned().unwrap_or_default()
}

/// Page attribute `key`, inherited from the page tree when the page lacks it, dereferenced.
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut node = page;
    for _ in 0..MAX_DEPTH {
        if let Ok(v) = node.get(key) {
            return deref(doc, Some(v));
        }
        let parent = node.get(b"Parent").and_then(Object::as_reference).ok()?;
        node = doc.get_dictionary(parent).ok()?;
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A number for a content stream: at most 4 decimals, no trailing zeros.
fn fmt_num(v: f64) -> String {
    ((v * 1e4).round() / 1e4 + 0.0).to_string()
}

/// splitmix64: a tiny deterministic generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The fake detached PKCS#7 blob: `30 82 LL LL  06 09 <signedData OID>  A0 82 LL LL  <random>`,
/// zero-padded to [`CONTENTS_LEN`]. Not a real signature: no certificate, no digest.
fn fake_pkcs7(seed: u64) -> Vec<u8> {
    let mut rng = SplitMix64(seed);
    let inner = 1400 + (rng.next_u64() % 600) as usize; // content length of the outer SEQUENCE
    let mut out = Vec::with_capacity(CONTENTS_LEN);
    out.extend([0x30, 0x82, (inner >> 8) as u8, inner as u8]);
    out.extend(b"\x06\x09\x2A\x86\x48\x86\xF7\x0D\x01\x07\x02"); // OID signedData
    let explicit = inner - 11 - 4;
    out.extend([0xA0, 0x82, (explicit >> 8) as u8, explicit as u8]);
    while out.len() < 4 + inner {
        out.extend(rng.next_u64().to_be_bytes());
    }
    out.truncate(4 + inner);
    out.resize(CONTENTS_LEN, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::xref::{XrefEntry, XrefType};
    use lopdf::SaveOptions;

    /// How the test PDF stores its cross-reference data (`ObjStm`: an xref stream, and the
    /// dictionaries packed in object streams).
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Mode {
        Table,
        Stream,
        ObjStm,
    }
    const MODES: [Mode; 3] = [Mode::Table, Mode::Stream, Mode::ObjStm];

    /// A PDF with `pages` pages written by lopdf: page 1 has its own /Resources reference and a
    /// single content reference, later pages inherit /Resources from /Pages and have a
    /// /Contents array and an empty /Annots.
    fn build_pdf(pages: usize, mode: Mode) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let tree_id = doc.new_object_id();
        let font = dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Times" };
        let font = doc.add_object(font);
        let res = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
        let mut kids: Vec<Object> = Vec::new();
        for i in 0..pages {
            let text = format!("BT /F1 12 Tf 72 720 Td (Original page {}) Tj ET", i + 1);
            let c = doc.add_object(Stream::new(Dictionary::new(), text.into_bytes()));
            let mut page = dictionary! { "Type" => "Page", "Parent" => tree_id };
            if i == 0 {
                page.set("Resources", res);
                page.set("Contents", c);
            } else {
                page.set("Contents", vec![c.into()]);
                page.set("Annots", Vec::<Object>::new());
            }
            kids.push(doc.add_object(page).into());
        }
        let media: Vec<Object> = vec![0.into(), 0.into(), 595.28f32.into(), 841.89f32.into()];
        let tree = dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => pages as i64,
            "MediaBox" => media, "Resources" => res
        };
        doc.objects.insert(tree_id, tree.into());
        let cat = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => tree_id });
        doc.trailer.set("Root", cat);
        let info = doc.add_object(dictionary! { "Producer" => Object::string_literal("test") });
        doc.trailer.set("Info", info);
        if mode == Mode::Table {
            doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
        }
        let mut out = Vec::new();
        let opts = SaveOptions::builder().use_object_streams(mode == Mode::ObjStm);
        doc.save_with_options(&mut out, opts.build()).unwrap();
        out
    }

    /// Every `/ByteRange [..]` in the file, in file order.
    fn byte_ranges(pdf: &[u8]) -> Vec<[usize; 4]> {
        let text = String::from_utf8_lossy(pdf);
        let parse = |(p, _): (usize, &str)| {
            let rest = &text[p..];
            let inner = &rest[rest.find('[').unwrap() + 1..rest.find(']').unwrap()];
            let v: Vec<usize> = inner.split_whitespace().flat_map(str::parse).collect();
            [v[0], v[1], v[2], v[3]]
        };
        text.match_indices("/ByteRange").map(parse).collect()
    }

    /// lopdf reads the file as written and every in-use xref entry points at `N G obj`.
    fn check_xref(pdf: &[u8]) -> Document {
        let doc = Document::load_mem(pdf).unwrap();
        assert!(doc.xref_recovery.is_none());
        for (num, e) in &doc.reference_table.entries {
            if let XrefEntry::Normal { offset, generation } = e {
                let head = format!("{num} {generation} obj");
                assert!(pdf[*offset as usize..].starts_with(head.as_bytes()));
            }
        }
        doc
    }

    fn check_signed(orig: &[u8], signed: &[u8]) -> [usize; 4] {
        assert!(signed.starts_with(orig) && signed.ends_with(b"%%EOF\n"));
        let [z, a, b, c] = *byte_ranges(signed).last().unwrap();
        assert_eq!(z, 0);
        assert_eq!((signed[a], signed[b - 1]), (b'<', b'>'));
        assert_eq!(b - a, 2 + 2 * CONTENTS_LEN);
        assert!(signed[a + 1..b - 1].iter().all(|c| c.is_ascii_hexdigit()));
        assert!(signed[..a].ends_with(b"/Contents"));
        assert_eq!(b + c, signed.len());
        check_xref(signed);
        let prev = format!("/Prev {}", Document::load_mem(orig).unwrap().xref_start);
        assert!(find(&signed[orig.len()..], prev.as_bytes()).is_some());
        [z, a, b, c]
    }

    fn field_names(doc: &Document) -> Vec<String> {
        let af = dict_of(doc, doc.catalog().unwrap().get(b"AcroForm").ok());
        assert_eq!(af.get(b"SigFlags").and_then(Object::as_i64).unwrap(), 3);
        let name = |f: &Object| {
            let d = dict_of(doc, Some(f));
            assert_eq!(d.get(b"FT").and_then(Object::as_name).unwrap(), b"Sig");
            let v = dict_of(doc, d.get(b"V").ok());
            let sub = v.get(b"SubFilter").and_then(Object::as_name).unwrap();
            assert_eq!(sub, b"adbe.pkcs7.detached");
            decode_text_string(d.get(b"T").unwrap()).unwrap()
        };
        let fields = array_of(doc, af.get(b"Fields").ok());
        fields.iter().map(name).collect()
    }

    /// Page `index` of `doc` and the length of its array `key`.
    fn page(doc: &Document, index: usize, key: &[u8]) -> (Dictionary, usize) {
        let p = dict_of(doc, Some(&Object::Reference(page_id(doc, index).unwrap())));
        let n = array_of(doc, p.get(key).ok()).len();
        (p, n)
    }

    /// Also writes the files for inspection with poppler/qpdf when `SHENBAO_SIGN_OUT` names a
    /// directory.
    #[test]
    fn sign_and_append_all_modes() {
        let out_dir = std::env::var("SHENBAO_SIGN_OUT").ok();
        for (mode, pages) in MODES.into_iter().flat_map(|m| [(m, 1), (m, 2)]) {
            let orig = build_pdf(pages, mode);
            let i = pages - 1;
            let rect = [400.0, 50.0, 560.0, 110.5];
            let signed = sign(&orig, "Signature1", "张三 (经办人)", i, rect, 7).unwrap();
            let [_, _, b, c] = check_signed(&orig, &signed);
            let update = String::from_utf8_lossy(&signed[orig.len()..]).into_owned();
            assert_eq!(update.contains("\nxref\n"), mode == Mode::Table);
            assert_eq!(update.contains("/Type/XRef"), mode != Mode::Table);
            let doc = Document::load_mem(&signed).unwrap();
            assert_eq!(field_names(&doc), ["Signature1"]);
            let (p, annots) = page(&doc, i, b"Annots");
            assert!(annots == 1 && p.has(b"Parent"));
            assert!(find(&signed, "<FEFF5F204E09".as_bytes()).is_some());

            let edited = append_edit(&signed, i, 3).unwrap();
            assert!(edited.starts_with(&signed) && edited.ends_with(b"%%EOF\n"));
            assert!(b + c < edited.len());
            let doc = check_xref(&edited);
            let (p, contents) = page(&doc, i, b"Contents");
            assert_eq!(contents, 3);
            assert!(p.has(b"Annots"), "annotations kept");
            let res = p.get(b"Resources").and_then(Object::as_dict).unwrap();
            let fonts = res.get(b"Font").and_then(Object::as_dict).unwrap();
            assert!(fonts.has(b"F1") && fonts.has(b"SbEdit1"));
            assert!(find(&edited[signed.len()..], b"Amended after signing").is_some());
            let text = doc.extract_text(&[pages as u32]).unwrap();
            assert!(text.contains("Original page"), "{text:?}");
            if let Some(dir) = &out_dir {
                std::fs::create_dir_all(dir).unwrap();
                for (kind, bytes) in [("orig", &orig), ("signed", &signed), ("edited", &edited)] {
                    std::fs::write(format!("{dir}/{mode:?}-{pages}-{kind}.pdf"), bytes).unwrap();
                }
            }
            if pages == 2 {
                // The other page is untouched.
                let before = Document::load_mem(&orig).unwrap();
                assert_eq!(page(&doc, 0, b"").0, page(&before, 0, b"").0);
            }
        }
    }

    #[test]
    fn two_signatures_and_duplicate_name() {
        let orig = build_pdf(2, Mode::Table);
        let rect = [50.0, 50.0, 200.0, 100.0];
        let s1 = sign(&orig, "Applicant", "Applicant Co.", 0, rect, 1).unwrap();
        let s2 = sign(&s1, "Reviewer", "Reviewer", 1, [0.0; 4], 2).unwrap();
        check_signed(&s1, &s2);
        let ranges = byte_ranges(&s2);
        assert_eq!(ranges.len(), 2);
        assert_eq!(ranges[0][2] + ranges[0][3], s1.len());
        assert_eq!(ranges[1][2] + ranges[1][3], s2.len());
        let doc = Document::load_mem(&s2).unwrap();
        assert_eq!(field_names(&doc), ["Applicant", "Reviewer"]);
        let err = sign(&s2, "Applicant", "x", 0, [0.0; 4], 3).unwrap_err();
        assert!(err.contains("already exists"), "{err}");
        // The same seed gives the same file, different seeds different blobs.
        assert_eq!(
            s1,
            sign(&orig, "Applicant", "Applicant Co.", 0, rect, 1).unwrap()
        );
        assert_ne!(fake_pkcs7(1), fake_pkcs7(2));
        assert_eq!(
            [fmt_num(595.28f32.into()), fmt_num(-1e-5), fmt_num(10.0)],
            ["595.28", "0", "10"]
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let orig = build_pdf(1, Mode::Table);
        assert!(sign(b"", "S", "x", 0, [0.0; 4], 0).is_err());
        assert!(sign(b"%PDF-1.4\nhello", "S", "x", 0, [0.0; 4], 0).is_err());
        let err = sign(&orig, "S", "x", 1, [0.0; 4], 0).unwrap_err();
        assert!(err.contains("out of range"), "{err}");
        assert!(sign(&orig, "a.b", "x", 0, [0.0; 4], 0).is_err());
        assert!(sign(&orig, "", "x", 0, [0.0; 4], 0).is_err());
        assert!(sign(&orig, "S", "x", 0, [f32::NAN, 0.0, 1.0, 1.0], 0).is_err());
        assert!(append_edit(&orig, 5, 0).is_err());
        let mut enc = orig.clone();
        let t = enc.windows(5).rposition(|w| w == b"/Size").unwrap();
        enc.splice(t..t, b"/Encrypt 99 0 R".iter().copied());
        let err = sign(&enc, "S", "x", 0, [0.0; 4], 0).unwrap_err();
        assert!(err.contains("encrypted"), "{err}");
        // Truncations and corruptions never panic.
        for mode in MODES {
            let pdf = build_pdf(2, mode);
            for cut in (0..pdf.len()).step_by(7) {
                let _ = sign(&pdf[..cut], "S", "x", 0, [0.0; 4], 0);
                let _ = append_edit(&pdf[..cut], 1, 0);
                let mut bad = pdf.clone();
                bad[cut] ^= 0x55;
                let _ = sign(&bad, "S", "x", 1, [0.0; 4], 0);
                let _ = append_edit(&bad, 0, 0);
            }
        }
    }
}
