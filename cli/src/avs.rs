//! `warden avs`: Warden on an EigenLayer deployment that already exists (a public network, or any
//! chain whose core someone else deployed).

use std::path::PathBuf;

use alloy::providers::ProviderBuilder;
use alloy::transports::http::reqwest::Url;
use clap::{Args, Subcommand};
use eyre::WrapErr;
use warden_deployer::networks::{EigenLayerNetwork, check_core, known_networks};

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
    /// v1.8.x). Sends nothing; exits non-zero, naming the problem, otherwise.
    Check(CheckArgs),
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
            (Some(name), _) => Ok(EigenLayerNetwork::named(name)?),
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
    }
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
