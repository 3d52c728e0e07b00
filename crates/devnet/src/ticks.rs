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
use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_bindings::eigenlayer::{DelegationManager, IDelegationManagerTypes};
use warden_bindings::{WardenChallenges, WardenRegistry, WardenTaskManager};
use warden_challenger::Watchtower;
use warden_deployer::market::NoiseTrader;
use warden_deployer::{DeployConfig, app};
use warden_keys::OperatorKeys;
use warden_protocol::TaskState;

use crate::byzantine::{Lie, ThievingAgent, TraceLiar};
use crate::summary::{Balances, ServiceEndpoints, VaultSummary};
use crate::{Devnet, DevnetError};

/// How the tick loop runs.
#[derive(Debug, Clone)]
pub struct TickConfig {
    /// Stop once this many tasks are final; `None`: tick until stopped from outside (the
    /// caller drops [`Devnet::tick`]'s future, then calls [`Devnet::finish`]).
    pub ticks: Option<u32>,
    /// Operators (by index) that stay offline, e.g. to show quorum without them.
    pub stopped_operators: Vec<usize>,
    /// Wall-clock time between clock blocks.
    pub block_interval: Duration,
    /// A noise trade every this many clock blocks.
    pub trade_every: u64,
    /// Give up after this long (`Duration::MAX`: never).
    pub timeout: Duration,
    /// What the vault owner does to particular tasks once they are committed (to show the
    /// owner's brakes working through the whole system).
    pub owner_actions: HashMap<u64, OwnerAction>,
    /// Operators (by index) that run a lying agent and sign what it decides.
    pub byzantine_operators: Vec<usize>,
    /// What the byzantine operators commit instead of the honest run.
    pub lie: Lie,
    /// Whether a challenger watchtower runs (anvil development account 4) from the start.
    pub challenger: bool,
    /// Start the challenger watchtower (when `challenger` is false) this many blocks after the
    /// first theft executes: a challenger that comes online late, inside the theft's fraud-proof
    /// window, proves the fraud after the fact, slashes the signers and clears their slashed
    /// stake to the restitution contract, which repays the vault. The run then waits for that
    /// restitution to complete before it ends. At most [`late_challenger_limit`].
    pub late_challenger: Option<u64>,
    /// The byzantine operators queue the withdrawal of all their stake before the services
    /// start, and still sign their thefts as if they had it (the phantom-weight attack). Anyone
    /// may then refresh the registry's weights; the run does it at once.
    pub withdraw_before_fraud: bool,
    /// Operators (by index) whose node runs outside the devnet, as its own process.
    pub external_operators: Vec<usize>,
    /// Where the aggregator's API listens (port 0: any free port).
    pub aggregator_listen: SocketAddr,
    /// An aggregator running outside the devnet (its own process, keeping the devnet's agent):
    /// operators send it their signatures and the devnet runs none of its own.
    pub external_aggregator: Option<alloy::transports::http::reqwest::Url>,
    /// Run a standby aggregator beside the main one (development account 5, its own database):
    /// it keeps the agent only when a duty is [`STANDBY_BLOCKS`] overdue, and the operators send
    /// it their signatures when a task is not committed [`FALLBACK_AFTER_BLOCKS`] after it
    /// opened. Implied by `aggregator_fails_at`.
    pub standby_aggregator: bool,
    /// The main aggregator stops for good before tick T: once T − 1 tasks of the run are final
    /// (at once for T ≤ 1). The standby aggregator then opens, commits and executes the rest.
    pub aggregator_fails_at: Option<u32>,
    /// Once the tasks are final, mine past their fraud-proof window and wait for the keeper to
    /// pay their signers. Runs with byzantine operators never do: mining past the window would
    /// end the time a challenger has to prove their thefts.
    pub pay_operators: bool,
}

/// Blocks [`late_challenger_limit`] keeps for the theft's commitment (operators sign, the
/// aggregator commits) and for the late challenger to start, catch up, commit to its challenge
/// and reveal it, while the devnet's clock mines about ten blocks a second.
pub const LATE_CHALLENGER_MARGIN_BLOCKS: u64 = 40;

/// The most blocks [`TickConfig::late_challenger`] may wait after a theft executes, for the
/// challenger to still prove it inside the task's fraud-proof window: the window
/// (`weightHorizon - maxWeightAge - slashingPeriod`), less the least a task takes from its
/// reference block to its execution (1 + the challenge window + 1), less
/// [`LATE_CHALLENGER_MARGIN_BLOCKS`]. 88 with the devnet's defaults (a 150-block window).
pub fn late_challenger_limit(deploy: &DeployConfig) -> u64 {
    let (registry, _) = deploy.effective_params();
    let window = registry
        .weight_horizon
        .saturating_sub(registry.max_weight_age)
        .saturating_sub(deploy.app.slashing_period);
    u64::from(window)
        .saturating_sub(u64::from(deploy.app.challenge_window) + 2)
        .saturating_sub(LATE_CHALLENGER_MARGIN_BLOCKS)
}

/// A vault owner's intervention on a committed task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerAction {
    /// Veto the action during its challenge window.
    Veto,
    /// Pause the vault while the task is pending, unpause once it is final: a paused vault
    /// refuses to act, so a swap never executes and its task expires.
    Pause,
    /// Cap the vault's outflow of both tokens to zero while the task is pending: the vault
    /// refuses any swap by its owner's policy, so the task expires.
    ForbidOutflow,
}

impl TickConfig {
    /// Runs until `ticks` tasks are final.
    pub fn new(ticks: u32) -> Self {
        Self {
            ticks: Some(ticks),
            stopped_operators: Vec::new(),
            block_interval: Duration::from_millis(100),
            trade_every: 3,
            timeout: Duration::from_secs(600),
            owner_actions: HashMap::new(),
            byzantine_operators: Vec::new(),
            lie: Lie::Theft,
            challenger: true,
            late_challenger: None,
            withdraw_before_fraud: false,
            external_operators: Vec::new(),
            aggregator_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            external_aggregator: None,
            standby_aggregator: false,
            aggregator_fails_at: None,
            pay_operators: true,
        }
    }

    /// Runs until stopped from outside (Ctrl-C), with no time limit.
    pub fn until_stopped() -> Self {
        Self {
            ticks: None,
            timeout: Duration::MAX,
            ..Self::new(0)
        }
    }
}

/// A run of the tick loop: the services it started, the noise trader, and what the run started
/// from. Ended by [`Devnet::finish`].
#[derive(Debug)]
pub struct TickRun {
    stop: watch::Sender<bool>,
    services: Vec<JoinHandle<()>>,
    trader: NoiseTrader,
    start_block: u64,
    /// Tasks numbered above this were opened during the run.
    tasks_before: u64,
    balances_before: Balances,
    /// The state each task of the run was last seen in.
    seen: HashMap<u64, TaskState>,
    clock: u64,
    /// Thefts seen executing while a late challenger is configured: task id → execution block.
    thefts: std::collections::BTreeMap<u64, u64>,
    /// Whether the late challenger has started.
    late_started: bool,
    /// Thefts whose restitution was reported complete.
    restituted: std::collections::HashSet<u64>,
    /// Endpoints of services started during the ticks (the late challenger).
    late_endpoints: Vec<ServiceEndpoints>,
    /// Stops the main aggregator alone (for [`TickConfig::aggregator_fails_at`]); `None` once it
    /// was stopped, or when it runs outside the devnet.
    main_aggregator: Option<watch::Sender<bool>>,
}

/// Blocks a keeper duty may be overdue before the devnet's standby aggregator does it.
pub const STANDBY_BLOCKS: u64 = 4;

/// Blocks a task may stay uncommitted after it opened before the devnet's operators also send
/// their signatures to the standby aggregator.
pub const FALLBACK_AFTER_BLOCKS: u64 = 6;

/// The development account the standby aggregator sends from.
pub const STANDBY_AGGREGATOR_ACCOUNT: usize = 5;

impl Devnet {
    /// Runs the honest loop until `config.ticks` tasks are final; `progress` receives a line
    /// per task state change. Records the tasks and the vault's balances in the summary.
    pub async fn run_ticks(
        &mut self,
        config: TickConfig,
        progress: impl Fn(&str),
    ) -> Result<(), DevnetError> {
        let mut run = self.start_services(&config, &progress).await?;
        let ticked = self.tick(&mut run, &config, &progress).await;
        match ticked {
            Ok(final_tasks) => self.finish(run, Some(final_tasks)).await,
            Err(error) => {
                self.trader = Some(stop_services(run).await);
                Err(error)
            }
        }
    }

    /// Starts the services of a run: the aggregator (unless an external one is configured), an
    /// operator node per running operator and the challenger. When it returns they listen, and
    /// the summary lists their endpoints.
    pub async fn start_services(
        &mut self,
        config: &TickConfig,
        progress: &impl Fn(&str),
    ) -> Result<TickRun, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let market = self.summary.deployment.market;
        let app_contracts = self.summary.deployment.app.clone();
        let (base, quote) = app::vault_balances(&provider, &market, app_contracts.vault).await?;
        let balances_before = Balances {
            weth: base,
            dollar: quote,
        };
        let tasks_before = WardenTaskManager::new(app_contracts.task_manager, &provider)
            .taskCount()
            .call()
            .await?;
        if self.trader.is_none() {
            return Err(DevnetError::Service(
                "the tick loop is already running".into(),
            ));
        }
        self.summary.endpoints.clear();
        if config.withdraw_before_fraud {
            self.withdraw_byzantine_stake(config, progress).await?;
        }

        let (stop, stopped) = watch::channel(false);
        let mut services: Vec<JoinHandle<()>> = Vec::new();

        let (main_aggregator, main_stopped) = watch::channel(false);
        let main_aggregator = match &config.external_aggregator {
            Some(_) => None,
            None => Some(main_aggregator),
        };
        // The aggregators' ports are chosen first and the operators started before them, so that
        // no operator is still starting when the keeper opens the first task.
        // A port picked now and bound only when the aggregator starts could meanwhile go to one
        // of the operators' listeners (they bind port 0): a reservation holds the port until just
        // before the aggregator binds it.
        let reserve = |listen: std::net::SocketAddr| -> Result<
            (std::net::SocketAddr, Option<std::net::TcpListener>),
            DevnetError,
        > {
            if listen.port() != 0 {
                return Ok((listen, None));
            }
            let no_port =
                |error: std::io::Error| DevnetError::Service(format!("no free port: {error}"));
            let reservation = std::net::TcpListener::bind(listen).map_err(no_port)?;
            let reserved = reservation.local_addr().map_err(no_port)?;
            Ok((reserved, Some(reservation)))
        };
        let url_of = |listen: std::net::SocketAddr| {
            format!("http://{listen}")
                .parse::<alloy::transports::http::reqwest::Url>()
                .map_err(|_| DevnetError::Service(format!("bad aggregator address {listen}")))
        };
        let (main_listen, main_reservation) = reserve(config.aggregator_listen)?;
        let aggregator_url = match &config.external_aggregator {
            Some(url) => {
                progress(&format!("the aggregator runs outside the devnet at {url}"));
                url.clone()
            }
            None => url_of(main_listen)?,
        };
        let standby = config.standby_aggregator || config.aggregator_fails_at.is_some();
        let (standby_listen, standby_reservation) =
            reserve(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let fallbacks = if standby {
            vec![url_of(standby_listen)?]
        } else {
            Vec::new()
        };

        let start_block = provider.get_block_number().await?;
        let thief: Option<Arc<dyn warden_agent::Agent>> = if config.byzantine_operators.is_empty() {
            None
        } else {
            Some(self.byzantine_agent(config).await?)
        };
        for handle in self.deployment.operators() {
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
                        "operator {} ({}) is byzantine: it signs runs of a lying agent ({})",
                        handle.index,
                        handle.address,
                        config.lie.name()
                    ));
                    Arc::clone(thief)
                }
                _ => self.deployment.shared_agent(),
            };
            let mut operator_config =
                self.deployment
                    .operator_config(handle, &aggregator_url, start_block)?;
            operator_config.operator.fallback_aggregator_urls = fallbacks.clone();
            operator_config.operator.fallback_after_blocks = FALLBACK_AFTER_BLOCKS;
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
        if config.external_aggregator.is_none() {
            let aggregator_config = self
                .deployment
                .aggregator_config(main_listen, vec![app_contracts.agent_id]);
            let stopped = either(stopped.clone(), main_stopped);
            drop(main_reservation);
            self.start_aggregator("aggregator", aggregator_config, 3, stopped, &mut services)
                .await?;
        }
        if standby {
            let mut standby_config = self
                .deployment
                .aggregator_config(standby_listen, vec![app_contracts.agent_id]);
            standby_config.aggregator.standby_blocks = STANDBY_BLOCKS;
            standby_config.database.url = self
                .deployment
                .data_dir()
                .join("aggregator-standby.db")
                .display()
                .to_string();
            standby_config.ops.node_name = Some("warden-aggregator-standby".into());
            drop(standby_reservation);
            let url = self
                .start_aggregator(
                    "aggregator-standby",
                    standby_config,
                    STANDBY_AGGREGATOR_ACCOUNT,
                    stopped.clone(),
                    &mut services,
                )
                .await?;
            progress(&format!(
                "standby aggregator {} at {url}: keeps the agent once a duty is {STANDBY_BLOCKS} \
                 blocks overdue; operators send it their signatures when a task is not committed \
                 {FALLBACK_AFTER_BLOCKS} blocks after it opened",
                self.deployment
                    .dev_key(STANDBY_AGGREGATOR_ACCOUNT)?
                    .address()
            ));
        }
        // Listed aggregators first, as they were before the operators started first.
        self.summary
            .endpoints
            .sort_by_key(|endpoints| !endpoints.service.starts_with("aggregator"));
        if config.challenger {
            let (endpoints, service, address) =
                self.start_challenger(start_block, stopped.clone()).await?;
            progress(&format!("challenger {address} is watching"));
            self.summary.endpoints.push(endpoints);
            services.push(service);
        } else if let Some(blocks) = config.late_challenger {
            progress(&format!(
                "no challenger yet: one starts {blocks} blocks after the first theft executes"
            ));
        }

        for service in &self.summary.endpoints {
            progress(&format!(
                "{}: metrics {}, node API {}",
                service.service, service.metrics, service.node_api
            ));
        }
        let trader = self
            .trader
            .take()
            .ok_or_else(|| DevnetError::Service("the tick loop is already running".into()))?;
        Ok(TickRun {
            stop,
            services,
            trader,
            start_block,
            tasks_before,
            balances_before,
            seen: HashMap::new(),
            clock: 0,
            thefts: Default::default(),
            late_started: false,
            restituted: Default::default(),
            late_endpoints: Vec::new(),
            main_aggregator,
        })
    }

    /// Starts an aggregator from `aggregator_config`, sending from development account
    /// `account`, until `stopped`; lists its endpoints in the summary as `name` and returns the
    /// URL operators reach its API at.
    async fn start_aggregator(
        &mut self,
        name: &str,
        aggregator_config: warden_aggregator::config::AggregatorConfig,
        account: usize,
        stopped: watch::Receiver<bool>,
        services: &mut Vec<JoinHandle<()>>,
    ) -> Result<alloy::transports::http::reqwest::Url, DevnetError> {
        let running = warden_aggregator::launch::start(
            &aggregator_config,
            self.deployment.dev_key(account)?,
            stopped,
        )
        .await
        .map_err(|error| DevnetError::Service(format!("{name}: {error}")))?;
        self.summary
            .endpoints
            .push(ServiceEndpoints::new(name, &running.endpoints));
        let api = running.api;
        let service = name.to_string();
        services.push(tokio::spawn(async move {
            if let Err(error) = running.tasks.wait().await {
                tracing::error!(%error, service, "aggregator stopped");
            }
        }));
        format!("http://{api}")
            .parse()
            .map_err(|_| DevnetError::Service(format!("bad aggregator address {api}")))
    }

    /// Starts the challenger watchtower (development account 4, written as a keystore so that
    /// the configuration is one `warden-challenger run` could use as it is; its state in a
    /// SQLite file), following the chain from `start_block`. Returns its endpoints, the task
    /// that waits for it, and the address it sends from.
    async fn start_challenger(
        &self,
        start_block: u64,
        stopped: watch::Receiver<bool>,
    ) -> Result<(ServiceEndpoints, JoinHandle<()>, alloy::primitives::Address), DevnetError> {
        let keystore = self.deployment.dev_keystore(4).await?;
        let mut challenger_config = self.deployment.challenger_config(start_block);
        challenger_config.keys.ecdsa_keystore = keystore.keystore;
        challenger_config.keys.password_file = Some(keystore.password_file);
        let running = warden_challenger::launch::start(
            &challenger_config,
            self.deployment.dev_key(4)?,
            self.deployment.shared_agent(),
            stopped,
        )
        .await
        .map_err(|error| DevnetError::Service(format!("challenger: {error}")))?;
        let watchtower: &Watchtower = &running.service;
        let address = watchtower.address();
        let endpoints = ServiceEndpoints::new("challenger", &running.endpoints);
        let service = tokio::spawn(async move {
            if let Err(error) = running.tasks.wait().await {
                tracing::error!(%error, "challenger stopped");
            }
        });
        Ok((endpoints, service, address))
    }

    /// The late challenger's side of a tick: starts it once the chain is `late_challenger`
    /// blocks past the first theft's execution, after checking that the theft is still
    /// fraud-provable.
    async fn start_late_challenger(
        &self,
        run: &mut TickRun,
        config: &TickConfig,
        block: u64,
        progress: &impl Fn(&str),
    ) -> Result<(), DevnetError> {
        let Some(blocks) = config.late_challenger else {
            return Ok(());
        };
        let Some((&task_id, &executed)) = run.thefts.iter().next() else {
            return Ok(());
        };
        if run.late_started || block < executed.saturating_add(blocks) {
            return Ok(());
        }
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let provable_until: u64 =
            WardenTaskManager::new(self.summary.deployment.app.task_manager, &provider)
                .provableUntil(task_id)
                .call()
                .await?
                .try_into()
                .unwrap_or(u64::MAX);
        if block >= provable_until {
            return Err(DevnetError::Service(format!(
                "the late challenger would start at block {block}, after task {task_id}'s \
                 fraud-proof window ended at block {provable_until}"
            )));
        }
        let (endpoints, service, address) = self
            .start_challenger(run.start_block, run.stop.subscribe())
            .await?;
        progress(&format!(
            "challenger {address} starts at block {block}, {blocks} blocks after task {task_id}'s \
             theft executed in block {executed}; the theft is fraud-provable through block \
             {provable_until}"
        ));
        progress(&format!(
            "challenger: metrics {}, node API {}",
            endpoints.metrics, endpoints.node_api
        ));
        run.late_endpoints.push(endpoints);
        run.services.push(service);
        run.late_started = true;
        Ok(())
    }

    /// Whether the restitution of every theft seen is complete, when a late challenger is
    /// configured (otherwise there is nothing to wait for). Reports each one as it completes;
    /// fails if a theft's fraud-proof window ended before it was proved.
    async fn restitution_settled(
        &self,
        run: &mut TickRun,
        config: &TickConfig,
        block: u64,
        progress: &impl Fn(&str),
    ) -> Result<bool, DevnetError> {
        if config.late_challenger.is_none() {
            return Ok(true);
        }
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let task_manager =
            WardenTaskManager::new(self.summary.deployment.app.task_manager, &provider);
        let mut settled = true;
        let thefts: Vec<u64> = run.thefts.keys().copied().collect();
        for task_id in thefts {
            if run.restituted.contains(&task_id) {
                continue;
            }
            if run.seen.get(&task_id) == Some(&TaskState::Executed) {
                let provable_until: u64 = task_manager
                    .provableUntil(task_id)
                    .call()
                    .await?
                    .try_into()
                    .unwrap_or(u64::MAX);
                if block > provable_until {
                    return Err(DevnetError::Service(format!(
                        "task {task_id}'s theft was not proved inside its fraud-proof window \
                         (through block {provable_until}); start the late challenger sooner"
                    )));
                }
            }
            match self.restitution_complete(task_id).await? {
                Some(repaid) => {
                    progress(&format!(
                        "task {task_id}: its signers' slashed stake was cleared to the restitution \
                         contract (this EigenLayer core imposes no delay before slashed shares can \
                         be cleared); the vault was repaid {repaid} wei of WETH"
                    ));
                    run.restituted.insert(task_id);
                }
                None => settled = false,
            }
        }
        Ok(settled)
    }

    /// Stops the run's services and records what it did in the summary: the tasks in
    /// `final_tasks` or, for a run stopped from outside (`None`), every task opened during the
    /// run as it stands now; the vault's balances before and after; challenges and slashings.
    pub async fn finish(
        &mut self,
        run: TickRun,
        final_tasks: Option<Vec<u64>>,
    ) -> Result<(), DevnetError> {
        let start_block = run.start_block;
        let balances_before = run.balances_before.clone();
        let tasks_before = run.tasks_before;
        let late_endpoints = run.late_endpoints.clone();
        self.trader = Some(stop_services(run).await);
        self.summary.endpoints.extend(late_endpoints);

        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let app_contracts = self.summary.deployment.app.clone();
        let task_ids: Vec<u64> = match final_tasks {
            Some(ids) => ids,
            None => {
                let count = WardenTaskManager::new(app_contracts.task_manager, &provider)
                    .taskCount()
                    .call()
                    .await?;
                (tasks_before + 1..=count).collect()
            }
        };
        let mut tasks = Vec::with_capacity(task_ids.len());
        // The first theft's execution block, and every theft among the tasks.
        let mut first_theft: Option<u64> = None;
        let mut thefts = Vec::new();
        for task_id in task_ids {
            let task = self.task_summary(task_id).await?;
            if !task.stolen.is_zero()
                && let Some((_, block)) = self.theft_execution(task_id).await?
            {
                first_theft = Some(first_theft.map_or(block, |first| first.min(block)));
                thefts.push(task_id);
            }
            tasks.push(task);
        }
        let market = self.summary.deployment.market;
        let (base, quote) = app::vault_balances(&provider, &market, app_contracts.vault).await?;
        let weth = warden_bindings::uniswap::WETH9::new(market.weth, &provider);
        let balance_before_theft = match first_theft {
            Some(block) => Some(
                weth.balanceOf(app_contracts.vault)
                    .block(block.saturating_sub(1).into())
                    .call()
                    .await?,
            ),
            None => None,
        };
        let balance_after_restitution =
            match self.last_repayment_block(&thefts, start_block).await? {
                Some(block) => Some(
                    weth.balanceOf(app_contracts.vault)
                        .block(block.into())
                        .call()
                        .await?,
                ),
                None => None,
            };
        self.summary.challenges = self.challenges_summary(start_block).await?;
        self.summary.slashed = self.slashed_summary(start_block).await?;
        self.summary.rewards = self.rewards_summary(start_block).await?;
        self.summary.tasks = tasks;
        self.summary.vault = Some(VaultSummary {
            balances_before,
            balances_after: Balances {
                weth: base,
                dollar: quote,
            },
            balance_before_theft,
            balance_after_restitution,
        });
        Ok(())
    }

    /// Mines clock blocks and noise trades until `config.ticks` tasks are final (returning
    /// their ids), or forever without a limit. Dropping the future stops it between two steps
    /// without losing anything: the run keeps what it has seen.
    pub async fn tick(
        &self,
        run: &mut TickRun,
        config: &TickConfig,
        progress: &impl Fn(&str),
    ) -> Result<Vec<u64>, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let task_manager =
            WardenTaskManager::new(self.summary.deployment.app.task_manager, &provider);
        let agent_id = self.summary.deployment.app.agent_id;
        let tick_interval = u64::from(task_manager.getAgent(agent_id).call().await?.tickInterval);
        // `None` when the timeout is beyond any representable instant: no time limit.
        let deadline = tokio::time::Instant::now().checked_add(config.timeout);
        loop {
            if deadline.is_some_and(|deadline| tokio::time::Instant::now() > deadline) {
                return Err(DevnetError::Service(format!(
                    "only {} of {} tasks final after {:?}",
                    run.seen.values().filter(|state| state.is_final()).count(),
                    config.ticks.unwrap_or_default(),
                    config.timeout
                )));
            }
            run.clock += 1;
            let count = task_manager.taskCount().call().await?;
            // Trade only between ticks: while no task is live, and not so close to the next tick
            // that the keeper could open it (and take its snapshot) before the trade lands. The
            // price then moves from one snapshot to the next, and an action executes against the
            // reserves it was decided on.
            let live = count > 0 && run.seen.get(&count).is_none_or(|state| !state.is_final());
            let next_tick = u64::from(
                task_manager
                    .agentStatus(agent_id)
                    .call()
                    .await?
                    .lastOpenedAt,
            ) + tick_interval;
            let block = provider.get_block_number().await?;
            let between_ticks = !live && block + TRADE_MARGIN_BLOCKS < next_tick;
            if run.clock.is_multiple_of(config.trade_every) && between_ticks {
                if let Err(error) = run.trader.trade().await {
                    tracing::warn!(%error, "noise trade failed");
                }
            } else {
                provider.anvil_mine(Some(1), None).await?;
            }
            for task_id in 1..=count {
                // An executed theft may still be proved fraudulent (by a late challenger).
                if run.seen.get(&task_id).is_some_and(|state| {
                    state.is_final()
                        && !(*state == TaskState::Executed && run.thefts.contains_key(&task_id))
                }) {
                    continue;
                }
                let state = TaskState::try_from(task_manager.getTask(task_id).call().await?.state)?;
                if run.seen.insert(task_id, state) != Some(state) {
                    progress(&format!("task {task_id}: {state}"));
                    if state == TaskState::Executed
                        && config.late_challenger.is_some()
                        && let Some((stolen, executed)) = self.theft_execution(task_id).await?
                    {
                        let watching = if run.late_started {
                            "the challenger has it to prove"
                        } else {
                            "no challenger online"
                        };
                        progress(&format!(
                            "task {task_id}: the theft of {stolen} wei of WETH executed in block \
                             {executed}; {watching}"
                        ));
                        run.thefts.insert(task_id, executed);
                    }
                    if let Some(action) = config.owner_actions.get(&task_id) {
                        self.owner_intervenes(task_id, state, *action, progress)
                            .await?;
                    }
                }
            }
            self.start_late_challenger(run, config, block, progress)
                .await?;
            if let Some(tick) = config.aggregator_fails_at {
                let final_count = run.seen.values().filter(|state| state.is_final()).count();
                if final_count + 1 >= tick as usize
                    && let Some(main) = run.main_aggregator.take()
                {
                    let _ = main.send(true);
                    progress(&format!(
                        "the main aggregator stops for good before tick {tick}: the standby \
                         aggregator keeps the agent from now on"
                    ));
                }
            }
            if let Some(ticks) = config.ticks {
                let mut final_ids: Vec<u64> = run
                    .seen
                    .iter()
                    .filter(|(_, state)| state.is_final())
                    .map(|(id, _)| *id)
                    .collect();
                if final_ids.len() >= ticks as usize
                    && (!config.challenger || self.slashing_settled(&run.seen).await?)
                    && self
                        .restitution_settled(run, config, block, progress)
                        .await?
                {
                    final_ids.sort_unstable();
                    final_ids.truncate(ticks as usize);
                    if config.pay_operators && config.byzantine_operators.is_empty() {
                        self.await_operator_pay(&final_ids, progress).await?;
                    }
                    return Ok(final_ids);
                }
            }
            tokio::time::sleep(config.block_interval).await;
        }
    }

    /// The vault owner's side of [`OwnerAction`], on a task's state change.
    async fn owner_intervenes(
        &self,
        task_id: u64,
        state: TaskState,
        action: OwnerAction,
        progress: &impl Fn(&str),
    ) -> Result<(), DevnetError> {
        let owner = warden_txm::signing_provider(
            self.deployment.endpoint_url(),
            self.deployment.vault_owner().clone(),
        );
        let vault = warden_bindings::WardenVault::new(self.summary.deployment.app.vault, &owner);
        match (action, state) {
            (OwnerAction::Veto, TaskState::Committed) => {
                warden_bindings::tx::confirm("WardenVault.veto", vault.veto(task_id).send().await?)
                    .await?;
                progress(&format!("task {task_id}: vetoed by the vault owner"));
            }
            (OwnerAction::Pause, TaskState::Committed) => {
                warden_bindings::tx::confirm("WardenVault.pause", vault.pause().send().await?)
                    .await?;
                progress(&format!("task {task_id}: vault paused by its owner"));
            }
            (OwnerAction::ForbidOutflow, TaskState::Committed) => {
                let market = self.summary.deployment.market;
                for token in [market.weth, market.dollar] {
                    let cap = vault.setSpendingCap(token, U256::ZERO, U256::ZERO);
                    warden_bindings::tx::confirm("WardenVault.setSpendingCap", cap.send().await?)
                        .await?;
                }
                progress(&format!(
                    "task {task_id}: the vault owner forbade every outflow"
                ));
            }
            (OwnerAction::Pause, state) if state.is_final() => {
                warden_bindings::tx::confirm("WardenVault.unpause", vault.unpause().send().await?)
                    .await?;
                progress(&format!("task {task_id}: vault unpaused"));
            }
            _ => {}
        }
        Ok(())
    }

    /// Each byzantine operator queues the withdrawal of every share it deposited (EigenLayer takes
    /// them out of its delegated stake at once; they stay slashable in the withdrawal queue for
    /// the withdrawal delay), then the registry's weights are refreshed, as anyone may.
    async fn withdraw_byzantine_stake(
        &self,
        config: &TickConfig,
        progress: &impl Fn(&str),
    ) -> Result<(), DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let delegation = DelegationManager::new(
            self.summary
                .deployment
                .eigenlayer
                .contracts
                .delegation_manager,
            &provider,
        );
        for handle in self.deployment.operators() {
            if !config.byzantine_operators.contains(&handle.index) {
                continue;
            }
            let deposited = delegation.getDepositedShares(handle.address).call().await?;
            let params = vec![IDelegationManagerTypes::QueuedWithdrawalParams {
                strategies: deposited._0,
                depositShares: deposited._1,
                __deprecated_withdrawer: handle.address,
            }];
            // The devnet holds the operators' keys in keystores; anvil signs for them here.
            provider.anvil_impersonate_account(handle.address).await?;
            let sent = delegation
                .queueWithdrawals(params)
                .from(handle.address)
                .send()
                .await;
            provider
                .anvil_stop_impersonating_account(handle.address)
                .await?;
            warden_bindings::tx::confirm("DelegationManager.queueWithdrawals", sent?).await?;
            progress(&format!(
                "operator {} ({}) queued the withdrawal of all its stake and will still sign thefts",
                handle.index, handle.address
            ));
        }
        let deployer = warden_txm::signing_provider(
            self.deployment.endpoint_url(),
            self.deployment.dev_key(0)?,
        );
        let registry = WardenRegistry::new(self.summary.deployment.warden.registry, &deployer);
        let receipt = warden_bindings::tx::confirm(
            "WardenRegistry.refreshWeights",
            registry.refreshWeights().send().await?,
        )
        .await?;
        progress("the registry's weights are refreshed: the withdrawn stake no longer counts");
        // What the thieves sign with from now on, as the registry and EigenLayer see it: no weight,
        // no delegated shares, everything in the withdrawal queue (slashable there until the
        // withdrawal delay passes).
        let refreshed = u32::try_from(receipt.block_number.unwrap_or_default()).unwrap_or(u32::MAX);
        for handle in self.deployment.operators() {
            if !config.byzantine_operators.contains(&handle.index) {
                continue;
            }
            let operator_id = registry.operatorIdOf(handle.address).call().await?;
            let weight = registry.operatorAt(operator_id, refreshed).call().await?._1;
            let delegated = delegation
                .getOperatorShares(
                    handle.address,
                    vec![self.summary.deployment.eigenlayer.contracts.strategy],
                )
                .call()
                .await?;
            let delegated = delegated.first().copied().unwrap_or_default();
            progress(&format!(
                "operator {}: registry weight {weight}, delegated shares {delegated}",
                handle.index
            ));
        }
        Ok(())
    }

    /// The agent byzantine operators run: it tells `config.lie` about every task's run. A thief
    /// steals, per task, exactly what the vault's bound lets through when all byzantine operators
    /// sign (their weight times the bound).
    async fn byzantine_agent(
        &self,
        config: &TickConfig,
    ) -> Result<Arc<dyn warden_agent::Agent>, DevnetError> {
        if config.lie.needs_trace() {
            let honest = self.deployment.agent().network().cloned().ok_or_else(|| {
                DevnetError::Service(format!(
                    "the {} lie needs a large agent (--model large or 10m): the reference agent keeps no trace",
                    config.lie.name()
                ))
            })?;
            return TraceLiar::new(Arc::new(honest), config.lie)
                .map(|liar| Arc::new(liar) as Arc<dyn warden_agent::Agent>)
                .ok_or_else(|| DevnetError::Service("no trace liar for a theft".into()));
        }
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let vault = warden_bindings::WardenVault::new(self.summary.deployment.app.vault, &provider);
        let bound_bps = vault.stakeBoundBps().call().await?;
        let byzantine_weight: U256 = self
            .summary
            .deployment
            .operators
            .iter()
            .enumerate()
            .filter(|(index, _)| config.byzantine_operators.contains(index))
            .map(|(_, operator)| operator.weight)
            .sum();
        let theft_cap = byzantine_weight * U256::from(bound_bps) / U256::from(10_000u64);
        Ok(Arc::new(ThievingAgent::new(
            self.deployment.shared_agent(),
            self.summary.deployment.market.router,
            THIEF,
            theft_cap,
        )))
    }

    /// Whether every fraudulent task among `seen` has had all its signers slashed.
    async fn slashing_settled(&self, seen: &HashMap<u64, TaskState>) -> Result<bool, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let challenges = WardenChallenges::new(self.summary.deployment.app.challenges, &provider);
        for (task_id, state) in seen {
            if *state == TaskState::Fraudulent
                && !challenges.slashingProgress(*task_id).call().await?.done
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Stops a run's services, waits for them, and hands its noise trader back.
/// A receiver that turns true once either `a` or `b` does (or its sender is gone).
fn either(mut a: watch::Receiver<bool>, mut b: watch::Receiver<bool>) -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(*a.borrow() || *b.borrow());
    tokio::spawn(async move {
        tokio::select! {
            _ = a.wait_for(|stop| *stop) => {}
            _ = b.wait_for(|stop| *stop) => {}
        }
        let _ = sender.send(true);
    });
    receiver
}

async fn stop_services(run: TickRun) -> NoiseTrader {
    let _ = run.stop.send(true);
    for service in run.services {
        let _ = service.await;
    }
    run.trader
}

/// Blocks a noise trade keeps clear of the next tick: other services' transactions may mine
/// blocks between the decision to trade and the trade.
const TRADE_MARGIN_BLOCKS: u64 = 3;

/// Where byzantine operators' thefts go.
pub const THIEF: alloy::primitives::Address =
    alloy::primitives::address!("0x000000000000000000000000000000000000a77a");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_challenger_must_leave_room_inside_the_fraud_proof_window() {
        // 150-block window, 20-block challenge window.
        assert_eq!(late_challenger_limit(&DeployConfig::new(4)), 88);
        let mut longer = DeployConfig::new(4);
        longer.app.challenge_window = 150;
        // The horizon widens to fit the task's whole life (1 + response + challenge + response =
        // 271 blocks of window); after the shortest way to an execution, 119 are left.
        assert_eq!(late_challenger_limit(&longer), 79);
    }
}
