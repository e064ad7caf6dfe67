//! `plangraf backup` and `plangraf restore`: the embedded database's copy and its restore
//! (`store::backup`), with what the operator is told. PostgreSQL is referred to pg_dump and
//! pg_restore (docs/OPERATIONS.md).

use anyhow::{Context, bail};
use std::path::Path;
use store::backup::BackupError;
use store::{Backend, SecretBox, Store};

const PG_BACKUP: &str = "База данных — PostgreSQL: её резервную копию делает pg_dump, например \
    pg_dump -Fc -f plangraf.dump \"$PLANGRAF_DATABASE_URL\" (см. docs/OPERATIONS.md, «Backup and restore»). \
    plangraf backup копирует только встроенную базу SQLite.";
const PG_RESTORE: &str = "База данных — PostgreSQL: её восстанавливает pg_restore из копии pg_dump, например \
    pg_restore --no-owner -d \"$PLANGRAF_DATABASE_URL\" plangraf.dump в новую пустую базу (см. docs/OPERATIONS.md, \
    «Backup and restore»). plangraf restore восстанавливает только встроенную базу SQLite.";

/// The SQLite file of `database_url`, or the refusal for a URL that has none.
fn sqlite_file(database_url: &str, postgres: &str) -> anyhow::Result<std::path::PathBuf> {
    match Backend::from_url(database_url) {
        Some(Backend::Postgres) => bail!("{postgres}"),
        Some(Backend::Sqlite) => {
            store::sqlite_path(database_url).context("база данных в памяти: у неё нет файла, копировать нечего")
        }
        None => bail!("адрес базы данных должен начинаться с sqlite:// или postgres://"),
    }
}

/// Writes a consistent copy of the embedded database to `file` while plangraf may be running,
/// and answers what to tell the operator. `key` names where the key is (never the key itself).
pub async fn backup(database_url: &str, file: &Path, key: &str) -> anyhow::Result<String> {
    let database = sqlite_file(database_url, PG_BACKUP)?;
    if !database.is_file() {
        bail!("База данных {} не найдена: копировать нечего.", database.display());
    }
    if file.symlink_metadata().is_ok() {
        bail!("{}", refusal(&BackupError::Exists(file.to_owned())));
    }
    // Neither migrated nor checked against the key: the copy is of the database as it is, its
    // secrets sealed as they are, and a running plangraf's schema is left to it. The store's
    // key is therefore a throwaway one that opens nothing.
    let store = Store::connect(database_url, SecretBox::new(SecretBox::generate_key()))
        .await
        .with_context(|| format!("не удалось открыть базу данных {}", database.display()))?;
    let written = store.backup_to(file).await;
    store.close().await;
    let info = written.map_err(|e| anyhow::anyhow!("{}", refusal(&e)))?;
    Ok(format!(
        "Резервная копия базы данных записана: {}\n  размер: {}, версия схемы: {}.\n\
         Ключ в копию не входит. Сохраните отдельно и его — {key}: без него сохранённые в копии пароли ЕИС \
         не открыть. Храните ключ не рядом с копией: вместе они открывают эти пароли.",
        info.path.display(),
        size_ru(info.bytes),
        info.schema_version
    ))
}

/// Replaces the embedded database with the backup `file`, when no plangraf has it open, and
/// answers what to tell the operator.
pub async fn restore(database_url: &str, file: &Path, key: &str) -> anyhow::Result<String> {
    let database = sqlite_file(database_url, PG_RESTORE)?;
    let restored = store::backup::restore(file, &database).await.map_err(|e| anyhow::anyhow!("{}", refusal(&e)))?;
    let latest = store::latest_schema_version();
    let mut text = format!(
        "База данных {} восстановлена из {} (версия схемы {}).\n",
        restored.database.display(),
        file.display(),
        restored.schema_version
    );
    match &restored.kept_aside {
        Some(aside) => text.push_str(&format!(
            "Прежняя база сохранена как {}; удалите её сами, когда убедитесь, что восстановленная в порядке.\n",
            aside.display()
        )),
        None => text.push_str("Прежней базы не было.\n"),
    }
    if restored.schema_version < latest {
        text.push_str(&format!(
            "Схема копии (версия {}) старше схемы этой сборки ({latest}): миграции применятся при следующем запуске plangraf.\n",
            restored.schema_version
        ));
    }
    text.push_str(&format!(
        "При запуске plangraf проверит, что ключ ({key}) открывает сохранённые в копии пароли ЕИС: нужен ключ той базы, \
         с которой сделана копия."
    ));
    Ok(text)
}

/// A refusal of `store::backup` in the operator's words.
fn refusal(e: &BackupError) -> String {
    match e {
        BackupError::Postgres => PG_BACKUP.to_owned(),
        BackupError::Exists(p) => format!(
            "Файл {} уже существует: резервная копия не записана. Существующий файл не перезаписывается — укажите новое имя.",
            p.display()
        ),
        BackupError::Missing(p) => format!("Файл {} не найден. Ничего не изменено.", p.display()),
        BackupError::NotDatabase { path, reason } => {
            tracing::warn!(file = %path.display(), reason, "not a readable SQLite database");
            format!(
                "Файл {} — не база данных SQLite или повреждён: восстановить из него нельзя. Текущая база не изменена.",
                path.display()
            )
        }
        BackupError::Foreign(p) => format!(
            "Файл {} — база данных SQLite, но не plangraf (в ней нет его таблицы schema_migrations): восстановить из \
             него нельзя. Текущая база не изменена.",
            p.display()
        ),
        BackupError::Newer { path, found, known } => format!(
            "Копия {} сделана более новой версией plangraf: версия схемы её базы {found}, а эта сборка знает схемы до \
             версии {known}. Восстановите её той версией plangraf, которой она сделана, или более новой. Текущая база \
             не изменена.",
            path.display()
        ),
        BackupError::InUse(p) => format!(
            "База данных {} открыта работающим plangraf (serve, demo или другой командой): остановите его и повторите \
             восстановление. Ничего не изменено.",
            p.display()
        ),
        BackupError::SameFile(p) => {
            format!("Файл {} — это и есть текущая база данных: восстанавливать нечего.", p.display())
        }
        BackupError::Io { path, source } => format!("Ошибка файла {}: {source}.", path.display()),
        BackupError::Db(e) => format!("Ошибка базы данных: {e}."),
    }
}

/// `12 345 678 байт (11,8 МБ)`.
fn size_ru(bytes: u64) -> String {
    let grouped = domain::format::group_digits_ru(&bytes.to_string());
    let mb = bytes as f64 / (1024.0 * 1024.0);
    format!("{grouped} байт ({} МБ)", format!("{mb:.1}").replace('.', ","))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_the_russian_way() {
        assert_eq!(super::size_ru(12_345_678), "12\u{a0}345\u{a0}678 байт (11,8 МБ)");
        assert_eq!(super::size_ru(0), "0 байт (0,0 МБ)");
    }
}
