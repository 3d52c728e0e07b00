//! Start-up checks against the chain: whether this watchtower, configured as it is, can do its
//! job for the agents it judges. A watchtower that cannot is worse than none, because its
//! operators believe the agents are guarded. So it refuses to start, saying why.
//!
//! Two things must hold for every agent running the watchtower's agent:
//!
//! - **The stake is still there when slashing ends.** A task's output can be proved fraudulent,
//!   before or after it executed, through its reference block + the task manager's
//!   `fraudProofWindow` (the registry's `weightHorizon` less `maxWeightAge` and the slashing
//!   period: the stake counted for the signers is still slashable when slashing ends). A task's
//!   whole life (the opening block, the response window, the challenge window and the response
//!   window again for the execution) must fit in that window, as the task manager demands at
//!   `registerAgent` (a task manager this watchtower is pointed at may not be the one that
//!   checked it).
//! - **The watchtower reacts within the challenge window.** It may lag by up to
//!   `max_lag_blocks` before it even reports itself syncing, it polls every
//!   `poll_interval_ms` (in blocks when the block time is known) and its challenge needs a block
//!   or two to be included. All of that must be shorter than the challenge window.
//!
//! Slashing must also be able to finish within the slashing period: one `slashSigners` batch per
//! block at best, so the operator set divided by the batch size must not exceed it.

use alloy::primitives::{Address, B256};
use alloy::providers::DynProvider;
use warden_bindings::{WardenRegistry, WardenTaskManager};

use crate::config::ChallengerConfig;

/// Blocks a challenge may need, once broadcast, to be included.
pub const INCLUSION_BLOCKS: u64 = 2;

/// Why the watchtower refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("reading the contracts at start-up: {0}")]
    Contract(Box<alloy::contract::Error>),
    #[error(
        "agent {agent_id}: a task lives 1 + 2 x its response window ({response_window}) + its \
         challenge window ({challenge_window}) = {life} blocks, more than the task manager's \
         fraudProofWindow ({fraud_proof_window} blocks): an action could execute after its \
         signers' stake may have left, so challenging this agent would not protect its vault"
    )]
    WindowsBeyondFraudProofWindow {
        agent_id: u64,
        response_window: u32,
        challenge_window: u32,
        life: u64,
        fraud_proof_window: u32,
    },
    #[error(
        "agent {agent_id}: its challenge window is {challenge_window} blocks, but this watchtower \
         may take {reaction} blocks to react (challenger.max_lag_blocks = {max_lag_blocks}, \
         + {poll_blocks} block(s) of chain.poll_interval_ms, + {INCLUSION_BLOCKS} for the \
         challenge to be included): lower challenger.max_lag_blocks or chain.poll_interval_ms"
    )]
    CannotReact {
        agent_id: u64,
        challenge_window: u32,
        reaction: u64,
        max_lag_blocks: u64,
        poll_blocks: u64,
    },
    #[error(
        "slashing all {operators} operators takes {batches} slashSigners batches of \
         challenger.slash_batch = {slash_batch}, one per block at best, but the task manager's \
         slashing period is {slashing_period} blocks: raise challenger.slash_batch"
    )]
    SlashingTooSlow {
        operators: u64,
        slash_batch: u64,
        batches: u64,
        slashing_period: u32,
    },
}

warden_runtime::boxed_contract_error!(PreflightError, Contract);

/// What the chain says, and the watchtower keeps for agents registered after start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLimits {
    /// The task manager's `fraudProofWindow`: blocks after a task's reference block through which
    /// its output can be proved fraudulent.
    pub fraud_proof_window: u32,
    /// The task manager's slashing period, in blocks.
    pub slashing_period: u32,
    /// How many blocks the watchtower may take to react (see [`Reaction`]).
    pub reaction: Reaction,
}

/// How quickly the watchtower reacts, in blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaction {
    pub max_lag_blocks: u64,
    /// The poll interval in blocks, rounded up; 0 when the block time is unknown.
    pub poll_blocks: u64,
}

impl Reaction {
    pub fn of(config: &ChallengerConfig) -> Self {
        let poll_blocks = config
            .challenger
            .block_time_ms
            .filter(|block_time| *block_time > 0)
            .map_or(0, |block_time| {
                config.chain.poll_interval_ms.div_ceil(block_time)
            });
        Self {
            max_lag_blocks: config.challenger.max_lag_blocks,
            poll_blocks,
        }
    }

    /// Blocks from a commitment to its challenge's inclusion, at worst.
    pub fn blocks(&self) -> u64 {
        self.max_lag_blocks
            .saturating_add(self.poll_blocks)
            .saturating_add(INCLUSION_BLOCKS)
    }
}

/// An agent's windows, as registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentWindows {
    pub agent_id: u64,
    pub response_window: u32,
    pub challenge_window: u32,
}

/// Checks one agent against the limits.
pub fn check_agent(windows: AgentWindows, limits: &ChainLimits) -> Result<(), PreflightError> {
    let life = 2 * u64::from(windows.response_window) + u64::from(windows.challenge_window) + 1;
    if life > u64::from(limits.fraud_proof_window) {
        return Err(PreflightError::WindowsBeyondFraudProofWindow {
            agent_id: windows.agent_id,
            response_window: windows.response_window,
            challenge_window: windows.challenge_window,
            life,
            fraud_proof_window: limits.fraud_proof_window,
        });
    }
    let reaction = limits.reaction.blocks();
    if reaction >= u64::from(windows.challenge_window) {
        return Err(PreflightError::CannotReact {
            agent_id: windows.agent_id,
            challenge_window: windows.challenge_window,
            reaction,
            max_lag_blocks: limits.reaction.max_lag_blocks,
            poll_blocks: limits.reaction.poll_blocks,
        });
    }
    Ok(())
}

/// Checks that slashing `operators` signers in batches of `slash_batch` fits the slashing period.
pub fn check_slashing(
    operators: u64,
    slash_batch: u64,
    slashing_period: u32,
) -> Result<(), PreflightError> {
    let batches = operators.div_ceil(slash_batch.max(1));
    if batches > u64::from(slashing_period) {
        return Err(PreflightError::SlashingTooSlow {
            operators,
            slash_batch,
            batches,
            slashing_period,
        });
    }
    Ok(())
}

/// Reads the task manager and its registry and checks every
/// agent whose agent hash is `agent_hash` (the others are never judged). Returns the limits for
/// agents registered later.
pub async fn check(
    provider: &DynProvider,
    config: &ChallengerConfig,
    agent_hash: B256,
) -> Result<ChainLimits, PreflightError> {
    let task_manager = WardenTaskManager::new(config.chain.task_manager, provider);
    let registry: Address = task_manager.registry().call().await?;
    let registry = WardenRegistry::new(registry, provider);
    let fraud_proof_window = task_manager.fraudProofWindow().call().await?;
    let limits = ChainLimits {
        fraud_proof_window,
        slashing_period: task_manager.slashingPeriod().call().await?,
        reaction: Reaction::of(config),
    };
    let operators = u64::try_from(registry.operatorIdCount().call().await?).unwrap_or(u64::MAX);
    check_slashing(
        operators,
        config.challenger.slash_batch,
        limits.slashing_period,
    )?;
    let agents = task_manager.agentCount().call().await?;
    let mut judged = Vec::new();
    for agent_id in 1..=agents {
        let agent = task_manager.getAgent(agent_id).call().await?;
        if agent.agentHash != agent_hash {
            continue;
        }
        check_agent(
            AgentWindows {
                agent_id,
                response_window: agent.responseWindow,
                challenge_window: agent.challengeWindow,
            },
            &limits,
        )?;
        judged.push(agent_id);
    }
    if judged.is_empty() {
        tracing::warn!(
            agents,
            %agent_hash,
            "no agent registered with the task manager runs this watchtower's agent yet"
        );
    }
    tracing::info!(
        fraud_proof_window,
        slashing_period = limits.slashing_period,
        reaction_blocks = limits.reaction.blocks(),
        agents = ?judged,
        "start-up checks passed"
    );
    Ok(limits)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn limits(max_lag_blocks: u64, poll_blocks: u64) -> ChainLimits {
        ChainLimits {
            fraud_proof_window: 150,
            slashing_period: 100,
            reaction: Reaction {
                max_lag_blocks,
                poll_blocks,
            },
        }
    }

    fn agent(response_window: u32, challenge_window: u32) -> AgentWindows {
        AgentWindows {
            agent_id: 1,
            response_window,
            challenge_window,
        }
    }

    #[test]
    fn windows_inside_the_fraud_proof_window_pass() {
        check_agent(agent(60, 20), &limits(10, 0)).unwrap();
        // 1 + 2 x 60 + 29 = 150: exactly the window, as the task manager accepts too.
        check_agent(agent(60, 29), &limits(10, 0)).unwrap();
    }

    #[test]
    fn windows_beyond_the_fraud_proof_window_are_refused() {
        let error = check_agent(agent(60, 30), &limits(10, 0)).unwrap_err();
        assert!(
            matches!(
                error,
                PreflightError::WindowsBeyondFraudProofWindow { life: 151, .. }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("fraudProofWindow"), "{error}");
    }

    #[test]
    fn a_watchtower_slower_than_the_window_is_refused() {
        // 10 blocks of lag + 2 for inclusion: a 12-block window is already too short.
        let error = check_agent(agent(60, 12), &limits(10, 0)).unwrap_err();
        assert!(
            matches!(error, PreflightError::CannotReact { reaction: 12, .. }),
            "{error}"
        );
        check_agent(agent(60, 13), &limits(10, 0)).unwrap();
        // The poll interval counts once the block time is known.
        let error = check_agent(agent(60, 13), &limits(10, 1)).unwrap_err();
        assert!(error.to_string().contains("max_lag_blocks"), "{error}");
    }

    #[test]
    fn the_poll_interval_is_rounded_up_to_whole_blocks() {
        use figment::providers::Format;
        let mut config: ChallengerConfig =
            figment::Figment::from(figment::providers::Toml::string(SAMPLE))
                .extract()
                .unwrap();
        config.chain.poll_interval_ms = 1_000;
        config.challenger.block_time_ms = Some(12_000);
        assert_eq!(Reaction::of(&config).poll_blocks, 1);
        config.chain.poll_interval_ms = 25_000;
        assert_eq!(Reaction::of(&config).poll_blocks, 3);
        config.challenger.block_time_ms = None;
        assert_eq!(Reaction::of(&config).poll_blocks, 0);
    }

    #[test]
    fn slashing_must_fit_the_slashing_period() {
        check_slashing(2_500, 25, 100).unwrap();
        let error = check_slashing(2_501, 25, 100).unwrap_err();
        assert!(
            matches!(error, PreflightError::SlashingTooSlow { batches: 101, .. }),
            "{error}"
        );
    }

    const SAMPLE: &str = include_str!("../../config/challenger.toml");
}
