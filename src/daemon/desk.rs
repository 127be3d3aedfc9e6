//! The daemon's desk for the keypad menu: what a modem task's menu asks (`modem::ivr::IvrDesk`)
//! answered from the appeals (`calls::desk`), with the directory as it is now.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::appeals::actions::Ctx;
use crate::clock::Clock;
use crate::config::Config;
use crate::directory::DirectoryHandle;
use crate::modem::ivr::{DeskError, IvrDesk};
use crate::store::Store;

pub struct AppealDesk {
    pub store: Store,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub directory: DirectoryHandle,
    /// The modem whose menu this desk serves: the rating's text goes out through it.
    pub modem: String,
}

fn desk_error(e: crate::store::StoreError) -> DeskError {
    DeskError(e.to_string())
}

impl IvrDesk for AppealDesk {
    fn status<'a>(
        &'a self,
        phone: &'a str,
        number: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, DeskError>> {
        Box::pin(async move {
            crate::calls::desk::status_text(&self.store, phone, number)
                .await
                .map_err(desk_error)
        })
    }

    fn rating_due<'a>(
        &'a self,
        phone: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, DeskError>> {
        Box::pin(async move {
            crate::calls::desk::rating_due(&self.store, phone)
                .await
                .map_err(desk_error)
        })
    }

    fn rate<'a>(&'a self, phone: &'a str, score: u8) -> BoxFuture<'a, Result<String, DeskError>> {
        Box::pin(async move {
            let ctx = Ctx::new(&self.config, self.directory.current());
            let now = self.clock.now();
            crate::calls::desk::rate(&self.store, &ctx, phone, &self.modem, score, now)
                .await
                .map_err(desk_error)
        })
    }
}
