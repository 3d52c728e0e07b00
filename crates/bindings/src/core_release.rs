//! Which EigenLayer core releases these bindings speak to, and the check every service and command
//! runs before it relies on a core.
//!
//! Warden's registry, registration and slashing call the core through the ABI of release v1.5.0
//! "Redistribution" (redistributable operator sets, `slashOperator` returning the slash id and the
//! slashed shares, an ownerless AllocationManager), as `newton-utils` 2.0.0 ships it (see
//! [`crate::eigenlayer`]); the devnet runs that core.
//!
//! The releases public networks run today (v1.9.0 to v1.12.0) keep every function and struct
//! Warden calls, with the same ABI (checked function by function against the interfaces of
//! eigenlayer-contracts v1.12.0, commit f84a51510; SECURITY.md §11 lists the check):
//! - v1.9.0 moved the AllocationManager's views into an `AllocationManagerView` contract, but the
//!   AllocationManager still declares each of them and forwards the call there, so a view called
//!   on the AllocationManager answers as before;
//! - v1.9.0 gave every operator set one slasher. A set created through the v1 parameters that
//!   Warden's registry sends (`createRedistributingOperatorSets(address, CreateSetParams[],
//!   address[])`, kept as an overload) gets the AVS itself as its slasher, and the registry is
//!   both the AVS and the only caller of `slashOperator`.
//!
//! No registry ships those releases' bytecode, so they are not exercised here; a release after
//! v1.12 is refused until its interfaces are read. Each core contract reports its release through
//! `version()` (EigenLayer's `SemVerMixin`); a core outside the range is refused, naming both.

use std::fmt;

use alloy::primitives::Address;
use alloy::providers::Provider;

use crate::eigenlayer::AllocationManager;
use crate::{WardenRegistry, WardenTaskManager};

/// The releases [`CoreVersion::is_supported`] takes, for messages.
pub const SUPPORTED_RELEASES: &str = "v1.5.0 (Redistribution) to v1.12.x";

/// A core contract's `version()`, read as SemVer: `MAJOR.MINOR[.PATCH][-PRE][+BUILD]`, with an
/// optional leading `v` (EigenLayer's deployments pass either form; the devnet's is
/// `v1.5+redistribution`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// The pre-release, as in `1.9.0-rc.0`.
    pub pre: Option<String>,
    pub raw: String,
}

impl CoreVersion {
    /// The version `raw` names, or `None` if it is not one.
    pub fn parse(raw: &str) -> Option<Self> {
        let text = raw.strip_prefix('v').unwrap_or(raw);
        let text = text
            .split_once('+')
            .map_or(text, |(version, _build)| version);
        let (numbers, pre) = match text.split_once('-') {
            Some((numbers, pre)) if !pre.is_empty() => (numbers, Some(pre.to_owned())),
            Some(_) => return None,
            None => (text, None),
        };
        let mut parts = numbers.split('.');
        let number = |part: Option<&str>| part.and_then(|p| p.parse::<u64>().ok());
        let major = number(parts.next())?;
        let minor = number(parts.next())?;
        let patch = match parts.next() {
            Some(patch) => number(Some(patch))?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            major,
            minor,
            patch,
            pre,
            raw: raw.to_owned(),
        })
    }

    /// Whether Warden's EigenLayer interfaces hold for this release: v1.5.0 (Redistribution) to
    /// v1.12.x. A pre-release counts as its release, which has its ABI.
    pub fn is_supported(&self) -> bool {
        self.major == 1 && (5..=12).contains(&self.minor)
    }
}

impl fmt::Display for CoreVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Why a core contract cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(
        "{contract} at {address} has no code: this chain does not hold what the configuration names (wrong chain, wrong address, or a node that is not synced)"
    )]
    NoCode {
        contract: &'static str,
        address: Address,
    },
    #[error("{contract} at {address} does not answer version(): {reason}")]
    NoVersion {
        contract: &'static str,
        address: Address,
        reason: String,
    },
    #[error(
        "{contract} at {address} reports version {found:?}, which is not a version this build reads"
    )]
    Unreadable {
        contract: &'static str,
        address: Address,
        found: String,
    },
    #[error(
        "{contract} at {address} is EigenLayer {found}; this Warden's EigenLayer interfaces were written for {SUPPORTED_RELEASES}"
    )]
    Unsupported {
        contract: &'static str,
        address: Address,
        found: CoreVersion,
    },
    #[error("reading {what}: {reason}")]
    Read { what: &'static str, reason: String },
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
}

impl ReleaseError {
    /// Whether the node could not be asked at all (no answer, as opposed to an answer that
    /// refuses): the core is then neither known good nor known bad.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Rpc(error) if !error.is_error_resp())
    }

    /// A failed contract call about `what`: the transport's failure as [`ReleaseError::Rpc`], so
    /// that an unreachable node is told apart from a contract that answers wrongly.
    fn call(what: &'static str, error: alloy::contract::Error) -> Self {
        match error {
            alloy::contract::Error::TransportError(error) if !error.is_error_resp() => {
                Self::Rpc(error)
            }
            error => Self::Read {
                what,
                reason: error.to_string(),
            },
        }
    }
}

alloy::sol! {
    #[sol(rpc)]
    interface ISemVerMixin {
        function version() external view returns (string memory);
    }
}

/// `contract`'s release, refused unless it has code and reports a supported `version()`.
pub async fn supported_release<P: Provider>(
    provider: &P,
    contract: &'static str,
    address: Address,
) -> Result<CoreVersion, ReleaseError> {
    if provider.get_code_at(address).await?.is_empty() {
        return Err(ReleaseError::NoCode { contract, address });
    }
    let raw = ISemVerMixin::new(address, provider)
        .version()
        .call()
        .await
        .map_err(|error| match ReleaseError::call("version()", error) {
            ReleaseError::Read { reason, .. } => ReleaseError::NoVersion {
                contract,
                address,
                reason,
            },
            unreachable => unreachable,
        })?;
    let found = CoreVersion::parse(&raw).ok_or_else(|| ReleaseError::Unreadable {
        contract,
        address,
        found: raw.clone(),
    })?;
    if !found.is_supported() {
        return Err(ReleaseError::Unsupported {
            contract,
            address,
            found,
        });
    }
    Ok(found)
}

/// The core behind a deployed task manager, checked: its registry's AllocationManager and that
/// one's DelegationManager must report supported releases. What a service checks at start-up.
pub async fn check_task_manager_core<P: Provider>(
    provider: &P,
    task_manager: Address,
) -> Result<Vec<(&'static str, CoreVersion)>, ReleaseError> {
    if provider.get_code_at(task_manager).await?.is_empty() {
        return Err(ReleaseError::NoCode {
            contract: "WardenTaskManager",
            address: task_manager,
        });
    }
    let read = |what: &'static str| move |error| ReleaseError::call(what, error);
    let registry = WardenTaskManager::new(task_manager, provider)
        .registry()
        .call()
        .await
        .map_err(read("the task manager's registry"))?;
    let allocation_manager = WardenRegistry::new(registry, provider)
        .allocationManager()
        .call()
        .await
        .map_err(read("the registry's AllocationManager"))?;
    let delegation_manager = AllocationManager::new(allocation_manager, provider)
        .delegation()
        .call()
        .await
        .map_err(read("the AllocationManager's DelegationManager"))?;
    let mut releases = Vec::new();
    for (contract, address) in [
        ("AllocationManager", allocation_manager),
        ("DelegationManager", delegation_manager),
    ] {
        releases.push((
            contract,
            supported_release(provider, contract, address).await?,
        ));
    }
    Ok(releases)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn versions_parse_as_semver_with_an_optional_v() {
        let devnet = CoreVersion::parse(crate::eigenlayer::VERSION).unwrap();
        assert_eq!((devnet.major, devnet.minor, devnet.patch), (1, 5, 0));
        assert!(devnet.is_supported(), "the devnet's own core");
        let testnet = CoreVersion::parse("v1.9.0-rc.0").unwrap();
        assert_eq!(testnet.pre.as_deref(), Some("rc.0"));
        assert!(testnet.is_supported(), "Sepolia's and Hoodi's core");
        assert!(
            CoreVersion::parse("1.12.0").unwrap().is_supported(),
            "mainnet's"
        );
        assert!(CoreVersion::parse("1.8.1").unwrap().is_supported());
        assert!(
            !CoreVersion::parse("v1.13.0").unwrap().is_supported(),
            "not read yet"
        );
        assert!(!CoreVersion::parse("1.4.9").unwrap().is_supported());
        assert!(!CoreVersion::parse("2.6.0").unwrap().is_supported());
        for garbage in ["", "v", "1", "1.x.0", "1.2.3.4", "1.2.3-", "one.two"] {
            assert_eq!(CoreVersion::parse(garbage), None, "{garbage:?}");
        }
    }
}
