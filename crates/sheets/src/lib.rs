//! Plan-schedules in Excel, and the table of organizations and users a region is onboarded
//! from (`roster`, .xlsx or CSV): the export of a plan's positions (the working copy or a version) to
//! .xlsx, the import template, and the reading of an import file into position drafts.
//! Depends on `domain` only: it writes and reads sheets, the workflow (`app`) decides what to
//! do with them. Files are written with `rust_xlsxwriter`; see `columns` for the one layout
//! shared by the export, the template and the import.

pub mod columns;
pub mod export;
pub mod import;
pub mod roster;

pub use export::{plan_workbook, template_workbook};
pub use import::{CellError, Limits, ReadError, SheetRow, read};

/// Why a workbook could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("Не удалось сформировать файл Excel: {0}")]
    Write(String),
}

/// The MIME type of .xlsx files.
pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[cfg(test)]
mod tests;
