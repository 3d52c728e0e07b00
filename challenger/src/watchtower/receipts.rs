//! Receipts awaited in the background, by intent: a challenge waiting for inclusion (and fee
//! bumps) does not stop the watchtower from judging the next commitment.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinHandle;
use warden_txm::{Intent, Sent, TxError, TxRecord};

use super::{Watchtower, lock};

/// Receipts being waited for in the background, by recorded intent text, and the outcomes not
/// yet handled.
#[derive(Debug, Default)]
pub(super) struct Waiters {
    waiting: HashMap<String, JoinHandle<()>>,
    done: HashMap<String, Result<Sent, TxError>>,
}

/// Whether the recorded intent text `intent` is one of Warden's intents that is `wanted`.
fn is(intent: &str, wanted: impl Fn(&Intent) -> bool) -> bool {
    intent.parse::<Intent>().is_ok_and(|intent| wanted(&intent))
}

impl Watchtower {
    /// The outcome of waiting for `record`, once there is one; until then makes sure a
    /// background task waits for it.
    pub(super) fn outcome(&self, record: &TxRecord) -> Option<Result<Sent, TxError>> {
        let outcome = lock(&self.waiters).done.remove(&record.intent);
        if outcome.is_none() {
            self.watch_transaction(record);
        }
        outcome
    }

    /// Takes every outcome whose intent is `wanted`, in intent order.
    pub(super) fn take_outcomes(
        &self,
        wanted: impl Fn(&Intent) -> bool,
    ) -> Vec<(String, Result<Sent, TxError>)> {
        let mut waiters = lock(&self.waiters);
        let mut intents: Vec<String> = waiters
            .done
            .keys()
            .filter(|intent| is(intent, &wanted))
            .cloned()
            .collect();
        intents.sort();
        intents
            .into_iter()
            .filter_map(|intent| {
                let outcome = waiters.done.remove(&intent)?;
                Some((intent, outcome))
            })
            .collect()
    }

    /// Whether a receipt is being waited for, for an intent that is `wanted`.
    pub(super) fn waiting_on(&self, wanted: impl Fn(&Intent) -> bool) -> bool {
        lock(&self.waiters)
            .waiting
            .keys()
            .any(|intent| is(intent, &wanted))
    }

    pub(super) fn has_outcome(&self, intent: &str) -> bool {
        lock(&self.waiters).done.contains_key(intent)
    }

    /// Starts a background wait for `record`'s receipt, unless one is running or its outcome is
    /// waiting to be handled.
    pub(super) fn watch_transaction(&self, record: &TxRecord) {
        let mut waiters = lock(&self.waiters);
        if waiters.waiting.contains_key(&record.intent) || waiters.done.contains_key(&record.intent)
        {
            return;
        }
        let txm = self.txm.clone();
        let nonce = record.nonce;
        let intent = record.intent.clone();
        let shared = Arc::clone(&self.waiters);
        let handle = tokio::spawn(async move {
            let outcome = txm.wait(nonce).await;
            let mut waiters = lock(&shared);
            waiters.waiting.remove(&intent);
            waiters.done.insert(intent, outcome);
        });
        waiters.waiting.insert(record.intent.clone(), handle);
    }

    pub(super) fn stop_waiting(&self) {
        for (_, handle) in lock(&self.waiters).waiting.drain() {
            handle.abort();
        }
    }
}
