//! `warden`: run a local Warden network, manage operator keys, and export what the forge tests
//! need.

use clap::Parser;
use eyre::WrapErr;
use warden_cli::{Cli, Command, deploy, devnet, keys};

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    warden_runtime::init_logging(
        "info,alloy=warn,eigen_client_elcontracts=warn,hyper=warn,reqwest=warn",
    );
    match cli.command {
        Command::Devnet(args) => devnet::run(args).await,
        Command::Deploy(args) => deploy::run(args).await,
        Command::Keys(args) => keys::run(args),
        Command::EigenlayerArtifacts { out } => export_eigenlayer_artifacts(&out),
    }
}

fn export_eigenlayer_artifacts(out: &std::path::Path) -> eyre::Result<()> {
    std::fs::create_dir_all(out).wrap_err_with(|| format!("creating {}", out.display()))?;
    for (name, bytecode) in warden_devnet::eigenlayer::creation_bytecodes() {
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
        warden_devnet::eigenlayer::VERSION_LABEL,
        out.display()
    );
    Ok(())
}
