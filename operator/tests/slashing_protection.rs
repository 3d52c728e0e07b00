//! The slashing-protection interchange: an export imported into another database keeps every
//! record (a large agent's with its trace), a file of the version before traces still imports,
//! and import refuses a file for another chain, task manager or key, records that do not hold
//! together, and records that conflict with what is on record, down to the trace. On SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{Address, B256, Bytes};
use warden_bls::SecretKey;
use warden_operator::slashing_protection::{
    Interchange, InterchangeError, RecordOwner, export, import,
};
use warden_protocol::{TaskAttestation, trace_hash};
use warden_store::operator::{Recorded, SignedOutput, SlashingProtection};
use warden_store::testing::TestDatabase;

warden_store::on_both_backends!(
    an_export_imports_into_another_database_unchanged,
    import_refuses_a_file_for_another_chain_task_manager_or_key,
    import_refuses_records_that_do_not_hold_together,
    import_refuses_a_second_output_and_writes_nothing,
    a_traced_record_round_trips_through_version_3,
    a_version_2_file_still_imports,
    import_refuses_the_same_output_with_another_trace,
);

struct Operator {
    key: SecretKey,
    owner: RecordOwner,
}

fn operator(seed: u8) -> Operator {
    let key = SecretKey::from_ikm(&[seed; 32]).unwrap();
    let owner = RecordOwner {
        chain_id: 31337,
        task_manager: Address::repeat_byte(0x70),
        public_key: key.public_key(),
    };
    Operator { key, owner }
}

impl Operator {
    fn protection(&self, store: warden_store::Store) -> SlashingProtection {
        SlashingProtection::new(store, self.owner.operator_id())
    }

    /// A real signature over task `task_id` with `output` as its output, and no trace.
    fn signed(&self, task_id: u64, output: u8) -> SignedOutput {
        self.traced(task_id, output, Vec::new())
    }

    /// A real signature over task `task_id` with `output` as its output and `trace` as the run's
    /// activation trace.
    fn traced(&self, task_id: u64, output: u8, trace: Vec<B256>) -> SignedOutput {
        let attestation = TaskAttestation {
            chain_id: self.owner.chain_id,
            task_manager: self.owner.task_manager,
            task_id,
            agent_id: 1,
            agent_hash: B256::repeat_byte(0xa9),
            verifier: Address::repeat_byte(0xa8),
            input_hash: B256::repeat_byte(task_id as u8),
            reference_block: 100 + task_id as u32,
        };
        let output_hash = B256::repeat_byte(output);
        let signature = self.key.sign(
            attestation
                .with_output(output_hash, trace_hash(&trace))
                .digest()
                .as_slice(),
        );
        SignedOutput {
            attestation,
            output_hash,
            output: Bytes::from(vec![output; 3]),
            signature: Bytes::copy_from_slice(&signature.to_compressed()),
            trace,
            delivered: false,
        }
    }
}

async fn exported(db: &TestDatabase, operator: &Operator, tasks: &[(u64, u8)]) -> Interchange {
    let protection = operator.protection(db.open().await);
    for &(task_id, output) in tasks {
        protection
            .record(&operator.signed(task_id, output))
            .await
            .unwrap();
    }
    export(&protection, &operator.owner).await.unwrap()
}

/// A second database of `db`'s backend, and `operator`'s (empty) record in it.
async fn another_database(
    db: &TestDatabase,
    operator: &Operator,
    name: &str,
) -> (TestDatabase, SlashingProtection) {
    let target = TestDatabase::of(db.backend(), name).await.unwrap();
    let protection = operator.protection(target.open().await);
    (target, protection)
}

async fn an_export_imports_into_another_database_unchanged(db: &TestDatabase) {
    let operator = operator(1);
    let file = exported(db, &operator, &[(1, 0xaa), (2, 0xbb)]).await;
    // Through JSON, as the file travels; integers are decimal strings.
    let json = serde_json::to_string_pretty(&file).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["metadata"]["interchange_format_version"], "3");
    assert!(
        value["data"][0]["signed_tasks"][0].get("trace").is_none(),
        "an agent without a trace writes none"
    );
    assert_eq!(
        value["data"][0]["signed_tasks"][0]["verifier"],
        format!("{:#x}", Address::repeat_byte(0xa8))
    );
    assert_eq!(value["metadata"]["chain_id"], "31337");
    assert_eq!(value["data"][0]["signed_tasks"][1]["task_id"], "2");
    let file: Interchange = serde_json::from_str(&json).unwrap();

    let (_target, protection) = another_database(db, &operator, "interchange-target").await;
    // The target already signed task 1 with the same output: merged, not duplicated.
    protection.record(&operator.signed(1, 0xaa)).await.unwrap();
    let summary = import(&protection, &operator.owner, &file).await.unwrap();
    assert_eq!((summary.added, summary.already_known), (1, 1));
    assert_eq!(export(&protection, &operator.owner).await.unwrap(), file);
    // The imported record protects: task 2 cannot be signed with another output.
    assert_eq!(
        protection.record(&operator.signed(2, 0xcc)).await.unwrap(),
        Recorded::Existing(Box::new(SignedOutput {
            delivered: true,
            ..operator.signed(2, 0xbb)
        }))
    );
    // Importing the same file again changes nothing.
    let again = import(&protection, &operator.owner, &file).await.unwrap();
    assert_eq!((again.added, again.already_known), (0, 2));
}

async fn import_refuses_a_file_for_another_chain_task_manager_or_key(db: &TestDatabase) {
    let operator = operator(1);
    let file = exported(db, &operator, &[(1, 0xaa)]).await;
    let (target, protection) = another_database(db, &operator, "interchange-refusals").await;

    let other_chain = RecordOwner {
        chain_id: 1,
        ..operator.owner
    };
    let error = import(&protection, &other_chain, &file).await.unwrap_err();
    assert!(
        matches!(
            error,
            InterchangeError::OtherChain {
                file: 31337,
                ours: 1
            }
        ),
        "{error}"
    );

    let other_task_manager = RecordOwner {
        task_manager: Address::repeat_byte(0x71),
        ..operator.owner
    };
    let error = import(&protection, &other_task_manager, &file)
        .await
        .unwrap_err();
    assert!(
        matches!(error, InterchangeError::OtherTaskManager { .. }),
        "{error}"
    );

    let someone_else = self::operator(2);
    let error = import(
        &someone_else.protection(target.open().await),
        &someone_else.owner,
        &file,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, InterchangeError::OtherOperator { .. }),
        "{error}"
    );

    // Version 1 files hold records of the digest before it named the verifier.
    for version in ["1", "4"] {
        let mut other = file.clone();
        other.metadata.interchange_format_version = version.into();
        let error = import(&protection, &operator.owner, &other)
            .await
            .unwrap_err();
        assert!(
            matches!(error, InterchangeError::UnsupportedVersion(_)),
            "{error}"
        );
        assert!(error.to_string().contains("versions 3 and 2"), "{error}");
    }

    assert!(
        protection.all().await.unwrap().is_empty(),
        "nothing was written"
    );
}

async fn import_refuses_records_that_do_not_hold_together(db: &TestDatabase) {
    let operator = operator(1);
    let file = exported(db, &operator, &[(1, 0xaa)]).await;
    let (_target, protection) = another_database(db, &operator, "interchange-broken").await;

    let mut moved = file.clone();
    moved.data[0].signed_tasks[0].reference_block += 1;
    let error = import(&protection, &operator.owner, &moved)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            InterchangeError::SigningRootMismatch { task_id: 1, .. }
        ),
        "{error}"
    );

    let mut forged = file.clone();
    forged.data[0].signed_tasks[0].output_hash = B256::repeat_byte(0xee);
    let error = import(&protection, &operator.owner, &forged)
        .await
        .unwrap_err();
    assert!(
        matches!(error, InterchangeError::BadSignature { task_id: 1 }),
        "{error}"
    );

    // The signature covers the trace: a record given a trace it was not signed with is forged.
    let mut traced = file.clone();
    traced.data[0].signed_tasks[0].trace = vec![B256::repeat_byte(0x77)];
    let error = import(&protection, &operator.owner, &traced)
        .await
        .unwrap_err();
    assert!(
        matches!(error, InterchangeError::BadSignature { task_id: 1 }),
        "{error}"
    );

    assert!(
        protection.all().await.unwrap().is_empty(),
        "nothing was written"
    );
}

async fn import_refuses_a_second_output_and_writes_nothing(db: &TestDatabase) {
    let operator = operator(1);
    // The file says task 1 got output 0xaa (and task 2 something); the record here says 0xbb.
    let file = exported(db, &operator, &[(2, 0xcc), (1, 0xaa)]).await;
    let (_target, protection) = another_database(db, &operator, "interchange-conflict").await;
    protection.record(&operator.signed(1, 0xbb)).await.unwrap();

    let error = import(&protection, &operator.owner, &file)
        .await
        .unwrap_err();
    assert!(matches!(error, InterchangeError::Conflict(_)), "{error}");
    let records = protection.all().await.unwrap();
    assert_eq!(records.len(), 1, "task 2 was not imported either");
    assert_eq!(records[0].output_hash, B256::repeat_byte(0xbb));
}

fn trace(first: u8, length: u8) -> Vec<B256> {
    (first..first + length).map(B256::repeat_byte).collect()
}

async fn a_traced_record_round_trips_through_version_3(db: &TestDatabase) {
    let operator = operator(1);
    let protection = operator.protection(db.open().await);
    let traced = operator.traced(1, 0xaa, trace(0x10, 3));
    protection.record(&traced).await.unwrap();
    protection.record(&operator.signed(2, 0xbb)).await.unwrap();
    let file = export(&protection, &operator.owner).await.unwrap();

    let json = serde_json::to_string_pretty(&file).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["metadata"]["interchange_format_version"], "3");
    let tasks = &value["data"][0]["signed_tasks"];
    assert_eq!(
        tasks[0]["trace"],
        serde_json::json!(traced.trace.iter().map(B256::to_string).collect::<Vec<_>>())
    );
    assert!(tasks[1].get("trace").is_none(), "{json}");
    let file: Interchange = serde_json::from_str(&json).unwrap();

    let (_target, target) = another_database(db, &operator, "interchange-traced").await;
    let summary = import(&target, &operator.owner, &file).await.unwrap();
    assert_eq!((summary.added, summary.already_known), (2, 0));
    assert_eq!(
        target.find(traced.signing_root()).await.unwrap(),
        Some(SignedOutput {
            delivered: true,
            ..traced.clone()
        })
    );
    assert_eq!(export(&target, &operator.owner).await.unwrap(), file);
    // The imported record protects the trace as well as the output.
    assert_eq!(
        target
            .record(&operator.traced(1, 0xaa, trace(0x20, 3)))
            .await
            .unwrap(),
        Recorded::Existing(Box::new(SignedOutput {
            delivered: true,
            ..traced
        }))
    );
}

/// A file as version 2 wrote it: no `trace`, every signature over the empty trace.
async fn a_version_2_file_still_imports(db: &TestDatabase) {
    let operator = operator(1);
    let file = exported(db, &operator, &[(1, 0xaa), (2, 0xbb)]).await;
    let mut value = serde_json::to_value(&file).unwrap();
    value["metadata"]["interchange_format_version"] = "2".into();
    let version_2: Interchange = serde_json::from_value(value).unwrap();

    let (_target, protection) = another_database(db, &operator, "interchange-version-2").await;
    let summary = import(&protection, &operator.owner, &version_2)
        .await
        .unwrap();
    assert_eq!((summary.added, summary.already_known), (2, 0));
    let records = protection.all().await.unwrap();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|record| record.trace.is_empty()));
    // Written back out, it is a version 3 file with the same records.
    assert_eq!(
        export(&protection, &operator.owner).await.unwrap().data,
        file.data
    );

    // Version 2 had no traces: a record with one is not a version 2 record.
    let mut with_trace = version_2.clone();
    with_trace.data[0].signed_tasks[0].trace = trace(0x10, 1);
    let (_other, empty) = another_database(db, &operator, "interchange-version-2-trace").await;
    let error = import(&empty, &operator.owner, &with_trace)
        .await
        .unwrap_err();
    assert!(
        matches!(error, InterchangeError::TraceInVersion2 { task_id: 1 }),
        "{error}"
    );
    assert!(empty.all().await.unwrap().is_empty(), "nothing was written");
}

async fn import_refuses_the_same_output_with_another_trace(db: &TestDatabase) {
    let operator = operator(1);
    let protection = operator.protection(db.open().await);
    protection
        .record(&operator.traced(1, 0xaa, trace(0x10, 3)))
        .await
        .unwrap();
    protection.record(&operator.signed(2, 0xcc)).await.unwrap();
    let file = export(&protection, &operator.owner).await.unwrap();

    // Here, task 1 got the same output with another trace: two signatures the task manager
    // slashes as equivocation.
    let (_target, target) = another_database(db, &operator, "interchange-trace-conflict").await;
    let here = operator.traced(1, 0xaa, trace(0x20, 3));
    target.record(&here).await.unwrap();
    let error = import(&target, &operator.owner, &file).await.unwrap_err();
    assert!(matches!(error, InterchangeError::Conflict(_)), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("the same output with another trace")
            && message.contains(&here.trace_hash().to_string()),
        "{message}"
    );
    assert_eq!(
        target.all().await.unwrap(),
        vec![here],
        "task 2 was not imported either"
    );
}
