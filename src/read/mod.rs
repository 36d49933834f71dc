//! Turning a file into positioned text, table cells and PDF signature facts.
//! Knows nothing of fields or rules.

pub mod pdf;
pub mod sheet;
pub mod image;
pub mod pdfimage;

use thiserror::Error;

/// Why a file could not be read. `code()` is stable (it goes into the output contract);
/// `message_zh()` is what a reviewer reads.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("the file is empty")]
    Empty,
    #[error("encrypted or password-protected: {0}")]
    Encrypted(String),
    #[error("truncated or damaged: {0}")]
    Damaged(String),
    #[error("refused, over a size or allocation limit: {0}")]
    TooLarge(String),
    #[error("not a supported document: {0}")]
    Unsupported(String),
    #[error("no text layer and no OCR available: {0}")]
    NoText(String),
    #[error("the reader crashed: {0}")]
    Panic(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl ReadError {
    pub fn code(&self) -> &'static str {
        match self {
            ReadError::Empty => "empty",
            ReadError::Encrypted(_) => "encrypted",
            ReadError::Damaged(_) => "damaged",
            ReadError::TooLarge(_) => "too-large",
            ReadError::Unsupported(_) => "unsupported",
            ReadError::NoText(_) => "no-text",
            ReadError::Panic(_) => "reader-crash",
            ReadError::Io(_) => "io",
        }
    }

    pub fn message_zh(&self) -> &'static str {
        match self {
            ReadError::Empty => "空文件，无法读取",
            ReadError::Encrypted(_) => "文件已加密或设有密码，无法读取，请申报单位上传未加密的文件",
            ReadError::Damaged(_) => "文件不完整或已损坏，无法读取，请申报单位重新上传",
            ReadError::TooLarge(_) => "文件超出处理上限（大小或内存分配），已拒绝读取",
            ReadError::Unsupported(_) => "不是可识别的申报材料格式（PDF、图片或表格）",
            ReadError::NoText(_) => "文件无文字层，需要OCR识别",
            ReadError::Panic(_) => "读取该文件时程序内部出错，已跳过",
            ReadError::Io(_) => "读取文件时发生输入输出错误",
        }
    }
}
