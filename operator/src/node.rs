//! The operator node: follows `TaskOpened`, runs the agent on the task's snapshot, signs the
//! output digest and hands the signature to the aggregator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use alloy::transports::http::reqwest::Url;
use tokio::sync::{Semaphore, watch};
use warden_agent::{Agent, AgentInput};
use warden_bindings::WardenTaskManager;
use warden_protocol::OutputAttestation;
use warden_protocol::api::{ApiError, SIGNATURES_PATH, SignatureSubmission, SubmissionReceipt};
use warden_protocol::public_key_hash;

use crate::OperatorKeys;

/// How an operator node runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub rpc_url: Url,
    pub task_manager: Address,
    /// Base URL of the aggregator (`http://host:port`).
    pub aggregator_url: Url,
    /// First block to scan for tasks; after downtime the node catches up from here.
    pub start_block: u64,
    /// Pause between polls when caught up.
    pub poll_interval: Duration,
    /// Largest block range per `eth_getLogs` request.
    pub max_block_range: u64,
    /// Submission attempts before giving up on one signature.
    pub max_attempts: u32,
}

impl NodeConfig {
    /// Defaults for everything but the endpoints.
    pub fn new(rpc_url: Url, task_manager: Address, aggregator_url: Url) -> Self {
        Self {
            rpc_url,
            task_manager,
            aggregator_url,
            start_block: 0,
            poll_interval: Duration::from_millis(500),
            max_block_range: 2_000,
            max_attempts: 8,
        }
    }
}

/// Why the node stopped or skipped a task.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("task manager call failed: {0}")]
    Contract(Box<alloy::contract::Error>),
    #[error("task {task_id}: {reason}")]
    BadTask { task_id: u64, reason: String },
    #[error(
        "refusing to sign task {task_id}: already signed output {signed}, the agent now says {proposed}"
    )]
    Equivocation {
        task_id: u64,
        signed: B256,
        proposed: B256,
    },
}

impl From<alloy::contract::Error> for NodeError {
    fn from(error: alloy::contract::Error) -> Self {
        Self::Contract(Box::new(error))
    }
}

/// The record that keeps an operator from ever signing two different outputs for one task,
/// which would be slashable equivocation. (Kept in memory here; durable storage keeps it across
/// restarts.)
#[derive(Debug, Default)]
pub struct SlashingProtection {
    signed: Mutex<HashMap<u64, B256>>,
}

impl SlashingProtection {
    /// Records `output_hash` for `task_id`, or confirms it was the one recorded; refuses another.
    pub fn check_and_record(&self, task_id: u64, output_hash: B256) -> Result<(), NodeError> {
        let mut signed = self
            .signed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match signed.get(&task_id) {
            Some(previous) if *previous != output_hash => Err(NodeError::Equivocation {
                task_id,
                signed: *previous,
                proposed: output_hash,
            }),
            Some(_) => Ok(()),
            None => {
                signed.insert(task_id, output_hash);
                Ok(())
            }
        }
    }
}

/// A signature ready for the aggregator.
#[derive(Debug, Clone)]
pub struct SignedTask {
    pub submission: SignatureSubmission,
    pub output_hash: B256,
}

/// One operator node.
#[derive(Debug)]
pub struct OperatorNode {
    config: NodeConfig,
    keys: Arc<OperatorKeys>,
    operator_id: B256,
    agent: Arc<dyn Agent>,
    protection: Arc<SlashingProtection>,
    http: alloy::transports::http::reqwest::Client,
}

impl OperatorNode {
    pub fn new(config: NodeConfig, keys: Arc<OperatorKeys>, agent: Arc<dyn Agent>) -> Self {
        let operator_id = public_key_hash(&keys.bls.public_key().to_eip2537());
        Self {
            config,
            keys,
            operator_id,
            agent,
            protection: Arc::new(SlashingProtection::default()),
            http: alloy::transports::http::reqwest::Client::new(),
        }
    }

    /// The operator id this node signs as.
    pub fn operator_id(&self) -> B256 {
        self.operator_id
    }

    /// Runs until `shutdown` turns true: scans blocks from the configured start, handles every
    /// `TaskOpened`, and polls for new blocks once caught up.
    pub async fn run(
        self: Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), NodeError> {
        let provider = ProviderBuilder::new().connect_http(self.config.rpc_url.clone());
        let chain_id = provider.get_chain_id().await?;
        // Bounded concurrency for submissions, so a slow aggregator cannot pile up tasks.
        let submissions = Arc::new(Semaphore::new(16));
        let mut cursor = self.config.start_block;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            match provider.get_block_number().await {
                Ok(latest) if cursor <= latest => {
                    let to = latest.min(cursor + self.config.max_block_range - 1);
                    match self
                        .scan(&provider, chain_id, cursor, to, &submissions)
                        .await
                    {
                        Ok(()) => cursor = to + 1,
                        Err(error) => {
                            tracing::warn!(%error, from = cursor, to, "scan failed; retrying")
                        }
                    }
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "reading the block number failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn scan<P: Provider>(
        self: &Arc<Self>,
        provider: &P,
        chain_id: u64,
        from: u64,
        to: u64,
        submissions: &Arc<Semaphore>,
    ) -> Result<(), NodeError> {
        let filter = Filter::new()
            .address(self.config.task_manager)
            .event_signature(WardenTaskManager::TaskOpened::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        for log in provider.get_logs(&filter).await? {
            let event = match WardenTaskManager::TaskOpened::decode_log(&log.inner) {
                Ok(event) => event.data,
                Err(error) => {
                    tracing::warn!(%error, "undecodable TaskOpened log; skipped");
                    continue;
                }
            };
            let task_id = event.taskId;
            match self.sign_task(provider, chain_id, &event).await {
                Ok(Some(signed)) => {
                    let permit = match submissions.clone().acquire_owned().await {
                        Ok(permit) => permit,
                        Err(_) => return Ok(()),
                    };
                    let node = Arc::clone(self);
                    tokio::spawn(async move {
                        node.submit(&signed).await;
                        drop(permit);
                    });
                }
                Ok(None) => {}
                Err(error) => tracing::error!(task_id, %error, "not signing this task"),
            }
        }
        Ok(())
    }

    /// Runs the agent on the task's snapshot and signs the result, unless the task is for
    /// another agent. Never signs a second, different output for a task.
    pub async fn sign_task<P: Provider>(
        &self,
        provider: &P,
        chain_id: u64,
        event: &WardenTaskManager::TaskOpened,
    ) -> Result<Option<SignedTask>, NodeError> {
        let task_id = event.taskId;
        let bad = |reason: String| NodeError::BadTask { task_id, reason };
        if alloy::primitives::keccak256(&event.input) != event.inputHash {
            return Err(bad(
                "the snapshot does not hash to the task's input hash".into()
            ));
        }
        let task_manager = WardenTaskManager::new(self.config.task_manager, provider);
        let agent = task_manager.getAgent(event.agentId).call().await?;
        if agent.agentHash != self.agent.agent_hash() {
            tracing::debug!(
                task_id,
                agent_id = event.agentId,
                "task for another agent; not ours to sign"
            );
            return Ok(None);
        }
        let input = AgentInput::decode(&event.input)
            .map_err(|e| bad(format!("undecodable snapshot: {e}")))?;
        let started = std::time::Instant::now();
        let action = self
            .agent
            .decide(&input)
            .map_err(|e| bad(format!("agent failed: {e}")))?;
        let output = action.encode();
        let output_hash = action.output_hash();
        let attestation = OutputAttestation {
            chain_id,
            task_manager: self.config.task_manager,
            task_id,
            agent_id: event.agentId,
            agent_hash: agent.agentHash,
            input_hash: event.inputHash,
            output_hash,
            reference_block: event.referenceBlock,
        };
        self.protection.check_and_record(task_id, output_hash)?;
        let signature = self.keys.bls.sign(attestation.digest().as_slice());
        tracing::info!(
            task_id,
            action = ?action.kind,
            %output_hash,
            agent_micros = started.elapsed().as_micros() as u64,
            "signed task output"
        );
        Ok(Some(SignedTask {
            submission: SignatureSubmission {
                task_id,
                operator_id: self.operator_id,
                output,
                signature: Bytes::copy_from_slice(&signature.to_compressed()),
            },
            output_hash,
        }))
    }

    /// Sends a signature to the aggregator, retrying transient failures with exponential backoff.
    pub async fn submit(&self, signed: &SignedTask) -> bool {
        let task_id = signed.submission.task_id;
        let url = match self.config.aggregator_url.join(SIGNATURES_PATH) {
            Ok(url) => url,
            Err(error) => {
                tracing::error!(%error, "invalid aggregator URL");
                return false;
            }
        };
        let mut backoff = Duration::from_millis(100);
        for attempt in 1..=self.config.max_attempts {
            match self
                .http
                .post(url.clone())
                .json(&signed.submission)
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => {
                    let receipt = response.json::<SubmissionReceipt>().await.ok();
                    tracing::info!(task_id, status = ?receipt.map(|r| r.status), "aggregator took the signature");
                    return true;
                }
                Ok(response) if response.status().is_client_error() => {
                    // The aggregator refused it for good: retrying would not change its mind.
                    let status = response.status();
                    let error = response.json::<ApiError>().await.ok();
                    tracing::error!(task_id, %status, ?error, "aggregator refused the signature");
                    return false;
                }
                Ok(response) => {
                    tracing::warn!(task_id, attempt, status = %response.status(), "aggregator unavailable; retrying")
                }
                Err(error) => {
                    tracing::warn!(task_id, attempt, %error, "aggregator unreachable; retrying")
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
        tracing::error!(
            task_id,
            attempts = self.config.max_attempts,
            "gave up submitting the signature"
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slashing_protection_refuses_a_second_output_and_allows_a_resend() {
        let protection = SlashingProtection::default();
        let first = B256::repeat_byte(1);
        protection.check_and_record(7, first).unwrap();
        protection.check_and_record(7, first).unwrap();
        let error = protection
            .check_and_record(7, B256::repeat_byte(2))
            .unwrap_err();
        assert!(
            matches!(error, NodeError::Equivocation { task_id: 7, .. }),
            "{error}"
        );
        protection
            .check_and_record(8, B256::repeat_byte(2))
            .unwrap();
    }
}
