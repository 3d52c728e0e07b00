//! Claims: a wrong commitment's claim is driven through its challenge (re-checked on the
//! canonical chain, simulated, sent, its receipt read) to slashing, or closed with a
//! [`CloseReason`].

use std::fmt;

use alloy::network::TransactionBuilder;
use alloy::primitives::{B256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use warden_bindings::WardenChallenges;
use warden_bindings::task_facts;
use warden_protocol::{NO_TRACE, TaskState, non_signer_hash, trace_hash};
use warden_store::challenger::{Claim, ClaimState};
use warden_txm::{Intent, Sent, TxError, TxRecord, TxStatus};

use super::{
    Evidence, FAILPOINT_AFTER_CHALLENGE_SENT, MAX_ATTEMPTS, Watchtower, WatchtowerError, lock,
};
use crate::metrics::{ChallengeResult, Earning, VerdictLabel};
use crate::trace::{describe, sealed_step, trace_step};

/// A commitment to a challenge is only sent, and waited for, while more than this many blocks of
/// the challenge window are left: one block mines the commitment, the next the challenge, and
/// the rest is slack for inclusion. With fewer, the challenge goes without a commitment.
pub const COMMIT_MARGIN_BLOCKS: u64 = 3;

/// Why a claim was closed. Its text is the claim's `detail` on record; the text of
/// [`ReorgedOut`](Self::ReorgedOut) starts with `reorged out:`, which is how a claim on record
/// is known to be one a reorg closed, the only kind that is reopened when the wrong commitment
/// comes back on a later branch. Any other closed claim (rejected, missed, withheld) stays
/// closed, so no bond is ever put up twice for the same reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// A reorg took the wrong commitment away.
    ReorgedOut(String),
    /// The wrong output could no longer be challenged.
    Missed(String),
    /// [`MAX_ATTEMPTS`] challenges of the task reverted.
    GaveUp,
    /// Someone else's challenge was upheld first.
    UpheldFirst,
    /// The task expired.
    Expired,
    /// The on-chain verifier agrees with the committed output and this agent does not: the
    /// bond is kept rather than forfeited.
    Withheld,
    /// The challenge was mined and rejected.
    Rejected { block: u64, tx: B256 },
    /// The challenge was mined without a verdict event.
    NoVerdict { block: u64, tx: B256 },
    /// The large agent cannot show the step its run departs at any more (it refuses the input):
    /// nothing could prove the claim.
    Unprovable(String),
}

/// How the text of [`CloseReason::ReorgedOut`] starts.
const REORGED_OUT: &str = "reorged out:";

impl CloseReason {
    /// Whether a claim closed with `detail` is reopened when its wrong commitment comes back:
    /// only one closed by [`CloseReason::ReorgedOut`].
    pub fn reopens(detail: &str) -> bool {
        detail.starts_with(REORGED_OUT)
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::ReorgedOut(why) => write!(f, "{REORGED_OUT} {why}"),
            CloseReason::Missed(why) => write!(f, "missed: {why}"),
            CloseReason::GaveUp => {
                write!(f, "gave up: {MAX_ATTEMPTS} challenges of this task reverted")
            }
            CloseReason::UpheldFirst => f.write_str("someone else's challenge was upheld first"),
            CloseReason::Expired => f.write_str("the task expired"),
            CloseReason::Withheld => f.write_str(
                "withheld: the on-chain verifier agrees with the committed output, this agent does not (report this)",
            ),
            CloseReason::Rejected { block, tx } => write!(
                f,
                "challenge rejected in block {block} ({tx}): the verifier agrees with the committed output; the bond went to the bounty pool"
            ),
            CloseReason::NoVerdict { block, tx } => {
                write!(f, "challenge {tx} mined in block {block} without a verdict event")
            }
            CloseReason::Unprovable(why) => write!(f, "unprovable: {why}"),
        }
    }
}

impl Watchtower {
    /// Advances every claim with work left; one claim's failure does not hold up the others.
    pub(super) async fn drive_claims(&self) -> Result<(), WatchtowerError> {
        for claim in self.claims.unfinished().await? {
            let result = match claim.state {
                ClaimState::Challenging => self.drive_challenge(&claim).await,
                ClaimState::Slashing => self.drive_slashing(&claim).await,
                ClaimState::Slashed | ClaimState::Closed => Ok(()),
            };
            if let Err(error) = result {
                tracing::warn!(task_id = claim.task_id, state = claim.state.as_str(), %error, "claim not advanced; retrying");
            }
        }
        Ok(())
    }

    /// A `challenging` claim: waits for the challenge on record, or sends it.
    async fn drive_challenge(&self, claim: &Claim) -> Result<(), WatchtowerError> {
        let (_, record) = self
            .current_attempt(|attempt| Intent::Challenge {
                task_id: claim.task_id,
                attempt,
            })
            .await?;
        let Some(record) = record else {
            return self.send_challenge(claim).await;
        };
        match self.outcome(&record) {
            None => Ok(()),
            Some(Ok(sent)) => self.challenge_mined(claim, sent).await,
            Some(Err(error)) => self.wait_failed(claim, &record, error),
        }
    }

    /// Re-checks the task on the canonical chain and, if its commitment is still wrong and
    /// challengeable, simulates and sends the challenge. Sends nothing while a challenge of the
    /// task is on record (pending or succeeded).
    pub(super) async fn send_challenge(&self, claim: &Claim) -> Result<(), WatchtowerError> {
        let task_id = claim.task_id;
        let (intent, record) = self
            .current_attempt(|attempt| Intent::Challenge { task_id, attempt })
            .await?;
        if let Some(record) = record {
            self.watch_transaction(&record);
            return Ok(());
        }
        let Some(intent) = intent else {
            tracing::error!(
                task_id,
                "gave up: {MAX_ATTEMPTS} challenges of this task reverted"
            );
            self.metrics.verdict(VerdictLabel::Missed);
            return self.close(task_id, CloseReason::GaveUp).await;
        };
        let (state, task) = self.task(task_id).await?;
        match state {
            // A wrong output stays provable after a veto and after it executed: proving it still
            // slashes its signers, and repays the vault what an execution took.
            TaskState::Committed | TaskState::Vetoed | TaskState::Executed => {}
            TaskState::Open => {
                // The wrong commitment went with a reorg; the task may be committed again (and
                // then judged again).
                tracing::info!(
                    task_id,
                    "the wrong commitment is no longer on the canonical chain; waiting"
                );
                return Ok(());
            }
            TaskState::Fraudulent => return self.close(task_id, CloseReason::UpheldFirst).await,
            TaskState::Expired => return self.close(task_id, CloseReason::Expired).await,
            TaskState::None => {
                let gone =
                    CloseReason::ReorgedOut("the task is no longer on the canonical chain".into());
                return self.close(task_id, gone).await;
            }
        }
        // The task keeps only its commitment hash: what the challenge sends must open it.
        let evidence = self.evidence(task_id, task.openedAt).await?;
        if evidence.commitment() != task.commitmentHash {
            // Kept from (or read on) a branch the node is still switching away from: read again
            // on the next step.
            lock(&self.evidence).remove(&task_id);
            return Ok(());
        }
        // A large agent's claim is proved by the step its committed run departs at, recomputed
        // here from the evidence; any other by the output its verifier recomputes.
        let step = if self.agent.network().is_some() {
            match self.fraud_step(&evidence) {
                Ok(Some(step)) => match trace_step(&step) {
                    Ok(shown) => Some((describe(&step), shown)),
                    Err(error) => {
                        return self
                            .close(task_id, CloseReason::Unprovable(error.to_string()))
                            .await;
                    }
                },
                Ok(None) => {
                    let gone = CloseReason::ReorgedOut(
                        "the wrong commitment is no longer on the canonical chain; the task commits a run this agent computes".into(),
                    );
                    return self.close(task_id, gone).await;
                }
                Err(reason) => {
                    tracing::error!(task_id, %reason, "the agent refuses the input it judged before; closing the claim");
                    return self.close(task_id, CloseReason::Unprovable(reason)).await;
                }
            }
        } else {
            if keccak256(&evidence.output) == claim.expected_output_hash {
                let gone = CloseReason::ReorgedOut(
                    "the wrong commitment is no longer on the canonical chain; the task commits the correct output".into(),
                );
                return self.close(task_id, gone).await;
            }
            None
        };
        let head = self.provider.get_block_number().await?;
        let provable_until = self.provable_until(&task);
        if head >= provable_until {
            self.metrics.verdict(VerdictLabel::Missed);
            let missed = CloseReason::Missed(format!(
                "the fraud-proof window closed at block {provable_until} before the challenge was sent"
            ));
            return self.close(task_id, missed).await;
        }
        let Evidence {
            input,
            output,
            trace_hash,
            non_signer_hash,
            trace,
        } = evidence;
        let salt = self.salts.salt(task_id);
        let bond = self.bond().await?;
        let challenges = WardenChallenges::new(self.challenges, &self.provider);
        let simulated = match &step {
            None => {
                challenges
                    .challenge(
                        task_id,
                        input.clone(),
                        output.clone(),
                        trace_hash,
                        non_signer_hash,
                        salt,
                    )
                    .value(bond)
                    .from(self.address())
                    .call()
                    .await
            }
            Some((_, shown)) => {
                challenges
                    .challengeTrace(
                        task_id,
                        input.clone(),
                        output.clone(),
                        trace.clone(),
                        non_signer_hash,
                        shown.clone(),
                        salt,
                    )
                    .value(bond)
                    .from(self.address())
                    .call()
                    .await
            }
        };
        match simulated {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(
                    task_id,
                    "the on-chain verifier agrees with the committed output but this agent does not; \
                     not challenging (the agent and its verifier disagree: report this)"
                );
                self.metrics.challenge(ChallengeResult::Withheld);
                return self.close(task_id, CloseReason::Withheld).await;
            }
            Err(error) => {
                tracing::warn!(task_id, %error, "the challenge would fail now; re-checking on the next step");
                return Ok(());
            }
        }
        // Simulated first, so that nothing (not even a commitment) is sent for a challenge the
        // verifier would reject. A trace challenge's commitment seals the step it shows where an
        // output challenge's seals the expected output hash.
        let sealed = step
            .as_ref()
            .map_or(claim.expected_output_hash, |(_, shown)| sealed_step(shown));
        if !self
            .ready_to_reveal(task_id, sealed, salt, head, provable_until)
            .await?
        {
            return Ok(());
        }
        let (calldata, shows) = match step {
            None => (
                WardenChallenges::challengeCall {
                    taskId: task_id,
                    input,
                    output,
                    traceHash: trace_hash,
                    nonSignerHash: non_signer_hash,
                    salt,
                }
                .abi_encode(),
                "the output".to_string(),
            ),
            Some((found, shown)) => (
                WardenChallenges::challengeTraceCall {
                    taskId: task_id,
                    input,
                    output,
                    trace,
                    nonSignerHash: non_signer_hash,
                    step: shown,
                    salt,
                }
                .abi_encode(),
                found,
            ),
        };
        let request = TransactionRequest::default()
            .with_to(self.challenges)
            .with_input(calldata)
            .with_value(bond);
        match self.txm.submit(&intent, request).await {
            Ok(record) => {
                self.metrics.challenge(ChallengeResult::Sent);
                tracing::warn!(task_id, %intent, tx = %record.tx_hash, nonce = record.nonce, shows, "challenge sent");
                self.claims
                    .set_state(
                        task_id,
                        ClaimState::Challenging,
                        &format!(
                            "challenge sent in {} (nonce {})",
                            record.tx_hash, record.nonce
                        ),
                    )
                    .await?;
                warden_runtime::failpoint(FAILPOINT_AFTER_CHALLENGE_SENT).await;
                self.watch_transaction(&record);
                Ok(())
            }
            // Settled in between (challenged, vetoed, window over): the next step's re-check
            // closes the claim. Nothing was recorded and no nonce was used.
            Err(TxError::WouldRevert { reason, .. }) => {
                tracing::warn!(task_id, %reason, "the challenge would revert; re-checking on the next step");
                Ok(())
            }
            // On record and pending: the next step waits for it.
            Err(error @ (TxError::Rejected { .. } | TxError::Rpc { .. })) => {
                tracing::warn!(task_id, %error, "challenge not broadcast yet; it stays on record");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Commits to the challenge of `task_id` before it is revealed, so that the bounty is this
    /// watchtower's and not a copier's. Returns whether the challenge may be sent now: the
    /// commitment is on chain (so the challenge lands in a later block), or too little of the
    /// window is left to wait for one, or every attempt to commit reverted (the challenge then
    /// goes without: the fraud is stopped, the bounty forgone). Otherwise it sends the commitment
    /// (once per attempt, by intent) or waits for it.
    async fn ready_to_reveal(
        &self,
        task_id: u64,
        expected_output_hash: B256,
        salt: B256,
        head: u64,
        deadline: u64,
    ) -> Result<bool, WatchtowerError> {
        let challenges = WardenChallenges::new(self.challenges, &self.provider);
        let commitment = challenges
            .sealChallenge(self.address(), task_id, expected_output_hash, salt)
            .call()
            .await?;
        let committed_at = challenges
            .challengeCommitments(self.address(), commitment)
            .call()
            .await?;
        let of_task = |intent: &Intent| matches!(intent, Intent::CommitChallenge { task_id: of, .. } if *of == task_id);
        if !committed_at.is_zero() {
            // The receipts of the commitment are no longer needed.
            drop(self.take_outcomes(of_task));
            tracing::info!(task_id, %committed_at, "challenge commitment on chain; revealing");
            return Ok(true);
        }
        if head + COMMIT_MARGIN_BLOCKS >= deadline {
            tracing::warn!(
                task_id,
                head,
                deadline,
                "too little of the challenge window is left to commit first; challenging without the bounty"
            );
            return Ok(true);
        }
        let (intent, record) = self
            .current_attempt(|attempt| Intent::CommitChallenge { task_id, attempt })
            .await?;
        if let Some(record) = record {
            // Pending, or mined and not yet visible to this read: the next step looks again. A
            // reverted attempt frees the next one.
            match self.outcome(&record) {
                Some(Ok(sent)) if !sent.succeeded() => {
                    tracing::warn!(task_id, tx = %sent.tx_hash, "challenge commitment reverted; committing again");
                }
                Some(Err(error)) => {
                    tracing::warn!(task_id, %error, "no receipt for the challenge commitment yet");
                }
                Some(Ok(_)) | None => {}
            }
            return Ok(false);
        }
        let Some(intent) = intent else {
            tracing::warn!(
                task_id,
                "{MAX_ATTEMPTS} challenge commitments reverted; challenging without the bounty"
            );
            return Ok(true);
        };
        let call = WardenChallenges::commitChallengeCall { commitment };
        let request = TransactionRequest::default()
            .with_to(self.challenges)
            .with_input(call.abi_encode());
        match self.txm.submit(&intent, request).await {
            Ok(record) => {
                tracing::warn!(task_id, %intent, tx = %record.tx_hash, nonce = record.nonce, "challenge commitment sent");
                self.watch_transaction(&record);
                Ok(false)
            }
            Err(TxError::WouldRevert { reason, .. }) => {
                tracing::warn!(task_id, %reason, "the challenge commitment would revert; re-checking on the next step");
                Ok(false)
            }
            Err(error @ (TxError::Rejected { .. } | TxError::Rpc { .. })) => {
                tracing::warn!(task_id, %error, "challenge commitment not broadcast yet; it stays on record");
                Ok(false)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The challenge transaction was mined.
    async fn challenge_mined(&self, claim: &Claim, sent: Sent) -> Result<(), WatchtowerError> {
        let task_id = claim.task_id;
        if !sent.succeeded() {
            self.metrics.challenge(ChallengeResult::Reverted);
            tracing::warn!(task_id, tx = %sent.tx_hash, block = sent.block_number, "challenge reverted; re-checking the task");
            self.claims
                .set_state(
                    task_id,
                    ClaimState::Challenging,
                    &format!(
                        "challenge {} reverted in block {}; re-checking",
                        sent.tx_hash, sent.block_number
                    ),
                )
                .await?;
            return Ok(());
        }
        let upheld = sent.receipt.inner.logs().iter().find_map(|log| {
            log.log_decode::<WardenChallenges::ChallengeUpheld>()
                .ok()
                .map(|decoded| decoded.inner.data)
                .filter(|event| event.taskId == task_id && event.challenger == self.address())
        });
        if let Some(event) = upheld {
            lock(&self.evidence).remove(&task_id);
            let bond = self.bond().await?;
            let bounty = event.payout.saturating_sub(bond);
            self.metrics.challenge(ChallengeResult::Upheld);
            self.metrics
                .earned_wei(Earning::Bounty, u128::try_from(bounty).unwrap_or(u128::MAX));
            tracing::warn!(
                task_id,
                tx = %sent.tx_hash,
                block = sent.block_number,
                %bounty,
                "challenge upheld: the task is fraudulent; slashing its signers"
            );
            self.claims
                .set_state(
                    task_id,
                    ClaimState::Slashing,
                    &format!(
                        "challenge upheld in block {} ({}), bounty {bounty} wei; slashing the signers",
                        sent.block_number, sent.tx_hash
                    ),
                )
                .await?;
            let mut slashing = claim.clone();
            slashing.state = ClaimState::Slashing;
            return self.drive_slashing(&slashing).await;
        }
        let rejected = sent
            .receipt
            .decoded_log::<WardenChallenges::ChallengeRejected>()
            .is_some();
        let reason = if rejected {
            self.metrics.challenge(ChallengeResult::Rejected);
            tracing::error!(task_id, tx = %sent.tx_hash, "challenge rejected: the verifier agrees with the committed output; the bond is forfeited");
            CloseReason::Rejected {
                block: sent.block_number,
                tx: sent.tx_hash,
            }
        } else {
            CloseReason::NoVerdict {
                block: sent.block_number,
                tx: sent.tx_hash,
            }
        };
        self.close(task_id, reason).await
    }

    /// Waiting for a transaction ended without a receipt. It stays on record: a timeout or an
    /// RPC failure is waited out on the next step; a dropped transaction frees its intent
    /// family's next attempt.
    pub(super) fn wait_failed(
        &self,
        claim: &Claim,
        record: &TxRecord,
        error: TxError,
    ) -> Result<(), WatchtowerError> {
        match error {
            TxError::Timeout { .. } | TxError::Rpc { .. } => {
                tracing::warn!(task_id = claim.task_id, intent = record.intent, %error, "no receipt yet; waiting again");
                Ok(())
            }
            TxError::Dropped { .. } => {
                tracing::error!(task_id = claim.task_id, intent = record.intent, %error, "transaction dropped; the next attempt is a new transaction");
                Ok(())
            }
            error => Err(error.into()),
        }
    }

    /// Closes a `challenging` claim with no transaction on record whose wrong commitment is gone
    /// from the canonical chain.
    pub(super) async fn close_if_vanished(
        &self,
        claim: &Claim,
        why: &str,
    ) -> Result<(), WatchtowerError> {
        if claim.state != ClaimState::Challenging {
            return Ok(());
        }
        let (_, record) = self
            .current_attempt(|attempt| Intent::Challenge {
                task_id: claim.task_id,
                attempt,
            })
            .await?;
        if record.is_some() {
            // A challenge is in flight: its outcome decides (it reverts on an output mismatch,
            // costing gas only).
            return Ok(());
        }
        let gone = CloseReason::ReorgedOut(format!(
            "the wrong commitment is no longer on the canonical chain; {why}"
        ));
        self.close(claim.task_id, gone).await
    }

    pub(super) async fn close(
        &self,
        task_id: u64,
        reason: CloseReason,
    ) -> Result<(), WatchtowerError> {
        let detail = reason.to_string();
        tracing::info!(task_id, detail, "claim closed");
        lock(&self.evidence).remove(&task_id);
        self.claims
            .set_state(task_id, ClaimState::Closed, &detail)
            .await?;
        Ok(())
    }

    /// The input, committed output, trace hash and non-signer hash a challenge of `task_id` sends,
    /// with a large agent's committed trace: kept from judging, or (after a restart) read from the
    /// task's events and the claim's trace once and kept.
    async fn evidence(&self, task_id: u64, opened_at: u32) -> Result<Evidence, WatchtowerError> {
        if let Some(evidence) = lock(&self.evidence).get(&task_id).cloned() {
            return Ok(evidence);
        }
        let input = self.input(task_id, opened_at).await?;
        let (committed, log) =
            task_facts::committed_event(&self.provider, self.task_manager, task_id, opened_at)
                .await?;
        let trace = if self.agent.network().is_some() && committed.traceHash != NO_TRACE {
            self.claim_trace(task_id, &log, committed.traceHash).await?
        } else {
            Vec::new()
        };
        let evidence = Evidence {
            input,
            output: committed.output,
            trace_hash: committed.traceHash,
            non_signer_hash: non_signer_hash(&committed.nonSignerIds),
            trace,
        };
        lock(&self.evidence).insert(task_id, evidence.clone());
        Ok(evidence)
    }

    /// The trace hashing to `expected` that task `task_id` is committed with: the claim's, or,
    /// when the claim holds another (a reorg brought back a different wrong run), read again from
    /// the transaction that emitted the commitment's `log`, and kept with the claim.
    async fn claim_trace(
        &self,
        task_id: u64,
        log: &alloy::rpc::types::Log,
        expected: B256,
    ) -> Result<Vec<B256>, WatchtowerError> {
        if let Some(trace) = self.claims.trace(task_id).await?
            && trace_hash(&trace) == expected
        {
            return Ok(trace);
        }
        let trace = self.read_trace(task_id, log, expected).await??;
        self.claims.set_trace(task_id, &trace).await?;
        Ok(trace)
    }

    /// The attempt of an intent family to wait for or to send: the first attempt that is pending
    /// or succeeded (returned with its record), else the first not on record (returned without);
    /// attempts that reverted or were dropped are passed over. `(None, None)` once
    /// [`MAX_ATTEMPTS`] all failed.
    pub(super) async fn current_attempt(
        &self,
        intent: impl Fn(u32) -> Intent,
    ) -> Result<(Option<Intent>, Option<TxRecord>), WatchtowerError> {
        for attempt in 0..MAX_ATTEMPTS {
            let name = intent(attempt);
            match self.txm.lookup(&name).await? {
                None => return Ok((Some(name), None)),
                Some(record) if matches!(record.status, TxStatus::Pending | TxStatus::Mined) => {
                    return Ok((Some(name), Some(record)));
                }
                // A reverted attempt still owes its outcome to this process if it was being
                // waited for here.
                Some(record) if self.has_outcome(&record.intent) => {
                    return Ok((Some(name), Some(record)));
                }
                Some(_) => {}
            }
        }
        Ok((None, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_reorg_reopens_a_claim() {
        let reorged =
            CloseReason::ReorgedOut("the task is no longer on the canonical chain".into());
        assert_eq!(
            reorged.to_string(),
            "reorged out: the task is no longer on the canonical chain"
        );
        assert!(CloseReason::reopens(&reorged.to_string()));
        for closed in [
            CloseReason::Missed("executed before the challenge was sent".into()),
            CloseReason::GaveUp,
            CloseReason::UpheldFirst,
            CloseReason::Expired,
            CloseReason::Withheld,
            CloseReason::Rejected {
                block: 7,
                tx: B256::ZERO,
            },
            CloseReason::NoVerdict {
                block: 7,
                tx: B256::ZERO,
            },
            CloseReason::Unprovable("the agent refuses the input".into()),
        ] {
            assert!(!CloseReason::reopens(&closed.to_string()), "{closed}");
        }
    }
}
