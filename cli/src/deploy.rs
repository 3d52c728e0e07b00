//! `warden deploy`: the one-shot deployer of `docker-compose.yml`. Deploys EigenLayer, the
//! market and Warden into a running anvil, registers operators, and writes everything the
//! services need to run against it: keystores, password files and one configuration file per
//! service. Running it again over a finished deployment does nothing.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use alloy::providers::{Provider, ProviderBuilder};
use alloy::transports::http::reqwest::Url;
use clap::Args;
use eyre::WrapErr;
use warden_deployer::{DeployConfig, Deployment};
use warden_runtime::config::OpsConfig;

/// Ports every service uses inside its own container (or host).
pub const AGGREGATOR_API_PORT: u16 = 8090;
pub const METRICS_PORT: u16 = 9090;
pub const NODE_API_PORT: u16 = 9010;

/// The file a finished deployment leaves: its summary.
pub const DEPLOYMENT_FILE: &str = "deployment.json";

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The anvil to deploy into (its default development accounts pay for everything).
    #[arg(long, env = "WARDEN_RPC_URL")]
    pub rpc_url: Url,
    /// Number of operators to create and register. With equal stakes and the default two-thirds
    /// threshold, four is the fewest that keep committing with one operator down.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=200))]
    pub operators: u16,
    /// Deploy even an operator set that stops committing when a single operator is down (by
    /// default refused: every task would expire during any one operator's outage).
    #[arg(long)]
    pub allow_no_fault_tolerance: bool,
    /// Directory for the deployment: `deployment.json`, keystores, and `config/<service>.toml`
    /// for `aggregator`, `operator-<i>` and `challenger`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The aggregator's API as the operators reach it.
    #[arg(long, default_value = "http://127.0.0.1:8090")]
    pub aggregator_url: Url,
    /// Each service's database: `{service}` is replaced by `aggregator`, `operator_<i>` or
    /// `challenger`, e.g. `postgres://warden@postgres/warden_{service}`. Default: a SQLite file
    /// per service under DIR/data.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Address the services' endpoints listen on (`0.0.0.0` inside containers).
    #[arg(long, default_value = "127.0.0.1")]
    pub listen_host: IpAddr,
}

pub async fn run(args: DeployArgs) -> eyre::Result<()> {
    let summary_path = args.out.join(DEPLOYMENT_FILE);
    if summary_path.is_file() {
        println!(
            "{} exists: already deployed, nothing to do",
            summary_path.display()
        );
        return Ok(());
    }
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
    let deployment = Deployment::deploy(args.rpc_url.clone(), &args.out, &config)
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
    let ops = OpsConfig {
        metrics_listen: SocketAddr::new(args.listen_host, METRICS_PORT),
        node_api_listen: SocketAddr::new(args.listen_host, NODE_API_PORT),
        node_name: None,
    };

    deployment
        .dev_keystore(3)
        .await
        .wrap_err("writing the aggregator's keystore")?;
    let mut aggregator = deployment.aggregator_config(
        SocketAddr::new(args.listen_host, AGGREGATOR_API_PORT),
        vec![deployment.summary().app.agent_id],
    );
    aggregator.database.url = database(&args, "aggregator");
    aggregator.ops = ops.clone();
    aggregator.transactions = warden_txm::TransactionsConfig::default();
    write_toml(&config_dir.join("aggregator.toml"), &aggregator)?;

    for handle in deployment.operators() {
        let mut operator = deployment
            .operator_config(handle, &args.aggregator_url, start_block)
            .wrap_err("building an operator's configuration")?;
        operator.database.url = database(&args, &format!("operator_{}", handle.index));
        operator.ops = OpsConfig {
            node_name: Some(format!("warden-operator-{}", handle.index)),
            ..ops.clone()
        };
        write_toml(
            &config_dir.join(format!("operator-{}.toml", handle.index)),
            &operator,
        )?;
    }

    deployment
        .dev_keystore(4)
        .await
        .wrap_err("writing the challenger's keystore")?;
    let mut challenger = deployment.challenger_config(start_block);
    challenger.database.url = database(&args, "challenger");
    challenger.ops = ops;
    write_toml(&config_dir.join("challenger.toml"), &challenger)?;

    let summary = serde_json::to_string_pretty(deployment.summary())?;
    std::fs::write(&summary_path, summary)
        .wrap_err_with(|| format!("writing {}", summary_path.display()))?;
    println!(
        "deployed into {}: {} operators, configurations in {}",
        args.rpc_url,
        deployment.operators().len(),
        config_dir.display()
    );
    Ok(())
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
