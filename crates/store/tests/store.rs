//! Every record of the store, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{Address, B256, Bytes, U256};
use warden_protocol::{OperatorId, TaskAttestation};
use warden_store::aggregator::{
    AggregatorStore, EquivocationRecord, StoredSignature, SubmissionStatus, TaskRecord, TaskState,
};
use warden_store::challenger::{Claim, ClaimState, ClaimStore};
use warden_store::cursor::{ChainCursor, KEPT_STOPS, Stop};
use warden_store::operator::{ImportError, Recorded, SignedOutput, SlashingProtection};
use warden_store::testing::TestDatabase;
use warden_store::transactions::{Inserted, TransactionLog, TxRecord, TxStatus};
use warden_store::{Backend, DatabaseUrl, DatabaseUrlError, Store, StoreError};

warden_store::on_both_backends!(
    slashing_protection_keeps_the_first_output_for_good,
    a_task_replaced_by_a_reorg_is_a_new_attestation,
    the_same_task_on_another_chain_or_contract_or_agent_or_verifier_is_a_new_attestation,
    an_import_merges_or_writes_nothing,
    records_of_the_first_schema_survive_the_migration,
    records_survive_closing_and_reopening,
    a_record_keeps_the_trace_it_signed,
    an_import_naming_another_trace_for_a_recorded_output_writes_nothing,
    a_malformed_trace_on_record_is_named,
    the_cursor_advances_rewinds_and_prunes,
    transactions_are_unique_per_intent_and_nonce,
    migrations_run_once,
    the_aggregator_resumes_tasks_signatures_and_submissions,
    claims_keep_their_first_finding,
    concurrent_read_then_write_transactions_all_commit,
);

fn operator(byte: u8) -> OperatorId {
    OperatorId(B256::repeat_byte(byte))
}

fn task(task_id: u64, input: u8) -> TaskAttestation {
    TaskAttestation {
        chain_id: 31337,
        task_manager: Address::repeat_byte(0x70),
        task_id,
        agent_id: 1,
        agent_hash: B256::repeat_byte(0xa9),
        verifier: Address::repeat_byte(0xa8),
        input_hash: B256::repeat_byte(input),
        reference_block: 100 + task_id as u32,
    }
}

fn signed_for(attestation: TaskAttestation, output: u8) -> SignedOutput {
    SignedOutput {
        attestation,
        output_hash: B256::repeat_byte(output),
        output: Bytes::from(vec![output; 5]),
        signature: Bytes::from(vec![0xa0; 96]),
        trace: Vec::new(),
        delivered: false,
    }
}

/// A large agent's record: `signed` with a trace of `length` chunk hashes starting at `first`.
fn traced(task_id: u64, output: u8, first: u8, length: u8) -> SignedOutput {
    SignedOutput {
        trace: (first..first + length).map(B256::repeat_byte).collect(),
        ..signed(task_id, 1, output)
    }
}

fn signed(task_id: u64, input: u8, output: u8) -> SignedOutput {
    signed_for(task(task_id, input), output)
}

async fn slashing_protection_keeps_the_first_output_for_good(db: &TestDatabase) {
    let store = db.open().await;
    let protection = SlashingProtection::new(store.clone(), operator(0x11));
    let first = signed(7, 1, 0xaa);
    assert_eq!(protection.record(&first).await.unwrap(), Recorded::New);
    // The same output again: the record is handed back, nothing changes.
    assert_eq!(
        protection.record(&first).await.unwrap(),
        Recorded::Existing(Box::new(first.clone()))
    );
    // Another output for the same signing root: refused, the first one comes back.
    let second = signed(7, 1, 0xbb);
    assert_eq!(
        protection.record(&second).await.unwrap(),
        Recorded::Existing(Box::new(first.clone()))
    );
    // Another operator in the same database has a record of its own.
    let other = SlashingProtection::new(store, operator(0x22));
    assert_eq!(other.record(&second).await.unwrap(), Recorded::New);

    assert_eq!(protection.undelivered().await.unwrap(), vec![first.clone()]);
    protection
        .mark_delivered(first.signing_root())
        .await
        .unwrap();
    assert!(protection.undelivered().await.unwrap().is_empty());
    assert!(
        protection
            .find(first.signing_root())
            .await
            .unwrap()
            .unwrap()
            .delivered
    );
}

async fn a_task_replaced_by_a_reorg_is_a_new_attestation(db: &TestDatabase) {
    let protection = SlashingProtection::new(db.open().await, operator(0x11));
    protection.record(&signed(3, 1, 0xaa)).await.unwrap();
    let replaced = signed(3, 2, 0xbb);
    assert_eq!(protection.record(&replaced).await.unwrap(), Recorded::New);
    assert_eq!(protection.for_task(3).await.unwrap().len(), 2);
}

async fn the_same_task_on_another_chain_or_contract_or_agent_or_verifier_is_a_new_attestation(
    db: &TestDatabase,
) {
    let protection = SlashingProtection::new(db.open().await, operator(0x11));
    let base = task(5, 1);
    protection.record(&signed_for(base, 0xaa)).await.unwrap();
    // The first schema's key (task id, input hash, reference block) saw these as one task.
    let others = [
        TaskAttestation {
            chain_id: 1,
            ..base
        },
        TaskAttestation {
            task_manager: Address::repeat_byte(0x71),
            ..base
        },
        TaskAttestation {
            agent_hash: B256::repeat_byte(0xb0),
            ..base
        },
        TaskAttestation {
            verifier: Address::repeat_byte(0xb1),
            ..base
        },
    ];
    for other in others {
        assert_eq!(
            protection.record(&signed_for(other, 0xbb)).await.unwrap(),
            Recorded::New,
            "{other:?}"
        );
    }
    assert_eq!(protection.for_task(5).await.unwrap().len(), 5);
    assert_eq!(protection.all().await.unwrap().len(), 5);
}

async fn an_import_merges_or_writes_nothing(db: &TestDatabase) {
    let protection = SlashingProtection::new(db.open().await, operator(0x11));
    let here = signed(1, 1, 0xaa);
    protection.record(&here).await.unwrap();

    let delivered = |record: SignedOutput| SignedOutput {
        delivered: true,
        ..record
    };
    let summary = protection
        .import(&[delivered(here.clone()), delivered(signed(2, 1, 0xaa))])
        .await
        .unwrap();
    assert_eq!((summary.added, summary.already_known), (1, 1));
    let imported = protection
        .find(signed(2, 1, 0xaa).signing_root())
        .await
        .unwrap()
        .unwrap();
    assert!(imported.delivered, "imported records are not re-sent");

    // A new record beside one naming another output for a root on record: nothing is written.
    let error = protection
        .import(&[signed(3, 1, 0xaa), signed(1, 1, 0xbb)])
        .await
        .unwrap_err();
    assert!(
        matches!(error, ImportError::Conflict { task_id: 1, .. }),
        "{error}"
    );
    assert!(protection.for_task(3).await.unwrap().is_empty());
    // Two outputs for one root within one file are a conflict too.
    let error = protection
        .import(&[signed(4, 1, 0xaa), signed(4, 1, 0xbb)])
        .await
        .unwrap_err();
    assert!(
        matches!(error, ImportError::Conflict { task_id: 4, .. }),
        "{error}"
    );
    assert!(protection.for_task(4).await.unwrap().is_empty());
    assert_eq!(
        protection
            .find(here.signing_root())
            .await
            .unwrap()
            .unwrap()
            .output_hash,
        here.output_hash
    );
}

/// A database made by the first schema, with one of its records, then opened (migrated) by
/// this version: the record is kept for the operator to adopt, and adopting it keys it by
/// signing root.
async fn records_of_the_first_schema_survive_the_migration(db: &TestDatabase) {
    let first_schema = tempfile::tempdir().unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    std::fs::copy(
        migrations.join("20261126000001_durable_state.sql"),
        first_schema.path().join("20261126000001_durable_state.sql"),
    )
    .unwrap();
    sqlx::any::install_default_drivers();
    let url = match db.backend() {
        Backend::Postgres => db.url().to_owned(),
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", db.url()),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(first_schema.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO operator_signatures (operator_id, task_id, input_hash, reference_block, \
         agent_id, output_hash, output, signature, signed_at_ms, delivered_at_ms) \
         VALUES ($1, 6, $2, 106, 1, $3, '0xaaaa', '0xa0a0', 1, NULL)",
    )
    .bind(operator(0x11).to_string())
    .bind(B256::repeat_byte(1).to_string())
    .bind(B256::repeat_byte(0xaa).to_string())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let protection = SlashingProtection::new(db.open().await, operator(0x11));
    let legacy = protection.legacy().await.unwrap();
    assert_eq!(legacy.len(), 1);
    assert_eq!(
        (
            legacy[0].task_id,
            legacy[0].reference_block,
            legacy[0].delivered
        ),
        (6, 106, false)
    );
    assert!(protection.all().await.unwrap().is_empty());

    let adopted = SignedOutput {
        output: legacy[0].output.clone(),
        signature: legacy[0].signature.clone(),
        ..signed(6, 1, 0xaa)
    };
    assert_eq!(
        protection.adopt_legacy(&legacy[0], &adopted).await.unwrap(),
        Recorded::New
    );
    assert!(protection.legacy().await.unwrap().is_empty());
    assert_eq!(
        protection.undelivered().await.unwrap(),
        vec![adopted.clone()]
    );
    assert_eq!(
        protection.record(&signed(6, 1, 0xbb)).await.unwrap(),
        Recorded::Existing(Box::new(adopted))
    );
}

async fn records_survive_closing_and_reopening(db: &TestDatabase) {
    let store = db.open().await;
    let operator = operator(0x11);
    SlashingProtection::new(store.clone(), operator)
        .record(&signed(9, 1, 0xaa))
        .await
        .unwrap();
    ChainCursor::new(store.clone(), "operator")
        .advance(Stop {
            number: 42,
            hash: B256::repeat_byte(4),
        })
        .await
        .unwrap();
    store.close().await;

    let reopened = db.open().await;
    let protection = SlashingProtection::new(reopened.clone(), operator);
    assert_eq!(
        protection.record(&signed(9, 1, 0xcc)).await.unwrap(),
        Recorded::Existing(Box::new(signed(9, 1, 0xaa)))
    );
    assert_eq!(
        ChainCursor::new(reopened, "operator")
            .last()
            .await
            .unwrap()
            .map(|stop| stop.number),
        Some(42)
    );
}

async fn a_record_keeps_the_trace_it_signed(db: &TestDatabase) {
    let store = db.open().await;
    let protection = SlashingProtection::new(store.clone(), operator(0x11));
    let first = traced(11, 0xaa, 1, 3);
    assert_eq!(protection.record(&first).await.unwrap(), Recorded::New);
    assert_eq!(
        protection.find(first.signing_root()).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(protection.undelivered().await.unwrap(), vec![first.clone()]);
    // The same output with another trace is a second signature: the first comes back, trace
    // and all.
    assert_eq!(
        protection.record(&traced(11, 0xaa, 7, 2)).await.unwrap(),
        Recorded::Existing(Box::new(first.clone()))
    );
    store.close().await;

    let reopened = SlashingProtection::new(db.open().await, operator(0x11));
    assert_eq!(reopened.all().await.unwrap(), vec![first.clone()]);
    assert_eq!(
        reopened.record(&signed(11, 1, 0xaa)).await.unwrap(),
        Recorded::Existing(Box::new(first)),
        "an empty trace is another trace too"
    );
}

async fn an_import_naming_another_trace_for_a_recorded_output_writes_nothing(db: &TestDatabase) {
    let protection = SlashingProtection::new(db.open().await, operator(0x11));
    let here = traced(12, 0xaa, 1, 3);
    protection.record(&here).await.unwrap();

    let summary = protection
        .import(&[here.clone(), traced(13, 0xaa, 1, 3)])
        .await
        .unwrap();
    assert_eq!((summary.added, summary.already_known), (1, 1));

    let other = traced(12, 0xaa, 4, 3);
    let error = protection
        .import(&[traced(14, 0xaa, 1, 3), other.clone()])
        .await
        .unwrap_err();
    let ImportError::Conflict {
        task_id,
        recorded,
        imported,
        recorded_trace,
        imported_trace,
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(
        (*task_id, *recorded, *imported),
        (12, here.output_hash, here.output_hash)
    );
    assert_eq!(
        (*recorded_trace, *imported_trace),
        (here.trace_hash(), other.trace_hash())
    );
    let message = error.to_string();
    assert!(
        message.contains("the same output with another trace"),
        "{message}"
    );
    assert!(
        message.contains(&here.trace_hash().to_string()),
        "{message}"
    );
    assert!(protection.for_task(14).await.unwrap().is_empty());

    // A record without a trace against one with a trace conflicts the same way.
    let error = protection.import(&[signed(12, 1, 0xaa)]).await.unwrap_err();
    assert!(
        matches!(error, ImportError::Conflict { imported_trace, .. } if imported_trace == warden_protocol::NO_TRACE),
        "{error}"
    );
    assert_eq!(
        protection.find(here.signing_root()).await.unwrap(),
        Some(here)
    );
}

async fn a_malformed_trace_on_record_is_named(db: &TestDatabase) {
    let protection = SlashingProtection::new(db.open().await, operator(0x11));
    let record = traced(15, 0xaa, 1, 2);
    protection.record(&record).await.unwrap();
    // 33 bytes: a chunk hash and a stray byte.
    db.execute(&format!(
        "UPDATE operator_signing_records SET trace = '0x{}' WHERE task_id = 15",
        "ab".repeat(33)
    ))
    .await;
    let error = protection.find(record.signing_root()).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Corrupt(encoding) if encoding.column == "trace"),
        "{error}"
    );
    assert!(error.to_string().contains("33 bytes"), "{error}");
}

async fn the_cursor_advances_rewinds_and_prunes(db: &TestDatabase) {
    let store = db.open().await;
    let cursor = ChainCursor::new(store.clone(), "challenger");
    assert_eq!(cursor.last().await.unwrap(), None);
    let stop = |n: u64| Stop {
        number: n,
        hash: B256::from(U256::from(n)),
    };
    for n in 1..=KEPT_STOPS as u64 + 10 {
        cursor.advance(stop(n)).await.unwrap();
    }
    let recent = cursor.recent(1_000).await.unwrap();
    assert_eq!(recent.len(), KEPT_STOPS as usize, "old stops are pruned");
    assert_eq!(recent[0], stop(KEPT_STOPS as u64 + 10));

    cursor.rewind_to(100).await.unwrap();
    assert_eq!(cursor.last().await.unwrap(), Some(stop(100)));
    // Advancing over a stop that a reorg changed replaces its hash.
    let moved = Stop {
        number: 100,
        hash: B256::repeat_byte(0xee),
    };
    cursor.advance(moved).await.unwrap();
    assert_eq!(cursor.last().await.unwrap(), Some(moved));
    // Followers do not see each other's stops.
    assert_eq!(
        ChainCursor::new(store, "operator").last().await.unwrap(),
        None
    );
}

fn tx(nonce: u64, intent: &str) -> TxRecord {
    TxRecord {
        nonce,
        intent: intent.to_string(),
        to: Address::repeat_byte(0x33),
        input: Bytes::from(vec![1, 2, 3]),
        value: U256::from(5u64),
        gas_limit: 100_000,
        max_fee_per_gas: 30_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        tx_hash: B256::repeat_byte(nonce as u8 + 1),
        raw: Bytes::from(vec![0x02, nonce as u8]),
        status: TxStatus::Pending,
        bumps: 0,
        block_number: None,
        gas_used: None,
        first_sent_ms: 1,
        last_sent_ms: 1,
    }
}

async fn transactions_are_unique_per_intent_and_nonce(db: &TestDatabase) {
    let store = db.open().await;
    let log = TransactionLog::new(store.clone(), 31337, Address::repeat_byte(0x44)).unwrap();
    assert_eq!(log.next_nonce().await.unwrap(), None);
    assert_eq!(
        log.insert(&tx(0, "commitOutput/1/1")).await.unwrap(),
        Inserted::New
    );
    assert_eq!(
        log.insert(&tx(1, "openTask/1/40")).await.unwrap(),
        Inserted::New
    );
    assert_eq!(log.next_nonce().await.unwrap(), Some(2));
    // The same intent again is not a second transaction.
    match log.insert(&tx(2, "commitOutput/1/1")).await.unwrap() {
        Inserted::IntentExists(existing) => assert_eq!(existing.nonce, 0),
        other => panic!("a repeated intent was inserted: {other:?}"),
    }
    assert_eq!(log.next_nonce().await.unwrap(), Some(2));
    // A nonce already on record is refused outright.
    assert!(matches!(
        log.insert(&tx(1, "execute/1")).await,
        Err(StoreError::Query(_))
    ));

    let bumped = B256::repeat_byte(0x99);
    log.replace(
        0,
        bumped,
        &Bytes::from(vec![0x02, 0xff]),
        40_000_000_000,
        2_000_000_000,
    )
    .await
    .unwrap();
    let record = log.by_nonce(0).await.unwrap().unwrap();
    assert_eq!(
        (record.tx_hash, record.bumps, record.max_fee_per_gas),
        (bumped, 1, 40_000_000_000)
    );
    assert_eq!(
        log.versions(0).await.unwrap(),
        vec![B256::repeat_byte(1), bumped]
    );

    // The first version is the one mined.
    log.settle(0, TxStatus::Mined, Some((B256::repeat_byte(1), 77, 21_000)))
        .await
        .unwrap();
    let settled = log.by_intent("commitOutput/1/1").await.unwrap().unwrap();
    assert_eq!(
        (
            settled.status,
            settled.tx_hash,
            settled.block_number,
            settled.gas_used
        ),
        (
            TxStatus::Mined,
            B256::repeat_byte(1),
            Some(77),
            Some(21_000)
        )
    );
    let pending: Vec<u64> = log
        .pending()
        .await
        .unwrap()
        .iter()
        .map(|t| t.nonce)
        .collect();
    assert_eq!(pending, vec![1]);

    // Another key on the same chain starts from nothing.
    let other = TransactionLog::new(store, 31337, Address::repeat_byte(0x55)).unwrap();
    assert_eq!(other.next_nonce().await.unwrap(), None);
}

async fn migrations_run_once(db: &TestDatabase) {
    let first = db.open().await;
    first.ping().await.unwrap();
    first.close().await;
    let second = db.open().await;
    second.ping().await.unwrap();
    assert_eq!(second.backend(), db.backend());
}

#[tokio::test]
async fn an_unreachable_postgres_server_is_a_connect_error() {
    // Port 1 on loopback refuses connections.
    let error = Store::open("postgres://warden:secret@127.0.0.1:1/warden")
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Connect { .. }), "{message}");
    assert!(message.contains("postgres"), "{message}");
    assert!(
        !message.contains("secret"),
        "the password leaked: {message}"
    );
}

#[tokio::test]
async fn a_sqlite_path_under_a_file_is_a_directory_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    let location = file.join("warden.db").display().to_string();
    let error = Store::open(&location).await.unwrap_err();
    assert!(matches!(error, StoreError::Directory { .. }), "{error}");
    assert_eq!(
        DatabaseUrl::parse(&location).unwrap().backend(),
        Backend::Sqlite
    );
}

#[tokio::test]
async fn a_misspelt_scheme_is_refused_and_creates_no_file() {
    let location = "postgress://warden@127.0.0.1/warden";
    let error = Store::open(location).await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Location(DatabaseUrlError::UnsupportedScheme { ref scheme }) if scheme == "postgress"
        ),
        "{error}"
    );
    // Before the fix this became a SQLite file under ./postgress:/ relative to the working
    // directory.
    assert!(!std::path::Path::new("postgress:").exists());
}

async fn the_aggregator_resumes_tasks_signatures_and_submissions(db: &TestDatabase) {
    let aggregator = AggregatorStore::new(db.open().await);
    let task = |task_id: u64| TaskRecord {
        task_id,
        agent_id: 1,
        input_hash: B256::repeat_byte(task_id as u8),
        reference_block: 50,
        state: TaskState::Collecting,
        output_hash: None,
    };
    aggregator.track(&task(1)).await.unwrap();
    aggregator.track(&task(2)).await.unwrap();
    // Tracking again changes nothing.
    aggregator
        .set_state(2, TaskState::Done, None)
        .await
        .unwrap();
    aggregator.track(&task(2)).await.unwrap();
    let live: Vec<u64> = aggregator
        .live_tasks()
        .await
        .unwrap()
        .iter()
        .map(|t| t.task_id)
        .collect();
    assert_eq!(live, vec![1]);

    let signature = |operator: u8, output: u8| StoredSignature {
        task_id: 1,
        operator_id: B256::repeat_byte(operator),
        output_hash: B256::repeat_byte(output),
        output: Bytes::from(vec![output; 3]),
        // A trace of `operator` chunk hashes: the empty one and longer ones round-trip alike.
        trace: (0..operator).map(B256::repeat_byte).collect(),
        signature: Bytes::from(vec![operator; 96]),
    };
    aggregator
        .save_signature(&signature(1, 0xaa))
        .await
        .unwrap();
    aggregator
        .save_signature(&signature(2, 0xaa))
        .await
        .unwrap();
    aggregator
        .save_signature(&signature(3, 0xbb))
        .await
        .unwrap();
    // An operator's first verified signature stays; writing it again changes nothing.
    aggregator
        .save_signature(&signature(3, 0xaa))
        .await
        .unwrap();
    aggregator
        .save_signature(&signature(1, 0xaa))
        .await
        .unwrap();
    let kept = aggregator.signatures(1).await.unwrap();
    assert_eq!(kept.len(), 3);
    for operator in 1..=3 {
        let expected = if operator == 3 {
            signature(3, 0xbb)
        } else {
            signature(operator, 0xaa)
        };
        assert!(kept.contains(&expected), "operator {operator}: {kept:?}");
    }
    assert_eq!(
        kept.iter()
            .find(|s| s.operator_id == B256::repeat_byte(3))
            .unwrap()
            .output_hash,
        B256::repeat_byte(0xbb)
    );

    let evidence = EquivocationRecord {
        task_id: 1,
        operator_id: B256::repeat_byte(3),
        first_output_hash: B256::repeat_byte(0xbb),
        first_trace_hash: B256::repeat_byte(0x11),
        first_signature: Bytes::from(vec![3u8; 96]),
        second_output_hash: B256::repeat_byte(0xaa),
        second_trace_hash: B256::repeat_byte(0x22),
        second_signature: Bytes::from(vec![4u8; 96]),
    };
    aggregator.save_equivocation(&evidence).await.unwrap();
    // The first pair proves it; a later one for the same operator and task is not kept.
    aggregator
        .save_equivocation(&EquivocationRecord {
            second_output_hash: B256::repeat_byte(0xcc),
            ..evidence.clone()
        })
        .await
        .unwrap();
    assert_eq!(aggregator.equivocations(1).await.unwrap(), vec![evidence]);
    assert!(aggregator.equivocations(2).await.unwrap().is_empty());

    let non_signers = vec![Bytes::from(vec![7u8; 128])];
    let aggregate = Bytes::from(vec![9u8; 256]);
    let first = aggregator
        .prepare_submission(
            1,
            B256::repeat_byte(0xaa),
            B256::repeat_byte(0x33),
            &non_signers,
            &aggregate,
            U256::from(64u64),
            |attempt| format!("commitOutput/1/{attempt}"),
        )
        .await
        .unwrap();
    assert_eq!(
        (first.attempt, first.intent.as_str()),
        (1, "commitOutput/1/1")
    );
    let record = aggregator.task(1).await.unwrap().unwrap();
    assert_eq!(record.state, TaskState::Committing);
    assert_eq!(record.output_hash, Some(B256::repeat_byte(0xaa)));
    assert_eq!(
        aggregator.prepared_submission(1).await.unwrap(),
        Some(first.clone())
    );
    aggregator
        .settle_submission(1, 1, SubmissionStatus::Abandoned)
        .await
        .unwrap();
    assert_eq!(aggregator.prepared_submission(1).await.unwrap(), None);
    let second = aggregator
        .prepare_submission(
            1,
            B256::repeat_byte(0xaa),
            warden_protocol::NO_TRACE,
            &[],
            &aggregate,
            U256::from(96u64),
            |attempt| format!("commitOutput/1/{attempt}"),
        )
        .await
        .unwrap();
    assert_eq!(second.attempt, 2);
    assert_eq!(aggregator.submissions(1).await.unwrap().len(), 2);
}

async fn claims_keep_their_first_finding(db: &TestDatabase) {
    let claims = ClaimStore::new(db.open().await);
    let claim = Claim {
        task_id: 4,
        committed_output_hash: B256::repeat_byte(1),
        expected_output_hash: B256::repeat_byte(2),
        deadline: 99,
        state: ClaimState::Challenging,
        detail: "found".into(),
    };
    assert_eq!(claims.open(&claim).await.unwrap(), claim);
    claims
        .set_state(4, ClaimState::Slashing, "upheld in block 90")
        .await
        .unwrap();
    // Finding it again does not reset it.
    let again = claims.open(&claim).await.unwrap();
    assert_eq!(again.state, ClaimState::Slashing);
    assert_eq!(claims.unfinished().await.unwrap().len(), 1);
    claims
        .set_state(4, ClaimState::Slashed, "done")
        .await
        .unwrap();
    assert!(claims.unfinished().await.unwrap().is_empty());
    assert_eq!(claims.all().await.unwrap().len(), 1);
}

/// Transactions that read before they write, run concurrently: SQLite's deferred `BEGIN` takes a
/// read snapshot at the first read and fails the first write with SQLITE_BUSY_SNAPSHOT (517,
/// "database is locked", which no busy timeout waits out) when another connection wrote in
/// between. Seen in the devnet as a failed `prepare_submission`. Every write transaction must start
/// as a writer.
async fn concurrent_read_then_write_transactions_all_commit(db: &TestDatabase) {
    let aggregator = AggregatorStore::new(db.open().await);
    const TASKS: u64 = 40;
    for task_id in 1..=TASKS {
        aggregator
            .track(&TaskRecord {
                task_id,
                agent_id: 1,
                input_hash: B256::repeat_byte(1),
                reference_block: 10,
                state: TaskState::Collecting,
                output_hash: None,
            })
            .await
            .unwrap();
    }
    let aggregate = Bytes::from(vec![9u8; 256]);
    let mut writers = tokio::task::JoinSet::new();
    for task_id in 1..=TASKS {
        let aggregator = aggregator.clone();
        let aggregate = aggregate.clone();
        writers.spawn(async move {
            aggregator
                .prepare_submission(
                    task_id,
                    B256::repeat_byte(0xaa),
                    warden_protocol::NO_TRACE,
                    &[],
                    &aggregate,
                    U256::from(64u64),
                    |attempt| format!("commitOutput/{task_id}/{attempt}"),
                )
                .await
                .map(|_| ())
        });
    }
    let mut failed = Vec::new();
    while let Some(joined) = writers.join_next().await {
        if let Err(error) = joined.unwrap() {
            failed.push(error.to_string());
        }
    }
    assert!(failed.is_empty(), "{} failed: {failed:?}", failed.len());
}
