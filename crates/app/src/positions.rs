//! Positions of the working copy: adding, editing, cancelling with a justification, deleting.
//! Each write names the plan's `row_version` the caller read; a stale one is [`Error::Stale`]
//! and changes nothing.

use crate::{Editable, Error, Refusal, Result, Workflow};
use domain::ids::{PlanId, PositionId};
use domain::ikz::PurchaseNumber;
use domain::plan::{self, ChangeDecision, FieldError, Position, PositionDraft};
use store::plans::StoredPosition;
use store::users::User;

/// A position of a plan the caller may change, and whether it belongs to the latest approved
/// version (then it can only be edited or cancelled with a justification, never deleted).
pub struct EditablePosition {
    pub plan: Editable,
    pub stored: StoredPosition,
    pub in_base: bool,
    /// Number of the latest approved version, 0 when there is none.
    pub base_version: i64,
}

pub const CANCEL_NEW: &str = "Отменить можно только закупку из утвержденной версии; новую позицию просто удалите";

pub const DELETE_BASE: &str =
    "Позицию утвержденной версии нельзя удалить: откройте её и отмените закупку с обоснованием.";

impl Workflow {
    pub async fn editable_position(
        &self,
        user: &User,
        plan_id: PlanId,
        position_id: PositionId,
    ) -> Result<EditablePosition> {
        let plan = self.editable_plan(user, plan_id).await?;
        let stored = self
            .store
            .positions(plan.plan().id)
            .await?
            .into_iter()
            .find(|p| p.id == position_id)
            .ok_or(Error::NotFound)?;
        let base = self.store.latest_version(plan.plan().id).await?;
        let base = base.as_ref();
        let in_base = base.and_then(|b| b.snapshot.position(stored.position.purchase_number)).is_some();
        Ok(EditablePosition { plan, stored, in_base, base_version: base.map(|b| b.version_number).unwrap_or(0) })
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

    /// A new position under the next free purchase number; answers its id.
    pub async fn add_position(
        &self,
        user: &User,
        plan: &Editable,
        draft: &PositionDraft,
        row_version: i64,
    ) -> Result<PositionId> {
        let used = self.store.positions(plan.plan().id).await?.into_iter().map(|p| p.position.purchase_number);
        let number = plan::next_purchase_number(used).map_err(|e| Error::refused(Refusal::State, e.to_string()))?;
        let position = self
            .parse_draft(draft, number, plan.owner().org_type)
            .await?
            .map_err(|e| Error::fields("Позиция не добавлена: исправьте отмеченные поля", e))?;
        Ok(self.store.add_position(plan.plan(), row_version, &position, user.id).await?)
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
    ) -> Result<()> {
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
        Ok(self.store.update_position(l.plan.plan(), row_version, l.stored.id, &position, user.id).await?)
    }

    /// Cancels a purchase of the approved version, with its justification.
    pub async fn cancel_position(
        &self,
        user: &User,
        l: &EditablePosition,
        reason_code: &str,
        change_description: &str,
        row_version: i64,
    ) -> Result<()> {
        if !l.in_base {
            return Err(Error::refused(Refusal::State, CANCEL_NEW));
        }
        let reason = self.change_reason_name(reason_code).await?;
        let change = plan::parse_change(reason_code, reason.as_deref(), ChangeDecision::Canceled, change_description)
            .map_err(|e| Error::fields("Закупка не отменена: укажите причину и обоснование", e))?;
        let mut position = l.stored.position.clone();
        position.change = Some(change);
        Ok(self.store.update_position(l.plan.plan(), row_version, l.stored.id, &position, user.id).await?)
    }

    /// Deletes a position that is not in the approved version.
    pub async fn delete_position(&self, user: &User, l: &EditablePosition, row_version: i64) -> Result<()> {
        if l.in_base {
            return Err(Error::refused(Refusal::State, DELETE_BASE));
        }
        Ok(self.store.delete_position(l.plan.plan(), row_version, l.stored.id, user.id).await?)
    }
}
