//! What a running devnet reports: the JSON summary and the status table.

use std::fmt::Write as _;

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};
use warden_deployer::DeploymentSummary;

/// Lifecycle of the devnet, as recorded in the summary file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DevnetState {
    Running,
    Stopped,
}

/// The devnet's summary file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub state: DevnetState,
    /// What was deployed: chain, EigenLayer, Warden, operators, market and application.
    #[serde(flatten)]
    pub deployment: DeploymentSummary,
    /// The tasks of the tick loop: those that reached a final state, or every task opened so
    /// far when the loop was interrupted.
    pub tasks: Vec<TaskSummary>,
    /// The vault before and after the ticks.
    pub vault: Option<VaultSummary>,
    /// Challenges raised against committed outputs during the ticks.
    #[serde(default)]
    pub challenges: ChallengesSummary,
    /// Slashings of operators during the ticks, as EigenLayer reports the operators' shares.
    #[serde(default)]
    pub slashed: Vec<SlashSummary>,
    /// Task fees each operator earned during the ticks for the tasks it signed (in wei of the
    /// base token), paid through EigenLayer's RewardsCoordinator.
    #[serde(default)]
    pub rewards: Vec<RewardSummary>,
    /// Every service running during the ticks: where its metrics and node API answer, as soon
    /// as they listen.
    #[serde(default)]
    pub endpoints: Vec<ServiceEndpoints>,
}

impl Summary {
    /// Where `service` (`aggregator`, `operator-0`, ...) serves its metrics, once it listens.
    pub fn metrics_url(&self, service: &str) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|endpoints| endpoints.service == service)
            .map(|endpoints| endpoints.metrics.as_str())
    }

    /// The summary of a devnet that is up and has not run anything yet.
    pub fn running(deployment: DeploymentSummary) -> Self {
        Self {
            state: DevnetState::Running,
            deployment,
            tasks: Vec::new(),
            vault: None,
            challenges: ChallengesSummary::default(),
            slashed: Vec::new(),
            rewards: Vec::new(),
            endpoints: Vec::new(),
        }
    }
}

/// Where one service's operations endpoints answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEndpoints {
    /// `aggregator`, `operator-0`, `challenger`, ...
    pub service: String,
    /// Prometheus scrape URL.
    pub metrics: String,
    /// EigenLayer node API base URL (`.../eigen/node`).
    pub node_api: String,
}

impl ServiceEndpoints {
    pub fn new(service: impl Into<String>, endpoints: &warden_runtime::ops::OpsEndpoints) -> Self {
        Self {
            service: service.into(),
            metrics: endpoints.metrics_url(),
            node_api: endpoints.node_api_url(),
        }
    }
}

/// Challenges raised during the ticks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengesSummary {
    pub raised: u32,
    pub upheld: u32,
    pub rejected: u32,
    pub list: Vec<ChallengeSummary>,
}

/// One challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeSummary {
    pub task: u64,
    pub challenger: Address,
    pub upheld: bool,
    pub commit_block: u64,
    pub challenge_block: u64,
    /// How long after the commitment the challenge landed; the window is `deadline - commit`.
    pub blocks_from_commit: u64,
    /// Last block a challenge was possible in.
    pub deadline: u64,
    /// Gas used by the transaction that proved or refuted the commitment.
    #[serde(default)]
    pub gas: Option<u64>,
}

/// One operator slashed for one task, with its shares in the slashed strategy before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlashSummary {
    pub operator: Address,
    pub task: u64,
    /// EigenLayer's id of the slash in Warden's operator set: clearing it in the StrategyManager
    /// pays the slashed stake to the set's redistribution recipient.
    #[serde(with = "warden_deployer::decimal")]
    pub slash_id: U256,
    /// `fraud` (a signer of an upheld challenge) or `equivocation`.
    pub reason: String,
    pub strategy: Address,
    #[serde(with = "warden_deployer::decimal")]
    pub shares_before: U256,
    #[serde(with = "warden_deployer::decimal")]
    pub shares_after: U256,
}

/// What one operator earned for the tasks it signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardSummary {
    pub operator: Address,
    /// Base units of the base token (wrapped ether), as a decimal string.
    #[serde(with = "warden_deployer::decimal")]
    pub amount: U256,
}

/// One task of the honest loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub id: u64,
    /// `open`, `committed`, `executed`, `expired`, `vetoed` or `fraudulent`.
    pub state: String,
    /// `hold`, `buy` or `sell`, with the swap's amounts when trading.
    pub action: Option<String>,
    pub signers: Vec<Address>,
    pub non_signers: Vec<Address>,
    /// The address that sent the task's `commitOutput`: the main aggregator, or the fallback
    /// that committed it while the main one was down.
    #[serde(default)]
    pub committed_by: Option<Address>,
    pub commit_gas: Option<u64>,
    pub execute_gas: Option<u64>,
    pub open_to_commit_blocks: Option<u64>,
    pub commit_to_execute_blocks: Option<u64>,
    /// Slashable stake that signed the committed output (wei of wrapped ether).
    #[serde(with = "warden_deployer::decimal::option", default)]
    pub signed_stake: Option<U256>,
    /// Wrapped ether (the base token) an executed action sent to someone other than the vault:
    /// a theft; 0 for any other task. The vault's bound keeps it below `signed_stake`.
    #[serde(with = "warden_deployer::decimal", default)]
    pub stolen: U256,
    /// Wrapped ether the restitution contract has repaid the vault for this task from its
    /// signers' slashed stake (`WardenRestitution.claimOf`); 0 for any other task. At most the
    /// task's proven loss, which for a theft is what was stolen.
    #[serde(with = "warden_deployer::decimal", default)]
    pub repaid: U256,
}

/// Token balances of the vault, as decimal strings of base units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balances {
    #[serde(with = "warden_deployer::decimal")]
    pub weth: U256,
    #[serde(with = "warden_deployer::decimal")]
    pub dollar: U256,
}

/// The vault around the ticks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultSummary {
    pub balances_before: Balances,
    pub balances_after: Balances,
    /// The vault's wrapped ether just before the first theft of the run executed; `null` if
    /// none did.
    #[serde(with = "warden_deployer::decimal::option", default)]
    pub balance_before_theft: Option<U256>,
    /// The vault's wrapped ether just after the last repayment of a theft from slashed stake;
    /// `null` if nothing was repaid.
    #[serde(with = "warden_deployer::decimal::option", default)]
    pub balance_after_restitution: Option<U256>,
}

/// Formats `amount` base units of an 18-decimal token for people.
fn tokens(amount: U256) -> String {
    let unit = U256::from(10u64).pow(U256::from(18u64));
    let whole = amount / unit;
    let fraction = (amount % unit) / U256::from(10u64).pow(U256::from(14u64));
    format!("{whole}.{fraction:04}")
}

impl Summary {
    /// The human-readable status table printed when the devnet is up.
    pub fn status_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Warden devnet: chain {} at {}",
            self.deployment.chain_id, self.deployment.rpc_url
        );
        let _ = writeln!(
            out,
            "  EigenLayer {}: AllocationManager {}  DelegationManager {}",
            self.deployment.eigenlayer.version,
            self.deployment.eigenlayer.contracts.allocation_manager,
            self.deployment.eigenlayer.contracts.delegation_manager
        );
        let _ = writeln!(
            out,
            "  Warden registry {} (operator set {})",
            self.deployment.warden.registry, self.deployment.warden.operator_set_id
        );
        if let (Some(eigenlayer), Some(warden)) = (
            self.deployment.eigenlayer.deployer,
            self.deployment.warden.deployer,
        ) && eigenlayer != warden
        {
            let _ = writeln!(
                out,
                "  deployed by {eigenlayer} (EigenLayer) and {warden} (Warden, a fresh keystore)"
            );
        }
        let model = &self.deployment.app.model;
        let _ = writeln!(
            out,
            "  agent {}: {} model, {} parameters, model hash {}",
            self.deployment.app.agent_id, model.name, model.parameters, model.hash
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {:<3} {:<42}  {:<14}  {:>20}  {:>6}",
            "#", "operator", "BLS key", "weight (tokens)", "share"
        );
        for (index, operator) in self.deployment.operators.iter().enumerate() {
            let share = if self.deployment.total_weight.is_zero() {
                0.0
            } else {
                // Display only: a percentage for people, never used in any decision.
                let scaled = operator.weight * U256::from(10_000u64) / self.deployment.total_weight;
                f64::from(u32::try_from(scaled).unwrap_or(0)) / 100.0
            };
            let key_prefix: String = operator.bls_public_key.chars().take(14).collect();
            let _ = writeln!(
                out,
                "  {:<3} {:<42}  {:<14}  {:>20}  {:>5.1}%",
                index,
                operator.address.to_string(),
                format!("{key_prefix}…"),
                tokens(operator.weight),
                share
            );
        }
        let _ = writeln!(
            out,
            "  {:<3} {:<42}  {:<14}  {:>20}",
            "",
            "total",
            "",
            tokens(self.deployment.total_weight)
        );
        out
    }
}

impl Summary {
    /// The tasks of the honest loop and the vault's balances, for people.
    pub fn tasks_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "  {:<4} {:<9} {:>7} {:>8} {:>9} {:>10}  action",
            "task", "state", "signers", "commit", "execute", "blocks"
        );
        for task in &self.tasks {
            let gas = |gas: Option<u64>| gas.map(|g| g.to_string()).unwrap_or_else(|| "-".into());
            let blocks = match (task.open_to_commit_blocks, task.commit_to_execute_blocks) {
                (Some(a), Some(b)) => format!("{a}+{b}"),
                (Some(a), None) => format!("{a}"),
                _ => "-".into(),
            };
            let _ = writeln!(
                out,
                "  {:<4} {:<9} {:>3}/{:<3} {:>8} {:>9} {:>10}  {}",
                task.id,
                task.state,
                task.signers.len(),
                task.signers.len() + task.non_signers.len(),
                gas(task.commit_gas),
                gas(task.execute_gas),
                blocks,
                task.action.as_deref().unwrap_or("-")
            );
        }
        let committers: std::collections::BTreeSet<Address> = self
            .tasks
            .iter()
            .filter_map(|task| task.committed_by)
            .collect();
        if committers.len() > 1 {
            for task in &self.tasks {
                if let Some(committer) = task.committed_by {
                    let _ = writeln!(out, "  task {}: committed by {committer}", task.id);
                }
            }
        }
        if let Some(vault) = &self.vault {
            let _ = writeln!(
                out,
                "  vault: {} WETH, {} wUSD  →  {} WETH, {} wUSD",
                tokens(vault.balances_before.weth),
                tokens(vault.balances_before.dollar),
                tokens(vault.balances_after.weth),
                tokens(vault.balances_after.dollar)
            );
        }
        for task in &self.tasks {
            if let (false, Some(stake)) = (task.stolen.is_zero(), task.signed_stake) {
                let _ = writeln!(
                    out,
                    "  task {}: {} WETH stolen, signed by {} WETH of stake (bounded below it)",
                    task.id,
                    tokens(task.stolen),
                    tokens(stake)
                );
            }
            if !task.repaid.is_zero() {
                let _ = writeln!(
                    out,
                    "  task {}: {} WETH repaid to the vault from its signers' slashed stake",
                    task.id,
                    tokens(task.repaid)
                );
            }
        }
        if let Some(vault) = &self.vault
            && let (Some(before), Some(after)) =
                (vault.balance_before_theft, vault.balance_after_restitution)
        {
            let _ = writeln!(
                out,
                "  vault: {} WETH before the first theft, {} WETH after restitution",
                tokens(before),
                tokens(after)
            );
        }
        let challenges = &self.challenges;
        if challenges.raised > 0 {
            let _ = writeln!(
                out,
                "  challenges: {} raised, {} upheld, {} rejected",
                challenges.raised, challenges.upheld, challenges.rejected
            );
            for challenge in &challenges.list {
                let _ = writeln!(
                    out,
                    "    task {}: {} {} blocks after its commitment (window ends at block {}), {} gas",
                    challenge.task,
                    if challenge.upheld {
                        "upheld"
                    } else {
                        "rejected"
                    },
                    challenge.blocks_from_commit,
                    challenge.deadline,
                    challenge
                        .gas
                        .map_or_else(|| "unknown".to_owned(), |gas| gas.to_string())
                );
            }
        }
        for reward in &self.rewards {
            let _ = writeln!(
                out,
                "  paid {} WETH to {} for the tasks it signed",
                tokens(reward.amount),
                reward.operator
            );
        }
        for slash in &self.slashed {
            let _ = writeln!(
                out,
                "  slashed {} for task {} ({}): {} → {} shares",
                slash.operator,
                slash.task,
                slash.reason,
                tokens(slash.shares_before),
                tokens(slash.shares_after)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_amounts_are_formatted_with_four_decimals() {
        let one = U256::from(10u64).pow(U256::from(18u64));
        assert_eq!(tokens(one * U256::from(1000u64)), "1000.0000");
        assert_eq!(tokens(one / U256::from(2u64)), "0.5000");
        assert_eq!(tokens(U256::ZERO), "0.0000");
    }
}
