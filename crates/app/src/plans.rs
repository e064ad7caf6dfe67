//! The plan-schedule's life: creating it, its header, submitting, the superior's decision (one
//! plan or many) and change rounds.

use crate::access::{actor, plan_ref};
use crate::jobs::Tracker;
use crate::{Error, Readable, Refusal, Result, Workflow};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use domain::ids::PlanId;
use domain::plan::{self, PlanError, ResponsiblePerson};
use store::plans::{Plan, Version};
use store::users::User;

/// A refused transition; when the content checks failed, with their findings.
fn refused(e: PlanError, findings: Vec<domain::Finding>) -> Error {
    let failed_checks = matches!(e, PlanError::ChecksFailed(_));
    match (Error::from(e), failed_checks) {
        (Error::Refused { refusal, message, .. }, true) => Error::Refused { refusal, message, findings },
        (other, _) => other,
    }
}

/// The signature's content no longer matches the plan: it changed since it was signed, or other
/// bytes were signed.
pub const CONTENT_CHANGED: &str = "Содержание плана-графика изменилось после того, как вы его подписали (или подписаны \
                                   другие данные): подпись к нему не подходит, версия не создана. Обновите страницу, \
                                   проверьте план-график и подпишите утверждение снова.";
/// The approver's organization requires a signature, and the operator configured no trust.
pub const SIGNING_OFF: &str = "Организация требует подписывать утверждение электронной подписью (ЭЦП), но проверка \
                               подписей не включена администратором сервера plangraf: утвердить план-график сейчас \
                               нельзя. Обратитесь к администратору.";
/// A signature came, and the operator configured no trust to check it by.
pub const SIGNATURE_UNCHECKED: &str = "Проверка электронной подписи (ЭЦП) не включена администратором сервера \
                                       plangraf: утвердите план-график без подписи.";
/// «Утвердить выбранные» of an approver whose organization requires signed approvals.
pub const BULK_SIGNATURE_REQUIRED: &str = "организация требует подписывать утверждение электронной подписью (ЭЦП): \
                                           утвердите и подпишите этот план-график на его странице";

/// The bytes an approver signs to approve a plan-schedule now: the content of the version it
/// would become, exactly as it would be stored.
pub struct ApprovalContent {
    pub content: Vec<u8>,
    /// The plan's row version the content was built from.
    pub row_version: i64,
    /// Whether the approver's organization requires the signature.
    pub signature_required: bool,
}

/// What «Утвердить выбранные» did.
#[derive(Debug, Default)]
pub struct BulkApproval {
    pub approved: usize,
    /// One Russian line per plan-schedule that was not approved, naming it and why.
    pub problems: Vec<String>,
}

impl Workflow {
    /// Creates the caller's plan-schedule for a year typed as text.
    pub async fn create_plan(&self, user: &User, year: &str) -> Result<Plan> {
        if !user.roles.edits_plans() {
            return Err(Error::not_allowed("Создавать планы-графики может только специалист заказчика"));
        }
        let year = match year.trim().parse::<i32>() {
            Ok(y) if (2020..=2099).contains(&y) => y,
            _ => return Err(Error::field("plan_year", "Укажите год плана-графика четырьмя цифрами")),
        };
        self.store.create_plan(user.org_id, year, user.id).await?.ok_or_else(|| {
            Error::refused(
                Refusal::State,
                format!("План-график вашей организации на {year} год уже существует. Откройте его в списке."),
            )
        })
    }

    /// «Отправить на согласование».
    pub async fn submit(&self, user: &User, plan_id: PlanId) -> Result<()> {
        let found = self.readable_plan(user, plan_id).await?;
        let checked = self.check(&found).await?;
        let (plan, owner) = (found.plan(), found.owner());
        let to = plan::submit(actor(user), plan_ref(plan, owner), checked.findings.len())
            .map_err(|e| refused(e, checked.findings))?;
        self.store.change_plan_status(plan, plan.status, to, None, user.id, plan::JOURNAL_SUBMITTED).await?;
        Ok(())
    }

    /// «Утвердить»: the plan becomes approved and its next version is recorded with its packet
    /// (see `exchange::Exchange::approve`). A packet the schemas reject creates no version.
    pub async fn approve(&self, user: &User, plan_id: PlanId) -> Result<Version> {
        self.approve_signed(user, plan_id, None).await
    }

    /// «Утвердить» with the approver's `signature` (a detached CAdES-BES, base64 or DER) of
    /// [`Self::approval_content`]. Required when the approver's organization requires signed
    /// approvals; checked whenever one is given. It is verified over the content the version
    /// is about to get, before anything is written; the version stores it.
    pub async fn approve_signed(&self, user: &User, plan_id: PlanId, signature: Option<&[u8]>) -> Result<Version> {
        let found = self.readable_plan(user, plan_id).await?;
        self.approve_readable(user, &found, signature).await
    }

    /// The bytes to sign to approve `plan_id` as read at `row_version`: what the version's
    /// snapshot would be, byte for byte. Refused as approval would be (role, state, checks), and
    /// as stale when the plan changed since the caller read it.
    pub async fn approval_content(&self, user: &User, plan_id: PlanId, row_version: i64) -> Result<ApprovalContent> {
        let found = self.readable_plan(user, plan_id).await?;
        if found.plan().row_version != row_version {
            return Err(Error::Stale);
        }
        let checked = self.check_rules(&found).await?;
        let (plan, owner) = (found.plan(), found.owner());
        plan::approve(actor(user), plan_ref(plan, owner), checked.findings.len())
            .map_err(|e| refused(e, checked.findings))?;
        let content = store::plans::snapshot_json(&checked.snapshot)?.into_bytes();
        let signature_required = self.ecp_policy(user.org_id).await?.approval;
        Ok(ApprovalContent { content, row_version: plan.row_version, signature_required })
    }

    /// The approver's signature of `json`, checked; `None` when none is needed and none came.
    async fn approval_signature(
        &self,
        user: &User,
        json: &str,
        signature: Option<&[u8]>,
    ) -> Result<Option<crate::ecp::SignedBy>> {
        let given = signature.filter(|s| !s.trim_ascii().is_empty());
        let required = self.ecp_policy(user.org_id).await?.approval;
        if !required && given.is_none() {
            return Ok(None);
        }
        if !self.ecp_enabled() {
            return Err(Error::refused(Refusal::State, if required { SIGNING_OFF } else { SIGNATURE_UNCHECKED }));
        }
        let Some(signature) = given else {
            return Err(Error::field("signature", crate::ecp::SIGNATURE_REQUIRED));
        };
        let tampered = signature::SignatureError::Tampered.to_string();
        match self.verify_user_signature(user, json.as_bytes().to_vec(), signature.to_vec()).await {
            Ok(signed) => Ok(Some(signed)),
            Err(Error::Fields { message, .. }) if message == tampered => {
                Err(Error::field("signature", CONTENT_CHANGED))
            }
            Err(e) => Err(e),
        }
    }

    async fn approve_readable(&self, user: &User, found: &Readable, signature: Option<&[u8]>) -> Result<Version> {
        // plangraf's own rules here; the schema check is the validation of the packet that
        // approval fixes (`exchange::Exchange::approve`), so the packet is written and validated
        // once, not twice.
        let checked = self.check_rules(found).await?;
        let (plan, owner) = (found.plan(), found.owner());
        plan::approve(actor(user), plan_ref(plan, owner), checked.findings.len())
            .map_err(|e| refused(e, checked.findings))?;
        // The content is serialized once: the signature is checked over these bytes and the
        // version stores them as they are.
        let json = store::plans::snapshot_json(&checked.snapshot)?;
        let signed = self.approval_signature(user, &json, signature).await?;
        let der_base64 = signed.as_ref().map(|s| B64.encode(&s.der));
        let signer = signed.as_ref().map(|s| {
            format!("сертификат {} ({})", s.certificate.thumbprint, s.certificate.owner_name().unwrap_or_default())
        });
        let approval_signature = der_base64
            .as_deref()
            .zip(signer.as_deref())
            .map(|(der_base64, signer)| store::plans::ApprovalSignature { der_base64, signer });
        match self.exchange.approve_signed(plan, &checked.snapshot, &json, approval_signature.as_ref(), user.id).await {
            Ok(version) => Ok(version),
            Err(exchange::RequestError::Refused(why)) => {
                let finding = domain::Finding { purchase_number: None, field: "packet", message: why.clone() };
                Err(Error::Refused { refusal: Refusal::Content, message: why, findings: vec![finding] })
            }
            Err(exchange::RequestError::Store(e)) => Err(e.into()),
        }
    }

    /// «Утвердить выбранные»: each plan-schedule on its own, so one refusal does not stop the
    /// others; a fault of plangraf does.
    pub async fn approve_many(&self, user: &User, plan_ids: &[PlanId]) -> Result<BulkApproval> {
        self.approve_many_tracked(user, plan_ids, &mut Tracker::untracked()).await
    }

    /// [`Self::approve_many`], each plan counted on `tracker` as it goes.
    pub async fn approve_many_tracked(
        &self,
        user: &User,
        plan_ids: &[PlanId],
        tracker: &mut Tracker,
    ) -> Result<BulkApproval> {
        let mut outcome = BulkApproval::default();
        tracker.set_total(plan_ids.len()).await?;
        for &id in plan_ids {
            let found = match self.readable_plan(user, id).await {
                Ok(found) => found,
                Err(Error::NotFound) => {
                    let line = format!("План-график {id} не найден");
                    outcome.problems.push(line.clone());
                    tracker.refused(line).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let name = format!("{} на {} год", found.owner().short_name, found.plan().plan_year);
            let line = match self.approve_readable(user, &found, None).await {
                Ok(_) => {
                    outcome.approved += 1;
                    tracker.succeeded().await?;
                    continue;
                }
                Err(Error::Internal(e)) => return Err(Error::Internal(e)),
                // A signed approval is made on the plan's own page, where its content is signed:
                // a plan that could be approved but for the signature says so.
                Err(Error::Fields { message, .. }) if message == crate::ecp::SIGNATURE_REQUIRED => {
                    format!("{name}: {BULK_SIGNATURE_REQUIRED}")
                }
                Err(Error::Stale) => {
                    format!("{name}: план-график изменён другим пользователем, откройте его и проверьте")
                }
                Err(e) => format!("{name}: {e}"),
            };
            outcome.problems.push(line.clone());
            tracker.refused(line).await?;
        }
        Ok(outcome)
    }

    /// «Вернуть на доработку» with the comment the customer will see.
    pub async fn return_for_revision(&self, user: &User, plan_id: PlanId, comment: &str) -> Result<()> {
        let found = self.readable_plan(user, plan_id).await?;
        let (plan, owner) = (found.plan(), found.owner());
        let comment = comment.trim();
        let to = plan::return_for_revision(actor(user), plan_ref(plan, owner), comment)?;
        self.store.change_plan_status(plan, plan.status, to, Some(comment), user.id, plan::JOURNAL_RETURNED).await?;
        Ok(())
    }

    /// «Внести изменения».
    pub async fn start_changes(&self, user: &User, plan_id: PlanId) -> Result<()> {
        let found = self.readable_plan(user, plan_id).await?;
        plan::start_changes(actor(user), plan_ref(found.plan(), found.owner()))?;
        self.store.start_changes(found.plan(), user.id).await?;
        Ok(())
    }

    /// Who places the plan in ЕИС: `CU` (the customer) or `OA` (its superior under an
    /// agreement). `row_version` is the plan's version the caller read.
    pub async fn set_owner_role(&self, user: &User, plan_id: PlanId, code: &str, row_version: i64) -> Result<()> {
        let found = self.editable_plan(user, plan_id).await?;
        let Some(role) = plan::OwnerRole::from_code(code.trim()) else {
            return Err(Error::field(
                "owner_role",
                "Выберите, кто размещает план-график в ЕИС: CU (заказчик) или OA (вышестоящая организация по соглашению)",
            ));
        };
        if role == plan::OwnerRole::Agent && role != found.plan().owner_role {
            let Some(superior) = found.owner().superior_id else {
                return Err(Error::field(
                    "owner_role",
                    "У организации нет вышестоящей организации, которая могла бы размещать план-график по соглашению",
                ));
            };
            // OA needs an agreement on the transfer of powers in force today (`org_admin`).
            let today = crate::org_admin::today_iso();
            if !self.store.agreement_in_force(found.owner().id, superior, &today).await? {
                let name = self.store.organization(superior).await?.map(|o| o.short_name).unwrap_or_default();
                return Err(Error::field(
                    "owner_role",
                    format!(
                        "Нет действующего соглашения о передаче полномочий с вышестоящей организацией «{name}»: \
                         без него план-график размещает сам заказчик (CU). Соглашение вносит администратор \
                         вышестоящей организации в карточке вашей организации («Администрирование» → «Организации»)."
                    ),
                ));
            }
        }
        Ok(self.store.set_owner_role(found.plan(), row_version, role, user.id).await?)
    }

    /// «Ответственный исполнитель» of the plan.
    pub async fn set_responsible(
        &self,
        user: &User,
        plan_id: PlanId,
        raw: &ResponsiblePerson,
        row_version: i64,
    ) -> Result<()> {
        let found = self.editable_plan(user, plan_id).await?;
        let person = ResponsiblePerson::parse(raw).map_err(|errors| {
            Error::fields("Ответственный исполнитель не сохранён: исправьте отмеченные поля", errors)
        })?;
        Ok(self.store.set_responsible(found.plan(), row_version, &person, user.id).await?)
    }

    /// How many plan-schedules the caller sees: its own, its subordinates', those awaiting it.
    pub async fn plan_counts(&self, user: &User) -> Result<store::plans::PlanCounts> {
        Ok(self.store.plan_counts(user.org_id).await?)
    }

    /// One page (from 1) of the plan-schedules the caller sees; `counts` from [`Self::plan_counts`].
    pub async fn visible_plans_page(
        &self,
        user: &User,
        kind: store::plans::PlanListKind,
        counts: &store::plans::PlanCounts,
        page: i64,
        per_page: i64,
    ) -> Result<Vec<store::plans::PlanListItem>> {
        let offset = page.saturating_sub(1).saturating_mul(per_page);
        Ok(self.store.plans_visible_page(user.org_id, kind, counts, offset, per_page).await?)
    }

    /// Up to `limit` (at most one more than a page) plan-schedules the caller sees, by id after
    /// `after` (the API's pages).
    pub async fn visible_plans_after(
        &self,
        user: &User,
        kind: store::plans::PlanListKind,
        after: Option<PlanId>,
        limit: i64,
    ) -> Result<Vec<store::plans::PlanListItem>> {
        Ok(self.store.plans_visible_after(user.org_id, kind, after, limit.clamp(1, MAX_PAGE + 1)).await?)
    }

    /// The plan with a page of its working copy, the totals and its findings: what the plan page
    /// and the API's plan show. Reads the page it shows; the totals come from the database and
    /// the findings and marks from the cache of this content stamp, so nothing here grows with
    /// the plan's size once the stamp was seen; the schema check is never awaited (`app::checks`).
    pub async fn plan_view(&self, user: &User, plan_id: PlanId, query: &PositionQuery) -> Result<PlanView> {
        let plan = self.readable_plan(user, plan_id).await?;
        let found = self.findings(&plan).await?;
        let mut filter = query.filter.clone();
        let mut numbers: Option<Vec<u16>> = None;
        match query.mark {
            Some(MarkFilter::Canceled) => filter.canceled = Some(true),
            Some(MarkFilter::New) => {
                numbers = Some(marked(&found.rules, |m| m.mark == domain::plan::ChangeMark::New));
            }
            Some(MarkFilter::Changed) => {
                filter.canceled = Some(false);
                numbers = Some(marked(&found.rules, |m| m.mark == domain::plan::ChangeMark::Edited));
            }
            None => {}
        }
        if query.findings_only {
            let mut with: Vec<u16> = found.findings.iter().filter_map(|f| f.purchase_number).collect();
            with.sort_unstable();
            with.dedup();
            numbers = Some(match numbers {
                Some(n) => n.into_iter().filter(|x| with.binary_search(x).is_ok()).collect(),
                None => with,
            });
        }
        filter.numbers = numbers;
        let limit = query.limit.clamp(1, MAX_PAGE);
        let mut page = self.store.position_page(plan_id, &filter, query.after, query.offset, limit + 1).await?;
        let more = page.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let matching = if filter == store::plans::PositionFilter::default() {
            None
        } else {
            Some(self.store.position_totals(plan_id, &filter).await?)
        };
        let facts = self.plan_facts(plan.plan(), found.stamp).await?;
        let totals = facts.totals;
        let version_count = usize::try_from(facts.version_count).unwrap_or(0);
        let next_number = u32::try_from(facts.max_number + 1).unwrap_or(u32::MAX);
        let agent = self.agent_of(plan.plan(), plan.owner()).await?;
        Ok(PlanView {
            iku: owner_iku(&plan, agent.as_ref()),
            plan,
            findings: found,
            page,
            more,
            matching: matching.unwrap_or(totals),
            totals,
            version_count,
            next_number,
            agent,
        })
    }

    /// The totals, the count of versions and the largest purchase number at `stamp`: kept by
    /// the computation of the stamp's rules (`Workflow::findings`, from the working copy it
    /// read), or else read from the database once per stamp. Either is read after the plan
    /// row that carries the stamp, so what is kept is never older than the stamp it is kept
    /// under.
    async fn plan_facts(&self, plan: &store::plans::Plan, stamp: i64) -> Result<crate::checks::PlanFacts> {
        let facts = self
            .checks
            .once_per_stamp(&self.checks.facts, plan.id, stamp, || async {
                Ok(crate::checks::PlanFacts {
                    totals: self.store.position_totals(plan.id, &store::plans::PositionFilter::default()).await?,
                    version_count: self.store.version_count(plan.id).await?,
                    max_number: self.store.max_purchase_number(plan.id).await?,
                })
            })
            .await?;
        Ok(*facts)
    }

    /// One position of the working copy with its mark, after a change (the API's answer).
    pub async fn plan_position(
        &self,
        user: &User,
        plan_id: PlanId,
        position_id: domain::ids::PositionId,
    ) -> Result<(store::plans::StoredPosition, crate::checks::Mark, Option<domain::ikz::Iku>)> {
        let plan = self.readable_plan(user, plan_id).await?;
        let stored = self.store.position(plan_id, position_id).await?.ok_or(Error::NotFound)?;
        let found = self.findings(&plan).await?;
        let mark = found.rules.mark(stored.position.purchase_number.get());
        let agent = self.agent_of(plan.plan(), plan.owner()).await?;
        Ok((stored, mark, owner_iku(&plan, agent.as_ref())))
    }
}

/// The ИКУ the ИКЗ carries: the agent's for role OA, else the customer's.
fn owner_iku(plan: &Readable, agent: Option<&domain::plan::AgentSnapshot>) -> Option<domain::ikz::Iku> {
    match agent {
        Some(a) => a.iku.clone(),
        None => crate::snapshot::customer_snapshot(plan.owner()).iku,
    }
}

fn marked(rules: &crate::checks::Rules, keep: impl Fn(&crate::checks::Mark) -> bool) -> Vec<u16> {
    let mut n: Vec<u16> = rules.marks.iter().filter(|(_, m)| keep(m)).map(|(n, _)| *n).collect();
    n.sort_unstable();
    n
}

/// The largest page of positions one request reads.
pub const MAX_PAGE: i64 = 500;

/// Which change marks to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkFilter {
    /// Edited since the latest approved version (not cancelled).
    Changed,
    Canceled,
    /// Not in the latest approved version.
    New,
}

impl MarkFilter {
    pub fn from_code(code: &str) -> Option<MarkFilter> {
        match code {
            "changed" => Some(MarkFilter::Changed),
            "canceled" => Some(MarkFilter::Canceled),
            "new" => Some(MarkFilter::New),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            MarkFilter::Changed => "changed",
            MarkFilter::Canceled => "canceled",
            MarkFilter::New => "new",
        }
    }
}

/// Which page of which positions a view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionQuery {
    pub filter: store::plans::PositionFilter,
    pub mark: Option<MarkFilter>,
    /// Only positions with a finding.
    pub findings_only: bool,
    /// Keyset: after this purchase number.
    pub after: Option<u16>,
    /// Or skip this many (the page's numbered links).
    pub offset: i64,
    pub limit: i64,
}

impl Default for PositionQuery {
    fn default() -> PositionQuery {
        PositionQuery {
            filter: Default::default(),
            mark: None,
            findings_only: false,
            after: None,
            offset: 0,
            limit: 50,
        }
    }
}

/// A readable plan-schedule with one page of its working copy, the totals and the findings.
pub struct PlanView {
    pub plan: Readable,
    pub findings: crate::checks::Findings,
    /// The positions of the page, by purchase number.
    pub page: Vec<store::plans::StoredPosition>,
    /// More positions match after this page.
    pub more: bool,
    /// The count and sums of the positions the filters select.
    pub matching: store::plans::PositionTotals,
    /// The count and sums of the whole working copy.
    pub totals: store::plans::PositionTotals,
    pub version_count: usize,
    /// The purchase number a new position gets.
    pub next_number: u32,
    pub iku: Option<domain::ikz::Iku>,
    /// The superior organization that places the plan (role OA).
    pub agent: Option<domain::plan::AgentSnapshot>,
}

/// A version's content exactly as stored and the approver's signature of it: the two files a
/// reader checks the signature with (`openssl cms -verify`, docs/SECURITY.md).
pub struct SignedVersion {
    pub head: store::plans::VersionHead,
    /// `plan_versions.snapshot`, byte for byte: what was signed.
    pub content: String,
    /// The detached CAdES-BES as DER, when the approval was signed.
    pub signature: Option<Vec<u8>>,
}

impl Workflow {
    /// The content and signature of version `id`, for a caller who may read it.
    pub async fn signed_version(&self, user: &User, id: domain::ids::VersionId) -> Result<SignedVersion> {
        let (head, _) = self.readable_version_head(user, id).await?;
        let stored = self.store.version_signed_content(id).await?.ok_or(Error::NotFound)?;
        let signature = match stored.signature {
            Some(b64) => Some(
                B64.decode(b64.trim())
                    .map_err(|e| Error::internal(format!("version {id}: approval signature is not base64: {e}")))?,
            ),
            None => None,
        };
        Ok(SignedVersion { head, content: stored.snapshot, signature })
    }

    /// Who signed the approval of version `id` (already read by the caller), with the
    /// certificate's details read from the stored signature; `None` for an unsigned approval.
    pub async fn approval_signer(&self, id: domain::ids::VersionId) -> Result<Option<signature::Certificate>> {
        let Some(b64) = self.store.version_approval_signature(id).await? else { return Ok(None) };
        signature::signer_certificate(b64.as_bytes())
            .map(Some)
            .map_err(|e| Error::internal(format!("version {id}: approval signature unreadable: {e}")))
    }
}
