//! Rules for user accounts: logins, names and passwords, the same wherever an account is made
//! or changed (command line today, administration pages later).

/// The longest login.
pub const MAX_LOGIN_CHARS: usize = 64;
/// The shortest password a person may set.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Argon2 hashes any length, but nobody types more; a bound keeps the work per check fixed.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A login: 1 to 64 Latin letters, digits, `.`, `_`, `-` or `@`.
pub fn check_login(login: &str) -> Result<(), String> {
    if login.is_empty() {
        return Err("Логин не может быть пустым.".into());
    }
    if login.chars().count() > MAX_LOGIN_CHARS {
        return Err(format!("Логин не длиннее {MAX_LOGIN_CHARS} символов."));
    }
    if !login.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')) {
        return Err("Логин может содержать только латинские буквы, цифры и знаки . _ - @".into());
    }
    Ok(())
}

/// A full name: not empty, at most 200 characters, no control characters.
pub fn check_full_name(name: &str) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("Укажите ФИО пользователя.".into());
    }
    if name.chars().count() > 200 {
        return Err("ФИО не длиннее 200 символов.".into());
    }
    crate::text::check(name)
}

/// A new password: 10 to 256 characters, not the login, not one repeated character, no
/// control characters.
pub fn check_new_password(login: &str, password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!("Пароль должен быть не короче {MIN_PASSWORD_CHARS} символов."));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(format!("Пароль не длиннее {MAX_PASSWORD_CHARS} символов."));
    }
    if !login.is_empty() && password.to_lowercase().contains(&login.to_lowercase()) {
        return Err("Пароль не должен совпадать с логином или содержать его.".into());
    }
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return Err("Пароль не может состоять из одного повторяющегося символа.".into());
    }
    crate::text::check(password)
}

/// The longest e-mail address accepted (RFC 5321's path limit less the brackets).
pub const EMAIL_MAX: usize = 254;

/// Reads an e-mail address as typed: empty is none; otherwise one `local@domain` of the usual
/// characters, the domain with a dot, at most [`EMAIL_MAX`] characters. Spaces, line breaks
/// and anything that could end a mail header are refused.
pub fn parse_email(typed: &str) -> std::result::Result<Option<String>, &'static str> {
    let s = typed.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() > EMAIL_MAX {
        return Err("Адрес электронной почты слишком длинный: не больше 254 знаков");
    }
    let wrong = "Адрес электронной почты указан неверно: нужен адрес вида name@example.ru";
    let (local, domain) = s.split_once('@').ok_or(wrong)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !local_ok || !domain_ok {
        return Err(wrong);
    }
    Ok(Some(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        assert!(check_login("zakazchik").is_ok());
        assert!(check_login("i.ivanov@school1").is_ok());
        assert!(check_login("").is_err());
        assert!(check_login(" ").is_err());
        assert!(check_login("иванов").is_err());
        assert!(check_login(&"a".repeat(65)).is_err());
    }

    #[test]
    fn names() {
        assert!(check_full_name("Иванова Мария Петровна").is_ok());
        assert!(check_full_name("   ").is_err());
        assert!(check_full_name("Иван\u{0}").is_err());
    }

    #[test]
    fn passwords() {
        assert!(check_new_password("ivanov", "Снег-на-крыше-2026").is_ok());
        assert!(check_new_password("ivanov", "short").is_err());
        assert!(check_new_password("ivanov", "ivanov2026!").is_err());
        assert!(check_new_password("ivanov", "aaaaaaaaaaaa").is_err());
        assert!(check_new_password("ivanov", &"x1".repeat(200)).is_err());
        assert!(check_new_password("ivanov", "пароль\u{0}пароль").is_err());
    }

    #[test]
    fn addresses_are_checked() {
        assert_eq!(parse_email("  ivanova@school5.example.ru "), Ok(Some("ivanova@school5.example.ru".into())));
        assert_eq!(parse_email(""), Ok(None));
        assert_eq!(parse_email("   "), Ok(None));
        for bad in [
            "ivanova",
            "ivanova@",
            "@example.ru",
            "ivanova@localhost",
            "iva nova@example.ru",
            "ivanova@example.ru\r\nBcc: x@example.ru",
            "a..b@example.ru",
            "ivanova@-example.ru",
            "иванова@example.ru",
            "a@b@example.ru",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.ru", "a".repeat(250));
        assert!(parse_email(&long).is_err());
    }
}
