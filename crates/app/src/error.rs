//! One error type for every use case. Each variant is something a person or a client can act
//! on, with a Russian message; `Internal` keeps the cause chain for the log and shows nothing
//! of it.

use domain::plan::{FieldError, PlanError};

/// Why a use case refused: the caller may not do it (403), the document's state forbids it now
/// (409), or its content fails the checks (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotAllowed,
    State,
    Content,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused with a reason; for failed pre-flight checks, with the findings.
    #[error("{message}")]
    Refused { refusal: Refusal, message: String, findings: Vec<domain::Finding> },
    /// The input has errors, per field.
    #[error("{message}")]
    Fields { message: String, errors: Vec<FieldError> },
    /// Another writer changed the document since the caller read it; nothing was saved.
    #[error("Документ изменён другим пользователем; изменения не сохранены")]
    Stale,
    /// ЕИС sending refused for a reason the user can act on (credentials, state of the version).
    #[error("{0}")]
    SendRefused(String),
    /// ЕИС did not give what was asked: it refused, failed, or is busy; the message says what
    /// to do.
    #[error("{0}")]
    Eis(String),
    /// Absent, or not readable by the caller (which must not learn that it exists).
    #[error("Не найдено")]
    NotFound,
    /// A fault of plangraf or its database; the user sees a generic message.
    #[error("Внутренняя ошибка")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn refused(refusal: Refusal, message: impl Into<String>) -> Error {
        Error::Refused { refusal, message: message.into(), findings: Vec::new() }
    }

    pub fn not_allowed(message: impl Into<String>) -> Error {
        Error::refused(Refusal::NotAllowed, message)
    }

    pub fn fields(message: impl Into<String>, errors: Vec<FieldError>) -> Error {
        Error::Fields { message: message.into(), errors }
    }

    /// One field's error, the message also being the summary.
    pub fn field(field: &'static str, message: impl Into<String>) -> Error {
        let message = message.into();
        Error::Fields { message: message.clone(), errors: vec![FieldError { field, message }] }
    }

    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Internal(e.into())
    }

    /// The cause chain, outermost first, for the log.
    pub fn chain(&self) -> String {
        let mut out = match self {
            Error::Internal(cause) => cause.to_string(),
            other => other.to_string(),
        };
        let mut next = match self {
            Error::Internal(cause) => cause.source(),
            _ => None,
        };
        while let Some(cause) = next {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            next = cause.source();
        }
        out
    }
}

impl From<store::StoreError> for Error {
    fn from(e: store::StoreError) -> Error {
        match e {
            store::StoreError::Conflict => Error::Stale,
            other => Error::Internal(Box::new(other)),
        }
    }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Error {
        let refusal = match e {
            PlanError::ForeignOrganization
            | PlanError::WrongRole { .. }
            | PlanError::NotSuperior
            | PlanError::OwnOrganization => Refusal::NotAllowed,
            PlanError::WrongState { .. } => Refusal::State,
            PlanError::EmptyComment => return Error::field("comment", e.to_string()),
            PlanError::ChecksFailed(_) => Refusal::Content,
        };
        Error::refused(refusal, e.to_string())
    }
}

impl From<domain::exchange::SendError> for Error {
    fn from(e: domain::exchange::SendError) -> Error {
        Error::not_allowed(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Error::internal(Outer(std::io::Error::other("disk full")));
        assert_eq!(e.chain(), "outer: disk full");
        assert_eq!(e.to_string(), "Внутренняя ошибка");
    }

    #[test]
    fn a_stale_write_is_not_an_internal_error() {
        assert!(matches!(Error::from(store::StoreError::Conflict), Error::Stale));
    }

    #[test]
    fn plan_refusals_keep_their_kind() {
        let kind = |e: PlanError| match Error::from(e) {
            Error::Refused { refusal, .. } => Some(refusal),
            _ => None,
        };
        assert_eq!(kind(PlanError::NotSuperior), Some(Refusal::NotAllowed));
        assert_eq!(kind(PlanError::WrongState { action: "a", status: "b" }), Some(Refusal::State));
        assert_eq!(kind(PlanError::ChecksFailed(2)), Some(Refusal::Content));
        assert!(matches!(Error::from(PlanError::EmptyComment), Error::Fields { .. }));
    }
}
