//! What text plangraf accepts from people and clients.
//!
//! Control characters (NUL, the other C0 codes but tab, line feed and carriage return, DEL, the
//! C1 codes) and the Unicode non-characters U+FFFE/U+FFFF have no place in a plan-schedule:
//! XML 1.0 cannot carry most of them, so ЕИС would refuse the packet or show «�». They are
//! refused where text enters, with a message that says what to do.

/// The first character of `s` that plangraf does not accept, if any.
pub fn forbidden_char(s: &str) -> Option<char> {
    s.chars().find(|c| is_forbidden(*c))
}

pub fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
}

/// The Russian message for a forbidden character in a field.
pub fn forbidden_message(c: char) -> String {
    format!(
        "Текст содержит недопустимый невидимый управляющий символ (код U+{:04X}): такие символы не принимает ЕИС. \
         Удалите его — например, наберите текст заново вместо копирования — и сохраните ещё раз.",
        c as u32
    )
}

/// Checks one text value: `Err` with the Russian message when it holds a forbidden character.
pub fn check(s: &str) -> Result<(), String> {
    match forbidden_char(s) {
        Some(c) => Err(forbidden_message(c)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_controls_and_keeps_ordinary_text() {
        assert_eq!(forbidden_char("Поставка\u{0}учебников"), Some('\u{0}'));
        assert_eq!(forbidden_char("a\u{1b}[31m"), Some('\u{1b}'));
        assert_eq!(forbidden_char("a\u{7f}"), Some('\u{7f}'));
        assert_eq!(forbidden_char("a\u{85}"), Some('\u{85}'));
        assert_eq!(forbidden_char("a\u{ffff}"), Some('\u{ffff}'));
        assert_eq!(forbidden_char("Строка 1\r\nСтрока 2\tи «ёлки» № 5 — 1 250 000,50 ₽"), None);
        assert!(check("\u{0}").unwrap_err().contains("U+0000"));
    }
}
