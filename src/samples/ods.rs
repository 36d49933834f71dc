//! A minimal OpenDocument spreadsheet: `mimetype` (stored, first), META-INF/manifest.xml,
//! styles.xml, content.xml with typed cells (`office:value-type="date"` + `office:date-value`).

use std::fmt::Write as _;
use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::fmt::DateStyle;
use super::sheets::{cell_text, CellV, Table};

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            _ => o.push(c),
        }
    }
    o
}

const NS: &str = r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0""#;

fn date_style_xml(st: DateStyle) -> String {
    let (sep, long) = match st {
        DateStyle::Iso => ("-", true),
        DateStyle::Slash => ("/", false),
        DateStyle::Cn => ("", false),
    };
    let part = |tag: &str, long: bool| {
        if long {
            format!(r#"<number:{tag} number:style="long"/>"#)
        } else {
            format!("<number:{tag}/>")
        }
    };
    let (s1, s2, s3) = if st == DateStyle::Cn { ("年", "月", "日") } else { (sep, sep, "") };
    let mut x = String::from(r#"<number:date-style style:name="N1">"#);
    x.push_str(r#"<number:year number:style="long"/>"#);
    let _ = write!(x, "<number:text>{s1}</number:text>");
    x.push_str(&part("month", long));
    let _ = write!(x, "<number:text>{s2}</number:text>");
    x.push_str(&part("day", long));
    if !s3.is_empty() {
        let _ = write!(x, "<number:text>{s3}</number:text>");
    }
    x.push_str("</number:date-style>");
    x.push_str(
        r#"<number:date-style style:name="N2"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text><number:day number:style="long"/><number:text> </number:text><number:hours number:style="long"/><number:text>:</number:text><number:minutes number:style="long"/><number:text>:</number:text><number:seconds number:style="long"/></number:date-style>"#,
    );
    x
}

fn content(t: &Table) -> String {
    let ncols = t.header.len();
    let mut x = String::with_capacity(64 * 1024);
    let _ = write!(
        x,
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content {NS} office:version="1.2"><office:automatic-styles>{}<style:style style:name="ce1" style:family="table-cell" style:data-style-name="N1"/><style:style style:name="ce2" style:family="table-cell" style:data-style-name="N2"/><style:style style:name="ce3" style:family="table-cell"><style:text-properties fo:font-weight="bold"/></style:style></office:automatic-styles><office:body><office:spreadsheet><table:table table:name="{}"><table:table-column table:number-columns-repeated="{ncols}"/>"#,
        date_style_xml(t.date_style),
        esc(&t.sheet_name)
    );
    for title in &t.title_rows {
        let _ = write!(
            x,
            r#"<table:table-row><table:table-cell table:style-name="ce3" table:number-columns-spanned="{ncols}" office:value-type="string"><text:p>{}</text:p></table:table-cell><table:covered-table-cell table:number-columns-repeated="{}"/></table:table-row>"#,
            esc(title),
            ncols.saturating_sub(1).max(1)
        );
    }
    x.push_str("<table:table-row>");
    for h in &t.header {
        let _ = write!(x, r#"<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>"#, esc(h));
    }
    x.push_str("</table:table-row>");
    for row in &t.rows {
        x.push_str("<table:table-row>");
        for v in row {
            let shown = esc(&cell_text(v, t.date_style));
            match v {
                CellV::Empty => x.push_str("<table:table-cell/>"),
                CellV::Text(_) => {
                    let _ = write!(x, r#"<table:table-cell office:value-type="string"><text:p>{shown}</text:p></table:table-cell>"#);
                }
                CellV::Int(i) => {
                    let _ = write!(x, r#"<table:table-cell office:value-type="float" office:value="{i}"><text:p>{shown}</text:p></table:table-cell>"#);
                }
                CellV::Num(n) => {
                    let _ = write!(x, r#"<table:table-cell office:value-type="float" office:value="{n}"><text:p>{shown}</text:p></table:table-cell>"#);
                }
                CellV::Date(d) => {
                    let _ = write!(
                        x,
                        r#"<table:table-cell table:style-name="ce1" office:value-type="date" office:date-value="{}"><text:p>{shown}</text:p></table:table-cell>"#,
                        d.format("%Y-%m-%d")
                    );
                }
                CellV::DateTime(t) => {
                    let _ = write!(
                        x,
                        r#"<table:table-cell table:style-name="ce2" office:value-type="date" office:date-value="{}"><text:p>{}</text:p></table:table-cell>"#,
                        t.format("%Y-%m-%dT%H:%M:%S"),
                        t.format("%Y-%m-%d %H:%M:%S")
                    );
                }
            }
        }
        x.push_str("</table:table-row>");
    }
    x.push_str("</table:table></office:spreadsheet></office:body></office:document-content>");
    x
}

pub fn write(t: &Table) -> anyhow::Result<Vec<u8>> {
    let when = DateTime::from_date_and_time(2024, 2, 6, 9, 30, 0).map_err(|e| anyhow::anyhow!("{e}"))?;
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored).last_modified_time(when);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).last_modified_time(when);
    let mut z = ZipWriter::new(Cursor::new(Vec::new()));
    z.start_file("mimetype", stored)?;
    z.write_all(b"application/vnd.oasis.opendocument.spreadsheet")?;
    z.start_file("META-INF/manifest.xml", deflated)?;
    z.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"#,
    )?;
    z.start_file("styles.xml", deflated)?;
    let styles = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-styles {NS} office:version="1.2"><office:styles/></office:document-styles>"#
    );
    z.write_all(styles.as_bytes())?;
    z.start_file("content.xml", deflated)?;
    z.write_all(content(t).as_bytes())?;
    Ok(z.finish()?.into_inner())
}
