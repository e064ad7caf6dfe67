//! The exchange state machine of one version's sending to ЕИС (PRODUCT.md §5).

use crate::plan::{Actor, OwnerRole, PlanRef};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendStatus {
    /// Written to the durable queue; not yet accepted by ЕИС (transport retries stay here).
    Queued,
    /// ЕИС accepted the packet and answered `processing`.
    Processing,
    /// ЕИС answered `success`: a draft exists in the customer's cabinet.
    Loaded,
    /// The customer placed the draft in ЕИС.
    Published,
    /// ЕИС refused the login/password, or the user lacks plan-schedule rights.
    AuthError,
    /// ЕИС found violations.
    Rejected,
    /// A plan-schedule for this period was created in ЕИС directly.
    Conflict,
    /// ЕИС refused the request itself (an HTTP 4xx other than 401/403): repeating it cannot help.
    RequestRefused,
    /// ЕИС gave no usable answer until the retry ceiling, and did not know the packet when asked.
    GaveUp,
}

impl SendStatus {
    pub const ALL: [SendStatus; 9] = [
        SendStatus::Queued,
        SendStatus::Processing,
        SendStatus::Loaded,
        SendStatus::Published,
        SendStatus::AuthError,
        SendStatus::Rejected,
        SendStatus::Conflict,
        SendStatus::RequestRefused,
        SendStatus::GaveUp,
    ];

    /// Label of a version that was never sent.
    pub const NOT_SENT_TITLE: &'static str = "Не отправлена";

    pub fn code(self) -> &'static str {
        match self {
            SendStatus::Queued => "queued",
            SendStatus::Processing => "processing",
            SendStatus::Loaded => "loaded",
            SendStatus::Published => "published",
            SendStatus::AuthError => "auth_error",
            SendStatus::Rejected => "rejected",
            SendStatus::Conflict => "conflict",
            SendStatus::RequestRefused => "request_refused",
            SendStatus::GaveUp => "gave_up",
        }
    }

    pub fn from_code(code: &str) -> Option<SendStatus> {
        SendStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn title(self) -> &'static str {
        match self {
            SendStatus::Queued => "В очереди",
            SendStatus::Processing => "Отправлена, обрабатывается в ЕИС",
            SendStatus::Loaded => "Загрузка завершена успешно",
            SendStatus::Published => "Размещена в ЕИС",
            SendStatus::AuthError => "Ошибка авторизации",
            SendStatus::Rejected => "Отклонена ЕИС",
            SendStatus::Conflict => "Отправка невозможна: план-график на этот период создан в ЕИС не из РИС",
            SendStatus::RequestRefused => "Отправка прекращена: ЕИС отклоняет запрос",
            SendStatus::GaveUp => "Отправка прекращена: ЕИС не отвечает",
        }
    }

    /// The title of a timeline entry for a failed attempt that kept this state: the state's own
    /// title would say the opposite of what happened (a loaded send whose placement could not be
    /// checked is not news of a successful load).
    pub fn failed_attempt_title(self) -> &'static str {
        match self {
            SendStatus::Loaded => "Проверка размещения в ЕИС не удалась",
            SendStatus::Queued | SendStatus::Processing => "Обмен с ЕИС не удался",
            other => other.title(),
        }
    }

    /// The exchange runner still has work to do for this send.
    pub fn is_active(self) -> bool {
        matches!(self, SendStatus::Queued | SendStatus::Processing)
    }

    /// ЕИС holds this version (as a draft or placed).
    pub fn is_in_eis(self) -> bool {
        matches!(self, SendStatus::Loaded | SendStatus::Published)
    }

    /// A final state that carries no verdict of ЕИС on the packet: ЕИС may still hold it (an
    /// upload that arrived while its reply was lost, a poll refused after the upload was taken).
    /// Before the version goes again under a new packet id, ЕИС is asked about this one.
    pub fn packet_fate_unknown(self) -> bool {
        matches!(self, SendStatus::AuthError | SendStatus::RequestRefused | SendStatus::GaveUp)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    #[error("Версия уже отправляется в ЕИС (статус «{0}»). Дождитесь результата в «Посмотреть статус отправки».")]
    InProgress(&'static str),
    #[error("Версия уже загружена в ЕИС (статус «{0}») и повторно не отправляется.")]
    AlreadyInEis(&'static str),
    #[error("Отправить на ООС можно только версию утвержденного вышестоящей организацией плана-графика")]
    NotApproved,
    #[error("Отправлять план-график в ЕИС может только специалист заказчика")]
    WrongRole,
    #[error(
        "Этот план-график размещает в ЕИС вышестоящая организация по соглашению (OA): отправляет его специалист вышестоящей организации"
    )]
    AgentSends,
    #[error("Укажите логин и пароль ЕИС")]
    MissingCredentials,
    #[error(
        "План-график на этот период ведётся в ЕИС: он создан в личном кабинете ЕИС, и ЕИС не примет на этот период версию из plangraf. Изменения вносятся в ЕИС."
    )]
    KeptInEis,
}

/// Who may send a plan-schedule's versions: for role CU, specialists of the customer; for OA,
/// specialists of the superior organization that acts for it.
pub fn check_sender(actor: Actor, plan: PlanRef, owner_role: OwnerRole) -> Result<(), SendError> {
    if !actor.roles.edits_plans() {
        return Err(SendError::WrongRole);
    }
    let sender = match owner_role {
        OwnerRole::Customer => Some(plan.org_id),
        OwnerRole::Agent => plan.superior_org_id,
    };
    match (sender == Some(actor.org_id), owner_role) {
        (true, _) => Ok(()),
        (false, OwnerRole::Agent) if actor.org_id == plan.org_id => Err(SendError::AgentSends),
        (false, _) => Err(SendError::WrongRole),
    }
}

/// May a new send of a version start, given its latest send's status? A version held by ЕИС, or
/// one being sent, is never sent again; after a refusal (credentials, violations, conflict, a
/// refused request) or when the runner gave up, the customer may try again once the cause is removed.
pub fn can_start_send(latest: Option<SendStatus>) -> Result<(), SendError> {
    match latest {
        Some(s) if s.is_active() => Err(SendError::InProgress(s.title())),
        Some(s) if s.is_in_eis() => Err(SendError::AlreadyInEis(s.title())),
        _ => Ok(()),
    }
}

/// Why version `number` cannot be sent now, in Russian; `None` when it can. `latest` is its
/// latest send's status; `previous_placed` whether ЕИС has placed the version before it and
/// given the plan its number (a change goes as `tenderPlan2020Change`, which needs that
/// number). A plan kept in ЕИС sends nothing. The one rule behind the send dialog and the
/// versions table.
pub fn send_refusal(
    plan_status: crate::PlanStatus,
    latest: Option<SendStatus>,
    number: i64,
    previous_placed: bool,
) -> Option<String> {
    if plan_status == crate::PlanStatus::KeptInEis {
        return Some(SendError::KeptInEis.to_string());
    }
    if let Err(e) = can_start_send(latest) {
        return Some(e.to_string());
    }
    if number == 0 || previous_placed {
        return None;
    }
    Some(format!(
        "Изменения нельзя отправить, пока предыдущая версия ({}) не размещена в ЕИС. Разместите её в личном кабинете ЕИС и дождитесь статуса «{}».",
        number - 1,
        SendStatus::Published.title()
    ))
}

/// What a version's packet is built against, stored with the version as text
/// (`plan_versions.packet_basis`): `new`, `change:<plan number>:<base version>`, `pending:<base version>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketBasis {
    /// The first version: `tenderPlan2020`.
    New,
    /// A change against the placed previous version: `tenderPlan2020Change`.
    Change { plan_number: String, base_version: i64 },
    /// A change whose previous version ЕИС has not placed yet: its packet is built when it is sent.
    Pending { base_version: i64 },
}

/// A stored packet basis this build cannot read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown packet basis {0:?}")]
pub struct UnknownBasis(pub String);

impl PacketBasis {
    /// The stored text.
    pub fn code(&self) -> String {
        self.to_string()
    }

    /// Reads the stored text; anything but the three forms `code` writes is an error.
    pub fn parse(text: &str) -> Result<PacketBasis, UnknownBasis> {
        let unknown = || UnknownBasis(text.to_owned());
        // Only plain digits: `+1` or `01` would not be written back the same.
        let version = |v: &str| match v.parse::<i64>() {
            Ok(n) if n >= 0 && n.to_string() == v => Ok(n),
            _ => Err(unknown()),
        };
        if text == "new" {
            return Ok(PacketBasis::New);
        }
        if let Some(v) = text.strip_prefix("pending:") {
            return Ok(PacketBasis::Pending { base_version: version(v)? });
        }
        if let Some(rest) = text.strip_prefix("change:") {
            let (plan_number, v) = rest.rsplit_once(':').ok_or_else(unknown)?;
            if plan_number.is_empty() {
                return Err(unknown());
            }
            return Ok(PacketBasis::Change { plan_number: plan_number.to_owned(), base_version: version(v)? });
        }
        Err(unknown())
    }
}

impl std::fmt::Display for PacketBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PacketBasis::New => f.write_str("new"),
            PacketBasis::Change { plan_number, base_version } => write!(f, "change:{plan_number}:{base_version}"),
            PacketBasis::Pending { base_version } => write!(f, "pending:{base_version}"),
        }
    }
}

impl std::str::FromStr for PacketBasis {
    type Err = UnknownBasis;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PacketBasis::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrgId, UserId};

    #[test]
    fn a_send_is_refused_while_one_is_under_way_or_the_previous_version_is_not_placed() {
        let approved = crate::PlanStatus::Approved;
        assert_eq!(send_refusal(approved, None, 0, false), None, "the first version needs nothing placed");
        assert_eq!(send_refusal(approved, Some(SendStatus::Rejected), 2, true), None, "a refusal may be retried");
        let kept = send_refusal(crate::PlanStatus::KeptInEis, Some(SendStatus::Conflict), 0, false);
        assert!(kept.is_some_and(|why| why.contains("ведётся в ЕИС")), "a plan kept in ЕИС sends nothing");
        let waiting = send_refusal(approved, None, 2, false).expect("a change waits for its base");
        assert!(waiting.contains("предыдущая версия (1) не размещена"), "{waiting}");
        for (status, number, placed) in [(SendStatus::Queued, 0, false), (SendStatus::Loaded, 3, true)] {
            let why = send_refusal(approved, Some(status), number, placed).expect("never sent twice");
            assert!(why.contains(status.title()), "{why}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for s in SendStatus::ALL {
            assert_eq!(SendStatus::from_code(s.code()), Some(s));
        }
    }

    #[test]
    fn who_sends() {
        use crate::plan::PlanStatus;
        use crate::role::Role;
        let plan = PlanRef { org_id: OrgId(10), superior_org_id: Some(OrgId(1)), status: PlanStatus::Approved };
        let customer = Actor { user_id: UserId(1), org_id: OrgId(10), roles: Role::CustomerSpecialist.into() };
        let superior = Actor { user_id: UserId(2), org_id: OrgId(1), roles: Role::CustomerSpecialist.into() };
        let approver = Actor { user_id: UserId(3), org_id: OrgId(1), roles: Role::Approver.into() };
        let stranger = Actor { user_id: UserId(4), org_id: OrgId(77), roles: Role::CustomerSpecialist.into() };
        assert_eq!(check_sender(customer, plan, OwnerRole::Customer), Ok(()));
        assert_eq!(check_sender(superior, plan, OwnerRole::Customer), Err(SendError::WrongRole));
        assert_eq!(check_sender(superior, plan, OwnerRole::Agent), Ok(()));
        assert_eq!(check_sender(customer, plan, OwnerRole::Agent), Err(SendError::AgentSends));
        assert_eq!(check_sender(approver, plan, OwnerRole::Agent), Err(SendError::WrongRole));
        assert_eq!(check_sender(stranger, plan, OwnerRole::Agent), Err(SendError::WrongRole));
        let orphan = PlanRef { superior_org_id: None, ..plan };
        assert_eq!(check_sender(superior, orphan, OwnerRole::Agent), Err(SendError::WrongRole));
    }

    #[test]
    fn resending_rules() {
        assert!(can_start_send(None).is_ok());
        assert!(can_start_send(Some(SendStatus::AuthError)).is_ok());
        assert!(can_start_send(Some(SendStatus::Rejected)).is_ok());
        assert!(can_start_send(Some(SendStatus::Conflict)).is_ok());
        assert!(can_start_send(Some(SendStatus::RequestRefused)).is_ok());
        assert!(can_start_send(Some(SendStatus::GaveUp)).is_ok());
        assert!(matches!(can_start_send(Some(SendStatus::Queued)), Err(SendError::InProgress(_))));
        assert!(matches!(can_start_send(Some(SendStatus::Processing)), Err(SendError::InProgress(_))));
        assert!(matches!(can_start_send(Some(SendStatus::Loaded)), Err(SendError::AlreadyInEis(_))));
        assert!(matches!(can_start_send(Some(SendStatus::Published)), Err(SendError::AlreadyInEis(_))));
    }

    #[test]
    fn packet_basis_reads_the_stored_text_and_writes_it_back() {
        let change = PacketBasis::Change { plan_number: "202603722001684001".into(), base_version: 3 };
        // The texts versions were stored with before the type existed.
        assert_eq!(PacketBasis::parse("new"), Ok(PacketBasis::New));
        assert_eq!(PacketBasis::parse("pending:0"), Ok(PacketBasis::Pending { base_version: 0 }));
        assert_eq!(PacketBasis::parse("change:202603722001684001:3"), Ok(change.clone()));
        for basis in [PacketBasis::New, PacketBasis::Pending { base_version: 12 }, change] {
            assert_eq!(PacketBasis::parse(&basis.code()), Ok(basis.clone()), "{basis}");
        }
        assert_eq!(PacketBasis::Pending { base_version: 7 }.code(), "pending:7");
        for bad in [
            "",
            "New",
            "new ",
            "pending",
            "pending:",
            "pending:x",
            "pending:+1",
            "pending:01",
            "pending:-1",
            "change:1",
            "change::2",
            "change:2026:",
            "replace:1",
            "pending:99999999999999999999",
        ] {
            assert_eq!(PacketBasis::parse(bad), Err(UnknownBasis(bad.to_owned())), "{bad:?}");
        }
    }
}
