//! Reference data (НСИ) the position forms need, from the database (`store::nsi`): the kinds of
//! special purchase and the reasons of a position change. Only actual records can be chosen.

use crate::AppState;
use crate::error::AppResult;
use domain::plan::SpecialPurchase;
use store::nsi::Catalog;

/// More than any of these small catalogs holds, so that the lists are whole.
const WHOLE_LIST: u32 = 1000;

async fn list(state: &AppState, catalog: Catalog) -> AppResult<Vec<(String, String)>> {
    Ok(state.store.reference_search(catalog, "", WHOLE_LIST).await?.into_iter().map(|i| (i.code, i.name)).collect())
}

async fn actual_name(state: &AppState, catalog: Catalog, code: &str) -> AppResult<Option<String>> {
    let code = code.trim();
    if code.is_empty() {
        return Ok(None);
    }
    Ok(state.store.reference_get(catalog, code).await?.filter(|i| i.actual).map(|i| i.name))
}

/// The kinds a special purchase can have, as `(code, name)`.
pub async fn special_purchases(state: &AppState) -> AppResult<Vec<(String, String)>> {
    list(state, Catalog::SpecialPurchase).await
}

/// The special purchase kind of `code`, if НСИ knows it as actual.
pub async fn special_purchase(state: &AppState, code: &str) -> AppResult<Option<SpecialPurchase>> {
    Ok(actual_name(state, Catalog::SpecialPurchase, code)
        .await?
        .map(|name| SpecialPurchase { code: code.trim().to_owned(), name }))
}

/// The reasons of a position change, as `(code, name)`.
pub async fn change_reasons(state: &AppState) -> AppResult<Vec<(String, String)>> {
    list(state, Catalog::ChangeReason).await
}

pub async fn change_reason_name(state: &AppState, code: &str) -> AppResult<Option<String>> {
    actual_name(state, Catalog::ChangeReason, code).await
}
