//! `warden-operator slashing-protection export|import`, reading the operator's configuration
//! file the way `run` does.

use std::io::Write;
use std::path::PathBuf;

use alloy::providers::{Provider, ProviderBuilder};
use warden_keys::{KeyError, Keystore, KeystoreError};
use warden_store::operator::SlashingProtection;
use warden_store::{Store, StoreError};

use super::{
    InterchangeError, RecordOwner, SlashingProtectionArgs, SlashingProtectionCommand, export,
    import, read_file,
};
use crate::config::OperatorConfig;
use warden_runtime::config::ServiceConfig;

/// Why the command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Config(#[from] warden_runtime::config::ConfigError),
    #[error("BLS keystore {path}: {source}")]
    Keystore {
        path: PathBuf,
        #[source]
        source: KeystoreError,
    },
    #[error(
        "BLS keystore {0} has no pubkey field; the operator's public key cannot be read without \
         decrypting it"
    )]
    NoPublicKey(PathBuf),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("asking {rpc_url} for the chain id: {source}")]
    ChainId {
        rpc_url: String,
        #[source]
        source: alloy::transports::TransportError,
    },
    #[error("opening the database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Interchange(#[from] InterchangeError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a slashing-protection interchange file: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing the interchange JSON: {0}")]
    Write(#[source] std::io::Error),
}

/// Runs `warden-operator slashing-protection`; prints what it did on standard error (standard
/// output carries an export without `--output`).
pub async fn run(args: SlashingProtectionArgs) -> Result<(), CommandError> {
    let config = OperatorConfig::load(Some(&args.config))?;
    let owner = record_owner(&config).await?;
    let store = Store::connect(&config.database.location()?).await?;
    let protection = SlashingProtection::new(store.clone(), owner.operator_id());
    let result = match args.command {
        SlashingProtectionCommand::Export { output } => {
            let interchange = export(&protection, &owner).await?;
            let count: usize = interchange.data.iter().map(|d| d.signed_tasks.len()).sum();
            let mut json = serde_json::to_string_pretty(&interchange)
                .map_err(|error| CommandError::Write(error.into()))?;
            json.push('\n');
            match &output {
                Some(path) => std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .and_then(|mut file| file.write_all(json.as_bytes()))
                    .map_err(|source| CommandError::Io {
                        path: path.clone(),
                        source,
                    })?,
                None => std::io::stdout()
                    .write_all(json.as_bytes())
                    .map_err(CommandError::Write)?,
            }
            eprintln!(
                "exported {count} signed task(s) of operator {} (chain {}, task manager {})",
                owner.operator_id(),
                owner.chain_id,
                owner.task_manager
            );
            Ok(())
        }
        SlashingProtectionCommand::Import { file } => {
            let interchange = read_file(&file)?;
            let summary = import(&protection, &owner, &interchange).await?;
            eprintln!(
                "imported {} signed task(s) into the record of operator {} ({} already on record)",
                summary.added,
                owner.operator_id(),
                summary.already_known
            );
            Ok(())
        }
    };
    store.close().await;
    result
}

/// The configuration's chain (asked of its RPC endpoint), task manager and BLS public key (read
/// from the keystore's `pubkey` field, so no password is needed).
async fn record_owner(config: &OperatorConfig) -> Result<RecordOwner, CommandError> {
    let path = config
        .keys
        .bls_keystore
        .clone()
        .ok_or(KeyError::NoBlsKeystore)?;
    let keystore_error = |source| CommandError::Keystore {
        path: path.clone(),
        source,
    };
    let public_key = Keystore::load(&path)
        .and_then(|keystore| keystore.public_key())
        .map_err(keystore_error)?
        .ok_or_else(|| CommandError::NoPublicKey(path.clone()))?;
    let rpc_url = config.chain.rpc_url.clone();
    let chain_id = ProviderBuilder::new()
        .connect_http(rpc_url.clone())
        .get_chain_id()
        .await
        .map_err(|source| CommandError::ChainId {
            rpc_url: rpc_url.to_string(),
            source,
        })?;
    Ok(RecordOwner {
        chain_id,
        task_manager: config.chain.task_manager,
        public_key,
    })
}
