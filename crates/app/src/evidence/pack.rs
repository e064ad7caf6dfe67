//! The files of an evidence pack and the ZIP that holds them. Pure: [`Facts`] in, bytes and
//! their SHA-256 out, so the pack can be checked without a database.
//!
//! Names are ASCII, so any unpacker on any system shows them alike; prose is Russian. Every file
//! but `summary.html` is listed with its SHA-256 in `summary.html` and in `SHA256SUMS` (the
//! format `sha256sum -c` reads); a file cannot hold its own hash, so `summary.html` is listed in
//! neither, and its hash goes to the audit journal with the ZIP's.

use chrono::{Datelike, Timelike};
use domain::format::date_time_seconds_ru;
use domain::ids::PlanId;
use sha2::{Digest, Sha256};
use std::io::Write;
use store::Time;
use store::sends::{Send, SendEvent};

pub const SUMMARY: &str = "summary.html";
pub const TIMELINE: &str = "timeline.html";
pub const APPROVAL: &str = "approval.txt";
pub const CHECKSUMS: &str = "SHA256SUMS";
pub const REPLIES_DIR: &str = "replies/";

/// A person as the pack names them.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub login: String,
}

impl Person {
    fn describe(&self) -> String {
        format!("{} (логин {})", self.name, self.login)
    }
}

/// Who approved the version, from which organization, and when.
#[derive(Debug, Clone)]
pub struct Approval {
    /// `None`: the user is no longer known (the version keeps the id only).
    pub by: Option<Person>,
    pub organization: String,
    pub at: Time,
}

/// Everything the pack tells, as read by the use case.
#[derive(Debug, Clone)]
pub struct Facts {
    pub made_at: Time,
    pub made_by: Person,
    pub customer: String,
    pub inn: String,
    pub kpp: String,
    pub spz: String,
    /// The superior organization that places the plan for the customer (role OA).
    pub agent: Option<String>,
    pub plan_id: PlanId,
    pub plan_year: i32,
    pub eis_plan_number: Option<String>,
    pub version_number: i64,
    pub approval: Approval,
    pub send: Send,
    pub requested_by: Option<Person>,
    /// The send's timeline, oldest first, as the store keeps it.
    pub events: Vec<SendEvent>,
}

/// One file of the pack with its size and SHA-256 (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedFile {
    pub name: String,
    pub size: usize,
    pub sha256: String,
}

/// The ZIP and what it holds.
#[derive(Debug, Clone)]
pub struct EvidencePack {
    pub file_name: String,
    pub zip: Vec<u8>,
    pub sha256: String,
    /// Every file in the ZIP, in its order (`summary.html` first).
    pub files: Vec<PackedFile>,
}

impl EvidencePack {
    /// The audit journal's details: the send, then the SHA-256 of the ZIP and of every file.
    pub fn journal_details(&self, facts: &Facts) -> String {
        let mut out = format!(
            "Версия {}, отправка {}, пакет {}. Архив {}: SHA-256 {}",
            facts.version_number, facts.send.id, facts.send.packet_id, self.file_name, self.sha256
        );
        for f in &self.files {
            out.push_str(&format!("; {}: SHA-256 {}", f.name, f.sha256));
        }
        out
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn utc(t: Time) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

/// Both clocks: people read Moscow time (as on the pages), ЕИС's logs and the file names use UTC.
fn both_times(t: Time) -> String {
    format!("{} МСК ({})", date_time_seconds_ru(t), utc(t))
}

/// A packet id as part of a file name: it is a UUID, but a name is never built from unchecked text.
fn name_safe(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// A raw reply is kept as ЕИС sent it; its file is `.xml` when it is XML, else `.txt`, so that an
/// HTML maintenance page ЕИС answered with opens as text, never as a page with scripts.
fn reply_extension(raw: &str) -> &'static str {
    let head = raw.trim_start_matches('\u{feff}').trim_start();
    let lower: String = head.chars().take(16).flat_map(char::to_lowercase).collect();
    if head.starts_with('<') && !lower.starts_with("<!doctype html") && !lower.starts_with("<html") {
        "xml"
    } else {
        "txt"
    }
}

/// The file of the reply on timeline line `line` (1-based): the line number and the UTC time it
/// was received.
pub fn reply_file_name(line: usize, event: &SendEvent, raw: &str) -> String {
    format!("{REPLIES_DIR}{line:03}-{}.{}", event.at.format("%Y%m%dT%H%M%SZ"), reply_extension(raw))
}

pub fn packet_file_name(send: &Send) -> String {
    format!("packet-{}.xml", name_safe(&send.packet_id))
}

pub fn pack_file_name(f: &Facts) -> String {
    format!(
        "evidence-plan-{}-{}-v{}-send-{}-{}.zip",
        f.plan_id,
        f.plan_year,
        f.version_number,
        f.send.id,
        f.made_at.format("%Y%m%dT%H%M%SZ")
    )
}

struct Entry {
    name: String,
    bytes: Vec<u8>,
    /// What the file is, for the summary's list.
    what: String,
}

/// The replies of the timeline, one per line that keeps one: (line number, event, file name).
fn replies(events: &[SendEvent]) -> Vec<(usize, &SendEvent, String)> {
    events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.raw_reply.as_deref().map(|raw| (i + 1, e, reply_file_name(i + 1, e, raw))))
        .collect()
}

const STYLE: &str = "body{font-family:Arial,sans-serif;margin:24px;max-width:1100px}\
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #bbb;padding:4px 8px;\
text-align:left;vertical-align:top}th{background:#eee}.mono{font-family:monospace}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ru\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    )
}

fn timeline_html(f: &Facts) -> String {
    let files: std::collections::BTreeMap<usize, String> =
        replies(&f.events).into_iter().map(|(line, _, name)| (line, name)).collect();
    let mut rows = String::new();
    for (i, e) in f.events.iter().enumerate() {
        let line = i + 1;
        let reply = e
            .http_status
            .map(|h| format!("{} (код ответа HTTP {h})", crate::sending::reply_in_words(h)))
            .unwrap_or_default();
        let repeated = crate::sending::repeated_ru(e.repeats, e.last_at)
            .map(|r| match e.last_at {
                Some(last) => format!("{r} ({})", utc(last)),
                None => r,
            })
            .unwrap_or_default();
        let file = files
            .get(&line)
            .map(|name| format!("<a href=\"{0}\" class=\"mono\">{0}</a>", esc(name)))
            .unwrap_or_else(|| "—".into());
        rows.push_str(&format!(
            "<tr id=\"line-{line}\"><td>{line}</td><td>{}</td><td class=\"mono\">{}</td><td><b>{}</b></td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{file}</td></tr>\n",
            esc(&date_time_seconds_ru(e.at)),
            esc(&utc(e.at)),
            esc(crate::sending::event_title(e)),
            esc(&e.message),
            esc(&reply),
            esc(&repeated),
        ));
    }
    let body = format!(
        "<h1>Ход отправки в ЕИС</h1>\n<p>План-график {} год · {} · версия {} · отправка № {} · пакет \
         <span class=\"mono\">{}</span></p>\n<p>Строки в том порядке и с тем текстом, что на странице «Статус отправки \
         на ООС» в plangraf, от первой к последней. Время московское и UTC.</p>\n<table id=\"timeline\">\n<thead><tr>\
         <th>№</th><th>Время (МСК)</th><th>Время (UTC)</th><th>Событие</th><th>Описание</th><th>Ответ ЕИС</th>\
         <th>Повторы</th><th>Ответ ЕИС (файл)</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n",
        f.plan_year,
        esc(&f.customer),
        f.version_number,
        f.send.id,
        esc(&f.send.packet_id),
    );
    page("Ход отправки в ЕИС", &body)
}

fn approval_txt(f: &Facts) -> String {
    let by = f.approval.by.as_ref().map(Person::describe).unwrap_or_else(|| "пользователь не найден".into());
    format!(
        "Утверждение версии плана-графика\n\n\
         План-график: {} год (№ {} в plangraf)\n\
         Заказчик: {}, ИНН {}, КПП {}, код по СПЗ {}\n\
         Версия: {}\n\
         Утвердил: {by}\n\
         Организация утвердившего: {}\n\
         Дата и время утверждения: {}\n",
        f.plan_year,
        f.plan_id,
        f.customer,
        f.inn,
        f.kpp,
        f.spz,
        f.version_number,
        f.approval.organization,
        both_times(f.approval.at),
    )
}

fn checksums(entries: &[Entry]) -> String {
    entries.iter().map(|e| format!("{}  {}\n", sha256_hex(&e.bytes), e.name)).collect()
}

fn summary_html(f: &Facts, listed: &[PackedFile], whats: &[String]) -> String {
    let s = &f.send;
    let mut facts = vec![
        ("Заказчик".to_owned(), format!("{}, ИНН {}, КПП {}, код по СПЗ {}", f.customer, f.inn, f.kpp, f.spz)),
        (
            "План-график".to_owned(),
            format!(
                "{} год (№ {} в plangraf){}",
                f.plan_year,
                f.plan_id,
                f.eis_plan_number.as_ref().map(|n| format!(", реестровый номер в ЕИС {n}")).unwrap_or_default()
            ),
        ),
    ];
    if let Some(agent) = &f.agent {
        facts.push(("Размещает в ЕИС".into(), format!("{agent} (по соглашению, ОА)")));
    }
    facts.extend([
        ("Версия".to_owned(), f.version_number.to_string()),
        (
            "Утверждена".to_owned(),
            format!(
                "{}, {}, {}",
                both_times(f.approval.at),
                f.approval.by.as_ref().map(Person::describe).unwrap_or_else(|| "пользователь не найден".into()),
                f.approval.organization
            ),
        ),
        ("Отправка".to_owned(), format!("№ {}", s.id)),
        (
            "Поставлена в очередь".to_owned(),
            format!(
                "{}, {}",
                both_times(s.created_at),
                f.requested_by.as_ref().map(Person::describe).unwrap_or_else(|| "пользователь не найден".into())
            ),
        ),
        ("Логин ЕИС".to_owned(), s.eis_login.clone()),
        ("Идентификатор пакета".to_owned(), s.packet_id.clone()),
        (
            "Первое обращение к ЕИС".to_owned(),
            s.first_attempt_at.map(both_times).unwrap_or_else(|| "ещё не было".into()),
        ),
        ("Попыток обмена с ЕИС".to_owned(), s.attempts.to_string()),
    ]);
    if let Some(since) = s.failing_since {
        facts.push(("ЕИС не отвечает с".into(), both_times(since)));
    }
    facts.push(("Статус отправки на момент формирования архива".into(), s.status.title().into()));
    if let Some(e) = &s.last_error {
        facts.push(("Последняя ошибка".into(), e.clone()));
    }
    let facts: String =
        facts.iter().map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), esc(v))).collect();

    let replies = replies(&f.events);
    let replies_html = if replies.is_empty() {
        "<p>Ответов ЕИС, которые сохраняются в ходе отправки, нет.</p>\n".to_owned()
    } else {
        let rows: String = replies
            .iter()
            .map(|(line, e, name)| {
                format!(
                    "<tr><td>{line}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td></tr>\n",
                    esc(name),
                    esc(&date_time_seconds_ru(e.at)),
                    esc(&utc(e.at)),
                    e.http_status.map(|h| h.to_string()).unwrap_or_else(|| "—".into()),
                    esc(&crate::sending::repeated_ru(e.repeats, e.last_at).map_or_else(
                        || "нет".to_owned(),
                        |r| format!("{r} ({})", e.last_at.map(utc).unwrap_or_default())
                    )),
                )
            })
            .collect();
        format!(
            "<table id=\"replies\">\n<thead><tr><th>Строка хода отправки</th><th>Файл</th><th>Получен (МСК)</th>\
             <th>Получен (UTC)</th><th>Код HTTP</th><th>Повторы</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n"
        )
    };

    let files: String = listed
        .iter()
        .zip(whats)
        .map(|(file, what)| {
            format!(
                "<tr><td class=\"mono name\">{}</td><td class=\"size\">{}</td><td class=\"mono sha256\">{}</td><td>{}</td></tr>\n",
                esc(&file.name),
                file.size,
                file.sha256,
                esc(what)
            )
        })
        .collect();

    let body = format!(
        "<h1>Доказательства отправки плана-графика в ЕИС</h1>\n\
         <p>Архив сформирован в plangraf {} пользователем {}. В нём всё, что plangraf хранит об этой отправке: \
         пакет в том виде, в каком он передан в ЕИС, каждый сохранённый ответ ЕИС с временем получения, ход отправки \
         и запись об утверждении версии.</p>\n\
         <h2>Отправка</h2>\n<table id=\"facts\">\n{facts}</table>\n\
         <h2>Ответы ЕИС</h2>\n<p>Каждый ответ ЕИС лежит в папке <span class=\"mono\">{REPLIES_DIR}</span> без изменений, \
         байт в байт, в отдельном файле. Имя файла — номер строки в ходе отправки ({TIMELINE}) и время получения ответа \
         в UTC. Время получения — момент, когда plangraf получил ответ и записал его.</p>\n{replies_html}\
         <p>Как представлены повторы: если ЕИС подряд отвечала одинаково (то же состояние, тот же текст, тот же код HTTP \
         и тот же ответ байт в байт), plangraf хранит такой ответ один раз — в файле первый из них, а в ходе отправки и в \
         таблице выше указано, сколько раз он повторялся и когда последний раз. Ответ, отличающийся хотя бы одним байтом, \
         хранится отдельно. Строки хода отправки, где ЕИС ничего не прислала (нет связи, истекло время \
         ожидания), файла ответа не имеют: что случилось, сказано в самой строке. Опросы, на которые ЕИС \
         отвечала, что пакет ещё обрабатывается или план-график ещё не размещён, \
         ничего не меняли и в ходе отправки не сохраняются.</p>\n\
         <h2>Файлы архива</h2>\n<table id=\"files\">\n<thead><tr><th>Файл</th><th>Размер, байт</th><th>SHA-256</th>\
         <th>Что это</th></tr></thead>\n<tbody>\n{files}</tbody>\n</table>\n\
         <p>Этот файл ({SUMMARY}) не может содержать собственную контрольную сумму: её запись изменила бы его содержимое. \
         Контрольные суммы этого файла и всего архива записаны в журнал plangraf в момент формирования архива \
         (действие «Доказательства отправки»).</p>\n\
         <h2>Как проверить</h2>\n<p>Распакуйте архив и в его папке выполните <span class=\"mono\">sha256sum -c {CHECKSUMS}</span> \
         (в macOS: <span class=\"mono\">shasum -a 256 -c {CHECKSUMS}</span>; в Windows: \
         <span class=\"mono\">certutil -hashfile ИМЯ_ФАЙЛА SHA256</span> для каждого файла): каждая сумма должна совпасть \
         с таблицей выше.</p>\n",
        both_times(f.made_at),
        esc(&f.made_by.describe()),
    );
    page("Доказательства отправки плана-графика в ЕИС", &body)
}

/// Builds the pack's files and the ZIP.
pub fn assemble(f: &Facts) -> Result<EvidencePack, zip::result::ZipError> {
    let mut entries = vec![Entry {
        name: packet_file_name(&f.send),
        bytes: f.send.packet_xml.as_bytes().to_vec(),
        what: "Пакет, переданный в ЕИС, в точности как отправлен".into(),
    }];
    for (line, e, name) in replies(&f.events) {
        let raw = e.raw_reply.as_deref().unwrap_or_default();
        entries.push(Entry {
            name,
            bytes: raw.as_bytes().to_vec(),
            what: format!("Ответ ЕИС, строка {line} хода отправки, получен {}", both_times(e.at)),
        });
    }
    entries.push(Entry {
        name: TIMELINE.into(),
        bytes: timeline_html(f).into_bytes(),
        what: "Ход отправки, как на странице «Статус отправки на ООС»".into(),
    });
    entries.push(Entry {
        name: APPROVAL.into(),
        bytes: approval_txt(f).into_bytes(),
        what: "Запись об утверждении версии: кто и когда".into(),
    });
    let sums = checksums(&entries);
    entries.push(Entry {
        name: CHECKSUMS.into(),
        bytes: sums.into_bytes(),
        what: "Контрольные суммы файлов выше для sha256sum -c".into(),
    });
    let listed: Vec<PackedFile> = entries
        .iter()
        .map(|e| PackedFile { name: e.name.clone(), size: e.bytes.len(), sha256: sha256_hex(&e.bytes) })
        .collect();
    let whats: Vec<String> = entries.iter().map(|e| e.what.clone()).collect();
    entries.insert(
        0,
        Entry { name: SUMMARY.into(), bytes: summary_html(f, &listed, &whats).into_bytes(), what: String::new() },
    );

    let at = f.made_at;
    // ZIP keeps local time without a zone; the pack's is UTC, as in the file names.
    let stamp = zip::DateTime::from_date_and_time(
        u16::try_from(at.year()).unwrap_or(1980),
        at.month() as u8,
        at.day() as u8,
        at.hour() as u8,
        at.minute() as u8,
        at.second() as u8,
    )
    .unwrap_or_default();
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(stamp)
        .unix_permissions(0o644);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for e in &entries {
        zip.start_file(e.name.as_str(), options)?;
        zip.write_all(&e.bytes)?;
    }
    let bytes = zip.finish()?.into_inner();
    Ok(EvidencePack {
        file_name: pack_file_name(f),
        sha256: sha256_hex(&bytes),
        zip: bytes,
        files: entries
            .iter()
            .map(|e| PackedFile { name: e.name.clone(), size: e.bytes.len(), sha256: sha256_hex(&e.bytes) })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::SendStatus;
    use domain::ids::SendId;
    use std::io::Read;

    fn at(secs: i64) -> Time {
        chrono::DateTime::from_timestamp_millis(secs * 1000 + 250).unwrap()
    }

    fn event(id: i64, secs: i64, status: SendStatus, message: &str, http: Option<i64>, raw: Option<&str>) -> SendEvent {
        SendEvent {
            id,
            at: at(secs),
            status,
            message: message.into(),
            http_status: http,
            raw_reply: raw.map(Into::into),
            has_raw: raw.is_some(),
            failed: false,
            repeats: 0,
            last_at: None,
        }
    }

    fn facts() -> Facts {
        let base = 1_767_225_600; // 2026-01-01 00:00:00 UTC
        let mut outage = event(
            2,
            base + 60,
            SendStatus::Queued,
            "ЕИС недоступна <503>",
            Some(503),
            Some("<html><body>Технические работы</body></html>"),
        );
        outage.failed = true;
        outage.repeats = 4;
        outage.last_at = Some(at(base + 300));
        Facts {
            made_at: at(base + 3600),
            made_by: Person { name: "Иванова Анна".into(), login: "zakazchik".into() },
            customer: "МБОУ «Школа № 1» & Ко".into(),
            inn: "7701000001".into(),
            kpp: "770101001".into(),
            spz: "03731000001".into(),
            agent: None,
            plan_id: PlanId(7),
            plan_year: 2026,
            eis_plan_number: None,
            version_number: 1,
            approval: Approval {
                by: Some(Person { name: "Петров Пётр".into(), login: "soglasovatel".into() }),
                organization: "Комитет образования".into(),
                at: at(base - 86_400),
            },
            send: Send {
                head: store::sends::SendHead {
                    id: SendId(11),
                    version_id: domain::ids::VersionId(3),
                    org_id: domain::ids::OrgId(2),
                    requested_by: domain::ids::UserId(5),
                    packet_id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
                    eis_login: "eis_user".into(),
                    status: SendStatus::Loaded,
                    attempts: 6,
                    next_attempt_at: at(base + 4000),
                    last_error: None,
                    created_at: at(base),
                    updated_at: at(base + 400),
                    consecutive_failures: 0,
                    failing_since: None,
                    first_attempt_at: Some(at(base + 1)),
                },
                packet_xml: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><tenderPlan2020>ёлка\r\n</tenderPlan2020>"
                    .into(),
            },
            requested_by: Some(Person { name: "Иванова Анна".into(), login: "zakazchik".into() }),
            events: vec![
                event(1, base, SendStatus::Queued, "Пакет поставлен в очередь", None, None),
                outage,
                event(
                    3,
                    base + 360,
                    SendStatus::Processing,
                    "ЕИС приняла пакет",
                    Some(200),
                    Some("<confirmation>1</confirmation>"),
                ),
                event(
                    4,
                    base + 361,
                    SendStatus::Loaded,
                    "Загрузка завершена",
                    Some(200),
                    Some("<confirmation>2</confirmation>"),
                ),
            ],
        }
    }

    fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut f = archive.by_index(i).unwrap();
                let mut content = Vec::new();
                f.read_to_end(&mut content).unwrap();
                (f.name().expect("a UTF-8 name").into_owned(), content)
            })
            .collect()
    }

    /// (name, size, sha256) of each row of the summary's file table.
    fn summary_rows(summary: &str) -> Vec<(String, usize, String)> {
        let cell = |row: &str, class: &str| {
            let start = row.find(&format!("class=\"{class}\">")).map(|i| i + class.len() + 9).unwrap();
            row[start..start + row[start..].find("</td>").unwrap()].to_owned()
        };
        summary
            .split("<tr>")
            .filter(|row| row.contains("class=\"mono sha256\""))
            .map(|row| (cell(row, "mono name"), cell(row, "size").parse().unwrap(), cell(row, "mono sha256")))
            .collect()
    }

    #[test]
    fn every_file_is_listed_with_its_hash_and_the_packet_and_replies_are_byte_for_byte() {
        let f = facts();
        let pack = assemble(&f).unwrap();
        let files = unzip(&pack.zip);
        assert_eq!(sha256_hex(&pack.zip), pack.sha256);
        assert_eq!(files[0].0, SUMMARY, "the summary comes first");
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, pack.files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>());
        for ((name, content), listed) in files.iter().zip(&pack.files) {
            assert_eq!((listed.size, listed.sha256.as_str()), (content.len(), sha256_hex(content).as_str()), "{name}");
        }
        let summary = String::from_utf8(files[0].1.clone()).unwrap();
        let rows = summary_rows(&summary);
        let others: Vec<(String, usize, String)> =
            files[1..].iter().map(|(n, c)| (n.clone(), c.len(), sha256_hex(c))).collect();
        assert_eq!(rows, others, "the summary lists every other file with its size and hash");
        let sums = String::from_utf8(files.iter().find(|(n, _)| n == CHECKSUMS).unwrap().1.clone()).unwrap();
        let expected: String =
            others.iter().filter(|(n, ..)| n != CHECKSUMS).map(|(n, _, h)| format!("{h}  {n}\n")).collect();
        assert_eq!(sums, expected, "SHA256SUMS holds every file but the summary and itself");

        let packet = files.iter().find(|(n, _)| n == &packet_file_name(&f.send)).unwrap();
        assert_eq!(packet.1, f.send.packet_xml.as_bytes(), "the packet, CRLF included");
        let replies: Vec<&(String, Vec<u8>)> = files.iter().filter(|(n, _)| n.starts_with(REPLIES_DIR)).collect();
        let kept: Vec<&str> = f.events.iter().filter_map(|e| e.raw_reply.as_deref()).collect();
        assert_eq!(replies.len(), kept.len());
        for ((name, content), raw) in replies.iter().zip(kept) {
            assert_eq!(content, raw.as_bytes(), "{name}");
        }
        // The line number and the UTC time received name each reply; an HTML page is kept as text.
        assert_eq!(replies[0].0, "replies/002-20260101T000100Z.txt");
        assert_eq!(replies[1].0, "replies/003-20260101T000600Z.xml");
        assert!(summary.contains("2026-01-01 00:01:00.250 UTC"), "the time received is in the summary");
        assert!(summary.contains("повторялось 4 раза"), "repetitions are told");
    }

    #[test]
    fn outside_text_is_escaped_and_the_timeline_reads_as_on_the_status_page() {
        let f = facts();
        let pack = assemble(&f).unwrap();
        let files = unzip(&pack.zip);
        let text = |name: &str| String::from_utf8(files.iter().find(|(n, _)| n == name).unwrap().1.clone()).unwrap();
        let timeline = text(TIMELINE);
        assert!(timeline.contains("ЕИС недоступна &lt;503&gt;"), "{timeline}");
        assert!(!timeline.contains("<503>"));
        assert!(timeline.contains("<b>Обмен с ЕИС не удался</b>"), "a failed attempt is titled as on the page");
        assert!(timeline.contains("сбой на стороне ЕИС (код ответа HTTP 503)"));
        assert!(timeline.contains("повторялось 4 раза, последний раз 01.01.2026 03:05:00"));
        assert!(timeline.contains("<a href=\"replies/003-20260101T000600Z.xml\""));
        let summary = text(SUMMARY);
        assert!(summary.contains("МБОУ «Школа № 1» &amp; Ко"));
        let approval = text(APPROVAL);
        assert!(approval.contains("Утвердил: Петров Пётр (логин soglasovatel)"), "{approval}");
        assert!(approval.contains("Организация утвердившего: Комитет образования"));
        assert!(approval.contains("31.12.2025 03:00:00 МСК (2025-12-31 00:00:00.250 UTC)"), "{approval}");
    }

    #[test]
    fn the_journal_names_the_hash_of_the_zip_and_of_every_file() {
        let f = facts();
        let pack = assemble(&f).unwrap();
        let details = pack.journal_details(&f);
        assert!(details.contains(&format!("{}: SHA-256 {}", pack.file_name, pack.sha256)));
        for file in unzip(&pack.zip) {
            assert!(details.contains(&format!("{}: SHA-256 {}", file.0, sha256_hex(&file.1))), "{}", file.0);
        }
        assert_eq!(pack.file_name, "evidence-plan-7-2026-v1-send-11-20260101T010000Z.zip");
    }

    #[test]
    fn a_send_without_replies_says_so() {
        let mut f = facts();
        f.events.truncate(1);
        let pack = assemble(&f).unwrap();
        assert!(!unzip(&pack.zip).iter().any(|(n, _)| n.starts_with(REPLIES_DIR)));
        let summary = String::from_utf8(unzip(&pack.zip)[0].1.clone()).unwrap();
        assert!(summary.contains("Ответов ЕИС, которые сохраняются в ходе отправки, нет."));
    }
}
