//! Reference data (НСИ): ОКПД2, КВР, change reasons, special purchase types and КБК in one
//! table, `reference_items`, keyed by catalog and code.
//!
//! * A load replaces a catalog in one write transaction and is idempotent. A record missing
//!   from a full load is marked not actual, never deleted: plans refer to it.
//! * Search matches a code prefix (dots ignored, so «1723» finds 17.23.1) or every word of the
//!   query inside the name, case-insensitively. The lowercased forms are computed here and
//!   stored, because SQLite's `lower()` folds ASCII only.
//! * plangraf ships a starter set (`crates/store/nsi/*.tsv`); [`Store::open`] loads it into a
//!   catalog that is still empty, so it never overwrites data loaded from ЕИС.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, Time, is_unique_violation, now_ms, time_at};

pub use domain::nsi::{Catalog, Entry};

/// The starter set shipped with plangraf.
fn starter_source(catalog: Catalog) -> &'static str {
    match catalog {
        Catalog::Okpd2 => include_str!("../nsi/okpd2.tsv"),
        Catalog::Kvr => include_str!("../nsi/kvr.tsv"),
        Catalog::ChangeReason => include_str!("../nsi/change_reason.tsv"),
        Catalog::SpecialPurchase => include_str!("../nsi/special_purchase.tsv"),
        Catalog::Kbk => include_str!("../nsi/kbk.tsv"),
    }
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub actual: bool,
    /// When the record was last added or changed.
    pub loaded_at: Time,
}

/// What a load did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadSummary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Actual records the load did not list, now marked not actual.
    pub retired: usize,
}

/// How a load runs.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'a> {
    /// Where the data came from (a file name, or the starter set), shown on the page.
    pub source: &'a str,
    /// A part of a catalog (ЕИС splits big catalogs into several files): records it does not
    /// list are left as they are.
    pub partial: bool,
    /// Who loaded it, for the audit journal (none from the command line).
    pub user_id: Option<domain::ids::UserId>,
    pub org_id: Option<domain::ids::OrgId>,
    /// Only count what the load would do; change nothing. A full load that would retire
    /// records is previewed this way so that a person confirms the counts first.
    pub dry_run: bool,
}

/// A catalog's state for the «Справочники» page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogInfo {
    pub catalog: Catalog,
    pub total: i64,
    pub actual: i64,
    /// The last load: its source and time; `None` before the first.
    pub last_load: Option<(String, Time)>,
}

/// The source recorded for the starter set.
pub const STARTER_SOURCE: &str = "стартовый набор plangraf";

/// The search form of a code: lowercase, without dots and spaces.
fn code_key(code: &str) -> String {
    code.chars().filter(|c| *c != '.' && !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// The search form of a name: lowercase, «ё» as «е».
fn name_key(name: &str) -> String {
    name.chars().flat_map(char::to_lowercase).map(|c| if c == 'ё' { 'е' } else { c }).collect()
}

/// A LIKE pattern matching `s` literally (with `\` as the escape character).
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses a starter file: `code<TAB>parent<TAB>name` lines, `#` comments.
pub fn parse_starter(text: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(code), Some(parent), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(StoreError::Corrupt(format!("starter reference data, line {}: expected three fields", i + 1)));
        };
        if code.trim().is_empty() || name.trim().is_empty() {
            return Err(StoreError::Corrupt(format!("starter reference data, line {}: empty code or name", i + 1)));
        }
        let parent = parent.trim();
        out.push(Entry {
            code: code.trim().to_owned(),
            name: name.trim().to_owned(),
            parent_code: (!parent.is_empty()).then(|| parent.to_owned()),
            actual: true,
        });
    }
    Ok(out)
}

/// The starter set of a catalog.
pub fn starter_entries(catalog: Catalog) -> Result<Vec<Entry>> {
    parse_starter(starter_source(catalog))
}

fn item_from_row(r: &AnyRow) -> Result<Item> {
    Ok(Item {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        parent_code: r.try_get("parent_code")?,
        actual: r.try_get::<i64, _>("actual")? != 0,
        loaded_at: time_at(r, "loaded_at")?,
    })
}

/// Rows per multi-row INSERT: 8 parameters each stays far below every backend's limit.
const INSERT_CHUNK: usize = 200;

impl Store {
    /// Loads a catalog in one write transaction: new codes are added, changed ones updated,
    /// and — unless `partial` — actual codes the entries do not list are marked not actual.
    /// Duplicate codes in `entries`: the last one counts. Nothing changes on error.
    pub async fn reference_load(
        &self,
        catalog: Catalog,
        entries: &[Entry],
        opts: LoadOptions<'_>,
    ) -> Result<LoadSummary> {
        self.reference_load_observed(catalog, entries, opts, &|_| {}).await
    }

    /// [`Store::reference_load`], telling `progress` how many distinct codes of `entries` are
    /// written so far. It is called inside the write transaction: it must not wait, and must not
    /// write to the database (SQLite has one writer, and it is this transaction).
    pub async fn reference_load_observed(
        &self,
        catalog: Catalog,
        entries: &[Entry],
        opts: LoadOptions<'_>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<LoadSummary> {
        let mut wanted: HashMap<&str, &Entry> = HashMap::with_capacity(entries.len());
        let mut order: Vec<&str> = Vec::with_capacity(entries.len());
        for e in entries {
            if e.code.trim().is_empty() || e.code.trim() != e.code {
                return Err(StoreError::Corrupt(format!("reference code {:?} is empty or padded", e.code)));
            }
            if wanted.insert(e.code.as_str(), e).is_none() {
                order.push(e.code.as_str());
            }
        }
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let rows =
            sqlx::query("SELECT code, name, parent_code, actual, loaded_at FROM reference_items WHERE catalog = $1")
                .bind(catalog.code())
                .fetch_all(&mut *tx)
                .await?;
        let mut existing: HashMap<String, Item> = HashMap::with_capacity(rows.len());
        for r in &rows {
            let item = item_from_row(r)?;
            existing.insert(item.code.clone(), item);
        }

        let mut summary = LoadSummary::default();
        let mut new_rows: Vec<&Entry> = Vec::new();
        let mut written = 0;
        for code in &order {
            let e = wanted[code];
            match existing.get(*code) {
                None => new_rows.push(e),
                Some(old) if old.name == e.name && old.parent_code == e.parent_code && old.actual == e.actual => {
                    summary.unchanged += 1
                }
                Some(_) if opts.dry_run => summary.updated += 1,
                Some(_) => {
                    sqlx::query(
                        "UPDATE reference_items SET name = $1, parent_code = $2, actual = $3, search_code = $4, search_name = $5, \
                         loaded_at = $6 WHERE catalog = $7 AND code = $8",
                    )
                    .bind(&e.name)
                    .bind(e.parent_code.clone())
                    .bind(i64::from(e.actual))
                    .bind(code_key(&e.code))
                    .bind(name_key(&e.name))
                    .bind(now)
                    .bind(catalog.code())
                    .bind(&e.code)
                    .execute(&mut *tx)
                    .await?;
                    summary.updated += 1;
                }
            }
            if existing.contains_key(*code) && !opts.dry_run {
                written += 1;
                progress(written);
            }
        }
        if opts.dry_run {
            summary.added = new_rows.len();
            if !opts.partial {
                summary.retired =
                    existing.values().filter(|i| i.actual && !wanted.contains_key(i.code.as_str())).count();
            }
            tx.rollback().await?;
            return Ok(summary);
        }
        for chunk in new_rows.chunks(INSERT_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO reference_items (catalog, code, name, parent_code, actual, search_code, search_name, loaded_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 8;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                ));
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                q = q
                    .bind(catalog.code())
                    .bind(&e.code)
                    .bind(&e.name)
                    .bind(e.parent_code.clone())
                    .bind(i64::from(e.actual))
                    .bind(code_key(&e.code))
                    .bind(name_key(&e.name))
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
            summary.added += chunk.len();
            written += chunk.len();
            progress(written);
        }
        if !opts.partial {
            let mut gone: Vec<&str> = existing
                .values()
                .filter(|i| i.actual && !wanted.contains_key(i.code.as_str()))
                .map(|i| i.code.as_str())
                .collect();
            gone.sort_unstable();
            for code in gone {
                sqlx::query("UPDATE reference_items SET actual = 0, loaded_at = $1 WHERE catalog = $2 AND code = $3")
                    .bind(now)
                    .bind(catalog.code())
                    .bind(code)
                    .execute(&mut *tx)
                    .await?;
                summary.retired += 1;
            }
        }
        let recorded =
            sqlx::query("UPDATE reference_loads SET source = $1, loaded_at = $2, entries = $3 WHERE catalog = $4")
                .bind(opts.source)
                .bind(now)
                .bind(order.len() as i64)
                .bind(catalog.code())
                .execute(&mut *tx)
                .await?;
        if recorded.rows_affected() == 0 {
            sqlx::query("INSERT INTO reference_loads (catalog, source, loaded_at, entries) VALUES ($1, $2, $3, $4)")
                .bind(catalog.code())
                .bind(opts.source)
                .bind(now)
                .bind(order.len() as i64)
                .execute(&mut *tx)
                .await?;
        }
        if opts.user_id.is_some() {
            let details = format!(
                "{}: {}; записей {}, добавлено {}, изменено {}, без изменений {}, снята актуальность {}{}",
                catalog.title(),
                opts.source,
                order.len(),
                summary.added,
                summary.updated,
                summary.unchanged,
                summary.retired,
                if opts.partial { " (частичная загрузка)" } else { "" }
            );
            crate::audit::record(
                &mut *tx,
                opts.user_id,
                opts.org_id,
                "reference",
                None,
                "Загрузка справочника",
                &details,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(summary)
    }

    /// Actual records whose code starts with the query (dots ignored) or whose name holds every
    /// word of it, case-insensitively; code matches first, then by code. An empty query lists
    /// the catalog from the start. At most `limit` records.
    pub async fn reference_search(&self, catalog: Catalog, query: &str, limit: u32) -> Result<Vec<Item>> {
        let words: Vec<String> =
            name_key(query).split_whitespace().take(6).map(|w| format!("%{}%", like_escape(w))).collect();
        let code = code_key(query);
        // Parameters after the catalog, numbered as they are pushed.
        let mut params: Vec<String> = Vec::new();
        let mut param = |v: String| {
            params.push(v);
            format!("${}", params.len() + 1)
        };
        let mut sql = String::from(
            "SELECT code, name, parent_code, actual, loaded_at FROM reference_items WHERE catalog = $1 AND actual = 1",
        );
        let mut order = String::from(" ORDER BY ");
        if !words.is_empty() {
            let mut alternatives = Vec::new();
            if !code.is_empty() {
                alternatives
                    .push(format!("search_code LIKE {} ESCAPE '\\'", param(format!("{}%", like_escape(&code)))));
            }
            let names: Vec<String> =
                words.iter().map(|w| format!("search_name LIKE {} ESCAPE '\\'", param(w.clone()))).collect();
            alternatives.push(format!("({})", names.join(" AND ")));
            sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
            if !code.is_empty() {
                order.push_str(&format!(
                    "CASE WHEN search_code LIKE {} ESCAPE '\\' THEN 0 ELSE 1 END, ",
                    param(format!("{}%", like_escape(&code)))
                ));
            }
        }
        let limit_param = format!("${}", params.len() + 2);
        order.push_str(&format!("code LIMIT {limit_param}"));
        sql.push_str(&order);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(catalog.code());
        for p in params {
            q = q.bind(p);
        }
        let rows = q.bind(i64::from(limit)).fetch_all(self.pool()).await?;
        rows.iter().map(item_from_row).collect()
    }

    /// One record, actual or not.
    pub async fn reference_get(&self, catalog: Catalog, code: &str) -> Result<Option<Item>> {
        let row = sqlx::query(
            "SELECT code, name, parent_code, actual, loaded_at FROM reference_items WHERE catalog = $1 AND code = $2",
        )
        .bind(catalog.code())
        .bind(code.trim())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(item_from_row).transpose()
    }

    /// How many records the catalog holds, actual or not.
    pub async fn reference_count(&self, catalog: Catalog) -> Result<i64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reference_items WHERE catalog = $1")
            .bind(catalog.code())
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }

    /// Every catalog with its counts and last load, in [`Catalog::ALL`] order.
    pub async fn reference_catalogs(&self) -> Result<Vec<CatalogInfo>> {
        let counts = sqlx::query(
            // COUNT, not SUM: SUM of a BIGINT is NUMERIC on PostgreSQL, which the Any driver cannot read.
            "SELECT catalog, COUNT(*) AS total, COUNT(CASE WHEN actual = 1 THEN 1 END) AS actual_count FROM reference_items GROUP BY catalog",
        )
        .fetch_all(self.pool())
        .await?;
        let loads =
            sqlx::query("SELECT catalog, source, loaded_at FROM reference_loads").fetch_all(self.pool()).await?;
        let mut out = Vec::new();
        for c in Catalog::ALL {
            let mut info = CatalogInfo { catalog: c, total: 0, actual: 0, last_load: None };
            for r in &counts {
                if r.try_get::<String, _>("catalog")? == c.code() {
                    info.total = r.try_get("total")?;
                    info.actual = r.try_get("actual_count")?;
                }
            }
            for r in &loads {
                if r.try_get::<String, _>("catalog")? == c.code() {
                    info.last_load = Some((r.try_get("source")?, time_at(r, "loaded_at")?));
                }
            }
            out.push(info);
        }
        Ok(out)
    }

    /// Loads the starter set into every catalog that has no records yet. A catalog loaded
    /// from ЕИС is never touched.
    pub async fn ensure_starter_reference_data(&self) -> Result<()> {
        for c in Catalog::ALL {
            let entries = starter_entries(c)?;
            if entries.is_empty() || self.reference_count(c).await? > 0 {
                continue;
            }
            let opts =
                LoadOptions { source: STARTER_SOURCE, partial: false, user_id: None, org_id: None, dry_run: false };
            match self.reference_load(c, &entries, opts).await {
                Ok(_) => tracing::info!(catalog = c.code(), entries = entries.len(), "starter reference data loaded"),
                // Another instance starting at the same moment loaded it first.
                Err(StoreError::Db(e)) if is_unique_violation(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_starter_file_parses() {
        for c in Catalog::ALL {
            let entries = starter_entries(c).unwrap();
            let mut codes: Vec<&str> = entries.iter().map(|e| e.code.as_str()).collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), entries.len(), "{}: duplicate codes", c.code());
        }
        assert!(starter_entries(Catalog::Okpd2).unwrap().len() >= 300);
        assert!(starter_entries(Catalog::Kbk).unwrap().is_empty());
    }

    #[test]
    fn starter_codes_have_their_formats() {
        for e in starter_entries(Catalog::Kvr).unwrap() {
            assert!(e.code.len() == 3 && e.code.chars().all(|c| c.is_ascii_digit()), "{}", e.code);
        }
        for e in starter_entries(Catalog::Okpd2).unwrap() {
            // 1–12 characters, digits and dots (ЕИС okpdCodeType); a parent is a prefix.
            assert!(e.code.len() <= 12 && e.code.chars().all(|c| c.is_ascii_digit() || c == '.'), "{}", e.code);
            if let Some(p) = &e.parent_code {
                assert!(e.code.starts_with(p.as_str()), "{} under {p}", e.code);
            }
        }
        for e in starter_entries(Catalog::SpecialPurchase).unwrap() {
            assert!(e.code.len() <= 10 && e.code.starts_with('P'), "{}", e.code);
        }
    }

    #[test]
    fn bad_starter_lines_are_refused() {
        assert!(parse_starter("17\tБумага").is_err());
        assert!(parse_starter("\t\tБумага").is_err());
        assert_eq!(parse_starter("# comment\n\n17\t\tБумага\n").unwrap().len(), 1);
    }

    #[test]
    fn search_keys() {
        assert_eq!(code_key("17.23.1"), "17231");
        assert_eq!(code_key("P4_1_93"), "p4_1_93");
        assert_eq!(name_key("Ёлки ЗЕЛЁНЫЕ"), "елки зеленые");
        assert_eq!(like_escape("p4_1%\\"), "p4\\_1\\%\\\\");
    }
}
