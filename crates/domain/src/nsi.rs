//! Reference data (НСИ) as plangraf knows it: which catalogs it keeps and what one record is.
//! `eis::nsi` reads them from ЕИС exports, `store` keeps and searches them; both use these
//! types, so a record read from ЕИС goes into the store as it is.

/// The catalogs plangraf keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Catalog {
    Okpd2,
    Kvr,
    ChangeReason,
    SpecialPurchase,
    Kbk,
}

impl Catalog {
    pub const ALL: [Catalog; 5] =
        [Catalog::Okpd2, Catalog::Kvr, Catalog::ChangeReason, Catalog::SpecialPurchase, Catalog::Kbk];

    /// plangraf's own short code (URLs, the database, `data-nsi` attributes).
    pub fn code(self) -> &'static str {
        match self {
            Catalog::Okpd2 => "okpd2",
            Catalog::Kvr => "kvr",
            Catalog::ChangeReason => "change_reason",
            Catalog::SpecialPurchase => "special_purchase",
            Catalog::Kbk => "kbk",
        }
    }

    pub fn from_code(code: &str) -> Option<Catalog> {
        Catalog::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn title(self) -> &'static str {
        match self {
            Catalog::Okpd2 => "ОКПД2 — классификатор продукции по видам экономической деятельности",
            Catalog::Kvr => "КВР — коды видов расходов",
            Catalog::ChangeReason => "Причины внесения изменений в позиции плана-графика",
            Catalog::SpecialPurchase => "Типы особых закупок",
            Catalog::Kbk => "КБК — коды бюджетной классификации",
        }
    }
}

/// One record of a catalog, as read from ЕИС and as loaded into the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub code: String,
    /// May be empty: a change reason's `shortName` is optional in ЕИС.
    pub name: String,
    pub parent_code: Option<String>,
    /// ЕИС's `actual`: whether the record may be used in new documents.
    pub actual: bool,
}
