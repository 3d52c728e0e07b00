//! The transaction manager against a real anvil, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::time::{Duration, Instant};

use alloy::consensus::Transaction as _;
use alloy::network::{TransactionBuilder, TransactionResponse as _};
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, Bytes, U256, hex};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use tokio::task::JoinSet;
use warden_store::testing::TestDatabase;
use warden_store::transactions::TransactionLog;
use warden_txm::{TxError, TxManager, TxManagerConfig, TxOutcome, TxStatus};

warden_store::on_both_backends!(
    a_transfer_and_a_call_are_mined_once_per_intent,
    a_call_reverting_at_estimation_uses_no_nonce,
    requests_the_manager_cannot_record_are_refused,
    resume_after_a_restart_mines_the_submitted_transaction_once,
    resume_broadcasts_a_transaction_recorded_but_never_sent,
    the_same_intent_after_a_restart_is_the_recorded_transaction,
    a_lingering_transaction_is_fee_bumped_and_mined_once,
    a_transaction_reverted_on_chain_is_settled_reverted,
    an_unreachable_endpoint_is_an_rpc_error_after_the_configured_attempts,
    the_receipt_timeout_leaves_the_record_pending,
    a_nonce_taken_outside_the_manager_is_settled_dropped,
    concurrent_sends_get_consecutive_nonces,
    a_refused_first_broadcast_keeps_its_nonce_and_a_bump_gets_it_mined,
    at_the_fee_cap_the_transaction_is_broadcast_again_not_bumped,
    a_rollback_that_removes_a_mined_transaction_is_repaired_without_a_restart,
    a_rollback_that_leaves_the_recorded_nonce_ahead_of_the_chain_is_repaired_for_new_sends,
    a_restart_after_a_rollback_left_the_recorded_nonce_ahead_resumes_the_lost_transactions,
    a_lost_transaction_whose_nonce_another_took_after_the_rollback_is_settled_dropped,
    a_node_restarted_from_older_state_is_repaired_without_a_restart,
    a_key_that_cannot_pay_gets_a_clear_error_and_uses_no_nonce,
    a_mined_transaction_counts_only_once_its_confirmations_are_in,
);

/// Init code deploying `PUSH1 0 CALLDATALOAD PUSH1 0 SSTORE STOP`: stores the first calldata
/// word in slot 0.
const STORE_INIT: &str = "6007600c60003960076000f3_60003560005500";

/// Init code deploying a contract that reverts with `Error("no")` on every call: the ABI
/// encoding (selector, offset 0x20, length 2, "no") written to memory, then
/// `REVERT(0, 100)`.
const REVERTER_INIT: &str = concat!(
    "6057600c60003960576000f3_",
    "7f08c379a000000000000000000000000000000000000000000000000000000000600052",
    "6020600452",
    "6002602452",
    "7f6e6f000000000000000000000000000000000000000000000000000000000000604452",
    "60646000fd",
);

fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Quick settings: poll often, retry briefly, never bump unless a test asks for it.
fn fast() -> TxManagerConfig {
    TxManagerConfig {
        poll_interval: Duration::from_millis(20),
        bump_after: Duration::from_secs(60),
        receipt_timeout: Duration::from_secs(20),
        rpc_attempts: 3,
        rpc_backoff: Duration::from_millis(10),
        rpc_backoff_max: Duration::from_millis(50),
        rpc_timeout: Duration::from_secs(5),
        ..TxManagerConfig::default()
    }
}

struct Chain {
    anvil: AnvilInstance,
    provider: DynProvider,
}

impl Chain {
    fn start() -> Self {
        logs();
        let anvil = Anvil::at(warden_testkit::default_anvil_path())
            .try_spawn()
            .expect("starting anvil (run `make setup`)");
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(anvil.endpoint_url())
            .erased();
        Self { anvil, provider }
    }

    /// The manager's key: anvil's first dev account.
    fn signer(&self) -> PrivateKeySigner {
        PrivateKeySigner::from(self.anvil.keys()[0].clone())
    }

    fn sender(&self) -> Address {
        self.signer().address()
    }

    /// A provider signing with the manager's key, as software outside the manager would.
    fn outsider(&self) -> DynProvider {
        warden_txm::signing_provider(self.anvil.endpoint_url(), self.signer())
    }

    async fn manager(&self, db: &TestDatabase, config: TxManagerConfig) -> TxManager {
        TxManager::new(
            self.provider.clone(),
            self.signer(),
            db.open().await,
            config,
        )
        .await
        .unwrap()
    }

    /// The manager's transaction log, read directly.
    async fn log(&self, db: &TestDatabase) -> TransactionLog {
        let chain_id = self.provider.get_chain_id().await.unwrap();
        TransactionLog::new(db.open().await, chain_id, self.sender()).unwrap()
    }

    /// Deploys `init` from another dev account (so the manager's nonces are untouched).
    async fn deploy(&self, init: &str) -> Address {
        let code = Bytes::from(hex::decode(init.replace('_', "")).unwrap());
        let deployer = warden_txm::signing_provider(
            self.anvil.endpoint_url(),
            PrivateKeySigner::from(self.anvil.keys()[9].clone()),
        );
        deployer
            .send_transaction(TransactionRequest::default().with_deploy_code(code))
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap()
            .contract_address
            .expect("a contract address")
    }

    async fn automine(&self, on: bool) {
        self.provider.anvil_set_auto_mine(on).await.unwrap();
    }

    async fn mine(&self) {
        self.provider.evm_mine(None).await.unwrap();
    }

    /// The manager key's nonce as of the latest block.
    async fn mined_nonce(&self) -> u64 {
        self.provider
            .get_transaction_count(self.sender())
            .latest()
            .await
            .unwrap()
    }

    /// Every transaction of the manager's key in every block: (nonce, hash).
    async fn mined(&self) -> Vec<(u64, B256)> {
        let latest = self.provider.get_block_number().await.unwrap();
        let mut mined = Vec::new();
        for number in 0..=latest {
            let block = self
                .provider
                .get_block_by_number(number.into())
                .full()
                .await
                .unwrap()
                .unwrap();
            for tx in block.transactions.txns() {
                if tx.from() == self.sender() {
                    mined.push((tx.nonce(), tx.tx_hash()));
                }
            }
        }
        mined
    }

    async fn balance(&self, of: Address) -> U256 {
        self.provider.get_balance(of).await.unwrap()
    }
}

const RECIPIENT: Address = Address::repeat_byte(0x42);

fn transfer(wei: u64) -> TransactionRequest {
    TransactionRequest::default()
        .to(RECIPIENT)
        .value(U256::from(wei))
}

/// Polls `check` until it holds; fails the test after 15 seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_transfer_and_a_call_are_mined_once_per_intent(db: &TestDatabase) {
    let chain = Chain::start();
    let store = chain.deploy(STORE_INIT).await;
    let txm = chain.manager(db, fast()).await;

    let sent = txm.send("transfer/1", transfer(1000)).await.unwrap();
    assert_eq!(sent.status, TxOutcome::Success);
    assert_eq!((sent.nonce, sent.gas_used, sent.bumps), (0, 21_000, 0));
    assert_eq!(sent.receipt.transaction_hash, sent.tx_hash);
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(1000));
    let record = txm.lookup("transfer/1").await.unwrap().unwrap();
    assert_eq!(record.status, TxStatus::Mined);
    assert_eq!(
        (record.tx_hash, record.block_number, record.gas_used),
        (sent.tx_hash, Some(sent.block_number), Some(21_000))
    );

    let word = Bytes::from(U256::from(42).to_be_bytes::<32>().to_vec());
    let call = txm
        .send(
            "store/42",
            TransactionRequest::default().to(store).input(word.into()),
        )
        .await
        .unwrap();
    assert_eq!((call.status, call.nonce), (TxOutcome::Success, 1));
    assert_eq!(
        chain
            .provider
            .get_storage_at(store, U256::ZERO)
            .await
            .unwrap(),
        U256::from(42)
    );
    assert_eq!(chain.mined_nonce().await, 2);

    // The same intent again: the recorded transaction, nothing new on chain.
    let again = txm.send("transfer/1", transfer(1000)).await.unwrap();
    assert_eq!((again.tx_hash, again.nonce), (sent.tx_hash, 0));
    assert_eq!(again.block_number, sent.block_number);
    assert_eq!(chain.mined_nonce().await, 2);
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(1000));
    assert_eq!(chain.mined().await.len(), 2);
    assert!(txm.pending().await.unwrap().is_empty());
}

async fn a_call_reverting_at_estimation_uses_no_nonce(db: &TestDatabase) {
    let chain = Chain::start();
    let reverter = chain.deploy(REVERTER_INIT).await;
    let txm = chain.manager(db, fast()).await;

    match txm
        .send("doomed/1", TransactionRequest::default().to(reverter))
        .await
    {
        Err(TxError::WouldRevert {
            intent,
            reason,
            data,
        }) => {
            assert_eq!(intent, "doomed/1");
            assert!(reason.ends_with("no"), "revert reason {reason:?}");
            // Error(string) selector.
            assert!(
                data.is_some_and(|data| data.starts_with(&[0x08, 0xc3, 0x79, 0xa0])),
                "revert data"
            );
        }
        other => panic!("expected WouldRevert, got {other:?}"),
    }
    assert_eq!(txm.lookup("doomed/1").await.unwrap(), None);
    assert_eq!(chain.log(db).await.next_nonce().await.unwrap(), None);

    let sent = txm.send("transfer/1", transfer(1)).await.unwrap();
    assert_eq!(sent.nonce, 0);
    assert_eq!(chain.mined_nonce().await, 1);
}

async fn requests_the_manager_cannot_record_are_refused(db: &TestDatabase) {
    let chain = Chain::start();
    let txm = chain.manager(db, fast()).await;
    let refused = [
        (
            "create",
            TransactionRequest::default().with_deploy_code(Bytes::from(vec![0x00])),
        ),
        ("nonce", transfer(1).nonce(7)),
        ("legacy", transfer(1).gas_price(1_000_000_000)),
        ("from", transfer(1).from(Address::repeat_byte(0x99))),
        ("no-recipient", TransactionRequest::default()),
    ];
    for (intent, request) in refused {
        match txm.send(intent, request).await {
            Err(TxError::InvalidRequest { intent: got, .. }) => assert_eq!(got, intent),
            other => panic!("{intent}: expected InvalidRequest, got {other:?}"),
        }
    }
    assert!(matches!(
        txm.send("", transfer(1)).await,
        Err(TxError::InvalidRequest { .. })
    ));
    assert_eq!(chain.log(db).await.next_nonce().await.unwrap(), None);
    assert_eq!(txm.send("fine", transfer(1)).await.unwrap().nonce, 0);
}

async fn resume_after_a_restart_mines_the_submitted_transaction_once(db: &TestDatabase) {
    let chain = Chain::start();
    chain.automine(false).await;
    let txm = chain.manager(db, fast()).await;
    let record = txm.submit("transfer/1", transfer(1000)).await.unwrap();
    assert_eq!((record.nonce, record.status), (0, TxStatus::Pending));
    drop(txm);

    // A new process on the same database, while nothing is mined: resume broadcasts the
    // transaction again (the node already has it) and gives up waiting; it stays pending.
    let impatient = TxManagerConfig {
        receipt_timeout: Duration::from_millis(300),
        ..fast()
    };
    let txm = chain.manager(db, impatient).await;
    match txm.resume().await {
        Err(TxError::Timeout { nonce, tx_hash, .. }) => {
            assert_eq!((nonce, tx_hash), (0, record.tx_hash));
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert_eq!(chain.mined_nonce().await, 0);
    assert_eq!(txm.pending().await.unwrap(), vec![record.clone()]);
    drop(txm);

    // Another restart; mining comes back while resume waits.
    let txm = chain.manager(db, fast()).await;
    let resuming = tokio::spawn({
        let txm = txm.clone();
        async move { txm.resume().await }
    });
    chain.automine(true).await;
    chain.mine().await;
    let resumed = resuming.await.unwrap().unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(
        (resumed[0].tx_hash, resumed[0].nonce, resumed[0].status),
        (record.tx_hash, 0, TxOutcome::Success)
    );
    // Mined exactly once.
    assert_eq!(chain.mined().await, vec![(0, record.tx_hash)]);
    assert_eq!(
        txm.lookup("transfer/1").await.unwrap().unwrap().status,
        TxStatus::Mined
    );

    let next = txm.send("transfer/2", transfer(1)).await.unwrap();
    assert_eq!(next.nonce, 1);
    assert_eq!(chain.mined().await.len(), 2);
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(1001));
}

async fn resume_broadcasts_a_transaction_recorded_but_never_sent(db: &TestDatabase) {
    let chain = Chain::start();
    let txm = chain.manager(db, fast()).await;
    // Recorded and signed, then "the process dies" before broadcasting.
    let record = txm.prepare("transfer/1", transfer(1000)).await.unwrap();
    assert_eq!(record.status, TxStatus::Pending);
    drop(txm);
    assert!(
        chain
            .provider
            .get_transaction_by_hash(record.tx_hash)
            .await
            .unwrap()
            .is_none(),
        "prepare must not broadcast"
    );
    assert_eq!(chain.mined_nonce().await, 0);

    let txm = chain.manager(db, fast()).await;
    let resumed = txm.resume().await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].tx_hash, record.tx_hash);
    assert!(resumed[0].succeeded());
    assert_eq!(chain.mined().await, vec![(0, record.tx_hash)]);
    assert!(txm.resume().await.unwrap().is_empty());

    assert_eq!(txm.send("transfer/2", transfer(1)).await.unwrap().nonce, 1);
}

async fn the_same_intent_after_a_restart_is_the_recorded_transaction(db: &TestDatabase) {
    let chain = Chain::start();
    let txm = chain.manager(db, fast()).await;
    let record = txm.prepare("transfer/1", transfer(1000)).await.unwrap();
    drop(txm);

    // After a restart the caller sends the intent again (even with a different request): the
    // recorded transaction is broadcast and waited for, nothing else is sent.
    let txm = chain.manager(db, fast()).await;
    let sent = txm.send("transfer/1", transfer(5)).await.unwrap();
    assert_eq!((sent.tx_hash, sent.nonce), (record.tx_hash, 0));
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(1000));
    assert_eq!(chain.mined().await, vec![(0, record.tx_hash)]);
}

async fn a_lingering_transaction_is_fee_bumped_and_mined_once(db: &TestDatabase) {
    let chain = Chain::start();
    chain.automine(false).await;
    let config = TxManagerConfig {
        bump_after: Duration::from_millis(300),
        ..fast()
    };
    let txm = chain.manager(db, config).await;
    let log = chain.log(db).await;

    let sending = tokio::spawn({
        let txm = txm.clone();
        async move { txm.send("transfer/1", transfer(1000)).await }
    });
    eventually("two fee bumps on record", || async {
        let bumps = log
            .by_nonce(0)
            .await
            .unwrap()
            .map_or(0, |record| record.bumps);
        bumps >= 2 && log.versions(0).await.unwrap().len() >= 3
    })
    .await;
    let bumped = log.by_nonce(0).await.unwrap().unwrap();
    let first = log.versions(0).await.unwrap()[0];
    assert_ne!(bumped.tx_hash, first);
    chain.mine().await;

    let sent = sending.await.unwrap().unwrap();
    assert_eq!((sent.status, sent.nonce), (TxOutcome::Success, 0));
    assert!(sent.bumps >= 2, "bumps {}", sent.bumps);
    let versions = log.versions(0).await.unwrap();
    assert!(versions.contains(&sent.tx_hash));
    // The node took a replacement: what was mined is not the first version.
    assert_ne!(sent.tx_hash, first);
    // Exactly one transaction with the nonce landed.
    assert_eq!(chain.mined().await, vec![(0, sent.tx_hash)]);
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(1000));
    let mined = chain
        .provider
        .get_transaction_by_hash(sent.tx_hash)
        .await
        .unwrap()
        .unwrap();
    // Signed with the fees on record after the bumps (or a later bump's).
    assert!(alloy::consensus::Transaction::max_fee_per_gas(&mined) >= bumped.max_fee_per_gas);
    let record = log.by_nonce(0).await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.tx_hash),
        (TxStatus::Mined, sent.tx_hash)
    );
}

async fn a_transaction_reverted_on_chain_is_settled_reverted(db: &TestDatabase) {
    let chain = Chain::start();
    let reverter = chain.deploy(REVERTER_INIT).await;
    let txm = chain.manager(db, fast()).await;

    // A gas limit skips estimation, so the revert happens on chain.
    let request = TransactionRequest::default()
        .to(reverter)
        .gas_limit(100_000);
    let sent = txm.send("doomed/1", request).await.unwrap();
    assert_eq!((sent.status, sent.nonce), (TxOutcome::Reverted, 0));
    assert!(!sent.receipt.status());
    let record = txm.lookup("doomed/1").await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.tx_hash, record.block_number),
        (TxStatus::Reverted, sent.tx_hash, Some(sent.block_number))
    );
    match sent.clone().success() {
        Err(TxError::Reverted {
            intent,
            tx_hash,
            block,
            ..
        }) => assert_eq!(
            (intent.as_str(), tx_hash, block),
            ("doomed/1", sent.tx_hash, sent.block_number)
        ),
        other => panic!("expected Reverted, got {other:?}"),
    }
    // Asking again reports the same outcome and sends nothing, even when the request now
    // leaves the gas to estimation, which would refuse it: nothing is estimated for an intent
    // on record.
    assert!(matches!(
        txm.send("doomed/2", TransactionRequest::default().to(reverter))
            .await,
        Err(TxError::WouldRevert { .. })
    ));
    let again = txm
        .send("doomed/1", TransactionRequest::default().to(reverter))
        .await
        .unwrap();
    assert_eq!(
        (again.tx_hash, again.status),
        (sent.tx_hash, TxOutcome::Reverted)
    );
    assert_eq!(chain.mined_nonce().await, 1);
}

async fn an_unreachable_endpoint_is_an_rpc_error_after_the_configured_attempts(db: &TestDatabase) {
    logs();
    let nowhere = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http("http://127.0.0.1:1".parse().unwrap())
        .erased();
    let signer = PrivateKeySigner::random();
    match TxManager::new(nowhere, signer, db.open().await, fast()).await {
        Err(TxError::Rpc {
            method, attempts, ..
        }) => assert_eq!((method, attempts), ("eth_chainId", 3)),
        other => panic!("expected Rpc, got {other:?}"),
    }

    // The node goes away under a running manager.
    let chain = Chain::start();
    let txm = chain.manager(db, fast()).await;
    let log = chain.log(db).await;
    drop(chain);
    let started = Instant::now();
    match txm.send("transfer/1", transfer(1)).await {
        Err(TxError::Rpc { attempts, .. }) => assert_eq!(attempts, 3),
        other => panic!("expected Rpc, got {other:?}"),
    }
    // Two pauses before the retries: 10 ms, then 20 ms.
    assert!(started.elapsed() >= Duration::from_millis(30));
    assert_eq!(txm.lookup("transfer/1").await.unwrap(), None);
    assert_eq!(log.next_nonce().await.unwrap(), None);
}

async fn the_receipt_timeout_leaves_the_record_pending(db: &TestDatabase) {
    let chain = Chain::start();
    chain.automine(false).await;
    let config = TxManagerConfig {
        receipt_timeout: Duration::from_millis(400),
        ..fast()
    };
    let txm = chain.manager(db, config).await;

    let started = Instant::now();
    let (nonce, tx_hash) = match txm.send("transfer/1", transfer(1000)).await {
        Err(TxError::Timeout {
            intent,
            nonce,
            tx_hash,
        }) => {
            assert_eq!(intent, "transfer/1");
            (nonce, tx_hash)
        }
        other => panic!("expected Timeout, got {other:?}"),
    };
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
        "waited {waited:?}"
    );
    let record = txm.lookup("transfer/1").await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.nonce, record.tx_hash),
        (TxStatus::Pending, nonce, tx_hash)
    );
    assert_eq!(txm.pending().await.unwrap(), vec![record]);

    // Still resumable: once mined, waiting again settles it.
    chain.mine().await;
    let sent = txm.wait(nonce).await.unwrap();
    assert_eq!((sent.tx_hash, sent.status), (tx_hash, TxOutcome::Success));
    assert_eq!(
        txm.lookup("transfer/1").await.unwrap().unwrap().status,
        TxStatus::Mined
    );
}

async fn a_nonce_taken_outside_the_manager_is_settled_dropped(db: &TestDatabase) {
    let chain = Chain::start();
    chain.automine(false).await;
    let txm = chain.manager(db, fast()).await;
    let record = txm.submit("transfer/1", transfer(1000)).await.unwrap();

    // Other software with the same key outbids it with another transaction of the same nonce.
    let outsider = TransactionRequest::default()
        .to(Address::repeat_byte(0x77))
        .value(U256::from(1))
        .nonce(record.nonce)
        .gas_limit(21_000)
        .max_fee_per_gas(record.max_fee_per_gas * 2)
        .max_priority_fee_per_gas(record.max_priority_fee_per_gas * 2 + 1);
    let replacement = *chain
        .outsider()
        .send_transaction(outsider)
        .await
        .unwrap()
        .tx_hash();
    chain.mine().await;

    match txm.wait(record.nonce).await {
        Err(TxError::Dropped { intent, nonce, .. }) => {
            assert_eq!((intent.as_str(), nonce), ("transfer/1", 0));
        }
        other => panic!("expected Dropped, got {other:?}"),
    }
    assert_eq!(
        txm.lookup("transfer/1").await.unwrap().unwrap().status,
        TxStatus::Dropped
    );
    assert_eq!(chain.mined().await, vec![(0, replacement)]);
    // The intent stays dropped; a new intent gets the next nonce.
    assert!(matches!(
        txm.send("transfer/1", transfer(1000)).await,
        Err(TxError::Dropped { .. })
    ));
    chain.automine(true).await;
    let next = txm.send("transfer/2", transfer(1000)).await.unwrap();
    assert_eq!(next.nonce, 1);
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(1000));
}

async fn concurrent_sends_get_consecutive_nonces(db: &TestDatabase) {
    let chain = Chain::start();
    let txm = chain.manager(db, fast()).await;
    let mut sends = JoinSet::new();
    for i in 0..4u64 {
        for _ in 0..2 {
            // Every intent twice, concurrently: one transaction each.
            let txm = txm.clone();
            sends.spawn(async move { txm.send(&format!("transfer/{i}"), transfer(i + 1)).await });
        }
    }
    let mut sent = Vec::new();
    while let Some(result) = sends.join_next().await {
        sent.push(result.unwrap().unwrap());
    }
    let mut nonces: Vec<u64> = sent.iter().map(|sent| sent.nonce).collect();
    nonces.sort_unstable();
    assert_eq!(nonces, vec![0, 0, 1, 1, 2, 2, 3, 3]);
    for i in 0..4 {
        let intent = format!("transfer/{i}");
        let hashes: Vec<B256> = sent
            .iter()
            .filter(|sent| sent.intent == intent)
            .map(|sent| sent.tx_hash)
            .collect();
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[0], hashes[1], "{intent}");
    }
    assert_eq!(chain.mined_nonce().await, 4);
    assert_eq!(chain.mined().await.len(), 4);
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(1 + 2 + 3 + 4));
}

async fn a_refused_first_broadcast_keeps_its_nonce_and_a_bump_gets_it_mined(db: &TestDatabase) {
    let chain = Chain::start();
    let config = TxManagerConfig {
        bump_after: Duration::from_millis(100),
        ..fast()
    };
    let txm = chain.manager(db, config).await;
    // A fee cap below the base fee: the node refuses it outright.
    let cheap = transfer(1000)
        .max_fee_per_gas(1)
        .max_priority_fee_per_gas(1);
    let (nonce, refused) = match txm.send("transfer/1", cheap).await {
        Err(TxError::Rejected {
            intent,
            nonce,
            tx_hash,
            reason,
        }) => {
            assert_eq!(intent, "transfer/1");
            assert!(reason.contains("base fee"), "reason {reason:?}");
            (nonce, tx_hash)
        }
        other => panic!("expected Rejected, got {other:?}"),
    };
    assert_eq!(nonce, 0);
    let record = txm.lookup("transfer/1").await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.tx_hash),
        (TxStatus::Pending, refused)
    );
    assert_eq!(chain.mined_nonce().await, 0);

    // Waiting bumps it to at least the market's fees, and the node takes that.
    let sent = txm.wait(nonce).await.unwrap();
    assert!(sent.succeeded());
    assert_ne!(sent.tx_hash, refused);
    assert!(sent.bumps >= 1);
    assert_eq!(chain.mined().await, vec![(0, sent.tx_hash)]);
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(1000));
}

async fn at_the_fee_cap_the_transaction_is_broadcast_again_not_bumped(db: &TestDatabase) {
    let chain = Chain::start();
    chain.automine(false).await;
    let market = chain.provider.estimate_eip1559_fees().await.unwrap();
    // Room for the first version but not for a replacement 10 % above it.
    let cap = market.max_fee_per_gas + market.max_fee_per_gas / 20;
    let config = TxManagerConfig {
        bump_after: Duration::from_millis(50),
        receipt_timeout: Duration::from_millis(500),
        max_fee_per_gas_cap: cap,
        ..fast()
    };
    let txm = chain.manager(db, config).await;
    // Several bump periods pass before the timeout; none may raise the fees past the cap.
    let tx_hash = match txm.send("transfer/1", transfer(1000)).await {
        Err(TxError::Timeout { tx_hash, .. }) => tx_hash,
        other => panic!("expected Timeout, got {other:?}"),
    };
    let record = txm.lookup("transfer/1").await.unwrap().unwrap();
    assert_eq!((record.bumps, record.tx_hash), (0, tx_hash));
    assert!(record.max_fee_per_gas <= cap);
    assert_eq!(
        chain.log(db).await.versions(0).await.unwrap(),
        vec![tx_hash]
    );

    chain.mine().await;
    let sent = txm.wait(record.nonce).await.unwrap();
    assert_eq!((sent.tx_hash, sent.bumps), (tx_hash, 0));
}

impl Chain {
    /// Rolls the chain back to `snapshot` (`anvil_revert`): the blocks mined since are gone, and
    /// so are their transactions (anvil does not return them to its pool).
    async fn roll_back(&self, snapshot: U256) {
        assert!(self.provider.anvil_revert(snapshot).await.unwrap());
    }

    async fn receipt_of(&self, hash: B256) -> bool {
        self.provider
            .get_transaction_receipt(hash)
            .await
            .unwrap()
            .is_some()
    }
}

/// Waiting must not take the receipt timeout: a manager that did not repair would time out.
fn patient_enough() -> TxManagerConfig {
    TxManagerConfig {
        receipt_timeout: Duration::from_secs(8),
        ..fast()
    }
}

/// Before: the keeper's next send of the same intent failed with `ReceiptUnavailable` forever
/// (five times a second in the issue). Now the lost transaction is broadcast again, mined once,
/// and the manager carries on.
async fn a_rollback_that_removes_a_mined_transaction_is_repaired_without_a_restart(
    db: &TestDatabase,
) {
    let chain = Chain::start();
    let txm = chain.manager(db, patient_enough()).await;
    let snapshot = chain.provider.anvil_snapshot().await.unwrap();
    let first = txm.send("transfer/1", transfer(1000)).await.unwrap();
    assert!(first.succeeded());
    chain.mine().await;

    chain.roll_back(snapshot).await;
    assert_eq!(chain.mined_nonce().await, 0);
    assert!(
        !chain.receipt_of(first.tx_hash).await,
        "the rollback kept the receipt"
    );
    assert_eq!(chain.balance(RECIPIENT).await, U256::ZERO);

    // The caller sends the intent again, as the keeper does every round.
    let again = txm.send("transfer/1", transfer(1000)).await.unwrap();
    assert_eq!(
        (again.tx_hash, again.nonce, again.status),
        (first.tx_hash, 0, TxOutcome::Success)
    );
    let record = txm.lookup("transfer/1").await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.block_number),
        (TxStatus::Mined, Some(again.block_number))
    );
    // Mined once, on the chain as it is now.
    assert_eq!(chain.mined().await, vec![(0, first.tx_hash)]);
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(1000));

    let next = txm.send("transfer/2", transfer(1)).await.unwrap();
    assert_eq!((next.nonce, next.status), (1, TxOutcome::Success));
    assert!(txm.pending().await.unwrap().is_empty());
}

/// Before: after the rollback the manager's next nonce was ahead of the chain's, so every new
/// transaction waited behind nonces nobody sent again, until the receipt timeout, forever. Now
/// the lost transactions below it are sent again first and the new one is mined after them.
async fn a_rollback_that_leaves_the_recorded_nonce_ahead_of_the_chain_is_repaired_for_new_sends(
    db: &TestDatabase,
) {
    let chain = Chain::start();
    let txm = chain.manager(db, patient_enough()).await;
    let snapshot = chain.provider.anvil_snapshot().await.unwrap();
    let one = txm.send("transfer/1", transfer(1)).await.unwrap();
    let two = txm.send("transfer/2", transfer(10)).await.unwrap();
    assert_eq!((one.nonce, two.nonce), (0, 1));

    chain.roll_back(snapshot).await;
    assert_eq!(chain.mined_nonce().await, 0);

    let three = txm.send("transfer/3", transfer(100)).await.unwrap();
    assert_eq!((three.nonce, three.status), (2, TxOutcome::Success));
    // The lost two were mined again, as recorded, before it: each intent once.
    assert_eq!(
        chain.mined().await,
        vec![(0, one.tx_hash), (1, two.tx_hash), (2, three.tx_hash)]
    );
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(111));
    for (intent, sent) in [("transfer/1", &one), ("transfer/2", &two)] {
        let settled = txm.send(intent, transfer(1)).await.unwrap();
        assert_eq!(
            (settled.tx_hash, settled.status),
            (sent.tx_hash, TxOutcome::Success)
        );
        let record = txm.lookup(intent).await.unwrap().unwrap();
        assert_eq!(
            (record.status, record.block_number),
            (TxStatus::Mined, Some(settled.block_number))
        );
    }
    assert!(txm.pending().await.unwrap().is_empty());
}

/// Before: a manager started after the rollback took its next nonce from the log (ahead of the
/// chain), `resume` found nothing pending, and every new transaction waited behind the lost
/// ones for good. Now the lost ones are pending again at start-up and `resume` mines them.
async fn a_restart_after_a_rollback_left_the_recorded_nonce_ahead_resumes_the_lost_transactions(
    db: &TestDatabase,
) {
    let chain = Chain::start();
    let txm = chain.manager(db, patient_enough()).await;
    let snapshot = chain.provider.anvil_snapshot().await.unwrap();
    let one = txm.send("transfer/1", transfer(1)).await.unwrap();
    let two = txm.send("transfer/2", transfer(10)).await.unwrap();
    drop(txm);

    // The chain rolls back while the process is down.
    chain.roll_back(snapshot).await;
    assert_eq!(chain.mined_nonce().await, 0);

    let txm = chain.manager(db, patient_enough()).await;
    let resumed = txm.resume().await.unwrap();
    let resumed: Vec<_> = resumed
        .iter()
        .map(|sent| (sent.nonce, sent.tx_hash, sent.status))
        .collect();
    assert_eq!(
        resumed,
        vec![
            (0, one.tx_hash, TxOutcome::Success),
            (1, two.tx_hash, TxOutcome::Success)
        ]
    );
    let three = txm.send("transfer/3", transfer(100)).await.unwrap();
    assert_eq!((three.nonce, three.status), (2, TxOutcome::Success));
    assert_eq!(chain.mined().await.len(), 3);
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(111));
}

/// After the rollback another transaction of the key (outside the manager) takes the lost
/// transaction's nonce: it can never be mined, and is settled as dropped, not reported as
/// mined nor sent again. Before: `ReceiptUnavailable` forever.
async fn a_lost_transaction_whose_nonce_another_took_after_the_rollback_is_settled_dropped(
    db: &TestDatabase,
) {
    let chain = Chain::start();
    let txm = chain.manager(db, patient_enough()).await;
    let snapshot = chain.provider.anvil_snapshot().await.unwrap();
    let lost = txm.send("transfer/1", transfer(1000)).await.unwrap();
    chain.mine().await;
    chain.roll_back(snapshot).await;

    let outsider = *chain
        .outsider()
        .send_transaction(
            TransactionRequest::default()
                .to(Address::repeat_byte(0x77))
                .value(U256::from(1))
                .nonce(0),
        )
        .await
        .unwrap()
        .tx_hash();
    eventually("the outsider's transaction mined", || async {
        chain.mined_nonce().await == 1
    })
    .await;

    match txm.send("transfer/1", transfer(1000)).await {
        Err(TxError::Dropped { intent, nonce, .. }) => {
            assert_eq!((intent.as_str(), nonce), ("transfer/1", 0));
        }
        other => panic!("expected Dropped, got {other:?}"),
    }
    assert_eq!(
        txm.lookup("transfer/1").await.unwrap().unwrap().status,
        TxStatus::Dropped
    );
    assert!(!chain.receipt_of(lost.tx_hash).await);
    let next = txm.send("transfer/2", transfer(5)).await.unwrap();
    assert_eq!((next.nonce, next.status), (1, TxOutcome::Success));
    assert_eq!(chain.mined().await, vec![(0, outsider), (1, next.tx_hash)]);
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(5));
}

/// The fault as it happened: the node was killed and restarted from state 20 blocks
/// back (an older `anvil_dump_state` loaded), losing the blocks and its pool. Before: the next
/// send waited behind nonces nobody sent again until `Timeout`. Now the lost transaction is
/// sent again from the log, then the new one.
async fn a_node_restarted_from_older_state_is_repaired_without_a_restart(db: &TestDatabase) {
    let mut chain = Chain::start();
    let txm = chain.manager(db, patient_enough()).await;
    let kept = txm.send("transfer/1", transfer(1)).await.unwrap();
    let dump = chain.provider.anvil_dump_state().await.unwrap();
    let lost = txm.send("transfer/2", transfer(10)).await.unwrap();
    for _ in 0..20 {
        chain.mine().await;
    }

    // Killed, and started again on the same port from the older state.
    let port = chain.anvil.port();
    chain.anvil.child_mut().kill().unwrap();
    chain.anvil.child_mut().wait().unwrap();
    chain.anvil = Anvil::at(warden_testkit::default_anvil_path())
        .port(port)
        .try_spawn()
        .unwrap();
    assert!(chain.provider.anvil_load_state(dump).await.unwrap());
    assert_eq!(
        chain.mined_nonce().await,
        1,
        "the state before the lost transaction"
    );
    assert!(!chain.receipt_of(lost.tx_hash).await);

    let next = txm.send("transfer/3", transfer(100)).await.unwrap();
    assert_eq!((next.nonce, next.status), (2, TxOutcome::Success));
    assert_eq!(chain.mined_nonce().await, 3);
    let again = txm.send("transfer/2", transfer(10)).await.unwrap();
    assert_eq!(
        (again.tx_hash, again.status),
        (lost.tx_hash, TxOutcome::Success)
    );
    assert_eq!(chain.balance(RECIPIENT).await, U256::from(111));
    let first = txm.send("transfer/1", transfer(1)).await.unwrap();
    assert_eq!(first.tx_hash, kept.tx_hash);
}

async fn a_key_that_cannot_pay_gets_a_clear_error_and_uses_no_nonce(db: &TestDatabase) {
    let chain = Chain::start();
    let txm = chain.manager(db, fast()).await;
    // Enough for the value, not for the gas at the fee cap.
    let funds = U256::from(10_000u64);
    chain
        .provider
        .anvil_set_balance(chain.sender(), funds)
        .await
        .unwrap();
    match txm.send("transfer/1", transfer(1000)).await {
        Err(TxError::InsufficientFunds(shortfall)) => {
            let message = shortfall.to_string();
            assert_eq!(
                (shortfall.address, shortfall.balance, shortfall.value),
                (chain.sender(), funds, U256::from(1000))
            );
            assert!(shortfall.needed > shortfall.balance, "{message}");
            assert!(
                message.starts_with("insufficient funds") && message.contains("fund the key"),
                "{message}"
            );
            assert!(message.contains(&chain.sender().to_string()), "{message}");
        }
        other => panic!("expected InsufficientFunds, got {other:?}"),
    }
    // More value than the key holds at all: the same error, whether the node's estimate or the
    // fee check finds it first.
    match txm.send("transfer/2", transfer(1_000_000)).await {
        Err(TxError::InsufficientFunds(shortfall)) => {
            assert!(shortfall.needed >= U256::from(1_000_000u64), "{shortfall}");
        }
        other => panic!("expected InsufficientFunds, got {other:?}"),
    }
    // Nothing was recorded, no nonce was taken: once funded, the intent is sent with nonce 0.
    assert!(txm.lookup("transfer/1").await.unwrap().is_none());
    chain
        .provider
        .anvil_set_balance(chain.sender(), U256::from(10u64).pow(U256::from(18u64)))
        .await
        .unwrap();
    let sent = txm.send("transfer/1", transfer(1000)).await.unwrap();
    assert!(sent.succeeded());
    assert_eq!(sent.nonce, 0);
}

async fn a_mined_transaction_counts_only_once_its_confirmations_are_in(db: &TestDatabase) {
    let chain = Chain::start();
    chain.automine(false).await;
    let config = TxManagerConfig {
        confirmations: 3,
        ..fast()
    };
    let txm = chain.manager(db, config).await;
    let record = txm.submit("transfer/1", transfer(7)).await.unwrap();
    let mut waiting = tokio::spawn({
        let txm = txm.clone();
        async move { txm.wait(record.nonce).await }
    });

    // Mined in one block: one confirmation of three. The wait goes on, the record stays pending.
    chain.mine().await;
    let mined_in = chain
        .provider
        .get_transaction_receipt(record.tx_hash)
        .await
        .unwrap()
        .and_then(|receipt| receipt.block_number)
        .expect("the transfer is mined");
    // Fifteen polls' time: a wait that took the first receipt would have returned.
    let early = tokio::time::timeout(Duration::from_millis(300), &mut waiting).await;
    assert!(early.is_err(), "returned after one confirmation: {early:?}");
    assert_eq!(
        txm.lookup("transfer/1").await.unwrap().unwrap().status,
        TxStatus::Pending
    );

    // Two more blocks: three confirmations.
    chain.mine().await;
    chain.mine().await;
    let sent = tokio::time::timeout(Duration::from_secs(15), waiting)
        .await
        .expect("the wait ends once confirmed")
        .unwrap()
        .unwrap();
    assert!(sent.succeeded());
    assert_eq!(sent.block_number, mined_in);
    assert_eq!(
        sent.bumps, 0,
        "a mined transaction awaiting confirmations is not bumped"
    );
    assert_ne!(
        txm.lookup("transfer/1").await.unwrap().unwrap().status,
        TxStatus::Pending
    );
}
