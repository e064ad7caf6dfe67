//! Organizations.

use crate::{Result, Store, StoreError, now_ms};
use domain::OrgType;
use domain::ids::OrgId;
use domain::org::{Inn, Kpp, SpzCode};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub short_name: String,
    pub superior_id: Option<OrgId>,
    pub spz_code: SpzCode,
    pub inn: Inn,
    pub kpp: Kpp,
    pub org_type: OrgType,
    pub budget_level: u8,
    pub oktmo: String,
}

/// What an administrator (or the demo loader) supplies: the identifiers are parsed by the
/// caller, so nothing unchecked is written.
#[derive(Debug, Clone)]
pub struct NewOrganization<'a> {
    pub name: &'a str,
    pub short_name: &'a str,
    pub superior_id: Option<OrgId>,
    pub spz_code: SpzCode,
    pub inn: Inn,
    pub kpp: Kpp,
    pub org_type: OrgType,
    pub budget_level: u8,
    pub oktmo: &'a str,
}

macro_rules! org_columns {
    () => {
        "id, name, short_name, superior_id, spz_code, inn, kpp, org_type, budget_level, oktmo"
    };
}

/// Reads an identifier column through its `parse`. A value that does not parse was not written
/// by plangraf (every way in parses first), so it is reported as corrupt rather than shown.
fn parsed<T, E: std::fmt::Display>(
    r: &AnyRow,
    column: &str,
    parse: impl Fn(&str) -> std::result::Result<T, E>,
) -> Result<T> {
    let id: i64 = r.try_get("id")?;
    let raw: String = r.try_get(column)?;
    parse(&raw).map_err(|e| StoreError::Corrupt(format!("organization {id}, {column} «{raw}»: {e}")))
}

pub(crate) fn from_row(r: &AnyRow) -> Result<Organization> {
    let org_type: String = r.try_get("org_type")?;
    let level: i64 = r.try_get("budget_level")?;
    Ok(Organization {
        id: OrgId(r.try_get("id")?),
        name: r.try_get("name")?,
        short_name: r.try_get("short_name")?,
        superior_id: r.try_get::<Option<i64>, _>("superior_id")?.map(OrgId),
        spz_code: parsed(r, "spz_code", SpzCode::parse)?,
        inn: parsed(r, "inn", Inn::parse)?,
        kpp: parsed(r, "kpp", Kpp::parse)?,
        org_type: OrgType::parse(&org_type).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        budget_level: u8::try_from(level).map_err(|_| StoreError::Corrupt("budget_level".into()))?,
        oktmo: r.try_get("oktmo")?,
    })
}

impl Store {
    /// Creates the organization, or returns the existing one with the same СПЗ code unchanged.
    pub async fn ensure_organization(&self, o: &NewOrganization<'_>) -> Result<Organization> {
        if let Some(existing) = self.organization_by_spz(o.spz_code.as_str()).await? {
            return Ok(existing);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO organizations (name, short_name, superior_id, spz_code, inn, kpp, org_type, budget_level, oktmo, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(o.name)
        .bind(o.short_name)
        .bind(o.superior_id.map(OrgId::get))
        .bind(o.spz_code.as_str())
        .bind(o.inn.as_str())
        .bind(o.kpp.as_str())
        .bind(o.org_type.code())
        .bind(i64::from(o.budget_level))
        .bind(o.oktmo)
        .bind(now_ms())
        .fetch_one(self.pool())
        .await?;
        self.organization(OrgId(id)).await?.ok_or_else(|| StoreError::Corrupt("organization vanished".into()))
    }

    pub async fn organization(&self, id: OrgId) -> Result<Option<Organization>> {
        let row = sqlx::query(concat!("SELECT ", org_columns!(), " FROM organizations WHERE id = $1"))
            .bind(id.get())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn organization_by_spz(&self, spz: &str) -> Result<Option<Organization>> {
        let row = sqlx::query(concat!("SELECT ", org_columns!(), " FROM organizations WHERE spz_code = $1"))
            .bind(spz)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn organizations(&self) -> Result<Vec<Organization>> {
        let rows = sqlx::query(concat!("SELECT ", org_columns!(), " FROM organizations ORDER BY name"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The organizations whose direct superior is `org`, by short name.
    pub async fn subordinate_organizations(&self, org: OrgId) -> Result<Vec<Organization>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            org_columns!(),
            " FROM organizations WHERE superior_id = $1 ORDER BY short_name, id"
        ))
        .bind(org.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}

/// An organization as a region's list gives it (`app::onboarding`), its superior by СПЗ code:
/// in the same list ahead of it, or already here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOrganization {
    pub name: String,
    pub short_name: String,
    pub superior_spz: Option<SpzCode>,
    pub spz_code: SpzCode,
    pub inn: Inn,
    pub kpp: Kpp,
    pub org_type: OrgType,
    pub budget_level: u8,
    pub oktmo: String,
}

/// What a load of a list did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListLoaded {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl Store {
    /// Creates or updates, in one transaction, the organizations of a list, superiors before
    /// their subordinates (the caller orders them), matched by СПЗ code: a repeated load
    /// updates and never duplicates. Each creation and each change goes to the audit journal.
    pub async fn load_organizations(
        &self,
        listed: &[ListedOrganization],
        actor: Option<domain::ids::UserId>,
        actor_org: Option<OrgId>,
    ) -> Result<ListLoaded> {
        self.load_organizations_observed(listed, actor, actor_org, &|_| {}).await
    }

    /// [`Store::load_organizations`], telling `progress` how many records are written so far
    /// (inside the transaction: it must not wait).
    pub async fn load_organizations_observed(
        &self,
        listed: &[ListedOrganization],
        actor: Option<domain::ids::UserId>,
        actor_org: Option<OrgId>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<ListLoaded> {
        let mut tx = self.write_tx().await?;
        let mut loaded = ListLoaded::default();
        let mut ids: std::collections::HashMap<String, OrgId> = std::collections::HashMap::new();
        for (done, o) in listed.iter().enumerate() {
            if done % 100 == 0 {
                progress(done);
            }
            let superior_id = match &o.superior_spz {
                Some(spz) => match ids.get(spz.as_str()) {
                    Some(id) => Some(*id),
                    None => {
                        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM organizations WHERE spz_code = $1")
                            .bind(spz.as_str())
                            .fetch_optional(&mut *tx)
                            .await?;
                        let id = id.ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "superior {} of {} not found",
                                spz.as_str(),
                                o.spz_code.as_str()
                            ))
                        })?;
                        Some(OrgId(id))
                    }
                },
                None => None,
            };
            let existing = sqlx::query(concat!("SELECT ", org_columns!(), " FROM organizations WHERE spz_code = $1"))
                .bind(o.spz_code.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let existing = existing.as_ref().map(from_row).transpose()?;
            let wanted = Organization {
                id: existing.as_ref().map_or(OrgId(0), |e| e.id),
                name: o.name.clone(),
                short_name: o.short_name.clone(),
                superior_id,
                spz_code: o.spz_code.clone(),
                inn: o.inn.clone(),
                kpp: o.kpp.clone(),
                org_type: o.org_type,
                budget_level: o.budget_level,
                oktmo: o.oktmo.clone(),
            };
            let (id, action, details) = match existing {
                Some(e) if e == wanted => {
                    loaded.unchanged += 1;
                    ids.insert(o.spz_code.as_str().to_owned(), e.id);
                    continue;
                }
                Some(e) => {
                    sqlx::query(
                        "UPDATE organizations SET name = $1, short_name = $2, superior_id = $3, inn = $4, kpp = $5, \
                         org_type = $6, budget_level = $7, oktmo = $8, row_version = row_version + 1 WHERE id = $9",
                    )
                    .bind(&o.name)
                    .bind(&o.short_name)
                    .bind(superior_id.map(OrgId::get))
                    .bind(o.inn.as_str())
                    .bind(o.kpp.as_str())
                    .bind(o.org_type.code())
                    .bind(i64::from(o.budget_level))
                    .bind(&o.oktmo)
                    .bind(e.id.get())
                    .execute(&mut *tx)
                    .await?;
                    if e.superior_id != superior_id {
                        // Its plans move to the new superior's counts in the same transaction.
                        crate::org_admin::move_tallies(&mut tx, e.id, e.superior_id, superior_id).await?;
                    }
                    loaded.updated += 1;
                    (e.id, "Обновлена из сводного перечня заказчиков", changes(&e, &wanted).join(", "))
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO organizations (name, short_name, superior_id, spz_code, inn, kpp, org_type, \
                         budget_level, oktmo, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                    )
                    .bind(&o.name)
                    .bind(&o.short_name)
                    .bind(superior_id.map(OrgId::get))
                    .bind(o.spz_code.as_str())
                    .bind(o.inn.as_str())
                    .bind(o.kpp.as_str())
                    .bind(o.org_type.code())
                    .bind(i64::from(o.budget_level))
                    .bind(&o.oktmo)
                    .bind(now_ms())
                    .fetch_one(&mut *tx)
                    .await?;
                    loaded.created += 1;
                    (OrgId(id), "Загружена из сводного перечня заказчиков", format!("СПЗ {}", o.spz_code.as_str()))
                }
            };
            ids.insert(o.spz_code.as_str().to_owned(), id);
            crate::audit::record(&mut *tx, actor, actor_org, "organization", Some(id.get()), action, &details).await?;
        }
        tx.commit().await?;
        progress(listed.len());
        Ok(loaded)
    }
}

/// The names of the fields that differ, in Russian.
pub fn changes(before: &Organization, after: &Organization) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut differs = |same: bool, name| {
        if !same {
            out.push(name);
        }
    };
    differs(before.name == after.name, "наименование");
    differs(before.short_name == after.short_name, "сокращенное наименование");
    differs(before.superior_id == after.superior_id, "вышестоящая организация");
    differs(before.inn == after.inn, "ИНН");
    differs(before.kpp == after.kpp, "КПП");
    differs(before.org_type == after.org_type, "тип организации");
    differs(before.budget_level == after.budget_level, "уровень бюджета");
    differs(before.oktmo == after.oktmo, "ОКТМО");
    out
}
