//! `warden vault`: a vault owner's commands, on a Warden deployment (`deployment.json` from
//! `warden avs deploy`).

use std::path::PathBuf;
use std::time::Duration;

use alloy::providers::ProviderBuilder;
use alloy::transports::http::reqwest::Url;
use clap::{Args, Subcommand};
use eyre::WrapErr;
use warden_deployer::vault::{self, VaultPolicy, VaultRecord, VaultStatus};
use warden_runtime::deployment::DeploymentFile;

#[derive(Debug, Args)]
pub struct VaultArgs {
    #[command(subcommand)]
    pub command: VaultCommand,
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Deploy a vault under a policy file (config/vault-policy.toml documents every key): its
    /// call allowlist, spending caps and stake bound; register its agent with the verifier the
    /// task manager accepts (deployed through the verifier factory if it is the first vault of
    /// that agent); move the funding in; and fill the agent's price history. Refuses a key that
    /// does not hold the funding before sending anything. Writes the vault's record (--out).
    Create(Box<CreateArgs>),
    /// Show a vault, reading only: balances, today's spending against the caps, the stake bound
    /// and the value at risk, the latest task and whether the next can open, and what is left
    /// to pay for commitments and task fees.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The chain's JSON-RPC endpoint.
    #[arg(long, env = "WARDEN_RPC_URL")]
    pub rpc_url: Url,
    /// The deployment file `warden avs deploy` wrote.
    #[arg(long, env = "WARDEN_DEPLOYMENT", value_name = "FILE")]
    pub deployment: PathBuf,
    /// The policy file.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The owner's key: a Web3 Secret Storage keystore (`warden keys new-account`). It owns the
    /// vault, pays for the deployment and holds the funding.
    #[arg(long, env = "WARDEN_OWNER_KEYSTORE", value_name = "FILE")]
    pub keystore: PathBuf,
    /// File holding the keystore's password. Without it, WARDEN_KEYSTORE_PASSWORD is used.
    #[arg(long, env = "WARDEN_PASSWORD_FILE", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Where to write the vault's record (JSON: vault, agent id, verifier, input source);
    /// never over an existing file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// How long to keep observing the pair until the agent's price history is full (17
    /// observations, `min_observation_interval` apart); 0 leaves it to the tasks, which
    /// observe as they open.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub history_wait_secs: u64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The chain's JSON-RPC endpoint.
    #[arg(long, env = "WARDEN_RPC_URL")]
    pub rpc_url: Url,
    /// The deployment file `warden avs deploy` wrote.
    #[arg(long, env = "WARDEN_DEPLOYMENT", value_name = "FILE")]
    pub deployment: PathBuf,
    /// The vault's record, as `warden vault create` wrote it.
    #[arg(long, value_name = "FILE")]
    pub vault: PathBuf,
}

pub async fn run(args: VaultArgs) -> eyre::Result<()> {
    match args.command {
        VaultCommand::Create(args) => create(*args).await,
        VaultCommand::Status(args) => status(args).await,
    }
}

async fn create(args: CreateArgs) -> eyre::Result<()> {
    let deployment = DeploymentFile::read(&args.deployment)?;
    let policy = VaultPolicy::from_file(&args.policy)?;
    if args.out.exists() {
        eyre::bail!(
            "{} already exists: a vault's record is never replaced; choose another --out",
            args.out.display()
        );
    }
    let agent = warden_runtime::agent::load_agent(&policy.agent_section())
        .await
        .wrap_err("loading the policy's agent")?;
    let signer = crate::keys::unlock_account(&args.keystore, args.password_file.as_deref()).await?;
    let owner = signer.address();
    let provider = warden_txm::signing_provider(args.rpc_url.clone(), signer);
    deployment
        .check(&provider)
        .await
        .wrap_err("checking the deployment against the chain")?;

    let record = vault::create(
        &provider,
        owner,
        &deployment,
        &policy,
        agent.as_ref(),
        Duration::from_secs(args.history_wait_secs),
    )
    .await
    .wrap_err("creating the vault (the contracts logged above as deployed are on chain)")?;
    write_record(&args.out, &record)?;
    println!(
        "vault {} created for agent {} (agent hash {}); recorded in {}",
        record.vault,
        record.agent_id,
        record.agent_hash,
        args.out.display()
    );
    println!(
        "operators, the aggregator and watchtowers run this agent with [agent] router = \"{}\"{}",
        policy.market.router,
        if policy.agent.model.is_some() {
            " and the policy's model and agent_hash"
        } else {
            " (the reference agent)"
        }
    );
    Ok(())
}

fn write_record(path: &std::path::Path, record: &VaultRecord) -> eyre::Result<()> {
    use std::io::Write as _;
    let json = serde_json::to_string_pretty(record)? + "\n";
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .wrap_err_with(|| format!("creating {}", path.display()))?;
    file.write_all(json.as_bytes())
        .wrap_err_with(|| format!("writing {}", path.display()))
}

async fn status(args: StatusArgs) -> eyre::Result<()> {
    let deployment = DeploymentFile::read(&args.deployment)?;
    let text = std::fs::read_to_string(&args.vault)
        .wrap_err_with(|| format!("reading {}", args.vault.display()))?;
    let record: VaultRecord = serde_json::from_str(&text)
        .wrap_err_with(|| format!("{} is not a vault record", args.vault.display()))?;
    if record.task_manager != deployment.warden.task_manager {
        eyre::bail!(
            "{} is a vault of task manager {}, and the deployment's is {}",
            args.vault.display(),
            record.task_manager,
            deployment.warden.task_manager
        );
    }
    let provider = ProviderBuilder::new().connect_http(args.rpc_url);
    deployment
        .check(&provider)
        .await
        .wrap_err("checking the deployment against the chain")?;
    let status = VaultStatus::read(&provider, &deployment, &record)
        .await
        .wrap_err("reading the vault's status")?;
    println!("{status}");
    Ok(())
}
