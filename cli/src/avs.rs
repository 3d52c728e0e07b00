//! `warden avs`: Warden on an EigenLayer deployment that already exists (a public network, or any
//! chain whose core someone else deployed).

use std::path::PathBuf;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::providers::ProviderBuilder;
use alloy::transports::http::reqwest::Url;
use clap::{Args, Subcommand};
use eyre::WrapErr;
use warden_deployer::avs::{
    self, AvsParams, AvsProgress, AvsRequest, CurrentFees, Record, Rehearsal,
};
use warden_deployer::networks::{self, EigenLayerNetwork, check_core, known_networks};
use warden_txm::{ether, gwei};

#[derive(Debug, Args)]
pub struct AvsArgs {
    #[command(subcommand)]
    pub command: AvsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AvsCommand {
    /// Check, with reads only, that a chain holds an EigenLayer core this Warden can join: the
    /// chain id is the deployment's, every core contract has code, and the contracts Warden calls
    /// report a release its EigenLayer interfaces were written for (v1.5.0 Redistribution to
    /// v1.12.x). Sends nothing; exits non-zero, naming the problem, otherwise.
    Check(CheckArgs),
    /// Deploy Warden's AVS on an EigenLayer that exists, paid from a keystore: the registry,
    /// the task manager (with its challenges, restitution and rewards contracts) and Warden's
    /// redistributing operator set, announced with an AVS metadata URI. Checks the core first,
    /// then rehearses every transaction on a local anvil fork of the chain and prints them with
    /// their gas and cost at the current fee; only then, and only with enough ETH, sends them.
    /// Writes `deployment.json` (what `warden-operator register`, `warden vault create` and the
    /// services' `[chain] deployment` read) and `avs-metadata.json` (for you to host at
    /// --metadata-uri) into --out.
    Deploy(Box<DeployArgs>),
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: EigenLayerTarget,
    /// The chain's JSON-RPC endpoint.
    #[arg(long, env = "WARDEN_RPC_URL")]
    pub rpc_url: Url,
    /// The deployer's key: a Web3 Secret Storage keystore (`warden keys new-account`). It pays
    /// for everything and owns the registry.
    #[arg(long, env = "WARDEN_DEPLOYER_KEYSTORE", value_name = "FILE")]
    pub keystore: PathBuf,
    /// File holding the keystore's password. Without it, WARDEN_KEYSTORE_PASSWORD is used.
    #[arg(long, env = "WARDEN_PASSWORD_FILE", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// A strategy whose slashable stake makes an operator's weight (repeatable). EigenLayer
    /// refuses beacon-chain ETH and EIGEN in a redistributing operator set.
    #[arg(long = "strategy", value_name = "ADDRESS", required = true)]
    pub strategies: Vec<alloy::primitives::Address>,
    /// Where you will serve the AVS metadata JSON written to OUT/avs-metadata.json; announced to
    /// EigenLayer, which does not fetch it.
    #[arg(long, value_name = "URL")]
    pub metadata_uri: String,
    /// Parameters (TOML, every section and key optional): `[metadata]` (name, website,
    /// description, logo, twitter), `[registry]` (minimum_weight, max_operators,
    /// weight_horizon, max_weight_age, ejection_limit, ejection_window) and `[task_manager]`
    /// (seconds_per_block, slashing_period, value_at_risk_bps, surplus_challenger_bps,
    /// commit_fee, challenge_bond, challenge_bounty, slash_wad, slash_fee, bounty_pool). See
    /// docs/avs-deployment.md.
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// Directory for `deployment.json` and `avs-metadata.json` (created if missing; a
    /// `deployment.json` already there is never replaced). Until the deployment is done,
    /// `deployment.progress.json` there records how far it got: run the same command again to
    /// resume.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Rehearse and print the transactions and their cost, and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Refuse to send while the chain asks more than this per gas (gwei, max fee).
    #[arg(long, value_name = "GWEI")]
    pub max_fee_gwei: Option<u64>,
    /// The anvil binary the rehearsal forks the chain with [default: $WARDEN_ANVIL, else the
    /// one `make setup` installs].
    #[arg(long, value_name = "PATH")]
    pub anvil: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: EigenLayerTarget,
    /// The chain's JSON-RPC endpoint.
    #[arg(long, env = "WARDEN_RPC_URL")]
    pub rpc_url: Url,
}

/// Which EigenLayer deployment: one of the address book's, or a file.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct EigenLayerTarget {
    /// A deployment in Warden's address book (EigenLayer's published deployments): mainnet,
    /// sepolia or hoodi.
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// A JSON file describing another deployment: `name`, `chain_id`, `release` and `contracts`
    /// (`delegation_manager`, `strategy_manager`, `allocation_manager`, `permission_controller`,
    /// `rewards_coordinator`, `eigen_pod_manager`, optionally `avs_directory`).
    #[arg(long, value_name = "FILE")]
    pub eigenlayer: Option<PathBuf>,
}

impl EigenLayerTarget {
    /// The deployment named or described.
    pub fn resolve(&self) -> eyre::Result<EigenLayerNetwork> {
        match (&self.network, &self.eigenlayer) {
            (Some(name), _) => Ok(networks::named(name)?),
            (None, Some(path)) => Ok(EigenLayerNetwork::from_file(path)?),
            (None, None) => {
                let names: Vec<String> = known_networks().into_iter().map(|n| n.name).collect();
                eyre::bail!(
                    "name the EigenLayer deployment: --network ({}) or --eigenlayer FILE",
                    names.join(", ")
                )
            }
        }
    }
}

pub async fn run(args: AvsArgs) -> eyre::Result<()> {
    match args.command {
        AvsCommand::Check(args) => check(args).await,
        AvsCommand::Deploy(args) => deploy(*args).await,
    }
}

/// The deployment file in --out.
pub const DEPLOYMENT_FILE: &str = "deployment.json";
/// The AVS metadata in --out.
pub const METADATA_FILE: &str = "avs-metadata.json";
/// How far an unfinished deployment got, in --out.
pub const PROGRESS_FILE: &str = "deployment.progress.json";

fn deployed(contract: Option<Address>) -> String {
    contract.map_or_else(|| "none".to_owned(), |address| address.to_string())
}

async fn deploy(args: DeployArgs) -> eyre::Result<()> {
    // Everything that can be refused without the chain is refused before it is asked anything.
    let network = args.target.resolve()?;
    let params = match &args.params {
        Some(path) => AvsParams::from_file(path)?,
        None => AvsParams::default(),
    };
    let deployment_path = args.out.join(DEPLOYMENT_FILE);
    if deployment_path.exists() {
        eyre::bail!(
            "{} already records a deployment: choose another --out",
            deployment_path.display()
        );
    }
    let signer = crate::keys::unlock_account(&args.keystore, args.password_file.as_deref()).await?;
    let deployer = signer.address();

    let chain = ProviderBuilder::new().connect_http(args.rpc_url.clone());
    check_core(&chain, &network)
        .await
        .wrap_err_with(|| format!("EigenLayer {} ({})", network.name, network.release))?;
    let request = AvsRequest {
        eigenlayer: network,
        strategies: args.strategies.clone(),
        metadata_uri: args.metadata_uri.clone(),
        params,
    };

    // A run that stopped halfway left its progress: resume it rather than deploy again.
    let progress_path = args.out.join(PROGRESS_FILE);
    let resume = if progress_path.exists() {
        let chain_id = chain.get_chain_id().await?;
        let progress = AvsProgress::resume(&progress_path, chain_id, deployer, &request)?;
        println!(
            "resuming the deployment recorded in {}: registry {}, verifier factory {}, task \
             manager {}, rewards {} (\"none\": not deployed yet)",
            progress_path.display(),
            deployed(progress.registry),
            deployed(progress.verifier_factory),
            deployed(progress.task_manager),
            deployed(progress.rewards)
        );
        Some(progress)
    } else {
        None
    };

    let anvil = args
        .anvil
        .clone()
        .unwrap_or_else(warden_devnet::default_anvil_path);
    let rehearsal = avs::rehearse(
        &anvil,
        &args.rpc_url,
        signer.clone(),
        &request,
        resume.clone(),
    )
    .await
    .wrap_err("rehearsing the deployment on a fork of the chain (nothing was sent)")?;
    let fees = CurrentFees::read(&chain).await?;
    let balance = chain.get_balance(deployer).await?;
    print_plan(&rehearsal, &fees, deployer, balance);

    std::fs::create_dir_all(&args.out)
        .wrap_err_with(|| format!("creating {}", args.out.display()))?;
    let metadata_path = args.out.join(METADATA_FILE);
    std::fs::write(
        &metadata_path,
        avs::metadata_json(&request.params.metadata)?,
    )
    .wrap_err_with(|| format!("writing {}", metadata_path.display()))?;
    println!(
        "AVS metadata written to {}: serve it at {}",
        metadata_path.display(),
        request.metadata_uri
    );
    if args.dry_run {
        println!("dry run: nothing sent");
        return Ok(());
    }

    if let Some(cap) = args.max_fee_gwei {
        let cap_wei = u128::from(cap) * 1_000_000_000;
        if fees.max_fee > cap_wei {
            eyre::bail!(
                "the chain asks up to {} gwei per gas now, over --max-fee-gwei {cap}: nothing sent; \
                 wait for lower fees or raise the cap",
                gwei(fees.max_fee)
            );
        }
    }
    let needed = fees.worst_cost(rehearsal.total_gas()) + rehearsal.total_value();
    if balance < needed {
        eyre::bail!(
            "the deployer {deployer} holds {} ETH and the deployment may cost up to {} ETH \
             ({} gas at up to {} gwei, plus {} ETH sent): fund the key; nothing was sent",
            ether(balance),
            ether(needed),
            rehearsal.total_gas(),
            gwei(fees.max_fee),
            ether(rehearsal.total_value())
        );
    }
    let provider = warden_txm::signing_provider(args.rpc_url.clone(), signer);
    let deployment = avs::deploy(
        &provider,
        deployer,
        &request,
        resume,
        Record::File(&progress_path),
    )
    .await
    .wrap_err_with(|| {
        format!(
            "deploying: what was done is recorded in {}; run the same command again to resume",
            progress_path.display()
        )
    })?;
    deployment
        .write_new(&deployment_path)
        .wrap_err("recording the deployment")?;
    std::fs::remove_file(&progress_path)
        .wrap_err_with(|| format!("removing {}", progress_path.display()))?;
    println!(
        "Warden deployed: registry {}, task manager {}; recorded in {}",
        deployment.warden.registry,
        deployment.warden.task_manager,
        deployment_path.display()
    );
    Ok(())
}

fn print_plan(rehearsal: &Rehearsal, fees: &CurrentFees, deployer: Address, balance: U256) {
    println!("Rehearsed on a fork of the chain, from {deployer}:");
    println!(
        "  {:>2}  {:<48} {:>12} {:>10}",
        "#", "transaction", "gas", "ETH sent"
    );
    for (position, tx) in rehearsal.transactions.iter().enumerate() {
        println!(
            "  {:>2}  {:<48} {:>12} {:>10}",
            position + 1,
            tx.label,
            tx.gas_used,
            ether(tx.value)
        );
    }
    let gas = rehearsal.total_gas();
    println!(
        "  total: {} transactions, {gas} gas, {} ETH sent",
        rehearsal.transactions.len(),
        ether(rehearsal.total_value())
    );
    println!(
        "  at the current fee ({} gwei base + {} gwei tip): {} ETH for gas; at most {} ETH at the \
         max fee of {} gwei",
        gwei(fees.base_fee),
        gwei(fees.priority_fee),
        ether(fees.expected_cost(gas)),
        ether(fees.worst_cost(gas)),
        gwei(fees.max_fee)
    );
    println!("  deployer balance: {} ETH", ether(balance));
}
async fn check(args: CheckArgs) -> eyre::Result<()> {
    let network = args.target.resolve()?;
    let provider = ProviderBuilder::new().connect_http(args.rpc_url.clone());
    let checked = check_core(&provider, &network).await.wrap_err_with(|| {
        format!(
            "EigenLayer {} ({}) at {}",
            network.name, network.release, args.rpc_url
        )
    })?;
    println!(
        "EigenLayer {} on chain {}: usable by this Warden",
        network.name, checked.chain_id
    );
    for (contract, version) in &checked.versions {
        println!("  {contract:<22} {version}");
    }
    Ok(())
}
