//! Notifications: the caller's own list, marking read, and the choices per kind with the
//! e-mail address («Уведомления», «Настройки уведомлений»). Every read and write here is of the
//! caller's own notifications and settings: the store's queries are keyed by the caller's id,
//! so no one reaches another user's.

use crate::{Error, Result, Workflow};
use domain::account::parse_email;
use store::notify::{Kind, Notification, Preference};
use store::users::User;

/// Notifications per page of the list.
pub const PAGE_SIZE: i64 = 50;

/// One page of the caller's notifications.
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub page: i64,
    pub more: bool,
    pub unread: i64,
}

/// The caller's settings: the e-mail address and the choices per kind.
pub struct NotificationSettings {
    pub email: Option<String>,
    pub preferences: Vec<Preference>,
}

impl Workflow {
    /// Page `page` (from 1) of the caller's notifications, newest first.
    pub async fn notifications(&self, user: &User, page: i64) -> Result<NotificationPage> {
        let page = page.clamp(1, 1_000_000);
        let (items, more) = self.store.notifications(user.id, (page - 1) * PAGE_SIZE, PAGE_SIZE).await?;
        let unread = self.store.unread_notifications(user.id).await?;
        Ok(NotificationPage { items, page, more, unread })
    }

    /// Marks one of the caller's notifications read; someone else's is not found.
    pub async fn mark_notification_read(&self, user: &User, id: i64) -> Result<()> {
        if self.store.mark_notification_read(user.id, id).await? { Ok(()) } else { Err(Error::NotFound) }
    }

    /// Marks all the caller's notifications read; returns how many were unread.
    pub async fn mark_all_notifications_read(&self, user: &User) -> Result<u64> {
        Ok(self.store.mark_all_notifications_read(user.id).await?)
    }

    pub async fn notification_settings(&self, user: &User) -> Result<NotificationSettings> {
        Ok(NotificationSettings {
            email: self.store.user_email(user.id).await?,
            preferences: self.store.notification_preferences(user.id).await?,
        })
    }

    /// Saves the caller's address and choices. An address that is not one refuses everything
    /// (nothing is saved). Choosing e-mail without an address is refused too: nothing could be sent.
    pub async fn save_notification_settings(&self, user: &User, email: &str, preferences: &[Preference]) -> Result<()> {
        let email = parse_email(email).map_err(|m| Error::field("email", m))?;
        if email.is_none() && preferences.iter().any(|p| p.email) {
            return Err(Error::field(
                "email",
                "Чтобы получать уведомления по электронной почте, укажите адрес электронной почты или снимите отметки «По почте»",
            ));
        }
        let mut all = Vec::with_capacity(Kind::ALL.len());
        for kind in Kind::ALL {
            let chosen = preferences.iter().find(|p| p.kind == kind);
            all.push(chosen.copied().unwrap_or(Preference { kind, in_app: false, email: false }));
        }
        self.store.save_notification_settings(user.id, email.as_deref(), &all).await?;
        Ok(())
    }
}
