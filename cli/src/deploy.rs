//! `warden deploy`: the one-shot deployer of `docker-compose.yml`. Deploys EigenLayer, the
//! market and Warden into a running anvil, registers operators, and writes everything the
//! services need to run against it: keystores, password files and one configuration file per
//! service, each service on ports of its own so that all of them can run on one host.
//! `deployment.json` records the deployer's state (`running`, then `stopped` however it ends)
//! and, once deployed, the deployment. Running it again over a finished deployment does
//! nothing; over an unfinished one, it starts over.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use alloy::providers::{Provider, ProviderBuilder};
use alloy::transports::http::reqwest::Url;
use clap::Args;
use eyre::WrapErr;
use warden_deployer::{
    DeployConfig, Deployment, DeploymentRecord, DeploymentSummary, ListenPlan, Service,
};
use warden_runtime::config::OpsConfig;

/// The aggregator API's port in the default `--aggregator-url`.
pub const AGGREGATOR_API_PORT: u16 = 8090;
/// The default first metrics port: the aggregator's; service N's is this + N.
pub const METRICS_BASE_PORT: u16 = 9090;
/// The default first node API port: the aggregator's; service N's is this + N.
pub const NODE_API_BASE_PORT: u16 = 9010;

/// The file recording the deployer's state and, once deployed, the deployment.
pub const DEPLOYMENT_FILE: &str = "deployment.json";

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The anvil to deploy into (its default development accounts pay for everything).
    #[arg(long, env = "WARDEN_RPC_URL")]
    pub rpc_url: Url,
    /// Number of operators to create and register. With equal stakes and the default two-thirds
    /// threshold, four is the fewest that keep committing with one operator down.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub operators: u16,
    /// Deploy even an operator set that stops committing when a single operator is down (by
    /// default refused: every task would expire during any one operator's outage).
    #[arg(long)]
    pub allow_no_fault_tolerance: bool,
    /// Directory for the deployment: `deployment.json`, keystores, and `config/<service>.toml`
    /// for `aggregator`, `operator-<i>` and `challenger`. `deployment.json` says
    /// `"state": "running"` while the deployer works and `"state": "stopped"` once it has
    /// exited, with `"outcome"`: `deployed` (the deployment's addresses follow), `failed` (with
    /// `"error"`) or `interrupted`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The aggregator's API as the operators reach it. The aggregator listens on its port, and
    /// on its host when that is a loopback address (127.0.0.1, [::1], localhost); otherwise on
    /// --listen-host.
    #[arg(long, default_value = "http://127.0.0.1:8090")]
    pub aggregator_url: Url,
    /// Another aggregator the operators fall back to (repeatable): a task still not committed
    /// `operator.fallback_after_blocks` after it opened has its signatures sent to these too, in
    /// a per-task order every operator shares. Run each with `aggregator.standby_blocks` above 0
    /// (a standby keeps the agents only once the main aggregator is overdue) and its own key.
    #[arg(long = "fallback-aggregator-url", value_name = "URL")]
    pub fallback_aggregator_urls: Vec<Url>,
    /// Each service's database: `{service}` is replaced by `aggregator`, `operator_<i>` or
    /// `challenger`, e.g. `postgres://warden@postgres/warden_{service}`. Default: a SQLite file
    /// per service under DIR/data.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Address the services' endpoints listen on (`0.0.0.0` inside containers).
    #[arg(long, default_value = "127.0.0.1")]
    pub listen_host: IpAddr,
    /// First metrics port. Service N serves metrics on PORT + N, N being 0 for the aggregator,
    /// 1 to --operators for operator-0 onwards and --operators + 1 for the challenger, so that
    /// every service can run on one host. Ranges that overlap the node API's or the
    /// aggregator's port are refused.
    #[arg(long, value_name = "PORT", default_value_t = METRICS_BASE_PORT)]
    pub metrics_port: u16,
    /// First node API port: service N serves the EigenLayer node API on PORT + N (N as for
    /// --metrics-port).
    #[arg(long, value_name = "PORT", default_value_t = NODE_API_BASE_PORT)]
    pub node_api_port: u16,
}

impl DeployArgs {
    /// Where each service listens, refused if two would clash on one host.
    pub fn listen_plan(&self) -> eyre::Result<ListenPlan> {
        let aggregator_api = ListenPlan::aggregator_listen(&self.aggregator_url, self.listen_host)
            .wrap_err(
                "the aggregator must listen where --aggregator-url points: give a URL on this \
                 host's loopback address, or a --listen-host its address reaches (0.0.0.0)",
            )?;
        ListenPlan::new(
            self.listen_host,
            self.metrics_port,
            self.node_api_port,
            aggregator_api,
            usize::from(self.operators),
        )
        .wrap_err(
            "every service must listen on ports of its own: choose --metrics-port, \
             --node-api-port and the port of --aggregator-url so that none overlap",
        )
    }
}

pub async fn run(args: DeployArgs) -> eyre::Result<()> {
    // What can be refused without a chain is refused before anything is written or sent.
    let config = DeployConfig::new(usize::from(args.operators));
    if config.operators_that_may_fail() == 0 && !args.allow_no_fault_tolerance {
        eyre::bail!(
            "{} equally staked operators at a {} bps quorum threshold cannot lose a single one: \
             with any operator down, every task expires. Deploy at least 4 operators (--operators \
             4), or pass --allow-no-fault-tolerance to deploy this set anyway",
            config.operators,
            config.app.threshold_bps
        );
    }
    let plan = args.listen_plan()?;

    let record_path = args.out.join(DEPLOYMENT_FILE);
    match read_record(&record_path)? {
        Some(record) if record.is_deployed() => {
            println!(
                "{} exists: already deployed, nothing to do",
                record_path.display()
            );
            return Ok(());
        }
        Some(record) => tracing::warn!(
            state = ?record.state,
            outcome = ?record.outcome,
            "{} records an unfinished deployment: starting over",
            record_path.display()
        ),
        None => {}
    }
    std::fs::create_dir_all(&args.out)
        .wrap_err_with(|| format!("creating {}", args.out.display()))?;
    // Installed before the record says `running`, so that a signal from now on is ours to
    // record rather than the default handler's sudden exit.
    let shutdown = warden_runtime::shutdown_signal().wrap_err("installing signal handlers")?;
    write_record(&record_path, &DeploymentRecord::running())?;

    let outcome = tokio::select! {
        result = deploy(&args, &config, &plan) => Some(result),
        () = shutdown => None,
    };
    // From here on, however the deployer ends, the record says it has stopped.
    let (record, result) = match outcome {
        Some(Ok(summary)) => (DeploymentRecord::deployed(summary), Ok(())),
        Some(Err(error)) => (DeploymentRecord::failed(format!("{error:#}")), Err(error)),
        None => (
            DeploymentRecord::interrupted(),
            Err(eyre::eyre!(
                "interrupted: the deployment is unfinished; run `warden deploy` again to start over"
            )),
        ),
    };
    let written = write_record(&record_path, &record);
    // The deployer's own error says more than a failure to record it.
    result?;
    written?;
    println!(
        "deployed into {}: {} operators, configurations in {}",
        args.rpc_url,
        args.operators,
        args.out.join("config").display()
    );
    Ok(())
}

/// Deploys and writes every service's keystore and configuration; the deployment's summary.
async fn deploy(
    args: &DeployArgs,
    config: &DeployConfig,
    plan: &ListenPlan,
) -> eyre::Result<DeploymentSummary> {
    // A deployment that failed half-way (the deployer is retried on failure) left keystores and
    // configurations for contracts that may not exist: start over, on the chain as it is now.
    for leftover in ["operators", "keys", "config", "data"] {
        let path = args.out.join(leftover);
        if path.exists() {
            tracing::warn!(path = %path.display(), "removing what an unfinished deployment left");
            std::fs::remove_dir_all(&path)
                .wrap_err_with(|| format!("removing {}", path.display()))?;
        }
    }
    let deployment = Deployment::deploy(args.rpc_url.clone(), &args.out, config)
        .await
        .wrap_err_with(|| format!("deploying into {}", args.rpc_url))?;
    let start_block = ProviderBuilder::new()
        .connect_http(args.rpc_url.clone())
        .get_block_number()
        .await
        .wrap_err("reading the block number")?;
    let config_dir = args.out.join("config");
    std::fs::create_dir_all(&config_dir)
        .wrap_err_with(|| format!("creating {}", config_dir.display()))?;
    // Each service's own ports; the node's name stays the one its configuration gives it.
    let ops = |service: Service, node_name: Option<String>| OpsConfig {
        node_name,
        ..plan.ops(service)
    };

    deployment
        .dev_keystore(3)
        .await
        .wrap_err("writing the aggregator's keystore")?;
    let mut aggregator =
        deployment.aggregator_config(plan.aggregator_api, vec![deployment.summary().app.agent_id]);
    aggregator.database.url = database(args, "aggregator");
    aggregator.ops = ops(Service::Aggregator, aggregator.ops.node_name.take());
    aggregator.transactions = warden_txm::TransactionsConfig::default();
    write_toml(&config_dir.join("aggregator.toml"), &aggregator)?;

    for handle in deployment.operators() {
        let mut operator = deployment
            .operator_config(handle, &args.aggregator_url, start_block)
            .wrap_err("building an operator's configuration")?;
        operator.operator.fallback_aggregator_urls = args.fallback_aggregator_urls.clone();
        operator.database.url = database(args, &format!("operator_{}", handle.index));
        operator.ops = ops(
            Service::Operator(handle.index),
            operator.ops.node_name.take(),
        );
        write_toml(
            &config_dir.join(format!("{}.toml", Service::Operator(handle.index).name())),
            &operator,
        )?;
    }

    deployment
        .dev_keystore(4)
        .await
        .wrap_err("writing the challenger's keystore")?;
    let mut challenger = deployment.challenger_config(start_block);
    challenger.database.url = database(args, "challenger");
    challenger.ops = ops(Service::Challenger, challenger.ops.node_name.take());
    write_toml(&config_dir.join("challenger.toml"), &challenger)?;

    Ok(deployment.summary().clone())
}

/// The record at `path`, `None` if there is none. A file that is not a record is an error,
/// never taken for an unfinished deployment: starting over would delete a deployment's keys.
fn read_record(path: &Path) -> eyre::Result<Option<DeploymentRecord>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).wrap_err_with(|| format!("reading {}", path.display())),
    };
    serde_json::from_str(&text).map(Some).wrap_err_with(|| {
        format!(
            "{} is not a deployment record: inspect it, and remove it to deploy afresh",
            path.display()
        )
    })
}

/// Replaces the record at `path` in one step (a new file renamed over it), so that a reader (or
/// the next deployer, after a crash) never sees half of one.
fn write_record(path: &Path, record: &DeploymentRecord) -> eyre::Result<()> {
    let text = serde_json::to_string_pretty(record).wrap_err("encoding the deployment record")?;
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, text).wrap_err_with(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, path).wrap_err_with(|| format!("writing {}", path.display()))
}

fn database(args: &DeployArgs, service: &str) -> String {
    match &args.database {
        Some(template) => template.replace("{service}", service),
        None => args
            .out
            .join("data")
            .join(format!("{service}.db"))
            .display()
            .to_string(),
    }
}

fn write_toml(path: &Path, value: &impl serde::Serialize) -> eyre::Result<()> {
    let text = toml::to_string(value).wrap_err("encoding a configuration")?;
    std::fs::write(path, text).wrap_err_with(|| format!("writing {}", path.display()))
}
