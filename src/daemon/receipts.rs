//! The daemon's receipt sink: what a modem task reads is committed to the inbox table
//! (`inbox::store_raw_batch`), one transaction per batch; a finished call to the calls table
//! (`calls::record`).

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::modem::{CallRecord, ReceiptError, ReceiptSink};
use crate::store::Store;

/// Commits received PDUs to the inbox of `store`.
pub struct InboxReceipts(pub Store);

impl ReceiptSink for InboxReceipts {
    fn commit<'a>(
        &'a self,
        modem: &'a str,
        pdus: &'a [&'a str],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<usize, ReceiptError>> {
        Box::pin(async move {
            crate::inbox::store_raw_batch(&self.0, modem, pdus, now)
                .await
                .map_err(|e| ReceiptError(e.to_string()))
        })
    }

    fn commit_call<'a>(
        &'a self,
        modem: &'a str,
        call: &'a CallRecord,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), ReceiptError>> {
        Box::pin(async move {
            let c = crate::calls::NewCall {
                phone: call.number.as_deref(),
                rang_at: call.rang_at,
                mode: call.mode.as_str(),
                ended: call.ended.as_str(),
                menu: call.menu.as_deref(),
                callback: call.callback,
            };
            crate::calls::record(&self.0, modem, c, now)
                .await
                .map_err(|e| ReceiptError(e.to_string()))
        })
    }
}
