//! `warden`: run a local Warden network, manage operator keys, and export what the forge tests
//! need.

use clap::Parser;
use eyre::WrapErr;
use warden_cli::{Command, avs, deploy, devnet, keys, model, vault};

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let command = Command::parse();
    warden_runtime::init_logging(default_log_filter(&command));
    match command {
        Command::Devnet(args) => devnet::run(args).await,
        Command::Deploy(args) => deploy::run(args).await,
        Command::Avs(args) => avs::run(args).await,
        Command::Vault(args) => vault::run(args).await,
        Command::Keys(args) => keys::run(args),
        Command::Model(args) => model::run(args),
        Command::EigenlayerArtifacts { out } => export_eigenlayer_artifacts(&out),
    }
}

/// What is logged unless `RUST_LOG` says otherwise. The devnet runs every service in this
/// process: their INFO logs would bury the one line per task event and the result table it
/// prints, so it logs warnings only (`RUST_LOG=info` brings the detail back).
fn default_log_filter(command: &Command) -> &'static str {
    match command {
        Command::Devnet(_) => "warn",
        _ => "info,alloy=warn,eigen_client_elcontracts=warn,hyper=warn,reqwest=warn",
    }
}

fn export_eigenlayer_artifacts(out: &std::path::Path) -> eyre::Result<()> {
    std::fs::create_dir_all(out).wrap_err_with(|| format!("creating {}", out.display()))?;
    for (name, bytecode) in warden_deployer::eigenlayer::creation_bytecodes() {
        let path = out.join(format!("{name}.hex"));
        let hex = format!("0x{}", alloy::hex::encode(bytecode));
        // Rewrite only on change, so forge's cache is not invalidated for nothing.
        if std::fs::read_to_string(&path).is_ok_and(|existing| existing == hex) {
            continue;
        }
        std::fs::write(&path, hex).wrap_err_with(|| format!("writing {}", path.display()))?;
    }
    println!(
        "EigenLayer {} bytecode written to {}",
        warden_deployer::eigenlayer::VERSION_LABEL,
        out.display()
    );
    Ok(())
}
