//! After a send is loaded: polling ЕИС until the customer places the draft, then reading the
//! placed version's export for the plan number and the position numbers.

use crate::Exchange;
use crate::time::after;
use domain::SendStatus;
use eis::client::{ClientError, Credentials};
use store::sends::{ClaimedSend, EventNote, Outcome, Publication};
use store::{StoreError, now};

impl Exchange {
    /// After «Загрузка завершена успешно»: asks ЕИС whether the draft was placed; once it was,
    /// reads the placed version's export and records the plan and position numbers.
    pub(crate) async fn follow_publication(&self, claimed: ClaimedSend) -> Result<(), StoreError> {
        let send = &claimed.send;
        let store = &self.inner.store;
        let worker = &self.inner.worker_id;
        let config = &self.inner.config;
        // The user may have regenerated the password since sending: prefer the saved one.
        let login = match store.eis_credentials(send.requested_by).await? {
            Some(saved) if saved.login == send.eis_login => saved,
            _ => claimed.credentials.clone(),
        };
        let creds = Credentials { login: login.login.clone(), password: login.password.clone() };
        let request = eis::docproject::DocProjectStatusRequest::new(
            &config.envelope.sender,
            config.envelope.mode,
            vec![send.packet_id.clone()],
        );
        let status = self.inner.client.doc_project_status(&creds, &request).await;
        self.record_eis_call(&status).await;
        let result = match status {
            Ok(reply) => {
                let placed = reply.value.statuses.iter().find(|s| s.doc_project_id == send.packet_id).and_then(|s| {
                    match &s.state {
                        eis::docproject::DocProjectState::Published { published_doc_id } => {
                            Some(published_doc_id.clone())
                        }
                        eis::docproject::DocProjectState::NotPublished => None,
                    }
                });
                match placed {
                    None => {
                        let quiet = Outcome {
                            violations: 0,
                            status: SendStatus::Loaded,
                            next_attempt_at: Some(after(now(), config.publication_poll_interval)),
                            count_attempt: false,
                            failed: false,
                            last_error: None,
                            event: None,
                        };
                        self.record(send.id, &quiet).await?;
                        return Ok(());
                    }
                    Some(doc_id) => self.inner.client.export_by_doc(&creds, &doc_id).await,
                }
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(export) => {
                let Some(plan_number) = export.value.plan_number().map(str::to_owned) else {
                    return self
                        .retry_publication(
                            send,
                            "ЕИС прислала сведения о размещении без реестрового номера плана-графика",
                            Some(&export.raw),
                        )
                        .await;
                };
                let Some(version) = store.version_head(send.version_id).await? else {
                    return Err(StoreError::Corrupt(format!("send {} without its version", send.id)));
                };
                let prefix = format!("plangraf-{}-", version.plan_id);
                let numbers: std::collections::BTreeMap<String, String> = export
                    .value
                    .position_numbers()
                    .into_iter()
                    .filter_map(|(ext, number)| Some((ext.strip_prefix(&prefix)?.to_owned(), number?.to_owned())))
                    .collect();
                let message = format!("ЕИС разместила версию: реестровый номер плана-графика {plan_number}");
                let outcome = Outcome {
                    violations: 0,
                    status: SendStatus::Published,
                    next_attempt_at: None,
                    count_attempt: false,
                    failed: false,
                    last_error: None,
                    event: Some(EventNote {
                        message: &message,
                        http_status: Some(export.http_status),
                        raw_reply: Some(&export.raw),
                    }),
                };
                let publication = Publication {
                    plan_id: version.plan_id,
                    version_id: version.id,
                    plan_number: &plan_number,
                    position_numbers: &numbers,
                };
                if store.record_publication(send.id, worker, &publication, &outcome).await? {
                    config.metrics.send_ended(outcome.status);
                }
                tracing::info!(send_id = send.id.get(), %plan_number, "version placed in ЕИС");
                Ok(())
            }
            Err(ClientError::Unauthorized { info, raw } | ClientError::Forbidden { info, raw }) => {
                let message = format!(
                    "Не удалось узнать, размещён ли план-график: ЕИС отклонила логин или пароль ({}). Обновите «Регистрационные данные в ЕИС»",
                    info.message
                );
                store.mark_eis_credentials(send.requested_by, &login.login, false, Some(&message)).await?;
                self.retry_publication(send, &message, Some(&raw)).await
            }
            Err(e) => {
                let message = format!("Не удалось узнать, размещён ли план-график ({e})");
                self.retry_publication(send, &message, e.raw()).await
            }
        }
    }

    /// Keeps a loaded send loaded and tries again later, saying why on the timeline.
    async fn retry_publication(
        &self,
        send: &store::sends::Send,
        why: &str,
        raw: Option<&str>,
    ) -> Result<(), StoreError> {
        let floor = self.inner.config.publication_poll_interval;
        let delay = self.backoff(send.consecutive_failures + 1).max(floor);
        let message = format!("{why}. {}", self.backoff_ru(send.consecutive_failures + 1, floor));
        let outcome = Outcome {
            violations: 0,
            status: SendStatus::Loaded,
            next_attempt_at: Some(after(now(), delay)),
            count_attempt: true,
            failed: true,
            last_error: Some(&message),
            event: Some(EventNote { message: &message, http_status: None, raw_reply: raw }),
        };
        self.record(send.id, &outcome).await?;
        Ok(())
    }
}
