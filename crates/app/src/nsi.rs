//! Reference data (НСИ): the lists the position forms need (special purchase kinds, change
//! reasons; only actual records can be chosen) and the pickers' search. Loading a catalog from
//! an ЕИС file is administration (`users::Administration::load_nsi`).

use crate::{Error, Result, Workflow};
use domain::plan::SpecialPurchase;
use store::nsi::Catalog;

/// More than any of the small catalogs holds, so that the lists are whole.
const WHOLE_LIST: u32 = 1000;
/// The longest text the pickers' search takes, in characters.
pub const MAX_REFERENCE_QUERY: usize = 100;

impl Workflow {
    async fn nsi_list(&self, catalog: Catalog) -> Result<Vec<(String, String)>> {
        Ok(self.store.reference_search(catalog, "", WHOLE_LIST).await?.into_iter().map(|i| (i.code, i.name)).collect())
    }

    async fn actual_name(&self, catalog: Catalog, code: &str) -> Result<Option<String>> {
        let code = code.trim();
        if code.is_empty() {
            return Ok(None);
        }
        Ok(self.store.reference_get(catalog, code).await?.filter(|i| i.actual).map(|i| i.name))
    }

    /// The kinds a special purchase can have, as `(code, name)`.
    pub async fn special_purchases(&self) -> Result<Vec<(String, String)>> {
        self.nsi_list(Catalog::SpecialPurchase).await
    }

    /// The special purchase kind of `code`, if НСИ knows it as actual.
    pub async fn special_purchase(&self, code: &str) -> Result<Option<SpecialPurchase>> {
        Ok(self
            .actual_name(Catalog::SpecialPurchase, code)
            .await?
            .map(|name| SpecialPurchase { code: code.trim().to_owned(), name }))
    }

    /// The reasons of a position change, as `(code, name)`.
    pub async fn change_reasons(&self) -> Result<Vec<(String, String)>> {
        self.nsi_list(Catalog::ChangeReason).await
    }

    pub async fn change_reason_name(&self, code: &str) -> Result<Option<String>> {
        self.actual_name(Catalog::ChangeReason, code).await
    }

    /// The pickers' search: up to `limit` actual records whose code starts with the query or
    /// whose name has every word of it.
    /// A query longer than [`MAX_REFERENCE_QUERY`] characters is refused, not cut.
    pub async fn search_reference(&self, catalog: Catalog, query: &str, limit: u32) -> Result<Vec<(String, String)>> {
        if query.chars().count() > MAX_REFERENCE_QUERY {
            return Err(Error::field(
                "q",
                format!("Строка поиска — не более {MAX_REFERENCE_QUERY} символов: сократите её"),
            ));
        }
        Ok(self.store.reference_search(catalog, query, limit).await?.into_iter().map(|i| (i.code, i.name)).collect())
    }
}
