//! A minimal BIFF8 (.xls) writer: one worksheet in a Compound File `Workbook` stream.
//!
//! Globals: BOF, CODEPAGE (1200), WINDOW1, DATEMODE, 4 FONT, FORMAT (164 date, 165 datetime),
//! 15 style XF + 3 cell XF (15 general, 16 date, 17 datetime), STYLE, BOUNDSHEET, SST (+CONTINUE),
//! EOF. Sheet: BOF, DIMENSIONS, LABELSST / NUMBER cells, MERGEDCELLS (title rows), WINDOW2, EOF.

use std::collections::HashMap;
use std::io::{Cursor, Write};

use chrono::{NaiveDate, Timelike};

use super::sheets::{cell_text, excel_date_format, excel_datetime_format, CellV, Table};

const MAX_RECORD: usize = 8224;
const XF_GENERAL: u16 = 15;
const XF_DATE: u16 = 16;
const XF_DATETIME: u16 = 17;

fn rec(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
    debug_assert!(data.len() <= MAX_RECORD);
    out.extend_from_slice(&typ.to_le_bytes());
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// XLUnicodeString: cch (u16), flags, UTF-16LE characters.
fn xl_string(s: &str) -> Vec<u8> {
    let n = s.encode_utf16().count() as u16;
    let mut v = n.to_le_bytes().to_vec();
    v.push(1);
    v.extend(utf16le(s));
    v
}

/// ShortXLUnicodeString: cch (u8), flags, UTF-16LE characters.
fn short_string(s: &str) -> Vec<u8> {
    let n = s.encode_utf16().count().min(255) as u8;
    let mut v = vec![n, 1];
    v.extend(utf16le(s));
    v
}

fn bof(dt: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(&0x0600u16.to_le_bytes());
    v.extend_from_slice(&dt.to_le_bytes());
    v.extend_from_slice(&0x0DBBu16.to_le_bytes());
    v.extend_from_slice(&0x07CCu16.to_le_bytes());
    v.extend_from_slice(&0x0000_0000u32.to_le_bytes());
    v.extend_from_slice(&0x0000_0006u32.to_le_bytes());
    v
}

fn font(height: u16, bold: bool) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&height.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes()); // grbit
    v.extend_from_slice(&0x7FFFu16.to_le_bytes()); // icv
    v.extend_from_slice(&(if bold { 700u16 } else { 400u16 }).to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes()); // sss
    v.push(0); // uls
    v.push(0); // family
    v.push(0x86); // charset GB2312
    v.push(0);
    v.extend(short_string("宋体"));
    v
}

fn xf(ifmt: u16, style: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    v.extend_from_slice(&0u16.to_le_bytes()); // ifnt
    v.extend_from_slice(&ifmt.to_le_bytes());
    v.extend_from_slice(&(if style { 0xFFF5u16 } else { 0x0001u16 }).to_le_bytes());
    v.push(0x20); // alignment: bottom
    v.push(0); // rotation
    v.push(0); // indent
    v.push(if style { 0 } else if ifmt != 0 { 0x04 } else { 0 }); // used attributes
    v.extend_from_slice(&[0, 0, 0, 0]); // borders
    v.extend_from_slice(&[0, 0, 0, 0]); // border colours, fill pattern
    v.extend_from_slice(&0x20C0u16.to_le_bytes()); // fill colours 64/65
    v
}

/// The SST record and its CONTINUE records. A string's header never splits; when its
/// characters continue in a CONTINUE record, that record starts with the flags byte again.
fn sst(strings: &[String], total_refs: u32) -> Vec<Vec<u8>> {
    let mut records: Vec<Vec<u8>> = Vec::new();
    let mut cur = Vec::with_capacity(MAX_RECORD);
    cur.extend_from_slice(&total_refs.to_le_bytes());
    cur.extend_from_slice(&(strings.len() as u32).to_le_bytes());
    for s in strings {
        let units: Vec<u16> = s.encode_utf16().collect();
        let need_head = 3 + if units.is_empty() { 0 } else { 2 };
        if cur.len() + need_head > MAX_RECORD {
            records.push(std::mem::take(&mut cur));
        }
        cur.extend_from_slice(&(units.len() as u16).to_le_bytes());
        cur.push(1);
        let mut rest: &[u16] = &units;
        while !rest.is_empty() {
            let avail = (MAX_RECORD - cur.len()) / 2;
            if avail == 0 {
                records.push(std::mem::take(&mut cur));
                cur.push(1);
                continue;
            }
            let n = avail.min(rest.len());
            for u in &rest[..n] {
                cur.extend_from_slice(&u.to_le_bytes());
            }
            rest = &rest[n..];
        }
    }
    records.push(cur);
    records
}

fn serial_date(d: NaiveDate) -> f64 {
    let base = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    (d - base).num_days() as f64
}

pub fn write(t: &Table, serial_dates: bool) -> anyhow::Result<Vec<u8>> {
    // cells: (row, col, value)
    let mut strings: Vec<String> = Vec::new();
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut refs = 0u32;
    let mut intern = |s: &str, strings: &mut Vec<String>| -> u32 {
        refs += 1;
        if let Some(i) = index.get(s) {
            return *i;
        }
        let i = strings.len() as u32;
        strings.push(s.to_string());
        index.insert(s.to_string(), i);
        i
    };
    enum C {
        Str(u32),
        Num(f64, u16),
    }
    let mut cells: Vec<(u16, u16, C)> = Vec::new();
    let mut r: u16 = 0;
    for title in &t.title_rows {
        cells.push((r, 0, C::Str(intern(title, &mut strings))));
        r += 1;
    }
    for (c, h) in t.header.iter().enumerate() {
        cells.push((r, c as u16, C::Str(intern(h, &mut strings))));
    }
    r += 1;
    for row in &t.rows {
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            let cell = match v {
                CellV::Empty => continue,
                CellV::Int(i) => C::Num(*i as f64, XF_GENERAL),
                CellV::Num(n) => C::Num(*n, XF_GENERAL),
                CellV::Date(d) if serial_dates => C::Num(serial_date(*d), XF_DATE),
                CellV::DateTime(dt) if serial_dates => {
                    let secs = dt.time().num_seconds_from_midnight() as f64;
                    C::Num(serial_date(dt.date()) + secs / 86400.0, XF_DATETIME)
                }
                other => C::Str(intern(&cell_text(other, t.date_style), &mut strings)),
            };
            cells.push((r, c, cell));
        }
        r += 1;
    }
    let nrows = r as u32;
    let ncols = t.header.len() as u16;

    // ---- workbook globals
    let mut g = Vec::new();
    rec(&mut g, 0x0809, &bof(0x0005));
    rec(&mut g, 0x0042, &1200u16.to_le_bytes());
    let mut w1 = Vec::new();
    for v in [0u16, 0, 0x3A5C, 0x2328, 0x0038, 0, 0, 1, 0x0258] {
        w1.extend_from_slice(&v.to_le_bytes());
    }
    rec(&mut g, 0x003D, &w1);
    rec(&mut g, 0x0022, &0u16.to_le_bytes());
    rec(&mut g, 0x0031, &font(220, false));
    rec(&mut g, 0x0031, &font(220, true));
    rec(&mut g, 0x0031, &font(220, false));
    rec(&mut g, 0x0031, &font(280, true));
    let mut f164 = 164u16.to_le_bytes().to_vec();
    f164.extend(xl_string(excel_date_format(t.date_style)));
    rec(&mut g, 0x041E, &f164);
    let mut f165 = 165u16.to_le_bytes().to_vec();
    f165.extend(xl_string(excel_datetime_format(t.date_style)));
    rec(&mut g, 0x041E, &f165);
    for _ in 0..15 {
        rec(&mut g, 0x00E0, &xf(0, true));
    }
    rec(&mut g, 0x00E0, &xf(0, false));
    rec(&mut g, 0x00E0, &xf(164, false));
    rec(&mut g, 0x00E0, &xf(165, false));
    rec(&mut g, 0x0293, &[0x00, 0x80, 0x00, 0xFF]);
    let boundsheet_at = g.len() + 4;
    let mut bs = 0u32.to_le_bytes().to_vec();
    bs.push(0); // visible
    bs.push(0); // worksheet
    let name: String = t.sheet_name.chars().take(31).collect();
    bs.extend(short_string(&name));
    rec(&mut g, 0x0085, &bs);
    let sst_records = sst(&strings, refs);
    for (i, data) in sst_records.iter().enumerate() {
        rec(&mut g, if i == 0 { 0x00FC } else { 0x003C }, data);
    }
    rec(&mut g, 0x000A, &[]);
    let sheet_pos = g.len() as u32;
    g[boundsheet_at..boundsheet_at + 4].copy_from_slice(&sheet_pos.to_le_bytes());

    // ---- worksheet
    let mut s = Vec::new();
    rec(&mut s, 0x0809, &bof(0x0010));
    let mut dim = Vec::new();
    dim.extend_from_slice(&0u32.to_le_bytes());
    dim.extend_from_slice(&nrows.to_le_bytes());
    dim.extend_from_slice(&0u16.to_le_bytes());
    dim.extend_from_slice(&ncols.to_le_bytes());
    dim.extend_from_slice(&0u16.to_le_bytes());
    rec(&mut s, 0x0200, &dim);
    for (r, c, v) in &cells {
        let mut d = Vec::with_capacity(14);
        d.extend_from_slice(&r.to_le_bytes());
        d.extend_from_slice(&c.to_le_bytes());
        match v {
            C::Str(i) => {
                d.extend_from_slice(&XF_GENERAL.to_le_bytes());
                d.extend_from_slice(&i.to_le_bytes());
                rec(&mut s, 0x00FD, &d);
            }
            C::Num(n, xf) => {
                d.extend_from_slice(&xf.to_le_bytes());
                d.extend_from_slice(&n.to_le_bytes());
                rec(&mut s, 0x0203, &d);
            }
        }
    }
    if !t.title_rows.is_empty() && ncols > 1 {
        let mut m = (t.title_rows.len() as u16).to_le_bytes().to_vec();
        for i in 0..t.title_rows.len() as u16 {
            for v in [i, i, 0, ncols - 1] {
                m.extend_from_slice(&v.to_le_bytes());
            }
        }
        rec(&mut s, 0x00E5, &m);
    }
    let mut w2 = Vec::new();
    for v in [0x06B6u16, 0, 0, 0x40, 0, 0, 0, 0, 0] {
        w2.extend_from_slice(&v.to_le_bytes());
    }
    rec(&mut s, 0x023E, &w2);
    rec(&mut s, 0x000A, &[]);
    g.extend(s);
    // keep the Workbook stream out of the mini stream (some readers insist)
    if g.len() < 4096 {
        g.resize(4096, 0);
    }

    let mut comp = cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))?;
    {
        let mut stream = comp.create_stream("/Workbook")?;
        stream.write_all(&g)?;
        stream.flush()?;
    }
    comp.flush()?;
    Ok(comp.into_inner().into_inner())
}
