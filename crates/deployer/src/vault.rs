//! A vault owner's side of Warden: `warden vault create` deploys a vault under a documented policy
//! file, registers its agent with a verifier the task manager accepts, funds it and fills the
//! agent's price history; `warden vault status` reads back where it stands.
//!
//! The policy file ([`VaultPolicy`], TOML) is the one place an owner states what the agent may
//! do: the market it trades in, the calls it may make (an allowlist of contract and function),
//! per-token spending caps, the share of the signing stake one action may move, the agent's
//! windows and fees, and what to fund it with. Amounts are written in token units (`"1.5"`) and
//! read with the token's own `decimals()`.

use std::path::Path;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use serde::{Deserialize, Serialize};
use warden_agent::Agent;
use warden_bindings::input_source::UniswapV2InputSource::UniswapV2InputSourceErrors;
use warden_bindings::task_manager::WardenTaskManager::AgentConfig;
use warden_bindings::tx::confirm;
use warden_bindings::{
    IERC20, MlpVerifierFactory, UniswapV2InputSource, WardenRewards, WardenTaskManager, WardenVault,
};
use warden_runtime::config::ModelSource;
use warden_runtime::deployment::DeploymentFile;

use crate::DeployError;
use crate::app::deploy_verifier;

/// `[market]`: where the agent trades and reads its prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketPolicy {
    /// The Uniswap v2 router the agent's swaps go through.
    pub router: Address,
    /// The base/quote pair whose cumulative prices the agent's input source observes.
    pub pair: Address,
    /// The token the vault values everything in, and pays task fees in.
    pub base_token: Address,
    pub quote_token: Address,
}

/// `[agent]`: which agent, its windows and its fees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentPolicy {
    /// A large agent's model file (path or URL), pinned by `agent_hash`; without both, the
    /// shipped reference agent.
    #[serde(default)]
    pub model: Option<ModelSource>,
    #[serde(default)]
    pub agent_hash: Option<B256>,
    /// Share of the operator set's weight that must sign an action (basis points).
    pub threshold_bps: u16,
    /// Blocks the operators have to commit a task, and again to execute it.
    pub response_window: u32,
    /// Blocks a committed action waits, open to challenges, before it may execute.
    pub challenge_window: u32,
    /// Least blocks between two tasks.
    pub tick_interval: u32,
    /// Least seconds between two observations of the pair's price (a TWAP covers 16 of them).
    pub min_observation_interval: u32,
    /// What each committed task pays its signers, in base-token units.
    pub task_fee: String,
}

/// One call the agent may make: a contract and a function signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedCall {
    pub target: Address,
    /// As Solidity declares it, e.g. `swapExactTokensForTokens(uint256,uint256,address[],address,uint256)`.
    pub function: String,
}

/// A token's spending caps, in token units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendingCapPolicy {
    pub token: Address,
    /// Most one action may spend.
    pub per_action: String,
    /// Most all actions may spend within a day.
    pub daily: String,
}

/// `[vault]`: what the agent may do with the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultRules {
    /// What one action may move, as a share of the stake that signed it (basis points, below
    /// the task manager's slash share so that a corrupted quorum loses more than it takes).
    pub stake_bound_bps: u16,
    /// The calls the agent may make; every other call is refused.
    pub allow: Vec<AllowedCall>,
    /// Caps on outflows, per token.
    #[serde(default)]
    pub caps: Vec<SpendingCapPolicy>,
}

/// `[funding]`: what `create` moves in, from the owner's key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FundingPolicy {
    /// Base tokens moved into the vault.
    pub base: String,
    /// Quote tokens moved into the vault.
    pub quote: String,
    /// Ether prepaid for the agent's commitments (each pays the task manager's commit fee).
    pub service: String,
    /// Base tokens the vault prepays for task fees.
    pub task_fees: String,
}

/// The policy file `warden vault create --policy` reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultPolicy {
    pub market: MarketPolicy,
    pub agent: AgentPolicy,
    pub vault: VaultRules,
    #[serde(default)]
    pub funding: FundingPolicy,
}

impl VaultPolicy {
    /// Reads a policy file.
    pub fn from_file(path: &Path) -> Result<Self, DeployError> {
        crate::read_toml(path)
    }

    /// The `[agent]` section the services run this vault's agent with.
    pub fn agent_section(&self) -> warden_runtime::config::AgentSection {
        warden_runtime::config::AgentSection {
            router: self.market.router,
            model: self.agent.model.clone(),
            agent_hash: self.agent.agent_hash,
        }
    }

    /// The allowlist as (target, selector), each signature checked.
    fn allowed_selectors(&self) -> Result<Vec<(Address, [u8; 4])>, DeployError> {
        self.vault
            .allow
            .iter()
            .map(|call| {
                let function =
                    alloy::json_abi::Function::parse(&call.function).map_err(|error| {
                        DeployError::Config(format!(
                            "vault.allow: {:?} is not a function signature: {error}",
                            call.function
                        ))
                    })?;
                Ok((call.target, function.selector().0))
            })
            .collect()
    }
}

/// `amount` ("1.5") in base units of a token with `decimals` decimals.
pub fn parse_units(amount: &str, decimals: u8) -> Result<U256, DeployError> {
    let invalid = || DeployError::Config(format!("{amount:?} is not an amount"));
    let amount = amount.trim();
    if amount.is_empty() {
        return Ok(U256::ZERO);
    }
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    if fraction.len() > usize::from(decimals)
        || whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let digits = format!("{whole}{fraction:0<width$}", width = usize::from(decimals));
    U256::from_str_radix(&digits, 10).map_err(|_| invalid())
}

/// `amount` base units of a token with `decimals` decimals, written as [`parse_units`] reads it
/// (`1.5`, `300000`).
pub fn format_units(amount: U256, decimals: u8) -> String {
    let digits = amount.to_string();
    let decimals = usize::from(decimals);
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// What `create` deployed: `vault.json`, beside the deployment file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultRecord {
    pub vault: Address,
    pub owner: Address,
    pub agent_id: u64,
    pub agent_hash: B256,
    pub verifier: Address,
    pub input_source: Address,
    /// Chain ids and task manager, so that the record is not used against another deployment.
    pub chain_id: u64,
    pub task_manager: Address,
}

/// Deploys and configures a vault under `policy` for `agent`, from the owner's key behind
/// `owner` (address `owner_address`), registers the agent and funds it. Then observes the
/// pair until the agent has the 17 observations its first decision needs, waiting at most
/// `history_wait` (zero: leave the history to the tasks, which observe as they open).
pub async fn create<P: Provider + Clone>(
    owner: &P,
    owner_address: Address,
    deployment: &DeploymentFile,
    policy: &VaultPolicy,
    agent: &dyn Agent,
    history_wait: Duration,
) -> Result<VaultRecord, DeployError> {
    let allowed = policy.allowed_selectors()?;
    let base = IERC20::new(policy.market.base_token, owner);
    let quote = IERC20::new(policy.market.quote_token, owner);
    let base_decimals = base.decimals().call().await?;
    let quote_decimals = quote.decimals().call().await?;
    let units = |amount: &str, decimals: u8, key: &str| {
        parse_units(amount, decimals)
            .map_err(|error| DeployError::Config(format!("{key}: {error}")))
    };
    let task_fee = units(&policy.agent.task_fee, base_decimals, "agent.task_fee")?;
    let funding = &policy.funding;
    let fund_base = units(&funding.base, base_decimals, "funding.base")?;
    let fund_quote = units(&funding.quote, quote_decimals, "funding.quote")?;
    let fund_service = units(&funding.service, 18, "funding.service")?;
    let fund_task_fees = units(&funding.task_fees, base_decimals, "funding.task_fees")?;
    let mut caps = Vec::with_capacity(policy.vault.caps.len());
    for cap in &policy.vault.caps {
        let decimals = IERC20::new(cap.token, owner).decimals().call().await?;
        caps.push((
            cap.token,
            units(&cap.per_action, decimals, "vault.caps.per_action")?,
            units(&cap.daily, decimals, "vault.caps.daily")?,
        ));
    }

    // Refused before anything is sent: the owner's key must hold what it moves in.
    for (what, token, amount) in [
        ("funding.base", &base, fund_base),
        ("funding.quote", &quote, fund_quote),
    ] {
        let held = token.balanceOf(owner_address).call().await?;
        if held < amount {
            return Err(DeployError::Config(format!(
                "{what}: the owner {owner_address} holds {held} base units of {} and the policy \
                 moves {amount} into the vault; nothing was sent",
                token.address()
            )));
        }
    }
    let ether = owner.get_balance(owner_address).await?;
    if ether <= fund_service {
        return Err(DeployError::Config(format!(
            "funding.service: the owner {owner_address} holds {} ETH, not enough for {} ETH of \
             service funding and the gas; nothing was sent",
            warden_txm::ether(ether),
            warden_txm::ether(fund_service)
        )));
    }

    let task_manager = WardenTaskManager::new(deployment.warden.task_manager, owner);
    let factory = MlpVerifierFactory::new(deployment.warden.verifier_factory, owner);
    let agent_hash = agent.agent_hash();
    let verifier = match factory.verifierOf(agent_hash).call().await? {
        existing if !existing.is_zero() => existing,
        _ => deploy_verifier(&factory, agent, policy.market.router).await?,
    };

    let vault = WardenVault::deploy(
        owner.clone(),
        owner_address,
        deployment.warden.task_manager,
        policy.vault.stake_bound_bps,
    )
    .await?;
    tracing::info!(vault = %vault.address(), "vault deployed");
    for (target, selector) in allowed {
        confirm(
            "WardenVault.setCallPermission",
            vault
                .setCallPermission(target, selector.into(), true)
                .send()
                .await?,
        )
        .await?;
    }
    for (token, per_action, daily) in caps {
        confirm(
            "WardenVault.setSpendingCap",
            vault
                .setSpendingCap(token, per_action, daily)
                .send()
                .await?,
        )
        .await?;
    }
    for (token, amount, name) in [(&base, fund_base, "base"), (&quote, fund_quote, "quote")] {
        if !amount.is_zero() {
            confirm(
                "IERC20.transfer",
                token.transfer(*vault.address(), amount).send().await?,
            )
            .await?;
            tracing::info!(%amount, token = name, "vault funded");
        }
    }

    let input_source = UniswapV2InputSource::deploy(
        owner.clone(),
        deployment.warden.task_manager,
        policy.market.pair,
        policy.agent.min_observation_interval,
    )
    .await?;
    let config = AgentConfig {
        agentHash: agent_hash,
        verifier,
        vault: *vault.address(),
        inputSource: *input_source.address(),
        tokenBase: policy.market.base_token,
        tokenQuote: policy.market.quote_token,
        thresholdBps: policy.agent.threshold_bps,
        responseWindow: policy.agent.response_window,
        challengeWindow: policy.agent.challenge_window,
        tickInterval: policy.agent.tick_interval,
        taskFee: alloy::primitives::aliases::U96::checked_from_limbs_slice(task_fee.as_limbs())
            .ok_or_else(|| DeployError::Config("agent.task_fee exceeds 96 bits".into()))?,
    };
    let receipt = confirm(
        "WardenTaskManager.registerAgent",
        task_manager.registerAgent(config).send().await?,
    )
    .await?;
    let agent_id = receipt
        .decoded_log::<WardenTaskManager::AgentRegistered>()
        .map(|event| event.agentId)
        .ok_or_else(|| DeployError::Config("registerAgent emitted no AgentRegistered".into()))?;
    tracing::info!(agent_id, %agent_hash, "agent registered");
    if !fund_service.is_zero() {
        confirm(
            "WardenTaskManager.fundService",
            task_manager
                .fundService(agent_id)
                .value(fund_service)
                .send()
                .await?,
        )
        .await?;
    }
    if !fund_task_fees.is_zero() {
        confirm(
            "WardenVault.fundTaskFees",
            vault
                .fundTaskFees(deployment.warden.rewards, fund_task_fees)
                .send()
                .await?,
        )
        .await?;
    }
    if !history_wait.is_zero() {
        fill_history(&input_source, agent_id, history_wait).await?;
    }
    Ok(VaultRecord {
        vault: *vault.address(),
        owner: owner_address,
        agent_id,
        agent_hash,
        verifier,
        input_source: *input_source.address(),
        chain_id: deployment.chain_id,
        task_manager: deployment.warden.task_manager,
    })
}

/// Observations a first decision needs (16 intervals).
const OBSERVATIONS: u64 = warden_agent::HISTORY_LEN as u64 + 1;

/// Observes the pair for `agent_id` until it holds [`OBSERVATIONS`], each as soon as the input
/// source's interval allows, giving up after `wait`.
async fn fill_history<P: Provider + Clone>(
    input_source: &UniswapV2InputSource::UniswapV2InputSourceInstance<P>,
    agent_id: u64,
    wait: Duration,
) -> Result<(), DeployError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut observed = 0;
    while observed < OBSERVATIONS {
        match input_source.observe(agent_id).send().await {
            Ok(pending) => {
                confirm("UniswapV2InputSource.observe", pending).await?;
                observed += 1;
            }
            Err(error)
                if matches!(
                    error.as_decoded_interface_error::<UniswapV2InputSourceErrors>(),
                    Some(UniswapV2InputSourceErrors::ObservationTooSoon(_))
                ) =>
            {
                if tokio::time::Instant::now() >= deadline {
                    return Err(DeployError::Config(format!(
                        "the agent's price history holds {observed} of {OBSERVATIONS} \
                         observations after {wait:?}; its tasks fill the rest as they open"
                    )));
                }
                // The chain's clock decides: poll it about once a second.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
    tracing::info!(agent_id, observed, "price history filled");
    Ok(())
}

/// Where a vault stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultStatus {
    pub vault: Address,
    pub agent_id: u64,
    pub paused: bool,
    pub stake_bound_bps: u16,
    /// (token, symbol, balance) for the agent's two tokens.
    pub balances: Vec<(Address, String, U256)>,
    /// (token, spent in the current daily window).
    pub spent_today: Vec<(Address, U256)>,
    /// The latest task: (id, state name, deadline), if any.
    pub latest_task: Option<(u64, &'static str, u32)>,
    /// Whether a task could open now, and if not, why.
    pub can_open: &'static str,
    /// Every executed outflow still fraud-provable, in the base token (the task manager's
    /// value-at-risk), and its bound in basis points of the signing stake.
    pub value_at_risk: U256,
    pub value_at_risk_bps: u16,
    /// Ether left for commitments, and base tokens left for task fees.
    pub service_balance: U256,
    pub task_fee_balance: U256,
}

impl VaultStatus {
    /// Reads the status of the vault and agent `record` describes.
    pub async fn read<P: Provider>(
        provider: &P,
        deployment: &DeploymentFile,
        record: &VaultRecord,
    ) -> Result<Self, DeployError> {
        let task_manager = WardenTaskManager::new(deployment.warden.task_manager, provider);
        let vault = WardenVault::new(record.vault, provider);
        let agent = task_manager.getAgent(record.agent_id).call().await?;
        let mut balances = Vec::new();
        for token in [agent.tokenBase, agent.tokenQuote] {
            let erc20 = IERC20::new(token, provider);
            let symbol = erc20.symbol().call().await.unwrap_or_default();
            balances.push((token, symbol, erc20.balanceOf(record.vault).call().await?));
        }
        let mut spent_today = Vec::new();
        for token in vault.cappedTokens().call().await? {
            spent_today.push((token, vault.spentInWindow(token).call().await?));
        }
        let status = task_manager.agentStatus(record.agent_id).call().await?;
        let latest_task = if status.latestTaskId == 0 {
            None
        } else {
            let task = task_manager.getTask(status.latestTaskId).call().await?;
            Some((
                status.latestTaskId,
                task_state_name(task.state as u8),
                task.deadline,
            ))
        };
        let check = task_manager.canOpenTask(record.agent_id).call().await?;
        Ok(Self {
            vault: record.vault,
            agent_id: record.agent_id,
            paused: vault.paused().call().await?,
            stake_bound_bps: vault.stakeBoundBps().call().await?,
            balances,
            spent_today,
            latest_task,
            can_open: open_check_name(check.check as u8),
            value_at_risk: task_manager.valueAtRisk().call().await?,
            value_at_risk_bps: task_manager.valueAtRiskBps().call().await?,
            service_balance: task_manager.serviceBalance(record.agent_id).call().await?,
            task_fee_balance: WardenRewards::new(deployment.warden.rewards, provider)
                .feeBalance(record.agent_id)
                .call()
                .await?,
        })
    }
}

fn task_state_name(state: u8) -> &'static str {
    match state {
        1 => "open (waiting for a quorum's commitment)",
        2 => "committed (in its challenge window, then executable)",
        3 => "executed",
        4 => "expired",
        5 => "vetoed",
        6 => "proved fraudulent",
        _ => "unknown",
    }
}

fn open_check_name(check: u8) -> &'static str {
    match check {
        0 => "a task can open now",
        1 => "unknown agent",
        2 => "waiting for the tick interval",
        3 => "the latest task is still in progress",
        4 => "the input is not ready (the price history fills with each observation)",
        _ => "unknown",
    }
}

impl std::fmt::Display for VaultStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "vault {} (agent {})", self.vault, self.agent_id)?;
        writeln!(
            f,
            "  paused:               {}",
            if self.paused { "yes" } else { "no" }
        )?;
        for (token, symbol, balance) in &self.balances {
            writeln!(f, "  balance:              {balance} {symbol} ({token})")?;
        }
        for (token, spent) in &self.spent_today {
            writeln!(f, "  spent today:          {spent} of token {token}")?;
        }
        writeln!(
            f,
            "  stake bound:          one action moves at most {} bps of the stake that signed it",
            self.stake_bound_bps
        )?;
        writeln!(
            f,
            "  value at risk:        {} (base token, every agent's executed outflows still \
             provable; bound {} bps of the signing stake)",
            self.value_at_risk, self.value_at_risk_bps
        )?;
        match self.latest_task {
            Some((id, state, deadline)) if deadline != 0 => writeln!(
                f,
                "  latest task:          {id}, {state}; challenge window ends at block {deadline}"
            )?,
            Some((id, state, _)) => writeln!(f, "  latest task:          {id}, {state}")?,
            None => writeln!(f, "  latest task:          none yet")?,
        }
        writeln!(f, "  next task:            {}", self.can_open)?;
        writeln!(
            f,
            "  service balance:      {} wei (pays commitments)",
            self.service_balance
        )?;
        write!(
            f,
            "  task fee balance:     {} (base token, pays signers)",
            self.task_fee_balance
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use alloy::sol_types::SolCall;
    use warden_bindings::uniswap::UniswapV2Router02;

    use super::*;

    #[test]
    fn amounts_are_read_in_token_units() {
        assert_eq!(
            parse_units("1.5", 18).unwrap(),
            U256::from(1_500_000_000_000_000_000u128)
        );
        assert_eq!(
            parse_units("300000", 6).unwrap(),
            U256::from(300_000_000_000u64)
        );
        assert_eq!(parse_units("", 18).unwrap(), U256::ZERO);
        assert_eq!(parse_units(".5", 1).unwrap(), U256::from(5));
        for bad in ["1.2345678", "1,5", "-1", "1e18", ".", "0x10"] {
            assert!(parse_units(bad, 6).is_err(), "{bad:?}");
        }
        for (amount, decimals) in [(1_500_000u64, 6u8), (7, 18), (0, 18), (10, 0), (100, 2)] {
            let written = format_units(U256::from(amount), decimals);
            assert_eq!(
                parse_units(&written, decimals).unwrap(),
                U256::from(amount),
                "{written}"
            );
        }
        assert_eq!(format_units(U256::from(1_500_000u64), 6), "1.5");
    }

    #[test]
    fn the_documented_policy_parses_and_its_calls_are_checked() {
        let policy: VaultPolicy =
            toml::from_str(include_str!("../../../config/vault-policy.toml")).unwrap();
        assert_eq!(policy.vault.allow.len(), 1);
        let selectors = policy.allowed_selectors().unwrap();
        assert_eq!(
            selectors[0].1,
            UniswapV2Router02::swapExactTokensForTokensCall::SELECTOR
        );
        let mut broken = policy;
        broken.vault.allow[0].function = "swap(uint256".into();
        let error = broken.allowed_selectors().unwrap_err().to_string();
        assert!(error.contains("swap(uint256"), "{error}");
    }
}
