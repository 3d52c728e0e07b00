//! What the challenger's process tests share: a devnet, a configuration file for the real
//! binary with its state in the test's database, the child process, and its metrics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, keccak256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use warden_bindings::task_manager::BLS::{G1Point, G2Point};
use warden_bindings::tx::confirm;
use warden_bindings::{WardenChallenges, WardenTaskManager};
use warden_bls::Signature;
use warden_devnet::Devnet;
use warden_keys::OperatorKeys;
use warden_protocol::OutputAttestation;
use warden_runtime::config::ServiceConfig;
use warden_store::Store;
use warden_store::challenger::{Claim, ClaimState, ClaimStore};
use warden_store::testing::TestDatabase;
use warden_testkit::crash::{ConfigFile, ServiceBinary, failpoint_reached};
use warden_testkit::{ServiceProcess, free_port};

pub const BINARY: &str = env!("CARGO_BIN_EXE_warden-challenger");

/// The development account the challenger under test signs with: no devnet role uses it.
pub const CHALLENGER_ACCOUNT: usize = 5;

/// The binary with a configuration file of its own.
#[derive(Debug)]
pub struct Challenger {
    binary: ServiceBinary,
    pub address: Address,
    pub metrics_url: String,
    /// `http://127.0.0.1:port/eigen/node`.
    pub node_api_url: String,
    pub database_url: String,
    _config: ConfigFile,
}

impl Challenger {
    /// A challenger of `devnet` that starts judging at the current block, keeps its state in
    /// `db` and serves its metrics on a free port.
    pub async fn configure(devnet: &Devnet, db: &TestDatabase) -> Self {
        let keystore = devnet
            .deployment()
            .dev_keystore(CHALLENGER_ACCOUNT)
            .await
            .unwrap();
        let chain =
            ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
        let metrics_port = free_port().unwrap();
        let node_api_port = free_port().unwrap();
        let transactions = warden_txm::TransactionsConfig {
            poll_interval_ms: 200,
            ..Default::default()
        };
        let mut config = devnet
            .deployment()
            .challenger_config(chain.get_block_number().await.unwrap());
        config.chain.poll_interval_ms = 100;
        config.database.url = db.url().to_string();
        config.ops.metrics_listen = ([127, 0, 0, 1], metrics_port).into();
        config.ops.node_api_listen = ([127, 0, 0, 1], node_api_port).into();
        config.keys.ecdsa_keystore = keystore.keystore;
        config.keys.password_file = Some(keystore.password_file);
        config.transactions = transactions;
        config.validate().unwrap();
        let config_file = ConfigFile::write("challenger.toml", &config).unwrap();
        Self {
            binary: ServiceBinary::new("challenger", BINARY, config_file.path()),
            address: keystore.address,
            metrics_url: format!("http://127.0.0.1:{metrics_port}/metrics"),
            node_api_url: format!("http://127.0.0.1:{node_api_port}/eigen/node"),
            database_url: db.url().to_string(),
            _config: config_file,
        }
    }

    /// Starts the binary, with `failpoint` armed if given and `envs` set.
    pub fn spawn(&self, failpoint: Option<&str>, envs: &[(&str, &str)]) -> ServiceProcess {
        self.binary.start(failpoint, envs).unwrap()
    }

    /// Starts the binary (with `failpoint` armed, if given) and waits until it has caught up
    /// with the chain: from then on it judges every new commitment as it is made.
    pub async fn spawn_caught_up(&self, failpoint: Option<&str>) -> ServiceProcess {
        let mut process = self.spawn(failpoint, &[]);
        process
            .wait_for("caught up with the chain", Duration::from_secs(120))
            .await
            .unwrap();
        process
    }

    /// Waits until `process` has halted at `failpoint`.
    pub async fn wait_for_failpoint(process: &mut ServiceProcess, failpoint: &str) {
        process
            .wait_for(&failpoint_reached(failpoint), Duration::from_secs(60))
            .await
            .unwrap();
    }

    /// The database, opened from the test's side.
    pub async fn store(&self) -> Store {
        Store::open(&self.database_url).await.unwrap()
    }

    /// The claim on record for `task_id`.
    pub async fn claim(&self, task_id: u64) -> Option<Claim> {
        ClaimStore::new(self.store().await)
            .get(task_id)
            .await
            .unwrap()
    }

    /// The value of the sample `series` (name and labels, as exposed) on the running child's
    /// metrics endpoint.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = warden_testkit::ops::metrics_text(&self.metrics_url).await?;
        text.lines().find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
    }
}

impl Challenger {
    /// The HTTP status of the node API's health of service `id`.
    pub async fn service_health(&self, id: &str) -> Option<u16> {
        let url = format!("{}/services/{id}/health", self.node_api_url);
        Some(reqwest::get(url).await.ok()?.status().as_u16())
    }
}

/// Signs and commits outputs for the devnet's agent as a quorum would.
#[derive(Debug)]
pub struct Committer {
    pub devnet: Devnet,
    pub chain: DynProvider,
    /// Set while the test has turned anvil's automine off: commitments then mine a block.
    pub manual_mining: bool,
    keys: Vec<OperatorKeys>,
}

impl Committer {
    pub fn new(devnet: Devnet) -> Self {
        let chain = warden_txm::signing_provider(
            devnet.deployment().rpc_url().parse().unwrap(),
            devnet.deployment().deployer().clone(),
        );
        let keys = devnet.deployment().operator_keys().unwrap();
        Self {
            devnet,
            chain,
            manual_mining: false,
            keys,
        }
    }

    pub fn task_manager(&self) -> WardenTaskManager::WardenTaskManagerInstance<&DynProvider> {
        WardenTaskManager::new(
            self.devnet.summary().deployment.app.task_manager,
            &self.chain,
        )
    }

    pub fn challenges(&self) -> WardenChallenges::WardenChallengesInstance<&DynProvider> {
        WardenChallenges::new(self.devnet.summary().deployment.app.challenges, &self.chain)
    }

    pub async fn open_task(&self) -> WardenTaskManager::TaskOpened {
        let receipt = confirm(
            "openTask",
            self.task_manager()
                .openTask(self.devnet.summary().deployment.app.agent_id)
                .send()
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        receipt
            .decoded_log::<WardenTaskManager::TaskOpened>()
            .unwrap()
            .data
    }

    /// Commits `output` for `task`, signed by the operators `signers`; returns its block.
    pub async fn commit(
        &self,
        task: &WardenTaskManager::TaskOpened,
        output: &Bytes,
        signers: &[usize],
    ) -> u64 {
        let summary = self.devnet.summary();
        let digest = OutputAttestation {
            chain_id: summary.deployment.chain_id,
            task_manager: summary.deployment.app.task_manager,
            task_id: task.taskId,
            agent_id: summary.deployment.app.agent_id,
            agent_hash: self.devnet.deployment().agent().agent_hash(),
            verifier: summary.deployment.app.verifier,
            input_hash: task.inputHash,
            output_hash: keccak256(output),
            trace_hash: warden_protocol::NO_TRACE,
            reference_block: task.referenceBlock,
        }
        .digest();
        let (non_signers, aggregate) = quorum_signature(&self.keys, signers, digest);
        let pending = self
            .task_manager()
            .commitOutput(
                task.taskId,
                output.clone(),
                Vec::new(),
                non_signers,
                aggregate,
            )
            .send()
            .await
            .unwrap();
        if self.manual_mining {
            self.chain.anvil_mine(Some(1), None).await.unwrap();
        }
        let receipt = confirm("commitOutput", pending).await.unwrap();
        receipt.block_number.unwrap()
    }

    pub async fn head(&self) -> u64 {
        self.chain.get_block_number().await.unwrap()
    }
}

/// What `commitOutput` takes from `signers` (positions in `keys`) signing `digest`: every other
/// operator's key, in the registry's order (by key hash), and the signers' aggregate signature.
pub fn quorum_signature(
    keys: &[OperatorKeys],
    signers: &[usize],
    digest: B256,
) -> (Vec<G1Point>, G2Point) {
    let signatures: Vec<Signature> = signers
        .iter()
        .map(|index| keys[*index].bls.sign(digest.as_slice()))
        .collect();
    let aggregate =
        warden_bls::aggregate_signatures(&signatures.iter().collect::<Vec<_>>()).unwrap();
    let mut non_signers: Vec<(B256, [u8; 128])> = (0..keys.len())
        .filter(|index| !signers.contains(index))
        .map(|index| {
            let key = keys[index].bls.public_key().to_eip2537();
            (keccak256(key), key)
        })
        .collect();
    non_signers.sort();
    (
        non_signers
            .iter()
            .map(|(_, key)| G1Point::from_eip2537(key))
            .collect(),
        G2Point::from_eip2537(&aggregate.to_eip2537()),
    )
}

/// Whether every signer of `task_id`'s fraudulent output has been slashed, as the challenges
/// contract records it.
pub async fn slashing_done<P: Provider>(
    challenges: &WardenChallenges::WardenChallengesInstance<P>,
    task_id: u64,
) -> bool {
    challenges
        .slashingProgress(task_id)
        .call()
        .await
        .unwrap()
        .done
}

/// Polls `check` until it holds, failing the test after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    warden_testkit::wait_until(what, timeout, check)
        .await
        .unwrap();
}

impl Challenger {
    /// Waits until the claim on `task_id` reaches `state`, failing the test after `timeout`.
    pub async fn wait_for_claim(&self, task_id: u64, state: ClaimState, timeout: Duration) {
        wait_for(&format!("the claim to be {state:?}"), timeout, || async {
            self.claim(task_id)
                .await
                .is_some_and(|claim| claim.state == state)
        })
        .await;
    }
}
