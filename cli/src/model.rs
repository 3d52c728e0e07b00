//! `warden model`: generate a large agent's model file and inspect one.

use std::path::PathBuf;

use alloy::primitives::Address;
use clap::{Args, Subcommand, ValueEnum};
use eyre::WrapErr;
use warden_agent::Params;
use warden_agent::network::Network;
use warden_agent::network_agent::{Preset, network_agent_hash};

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

/// The shapes `generate` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum PresetName {
    /// 256 → 1024 → 1024 (residual) → 512 → 3, 32 neurons a chunk: 1.84 M parameters.
    Large,
    /// 256 → 2048 → 2048 → 2048 (both residual) → 512 → 3, 16 neurons a chunk: 9.97 M parameters.
    #[value(name = "10m")]
    TenMillion,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Write a large agent's WNET model file: a preset shape whose weights are drawn from a fixed
    /// seed (randomly initialised, not trained), so every machine writes the same bytes. Prints
    /// the network hash and, with --router, the agent hash of the reference parameters.
    Generate {
        /// The shape.
        #[arg(long, value_enum, default_value = "large")]
        preset: PresetName,
        /// Where to write the file. Refuses to overwrite a different file.
        #[arg(long)]
        out: PathBuf,
        /// The Uniswap v2 router the agent trades through, for its agent hash.
        #[arg(long)]
        router: Option<Address>,
    },
    /// Check a WNET model file and print its shape, parameter count and hashes; a malformed file
    /// is refused with the first problem named.
    Inspect {
        /// The model file.
        file: PathBuf,
        /// The Uniswap v2 router the agent trades through, for its agent hash.
        #[arg(long)]
        router: Option<Address>,
    },
}

pub fn run(args: ModelArgs) -> eyre::Result<()> {
    match args.command {
        ModelCommand::Generate {
            preset,
            out,
            router,
        } => {
            let preset = match preset {
                PresetName::Large => Preset::Large,
                PresetName::TenMillion => Preset::TenMillion,
            };
            let network = preset
                .generate()
                .wrap_err_with(|| format!("generating the {} preset", preset.name()))?;
            match std::fs::read(&out) {
                Ok(existing) if existing == network.as_bytes() => {}
                Ok(_) => eyre::bail!(
                    "{} exists and holds another model; not overwriting it",
                    out.display()
                ),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::write(&out, network.as_bytes())
                        .wrap_err_with(|| format!("writing {}", out.display()))?;
                }
                Err(error) => {
                    return Err(error).wrap_err_with(|| format!("reading {}", out.display()));
                }
            }
            describe(&network, router);
            println!("file:           {}", out.display());
            Ok(())
        }
        ModelCommand::Inspect { file, router } => {
            let bytes =
                std::fs::read(&file).wrap_err_with(|| format!("reading {}", file.display()))?;
            let network = Network::from_bytes(bytes)
                .wrap_err_with(|| format!("{} is not a valid WNET v1 model", file.display()))?;
            describe(&network, router);
            Ok(())
        }
    }
}

fn describe(network: &Network, router: Option<Address>) {
    let widths: Vec<String> = std::iter::once(network.input_width())
        .chain(network.layers().iter().map(|shape| shape.outputs))
        .map(|width| width.to_string())
        .collect();
    let chunks = network.chunk_count();
    println!("shape:          {}", widths.join(" → "));
    println!("parameters:     {}", network.parameters());
    println!(
        "chunks:         {chunks} of up to {} neurons (the trace's length)",
        network.chunk_rows()
    );
    println!("weights root:   {}", network.weights_root());
    println!("network hash:   {}", network.hash());
    if let Some(router) = router {
        let hash = network_agent_hash(network.hash(), &Params::reference(router));
        println!("agent hash:     {hash} (reference parameters, router {router})");
    }
}
