//! The EigenLayer deployments Warden can join, and the check that a chain's core is one Warden's
//! EigenLayer interfaces were written for.
//!
//! Which releases Warden's EigenLayer interfaces speak to is
//! [`warden_bindings::core_release`]'s to say; [`check_core`] applies it to a whole deployment
//! before anything is sent.
//!
//! The addresses are EigenLayer's published deployments: `README.md`, section "Deployments", of
//! github.com/Layr-Labs/eigenlayer-contracts at commit f84a51510 ("ci: fix binding failure
//! (#1752)"), the proxies of the core contracts (an upgrade keeps the proxy's address).

use alloy::primitives::address;
use alloy::providers::Provider;
use warden_bindings::core_release::{CoreVersion, ReleaseError, supported_release};
pub use warden_runtime::deployment::{CoreAddresses, EigenLayerNetwork};

use crate::eigenlayer::EigenLayerContracts;

impl From<&EigenLayerContracts> for CoreAddresses {
    fn from(contracts: &EigenLayerContracts) -> Self {
        Self {
            delegation_manager: contracts.delegation_manager,
            strategy_manager: contracts.strategy_manager,
            allocation_manager: contracts.allocation_manager,
            permission_controller: contracts.permission_controller,
            rewards_coordinator: contracts.rewards_coordinator,
            eigen_pod_manager: contracts.eigen_pod_manager,
            avs_directory: None,
        }
    }
}

/// The public deployments in the address book, by name.
pub fn known_networks() -> Vec<EigenLayerNetwork> {
    vec![
        EigenLayerNetwork {
            name: "mainnet".into(),
            chain_id: 1,
            release: "v1.12.0".into(),
            contracts: CoreAddresses {
                delegation_manager: address!("0x39053D51B77DC0d36036Fc1fCc8Cb819df8Ef37A"),
                strategy_manager: address!("0x858646372CC42E1A627fcE94aa7A7033e7CF075A"),
                allocation_manager: address!("0x948a420b8CC1d6BFd0B6087C2E7c344a2CD0bc39"),
                permission_controller: address!("0x25E5F8B1E7aDf44518d35D5B2271f114e081f0E5"),
                rewards_coordinator: address!("0x7750d328b314EfFa365A0402CcfD489B80B0adda"),
                eigen_pod_manager: address!("0x91E677b07F7AF907ec9a428aafA9fc14a0d3A338"),
                avs_directory: Some(address!("0x135dda560e946695d6f155dacafc6f1f25c1f5af")),
            },
        },
        EigenLayerNetwork {
            name: "sepolia".into(),
            chain_id: 11_155_111,
            release: "v1.9.0-rc.0".into(),
            contracts: CoreAddresses {
                delegation_manager: address!("0xD4A7E1Bd8015057293f0D0A557088c286942e84b"),
                strategy_manager: address!("0x2E3D6c0744b10eb0A4e6F679F71554a39Ec47a5D"),
                allocation_manager: address!("0x42583067658071247ec8CE0A516A58f682002d07"),
                permission_controller: address!("0x44632dfBdCb6D3E21EF613B0ca8A6A0c618F5a37"),
                rewards_coordinator: address!("0x5ae8152fb88c26ff9ca5C014c94fca3c68029349"),
                eigen_pod_manager: address!("0x56BfEb94879F4543E756d26103976c567256034a"),
                avs_directory: Some(address!("0xa789c91ECDdae96865913130B786140Ee17aF545")),
            },
        },
        EigenLayerNetwork {
            name: "hoodi".into(),
            chain_id: 560_048,
            release: "v1.9.0-rc.0".into(),
            contracts: CoreAddresses {
                delegation_manager: address!("0x867837a9722C512e0862d8c2E15b8bE220E8b87d"),
                strategy_manager: address!("0xeE45e76ddbEDdA2918b8C7E3035cd37Eab3b5D41"),
                allocation_manager: address!("0x95a7431400F362F3647a69535C5666cA0133CAA0"),
                permission_controller: address!("0xdcCF401fD121d8C542E96BC1d0078884422aFAD2"),
                rewards_coordinator: address!("0x29e8572678e0c272350aa0b4B8f304E47EBcd5e7"),
                eigen_pod_manager: address!("0xcd1442415Fc5C29Aa848A49d2e232720BE07976c"),
                avs_directory: Some(address!("0xD58f6844f79eB1fbd9f7091d05f7cb30d3363926")),
            },
        },
    ]
}

/// The deployment named `name` in the address book.
pub fn network(name: &str) -> Option<EigenLayerNetwork> {
    known_networks()
        .into_iter()
        .find(|network| network.name == name)
}

/// Why a deployment could not be found.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("no EigenLayer deployment named {0:?} in the address book; known: {known}", known = known_names())]
    Unknown(String),
    #[error(transparent)]
    File(#[from] warden_runtime::deployment::DeploymentFileError),
}

fn known_names() -> String {
    known_networks()
        .iter()
        .map(|network| network.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The deployment named `name` in the address book, or an error listing the known ones.
pub fn named(name: &str) -> Result<EigenLayerNetwork, NetworkError> {
    network(name).ok_or_else(|| NetworkError::Unknown(name.to_owned()))
}

/// Why a chain's EigenLayer core cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CoreCheckError {
    #[error(
        "the RPC endpoint serves chain {actual}, and the {network} EigenLayer deployment is on chain {expected}: wrong --network or --rpc-url"
    )]
    ChainMismatch {
        network: String,
        expected: u64,
        actual: u64,
    },
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
}

/// What [`check_core`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreCheck {
    pub chain_id: u64,
    /// Each versioned contract's release.
    pub versions: Vec<(&'static str, CoreVersion)>,
}

/// Checks, with reads only, that `provider`'s chain holds `network`'s EigenLayer core in a release
/// Warden can use: the chain id is the network's, every contract has code, and the contracts
/// Warden calls report a supported `version()`.
pub async fn check_core<P: Provider>(
    provider: &P,
    network: &EigenLayerNetwork,
) -> Result<CoreCheck, CoreCheckError> {
    let chain_id = provider.get_chain_id().await?;
    if network.chain_id != chain_id {
        return Err(CoreCheckError::ChainMismatch {
            network: network.name.clone(),
            expected: network.chain_id,
            actual: chain_id,
        });
    }
    for (contract, address) in network.contracts.named() {
        if provider.get_code_at(address).await?.is_empty() {
            return Err(ReleaseError::NoCode { contract, address }.into());
        }
    }
    let mut versions = Vec::new();
    for (contract, address) in network.contracts.versioned() {
        versions.push((
            contract,
            supported_release(provider, contract, address).await?,
        ));
    }
    Ok(CoreCheck { chain_id, versions })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_address_book_names_each_network_once_with_distinct_contracts() {
        let networks = known_networks();
        let names: HashSet<_> = networks.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names.len(), networks.len());
        let chains: HashSet<_> = networks.iter().map(|n| n.chain_id).collect();
        assert_eq!(chains.len(), networks.len());
        for network in &networks {
            let addresses: HashSet<_> = network.contracts.named().iter().map(|(_, a)| *a).collect();
            assert_eq!(addresses.len(), 7, "{}", network.name);
            assert!(
                !addresses.contains(&alloy::primitives::Address::ZERO),
                "{}",
                network.name
            );
            assert!(CoreVersion::parse(&network.release).is_some());
        }
        assert_eq!(network("hoodi").unwrap().chain_id, 560_048);
        assert_eq!(network("holesky"), None);
    }

    #[test]
    fn a_network_file_round_trips_and_refuses_unknown_fields() {
        let hoodi = network("hoodi").unwrap();
        let json = serde_json::to_string(&hoodi).unwrap();
        assert_eq!(
            serde_json::from_str::<EigenLayerNetwork>(&json).unwrap(),
            hoodi
        );
        let typo = json.replace("\"allocation_manager\"", "\"allocation_manger\"");
        let error = serde_json::from_str::<EigenLayerNetwork>(&typo).unwrap_err();
        assert!(error.to_string().contains("allocation_manger"), "{error}");
    }
}
