//! The honest loop on the devnet: the aggregator (HTTP intake, committer, keeper) and one
//! operator node per registered operator run in this process against anvil, a block clock and
//! the noise trader keep the chain moving, until the requested number of tasks is final.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{B256, U256, keccak256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_aggregator::service::{Aggregator, AggregatorConfig, task_state};
use warden_bindings::WardenTaskManager;
use warden_bindings::task_manager::WardenTaskManager::commitOutputCall;
use warden_bindings::uniswap::UniswapV2Router02::swapExactTokensForTokensCall;
use warden_bls::Password;
use warden_operator::OperatorKeys;
use warden_operator::node::{NodeConfig, OperatorNode};

use crate::summary::{Balances, TaskSummary, VaultSummary};
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
        }
    }
}

fn state_name(state: u8) -> &'static str {
    match state {
        task_state::OPEN => "open",
        task_state::COMMITTED => "committed",
        task_state::EXECUTED => "executed",
        task_state::EXPIRED => "expired",
        task_state::VETOED => "vetoed",
        task_state::FRAUDULENT => "fraudulent",
        _ => "unknown",
    }
}

fn is_final(state: u8) -> bool {
    matches!(
        state,
        task_state::EXECUTED | task_state::EXPIRED | task_state::VETOED | task_state::FRAUDULENT
    )
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

        let aggregator_key = self.dev_key(3)?;
        let aggregator = Aggregator::connect(
            AggregatorConfig {
                rpc_url: rpc_url.clone(),
                task_manager: app_contracts.task_manager,
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                keeper_agents: vec![app_contracts.agent_id],
                poll_interval: Duration::from_millis(200),
            },
            aggregator_key,
        )
        .await
        .map_err(|error| DevnetError::Service(error.to_string()))?;
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        {
            let aggregator = Arc::clone(&aggregator);
            let stopped = stopped.clone();
            services.push(tokio::spawn(async move {
                if let Err(error) = aggregator.serve(stopped, bound_tx).await {
                    tracing::error!(%error, "aggregator API stopped");
                }
            }));
        }
        let bound = bound_rx
            .await
            .map_err(|_| DevnetError::Service("the aggregator API did not start".into()))?;
        let aggregator_url: alloy::transports::http::reqwest::Url = format!("http://{bound}")
            .parse()
            .map_err(|_| DevnetError::Service(format!("bad aggregator address {bound}")))?;

        let start_block = provider.get_block_number().await?;
        for handle in &self.operators {
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
                let password = Password::from_file(&password_file).map_err(|source| {
                    warden_operator::KeyError::Bls {
                        path: password_file.clone(),
                        source,
                    }
                })?;
                OperatorKeys::load(&paths, &password)
            })
            .await?
            .map_err(|source| DevnetError::Keys { index, source })?;
            let mut node_config = NodeConfig::new(
                rpc_url.clone(),
                app_contracts.task_manager,
                aggregator_url.clone(),
            );
            node_config.start_block = start_block;
            node_config.poll_interval = Duration::from_millis(200);
            let node = Arc::new(OperatorNode::new(
                node_config,
                Arc::new(keys),
                self.agent.clone(),
            ));
            let stopped = stopped.clone();
            services.push(tokio::spawn(async move {
                if let Err(error) = node.run(stopped).await {
                    tracing::error!(operator = index, %error, "operator node stopped");
                }
            }));
        }
        {
            let aggregator = Arc::clone(&aggregator);
            services.push(tokio::spawn(aggregator.keep(stopped.clone())));
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
            // Trade only between ticks, while no task is live: the price moves from one snapshot
            // to the next, and an action executes against the reserves it was decided on.
            let live = count > 0 && seen.get(&count).is_none_or(|state| !is_final(*state));
            if clock.is_multiple_of(config.trade_every) && !live {
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
                    progress(&format!("task {task_id}: {}", state_name(task.state)));
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
            if final_ids.len() >= config.ticks as usize {
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
        let owner = warden_bindings::signing_provider(self.anvil_url(), self.dev_key(2)?);
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
            state: state_name(task.state).to_string(),
            action: None,
            signers: Vec::new(),
            non_signers: Vec::new(),
            commit_gas: None,
            execute_gas: None,
            open_to_commit_blocks: None,
            commit_to_execute_blocks: None,
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
        let commit_block = log.block_number.unwrap_or_default();
        summary.open_to_commit_blocks = Some(commit_block.saturating_sub(u64::from(task.openedAt)));
        if let Some(hash) = log.transaction_hash {
            if let Some(receipt) = provider.get_transaction_receipt(hash).await? {
                summary.commit_gas = Some(receipt.gas_used);
            }
            if let Some(tx) = provider.get_transaction_by_hash(hash).await? {
                use alloy::consensus::Transaction as _;
                if let Ok(call) = commitOutputCall::abi_decode(tx.inner.input()) {
                    let non_signers: Vec<B256> = call
                        .nonSigners
                        .iter()
                        .map(|key| keccak256(key.to_eip2537()))
                        .collect();
                    for operator in &self.summary.operators {
                        if non_signers.contains(&operator.operator_id) {
                            summary.non_signers.push(operator.address);
                        } else {
                            summary.signers.push(operator.address);
                        }
                    }
                }
            }
        }
        let executed = task_manager
            .TaskExecuted_filter()
            .topic1(topic)
            .from_block(0)
            .query()
            .await?;
        if let Some((_, log)) = executed.into_iter().next() {
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

    fn anvil_url(&self) -> alloy::transports::http::reqwest::Url {
        self.anvil.endpoint_url()
    }

    fn dev_key(&self, index: usize) -> Result<PrivateKeySigner, DevnetError> {
        self.anvil
            .keys()
            .get(index)
            .cloned()
            .map(PrivateKeySigner::from)
            .ok_or_else(|| DevnetError::Config(format!("anvil has no development account {index}")))
    }
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
