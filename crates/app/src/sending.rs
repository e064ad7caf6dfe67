//! Sending versions to ЕИС: one version from its dialog, every unsent version at once, and the
//! user's saved ЕИС credentials with the connection check. The rules of sending itself live in
//! `exchange`, next to the runner that carries them out.

use crate::access::actor;
use crate::jobs::Tracker;
use crate::{Error, Result, Workflow};
use domain::ids::{SendId, VersionId};
use domain::secret::Secret;
use store::sends::EisLogin;
use store::users::User;

pub use exchange::{ViolationView, violations_in};

/// «Скачать XML» of a version: the packet as last sent, or as fixed at approval.
pub struct PacketXml {
    pub xml: String,
    /// The packet went to ЕИС (else it is the one that would go).
    pub sent: bool,
    pub version: store::plans::Version,
    pub plan: store::plans::Plan,
}

/// Whether a send can carry the sender's signature.
enum Signing {
    /// From the send dialog or the API: the signature given, if any.
    Given(Option<Vec<u8>>),
    /// «Отправить все» with saved credentials: nobody is there to sign.
    Impossible,
}

fn refusal(e: exchange::RequestError) -> Error {
    match e {
        exchange::RequestError::Refused(reason) => Error::SendRefused(reason),
        exchange::RequestError::Store(e) => e.into(),
    }
}

/// What «Отправить все» did.
#[derive(Debug, Default)]
pub struct BulkSend {
    pub queued: usize,
    /// One Russian line per version that could not go, naming it and why.
    pub problems: Vec<String>,
}

/// What ЕИС said of the saved credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum CredentialsCheck {
    Works,
    Refused(String),
    /// ЕИС did not answer anything about them; nothing was recorded.
    Unknown(String),
}

/// A version in a list: its summary, its latest send, and why the caller cannot send it now.
#[derive(Debug, Clone)]
pub struct VersionListItem {
    pub summary: store::plans::VersionSummary,
    pub latest: Option<store::sends::LatestSend>,
    /// `None`: the caller may send it now.
    pub blocked: Option<String>,
}

/// Why a version cannot be sent now, from the statuses of the latest sends: the rule of
/// `exchange::send_blocked` (which reads one version at a time for the send dialog), applied
/// to summaries. `status_of(n)` is the latest send status of version `n`.
fn version_blocked(
    plan: &store::plans::Plan,
    number: i64,
    latest: Option<domain::SendStatus>,
    status_of: impl Fn(i64) -> Option<domain::SendStatus>,
) -> Option<String> {
    let placed = plan.eis_plan_number.is_some() && status_of(number - 1) == Some(domain::SendStatus::Published);
    domain::exchange::send_refusal(plan.status, latest, number, placed)
}

/// The title of a timeline line: what happened then. A failed attempt that kept the send's state
/// is titled as a failure, not by the state it kept. The status page and the evidence pack both
/// use it, so they tell the same story.
pub fn event_title(event: &store::sends::SendEvent) -> &'static str {
    if event.failed { event.status.failed_attempt_title() } else { event.status.title() }
}

/// What an HTTP status of ЕИС's answer means, for a person.
pub fn reply_in_words(status: i64) -> &'static str {
    match status {
        200..=299 => "ЕИС приняла запрос",
        401 | 403 => "ЕИС отказала в доступе",
        400..=499 => "ЕИС отклонила запрос",
        500..=599 => "сбой на стороне ЕИС",
        _ => "ЕИС ответила",
    }
}

/// «повторялось N раз, последний раз …» for a timeline line counted `repeats` more times.
pub fn repeated_ru(repeats: i64, last_at: Option<store::Time>) -> Option<String> {
    if repeats <= 0 {
        return None;
    }
    let word = match (repeats % 10, repeats % 100) {
        (2..=4, r) if !(12..=14).contains(&r) => "раза",
        _ => "раз",
    };
    let last =
        last_at.map(|t| format!(", последний раз {}", domain::format::date_time_seconds_ru(t))).unwrap_or_default();
    Some(format!("повторялось {repeats} {word}{last}"))
}

/// Why nothing new goes to ЕИС for a blocked organization (`org_admin`).
pub const BLOCKED_ORGANIZATION: &str = "Организация заблокирована администратором: новые отправки её планов-графиков в ЕИС \
     не принимаются. Уже поставленные в очередь ждут её разблокировки.";

/// Why an OA plan does not go while no agreement on the transfer of powers is in force.
pub const NO_AGREEMENT: &str = "Нет действующего соглашения о передаче полномочий с вышестоящей организацией: \
     размещать этот план-график по соглашению (OA) нельзя. Соглашение вносит администратор вышестоящей организации \
     в карточке организации-заказчика, либо заказчик размещает план-график сам (CU).";

/// What the status page says of a send held in the queue while its organization is blocked.
pub const HELD_FOR_BLOCKED_ORGANIZATION: &str = "Организация заблокирована администратором: отправка ждёт в очереди \
     и уйдёт в ЕИС после разблокировки организации.";

pub const SAVE_CREDENTIALS_FIRST: &str =
    "Сохраните логин и пароль ЕИС в «Настройки» → «Регистрационные данные в ЕИС», затем повторите.";

/// «Отправить все» with saved credentials cannot sign: why a version of a sender whose
/// organization requires signed packets is left out.
pub const SIGN_IN_DIALOG: &str = "Организация требует подписывать пакеты для ЕИС электронной подписью (ЭЦП): \
     «Отправить все» не может подписать пакет. Отправьте эту версию из её окна «Отправить на ООС» с подписью.";

/// The signature does not match the packet that would go now: it changed since it was signed
/// (ЕИС placed the previous version meanwhile) or other bytes were signed.
pub const PACKET_CHANGED: &str = "Подпись не соответствует пакету, который отправляется сейчас: пакет изменился \
     после подписания (например, ЕИС разместила предыдущую версию, и пакет сформирован заново) или подписаны другие \
     данные. Подпишите пакет заново.";

/// What the browser signs before «Отправить на ООС»: the `data` of the packet that would go now.
pub struct PacketToSign {
    /// The exact bytes the signature must cover (see `eis::packet::signed_data`).
    pub data: Vec<u8>,
    /// The sender's organization requires the signature.
    pub required: bool,
}

impl Workflow {
    /// «Отправить на ООС» of one version with the login typed in the dialog and the password
    /// typed there or, when left empty, the saved one. Answers the send's id. An unsigned
    /// packet: refused when the sender's organization requires signed packets.
    pub async fn request_send(
        &self,
        user: &User,
        version_id: VersionId,
        login: &str,
        password: &Secret,
    ) -> Result<SendId> {
        self.request_signed_send(user, version_id, login, password, None).await
    }

    /// [`Self::request_send`] with the sender's packet signature (a detached CAdES-BES, base64
    /// or DER) over the `data` of the packet [`Self::packet_to_sign`] gave. It is checked over
    /// the packet chosen now, before anything is queued: a packet that changed since it was
    /// signed is refused with «подпишите заново». Required when the sender's organization
    /// requires signed packets (`ecp_packet_required`).
    pub async fn request_signed_send(
        &self,
        user: &User,
        version_id: VersionId,
        login: &str,
        password: &Secret,
        signature: Option<Vec<u8>>,
    ) -> Result<SendId> {
        let found = self.sendable_version(user, version_id).await?;
        let login = login.trim();
        let password = if password.is_empty() {
            self.store.eis_credentials(user.id).await?.map(|c| c.password)
        } else {
            Some(password.clone())
        };
        let (false, Some(password)) = (login.is_empty(), password) else {
            return Err(Error::SendRefused(domain::exchange::SendError::MissingCredentials.to_string()));
        };
        let credentials = EisLogin { login: login.to_owned(), password };
        let signature = signature.filter(|s| !s.trim_ascii().is_empty());
        self.queue(user, found.plan.plan(), &found.version, credentials, Signing::Given(signature)).await
    }

    /// The `data` bytes of the packet the version would go as now, for the sender to sign
    /// before «Отправить на ООС». Refused, as the send would be, when the version cannot go now.
    pub async fn packet_to_sign(&self, user: &User, version_id: VersionId) -> Result<PacketToSign> {
        let found = self.sendable_version(user, version_id).await?;
        if let Some(why) = self.org_refusal(found.plan.plan()).await? {
            return Err(Error::SendRefused(why));
        }
        let chosen = self.exchange.choose_packet(found.plan.plan(), &found.version).await.map_err(refusal)?;
        let data = chosen.data().map_err(refusal)?.as_bytes().to_vec();
        let required = self.store.ecp_policy(user.org_id).await?.packet;
        Ok(PacketToSign { data, required })
    }

    /// Whether `user`'s organization requires the packets they send to be signed.
    pub async fn packet_signature_required(&self, user: &User) -> Result<bool> {
        Ok(self.store.ecp_policy(user.org_id).await?.packet)
    }

    async fn queue(
        &self,
        user: &User,
        plan: &store::plans::Plan,
        version: &store::plans::Version,
        credentials: EisLogin,
        signing: Signing,
    ) -> Result<SendId> {
        if let Some(why) = self.org_refusal(plan).await? {
            return Err(Error::SendRefused(why));
        }
        // The sending organization decides: the customer, or the superior for role OA.
        let required = self.store.ecp_policy(user.org_id).await?.packet;
        let signature = match signing {
            Signing::Given(s) => s,
            Signing::Impossible if required => return Err(Error::SendRefused(SIGN_IN_DIALOG.into())),
            Signing::Impossible => None,
        };
        let chosen = self.exchange.choose_packet(plan, version).await.map_err(refusal)?;
        let signed = match signature {
            Some(signature) => Some(self.check_packet_signature(user, &chosen, signature).await?),
            None if required => return Err(Error::field("signature", crate::ecp::SIGNATURE_REQUIRED)),
            None => None,
        };
        self.exchange.queue_packet(user, version, credentials, chosen, signed.as_ref()).await.map_err(refusal)
    }

    /// Checks `signature` over the `data` of `chosen` (the sender's own certificate, trusted,
    /// bound to them) and answers it as the packet will carry it.
    async fn check_packet_signature(
        &self,
        user: &User,
        chosen: &exchange::ChosenPacket,
        signature: Vec<u8>,
    ) -> Result<exchange::PacketSignature> {
        use base64::Engine as _;
        let data = chosen.data().map_err(refusal)?.as_bytes().to_vec();
        let signed = match self.verify_user_signature(user, data, signature).await {
            Ok(s) => s,
            Err(Error::Fields { message, .. }) if message == signature::SignatureError::Tampered.to_string() => {
                return Err(Error::field("signature", PACKET_CHANGED));
            }
            Err(e) => return Err(e),
        };
        let certificate = &signed.certificate;
        Ok(exchange::PacketSignature {
            base64: base64::engine::general_purpose::STANDARD.encode(&signed.der),
            signed_by: format!(
                "Пакет подписан ЭЦП: владелец сертификата {}, отпечаток {}.",
                certificate.owner_name().unwrap_or_else(|| "не указан".into()),
                certificate.thumbprint
            ),
        })
    }

    /// Why nothing goes to ЕИС for the plan's organization now, if so: it is blocked, or the
    /// plan is placed by the superior (OA) and no agreement with it is in force today.
    async fn org_refusal(&self, plan: &store::plans::Plan) -> Result<Option<String>> {
        if self.store.organization_blocked(plan.org_id).await? {
            return Ok(Some(BLOCKED_ORGANIZATION.into()));
        }
        if plan.owner_role == domain::plan::OwnerRole::Agent {
            let superior = self.store.organization(plan.org_id).await?.and_then(|o| o.superior_id);
            let in_force = match superior {
                Some(s) => self.store.agreement_in_force(plan.org_id, s, &crate::org_admin::today_iso()).await?,
                None => false,
            };
            if !in_force {
                return Ok(Some(NO_AGREEMENT.into()));
            }
        }
        Ok(None)
    }

    /// The packet of a version the caller may read (see `exchange::Exchange::packet_xml`).
    pub async fn packet_xml(&self, user: &User, version_id: VersionId) -> Result<PacketXml> {
        let (version, plan, _) = self.readable_version(user, version_id).await?.into_parts();
        let (xml, sent) = self.exchange.packet_xml(&plan, &version).await?;
        Ok(PacketXml { xml, sent, version, plan })
    }

    /// When the runner stops retrying a send that ЕИС keeps failing.
    pub fn gives_up_at(&self, send: &store::sends::SendHead) -> Option<store::Time> {
        self.exchange.give_up_at(send)
    }

    /// Why the caller cannot send this version of a plan already loaded now (`Ok(None)`: it
    /// can), for the dialog and the list of versions.
    pub async fn send_blocked(
        &self,
        user: &User,
        plan: &crate::Readable,
        version: &store::plans::Version,
    ) -> Result<Option<String>> {
        let sender = crate::access::plan_ref(plan.plan(), plan.owner());
        if let Err(e) = domain::exchange::check_sender(actor(user), sender, plan.plan().owner_role) {
            return Ok(Some(e.to_string()));
        }
        if let Some(why) = self.org_refusal(plan.plan()).await? {
            return Ok(Some(why));
        }
        exchange::send_blocked(&self.store, plan.plan(), version).await.map_err(Error::from)
    }

    /// The plan's versions, newest first, as the lists show them: summaries, each version's
    /// latest send, and why the caller cannot send it now — from one read of the summaries and
    /// one of the latest sends, whatever the number of versions.
    pub async fn version_list(&self, user: &User, plan: &crate::Readable) -> Result<Vec<VersionListItem>> {
        let summaries = self.store.version_summaries(plan.plan().id).await?;
        let ids: Vec<VersionId> = summaries.iter().map(|v| v.id).collect();
        let mut latest = self.store.latest_sends(&ids).await?;
        let sender = crate::access::plan_ref(plan.plan(), plan.owner());
        let sender_refused =
            domain::exchange::check_sender(actor(user), sender, plan.plan().owner_role).err().map(|e| e.to_string());
        let status_of = |number: i64| {
            let id = summaries.iter().find(|v| v.version_number == number).map(|v| v.id)?;
            latest.get(&id).map(|s| s.status)
        };
        let mut blocked = Vec::with_capacity(summaries.len());
        for v in &summaries {
            blocked.push(match &sender_refused {
                Some(why) => Some(why.clone()),
                None => version_blocked(plan.plan(), v.version_number, latest.get(&v.id).map(|s| s.status), |n| {
                    status_of(n)
                }),
            });
        }
        Ok(summaries
            .into_iter()
            .zip(blocked)
            .map(|(summary, blocked)| VersionListItem { latest: latest.remove(&summary.id), summary, blocked })
            .collect())
    }

    /// «Отправить все»: every approved version that was never sent and may go now, with the
    /// saved ЕИС credentials — the organization's own plans placed by itself (CU), and its
    /// subordinates' plans it places for them under an agreement (OA).
    pub async fn send_all(&self, user: &User) -> Result<BulkSend> {
        self.send_all_tracked(user, &mut Tracker::untracked()).await
    }

    /// Refuses «Отправить все» to a caller who cannot send at all; answers the saved credentials.
    pub(crate) async fn may_send_all(&self, user: &User) -> Result<EisLogin> {
        if !user.roles.edits_plans() {
            return Err(domain::exchange::SendError::WrongRole.into());
        }
        self.store.eis_credentials(user.id).await?.ok_or_else(|| Error::SendRefused(SAVE_CREDENTIALS_FIRST.into()))
    }

    /// [`Self::send_all`], each version counted on `tracker` as it goes.
    pub async fn send_all_tracked(&self, user: &User, tracker: &mut Tracker) -> Result<BulkSend> {
        let credentials = self.may_send_all(user).await?;
        let mut outcome = BulkSend::default();
        let unsent = self.store.unsent_versions_visible_to(user.org_id).await?;
        tracker.set_total(unsent.len()).await?;
        for versions in unsent.chunk_by(|a, b| a.0 == b.0) {
            let found = match self.readable_plan(user, versions[0].0).await {
                Ok(found) if found.permissions().send => found,
                Ok(_) | Err(Error::NotFound) => {
                    for _ in versions {
                        tracker.skipped().await?;
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            for &(_, version_id) in versions {
                // Only a version about to go is read in full (its snapshot and packet).
                let Some(v) = self.store.version(version_id).await? else {
                    tracker.skipped().await?;
                    continue;
                };
                match self.queue(user, found.plan(), &v, credentials.clone(), Signing::Impossible).await {
                    Ok(_) => {
                        outcome.queued += 1;
                        tracker.succeeded().await?;
                    }
                    Err(Error::SendRefused(reason)) => {
                        let line = format!(
                            "{}, план-график {} год, версия {}: {reason}",
                            found.owner().short_name,
                            found.plan().plan_year,
                            v.version_number
                        );
                        outcome.problems.push(line.clone());
                        tracker.refused(line).await?;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(outcome)
    }

    /// Saves the user's ЕИС login and, when given, a new password (sealed at rest).
    pub async fn save_eis_credentials(&self, user: &User, login: &str, password: Option<&Secret>) -> Result<()> {
        let login = login.trim();
        if login.is_empty() {
            return Err(Error::field("login", "Укажите логин пользователя в ЕИС"));
        }
        if login.chars().count() > 200 {
            return Err(Error::field("login", "Логин ЕИС длиннее 200 символов"));
        }
        Ok(self.store.save_eis_credentials(user.id, user.org_id, login, password).await?)
    }

    /// «Проверить подключение»: tries the saved login and password against ЕИС and remembers
    /// the outcome, so the page can say when they last worked or failed.
    pub async fn check_eis_credentials(&self, user: &User) -> Result<CredentialsCheck> {
        let Some(creds) = self.store.eis_credentials(user.id).await? else {
            return Err(Error::SendRefused("Сначала сохраните логин и пароль ЕИС".into()));
        };
        let refused = match self.exchange.check_credentials(&creds).await {
            exchange::CredentialCheck::Accepted => {
                self.store.mark_eis_credentials(user.id, &creds.login, true, None).await?;
                return Ok(CredentialsCheck::Works);
            }
            exchange::CredentialCheck::Rejected(m) => format!(
                "ЕИС не приняла логин или пароль ({m}). Возможно, пароль был создан заново в личном кабинете ЕИС — введите новый."
            ),
            exchange::CredentialCheck::Forbidden(m) => {
                format!("У пользователя ЕИС нет права работы с планом-графиком ({m})")
            }
            exchange::CredentialCheck::Unreachable(m) => {
                return Ok(CredentialsCheck::Unknown(format!(
                    "Не удалось проверить подключение: {m}. Повторите позже."
                )));
            }
        };
        self.store.mark_eis_credentials(user.id, &creds.login, false, Some(&refused)).await?;
        Ok(CredentialsCheck::Refused(refused))
    }
}

/// What became of a version's latest send, as the status page and the API tell it: read so that
/// each part is at least as new as the one before it.
pub struct SendReport {
    pub plan: store::plans::Plan,
    pub owner: store::orgs::Organization,
    pub version: store::plans::VersionHead,
    /// The latest send, read after its timeline (a newer one may have started since).
    pub send: Option<store::sends::SendHead>,
    /// The timeline of the send read first, oldest first, without raw replies.
    pub timeline_of: Option<SendId>,
    pub events: Vec<store::sends::SendEvent>,
    /// ЕИС's violations from its latest reply (a placement's export has none).
    pub violations: Vec<ViolationView>,
    /// The HTTP status ЕИС refused authorization with (401: login or password, 403: no right).
    pub refused_with: Option<i64>,
    /// While ЕИС fails: when the runner will stop trying.
    pub gives_up_at: Option<store::Time>,
    /// Queued while its organization is blocked: the runner holds it until the unblocking
    /// (`crate::org_admin`).
    pub held_for_blocked_organization: bool,
}

impl SendReport {
    pub fn status(&self) -> Option<domain::SendStatus> {
        self.send.as_ref().map(|s| s.status)
    }

    /// The send is still active and its last exchanges failed: the runner tries again.
    pub fn failing(&self) -> Option<&store::sends::SendHead> {
        self.send.as_ref().filter(|s| s.status.is_active() && s.consecutive_failures > 0)
    }

    /// The runner stopped the send (ЕИС refused the request, or never answered).
    pub fn stopped(&self) -> Option<&store::sends::SendHead> {
        self.send
            .as_ref()
            .filter(|s| matches!(s.status, domain::SendStatus::RequestRefused | domain::SendStatus::GaveUp))
    }

    /// ЕИС's registry numbers, once the version is placed.
    pub fn published(&self) -> bool {
        self.status() == Some(domain::SendStatus::Published)
    }
}

impl Workflow {
    /// The latest send of a version the caller may read.
    pub async fn send_report(&self, user: &User, version_id: VersionId) -> Result<SendReport> {
        use domain::SendStatus;
        let (version, readable) = self.readable_version_head(user, version_id).await?;
        let (plan_id, owner) = (readable.plan().id, readable.owner().clone());
        // Each read below is at least as new as the one before it — the timeline, then the
        // send's state, then the version and plan (a placement commits state and numbers
        // together) — so nothing shows a state older than its timeline or numbers missing from
        // a placement. Only the reply whose violations are listed is read in full.
        let store = &self.store;
        let (timeline_of, events) = match store.latest_send_head(version.id).await? {
            Some(s) => (Some(s.id), store.send_timeline(s.id).await?),
            None => (None, vec![]),
        };
        let send = store.latest_send_head(version.id).await?;
        let version = store.version_head(version.id).await?.ok_or(Error::NotFound)?;
        let plan = store.plan(plan_id).await?.ok_or(Error::NotFound)?;
        let violations = match (timeline_of, events.iter().rev().find(|e| e.has_raw)) {
            (Some(send_id), Some(last)) if last.status != SendStatus::Published => store
                .send_event(send_id, last.id)
                .await?
                .and_then(|e| e.raw_reply)
                .map(|raw| violations_in(&raw))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let refused_with = events.iter().rev().find(|e| e.status == SendStatus::AuthError).and_then(|e| e.http_status);
        let held_for_blocked_organization = send.as_ref().is_some_and(|s| s.status == SendStatus::Queued)
            && store.organization_blocked(owner.id).await?;
        let mut report = SendReport {
            plan,
            owner,
            version,
            send,
            timeline_of,
            events,
            violations,
            refused_with,
            gives_up_at: None,
            held_for_blocked_organization,
        };
        report.gives_up_at = report.failing().and_then(|s| self.gives_up_at(s));
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::repeated_ru;

    #[test]
    fn a_recurring_event_says_how_often_and_when_last() {
        let at = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap(); // 2026-01-01 00:00 UTC
        assert_eq!(repeated_ru(0, None), None);
        assert_eq!(repeated_ru(1, Some(at)).unwrap(), "повторялось 1 раз, последний раз 01.01.2026 03:00:00");
        let words: Vec<String> = [2, 5, 12, 21, 22, 111].iter().map(|n| repeated_ru(*n, None).unwrap()).collect();
        assert_eq!(
            words,
            [
                "повторялось 2 раза",
                "повторялось 5 раз",
                "повторялось 12 раз",
                "повторялось 21 раз",
                "повторялось 22 раза",
                "повторялось 111 раз"
            ]
        );
    }
}
