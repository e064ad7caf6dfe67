//! What a failed exchange with ЕИС means: whether it may heal, and how to say it in Russian.

use eis::client::ClientError;

/// Whether an exchange that failed may succeed if repeated: transport failures (timeouts
/// included), 5xx, 408 and 429, and a 200 that is not the expected reply (an HTML maintenance
/// page is what ЕИС outages look like). Any other 4xx will not change.
pub(crate) fn may_heal(e: &ClientError) -> bool {
    match e {
        ClientError::Server { status, .. } => *status >= 500 || matches!(status, 408 | 429),
        ClientError::Malformed { .. } => true,
        other => other.is_retryable(),
    }
}

/// The HTTP status of a 4xx that will not change, when `e` is one (401/403 have their own state).
pub(crate) fn lasting_refusal(e: &ClientError) -> Option<u16> {
    match e {
        ClientError::Server { status, .. } if (400..500).contains(status) && !may_heal(e) => Some(*status),
        _ => None,
    }
}

/// What ЕИС said in a refusal, for people: its `errorInfo` when there is one, else the start of the body.
pub(crate) fn refusal_text(raw: &str) -> String {
    if let Ok(info) = eis::reply::read_error_info(raw) {
        return format!("«{}» (код {})", info.message, info.code);
    }
    let text: String = raw.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
    if text.is_empty() { "ответ без текста".into() } else { format!("«{text}»") }
}

/// A failed exchange in a few Russian words.
pub(crate) fn failure_ru(e: &ClientError) -> String {
    match e {
        ClientError::Transport(t) => format!("Нет связи с ЕИС ({t})"),
        ClientError::Server { status, .. } if *status >= 500 => {
            format!("ЕИС ответила ошибкой сервера (код ответа {status})")
        }
        ClientError::Server { status, raw } => {
            format!("ЕИС ответила неожиданно (код ответа {status}): {}", refusal_text(raw))
        }
        ClientError::Malformed { reason, .. } => format!("Ответ ЕИС не распознан ({reason})"),
        ClientError::Unauthorized { info, .. } | ClientError::Forbidden { info, .. } => {
            format!("ЕИС отказала в авторизации: {} (код {})", info.message, info.code)
        }
        other => format!("Сбой обмена с ЕИС ({other})"),
    }
}

pub(crate) fn http_status_of(e: &ClientError) -> Option<u16> {
    match e {
        ClientError::Server { status, .. } => Some(*status),
        ClientError::Unauthorized { .. } => Some(401),
        ClientError::Forbidden { .. } => Some(403),
        ClientError::Malformed { .. } => Some(200),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
