//! Reference data (НСИ) the pages need: special purchase kinds and change reasons.

use crate::AppState;
use crate::error::AppResult;
use domain::plan::SpecialPurchase;

const SPECIAL_PURCHASES: [(&str, &str); 1] = [("P4_1_93", "Закупки в соответствии с п. 4 ч. 1 ст. 93 Федерального закона № 44-ФЗ")];

const CHANGE_REASONS: [(&str, &str); 1] =
    [("9", "Возникновение иных обстоятельств, предвидеть которые при утверждении плана-графика было невозможно")];

/// The kinds a special purchase can have, as `(code, name)`.
pub async fn special_purchases(_state: &AppState) -> AppResult<Vec<(String, String)>> {
    Ok(SPECIAL_PURCHASES.iter().map(|(c, n)| ((*c).to_owned(), (*n).to_owned())).collect())
}

/// The special purchase kind of `code`, if НСИ knows it.
pub async fn special_purchase(state: &AppState, code: &str) -> AppResult<Option<SpecialPurchase>> {
    let code = code.trim();
    if code.is_empty() {
        return Ok(None);
    }
    Ok(special_purchases(state).await?.into_iter().find(|(c, _)| c == code).map(|(code, name)| SpecialPurchase { code, name }))
}

/// The reasons of a position change, as `(code, name)`.
pub async fn change_reasons(_state: &AppState) -> AppResult<Vec<(String, String)>> {
    Ok(CHANGE_REASONS.iter().map(|(c, n)| ((*c).to_owned(), (*n).to_owned())).collect())
}

pub async fn change_reason_name(state: &AppState, code: &str) -> AppResult<Option<String>> {
    let code = code.trim();
    Ok(change_reasons(state).await?.into_iter().find(|(c, _)| c == code).map(|(_, n)| n))
}
