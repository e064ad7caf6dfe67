//! The API's query strings: parsed into pairs once, then each parameter read by the rule
//! `openapi.json` states for it. A parameter that breaks its rule is refused with a Russian
//! message (the handler answers 400 with it); an absent one takes its default. Nothing here
//! panics, whatever the input: the fuzz target `query` compiles this file on its own (it
//! depends on `serde_urlencoded` and `domain` only).

use domain::ids::PlanId;

/// The last page number a paged list answers (`openapi.json`'s `maximum` of `page`).
pub const MAX_PAGE: i64 = 1_000_000;

/// The pairs of one query string, in order (the first of a repeated name counts).
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// `raw` is the text after «?» (none when absent); a malformed one is refused.
    pub fn parse(raw: Option<&str>) -> Result<Query, String> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map(|pairs| Query { pairs })
            .map_err(|_| "Строка запроса после «?» записана некорректно".to_owned())
    }

    /// A parameter as text, trimmed; `None` when absent (an empty value is not an absent one).
    pub fn text(&self, name: &str) -> Option<String> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned())
    }

    /// A text parameter of at most `max` characters; absent is empty.
    pub fn bounded_text(&self, name: &str, max: usize) -> Result<String, String> {
        let value = self.text(name).unwrap_or_default();
        if value.chars().count() > max {
            return Err(format!("Параметр {name} длиннее {max} символов: сократите его"));
        }
        Ok(value)
    }

    /// An integer parameter; `None` when absent.
    pub fn int(&self, name: &str) -> Result<Option<i64>, String> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => {
                v.parse().map(Some).map_err(|_| format!("Параметр {name} должен быть целым числом, получено «{v}»"))
            }
        }
    }

    /// `page`: from 1 to [`MAX_PAGE`], 1 when absent.
    pub fn page(&self) -> Result<i64, String> {
        let page = self.int("page")?.unwrap_or(1);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(format!("Параметр page должен быть от 1 до {MAX_PAGE}, получено {page}"));
        }
        Ok(page)
    }

    /// `limit`: from 1 to `max`, `default` when absent.
    pub fn limit(&self, default: i64, max: i64) -> Result<i64, String> {
        let limit = self.int("limit")?.unwrap_or(default);
        if !(1..=max).contains(&limit) {
            return Err(format!("Параметр limit должен быть от 1 до {max}, получено {limit}"));
        }
        Ok(limit)
    }

    /// A `true`/`false` parameter; absent is `false`, anything else is refused.
    pub fn flag(&self, name: &str) -> Result<bool, String> {
        match self.text(name).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(format!("Параметр {name} может быть true или false, получено «{other}»")),
        }
    }

    /// `cursor`, read by `read`; absent is `None`, one this server did not give is refused.
    pub fn cursor<T>(&self, read: impl Fn(&str) -> Option<T>) -> Result<Option<T>, String> {
        match self.text("cursor") {
            None => Ok(None),
            Some(c) => read(&c).map(Some).ok_or_else(|| {
                "Параметр cursor не распознан: возьмите его из next_cursor предыдущего ответа".to_owned()
            }),
        }
    }
}

/// The cursor of the plan list's page after the given plan.
pub fn plan_cursor_after(id: PlanId) -> String {
    format!("c{:x}", id.get())
}

/// The plan id a plan list cursor continues after; `None` if it does not have the documented
/// form. Every cursor of that form is taken: one past the last plan gives an empty page.
pub fn plan_cursor_id(cursor: &str) -> Option<PlanId> {
    let hex = cursor.strip_prefix('c').filter(|h| (1..=16).contains(&h.len()))?;
    if !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let id = u64::from_str_radix(hex, 16).ok()?;
    Some(PlanId(i64::try_from(id).unwrap_or(i64::MAX)))
}

/// The opaque cursor of the positions page after the given purchase number.
pub fn position_cursor_after(number: u16) -> String {
    format!("p{:04x}", u32::from(number) ^ 0x5a5a)
}

/// The purchase number a positions cursor continues after; `None` if it is not one this
/// server gave.
pub fn position_cursor_number(cursor: &str) -> Option<u16> {
    let hex = cursor.strip_prefix('p').filter(|h| h.len() == 4)?;
    u16::try_from(u32::from_str_radix(hex, 16).ok()? ^ 0x5a5a).ok()
}
