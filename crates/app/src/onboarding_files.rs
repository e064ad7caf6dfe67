//! «Администрирование» → «Загрузка организаций»: an administrator onboards organizations and
//! their users from a file, in three steps.
//!
//! 1. **Check.** The file is ЕИС's «Сводный перечень заказчиков» (XML, read by
//!    `eis::nsi_organizations`) or the table of organizations and users (.xlsx or CSV, read by
//!    `sheets::roster`, with a template). Every row is checked — the organizations by the same
//!    rules as `plangraf org load` ([`crate::onboarding`]), the users by those of «Создать
//!    пользователя» — and what would be created, updated and left unchanged is shown, with each
//!    problem by row and column. Nothing is saved but the file itself, for its administrator
//!    only: a file without errors is staged (`store::onboarding`, migration 0020) under an id,
//!    with an expiry of [`STAGED_FOR`], so that the confirmation loads what was checked without
//!    the browser carrying the file back.
//! 2. **Confirm.** The staged file runs as a job (`/jobs/{id}`): checked again against the
//!    database as it is now (a file that has errors now loads nothing), then the organizations
//!    in portions of [`ORGS_PER_STEP`] (each one transaction, superiors first, matched by СПЗ so a
//!    repeated load updates and never duplicates), then the users one by one (matched by login).
//!    The load and each change go to the audit journal.
//! 3. **Passwords.** A created user gets a generated password that must be changed at the
//!    first sign-in (as «Создать пользователя» does). The passwords of one load are kept as one
//!    CSV sealed with the application's key (AES-256-GCM, as ЕИС passwords are) until the
//!    administrator downloads it from the job's page — once: the download erases it — or for
//!    [`PASSWORDS_FOR`] at most. They are never logged nor written to the journal.
//!
//! An administrator loads only their own organization and those whose superiors lead to it
//! ([`crate::onboarding::within_reach`]); a user's organization must be in that reach too.

use crate::onboarding::{LOADING, ListCheck, OrgField, RowOutcome};
use crate::user_admin::generate_password;
use crate::users::hash;
use crate::{Error, Refusal, Result, Workflow};
use domain::ids::OrgId;
use domain::secret::Secret;
use domain::{Role, Roles};
use eis::nsi_organizations::{NsiOrganization, read_organization_list_bytes};
use sheets::CellError;
use sheets::roster::{LIMITS, RosterCol, RosterRow, csv_field, read_roster};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use store::jobs::JobKind;
use store::onboarding::Passwords;
use store::user_admin::ChangedBy;
use store::users::User;

/// The largest file the page takes: a region's «Сводный перечень заказчиков» runs to tens of
/// megabytes (larger ones load with `plangraf org load`).
pub const MAX_UPLOAD_BYTES: usize = 40 << 20;
/// How long a checked file waits for its confirmation.
pub const STAGED_FOR: Duration = Duration::from_secs(60 * 60);
/// How long the temporary passwords of a load wait for their download.
pub const PASSWORDS_FOR: Duration = Duration::from_secs(24 * 60 * 60);
/// Organizations loaded in one transaction (one step of the job's progress).
pub const ORGS_PER_STEP: usize = 250;

/// What the uploaded file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// ЕИС's «Сводный перечень заказчиков» (`nsiOrganizationList`).
    EisList,
    /// The table of organizations and users (.xlsx or CSV).
    Table,
}

impl FileKind {
    pub fn code(self) -> &'static str {
        match self {
            FileKind::EisList => "eis",
            FileKind::Table => "table",
        }
    }

    fn from_code(code: &str) -> Option<FileKind> {
        [FileKind::EisList, FileKind::Table].into_iter().find(|k| k.code() == code)
    }

    pub fn title(self) -> &'static str {
        match self {
            FileKind::EisList => "сводный перечень заказчиков ЕИС (XML)",
            FileKind::Table => "таблица организаций и пользователей",
        }
    }

    /// By the file's name, else by its first bytes: XML is the ЕИС list, anything else a table
    /// (an .xlsx is a ZIP archive; a ZIP that is no workbook is refused by the table's reader).
    pub fn of(file_name: &str, bytes: &[u8]) -> FileKind {
        let name = file_name.to_lowercase();
        if name.ends_with(".xml") {
            return FileKind::EisList;
        }
        if name.ends_with(".xlsx") || name.ends_with(".csv") || name.ends_with(".txt") {
            return FileKind::Table;
        }
        let head = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let head = head.trim_ascii_start();
        if head.starts_with(b"<") { FileKind::EisList } else { FileKind::Table }
    }
}

/// What a row of the file would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    New,
    /// The fields that would change.
    Changed(Vec<&'static str>),
    Unchanged,
    /// A record ЕИС marks not actual: left out.
    NotActual,
    Invalid,
}

impl Action {
    pub fn title(&self) -> String {
        match self {
            Action::New => "Будет создана запись".to_owned(),
            Action::Changed(fields) => format!("Будет изменено: {}", fields.join(", ")),
            Action::Unchanged => "Без изменений".to_owned(),
            Action::NotActual => "Неактуальна в ЕИС: пропускается".to_owned(),
            Action::Invalid => "Ошибки".to_owned(),
        }
    }
}

/// An organization of the file as checked.
#[derive(Debug, Clone)]
pub struct OrgLine {
    /// The row of the table, or the record of the ЕИС list (from 1).
    pub row: u32,
    pub spz: String,
    pub name: String,
    pub action: Action,
}

/// A user of the file as checked.
#[derive(Debug, Clone)]
pub struct UserLine {
    pub row: u32,
    pub login: String,
    pub full_name: String,
    pub org_spz: String,
    pub role: String,
    pub action: Action,
}

/// The check of a file: every organization and user, every problem by row and column. When
/// there is none, `load_id` is the staged file to confirm.
#[derive(Debug, Clone)]
pub struct LoadPreview {
    pub load_id: Option<i64>,
    pub file_name: String,
    pub kind: FileKind,
    pub orgs: Vec<OrgLine>,
    pub users: Vec<UserLine>,
    pub errors: Vec<CellError>,
    /// Foreign organizations of the ЕИС list, left out.
    pub foreign: usize,
}

impl LoadPreview {
    fn count<T>(lines: &[T], action: impl Fn(&T) -> &Action, pick: fn(&Action) -> bool) -> usize {
        lines.iter().filter(|l| pick(action(l))).count()
    }

    /// New, changed, unchanged organizations.
    pub fn org_counts(&self) -> (usize, usize, usize) {
        (
            Self::count(&self.orgs, |l| &l.action, |a| matches!(a, Action::New)),
            Self::count(&self.orgs, |l| &l.action, |a| matches!(a, Action::Changed(_))),
            Self::count(&self.orgs, |l| &l.action, |a| matches!(a, Action::Unchanged)),
        )
    }

    /// New, changed, unchanged users.
    pub fn user_counts(&self) -> (usize, usize, usize) {
        (
            Self::count(&self.users, |l| &l.action, |a| matches!(a, Action::New)),
            Self::count(&self.users, |l| &l.action, |a| matches!(a, Action::Changed(_))),
            Self::count(&self.users, |l| &l.action, |a| matches!(a, Action::Unchanged)),
        )
    }

    /// The rows with errors.
    pub fn invalid_rows(&self) -> usize {
        self.errors.iter().map(|e| e.row).collect::<HashSet<_>>().len()
    }
}

/// A user the load writes.
#[derive(Debug, Clone)]
enum UserWrite {
    Create {
        login: String,
        full_name: String,
        email: Option<String>,
        org_spz: String,
        roles: Roles,
    },
    Update {
        user: User,
        full_name: String,
        email: Option<String>,
        org_spz: String,
        roles: Roles,
        changes: Vec<&'static str>,
    },
}

/// A file checked: what to show and what to write.
struct Planned {
    preview: LoadPreview,
    check: ListCheck,
    users: Vec<UserWrite>,
}

/// The column of the file a problem of an organization's field is in.
fn column_of(kind: FileKind, field: OrgField) -> &'static str {
    match kind {
        FileKind::Table => match field {
            OrgField::Spz => RosterCol::Spz.title(),
            OrgField::FullName => RosterCol::FullName.title(),
            OrgField::Inn | OrgField::Iku => RosterCol::Inn.title(),
            OrgField::Kpp => RosterCol::Kpp.title(),
            OrgField::OrgType => RosterCol::OrgType.title(),
            OrgField::Level => RosterCol::Level.title(),
            OrgField::Oktmo => RosterCol::Oktmo.title(),
            OrgField::Superior => RosterCol::SuperiorSpz.title(),
        },
        FileKind::EisList => match field {
            OrgField::Spz => "СПЗ (regNumber)",
            OrgField::FullName => "Полное наименование (fullName)",
            OrgField::Inn => "ИНН (INN)",
            OrgField::Kpp => "КПП (KPP)",
            OrgField::OrgType => "Тип организации (organizationType)",
            OrgField::Level => "Уровень (subordinationType)",
            OrgField::Oktmo => "ОКТМО (OKTMO)",
            OrgField::Iku => "ИКУ (IKUInfo)",
            OrgField::Superior => "Вышестоящая организация (headAgency)",
        },
    }
}

/// A level typed in words or as its digit.
fn level_code(typed: &str) -> String {
    let folded = typed.trim().to_lowercase();
    if folded.starts_with("федерал") {
        "1".into()
    } else if folded.starts_with("регион") || folded.starts_with("субъект") {
        "2".into()
    } else if folded.starts_with("муницип") || folded.starts_with("местн") {
        "3".into()
    } else {
        typed.trim().to_owned()
    }
}

/// An organization type by its code (`3` as `03`, as a sheet may show a number) or its name.
fn type_code(typed: &str) -> String {
    let t = typed.trim();
    if t.len() == 1 && t.bytes().all(|b| b.is_ascii_digit()) {
        return format!("0{t}");
    }
    let folded = t.to_lowercase().replace('ё', "е");
    domain::OrgType::ALL
        .into_iter()
        .find(|k| k.title().to_lowercase().replace('ё', "е") == folded)
        .map_or_else(|| t.to_owned(), |k| k.code().to_owned())
}

/// A role by its name in Russian or its code.
fn role_of(typed: &str) -> Option<Role> {
    let folded = typed.trim().to_lowercase().replace('ё', "е");
    Role::ALL.into_iter().find(|r| r.title().to_lowercase().replace('ё', "е") == folded || r.code() == folded)
}

/// One or several roles, by name or code, separated by commas or semicolons; `None` when one
/// is unknown or none is given.
fn roles_of(typed: &str) -> Option<Roles> {
    let items: Vec<&str> = typed.split([',', ';']).map(str::trim).filter(|t| !t.is_empty()).collect();
    let roles: Option<Vec<Role>> = items.iter().map(|t| role_of(t)).collect();
    Roles::new(roles?)
}

fn err(row: u32, column: &str, message: impl Into<String>) -> CellError {
    CellError { row, column: column.to_owned(), message: message.into() }
}

impl Workflow {
    /// Refused to anyone but an administrator.
    fn onboarding_admin(&self, caller: &User) -> Result<()> {
        if !caller.roles.is_admin() {
            return Err(Error::not_allowed("Раздел «Загрузка организаций» доступен только администратору."));
        }
        Ok(())
    }

    /// The template of the table as .xlsx.
    pub async fn onboarding_template_xlsx(&self, caller: &User) -> Result<crate::excel::Download> {
        self.onboarding_admin(caller)?;
        let bytes = tokio::task::spawn_blocking(sheets::roster::template_xlsx)
            .await
            .map_err(Error::internal)?
            .map_err(Error::internal)?;
        Ok(crate::excel::Download { file_name: "organizations-template.xlsx".into(), bytes })
    }

    /// The template of the table as CSV.
    pub fn onboarding_template_csv(&self, caller: &User) -> Result<crate::excel::Download> {
        self.onboarding_admin(caller)?;
        Ok(crate::excel::Download {
            file_name: "organizations-template.csv".into(),
            bytes: sheets::roster::template_csv(),
        })
    }

    /// Checks an uploaded file and, when it has no error, stages it for the confirmation.
    /// Saves nothing else.
    pub async fn onboarding_check(&self, admin: &User, file_name: &str, bytes: Vec<u8>) -> Result<LoadPreview> {
        self.onboarding_admin(admin)?;
        if bytes.is_empty() {
            return Err(Error::field(
                "file",
                "Выберите файл: сводный перечень заказчиков (XML) или таблицу (.xlsx, CSV).",
            ));
        }
        if bytes.len() > MAX_UPLOAD_BYTES {
            return Err(Error::field(
                "file",
                format!(
                    "Файл больше {} МБ. Разделите его или загрузите командой plangraf org load.",
                    MAX_UPLOAD_BYTES >> 20
                ),
            ));
        }
        let kind = FileKind::of(file_name, &bytes);
        let file_name: String = file_name.chars().take(200).collect();
        let mut planned = self.plan_onboarding(admin, kind, bytes.clone()).await?;
        planned.preview.file_name = file_name.clone();
        if planned.preview.errors.is_empty() {
            let expires = store::now_ms_after(STAGED_FOR);
            let id = self.store.stage_onboarding(admin.id, &file_name, kind.code(), &bytes, expires).await?;
            planned.preview.load_id = Some(id);
        }
        Ok(planned.preview)
    }

    /// The check of a staged file again (its page), against the database as it is now.
    pub async fn onboarding_preview(&self, admin: &User, load_id: i64) -> Result<LoadPreview> {
        self.onboarding_admin(admin)?;
        let staged = self.store.staged_onboarding(load_id, admin.id).await?.ok_or(Error::NotFound)?;
        if let Some(job) = staged.job_id {
            return Err(Error::refused(
                Refusal::State,
                format!(
                    "Этот файл уже загружен или загружается: см. операцию № {job}. Чтобы загрузить его снова, выберите файл ещё раз."
                ),
            ));
        }
        let (Some(bytes), Some(kind)) = (staged.content, FileKind::from_code(&staged.file_kind)) else {
            return Err(Error::refused(Refusal::State, EXPIRED));
        };
        let mut planned = self.plan_onboarding(admin, kind, bytes).await?;
        planned.preview.file_name = staged.file_name;
        if planned.preview.errors.is_empty() {
            planned.preview.load_id = Some(load_id);
        }
        Ok(planned.preview)
    }

    /// «Подтвердить»: the staged file loads as a job; its id. A file confirmed already shows its
    /// job.
    pub async fn onboarding_confirm(&self, admin: &User, load_id: i64) -> Result<i64> {
        self.onboarding_admin(admin)?;
        let staged = self.store.staged_onboarding(load_id, admin.id).await?.ok_or(Error::NotFound)?;
        if let Some(job) = staged.job_id {
            return Ok(job);
        }
        let (Some(bytes), Some(kind)) = (staged.content, FileKind::from_code(&staged.file_kind)) else {
            return Err(Error::refused(Refusal::State, EXPIRED));
        };
        let job = self.store.create_job(JobKind::Onboarding, admin.id).await?;
        if !self.store.claim_onboarding(load_id, admin.id, job).await? {
            let progress = store::jobs::JobProgress::default();
            self.store.finish_job(job, store::jobs::JobStatus::Failed, &progress, EXPIRED).await?;
            return Err(Error::refused(Refusal::State, EXPIRED));
        }
        let (workflow, admin, file_name) = (self.clone(), admin.clone(), staged.file_name);
        self.run_job(
            job,
            Box::new(move |mut tracker| {
                Box::pin(async move {
                    let outcome = workflow.run_onboarding(&admin, load_id, &file_name, kind, bytes, &mut tracker).await;
                    (outcome, tracker)
                })
            }),
        );
        Ok(job)
    }

    /// The load run by the administrator's job `job`, if it is one: `Some(None)` when it
    /// created no user, `Some(Some(true))` while its passwords wait for their download.
    pub async fn onboarding_of_job(&self, admin: &User, job: i64) -> Result<Option<Option<bool>>> {
        Ok(self.store.onboarding_of_job(job, admin.id).await?.map(|(_, passwords)| passwords))
    }

    /// The temporary passwords of the load run by job `job`, once.
    pub async fn onboarding_passwords(&self, admin: &User, job: i64) -> Result<crate::excel::Download> {
        self.onboarding_admin(admin)?;
        self.job(admin, job).await?;
        match self.store.take_onboarding_passwords(job, admin.id, admin.org_id).await? {
            None => Err(Error::NotFound),
            Some(Passwords::None) => {
                Err(Error::refused(Refusal::State, "Эта загрузка не создала пользователей: файла паролей нет."))
            }
            Some(Passwords::Gone) => Err(Error::refused(
                Refusal::State,
                "Файл временных паролей уже скачан или срок его хранения истёк: повторно он не выдаётся. \
                 Если файл утерян, сбросьте пароли пользователям в «Администрирование» → «Пользователи».",
            )),
            Some(Passwords::Taken { file_name, csv, .. }) => {
                Ok(crate::excel::Download { file_name, bytes: csv.expose().as_bytes().to_vec() })
            }
        }
    }

    /// The job's work: the file checked again, then loaded.
    async fn run_onboarding(
        &self,
        admin: &User,
        load_id: i64,
        file_name: &str,
        kind: FileKind,
        bytes: Vec<u8>,
        tracker: &mut crate::jobs::Tracker,
    ) -> Result<String> {
        let _loading = LOADING.acquire().await.map_err(Error::internal)?;
        let planned = self.plan_onboarding(admin, kind, bytes).await?;
        if !planned.preview.errors.is_empty() {
            self.store.drop_onboarding_file(load_id).await?;
            return Err(Error::refused(
                Refusal::State,
                format!(
                    "Данные в plangraf изменились после проверки файла, и теперь в нём ошибок: {}. Ничего не загружено: \
                     загрузите файл ещё раз, чтобы проверить его заново.",
                    planned.preview.errors.len()
                ),
            ));
        }
        let orgs = planned.check.ordered();
        tracker.set_total(orgs.len() + planned.users.len()).await?;
        let mut loaded = store::orgs::ListLoaded::default();
        for portion in orgs.chunks(ORGS_PER_STEP) {
            let l = self.store.load_organizations(portion, Some(admin.id), Some(admin.org_id)).await?;
            loaded.created += l.created;
            loaded.updated += l.updated;
            loaded.unchanged += l.unchanged;
            tracker.succeeded_many(portion.len()).await?;
        }
        let by_spz: HashMap<String, (OrgId, String)> = self
            .store
            .organizations()
            .await?
            .into_iter()
            .map(|o| (o.spz_code.as_str().to_owned(), (o.id, o.short_name)))
            .collect();
        let by = ChangedBy { user_id: admin.id };
        let mut passwords = String::from("\u{feff}Логин;ФИО;Организация;Временный пароль\r\n");
        let (mut created, mut updated, mut handed) = (0usize, 0usize, 0i64);
        for write in &planned.users {
            let org_spz = match write {
                UserWrite::Create { org_spz, .. } | UserWrite::Update { org_spz, .. } => org_spz,
            };
            let Some((org_id, org_name)) = by_spz.get(org_spz) else {
                tracker
                    .refused(format!("Организация {org_spz} не найдена после загрузки: пользователь пропущен"))
                    .await?;
                continue;
            };
            match write {
                UserWrite::Create { login, full_name, email, roles, .. } => {
                    let password = generate_password(login);
                    let hashed = hash(password.expose().to_owned()).await?;
                    let details = format!(
                        "Логин {login}; ФИО {full_name}; организация {org_name}; роли: {roles}; загружен из файла «{file_name}»; \
                         смена пароля при первом входе обязательна"
                    );
                    let new = store::user_admin::NewUser {
                        login,
                        password_hash: &hashed,
                        full_name,
                        org_id: *org_id,
                        roles: *roles,
                    };
                    match self.store.admin_create_user(by, &new, &details).await? {
                        Some(user) => {
                            if email.is_some() {
                                let details = format!("Логин {login}; e-mail из файла «{file_name}»");
                                self.store.admin_set_contact(by, &user, full_name, email.as_deref(), &details).await?;
                            }
                            let line = [login.as_str(), full_name, org_name, password.expose()]
                                .iter()
                                .map(|v| csv_field(v))
                                .collect::<Vec<_>>()
                                .join(";");
                            passwords.push_str(&line);
                            passwords.push_str("\r\n");
                            created += 1;
                            handed += 1;
                            tracker.succeeded().await?;
                        }
                        None => {
                            tracker.refused(format!("Логин {login} занят (создан другим администратором только что): пользователь не создан")).await?;
                        }
                    }
                }
                UserWrite::Update { user, full_name, email, roles, changes, .. } => {
                    let mut details = format!("Логин {}; из файла «{file_name}»: {}", user.login, changes.join(", "));
                    if *org_id != user.org_id || *roles != user.roles {
                        if user.roles != *roles {
                            details.push_str(&format!("; роли: {} → {roles}", user.roles));
                        }
                        self.store.admin_update_user(by, user.id, *org_id, *roles, &details).await?;
                    }
                    if changes.iter().any(|c| *c == "ФИО" || *c == "e-mail") {
                        self.store.admin_set_contact(by, user, full_name, email.as_deref(), &details).await?;
                    }
                    updated += 1;
                    tracker.succeeded().await?;
                }
            }
        }
        if handed > 0 {
            let expires = store::now_ms_after(PASSWORDS_FOR);
            self.store.save_onboarding_passwords(load_id, &Secret::new(passwords), handed, expires).await?;
        }
        self.store.drop_onboarding_file(load_id).await?;
        let users_unchanged = planned.preview.user_counts().2;
        let details = format!(
            "Файл «{file_name}» ({}); организаций: создано {}, обновлено {}, без изменений {}; пользователей: создано {created}, \
             обновлено {updated}, без изменений {users_unchanged}",
            kind.title(),
            loaded.created,
            loaded.updated,
            loaded.unchanged,
        );
        self.store
            .record_audit(
                Some(admin.id),
                Some(admin.org_id),
                "onboarding",
                Some(load_id),
                "Загрузка организаций из файла",
                &details,
            )
            .await?;
        let mut summary = format!(
            "Организации: создано {}, обновлено {}, без изменений {}. Пользователи: создано {created}, обновлено {updated}, \
             без изменений {users_unchanged}.",
            loaded.created, loaded.updated, loaded.unchanged
        );
        if handed > 0 {
            summary.push_str(" Скачайте файл временных паролей ниже: он выдаётся один раз.");
        }
        Ok(summary)
    }

    /// Reads and checks a file: what to show and what to write.
    async fn plan_onboarding(&self, admin: &User, kind: FileKind, bytes: Vec<u8>) -> Result<Planned> {
        let administration = self.administration();
        match kind {
            FileKind::EisList => {
                let parsed = tokio::task::spawn_blocking(move || read_organization_list_bytes(&bytes))
                    .await
                    .map_err(Error::internal)?;
                let list = parsed.map_err(|e| Error::field("file", format!("Файл не загружен: {}", e.message_ru())))?;
                let check = administration.check_records(Some(admin), &list.organizations, list.foreign).await?;
                let rows: Vec<u32> = check.rows.iter().map(|r| u32::try_from(r.position).unwrap_or(u32::MAX)).collect();
                Ok(self.planned(kind, check, &rows, Vec::new(), Vec::new(), list.foreign))
            }
            FileKind::Table => {
                let read = tokio::task::spawn_blocking(move || read_roster(&bytes, &LIMITS))
                    .await
                    .map_err(Error::internal)?
                    .map_err(|e| Error::field("file", format!("Файл не загружен: {e}")))?;
                self.plan_table(admin, kind, read).await
            }
        }
    }

    /// The preview of a list checked, with the table's own errors and users.
    fn planned(
        &self,
        kind: FileKind,
        check: ListCheck,
        rows: &[u32],
        mut errors: Vec<CellError>,
        users: Vec<(UserLine, Option<UserWrite>)>,
        foreign: usize,
    ) -> Planned {
        let mut orgs = Vec::new();
        for (i, r) in check.rows.iter().enumerate() {
            let row = rows.get(i).copied().unwrap_or(0);
            let action = match &r.outcome {
                RowOutcome::New => Action::New,
                RowOutcome::Changed(fields) => Action::Changed(fields.clone()),
                RowOutcome::Unchanged => Action::Unchanged,
                RowOutcome::NotActual => Action::NotActual,
                RowOutcome::Refused(problems) => {
                    for p in problems {
                        errors.push(err(row, column_of(kind, p.field), capitalized(&p.detail)));
                    }
                    Action::Invalid
                }
            };
            orgs.push(OrgLine { row, spz: r.spz.clone(), name: r.name.clone(), action });
        }
        errors.sort_by_key(|e| e.row);
        let (lines, writes): (Vec<UserLine>, Vec<Option<UserWrite>>) = users.into_iter().unzip();
        Planned {
            preview: LoadPreview { load_id: None, file_name: String::new(), kind, orgs, users: lines, errors, foreign },
            check,
            users: writes.into_iter().flatten().collect(),
        }
    }

    /// The table: its organizations checked as a list, then its users.
    async fn plan_table(&self, admin: &User, kind: FileKind, read: Vec<RosterRow>) -> Result<Planned> {
        let mut errors: Vec<CellError> = read.iter().flat_map(|r| r.errors.iter().cloned()).collect();
        // The organizations: each described once (the same description again is no error).
        let mut records: Vec<NsiOrganization> = Vec::new();
        let mut record_rows: Vec<u32> = Vec::new();
        let mut described: HashMap<String, (u32, NsiOrganization)> = HashMap::new();
        let spz_title = RosterCol::Spz.title();
        for r in &read {
            if r.get(RosterCol::Spz).is_empty() {
                errors.push(err(r.row, spz_title, "Не указан СПЗ организации: он нужен в каждой строке"));
                continue;
            }
            if !r.describes_organization() {
                continue;
            }
            let opt = |c: RosterCol| Some(r.get(c).to_owned()).filter(|v| !v.is_empty());
            let record = NsiOrganization {
                position: records.len() + 1,
                reg_number: r.get(RosterCol::Spz).to_owned(),
                short_name: opt(RosterCol::ShortName),
                full_name: r.get(RosterCol::FullName).to_owned(),
                inn: r.get(RosterCol::Inn).to_owned(),
                kpp: r.get(RosterCol::Kpp).to_owned(),
                iku: None,
                head_agency: opt(RosterCol::SuperiorSpz),
                org_type: type_code(r.get(RosterCol::OrgType)),
                oktmo: opt(RosterCol::Oktmo),
                level: Some(level_code(r.get(RosterCol::Level))).filter(|l| !l.is_empty()),
                actual: None,
            };
            if let Some((first, before)) = described.get(&record.reg_number) {
                let same = NsiOrganization { position: before.position, ..record.clone() } == *before;
                if !same {
                    errors.push(err(
                        r.row,
                        spz_title,
                        format!(
                            "Организация {} уже описана в строке {first}, и иначе: опишите её один раз",
                            record.reg_number
                        ),
                    ));
                }
                continue;
            }
            described.insert(record.reg_number.clone(), (r.row, record.clone()));
            record_rows.push(r.row);
            records.push(record);
        }
        let check = if records.is_empty() {
            // Only users: their organizations are in plangraf.
            self.administration().check_records(Some(admin), &[], 0).await?
        } else {
            self.administration().check_records(Some(admin), &records, 0).await?
        };
        let refused_spz: HashSet<String> =
            check.rows.iter().filter(|r| matches!(r.outcome, RowOutcome::Refused(_))).map(|r| r.spz.clone()).collect();
        // The users.
        let org_spz_of: HashMap<OrgId, String> =
            self.store.organizations().await?.into_iter().map(|o| (o.id, o.spz_code.as_str().to_owned())).collect();
        let mut users = Vec::new();
        let mut logins: HashMap<String, u32> = HashMap::new();
        for r in read.iter().filter(|r| !r.get(RosterCol::Login).is_empty() && !r.get(RosterCol::Spz).is_empty()) {
            let before = errors.len();
            let (login, full_name, spz) = (r.get(RosterCol::Login), r.get(RosterCol::UserName), r.get(RosterCol::Spz));
            if let Err(m) = domain::account::check_login(login) {
                errors.push(err(r.row, RosterCol::Login.title(), m));
            } else if let Some(first) = logins.insert(login.to_owned(), r.row) {
                errors.push(err(r.row, RosterCol::Login.title(), format!("Логин {login} уже есть в строке {first}")));
            }
            if let Err(m) = domain::account::check_full_name(full_name) {
                errors.push(err(r.row, RosterCol::UserName.title(), m));
            }
            let email = match domain::account::parse_email(r.get(RosterCol::Email)) {
                Ok(e) => e,
                Err(m) => {
                    errors.push(err(r.row, RosterCol::Email.title(), m));
                    None
                }
            };
            let roles = roles_of(r.get(RosterCol::Role));
            if roles.is_none() {
                errors.push(err(
                    r.row,
                    RosterCol::Role.title(),
                    format!(
                        "Неизвестная роль «{}»: укажите «Специалист заказчика», «Согласующий» или «Администратор» \
                         (несколько ролей — через запятую)",
                        r.get(RosterCol::Role).chars().take(60).collect::<String>()
                    ),
                ));
            }
            if refused_spz.contains(spz) {
                errors.push(err(
                    r.row,
                    spz_title,
                    "Организация пользователя описана в файле с ошибками: исправьте её строку",
                ));
            } else if !check.reaches(spz) {
                let known = check.rows.iter().any(|o| o.spz == spz) || org_spz_of.values().any(|s| s == spz);
                errors.push(err(
                    r.row,
                    spz_title,
                    if known {
                        "Организация пользователя не подчинена вашей организации: заводить её пользователей может \
                         администратор вышестоящей организации"
                            .to_owned()
                    } else {
                        format!("Организации {spz} нет ни в файле, ни в plangraf: добавьте строку с её описанием")
                    },
                ));
            }
            let mut line = UserLine {
                row: r.row,
                login: login.to_owned(),
                full_name: full_name.to_owned(),
                org_spz: spz.to_owned(),
                role: roles.map_or_else(|| r.get(RosterCol::Role).to_owned(), |r| r.to_string()),
                action: Action::Invalid,
            };
            let mut write = None;
            if errors.len() == before
                && let Some(roles) = roles
            {
                match self.store.user_by_login(login).await? {
                    None => {
                        line.action = Action::New;
                        write = Some(UserWrite::Create {
                            login: login.to_owned(),
                            full_name: full_name.to_owned(),
                            email,
                            org_spz: spz.to_owned(),
                            roles,
                        });
                    }
                    Some(user) => {
                        let their_spz = org_spz_of.get(&user.org_id).cloned().unwrap_or_default();
                        if !check.reaches(&their_spz) {
                            errors.push(err(
                                r.row,
                                RosterCol::Login.title(),
                                format!("Логин {login} занят пользователем, которым вы не управляете: выберите другой"),
                            ));
                        } else {
                            let mut changes = Vec::new();
                            if user.full_name != full_name {
                                changes.push("ФИО");
                            }
                            if self.store.user_email(user.id).await? != email {
                                changes.push("e-mail");
                            }
                            if their_spz != spz {
                                changes.push("организация");
                            }
                            if user.roles != roles {
                                changes.push("роли");
                            }
                            if user.id == admin.id && (their_spz != spz || !roles.is_admin()) {
                                errors.push(err(
                                    r.row,
                                    RosterCol::Role.title(),
                                    "Свою организацию изменить и роль «Администратор» снять нельзя: попросите другого \
                                     администратора",
                                ));
                            } else if changes.is_empty() {
                                line.action = Action::Unchanged;
                            } else {
                                line.action = Action::Changed(changes.clone());
                                write = Some(UserWrite::Update {
                                    user,
                                    full_name: full_name.to_owned(),
                                    email,
                                    org_spz: spz.to_owned(),
                                    roles,
                                    changes,
                                });
                            }
                        }
                    }
                }
            }
            users.push((line, write));
        }
        Ok(self.planned(kind, check, &record_rows, errors, users, 0))
    }
}

/// The staged file is gone.
const EXPIRED: &str = "Проверенный файл больше не хранится (прошло больше часа, или вы загрузили другой файл): \
                       загрузите его ещё раз.";

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name_and_content() {
        assert_eq!(FileKind::of("list.xml", b"PK"), FileKind::EisList);
        assert_eq!(FileKind::of("orgs.CSV", b"<"), FileKind::Table);
        assert_eq!(FileKind::of("upload", b"\xEF\xBB\xBF  <?xml"), FileKind::EisList);
        assert_eq!(FileKind::of("upload", b"PK\x03\x04"), FileKind::Table);
    }

    #[test]
    fn codes_typed_in_words() {
        assert_eq!(level_code("Муниципальный"), "3");
        assert_eq!(level_code(" 2 "), "2");
        assert_eq!(type_code("3"), "03");
        assert_eq!(type_code("Казённое учреждение"), "08");
        assert_eq!(role_of("согласующий"), Some(Role::Approver));
        assert_eq!(role_of("admin"), Some(Role::Admin));
        assert_eq!(role_of("директор"), None);
    }
}
