//! The exchange with ЕИС: accepting a request to send a version (building its packet and
//! writing it to the durable queue in one transaction), and the runner that claims due sends,
//! talks to ЕИС through `eis`, records every reply and drives the send's state machine.
//!
//! Every attempt of one send carries the same packet (same `index/id`), so a retry after a
//! lost reply can never create a second draft in ЕИС. Before a send gives up, and before a
//! version goes again under a new packet id, ЕИС is asked about the old packet id: an upload may
//! have arrived with only its reply lost.

pub mod build;

use domain::SendStatus;
use domain::exchange::can_start_send;
use eis::client::{ClientError, Credentials, EisClient};
use eis::reply::{Confirmation, ConfirmationResult, ViolationLevel};
use std::sync::Arc;
use std::time::Duration;
use store::plans::{Plan, Version};
use store::sends::{ClaimedSend, EisLogin, EventNote, NewSend, Outcome, Publication};
use store::users::User;
use store::{Store, StoreError, now_ms};
use tokio::sync::Notify;

pub use build::Envelope;

/// The errCode with which ЕИС (as eis-sandbox documents it in docs/SANDBOX.md) refuses a plan
/// whose period already has a plan-schedule created directly in ЕИС.
pub const PLAN_CREATED_IN_EIS: &str = "PLAN_EIS";

#[derive(Debug, Clone)]
pub struct ExchangeConfig {
    pub envelope: Envelope,
    /// How soon to ask again about a packet ЕИС is still processing.
    pub poll_interval: Duration,
    /// How often to ask whether a loaded draft has been placed (published) in ЕИС.
    pub publication_poll_interval: Duration,
    /// Retry delay cap after the first failure of a run (transport, 5xx, unreadable reply);
    /// doubled per failure in a row, up to `retry_max`. See [`retry_delay`].
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long after its first attempt a send that gets no usable answer is given up.
    pub retry_ceiling: Duration,
    /// How long a worker holds a claimed send before another may take it over. It must exceed
    /// one exchange (the client's connect plus read timeouts), or a slow reply would let a
    /// second worker repeat the call; the repeat would be harmless (same packet id), but wasted.
    pub lease: Duration,
    /// How often an idle runner looks for due sends (it is also woken on every new send).
    pub idle_interval: Duration,
    /// The official ЕИС schemas, compiled once; when present, every packet is validated before
    /// it is queued, so ЕИС never sees a packet its schemas reject.
    pub schemas: Option<Arc<eis::validate::SchemaSet>>,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            envelope: Envelope { sender: "PLANGRAF".into(), receiver: "OOS".into(), mode: eis::packet::Mode::Prod },
            poll_interval: Duration::from_secs(5),
            publication_poll_interval: Duration::from_secs(60),
            retry_base: Duration::from_secs(5),
            // Short on purpose: once ЕИС heals, every waiting send tries again within a minute.
            retry_max: Duration::from_secs(60),
            retry_ceiling: Duration::from_secs(24 * 60 * 60),
            lease: Duration::from_secs(90),
            idle_interval: Duration::from_secs(2),
            schemas: None,
        }
    }
}

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

/// What a version's packet is built against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// The first version: `tenderPlan2020`.
    New,
    /// A change against the placed previous version: `tenderPlan2020Change`.
    Change { plan_number: String, base_version: i64 },
    /// A change whose previous version ЕИС has not placed yet: its packet is built when it is sent.
    Pending { base_version: i64 },
}

impl Basis {
    pub fn code(&self) -> String {
        match self {
            Basis::New => "new".into(),
            Basis::Change { plan_number, base_version } => format!("change:{plan_number}:{base_version}"),
            Basis::Pending { base_version } => format!("pending:{base_version}"),
        }
    }
}

/// What version `number` of `plan` goes against, as ЕИС stands now.
async fn basis_of(store: &Store, plan: &Plan, number: i64) -> Result<Basis, StoreError> {
    if number == 0 {
        return Ok(Basis::New);
    }
    let base_version = number - 1;
    let placed = match store.versions(plan.id).await?.into_iter().find(|v| v.version_number == base_version) {
        Some(prev) => store.latest_send(prev.id).await?.is_some_and(|s| s.status == SendStatus::Published),
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
    let latest = store.latest_send(version.id).await?.map(|s| s.status);
    if let Err(e) = can_start_send(latest) {
        return Ok(Some(e.to_string()));
    }
    // A change goes as tenderPlan2020Change, which needs the plan number ЕИС assigns when the
    // previous version is placed.
    if let Basis::Pending { base_version } = basis_of(store, plan, version.version_number).await? {
        return Ok(Some(format!(
            "Изменения нельзя отправить, пока предыдущая версия ({base_version}) не размещена в ЕИС. Разместите её в личном кабинете ЕИС и дождитесь статуса «{}».",
            SendStatus::Published.title()
        )));
    }
    Ok(None)
}

async fn previous_version(store: &Store, plan: &Plan, version: &Version) -> Result<Option<Version>, StoreError> {
    Ok(match version.version_number {
        0 => None,
        n => store.versions(plan.id).await?.into_iter().find(|v| v.version_number == n - 1),
    })
}

/// A violation as the status page shows it, pinned to the position and field it concerns.
#[derive(Debug, Clone)]
pub struct ViolationView {
    pub code: String,
    pub level: &'static str,
    pub name: String,
    pub description: String,
    /// Purchase number (`0001`) of the position concerned, when the violation names one.
    pub position: Option<String>,
    /// The field of plangraf's form the violation is about.
    pub field: &'static str,
}

/// Which field an errCode concerns (codes as docs/SANDBOX.md documents them).
fn field_of(code: &str) -> &'static str {
    match code {
        "OKPD2_LEN" | "IKZ_OKPD2" => "Код ОКПД2",
        "IKZ_KVR" => "Код КВР",
        "IKZ_YEAR" => "Год размещения извещения",
        "IKZ_NUM" | "POS_DUP" => "Номер закупки",
        c if c.starts_with("IKZ") => "ИКЗ",
        "ORG_CUST" | "ORG_OWNER" => "Заказчик (код по СПЗ, ИНН, КПП)",
        "POS_NONE" => "Позиции плана-графика",
        "XSD" | "XML_READ" => "Пакет целиком",
        _ => "План-график",
    }
}

/// The purchase number a violation's text names: «номером закупки 0001» or «Номер закупки 0001».
fn position_in(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let at = lower
        .find("номером закупки ")
        .map(|i| i + "номером закупки ".len())
        .or_else(|| lower.find("номер закупки ").map(|i| i + "номер закупки ".len()))?;
    let digits: String = lower[at..].chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 4).then_some(digits)
}

/// Violations in a raw ЕИС reply (empty when the reply is no confirmation).
pub fn violations_in(raw: &str) -> Vec<ViolationView> {
    let Ok(c) = eis::reply::read_confirmation(raw) else { return vec![] };
    c.violations
        .into_iter()
        .map(|v| ViolationView {
            field: field_of(&v.err_code),
            code: v.err_code,
            level: match v.level {
                ViolationLevel::Error => "Ошибка",
                ViolationLevel::Warning => "Предупреждение",
            },
            position: v.description.as_deref().and_then(position_in),
            name: v.name,
            description: v.description.unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_pinned_to_positions_and_fields() {
        assert_eq!(
            position_in("Позиция с номером закупки 0002 (внешний номер plangraf-1-0002): ИКЗ …").as_deref(),
            Some("0002")
        );
        assert_eq!(position_in("Номер закупки 0007 указан в 2 позициях").as_deref(), Some("0007"));
        assert_eq!(position_in("План-график на этот период создан в ЕИС"), None);
        assert_eq!(field_of("IKZ_IKU"), "ИКЗ");
        assert_eq!(field_of("IKZ_OKPD2"), "Код ОКПД2");
        assert_eq!(field_of("POS_DUP"), "Номер закупки");
        assert_eq!(field_of("PLAN_EIS"), "План-график");
    }

    #[test]
    fn retry_delay_grows_with_failures_in_a_row_and_stays_within_its_jitter() {
        use rand::{Rng, SeedableRng};
        let (base, max) = (Duration::from_secs(5), Duration::from_secs(60));
        let cap = |n: i64| Duration::from_secs(5 * 2u64.pow(u32::try_from(n - 1).unwrap())).min(max);
        assert_eq!(retry_delay(base, max, 1, 0.0), Duration::from_millis(2500));
        assert_eq!(retry_delay(base, max, 1, 1.0), Duration::from_secs(5));
        assert_eq!(retry_delay(base, max, 3, 0.5), Duration::from_secs(15));
        // The ceiling holds however long the run of failures, and for nonsense samples.
        assert_eq!(retry_delay(base, max, 1_000_000, 1.0), max);
        assert_eq!(retry_delay(base, max, 0, 0.0), Duration::from_millis(2500), "treated as the first failure");
        assert_eq!(retry_delay(base, max, 2, f64::NAN), Duration::from_secs(5));
        let mut rng = rand::rngs::StdRng::seed_from_u64(44);
        for n in 1..=12 {
            for _ in 0..200 {
                let d = retry_delay(base, max, n, rng.random::<f64>());
                assert!(d >= cap(n) / 2 && d <= cap(n), "failure {n}: {d:?} outside [{:?}, {:?}]", cap(n) / 2, cap(n));
            }
        }
        // Jitter spreads: 50 samples of the same failure are not all alike.
        let spread: std::collections::BTreeSet<Duration> =
            (0..50).map(|_| retry_delay(base, max, 5, rng.random::<f64>())).collect();
        assert!(spread.len() > 40);
    }

    #[test]
    fn which_failures_may_heal() {
        let server = |status| ClientError::Server { status, raw: String::new() };
        for healing in [server(500), server(503), server(408), server(429), ClientError::Transport("timeout".into())] {
            assert!(may_heal(&healing) && lasting_refusal(&healing).is_none(), "{healing:?}");
        }
        assert!(may_heal(&ClientError::Malformed {
            reason: "HTML".into(),
            raw: "<html>Технические работы</html>".into()
        }));
        for lasting in [400, 404, 409, 413, 422] {
            assert_eq!(lasting_refusal(&server(lasting)), Some(lasting));
        }
    }

    #[test]
    fn refusal_text_prefers_errorinfo() {
        let raw = eis::reply::write_error_info(&eis::reply::ErrorInfo {
            code: 7, message: "Пакет уже получен".into()
        });
        assert_eq!(refusal_text(&raw), "«Пакет уже получен» (код 7)");
        assert_eq!(refusal_text("<html>\n  Bad   request\n</html>"), "«<html> Bad request </html>»");
        assert_eq!(refusal_text(""), "ответ без текста");
    }
}

/// The delay before the next try after `failures` (≥ 1) failures in a row: "equal jitter" over an
/// exponential cap. With cap = min(`max`, `base` · 2^(failures − 1)), the delay is
/// cap/2 + `sample` · cap/2, `sample` in [0, 1): never less than half the cap (ЕИС is not hammered
/// during an outage), and spread, so sends that failed together do not come back together.
pub fn retry_delay(base: Duration, max: Duration, failures: i64, sample: f64) -> Duration {
    let doublings = u32::try_from(failures.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let cap = base.saturating_mul(2u32.saturating_pow(doublings)).min(max);
    let sample = if sample.is_finite() { sample.clamp(0.0, 1.0) } else { 0.0 };
    cap / 2 + (cap / 2).mul_f64(sample)
}

/// Whether an exchange that failed may succeed if repeated: transport failures (timeouts
/// included), 5xx, 408 and 429, and a 200 that is not the expected reply (an HTML maintenance
/// page is what ЕИС outages look like). Any other 4xx will not change.
fn may_heal(e: &ClientError) -> bool {
    match e {
        ClientError::Server { status, .. } => *status >= 500 || matches!(status, 408 | 429),
        ClientError::Malformed { .. } => true,
        other => other.is_retryable(),
    }
}

/// The HTTP status of a 4xx that will not change, when `e` is one (401/403 have their own state).
fn lasting_refusal(e: &ClientError) -> Option<u16> {
    match e {
        ClientError::Server { status, .. } if (400..500).contains(status) && !may_heal(e) => Some(*status),
        _ => None,
    }
}

/// What ЕИС said in a refusal, for people: its `errorInfo` when there is one, else the start of the body.
fn refusal_text(raw: &str) -> String {
    if let Ok(info) = eis::reply::read_error_info(raw) {
        return format!("«{}» (код {})", info.message, info.code);
    }
    let text: String = raw.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
    if text.is_empty() { "ответ без текста".into() } else { format!("«{text}»") }
}

/// A failed exchange in a few Russian words.
fn failure_ru(e: &ClientError) -> String {
    match e {
        ClientError::Transport(t) => format!("Нет связи с ЕИС ({t})"),
        ClientError::Server { status, .. } if *status >= 500 => format!("ЕИС ответила ошибкой сервера HTTP {status}"),
        ClientError::Server { status, raw } => format!("ЕИС ответила HTTP {status}: {}", refusal_text(raw)),
        ClientError::Malformed { reason, .. } => format!("Ответ ЕИС не распознан ({reason})"),
        ClientError::Unauthorized { info, .. } | ClientError::Forbidden { info, .. } => {
            format!("ЕИС отказала в авторизации: {} (код {})", info.message, info.code)
        }
        other => format!("Сбой обмена с ЕИС ({other})"),
    }
}

fn http_status_of(e: &ClientError) -> Option<u16> {
    match e {
        ClientError::Server { status, .. } => Some(*status),
        ClientError::Unauthorized { .. } => Some(401),
        ClientError::Forbidden { .. } => Some(403),
        ClientError::Malformed { .. } => Some(200),
        _ => None,
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn when_ru(at_ms: i64) -> String {
    domain::format::date_time_ru(store::to_datetime(at_ms))
}

/// What ЕИС said of a version's earlier packet when asked before it goes under a new one.
enum OldPacket {
    /// ЕИС does not know it (404): a new packet cannot make a second draft.
    Unknown,
    /// ЕИС knows it: the earlier send was reopened (its id), or ЕИС's verdict was recorded on it.
    Followed(i64),
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

#[derive(Clone)]
pub struct Exchange {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    client: EisClient,
    config: ExchangeConfig,
    wake: Notify,
    worker_id: String,
}

impl Exchange {
    pub fn new(store: Store, client: EisClient, config: ExchangeConfig) -> Exchange {
        let worker_id = format!("worker-{}", uuid::Uuid::new_v4());
        Exchange { inner: Arc::new(Inner { store, client, config, wake: Notify::new(), worker_id }) }
    }

    /// «Отправить на ООС»: checks that the version may go now, builds its packet and writes the
    /// send to the queue. The runner does the rest.
    pub async fn request_send(
        &self,
        actor: &User,
        plan: &Plan,
        version: &Version,
        credentials: EisLogin,
    ) -> Result<i64, RequestError> {
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
        let latest = store.latest_send(version.id).await?;
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
        // The packet fixed at approval goes as it is, unless ЕИС's view changed since (the
        // previous version got placed) or an earlier send of it ended: a new send needs a new
        // packet id, or ЕИС would answer with the earlier result. The content is the same.
        let first_send = latest.is_none();
        let fixed = version
            .packet
            .as_ref()
            .filter(|_| first_send && version.packet_basis.as_deref() == Some(basis.code().as_str()));
        let (packet_id, xml, note) = match fixed {
            Some(p) => (p.id.clone(), p.xml.clone(), "Пакет — зафиксированный при утверждении версии.".to_owned()),
            None => {
                let packet = self.packet_for(plan, version, previous.as_ref());
                let why = if version.packet.is_none() {
                    "Пакет сформирован при отправке: при утверждении предыдущая версия ещё не была размещена в ЕИС."
                } else if first_send {
                    "Пакет сформирован заново: после утверждения ЕИС разместила предыдущую версию."
                } else {
                    "Пакет сформирован заново с новым идентификатором: предыдущая отправка этой версии завершилась отказом."
                };
                (packet.index.id.clone(), eis::packet::write_plan_packet(&packet), format!("{why}{checked}"))
            }
        };
        if let Err(issues) = self.validate(&xml).await? {
            tracing::warn!(version_id = version.id, issues = issues.len(), "packet rejected by the ЕИС schemas");
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
        tracing::info!(send_id = id, version_id = version.id, packet_id = %packet_id, "send queued");
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
        old: &store::sends::Send,
        login: &EisLogin,
    ) -> Result<OldPacket, RequestError> {
        let creds = Credentials { login: login.login.clone(), password: login.password.clone() };
        let reply = match self.inner.client.status(&creds, &old.packet_id).await {
            Ok(reply) => reply,
            Err(ClientError::Server { status: 404, .. }) => return Ok(OldPacket::Unknown),
            Err(e) => {
                tracing::warn!(send_id = old.id, error = %e, "could not learn whether ЕИС holds the earlier packet");
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
            SendStatus::Processing => Some(now_ms()),
            SendStatus::Loaded => Some(now_ms() + ms(self.inner.config.publication_poll_interval)),
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
            Ok(true) => {}
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
        tracing::info!(send_id = old.id, status = status.code(), "ЕИС holds the earlier packet; following it");
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

    /// When the runner stops retrying a send that gets no usable answer (ms since the epoch);
    /// `None` before its first attempt and for sends not waiting on ЕИС's reply to the packet.
    pub fn give_up_at(&self, send: &store::sends::Send) -> Option<i64> {
        if !send.status.is_active() {
            return None;
        }
        send.first_attempt_at.map(|t| t.saturating_add(ms(self.inner.config.retry_ceiling)))
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
                CredentialCheck::Unreachable(format!("ЕИС ответила ошибкой HTTP {status}"))
            }
            Err(e) => CredentialCheck::Unreachable(e.to_string()),
        }
    }

    /// The packet a version goes as now: against its placed previous version when there is one.
    fn packet_for(&self, plan: &Plan, version: &Version, previous: Option<&Version>) -> eis::packet::PlanPacket {
        self.build(plan, version.version_number, &version.snapshot, previous, plan.eis_plan_number.as_deref())
    }

    fn build(
        &self,
        plan: &Plan,
        version_number: i64,
        snapshot: &domain::plan::PlanSnapshot,
        previous: Option<&Version>,
        plan_number: Option<&str>,
    ) -> eis::packet::PlanPacket {
        let base = match (previous, plan_number) {
            (Some(prev), Some(plan_number)) => Some(build::Base {
                plan_number,
                snapshot: &prev.snapshot,
                position_numbers: &prev.eis_position_numbers,
            }),
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
        let versions = store.versions(plan.id).await?;
        let number = versions.first().map(|v| v.version_number + 1).unwrap_or(0);
        let basis = basis_of(store, plan, number).await?;
        let previous = versions.first();
        let packet = match &basis {
            Basis::New => self.build(plan, number, snapshot, None, None),
            Basis::Change { plan_number, .. } => self.build(plan, number, snapshot, previous, Some(plan_number)),
            Basis::Pending { .. } => self.build(plan, number, snapshot, previous, Some(STAND_IN_PLAN_NUMBER)),
        };
        Ok((number, basis, packet))
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
        approver: i64,
    ) -> Result<Version, RequestError> {
        let (number, basis, packet) = self.prospective(plan, snapshot).await?;
        let xml = eis::packet::write_plan_packet(&packet);
        if let Err(issues) = self.validate(&xml).await? {
            return Err(RequestError::Refused(format!("План-график не утверждён. {}", schema_message(&issues))));
        }
        let fixed = store::plans::FixedPacket { id: packet.index.id.clone(), xml };
        let code = basis.code();
        let approval = store::plans::Approval {
            version_number: number,
            packet: (!matches!(basis, Basis::Pending { .. })).then_some(&fixed),
            basis: &code,
        };
        Ok(self.inner.store.approve_plan(plan, snapshot, &approval, approver).await?)
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

    /// Claims and works one due send. Returns whether there was one.
    pub async fn run_once(&self) -> Result<bool, StoreError> {
        let lease = i64::try_from(self.inner.config.lease.as_millis()).unwrap_or(i64::MAX);
        let Some(claimed) = self.inner.store.claim_due_send(&self.inner.worker_id, now_ms(), lease).await? else {
            return Ok(false);
        };
        self.work(claimed).await?;
        Ok(true)
    }

    /// Works due sends until none is due now.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        while self.run_once().await? {
            n += 1;
        }
        Ok(n)
    }

    /// Runs the worker loop until the task is dropped or aborted.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                match me.run_once().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "exchange runner: storage failure"),
                }
                tokio::select! {
                    _ = me.inner.wake.notified() => {}
                    _ = tokio::time::sleep(me.inner.config.idle_interval) => {}
                }
            }
        })
    }

    /// The delay after `failures` failures in a row, with a fresh random jitter.
    fn backoff(&self, failures: i64) -> Duration {
        let c = &self.inner.config;
        retry_delay(c.retry_base, c.retry_max, failures, rand::random::<f64>())
    }

    async fn work(&self, claimed: ClaimedSend) -> Result<(), StoreError> {
        if claimed.send.status == SendStatus::Loaded {
            return self.follow_publication(claimed).await;
        }
        let send = &claimed.send;
        let creds =
            Credentials { login: claimed.credentials.login.clone(), password: claimed.credentials.password.clone() };
        let client = &self.inner.client;
        let uploading = send.status == SendStatus::Queued;
        let result = if uploading {
            client.upload(&creds, &send.packet_xml).await
        } else {
            client.status(&creds, &send.packet_id).await
        };
        match result {
            Ok(reply) => {
                // A poll that still says `processing` is not news, unless ЕИС was failing before.
                let quiet = !uploading && send.consecutive_failures == 0;
                self.record_reply(send, &reply, uploading, quiet, None).await
            }
            Err(ClientError::Unauthorized { info, raw } | ClientError::Forbidden { info, raw }) => {
                let message = format!("ЕИС отказала в авторизации: {} (код {})", info.message, info.code);
                let outcome = Outcome {
                    status: SendStatus::AuthError,
                    next_attempt_at: None,
                    count_attempt: true,
                    failed: true,
                    last_error: Some(&message),
                    event: Some(EventNote { message: &message, http_status: None, raw_reply: Some(&raw) }),
                };
                // The credentials' failure first: whoever sees the send's new state then finds it
                // on the settings page too.
                self.inner
                    .store
                    .mark_eis_credentials(send.requested_by, &send.eis_login, false, Some(&message))
                    .await?;
                self.inner.store.record_outcome(send.id, &self.inner.worker_id, &outcome).await?;
                tracing::warn!(send_id = send.id, code = info.code, "ЕИС refused the credentials");
                Ok(())
            }
            Err(e) => match lasting_refusal(&e) {
                Some(status) => self.refused(send, &creds, uploading, status, &e).await,
                None => self.failed(send, &creds, &e).await,
            },
        }
    }

    /// Records a confirmation of the send's packet. `quiet` skips the timeline line of a poll
    /// that still says `processing`; `preface` opens the line (why ЕИС was asked).
    async fn record_reply(
        &self,
        send: &store::sends::Send,
        reply: &eis::client::Reply<Confirmation>,
        count_attempt: bool,
        quiet: bool,
        preface: Option<&str>,
    ) -> Result<(), StoreError> {
        let store = &self.inner.store;
        let (status, message) = classify(&reply.value);
        let message = match preface {
            Some(p) => format!("{p} {message}"),
            None => message,
        };
        let now = now_ms();
        let next_attempt_at = match status {
            SendStatus::Processing => Some(now + ms(self.inner.config.poll_interval)),
            // Loaded: from now on, watch for the customer placing the draft in ЕИС.
            SendStatus::Loaded => Some(now + ms(self.inner.config.publication_poll_interval)),
            _ => None,
        };
        let silent = quiet && status == SendStatus::Processing;
        let outcome = Outcome {
            status,
            next_attempt_at,
            count_attempt,
            failed: false,
            last_error: None,
            event: (!silent).then_some(EventNote {
                message: &message,
                http_status: Some(reply.http_status),
                raw_reply: Some(&reply.raw),
            }),
        };
        // Credentials first, as for a refusal: the settings page is never behind the send's state.
        if status.is_in_eis() {
            store.mark_eis_credentials(send.requested_by, &send.eis_login, true, None).await?;
        }
        store.record_outcome(send.id, &self.inner.worker_id, &outcome).await?;
        tracing::info!(send_id = send.id, status = status.code(), "ЕИС replied");
        Ok(())
    }

    /// Before a queued send ends without ЕИС's verdict, asks ЕИС about its packet: an earlier
    /// upload may have arrived with its reply lost. Returns whether ЕИС knew it (and the reply
    /// was recorded); otherwise says what ЕИС answered.
    async fn known_after_all(
        &self,
        send: &store::sends::Send,
        creds: &Credentials,
        why: &str,
    ) -> Result<Result<(), String>, StoreError> {
        match self.inner.client.status(creds, &send.packet_id).await {
            Ok(reply) => {
                let preface = format!("{why} plangraf спросил ЕИС о пакете: ЕИС его получила.");
                // The failed attempt that led here counts; the question itself does not.
                self.record_reply(send, &reply, true, false, Some(&preface)).await?;
                tracing::info!(send_id = send.id, "ЕИС knew the packet after all");
                Ok(Ok(()))
            }
            Err(ClientError::Server { status: 404, .. }) => {
                Ok(Err(format!("ЕИС подтвердила, что пакет {} не получала.", send.packet_id)))
            }
            Err(e) => Ok(Err(format!("Узнать у ЕИС, получен ли пакет, не удалось: {}.", failure_ru(&e)))),
        }
    }

    /// A 4xx other than 401/403: the same request would be refused again, so the send ends.
    async fn refused(
        &self,
        send: &store::sends::Send,
        creds: &Credentials,
        uploading: bool,
        status: u16,
        e: &ClientError,
    ) -> Result<(), StoreError> {
        let text = refusal_text(e.raw().unwrap_or_default());
        // An earlier upload of this packet may have arrived (its reply lost), and ЕИС may refuse
        // a second copy of a packet it holds: ask before ending.
        let mut known = String::new();
        if uploading && send.attempts > 0 {
            match self
                .known_after_all(send, creds, &format!("ЕИС ответила на повторную загрузку HTTP {status} {text}."))
                .await?
            {
                Ok(()) => return Ok(()),
                Err(what) => known = format!(" {what}"),
            }
        }
        let message = format!(
            "Отправка прекращена: ЕИС отклоняет запрос (HTTP {status}): {text}. Повторять тот же запрос бессмысленно — ответ не изменится.{known}"
        );
        let outcome = Outcome {
            status: SendStatus::RequestRefused,
            next_attempt_at: None,
            count_attempt: true,
            failed: true,
            last_error: Some(&message),
            event: Some(EventNote { message: &message, http_status: Some(status), raw_reply: e.raw() }),
        };
        self.inner.store.record_outcome(send.id, &self.inner.worker_id, &outcome).await?;
        tracing::warn!(send_id = send.id, status, "ЕИС refused the request; not retrying");
        Ok(())
    }

    /// Transport failures, 5xx and unreadable replies: the same packet goes again after a
    /// backoff on the failures in a row, until the retry ceiling; there ЕИС is asked about the
    /// packet once more, and the send gives up only if ЕИС does not know it.
    async fn failed(&self, send: &store::sends::Send, creds: &Credentials, e: &ClientError) -> Result<(), StoreError> {
        let store = &self.inner.store;
        let worker = &self.inner.worker_id;
        let what = failure_ru(e);
        let now = now_ms();
        if let Some(deadline) = self.give_up_at(send).filter(|d| now >= *d) {
            let since = send.failing_since.unwrap_or(now);
            let why = format!("{what}. Срок повторных попыток истёк {}.", when_ru(deadline));
            let known = match self.known_after_all(send, creds, &why).await? {
                Ok(()) => return Ok(()),
                Err(what) => what,
            };
            let message = format!(
                "ЕИС не отвечает с {}; попытки прекращены {} (срок истёк). Последняя ошибка: {what}. {known}",
                when_ru(since),
                when_ru(now)
            );
            let outcome = Outcome {
                status: SendStatus::GaveUp,
                next_attempt_at: None,
                count_attempt: true,
                failed: true,
                last_error: Some(&message),
                event: Some(EventNote { message: &message, http_status: http_status_of(e), raw_reply: e.raw() }),
            };
            store.record_outcome(send.id, worker, &outcome).await?;
            tracing::warn!(send_id = send.id, error = %e, "retry ceiling reached; giving up");
            return Ok(());
        }
        let delay = self.backoff(send.consecutive_failures + 1);
        let message = format!("{what}. Повторная попытка через {} с.", delay.as_millis().div_ceil(1000));
        let outcome = Outcome {
            status: send.status,
            next_attempt_at: Some(now + ms(delay)),
            count_attempt: true,
            failed: true,
            last_error: Some(&message),
            event: Some(EventNote { message: &message, http_status: http_status_of(e), raw_reply: e.raw() }),
        };
        store.record_outcome(send.id, worker, &outcome).await?;
        tracing::warn!(send_id = send.id, error = %e, "ЕИС exchange failed; will retry");
        Ok(())
    }
}

impl Exchange {
    /// After «Загрузка завершена успешно»: asks ЕИС whether the draft was placed; once it was,
    /// reads the placed version's export and records the plan and position numbers.
    async fn follow_publication(&self, claimed: ClaimedSend) -> Result<(), StoreError> {
        let send = &claimed.send;
        let store = &self.inner.store;
        let worker = &self.inner.worker_id;
        let config = &self.inner.config;
        // The user may have regenerated the password since sending: prefer the saved one.
        let login = match store.eis_credentials(send.requested_by).await? {
            Some(saved) if saved.login == send.eis_login => saved,
            _ => claimed.credentials.clone(),
        };
        let creds = Credentials { login: login.login.clone(), password: login.password.clone() };
        let request = eis::docproject::DocProjectStatusRequest::new(
            &config.envelope.sender,
            config.envelope.mode,
            vec![send.packet_id.clone()],
        );
        let result = match self.inner.client.doc_project_status(&creds, &request).await {
            Ok(reply) => {
                let placed = reply.value.statuses.iter().find(|s| s.doc_project_id == send.packet_id).and_then(|s| {
                    match &s.state {
                        eis::docproject::DocProjectState::Published { published_doc_id } => {
                            Some(published_doc_id.clone())
                        }
                        eis::docproject::DocProjectState::NotPublished => None,
                    }
                });
                match placed {
                    None => {
                        let quiet = Outcome {
                            status: SendStatus::Loaded,
                            next_attempt_at: Some(now_ms() + ms(config.publication_poll_interval)),
                            count_attempt: false,
                            failed: false,
                            last_error: None,
                            event: None,
                        };
                        store.record_outcome(send.id, worker, &quiet).await?;
                        return Ok(());
                    }
                    Some(doc_id) => self.inner.client.export_by_doc(&creds, &doc_id).await,
                }
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(export) => {
                let Some(plan_number) = export.value.plan_number().map(str::to_owned) else {
                    return self
                        .retry_publication(
                            send,
                            "ЕИС прислала сведения о размещении без реестрового номера плана-графика",
                            Some(&export.raw),
                        )
                        .await;
                };
                let Some(version) = store.version(send.version_id).await? else {
                    return Err(StoreError::Corrupt(format!("send {} without its version", send.id)));
                };
                let prefix = format!("plangraf-{}-", version.plan_id);
                let numbers: std::collections::BTreeMap<String, String> = export
                    .value
                    .position_numbers()
                    .into_iter()
                    .filter_map(|(ext, number)| Some((ext.strip_prefix(&prefix)?.to_owned(), number?.to_owned())))
                    .collect();
                let message = format!("ЕИС разместила версию: реестровый номер плана-графика {plan_number}");
                let outcome = Outcome {
                    status: SendStatus::Published,
                    next_attempt_at: None,
                    count_attempt: false,
                    failed: false,
                    last_error: None,
                    event: Some(EventNote {
                        message: &message,
                        http_status: Some(export.http_status),
                        raw_reply: Some(&export.raw),
                    }),
                };
                let publication = Publication {
                    plan_id: version.plan_id,
                    version_id: version.id,
                    plan_number: &plan_number,
                    position_numbers: &numbers,
                };
                store.record_publication(send.id, worker, &publication, &outcome).await?;
                tracing::info!(send_id = send.id, %plan_number, "version placed in ЕИС");
                Ok(())
            }
            Err(ClientError::Unauthorized { info, raw } | ClientError::Forbidden { info, raw }) => {
                let message = format!(
                    "Не удалось узнать, размещён ли план-график: ЕИС отклонила логин или пароль ({}). Обновите «Регистрационные данные в ЕИС»",
                    info.message
                );
                store.mark_eis_credentials(send.requested_by, &login.login, false, Some(&message)).await?;
                self.retry_publication(send, &message, Some(&raw)).await
            }
            Err(e) => {
                let message = format!("Не удалось узнать, размещён ли план-график ({e})");
                self.retry_publication(send, &message, e.raw()).await
            }
        }
    }

    /// Keeps a loaded send loaded and tries again later, saying why on the timeline.
    async fn retry_publication(
        &self,
        send: &store::sends::Send,
        why: &str,
        raw: Option<&str>,
    ) -> Result<(), StoreError> {
        let delay = self.backoff(send.consecutive_failures + 1).max(self.inner.config.publication_poll_interval);
        let message = format!("{why}. Повторная попытка через {} с.", delay.as_millis().div_ceil(1000));
        let outcome = Outcome {
            status: SendStatus::Loaded,
            next_attempt_at: Some(now_ms() + ms(delay)),
            count_attempt: true,
            failed: true,
            last_error: Some(&message),
            event: Some(EventNote { message: &message, http_status: None, raw_reply: raw }),
        };
        self.inner.store.record_outcome(send.id, &self.inner.worker_id, &outcome).await?;
        Ok(())
    }
}

/// The send state a confirmation leads to, and the timeline line for it.
fn classify(c: &Confirmation) -> (SendStatus, String) {
    match c.result {
        ConfirmationResult::Processing => (SendStatus::Processing, "ЕИС приняла пакет и обрабатывает его".into()),
        ConfirmationResult::Success => {
            (SendStatus::Loaded, "ЕИС загрузила план-график в личный кабинет заказчика как проект".into())
        }
        ConfirmationResult::Failure => {
            if c.violations.iter().any(|v| v.err_code == PLAN_CREATED_IN_EIS) {
                (SendStatus::Conflict, SendStatus::Conflict.title().into())
            } else {
                let n = c.violations.len();
                (SendStatus::Rejected, format!("ЕИС отклонила план-график: ошибок {n}"))
            }
        }
    }
}
