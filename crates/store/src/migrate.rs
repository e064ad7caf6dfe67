//! Schema migrations: one SQL source per step for both backends. The only backend-specific
//! piece, the auto-increment primary key, is written `{{ID}}` and substituted here.

use crate::{Backend, Result, Store, StoreError, now_ms};

/// (version, name, SQL). Append only; never edit a step that has shipped.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "publication", include_str!("../migrations/0002_publication.sql")),
    (3, "reference_data", include_str!("../migrations/0003_reference_data.sql")),
    (4, "version_packet", include_str!("../migrations/0004_version_packet.sql")),
    (5, "send_retries", include_str!("../migrations/0005_send_retries.sql")),
    (6, "sign_in_throttle", include_str!("../migrations/0006_sign_in_throttle.sql")),
    (7, "event_failed", include_str!("../migrations/0007_event_failed.sql")),
    (8, "event_repeats", include_str!("../migrations/0008_event_repeats.sql")),
    (9, "position_versions", include_str!("../migrations/0009_position_versions.sql")),
    (10, "plan_checks", include_str!("../migrations/0010_plan_checks.sql")),
    (11, "position_columns", include_str!("../migrations/0011_position_columns.sql")),
    (12, "plan_lists", include_str!("../migrations/0012_plan_lists.sql")),
    (13, "position_stamps", include_str!("../migrations/0013_position_stamps.sql")),
    (14, "eis_copies", include_str!("../migrations/0014_eis_copies.sql")),
    (15, "notifications", include_str!("../migrations/0015_notifications.sql")),
    (16, "jobs", include_str!("../migrations/0016_jobs.sql")),
    (17, "user_admin", include_str!("../migrations/0017_user_admin.sql")),
    (18, "audit_search", include_str!("../migrations/0018_audit_search.sql")),
    (19, "org_admin", include_str!("../migrations/0019_org_admin.sql")),
    (20, "onboarding_loads", include_str!("../migrations/0020_onboarding_loads.sql")),
    (21, "user_roles", include_str!("../migrations/0021_user_roles.sql")),
    (22, "user_certificates", include_str!("../migrations/0022_user_certificates.sql")),
    (23, "ecp_challenges", include_str!("../migrations/0023_ecp_challenges.sql")),
    (24, "ecp_requirements", include_str!("../migrations/0024_ecp_requirements.sql")),
];

fn render(sql: &str, backend: Backend) -> String {
    let id = match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Backend::Postgres => "BIGSERIAL PRIMARY KEY",
    };
    sql.replace("{{ID}}", id)
}

/// The latest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

impl Store {
    /// The newest schema version applied to the database (0 before the first migration).
    pub async fn schema_version(&self) -> Result<i64> {
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(self.pool()).await?;
        Ok(newest.unwrap_or(0))
    }

    /// Applies pending migrations, each in its own transaction. On PostgreSQL the migrations
    /// table is locked for the duration, so instances starting together apply each step once.
    pub async fn migrate(&self) -> Result<()> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(self.pool())
        .await?;
        for (version, name, sql) in MIGRATIONS {
            let mut tx = self.write_tx().await?;
            if self.backend() == Backend::Postgres {
                sqlx::raw_sql("LOCK TABLE schema_migrations IN EXCLUSIVE MODE").execute(&mut *tx).await?;
            }
            let applied: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(&mut *tx)
                .await?;
            if applied.is_some() {
                continue;
            }
            let rendered = render(sql, self.backend());
            sqlx::raw_sql(sqlx::AssertSqlSafe(rendered)).execute(&mut *tx).await?;
            if *version == 9 {
                // The positions of the latest approved versions: only the snapshots (JSON) know
                // them, and the SQL is the same text on both backends, so Rust reads them.
                crate::plans::mark_base_positions_of_all_plans(&mut tx).await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(*version)
                .bind(*name)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, name, "migration applied");
        }
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(self.pool()).await?;
        if newest.unwrap_or(0) > latest_version() {
            return Err(StoreError::Corrupt(format!(
                "the database has schema version {} but this plangraf knows only {}: use a newer plangraf",
                newest.unwrap_or(0),
                latest_version()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_placeholder_is_substituted() {
        for (_, _, sql) in MIGRATIONS {
            for b in [Backend::Sqlite, Backend::Postgres] {
                assert!(!render(sql, b).contains("{{"), "unsubstituted placeholder");
            }
        }
    }

    #[test]
    fn versions_ascend() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
