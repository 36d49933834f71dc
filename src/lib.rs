//! shenbao (申报): batch review of 巴渝工匠 skills-competition declarations.
//!
//! Stages, each a module that knows only the stages below it:
//! discover → read → extract → assemble → check → report, run by `pipeline`.

pub mod config;
pub mod model;
pub mod read;
pub mod ocr;
pub mod codes;
pub mod discover;
pub mod extract;
pub mod assemble;
pub mod check;
pub mod report;
pub mod pipeline;
pub mod samples;
pub mod store;
pub mod seal;
