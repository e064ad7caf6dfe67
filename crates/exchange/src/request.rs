//! Accepting work for ЕИС: approving a version with its packet fixed, and a request to send a
//! version, which builds (or takes) its packet and writes the send to the queue in one transaction.

use crate::failures::failure_ru;
use crate::time::after;
use crate::violations::classify;
use crate::{Basis, Exchange, build};
use domain::SendStatus;
use domain::exchange::can_start_send;
use domain::ids::{SendId, UserId, VersionId};
use domain::plan::PlanSnapshot;
use eis::client::{ClientError, Credentials};
use std::sync::{Arc, PoisonError};
use store::plans::{Plan, Version, VersionHead};
use store::sends::{EisLogin, EventNote, NewSend};
use store::users::User;
use store::{Store, StoreError, now};

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The request is refused for a reason the user can act on (Russian text).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A syntactically valid plan number that ЕИС never assigns, to check the structure of a
/// change packet before the real number is known.
const STAND_IN_PLAN_NUMBER: &str = "000000000000000000";

/// What version `number` of `plan` goes against, as ЕИС stands now.
async fn basis_of(store: &Store, plan: &Plan, number: i64) -> Result<Basis, StoreError> {
    if number == 0 {
        return Ok(Basis::New);
    }
    let base_version = number - 1;
    // Read by number: a plan with many versions (each a snapshot and a packet of megabytes) is
    // not read whole to find one.
    let placed = match store.version_id_by_number(plan.id, base_version).await? {
        Some(prev) => store.latest_send_head(prev).await?.is_some_and(|s| s.status == SendStatus::Published),
        None => false,
    };
    Ok(match (&plan.eis_plan_number, placed) {
        (Some(n), true) => Basis::Change { plan_number: n.clone(), base_version },
        _ => Basis::Pending { base_version },
    })
}

/// The schema issues as one Russian sentence, the first few in full.
fn schema_message(issues: &[eis::validate::SchemaIssue]) -> String {
    let shown: Vec<String> = issues.iter().take(5).map(|i| i.to_string_ru()).collect();
    format!("Пакет не соответствует схемам ЕИС 14.1 (ошибок: {}): {}", issues.len(), shown.join("; "))
}

/// Why a version cannot be sent now, in Russian; `None` when it can.
pub async fn send_blocked(store: &Store, plan: &Plan, version: &Version) -> Result<Option<String>, StoreError> {
    let latest = store.latest_send_head(version.id).await?.map(|s| s.status);
    // The previous version matters only to a send that may start at all.
    let placed = can_start_send(latest).is_ok()
        && !matches!(basis_of(store, plan, version.version_number).await?, Basis::Pending { .. });
    Ok(domain::exchange::send_refusal(plan.status, latest, version.version_number, placed))
}

async fn previous_version(store: &Store, plan: &Plan, version: &Version) -> Result<Option<Version>, StoreError> {
    Ok(match version.version_number {
        0 => None,
        n => store.version_by_number(plan.id, n - 1).await?,
    })
}

/// What ЕИС said of a version's earlier packet when asked before it goes under a new one.
enum OldPacket {
    /// ЕИС does not know it (404): a new packet cannot make a second draft.
    Unknown,
    /// ЕИС knows it: the earlier send was reopened (its id), or ЕИС's verdict was recorded on it.
    Followed(SendId),
}

/// What ЕИС said of a login and password when asked directly («Проверить подключение»).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialCheck {
    /// ЕИС accepted them (it checks the plan-schedule right only when a packet arrives).
    Accepted,
    /// 401: wrong login or password, or the password was regenerated, or the user is blocked.
    Rejected(String),
    /// 403: no right to work with plan-schedules.
    Forbidden(String),
    /// No answer that says anything about the credentials.
    Unreachable(String),
}

/// The packet a version would go as now, chosen by [`Exchange::choose_packet`]: the one fixed at
/// approval, or one built now with a new packet id. Its `data` bytes depend only on the version
/// and on what it goes against (its basis), never on the packet id or the time, so choosing
/// again for the same version and basis gives the same bytes to sign.
#[derive(Debug, Clone)]
pub struct ChosenPacket {
    pub packet_id: String,
    pub xml: String,
    /// Why this packet, for the send's timeline.
    note: String,
}

impl ChosenPacket {
    /// The bytes a packet signature covers: the `data` element as written in the packet.
    pub fn data(&self) -> Result<&str, RequestError> {
        eis::packet::signed_data(&self.xml)
            .map_err(|e| RequestError::Store(StoreError::Corrupt(format!("packet without readable data: {e}"))))
    }
}

/// A packet signature already checked by the caller: its base64 DER and who made it, for the
/// timeline.
#[derive(Debug, Clone)]
pub struct PacketSignature {
    /// The CAdES-BES signature, base64 without line breaks.
    pub base64: String,
    /// «Подписан ЭЦП: …» — the owner and thumbprint of the signer's certificate.
    pub signed_by: String,
}

impl Exchange {
    /// «Отправить на ООС»: checks that the version may go now, builds its packet and writes the
    /// send to the queue. The runner does the rest. An unsigned packet; see
    /// [`Exchange::choose_packet`] and [`Exchange::queue_packet`] for a signed one.
    pub async fn request_send(
        &self,
        actor: &User,
        plan: &Plan,
        version: &Version,
        credentials: EisLogin,
    ) -> Result<SendId, RequestError> {
        let chosen = self.choose_packet(plan, version).await?;
        self.queue_packet(actor, version, credentials, chosen, None).await
    }

    /// Checks that the version may go now and chooses its packet: the one fixed at approval
    /// when nothing changed since, else one built now (ЕИС's view changed — the previous version
    /// got placed — or an earlier send of it ended: a new send needs a new packet id, or ЕИС
    /// would answer with the earlier result). Nothing is written or sent.
    pub async fn choose_packet(&self, plan: &Plan, version: &Version) -> Result<ChosenPacket, RequestError> {
        let store = &self.inner.store;
        if let Some(reason) = send_blocked(store, plan, version).await? {
            return Err(RequestError::Refused(reason));
        }
        let previous = previous_version(store, plan, version).await?;
        let findings = domain::preflight(&version.snapshot, previous.as_ref().map(|v| &v.snapshot));
        if !findings.is_empty() {
            return Err(RequestError::Refused(format!(
                "Версия не прошла проверку перед отправкой: {}",
                findings.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("; ")
            )));
        }
        let basis = basis_of(store, plan, version.version_number).await?;
        let first_send = store.latest_send_head(version.id).await?.is_none();
        let fixed = version.packet.as_ref().filter(|_| first_send && version.packet_basis.as_ref() == Some(&basis));
        Ok(match fixed {
            Some(p) => ChosenPacket {
                packet_id: p.id.clone(),
                xml: p.xml.clone(),
                note: "Пакет — зафиксированный при утверждении версии.".to_owned(),
            },
            None => {
                let packet = self.packet_for(plan, version, previous.as_ref());
                let why = if version.packet.is_none() {
                    "Пакет сформирован при отправке: при утверждении предыдущая версия ещё не была размещена в ЕИС."
                } else if first_send {
                    "Пакет сформирован заново: после утверждения ЕИС разместила предыдущую версию."
                } else {
                    "Пакет сформирован заново с новым идентификатором: предыдущая отправка этой версии завершилась отказом."
                };
                ChosenPacket {
                    packet_id: packet.index.id.clone(),
                    xml: eis::packet::write_plan_packet(&packet),
                    note: why.to_owned(),
                }
            }
        })
    }

    /// Writes the send of `chosen` to the queue, with `signature` (checked by the caller over
    /// [`ChosenPacket::data`]) in its `index/signature`. The runner uploads exactly these bytes,
    /// retries included. An earlier send that ended without ЕИС's verdict on its packet is asked
    /// about first: if ЕИС holds it, that send is followed and `chosen` does not go.
    pub async fn queue_packet(
        &self,
        actor: &User,
        version: &Version,
        credentials: EisLogin,
        chosen: ChosenPacket,
        signature: Option<&PacketSignature>,
    ) -> Result<SendId, RequestError> {
        let store = &self.inner.store;
        let latest = store.latest_send_head(version.id).await?;
        // An earlier send that ended without ЕИС's verdict on its packet may still have left a
        // draft in ЕИС: ask about that packet before a new one goes.
        let mut checked = String::new();
        if let Some(old) = latest.as_ref().filter(|s| s.status.packet_fate_unknown()) {
            match self.ask_about_old_packet(actor, old, &credentials).await? {
                OldPacket::Followed(id) => return Ok(id),
                OldPacket::Unknown => {
                    checked =
                        format!(" ЕИС подтвердила, что прежний пакет этой версии ({}) не получала.", old.packet_id);
                }
            }
        }
        let ChosenPacket { packet_id, xml, note } = chosen;
        let (xml, note) = match signature {
            Some(s) => {
                let signed = eis::packet::with_signature(&xml, &s.base64).map_err(|e| {
                    RequestError::Store(StoreError::Corrupt(format!("packet signature not put in: {e}")))
                })?;
                (signed, format!("{note}{checked} {}", s.signed_by))
            }
            None => (xml, format!("{note}{checked}")),
        };
        if let Err(issues) = self.validate(&xml).await? {
            tracing::warn!(version_id = version.id.get(), issues = issues.len(), "packet rejected by the ЕИС schemas");
            return Err(RequestError::Refused(format!("Пакет не отправлен. {}", schema_message(&issues))));
        }
        let new = NewSend {
            version_id: version.id,
            // The sending organization: the customer, or its superior for role OA.
            org_id: actor.org_id,
            requested_by: actor.id,
            packet_id: &packet_id,
            packet_xml: &xml,
            login: &credentials,
            packet_note: &note,
        };
        let id = match store.enqueue_send(&new).await {
            Ok(id) => id,
            Err(StoreError::Conflict) => {
                return Err(RequestError::Refused(
                    "Эта версия уже отправляется или загружена в ЕИС другим запросом.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(send_id = id.get(), version_id = version.id.get(), packet_id = %packet_id, "send queued");
        self.inner.wake.notify_one();
        Ok(id)
    }

    /// Asks ЕИС about the packet of a version's earlier send, with the credentials of the new
    /// request. ЕИС knows it: the earlier send is reopened with ЕИС's answer (processing or
    /// loaded: the runner follows it; a refusal: its verdict is recorded and the new send is
    /// refused, since the same content would be refused again). Not found: a new packet may go.
    /// Anything else: refused, as a new packet might make a second draft.
    async fn ask_about_old_packet(
        &self,
        actor: &User,
        old: &store::sends::SendHead,
        login: &EisLogin,
    ) -> Result<OldPacket, RequestError> {
        let creds = Credentials { login: login.login.clone(), password: login.password.clone() };
        let reply = match self.inner.client.status(&creds, &old.packet_id).await {
            Ok(reply) => reply,
            Err(ClientError::Server { status: 404, .. }) => return Ok(OldPacket::Unknown),
            Err(e) => {
                tracing::warn!(send_id = old.id.get(), error = %e, "could not learn whether ЕИС holds the earlier packet");
                let hint = match &e {
                    ClientError::Unauthorized { .. } | ClientError::Forbidden { .. } => {
                        "Проверьте логин и пароль ЕИС и повторите отправку."
                    }
                    _ => "Повторите отправку позже.",
                };
                return Err(RequestError::Refused(format!(
                    "Не удалось узнать у ЕИС, не получен ли уже прежний пакет этой версии ({}): {}. Новый пакет не отправлен, \
                     чтобы в ЕИС не появился второй проект плана-графика. {hint}",
                    old.packet_id,
                    failure_ru(&e)
                )));
            }
        };
        let (status, message) = classify(&reply.value);
        let next_attempt_at = match status {
            SendStatus::Processing => Some(now()),
            SendStatus::Loaded => Some(after(now(), self.inner.config.publication_poll_interval)),
            _ => None,
        };
        let text = format!(
            "Перед новой отправкой plangraf спросил ЕИС о прежнем пакете этой версии: ЕИС его получила. {message}. \
             Новый пакет не отправляется, чтобы в ЕИС не появился второй проект."
        );
        let reopen = store::sends::Reopen {
            send_id: old.id,
            from: old.status,
            status,
            next_attempt_at,
            actor: actor.id,
            login,
            event: EventNote { message: &text, http_status: Some(reply.http_status), raw_reply: Some(&reply.raw) },
        };
        match self.inner.store.reopen_send(&reopen).await {
            // ЕИС's verdict on the old packet may end it at once (a refusal): an outcome like any other.
            Ok(true) => self.inner.config.metrics.send_ended(status),
            Ok(false) => {
                return Err(RequestError::Refused(
                    "Состояние отправки этой версии только что изменилось. Обновите страницу.".into(),
                ));
            }
            Err(StoreError::Conflict) => {
                return Err(RequestError::Refused(
                    "Эта версия уже отправляется или загружена в ЕИС другим запросом.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(send_id = old.id.get(), status = status.code(), "ЕИС holds the earlier packet; following it");
        if next_attempt_at.is_some() {
            self.inner.wake.notify_one();
            return Ok(OldPacket::Followed(old.id));
        }
        Err(RequestError::Refused(format!(
            "ЕИС уже рассмотрела прежний пакет этой версии: «{}». Новый пакет с тем же содержанием не отправлен. \
             Посмотрите результат в «Посмотреть статус отправки».",
            status.title()
        )))
    }

    /// Asks ЕИС about a packet id that cannot exist: ЕИС checks the credentials first, so 401/403
    /// judge them, and «packet not found» (404) means they were accepted. Nothing is sent.
    pub async fn check_credentials(&self, credentials: &EisLogin) -> CredentialCheck {
        let creds = Credentials { login: credentials.login.clone(), password: credentials.password.clone() };
        let probe = uuid::Uuid::new_v4().to_string();
        match self.inner.client.status(&creds, &probe).await {
            Err(ClientError::Server { status: 404, .. }) | Ok(_) => CredentialCheck::Accepted,
            Err(ClientError::Unauthorized { info, .. }) => CredentialCheck::Rejected(info.message),
            Err(ClientError::Forbidden { info, .. }) => CredentialCheck::Forbidden(info.message),
            Err(ClientError::Transport(t)) => CredentialCheck::Unreachable(format!("нет связи с ЕИС ({t})")),
            Err(ClientError::Server { status, .. }) => {
                CredentialCheck::Unreachable(format!("ЕИС ответила ошибкой (код ответа {status})"))
            }
            Err(e) => CredentialCheck::Unreachable(e.to_string()),
        }
    }

    /// The packet a version goes as now: against its placed previous version when there is one.
    fn packet_for(&self, plan: &Plan, version: &Version, previous: Option<&Version>) -> eis::packet::PlanPacket {
        let previous = previous.map(|v| (&v.head, &v.snapshot));
        self.build(plan, version.version_number, &version.snapshot, previous, plan.eis_plan_number.as_deref())
    }

    fn build(
        &self,
        plan: &Plan,
        version_number: i64,
        snapshot: &PlanSnapshot,
        previous: Option<(&VersionHead, &PlanSnapshot)>,
        plan_number: Option<&str>,
    ) -> eis::packet::PlanPacket {
        let base = match (previous, plan_number) {
            (Some((head, content)), Some(plan_number)) => {
                Some(build::Base { plan_number, snapshot: content, position_numbers: &head.eis_position_numbers })
            }
            _ => None,
        };
        build::plan_packet(plan.id, version_number, snapshot, base.as_ref(), &self.inner.config.envelope)
    }

    /// Validates a packet against the official schemas when they are configured.
    async fn validate(&self, xml: &str) -> Result<Result<(), Vec<eis::validate::SchemaIssue>>, StoreError> {
        let Some(schemas) = self.inner.config.schemas.clone() else { return Ok(Ok(())) };
        let doc = xml.to_owned();
        tokio::task::spawn_blocking(move || schemas.validate(&doc))
            .await
            .map_err(|e| StoreError::Corrupt(format!("schema validation task: {e}")))
    }

    /// The packet the working copy of `plan` would become if approved now, with what it is built
    /// against. A change whose previous version ЕИС has not placed yet cannot be fixed; it is
    /// built with a stand-in plan number so that its structure can still be checked.
    async fn prospective(
        &self,
        plan: &Plan,
        snapshot: &domain::plan::PlanSnapshot,
    ) -> Result<(i64, Basis, eis::packet::PlanPacket), StoreError> {
        let store = &self.inner.store;
        // The head now (the registry numbers change when ЕИС places it), the content as kept.
        let latest = store.latest_version_head(plan.id).await?;
        let number = latest.as_ref().map(|v| v.version_number + 1).unwrap_or(0);
        let basis = basis_of(store, plan, number).await?;
        let content = match &latest {
            Some(head) => Some(self.version_content(head.id).await?),
            None => None,
        };
        let previous = latest.as_ref().zip(content.as_deref());
        let packet = match &basis {
            Basis::New => self.build(plan, number, snapshot, None, None),
            Basis::Change { plan_number, .. } => self.build(plan, number, snapshot, previous, Some(plan_number)),
            Basis::Pending { .. } => self.build(plan, number, snapshot, previous, Some(STAND_IN_PLAN_NUMBER)),
        };
        Ok((number, basis, packet))
    }

    /// A version's snapshot, kept after the first read: a change round's every schema check
    /// and its approval build against the same one, megabytes for a large plan.
    pub async fn version_content(&self, id: VersionId) -> Result<Arc<PlanSnapshot>, StoreError> {
        if let Some(kept) = self.inner.contents.lock().unwrap_or_else(PoisonError::into_inner).get(&id) {
            return Ok(kept.clone());
        }
        let content = Arc::new(
            self.inner
                .store
                .version_snapshot(id)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("version {id} without its snapshot")))?,
        );
        let mut kept = self.inner.contents.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= crate::KEPT_CONTENTS {
            kept.clear();
        }
        kept.insert(id, content.clone());
        Ok(content)
    }

    /// The schema check of the pre-flight checks: what the official schemas say of the packet
    /// the working copy would go as. Empty when the schemas are not configured.
    pub async fn schema_findings(
        &self,
        plan: &Plan,
        snapshot: &domain::plan::PlanSnapshot,
    ) -> Result<Vec<String>, StoreError> {
        if self.inner.config.schemas.is_none() {
            return Ok(Vec::new());
        }
        let (_, _, packet) = self.prospective(plan, snapshot).await?;
        Ok(match self.validate(&eis::packet::write_plan_packet(&packet)).await? {
            Ok(()) => Vec::new(),
            Err(issues) => vec![schema_message(&issues)],
        })
    }

    /// «Утвердить»: records the version together with its packet, fixed now and validated
    /// against the official schemas when they are configured.
    pub async fn approve(
        &self,
        plan: &Plan,
        snapshot: &domain::plan::PlanSnapshot,
        approver: UserId,
    ) -> Result<Version, RequestError> {
        let json = store::plans::snapshot_json(snapshot)?;
        self.approve_signed(plan, snapshot, &json, None, approver).await
    }

    /// [`Self::approve`] with the content already serialized (`json`, written as the version's
    /// snapshot byte for byte) and, when the approver signed it, the signature verified over
    /// those bytes, stored with the version in the same transaction.
    pub async fn approve_signed(
        &self,
        plan: &Plan,
        snapshot: &domain::plan::PlanSnapshot,
        json: &str,
        signature: Option<&store::plans::ApprovalSignature<'_>>,
        approver: UserId,
    ) -> Result<Version, RequestError> {
        let (number, basis, packet) = self.prospective(plan, snapshot).await?;
        let fixed =
            store::plans::FixedPacket { id: packet.index.id.clone(), xml: eis::packet::write_plan_packet(&packet) };
        let approval = store::plans::Approval {
            version_number: number,
            packet: (!matches!(basis, Basis::Pending { .. })).then_some(&fixed),
            basis: &basis,
        };
        // The version is written while the packet is validated on another thread, and
        // committed only if it is valid: both take tens of milliseconds for a large plan.
        let (valid, pending) = tokio::join!(
            self.validate(&fixed.xml),
            self.inner.store.prepare_signed_approval(plan, snapshot, json, signature, &approval, approver)
        );
        if let Err(issues) = valid? {
            // Dropping the pending approval rolls it back.
            return Err(RequestError::Refused(format!("План-график не утверждён. {}", schema_message(&issues))));
        }
        Ok(pending?.commit().await?)
    }

    /// «Скачать XML»: the packet as last sent; for a version not sent yet, the packet fixed at
    /// approval; for a change approved before its previous version was placed, the packet it
    /// would go as now (with a fresh packet id, since none is fixed until it is queued).
    pub async fn packet_xml(&self, plan: &Plan, version: &Version) -> Result<(String, bool), StoreError> {
        if let Some(send) = self.inner.store.latest_send(version.id).await? {
            return Ok((send.packet_xml, true));
        }
        if let Some(fixed) = &version.packet {
            return Ok((fixed.xml.clone(), false));
        }
        let previous = previous_version(&self.inner.store, plan, version).await?;
        Ok((eis::packet::write_plan_packet(&self.packet_for(plan, version, previous.as_ref())), false))
    }
}
