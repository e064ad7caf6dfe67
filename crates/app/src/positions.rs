//! Positions of the working copy: adding, editing, cancelling with a justification, deleting.
//! Editing, cancelling and deleting name the position's `row_version` the caller read; a stale
//! one is [`Error::Stale`] and changes nothing. Adding names nothing: it only needs the plan to
//! be editable. Each use case reads the one position it works on, never the whole plan.

use crate::{Editable, Error, Refusal, Result, Workflow};
use domain::Finding;
use domain::ids::{PlanId, PositionId};
use domain::ikz::{Iku, PurchaseNumber};
use domain::plan::{self, ChangeDecision, FieldError, PlanSnapshot, Position, PositionDraft};
use store::plans::{PositionRefusal, PositionWrite, StoredPosition};
use store::users::User;

/// A position of a plan the caller may change, and whether it belongs to the latest approved
/// version (then it can only be edited or cancelled with a justification, never deleted).
pub struct EditablePosition {
    pub plan: Editable,
    pub stored: StoredPosition,
    pub in_base: bool,
    /// Its content in the latest approved version, when it is in it.
    pub base: Option<Position>,
    /// Number of the latest approved version, 0 when there is none.
    pub base_version: i64,
}

pub const CANCELED_EARLIER: &str =
    "Закупка отменена в утвержденной версии: ЕИС хранит ее отмененной, изменить или отменить ее еще раз нельзя";

pub const CANCEL_NEW: &str = "Отменить можно только закупку из утвержденной версии; новую позицию просто удалите";

pub const DELETE_BASE: &str =
    "Позицию утвержденной версии нельзя удалить: откройте её и отмените закупку с обоснованием.";

pub const NOT_EDITABLE: &str = "План-график больше нельзя изменять: пока вы работали, его отправили на согласование или утвердили. Откройте план-график, чтобы увидеть его состояние.";

/// The store's answer to a position write, as the workflow's error.
fn written(w: PositionWrite) -> Result<StoredPosition> {
    w.map_err(|refusal| match refusal {
        PositionRefusal::PlanNotEditable => Error::refused(Refusal::State, NOT_EDITABLE),
        PositionRefusal::Stale => Error::Stale,
        PositionRefusal::NumbersExhausted => {
            Error::refused(Refusal::State, domain::ikz::CodeError::PurchaseNumber.to_string())
        }
    })
}

impl Workflow {
    /// Reads the one position and its approved content; no other position, no snapshot.
    pub async fn editable_position(
        &self,
        user: &User,
        plan_id: PlanId,
        position_id: PositionId,
    ) -> Result<EditablePosition> {
        let plan = self.editable_plan(user, plan_id).await?;
        let (stored, base) = self.store.position_with_base(plan_id, position_id).await?.ok_or(Error::NotFound)?;
        let base_version = match stored.in_base {
            true => self.store.latest_version_number(plan_id).await?.unwrap_or(0),
            false => 0,
        };
        Ok(EditablePosition { plan, in_base: stored.in_base, stored, base, base_version })
    }

    /// The ИКУ that goes into the plan's ИКЗ (the agent's for a plan placed under an
    /// agreement), and the pre-flight findings of this one position: the rules run over the
    /// plan's header with only this position, and its approved content as the base. What the
    /// position's form shows.
    pub async fn position_findings(&self, l: &EditablePosition) -> Result<(Option<Iku>, Vec<Finding>)> {
        let (plan, owner) = (l.plan.plan(), l.plan.owner());
        let snapshot = self.snapshot_of(plan, owner, vec![l.stored.position.clone()]).await?;
        let base = l.base.as_ref().map(|b| PlanSnapshot { positions: vec![b.clone()], ..snapshot.clone() });
        let n = l.stored.position.purchase_number.get();
        let findings =
            domain::preflight(&snapshot, base.as_ref()).into_iter().filter(|f| f.purchase_number == Some(n)).collect();
        Ok((snapshot.owner_iku().cloned(), findings))
    }

    /// The ИКУ that goes into the ИКЗ of the plan's positions.
    pub async fn owner_iku(&self, plan: &Editable) -> Result<Option<Iku>> {
        let snapshot = self.snapshot_of(plan.plan(), plan.owner(), Vec::new()).await?;
        Ok(snapshot.owner_iku().cloned())
    }

    /// Parses a draft with the special purchase kind looked up in НСИ.
    pub async fn parse_draft(
        &self,
        draft: &PositionDraft,
        number: PurchaseNumber,
        org_type: domain::OrgType,
    ) -> Result<Result<Position, Vec<FieldError>>> {
        let special = self.special_purchase(&draft.special_type).await?;
        Ok(draft.parse(number, org_type, special))
    }

    /// A new position under the next free purchase number (allocated by the store as it
    /// inserts); answers it as stored.
    pub async fn add_position(&self, user: &User, plan: &Editable, draft: &PositionDraft) -> Result<StoredPosition> {
        // The number is a stand-in: parsing does not depend on it, the store assigns the real one.
        let stand_in = PurchaseNumber::new(1).map_err(|e| Error::Internal(e.into()))?;
        let position = self
            .parse_draft(draft, stand_in, plan.owner().org_type)
            .await?
            .map_err(|e| Error::fields("Позиция не добавлена: исправьте отмеченные поля", e))?;
        written(self.store.add_position(plan.plan(), &position, user.id).await?)
    }

    /// The edited position: the draft parsed under its purchase number and, for a position of
    /// the approved version, the justification. Every field error is reported at once.
    pub async fn update_position(
        &self,
        user: &User,
        l: &EditablePosition,
        draft: &PositionDraft,
        reason_code: &str,
        change_description: &str,
        row_version: i64,
    ) -> Result<StoredPosition> {
        if l.base.as_ref().is_some_and(Position::is_canceled) {
            return Err(Error::refused(Refusal::State, CANCELED_EARLIER));
        }
        let parsed = self.parse_draft(draft, l.stored.position.purchase_number, l.plan.owner().org_type).await?;
        let change = if l.in_base {
            let reason = self.change_reason_name(reason_code).await?;
            Some(plan::parse_change(reason_code, reason.as_deref(), ChangeDecision::Changed, change_description))
        } else {
            None
        };
        let mut field_errors = parsed.as_ref().err().cloned().unwrap_or_default();
        if let Some(Err(e)) = &change {
            field_errors.extend(e.iter().cloned());
        }
        let position = match parsed {
            Ok(mut position) if field_errors.is_empty() => {
                position.change = change.and_then(Result::ok);
                position
            }
            _ => return Err(Error::fields("Позиция не сохранена: исправьте отмеченные поля", field_errors)),
        };
        written(self.store.update_position(l.plan.plan(), l.stored.id, row_version, &position, user.id).await?)
    }

    /// Cancels a purchase of the approved version, with its justification.
    pub async fn cancel_position(
        &self,
        user: &User,
        l: &EditablePosition,
        reason_code: &str,
        change_description: &str,
        row_version: i64,
    ) -> Result<StoredPosition> {
        if !l.in_base {
            return Err(Error::refused(Refusal::State, CANCEL_NEW));
        }
        if l.base.as_ref().is_some_and(Position::is_canceled) {
            return Err(Error::refused(Refusal::State, CANCELED_EARLIER));
        }
        let reason = self.change_reason_name(reason_code).await?;
        let change = plan::parse_change(reason_code, reason.as_deref(), ChangeDecision::Canceled, change_description)
            .map_err(|e| Error::fields("Закупка не отменена: укажите причину и обоснование", e))?;
        let mut position = l.stored.position.clone();
        position.change = Some(change);
        written(self.store.update_position(l.plan.plan(), l.stored.id, row_version, &position, user.id).await?)
    }

    /// Deletes a position that is not in the approved version.
    pub async fn delete_position(&self, user: &User, l: &EditablePosition, row_version: i64) -> Result<()> {
        if l.in_base {
            return Err(Error::refused(Refusal::State, DELETE_BASE));
        }
        written(self.store.delete_position(l.plan.plan(), l.stored.id, row_version, user.id).await?).map(|_| ())
    }
}
