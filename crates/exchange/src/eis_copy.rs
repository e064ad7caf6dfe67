//! ЕИС's copy of a plan-schedule: asking ЕИС for the export of a plan («Загрузить из ЕИС»,
//! «Сверить с ЕИС»), bounded in reads at once, and what a failure means in Russian. Reading
//! the export into positions is `plan_packets::read`'s.

use std::sync::Arc;

use eis::client::{ClientError, Credentials, Reply};
use eis::export::ExportedPlan;

use crate::Exchange;
pub use plan_packets::read::{EisCopy, as_eis_holds, copy_of};

/// Why ЕИС's copy could not be read.
#[derive(Debug)]
pub enum FetchError {
    /// As many reads of ЕИС's copies as allowed are under way.
    Busy,
    /// The exchange failed or ЕИС refused; the Russian words come from [`FetchError::explain`].
    Client(ClientError),
}

impl FetchError {
    /// What happened, in Russian, with the next step where there is one.
    pub fn explain(&self) -> String {
        match self {
            FetchError::Busy => "Сейчас выполняется слишком много запросов к ЕИС. Повторите через минуту.".to_owned(),
            FetchError::Client(ClientError::Unauthorized { info, .. }) => format!(
                "ЕИС отклонила логин или пароль: {} (код {}). Проверьте «Регистрационные данные в ЕИС» в «Настройки»: \
                 пароль для интеграции мог быть сформирован заново в личном кабинете ЕИС.",
                info.message, info.code
            ),
            FetchError::Client(ClientError::Forbidden { info, .. }) => format!(
                "ЕИС отказала в доступе: {} (код {}). У пользователя ЕИС нет права «Работа с планом-графиком»: \
                 попросите администратора организации в ЕИС выдать его («Администрирование» → «Пользователи \
                 организации» → «Права доступа»).",
                info.message, info.code
            ),
            FetchError::Client(ClientError::Server { status: 404, raw }) => format!(
                "ЕИС не нашла размещенный план-график: {}. Проверьте реестровый номер: план-график должен быть \
                 размещен в ЕИС.",
                crate::failures::refusal_text(raw)
            ),
            FetchError::Client(e) => format!("{}. Повторите позже.", crate::failures::failure_ru(e)),
        }
    }

    /// ЕИС's reply, when there was one: kept with whatever the attempt recorded.
    pub fn raw(&self) -> Option<&str> {
        match self {
            FetchError::Busy => None,
            FetchError::Client(e) => e.raw(),
        }
    }
}

/// Reads of ЕИС's copies at once: each holds an export of up to tens of megabytes.
pub(crate) const COPY_READS_AT_ONCE: usize = 4;

impl Exchange {
    /// The export of the latest placed version of `plan_number`, asked with the user's ЕИС
    /// credentials. Refused at once when [`COPY_READS_AT_ONCE`] reads are under way.
    pub async fn eis_export(&self, creds: &Credentials, plan_number: &str) -> Result<Reply<ExportedPlan>, FetchError> {
        let Ok(_permit) = Arc::clone(&self.inner.copy_reads).try_acquire_owned() else {
            return Err(FetchError::Busy);
        };
        self.inner.client.export_by_plan_number(creds, plan_number).await.map_err(FetchError::Client)
    }
}
