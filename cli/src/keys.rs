//! `warden keys`: create an operator's keystores.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use eyre::WrapErr;
use warden_keys::{KeystorePaths, OperatorKeys, Password, ScryptParams};

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Generate a fresh ECDSA key and BLS12-381 key, encrypted under one password, as
    /// `ecdsa.json` (Web3 Secret Storage) and `bls.json` (EIP-2335) in DIR, each readable by its
    /// owner only (mode 0600). Refuses to overwrite.
    New {
        /// Directory for the two keystores.
        dir: PathBuf,
        /// File holding the password (one line). Alternatively set WARDEN_KEYSTORE_PASSWORD.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Add a fresh BLS12-381 key to DIR, which holds an EigenLayer operator's existing ECDSA key
    /// as `ecdsa.json` (Web3 Secret Storage): writes `bls.json` (EIP-2335, mode 0600) encrypted
    /// under the same password, after checking that `ecdsa.json` opens with it. Refuses to
    /// overwrite.
    NewBls {
        /// Directory holding `ecdsa.json`.
        dir: PathBuf,
        /// File holding the password (one line). Alternatively set WARDEN_KEYSTORE_PASSWORD.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Generate a fresh ECDSA key as one Web3 Secret Storage keystore at FILE (mode 0600), for a
    /// key that only sends transactions: a deployer (`warden avs deploy`), a vault owner
    /// (`warden vault create`), an aggregator or a challenger. Prints its address, to fund.
    /// Refuses to overwrite.
    NewAccount {
        /// The keystore file to write.
        file: PathBuf,
        /// File holding the password (one line). Alternatively set WARDEN_KEYSTORE_PASSWORD.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

/// Decrypts an account's Web3 Secret Storage keystore with the password from `password_file`, or
/// from WARDEN_KEYSTORE_PASSWORD (key derivation runs off the async workers).
pub async fn unlock_account(
    keystore: &std::path::Path,
    password_file: Option<&std::path::Path>,
) -> eyre::Result<alloy::signers::local::PrivateKeySigner> {
    let password =
        Password::from_file_or_env(password_file).wrap_err("reading the keystore password")?;
    let path = keystore.to_path_buf();
    tokio::task::spawn_blocking(move || warden_keys::ecdsa::load(&path, &password))
        .await?
        .wrap_err_with(|| format!("decrypting {}", keystore.display()))
}

pub fn run(args: KeysArgs) -> eyre::Result<()> {
    match args.command {
        KeysCommand::New { dir, password_file } => {
            let password = Password::from_file_or_env(password_file.as_deref())
                .wrap_err("reading the keystore password")?;
            std::fs::create_dir_all(&dir)
                .wrap_err_with(|| format!("creating {}", dir.display()))?;
            let paths = KeystorePaths::in_dir(&dir);
            let keys = OperatorKeys::generate(
                &paths,
                &password,
                ScryptParams::default(),
                &mut rand::thread_rng(),
            )
            .wrap_err("creating the keystores")?;
            println!("operator address: {}", keys.address());
            println!("BLS public key:   {}", keys.bls.public_key());
            println!(
                "keystores:        {} and {}",
                paths.ecdsa.display(),
                paths.bls.display()
            );
            Ok(())
        }
        KeysCommand::NewBls { dir, password_file } => {
            let password = Password::from_file_or_env(password_file.as_deref())
                .wrap_err("reading the keystore password")?;
            let paths = KeystorePaths::in_dir(&dir);
            let keys = OperatorKeys::add_bls(
                &paths,
                &password,
                ScryptParams::default(),
                &mut rand::thread_rng(),
            )
            .wrap_err_with(|| format!("adding a BLS key to {}", dir.display()))?;
            println!("operator address: {}", keys.address());
            println!("BLS public key:   {}", keys.bls.public_key());
            println!("keystore:         {}", paths.bls.display());
            Ok(())
        }
        KeysCommand::NewAccount {
            file,
            password_file,
        } => {
            let password = Password::from_file_or_env(password_file.as_deref())
                .wrap_err("reading the keystore password")?;
            let signer = warden_keys::ecdsa::create(&file, &password, &mut rand::thread_rng())
                .wrap_err("creating the keystore")?;
            println!("address:  {}", signer.address());
            println!("keystore: {}", file.display());
            Ok(())
        }
    }
}
