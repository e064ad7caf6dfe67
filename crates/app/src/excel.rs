//! Plan-schedules in Excel: the export of the working copy and of any version, and the import
//! template. The sheets are written by the `sheets` crate, off the async threads; access is
//! checked here like every other read of a plan or a version.

use crate::{Editable, Error, Result, Workflow};
use domain::format::date_time_ru;
use domain::ids::{PlanId, VersionId};
use store::users::User;

pub use sheets::XLSX_MIME;

/// The largest import file accepted (see `sheets::Limits`).
pub const MAX_IMPORT_BYTES: usize = sheets::Limits::DEFAULT.file_bytes;

/// A file to download: its name (ASCII, for `Content-Disposition`) and its bytes.
#[derive(Debug, Clone)]
pub struct Download {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Writes a workbook on a blocking thread: a large plan takes a noticeable part of a second.
async fn written(build: impl FnOnce() -> Result<Vec<u8>, sheets::SheetError> + Send + 'static) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(build).await.map_err(Error::internal)?.map_err(Error::internal)
}

impl Workflow {
    /// The working copy as it is now, with the change marks against the latest approved version.
    pub async fn plan_xlsx(&self, user: &User, plan_id: PlanId) -> Result<Download> {
        let found = self.readable_plan(user, plan_id).await?;
        let (plan, owner) = (found.plan(), found.owner());
        let snapshot = self.working_copy(plan, owner).await?;
        let base = self.latest_base(plan).await?;
        let edition =
            format!("Рабочая копия (статус «{}»), выгружена {}", plan.status.title(), date_time_ru(chrono::Utc::now()));
        let bytes = written(move || sheets::plan_workbook(&snapshot, base.as_deref(), &edition)).await?;
        Ok(Download { file_name: format!("plan-{}-{}-working.xlsx", plan.id, plan.plan_year), bytes })
    }

    /// An approved version, with the change marks against the version before it.
    pub async fn version_xlsx(&self, user: &User, version_id: VersionId) -> Result<Download> {
        let (version, plan, _) = self.readable_version(user, version_id).await?.into_parts();
        let previous = match version.version_number {
            0 => None,
            n => match self.store.version_id_by_number(plan.id, n - 1).await? {
                Some(id) => Some(self.exchange.version_content(id).await?),
                None => None,
            },
        };
        let edition = format!("Версия {}, утверждена {}", version.version_number, date_time_ru(version.approved_at));
        let file_name = format!("plan-{}-{}-v{}.xlsx", plan.id, plan.plan_year, version.version_number);
        let snapshot = version.snapshot;
        let bytes = written(move || sheets::plan_workbook(&snapshot, previous.as_deref(), &edition)).await?;
        Ok(Download { file_name, bytes })
    }

    /// The empty import template of the plan (for its year and its customer's type).
    pub async fn import_template(&self, user: &User, plan_id: PlanId) -> Result<Download> {
        let found = self.readable_plan(user, plan_id).await?;
        let customer = crate::snapshot::customer_snapshot(found.owner());
        let year = found.plan().plan_year;
        let bytes = written(move || sheets::template_workbook(year, &customer)).await?;
        Ok(Download { file_name: format!("plan-{}-{year}-template.xlsx", plan_id), bytes })
    }
}

/// What an import would do with one row of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportAction {
    /// A new position.
    Add,
    /// The position with this purchase number changes.
    Update,
    /// The position with this purchase number is already as the row says.
    Unchanged,
    /// The row has errors.
    Invalid,
}

impl ImportAction {
    pub fn title(self) -> &'static str {
        match self {
            ImportAction::Add => "Будет добавлена",
            ImportAction::Update => "Будет изменена",
            ImportAction::Unchanged => "Без изменений",
            ImportAction::Invalid => "Ошибки",
        }
    }
}

/// One position row of an import file as checked.
#[derive(Debug, Clone)]
pub struct PreviewRow {
    /// The row as the spreadsheet numbers it.
    pub row: u32,
    /// The purchase number of a position that changes or stays, `0001`.
    pub number: Option<String>,
    pub title: String,
    pub action: ImportAction,
}

/// The check of an import file: every row, every error per cell, and the content stamp of the
/// plan it was checked against. Nothing is saved by it.
#[derive(Debug, Clone)]
pub struct ImportPreview {
    pub stamp: i64,
    pub rows: Vec<PreviewRow>,
    /// Every problem, by row and column.
    pub errors: Vec<sheets::CellError>,
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
}

/// What a confirmed import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOutcome {
    pub added: usize,
    pub changed: usize,
}

/// The writes a checked file would make.
struct Planned {
    updates: Vec<store::plans::ImportedChange>,
    adds: Vec<domain::plan::Position>,
}

/// The plan changed between the check and the confirmation.
pub const IMPORT_STALE: &str = "План-график изменился после проверки файла: позиции не загружены. Загрузите файл ещё раз, чтобы проверить его заново.";
/// The confirmation of a file that has errors.
pub const IMPORT_HAS_ERRORS: &str =
    "В файле есть ошибки: позиции не загружены. Исправьте отмеченные ячейки и загрузите файл ещё раз.";
const CANCELED_ROW: &str = "Закупка отменена: изменить её загрузкой из файла нельзя";

impl Workflow {
    /// Checks an import file against the plan's working copy: every error per cell, and what
    /// each row would do. Saves nothing. Only a caller who may change the working copy now may
    /// check a file for it.
    pub async fn import_preview(&self, user: &User, plan_id: PlanId, bytes: Vec<u8>) -> Result<ImportPreview> {
        let plan = self.editable_plan(user, plan_id).await?;
        Ok(self.plan_import(&plan, bytes).await?.0)
    }

    /// Applies an import file checked at content stamp `stamp`: every row or none, in one
    /// transaction, and only if the working copy is still at that stamp and the file has no
    /// errors. The file is checked again here: what is saved is what this check finds.
    pub async fn import_positions(
        &self,
        user: &User,
        plan_id: PlanId,
        bytes: Vec<u8>,
        stamp: i64,
    ) -> Result<ImportOutcome> {
        let plan = self.editable_plan(user, plan_id).await?;
        if crate::checks::content_stamp(plan.plan()) != stamp {
            return Err(Error::refused(crate::Refusal::State, IMPORT_STALE));
        }
        let (preview, planned) = self.plan_import(&plan, bytes).await?;
        if !preview.errors.is_empty() {
            return Err(Error::refused(crate::Refusal::Content, IMPORT_HAS_ERRORS));
        }
        let outcome = ImportOutcome { added: planned.adds.len(), changed: planned.updates.len() };
        if outcome.added + outcome.changed == 0 {
            return Ok(outcome);
        }
        match self.store.import_positions(plan.plan(), stamp, &planned.updates, &planned.adds, user.id).await? {
            Ok(_) => Ok(outcome),
            Err(store::plans::PositionRefusal::Stale) => Err(Error::refused(crate::Refusal::State, IMPORT_STALE)),
            Err(store::plans::PositionRefusal::PlanNotEditable) => {
                Err(Error::refused(crate::Refusal::State, crate::positions::NOT_EDITABLE))
            }
            Err(store::plans::PositionRefusal::NumbersExhausted) => {
                Err(Error::refused(crate::Refusal::State, domain::ikz::CodeError::PurchaseNumber.to_string()))
            }
        }
    }

    /// Reads the file and decides each row against the stored working copy.
    async fn plan_import(&self, plan: &Editable, bytes: Vec<u8>) -> Result<(ImportPreview, Planned)> {
        use domain::plan::{ChangeDecision, Position, parse_change};
        use std::collections::HashMap;
        let (year, org_type) = (plan.plan().plan_year, plan.owner().org_type);
        let read = tokio::task::spawn_blocking(move || sheets::read(&bytes, year, org_type, &sheets::Limits::DEFAULT))
            .await
            .map_err(Error::internal)?
            .map_err(|e| Error::field("file", e.to_string()))?;
        let stamp = crate::checks::content_stamp(plan.plan());
        let stored: HashMap<u16, store::plans::StoredPosition> = self
            .store
            .positions(plan.plan().id)
            .await?
            .into_iter()
            .map(|s| (s.position.purchase_number.get(), s))
            .collect();
        // НСИ lookups once per code.
        let mut specials = HashMap::new();
        let mut reasons = HashMap::new();
        for row in read.iter().filter(|r| r.position) {
            let code = row.draft.special_type.trim();
            if !code.is_empty() && !specials.contains_key(code) {
                specials.insert(code.to_owned(), self.special_purchase(code).await?);
            }
            let reason = row.reason_code.trim();
            if !reason.is_empty() && !reasons.contains_key(reason) {
                reasons.insert(reason.to_owned(), self.change_reason_name(reason).await?);
            }
        }
        let stand_in = domain::ikz::PurchaseNumber::new(1).map_err(|e| Error::Internal(e.into()))?;
        let mut seen: HashMap<u16, u32> = HashMap::new();
        let mut preview =
            ImportPreview { stamp, rows: Vec::new(), errors: Vec::new(), added: 0, changed: 0, unchanged: 0 };
        let mut planned = Planned { updates: Vec::new(), adds: Vec::new() };
        for mut row in read {
            let mut action = ImportAction::Invalid;
            let mut number_shown = None;
            if row.position {
                let existing = match row.number.as_str() {
                    "" => None,
                    typed => match typed.parse::<u32>().ok().and_then(|n| domain::ikz::PurchaseNumber::new(n).ok()) {
                        None => {
                            row.error(
                                sheets::columns::Col::Number,
                                "Номер закупки — число от 1 до 9999, или пусто для новой позиции",
                            );
                            None
                        }
                        Some(n) => match (stored.get(&n.get()), seen.insert(n.get(), row.row)) {
                            (_, Some(first)) => {
                                row.error(
                                    sheets::columns::Col::Number,
                                    format!("Номер {} уже указан в строке {first}", n.padded()),
                                );
                                None
                            }
                            (None, None) => {
                                row.error(
                                    sheets::columns::Col::Number,
                                    format!("Позиции с номером {} нет в плане-графике: оставьте номер пустым, чтобы добавить новую позицию", n.padded()),
                                );
                                None
                            }
                            (Some(s), None) => Some(s),
                        },
                    },
                };
                number_shown = existing.map(|s| s.position.purchase_number.padded());
                let special = specials.get(row.draft.special_type.trim()).cloned().flatten();
                let number = existing.map_or(stand_in, |s| s.position.purchase_number);
                match row.draft.parse(number, org_type, special) {
                    Err(errors) => row.place(&errors),
                    Ok(parsed) => match existing {
                        None => {
                            if row.errors.is_empty() && row.number.is_empty() {
                                action = ImportAction::Add;
                                planned.adds.push(parsed);
                            }
                        }
                        Some(s) => {
                            let same = Position { change: None, ..parsed.clone() }
                                == Position { change: None, ..s.position.clone() };
                            if same {
                                action = ImportAction::Unchanged;
                            } else if s.position.is_canceled() {
                                row.error(sheets::columns::Col::Number, CANCELED_ROW);
                            } else {
                                let mut position = parsed;
                                if s.in_base {
                                    let name = reasons.get(row.reason_code.trim()).cloned().flatten();
                                    match parse_change(
                                        &row.reason_code,
                                        name.as_deref(),
                                        ChangeDecision::Changed,
                                        &row.change_description,
                                    ) {
                                        Ok(change) => position.change = Some(change),
                                        Err(errors) => row.place(&errors),
                                    }
                                }
                                if row.errors.is_empty() {
                                    action = ImportAction::Update;
                                    planned.updates.push(store::plans::ImportedChange {
                                        id: s.id,
                                        row_version: s.row_version,
                                        before_summary: s.position.summary(),
                                        position,
                                    });
                                }
                            }
                        }
                    },
                }
            }
            if !row.errors.is_empty() {
                action = ImportAction::Invalid;
            }
            match action {
                ImportAction::Add => preview.added += 1,
                ImportAction::Update => preview.changed += 1,
                ImportAction::Unchanged => preview.unchanged += 1,
                ImportAction::Invalid => {}
            }
            let title = match (row.draft.object_info.trim(), row.draft.special_type.trim()) {
                ("", "") => String::new(),
                ("", special) => format!("Особая закупка {special}"),
                (object, _) => object.chars().take(200).collect(),
            };
            preview.rows.push(PreviewRow { row: row.row, number: number_shown, title, action });
            preview.errors.append(&mut row.errors);
        }
        preview.errors.sort_by_key(|e| e.row);
        Ok((preview, planned))
    }
}
