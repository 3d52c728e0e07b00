//! The honest loop on the devnet: the aggregator (HTTP intake, committer, keeper) and one
//! operator node per registered operator run in this process against anvil, a block clock and
//! the noise trader keep the chain moving, until the requested number of tasks is final.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_bindings::task_manager::task_state::{self, is_final};
use warden_bindings::uniswap::UniswapV2Router02::swapExactTokensForTokensCall;
use warden_bindings::{WardenChallenges, WardenTaskManager};
use warden_challenger::{Watchtower, WatchtowerConfig};
use warden_keys::OperatorKeys;

use crate::byzantine::ThievingAgent;
use crate::summary::{
    Balances, ChallengeSummary, ChallengesSummary, ServiceEndpoints, SlashSummary, TaskSummary,
    VaultSummary,
};
use crate::{Devnet, DevnetError, app};

/// How the tick loop runs.
#[derive(Debug, Clone)]
pub struct TickConfig {
    /// Stop once this many tasks are final.
    pub ticks: u32,
    /// Operators (by index) that stay offline, e.g. to show quorum without them.
    pub stopped_operators: Vec<usize>,
    /// Wall-clock time between clock blocks.
    pub block_interval: Duration,
    /// A noise trade every this many clock blocks.
    pub trade_every: u64,
    /// Give up after this long.
    pub timeout: Duration,
    /// What the vault owner does to particular tasks once they are committed (to show the
    /// owner's brakes working through the whole system).
    pub owner_actions: HashMap<u64, OwnerAction>,
    /// Operators (by index) that run a thieving agent and sign what it decides.
    pub byzantine_operators: Vec<usize>,
    /// Whether a challenger watchtower runs (anvil development account 4).
    pub challenger: bool,
    /// Operators (by index) whose node runs outside the devnet, as its own process.
    pub external_operators: Vec<usize>,
    /// Where the aggregator's API listens (port 0: any free port).
    pub aggregator_listen: SocketAddr,
    /// An aggregator running outside the devnet (its own process, keeping the devnet's agent):
    /// operators send it their signatures and the devnet runs none of its own.
    pub external_aggregator: Option<alloy::transports::http::reqwest::Url>,
}

/// A vault owner's intervention on a committed task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerAction {
    /// Veto the action during its challenge window.
    Veto,
    /// Pause the vault while the task is pending, unpause once it is final: a paused vault
    /// refuses to act, so a swap never executes and its task expires.
    Pause,
}

impl TickConfig {
    pub fn new(ticks: u32) -> Self {
        Self {
            ticks,
            stopped_operators: Vec::new(),
            block_interval: Duration::from_millis(100),
            trade_every: 3,
            timeout: Duration::from_secs(600),
            owner_actions: HashMap::new(),
            byzantine_operators: Vec::new(),
            challenger: true,
            external_operators: Vec::new(),
            aggregator_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            external_aggregator: None,
        }
    }
}

impl Devnet {
    /// Runs the honest loop until `config.ticks` tasks are final; `progress` receives a line
    /// per task state change. Records the tasks and the vault's balances in the summary.
    pub async fn run_ticks(
        &mut self,
        config: TickConfig,
        progress: impl Fn(&str),
    ) -> Result<(), DevnetError> {
        let rpc_url = self.anvil_url();
        let provider = ProviderBuilder::new().connect_http(rpc_url.clone());
        let market = self.summary.market;
        let app_contracts = self.summary.app;
        let (base, quote) = app::vault_balances(&provider, &market, app_contracts.vault).await?;
        let balances_before = Balances {
            weth: base,
            dollar: quote,
        };

        let (stop, stopped) = watch::channel(false);
        let mut services: Vec<JoinHandle<()>> = Vec::new();

        let aggregator_url = match &config.external_aggregator {
            Some(url) => {
                progress(&format!("the aggregator runs outside the devnet at {url}"));
                url.clone()
            }
            None => {
                let aggregator_config =
                    self.aggregator_config(config.aggregator_listen, vec![app_contracts.agent_id]);
                let running = warden_aggregator::launch::start(
                    &aggregator_config,
                    self.dev_key(3)?,
                    stopped.clone(),
                )
                .await
                .map_err(|error| DevnetError::Service(format!("aggregator: {error}")))?;
                self.summary
                    .endpoints
                    .push(ServiceEndpoints::new("aggregator", &running.endpoints));
                let api = running.api;
                services.push(tokio::spawn(async move {
                    if let Err(error) = running.tasks.wait().await {
                        tracing::error!(%error, "aggregator stopped");
                    }
                }));
                format!("http://{api}")
                    .parse()
                    .map_err(|_| DevnetError::Service(format!("bad aggregator address {api}")))?
            }
        };

        let start_block = provider.get_block_number().await?;
        let thief: Option<Arc<dyn warden_agent::Agent>> = if config.byzantine_operators.is_empty() {
            None
        } else {
            Some(Arc::new(self.thieving_agent(&config).await?))
        };
        for handle in &self.operators {
            if config.external_operators.contains(&handle.index) {
                progress(&format!(
                    "operator {} ({}) runs outside the devnet",
                    handle.index, handle.address
                ));
                continue;
            }
            if config.stopped_operators.contains(&handle.index) {
                progress(&format!(
                    "operator {} ({}) is stopped",
                    handle.index, handle.address
                ));
                continue;
            }
            let paths = handle.keystores.clone();
            let password_file = handle.password_file.clone();
            let index = handle.index;
            let keys = tokio::task::spawn_blocking(move || {
                OperatorKeys::unlock(&paths, Some(&password_file))
            })
            .await?
            .map_err(|source| DevnetError::Keys { index, source })?;
            let agent: Arc<dyn warden_agent::Agent> = match &thief {
                Some(thief) if config.byzantine_operators.contains(&handle.index) => {
                    progress(&format!(
                        "operator {} ({}) is byzantine: it signs a thieving agent's actions",
                        handle.index, handle.address
                    ));
                    Arc::clone(thief)
                }
                _ => self.agent.clone(),
            };
            let operator_config = self.operator_config(handle, &aggregator_url, start_block)?;
            let running = warden_operator::launch::start(
                &operator_config,
                Arc::new(keys),
                agent,
                stopped.clone(),
            )
            .await
            .map_err(|error| DevnetError::Service(format!("operator {index}: {error}")))?;
            self.summary.endpoints.push(ServiceEndpoints::new(
                format!("operator-{index}"),
                &running.endpoints,
            ));
            services.push(tokio::spawn(async move {
                if let Err(error) = running.tasks.wait().await {
                    tracing::error!(operator = index, %error, "operator node stopped");
                }
            }));
        }
        if config.challenger {
            // Development account 4, written as a keystore so that the configuration is one
            // `warden-challenger run` could use as it is; its state in a SQLite file.
            let keystore = self.dev_keystore(4).await?;
            let mut challenger_config = self.challenger_config(start_block);
            challenger_config.keys.ecdsa_keystore = keystore.keystore;
            challenger_config.keys.password_file = Some(keystore.password_file);
            let running = warden_challenger::launch::start(
                &challenger_config,
                self.dev_key(4)?,
                self.agent.clone(),
                stopped.clone(),
            )
            .await
            .map_err(|error| DevnetError::Service(format!("challenger: {error}")))?;
            let watchtower: &Watchtower = &running.watchtower;
            progress(&format!("challenger {} is watching", watchtower.address()));
            self.summary
                .endpoints
                .push(ServiceEndpoints::new("challenger", &running.endpoints));
            services.push(tokio::spawn(async move {
                if let Err(error) = running.tasks.wait().await {
                    tracing::error!(%error, "challenger stopped");
                }
            }));
        }

        for service in &self.summary.endpoints {
            progress(&format!(
                "{}: metrics {}, node API {}",
                service.service, service.metrics, service.node_api
            ));
        }
        let result = self.drive(&config, &progress).await;
        let _ = stop.send(true);
        for service in services {
            let _ = service.await;
        }
        let final_ids = result?;

        let mut tasks = Vec::with_capacity(final_ids.len());
        for task_id in final_ids {
            tasks.push(self.task_summary(task_id).await?);
        }
        let (base, quote) = app::vault_balances(&provider, &market, app_contracts.vault).await?;
        self.summary.challenges = self.challenges_summary(start_block).await?;
        self.summary.slashed = self.slashed_summary(start_block).await?;
        self.summary.tasks = tasks;
        self.summary.vault = Some(VaultSummary {
            balances_before,
            balances_after: Balances {
                weth: base,
                dollar: quote,
            },
        });
        Ok(())
    }

    /// The configuration of the devnet's aggregator (development account 3, see
    /// [`Devnet::dev_keystore`]): API on `listen`, keeping `keeper_agents`, a SQLite file in the
    /// data directory, metrics and node API on free loopback ports.
    pub fn aggregator_config(
        &self,
        listen: SocketAddr,
        keeper_agents: Vec<u64>,
    ) -> warden_aggregator::config::AggregatorConfig {
        use warden_aggregator::config::{AggregatorConfig, AggregatorSection};
        use warden_keys::KeysConfig;
        use warden_runtime::config::{ChainConfig, DatabaseConfig, OpsConfig};
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let keys = self.data_dir().join("keys").join("dev-3");
        AggregatorConfig {
            chain: ChainConfig {
                rpc_url: self.anvil_url(),
                task_manager: self.summary.app.task_manager,
                poll_interval_ms: 200,
                rpc_attempts: 5,
            },
            aggregator: AggregatorSection {
                listen,
                keeper_agents,
            },
            database: DatabaseConfig {
                url: self.data_dir().join("aggregator.db").display().to_string(),
            },
            ops: OpsConfig {
                metrics_listen: any_port,
                node_api_listen: any_port,
                node_name: None,
            },
            keys: KeysConfig {
                ecdsa_keystore: keys.join("keystore.json"),
                bls_keystore: None,
                password_file: Some(keys.join("password")),
            },
            transactions: warden_txm::TransactionsConfig {
                // Devnet blocks come every few hundred milliseconds.
                bump_after_secs: 5,
                receipt_timeout_secs: 60,
                poll_interval_ms: 100,
                ..warden_txm::TransactionsConfig::default()
            },
        }
    }

    /// The configuration of the devnet's challenger (development account 4, see
    /// [`Devnet::dev_keystore`]), judging from `start_block`: a SQLite file in the data
    /// directory, metrics and node API on free loopback ports.
    pub fn challenger_config(&self, start_block: u64) -> warden_challenger::ChallengerConfig {
        use warden_keys::KeysConfig;
        use warden_runtime::config::{ChainConfig, DatabaseConfig, OpsConfig};
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let keys = self.data_dir().join("keys").join("dev-4");
        warden_challenger::ChallengerConfig {
            chain: ChainConfig {
                rpc_url: self.anvil_url(),
                task_manager: self.summary.app.task_manager,
                poll_interval_ms: 200,
                rpc_attempts: 5,
            },
            challenger: WatchtowerConfig {
                start_block,
                ..WatchtowerConfig::default()
            },
            agent: warden_runtime::config::AgentSection {
                router: self.summary.market.router,
            },
            database: DatabaseConfig {
                url: self.data_dir().join("challenger.db").display().to_string(),
            },
            ops: OpsConfig {
                metrics_listen: any_port,
                node_api_listen: any_port,
                node_name: Some("warden-challenger".into()),
            },
            keys: KeysConfig {
                ecdsa_keystore: keys.join("keystore.json"),
                bls_keystore: None,
                password_file: Some(keys.join("password")),
            },
            transactions: warden_txm::TransactionsConfig::default(),
        }
    }

    /// The configuration of operator `handle`'s node: its keystores, a SQLite file in the data
    /// directory, metrics and node API on free loopback ports.
    pub fn operator_config(
        &self,
        handle: &crate::OperatorHandle,
        aggregator_url: &alloy::transports::http::reqwest::Url,
        start_block: u64,
    ) -> Result<warden_operator::config::OperatorConfig, DevnetError> {
        use warden_keys::KeysConfig;
        use warden_operator::config::{NodeSection, OperatorConfig};
        use warden_runtime::config::AgentSection;
        use warden_runtime::config::{ChainConfig, DatabaseConfig, OpsConfig};
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(OperatorConfig {
            chain: ChainConfig {
                rpc_url: self.anvil_url(),
                task_manager: self.summary.app.task_manager,
                poll_interval_ms: 200,
                rpc_attempts: 5,
            },
            operator: NodeSection {
                aggregator_url: aggregator_url.clone(),
                start_block,
                max_block_range: 2_000,
                submission_attempts: 8,
                max_lag_blocks: 10,
            },
            agent: AgentSection {
                router: self.summary.market.router,
            },
            database: DatabaseConfig {
                url: self
                    .data_dir()
                    .join(format!("operator-{}.db", handle.index))
                    .display()
                    .to_string(),
            },
            ops: OpsConfig {
                metrics_listen: any_port,
                node_api_listen: any_port,
                node_name: Some(format!("warden-operator-{}", handle.index)),
            },
            keys: KeysConfig {
                ecdsa_keystore: handle.keystores.ecdsa.clone(),
                bls_keystore: Some(handle.keystores.bls.clone()),
                password_file: Some(handle.password_file.clone()),
            },
        })
    }

    /// Mines clock blocks and noise trades until enough tasks are final; returns their ids.
    async fn drive(
        &mut self,
        config: &TickConfig,
        progress: &impl Fn(&str),
    ) -> Result<Vec<u64>, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.anvil_url());
        let task_manager = WardenTaskManager::new(self.summary.app.task_manager, &provider);
        let mut trader = self
            .trader
            .take()
            .ok_or_else(|| DevnetError::Config("the tick loop is already running".into()))?;
        let agent_id = self.summary.app.agent_id;
        let tick_interval = u64::from(task_manager.getAgent(agent_id).call().await?.tickInterval);
        let deadline = tokio::time::Instant::now() + config.timeout;
        let mut seen: HashMap<u64, u8> = HashMap::new();
        let mut clock: u64 = 0;
        let outcome = loop {
            if tokio::time::Instant::now() > deadline {
                break Err(DevnetError::Service(format!(
                    "only {} of {} tasks final after {:?}",
                    seen.values().filter(|state| is_final(**state)).count(),
                    config.ticks,
                    config.timeout
                )));
            }
            clock += 1;
            let count = task_manager.taskCount().call().await?;
            // Trade only between ticks: while no task is live, and not so close to the next tick
            // that the keeper could open it (and take its snapshot) before the trade lands. The
            // price then moves from one snapshot to the next, and an action executes against the
            // reserves it was decided on.
            let live = count > 0 && seen.get(&count).is_none_or(|state| !is_final(*state));
            let next_tick = u64::from(
                task_manager
                    .agentStatus(agent_id)
                    .call()
                    .await?
                    .lastOpenedAt,
            ) + tick_interval;
            let block = provider.get_block_number().await?;
            let between_ticks = !live && block + TRADE_MARGIN_BLOCKS < next_tick;
            if clock.is_multiple_of(config.trade_every) && between_ticks {
                if let Err(error) = trader.trade().await {
                    tracing::warn!(%error, "noise trade failed");
                }
            } else {
                provider.anvil_mine(Some(1), None).await?;
            }
            for task_id in 1..=count {
                if seen.get(&task_id).is_some_and(|state| is_final(*state)) {
                    continue;
                }
                let task = task_manager.getTask(task_id).call().await?;
                if seen.insert(task_id, task.state) != Some(task.state) {
                    progress(&format!("task {task_id}: {}", task_state::name(task.state)));
                    if let Some(action) = config.owner_actions.get(&task_id) {
                        self.owner_intervenes(task_id, task.state, *action, progress)
                            .await?;
                    }
                }
            }
            let mut final_ids: Vec<u64> = seen
                .iter()
                .filter(|(_, state)| is_final(**state))
                .map(|(id, _)| *id)
                .collect();
            if final_ids.len() >= config.ticks as usize
                && (!config.challenger || self.slashing_settled(&seen).await?)
            {
                final_ids.sort_unstable();
                final_ids.truncate(config.ticks as usize);
                break Ok(final_ids);
            }
            tokio::time::sleep(config.block_interval).await;
        };
        self.trader = Some(trader);
        outcome
    }

    /// The vault owner's side of [`OwnerAction`], on a task's state change.
    async fn owner_intervenes(
        &self,
        task_id: u64,
        state: u8,
        action: OwnerAction,
        progress: &impl Fn(&str),
    ) -> Result<(), DevnetError> {
        let owner = warden_txm::signing_provider(self.anvil_url(), self.dev_key(2)?);
        let vault = warden_bindings::WardenVault::new(self.summary.app.vault, &owner);
        match (action, state) {
            (OwnerAction::Veto, task_state::COMMITTED) => {
                warden_bindings::tx::confirm("WardenVault.veto", vault.veto(task_id).send().await?)
                    .await?;
                progress(&format!("task {task_id}: vetoed by the vault owner"));
            }
            (OwnerAction::Pause, task_state::COMMITTED) => {
                warden_bindings::tx::confirm("WardenVault.pause", vault.pause().send().await?)
                    .await?;
                progress(&format!("task {task_id}: vault paused by its owner"));
            }
            (OwnerAction::Pause, state) if is_final(state) => {
                warden_bindings::tx::confirm("WardenVault.unpause", vault.unpause().send().await?)
                    .await?;
                progress(&format!("task {task_id}: vault unpaused"));
            }
            _ => {}
        }
        Ok(())
    }

    async fn task_summary(&self, task_id: u64) -> Result<TaskSummary, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.anvil_url());
        let task_manager = WardenTaskManager::new(self.summary.app.task_manager, &provider);
        let task = task_manager.getTask(task_id).call().await?;
        let mut summary = TaskSummary {
            id: task_id,
            state: task_state::name(task.state).to_string(),
            action: None,
            signers: Vec::new(),
            non_signers: Vec::new(),
            commit_gas: None,
            execute_gas: None,
            open_to_commit_blocks: None,
            commit_to_execute_blocks: None,
            signed_stake: None,
            stolen: None,
        };
        let topic = U256::from(task_id);
        let committed = task_manager
            .OutputCommitted_filter()
            .topic1(topic)
            .from_block(0)
            .query()
            .await?;
        let Some((event, log)) = committed.into_iter().next() else {
            return Ok(summary);
        };
        summary.action = Some(describe_action(&event.output));
        summary.signed_stake = Some(event.signedWeight);
        let commit_block = log.block_number.unwrap_or_default();
        summary.open_to_commit_blocks = Some(commit_block.saturating_sub(u64::from(task.openedAt)));
        if let Some(hash) = log.transaction_hash
            && let Some(receipt) = provider.get_transaction_receipt(hash).await?
        {
            summary.commit_gas = Some(receipt.gas_used);
        }
        for operator in &self.summary.operators {
            if event.nonSignerIds.contains(&operator.operator_id) {
                summary.non_signers.push(operator.address);
            } else {
                summary.signers.push(operator.address);
            }
        }
        let executed = task_manager
            .TaskExecuted_filter()
            .topic1(topic)
            .from_block(0)
            .query()
            .await?;
        if let Some((_, log)) = executed.into_iter().next() {
            summary.stolen = stolen_amount(&event.output, self.summary.app.vault);
            let execute_block = log.block_number.unwrap_or_default();
            summary.commit_to_execute_blocks = Some(execute_block.saturating_sub(commit_block));
            if let Some(hash) = log.transaction_hash
                && let Some(receipt) = provider.get_transaction_receipt(hash).await?
            {
                summary.execute_gas = Some(receipt.gas_used);
            }
        }
        Ok(summary)
    }

    /// The agent byzantine operators run: it steals, per task, exactly what the vault's bound
    /// lets through when all byzantine operators sign (their weight times the bound).
    async fn thieving_agent(&self, config: &TickConfig) -> Result<ThievingAgent, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.anvil_url());
        let vault = warden_bindings::WardenVault::new(self.summary.app.vault, &provider);
        let bound_bps = vault.stakeBoundBps().call().await?;
        let byzantine_weight: U256 = self
            .summary
            .operators
            .iter()
            .enumerate()
            .filter(|(index, _)| config.byzantine_operators.contains(index))
            .map(|(_, operator)| operator.weight)
            .sum();
        let theft_cap = byzantine_weight * U256::from(bound_bps) / U256::from(10_000u64);
        Ok(ThievingAgent::new(self.agent.clone(), THIEF, theft_cap))
    }

    /// Whether every fraudulent task among `seen` has had all its signers slashed.
    async fn slashing_settled(&self, seen: &HashMap<u64, u8>) -> Result<bool, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.anvil_url());
        let challenges = WardenChallenges::new(self.summary.app.challenges, &provider);
        for (task_id, state) in seen {
            if *state == task_state::FRAUDULENT
                && !challenges.slashingProgress(*task_id).call().await?.done
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Every challenge raised since `from_block`, upheld or rejected.
    async fn challenges_summary(&self, from_block: u64) -> Result<ChallengesSummary, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.anvil_url());
        let task_manager = WardenTaskManager::new(self.summary.app.task_manager, &provider);
        let challenges = WardenChallenges::new(self.summary.app.challenges, &provider);
        let mut raised = Vec::new();
        for (event, log) in challenges
            .ChallengeUpheld_filter()
            .from_block(from_block)
            .query()
            .await?
        {
            raised.push((event.taskId, event.challenger, true, log.block_number));
        }
        for (event, log) in challenges
            .ChallengeRejected_filter()
            .from_block(from_block)
            .query()
            .await?
        {
            raised.push((event.taskId, event.challenger, false, log.block_number));
        }
        let mut summary = ChallengesSummary::default();
        for (task_id, challenger, upheld, block) in raised {
            let task = task_manager.getTask(task_id).call().await?;
            let (_, commit_log) = warden_bindings::task_facts::committed_event(
                &provider,
                self.summary.app.task_manager,
                task_id,
                task.openedAt,
            )
            .await?;
            let commit_block = commit_log.block_number.unwrap_or_default();
            let challenge_block = block.unwrap_or_default();
            summary.raised += 1;
            if upheld {
                summary.upheld += 1;
            } else {
                summary.rejected += 1;
            }
            summary.list.push(ChallengeSummary {
                task: task_id,
                challenger,
                upheld,
                commit_block,
                challenge_block,
                blocks_from_commit: challenge_block.saturating_sub(commit_block),
                deadline: u64::from(task.deadline),
            });
        }
        summary
            .list
            .sort_by_key(|challenge| challenge.challenge_block);
        Ok(summary)
    }

    /// Every operator slashed since `from_block`, with its shares in the devnet's strategy just
    /// before and just after, as EigenLayer's DelegationManager reports them.
    async fn slashed_summary(&self, from_block: u64) -> Result<Vec<SlashSummary>, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.anvil_url());
        let challenges = WardenChallenges::new(self.summary.app.challenges, &provider);
        let mut slashings = Vec::new();
        for (event, log) in challenges
            .SignerSlashed_filter()
            .from_block(from_block)
            .query()
            .await?
        {
            slashings.push((event.operator, event.taskId, "fraud", log.block_number));
        }
        for (event, log) in challenges
            .EquivocationSlashed_filter()
            .from_block(from_block)
            .query()
            .await?
        {
            slashings.push((
                event.operator,
                event.taskId,
                "equivocation",
                log.block_number,
            ));
        }
        let strategy = self.summary.eigenlayer.contracts.strategy;
        let delegation = warden_bindings::eigenlayer::DelegationManager::new(
            self.summary.eigenlayer.contracts.delegation_manager,
            &provider,
        );
        let mut summary = Vec::with_capacity(slashings.len());
        for (operator, task, reason, block) in slashings {
            let block = block.unwrap_or_default();
            let shares_at = |at: u64| {
                let call = delegation.getOperatorShares(operator, vec![strategy]);
                async move {
                    let shares = call.block(at.into()).call().await?;
                    Ok::<U256, DevnetError>(shares.first().copied().unwrap_or_default())
                }
            };
            summary.push(SlashSummary {
                operator,
                task,
                reason: reason.to_string(),
                strategy,
                shares_before: shares_at(block.saturating_sub(1)).await?,
                shares_after: shares_at(block).await?,
            });
        }
        summary.sort_by_key(|slash| (slash.task, slash.operator));
        Ok(summary)
    }

    fn anvil_url(&self) -> alloy::transports::http::reqwest::Url {
        self.chain.endpoint_url()
    }

    /// Anvil's development account `index`. The devnet uses 0 (deployer), 1 (noise trader),
    /// 2 (vault owner), 3 (aggregator) and 4 (challenger).
    pub fn dev_key(&self, index: usize) -> Result<PrivateKeySigner, DevnetError> {
        self.chain.dev_key(index)
    }
}

/// Blocks a noise trade keeps clear of the next tick: other services' transactions may mine
/// blocks between the decision to trade and the trade.
const TRADE_MARGIN_BLOCKS: u64 = 3;

/// Where byzantine operators' thefts go.
pub const THIEF: alloy::primitives::Address =
    alloy::primitives::address!("0x000000000000000000000000000000000000a77a");

/// What a swap action sends to someone other than the vault: its whole input, taken from the
/// vault. `None` for holds and for swaps paying the vault.
fn stolen_amount(output: &[u8], vault: alloy::primitives::Address) -> Option<U256> {
    let action = warden_agent::Action::decode(output).ok()?;
    let swap = swapExactTokensForTokensCall::abi_decode(&action.data).ok()?;
    (swap.to != vault).then_some(swap.amountIn)
}

/// `hold`, or `buy`/`sell` with the swap's amounts, from an encoded action.
fn describe_action(output: &[u8]) -> String {
    use alloy::sol_types::{SolType, sol_data};
    type Encoded = (
        sol_data::Uint<8>,
        sol_data::Address,
        sol_data::Uint<256>,
        sol_data::Bytes,
    );
    let Ok((kind, _target, _value, data)) = Encoded::abi_decode_params(output) else {
        return "undecodable".to_string();
    };
    let side = match kind {
        0 => return "hold".to_string(),
        1 => "buy",
        2 => "sell",
        _ => "call",
    };
    match swapExactTokensForTokensCall::abi_decode(&data) {
        Ok(swap) => format!(
            "{side} amount_in={} min_out={}",
            swap.amountIn, swap.amountOutMin
        ),
        Err(_) => side.to_string(),
    }
}
