//! Warden's transaction manager: how every role (aggregator, challenger, operator) sends its
//! transactions with its one key.
//!
//! A [`TxManager`] owns one key on one chain and sends by **intent**: unique per key, naming what
//! the transaction is for. Warden's roles name theirs with [`Intent`], recorded as its text
//! (`commitOutput/task/12/attempt/1`); any other text works too (tools, tests).
//! Sending an intent that is on record never sends anything new; it waits for the recorded
//! transaction. That makes every send safe to repeat — after a timeout, after an RPC failure,
//! after a crash and restart.
//!
//! What makes that hold:
//!
//! - **The signed bytes are on record before the first broadcast.** [`TxManager::prepare`]
//!   estimates gas and fees, takes the next nonce, signs locally and inserts the record (in
//!   [`warden_store::transactions::TransactionLog`]) before anything leaves the process. A
//!   crash between recording and broadcasting is repaired by [`TxManager::resume`], which
//!   broadcasts what is on record.
//! - **Nonces survive restarts.** The next nonce starts as the larger of the log's next nonce and
//!   the chain's mined nonce, then lives in memory behind a mutex held only while a nonce is
//!   assigned, the transaction signed and its record inserted — never across an RPC call, so a
//!   slow node does not serialise every sender. A request that fails gas estimation never takes
//!   a nonce, so it cannot leave a gap that strands later transactions.
//! - **Every version counts.** A transaction not mined within [`TxManagerConfig::bump_after`] is
//!   re-signed with higher fees and recorded as a new version; waiting asks for the receipt of
//!   every version, since any of them may be the one mined.
//! - **A rollback is repaired, not reported forever.** A transaction on record as mined that
//!   the chain lost (a reorg, a node restarted from older state) is put back to pending and its
//!   recorded bytes broadcast again, with every other lost or stalled transaction below the
//!   nonce being waited for, lowest first: the key's nonces on record and on chain meet again
//!   without a restart, and a manager started after a rollback finds the lost ones pending for
//!   [`TxManager::resume`]. A lost transaction whose nonce another transaction of the key took
//!   meanwhile is settled as dropped. See `manager/rollback.rs`.
//! - **RPC failures are retried, answers are not.** Transport failures are retried with
//!   exponential backoff and logged; a node's error response is final, except for the
//!   broadcast answers ("already known", "nonce too low", "replacement transaction
//!   underpriced") that mean the transaction is in hand.
//!
//! One manager per key: clone it to share it between tasks (clones share the nonce and the
//! record). Two managers (or processes) sending with the same key would hand out the same nonces.
//!
//! A mined transaction that reverted is **not** an error of [`TxManager::send`] or
//! [`TxManager::wait`]: the manager did its job, and the outcome is [`Sent::status`]
//! ([`TxOutcome::Reverted`]). [`Sent::success`] turns it into [`TxError::Reverted`] for callers
//! that treat a revert as a failure. This keeps [`TxManager::resume`], which settles many
//! transactions at once, from stopping at the first revert.

mod call;
mod config;
mod error;
mod fees;
pub mod gas;
mod intent;
mod manager;
pub mod rpc;

pub use config::{MIN_BUMP_PERCENT, TransactionsConfig, TxManagerConfig};
pub use error::{Shortfall, TxError, ether, gwei};
pub use gas::{PaddedGasFiller, signing_provider};
pub use intent::{Intent, UnknownIntent};
pub use manager::{Sent, TxManager, TxOutcome};
pub use warden_store::transactions::{TxRecord, TxStatus};
