//! «Доказательства отправки»: one ZIP per send with the exact packet sent, every ЕИС reply its
//! timeline keeps (raw, with the time received), the timeline, the version's approval and a
//! summary with the SHA-256 of every file — what a customer needs to show that a deadline was
//! missed because ЕИС failed. Making one is journaled with the hashes, so a pack shown later can
//! be matched against what plangraf produced. The files and the ZIP: [`pack`].

pub mod pack;

pub use pack::{EvidencePack, PackedFile};

use crate::{Error, Result, Workflow};
use domain::ids::SendId;
use store::users::User;

/// The audit journal's action for a pack made.
pub const JOURNAL_ACTION: &str = "Доказательства отправки";

fn person(u: &User) -> pack::Person {
    pack::Person { name: u.full_name.clone(), login: u.login.clone() }
}

impl Workflow {
    /// The evidence pack of a send, for a caller who may read its status page (the send's
    /// version is read through the same access check; another organization's send is
    /// `NotFound`). Records the pack's hashes in the audit journal of the plan-schedule.
    pub async fn evidence_pack(&self, user: &User, send_id: SendId) -> Result<EvidencePack> {
        let head = self.store.send_head(send_id).await?.ok_or(Error::NotFound)?;
        let (version, plan, _) = self.readable_version(user, head.version_id).await?.into_parts();
        // The timeline first, then the send again: the state the pack states is at least as new
        // as the last line it shows (the status page reads in the same order).
        let events = self.store.send_events(send_id).await?;
        let send = self.store.send(send_id).await?.ok_or(Error::NotFound)?;
        let approver = self.store.user(version.approved_by).await?;
        let approver_org = match &approver {
            Some(u) => self.store.organization(u.org_id).await?.map(|o| o.name),
            None => None,
        };
        let requested_by = self.store.user(send.requested_by).await?.as_ref().map(person);
        let customer = &version.snapshot.customer;
        let facts = pack::Facts {
            made_at: store::now(),
            made_by: person(user),
            customer: customer.name.clone(),
            inn: customer.inn.to_string(),
            kpp: customer.kpp.to_string(),
            spz: customer.spz_code.to_string(),
            agent: version.snapshot.agent.as_ref().map(|a| a.name.clone()),
            plan_id: plan.id,
            plan_year: plan.plan_year,
            eis_plan_number: plan.eis_plan_number.clone(),
            version_number: version.version_number,
            approval: pack::Approval {
                by: approver.as_ref().map(person),
                organization: approver_org.unwrap_or_else(|| "не найдена".into()),
                at: version.approved_at,
            },
            send,
            requested_by,
            events,
        };
        // Hashing and compressing a packet of thousands of positions is CPU work: off the async threads.
        let (pack, facts) = tokio::task::spawn_blocking(move || pack::assemble(&facts).map(|p| (p, facts)))
            .await
            .map_err(Error::internal)?
            .map_err(Error::internal)?;
        self.store
            .record_audit(
                Some(user.id),
                Some(plan.org_id),
                "plan",
                Some(plan.id.get()),
                JOURNAL_ACTION,
                &pack.journal_details(&facts),
            )
            .await?;
        Ok(pack)
    }
}
