//! Where Warden is: the EigenLayer deployment it joins and the deployment file `warden avs deploy`
//! writes.
//!
//! The deployment file is how every later step finds Warden's contracts on a chain whose
//! EigenLayer someone else deployed: `warden-operator register` and `status`, `warden vault
//! create` and `status`, and the services' `[chain] deployment`. It is plain JSON
//! ([`DeploymentFile`]), tagged with a format so that a file from another version is refused
//! by name rather than misread.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// The core contracts Warden reads or calls, by their proxies' addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreAddresses {
    pub delegation_manager: Address,
    pub strategy_manager: Address,
    pub allocation_manager: Address,
    pub permission_controller: Address,
    pub rewards_coordinator: Address,
    pub eigen_pod_manager: Address,
    /// Not deployed by the devnet (Warden uses operator sets, not the AVS directory's
    /// registrations); public networks have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avs_directory: Option<Address>,
}

impl CoreAddresses {
    /// Every contract, by name.
    pub fn named(&self) -> Vec<(&'static str, Address)> {
        let mut named = vec![
            ("DelegationManager", self.delegation_manager),
            ("StrategyManager", self.strategy_manager),
            ("AllocationManager", self.allocation_manager),
            ("PermissionController", self.permission_controller),
            ("RewardsCoordinator", self.rewards_coordinator),
            ("EigenPodManager", self.eigen_pod_manager),
        ];
        if let Some(avs_directory) = self.avs_directory {
            named.push(("AVSDirectory", avs_directory));
        }
        named
    }

    /// The contracts whose `version()` decides whether Warden can use the core: those its
    /// registry and registration call, which carry `SemVerMixin` in every supported release.
    pub fn versioned(&self) -> [(&'static str, Address); 4] {
        [
            ("AllocationManager", self.allocation_manager),
            ("DelegationManager", self.delegation_manager),
            ("StrategyManager", self.strategy_manager),
            ("PermissionController", self.permission_controller),
        ]
    }
}

/// One EigenLayer deployment: where its core is, on which chain, at which published release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EigenLayerNetwork {
    /// `mainnet`, `sepolia`, `hoodi`, or a file's own name.
    pub name: String,
    pub chain_id: u64,
    /// The release EigenLayer publishes for the deployment (its contracts' `version()` is what
    /// is checked).
    pub release: String,
    pub contracts: CoreAddresses,
}

impl EigenLayerNetwork {
    /// A deployment described by a JSON file of this shape (for a chain the address book does
    /// not cover).
    pub fn from_file(path: &Path) -> Result<Self, DeploymentFileError> {
        read_json(
            path,
            "an EigenLayer deployment file (JSON: name, chain_id, release, contracts)",
        )
    }
}

/// Warden's contracts, as `warden avs deploy` leaves them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvsContracts {
    /// The AVS identity in EigenLayer and the registrar of Warden's operator set.
    pub registry: Address,
    pub operator_set_id: u32,
    /// The strategies whose slashable stake makes an operator's weight.
    pub strategies: Vec<Address>,
    /// The only source of agent verifiers the task manager accepts.
    pub verifier_factory: Address,
    /// What the services follow (`[chain] task_manager`).
    pub task_manager: Address,
    /// Challenges, bounties and slashing; the registry's slasher.
    pub challenges: Address,
    /// Repays robbed vaults from slashed stake; the operator set's redistribution recipient.
    pub restitution: Address,
    /// Pays task fees to signers through EigenLayer's RewardsCoordinator.
    pub rewards: Address,
}

/// The tag of the deployment file's format.
pub const DEPLOYMENT_FORMAT: &str = "warden-deployment/1";

/// `deployment.json`: Warden's contracts on an EigenLayer deployment, and where to start reading
/// the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentFile {
    /// [`DEPLOYMENT_FORMAT`].
    pub format: String,
    pub chain_id: u64,
    /// The block of Warden's first contract. Nothing of Warden's is older, so a service with no
    /// record of its own starts reading here, and needs no archive node.
    pub deployed_at_block: u64,
    /// The key that deployed Warden and owns its registry.
    pub deployer: Address,
    /// The AVS metadata URI announced to EigenLayer.
    pub metadata_uri: String,
    pub eigenlayer: EigenLayerNetwork,
    pub warden: AvsContracts,
}

impl DeploymentFile {
    /// Reads and checks a deployment file: the format must be this version's.
    pub fn read(path: &Path) -> Result<Self, DeploymentFileError> {
        let file: Self = read_json(path, "a Warden deployment file")?;
        if file.format != DEPLOYMENT_FORMAT {
            return Err(DeploymentFileError::Format {
                path: path.to_path_buf(),
                found: file.format,
            });
        }
        Ok(file)
    }

    /// Writes the file (pretty JSON), never over an existing one: a deployment's record is not
    /// replaced by accident.
    pub fn write_new(&self, path: &Path) -> Result<(), DeploymentFileError> {
        use std::io::Write as _;
        let io = |source| DeploymentFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let json = serde_json::to_string_pretty(self).map_err(|source| {
            DeploymentFileError::Malformed {
                path: path.to_path_buf(),
                what: "a Warden deployment file",
                source,
            }
        })?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io)?;
        file.write_all(json.as_bytes()).map_err(io)?;
        file.write_all(b"\n").map_err(io)
    }

    /// Whether `provider` serves what this file describes: its chain, and its task manager on an
    /// EigenLayer core of a release this Warden reads. What every command that takes a deployment
    /// file checks before it reads or sends anything else.
    pub async fn check<P: alloy::providers::Provider>(
        &self,
        provider: &P,
    ) -> Result<(), DeploymentFileError> {
        let actual = provider
            .get_chain_id()
            .await
            .map_err(|error| DeploymentFileError::Rpc(error.to_string()))?;
        if actual != self.chain_id {
            return Err(DeploymentFileError::ChainMismatch {
                expected: self.chain_id,
                actual,
            });
        }
        warden_bindings::core_release::check_task_manager_core(provider, self.warden.task_manager)
            .await?;
        Ok(())
    }
}

/// Why a deployment file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not {what}: {source}")]
    Malformed {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{path} is a deployment file of format {found:?}; this Warden reads {DEPLOYMENT_FORMAT:?}"
    )]
    Format { path: PathBuf, found: String },
    #[error(
        "the deployment file describes chain {expected}, and the RPC endpoint serves chain {actual}: wrong file or wrong --rpc-url"
    )]
    ChainMismatch { expected: u64, actual: u64 },
    #[error("RPC request failed: {0}")]
    Rpc(String),
    #[error(transparent)]
    Release(#[from] warden_bindings::core_release::ReleaseError),
}

fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &'static str,
) -> Result<T, DeploymentFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| DeploymentFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| DeploymentFileError::Malformed {
        path: path.to_path_buf(),
        what,
        source,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn sample() -> DeploymentFile {
        let address = |byte| Address::repeat_byte(byte);
        DeploymentFile {
            format: DEPLOYMENT_FORMAT.into(),
            chain_id: 560_048,
            deployed_at_block: 1_234,
            deployer: address(1),
            metadata_uri: "https://example.org/warden.json".into(),
            eigenlayer: EigenLayerNetwork {
                name: "hoodi".into(),
                chain_id: 560_048,
                release: "v1.9.0-rc.0".into(),
                contracts: CoreAddresses {
                    delegation_manager: address(2),
                    strategy_manager: address(3),
                    allocation_manager: address(4),
                    permission_controller: address(5),
                    rewards_coordinator: address(6),
                    eigen_pod_manager: address(7),
                    avs_directory: None,
                },
            },
            warden: AvsContracts {
                registry: address(8),
                operator_set_id: 0,
                strategies: vec![address(9)],
                verifier_factory: address(10),
                task_manager: address(11),
                challenges: address(12),
                restitution: address(13),
                rewards: address(14),
            },
        }
    }

    #[test]
    fn a_deployment_file_round_trips_and_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployment.json");
        sample().write_new(&path).unwrap();
        assert_eq!(DeploymentFile::read(&path).unwrap(), sample());
        let error = sample().write_new(&path).unwrap_err();
        assert!(
            matches!(&error, DeploymentFileError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists),
            "{error}"
        );
    }

    #[test]
    fn a_service_takes_its_task_manager_and_start_block_from_the_deployment_file() {
        use crate::config::{ChainConfig, ConfigError};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployment.json");
        sample().write_new(&path).unwrap();
        let chain = |task_manager, deployment: Option<PathBuf>| ChainConfig {
            rpc_url: "http://127.0.0.1:8545".parse().unwrap(),
            fallback_rpc_urls: Vec::new(),
            task_manager,
            deployment,
            deployed_at_block: 0,
            poll_interval_ms: 1_000,
            rpc_attempts: 5,
        };
        let named = sample().warden.task_manager;
        for given in [Address::ZERO, named] {
            let mut config = chain(given, Some(path.clone()));
            config.resolve_deployment().unwrap();
            assert_eq!(config.task_manager, named);
            assert_eq!(config.deployed_at_block, 1_234);
            config.validate().unwrap();
        }

        let mut other = chain(Address::repeat_byte(0x99), Some(path.clone()));
        match other.resolve_deployment() {
            Err(ConfigError::Invalid { key, reason }) => {
                assert_eq!(key, "chain.task_manager");
                assert!(reason.contains(&named.to_string()), "{reason}");
            }
            result => panic!("another task manager taken: {result:?}"),
        }
        let mut missing = chain(Address::ZERO, Some(dir.path().join("absent.json")));
        assert!(matches!(
            missing.resolve_deployment(),
            Err(ConfigError::Invalid {
                key: "chain.deployment",
                ..
            })
        ));
        let mut neither = chain(Address::ZERO, None);
        neither.resolve_deployment().unwrap();
        match neither.validate() {
            Err(ConfigError::Invalid { key, reason }) => {
                assert_eq!(key, "chain.task_manager");
                assert!(reason.contains("chain.deployment"), "{reason}");
            }
            result => panic!("a chain without a task manager accepted: {result:?}"),
        }
    }

    #[test]
    fn another_format_and_unknown_fields_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployment.json");
        let mut file = sample();
        file.format = "warden-deployment/2".into();
        file.write_new(&path).unwrap();
        let error = DeploymentFile::read(&path).unwrap_err().to_string();
        assert!(error.contains("warden-deployment/2"), "{error}");

        let typo = serde_json::to_string(&sample())
            .unwrap()
            .replace("\"task_manager\"", "\"task_manger\"");
        let path = dir.path().join("typo.json");
        std::fs::write(&path, typo).unwrap();
        let error = DeploymentFile::read(&path).unwrap_err().to_string();
        assert!(error.contains("task_manger"), "{error}");
    }
}
