//! Positioned text and spreadsheet cells → typed fields with provenance and confidence,
//! using the label dictionary of the pipeline file. Reads no file itself.

pub mod form;
pub mod bands;
pub mod glyphs;
pub mod layout;
pub mod normalize;
pub mod scan;
pub mod sheet;
pub mod stream;
pub mod table;
pub mod verify;

pub use form::{extract_form, NotAForm};
pub use sheet::{extract_sheets, NoHeader};

use crate::config::Pipeline;
use crate::model::{Extracted, Method};
use crate::read::pdf::PdfDoc;

/// The declaration form in a PDF's text layer.
pub fn extract_pdf(p: &Pipeline, file: &str, doc: &PdfDoc) -> Result<Extracted, NotAForm> {
    let lines = layout::lines_from_pages(&doc.pages);
    extract_form(p, file, Method::Text, &lines)
}
