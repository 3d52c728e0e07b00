//! Which agents a service works for: the agent hashes it accepts and, optionally, the runtime
//! code its verifier must have. An operator signs, and an aggregator collects and commits, only
//! for agents that pass; anything else is somebody else's agent, whose signatures would be
//! evidence before a judge the service never looked at.
//!
//! The task manager already accepts only verifiers from its verifier factory, which binds a
//! verifier's behaviour to its agent hash for good; the code-hash list lets a service pin the
//! exact bytecode it audited on top of that.

use std::collections::HashMap;

use alloy::primitives::{Address, B256, keccak256};
use alloy::providers::Provider;
use alloy::transports::TransportError;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// The allowlist section of a service's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentAllowlist {
    /// Agent hashes accepted. What an empty list means is the service's default: an operator
    /// accepts the agent it runs (the reference agent), an aggregator its keeper agents'.
    #[serde(default)]
    pub agent_hashes: Vec<B256>,
    /// keccak256 of the runtime code an agent's verifier must have. Empty: not checked.
    #[serde(default)]
    pub verifier_code_hashes: Vec<B256>,
}

impl AgentAllowlist {
    /// Whether `agent_hash` is listed, or, with an empty list, is one of `defaults`.
    pub fn accepts_hash(&self, agent_hash: B256, defaults: &[B256]) -> bool {
        if self.agent_hashes.is_empty() {
            defaults.contains(&agent_hash)
        } else {
            self.agent_hashes.contains(&agent_hash)
        }
    }
}

/// Checks verifiers against an allowlist's code hashes, reading each verifier's code once: a
/// registered agent's verifier never changes, and neither does its code.
#[derive(Debug, Default)]
pub struct VerifierCheck {
    allowlist: AgentAllowlist,
    known: Mutex<HashMap<Address, bool>>,
}

impl VerifierCheck {
    pub fn new(allowlist: AgentAllowlist) -> Self {
        Self {
            allowlist,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The allowlist checked against.
    pub fn allowlist(&self) -> &AgentAllowlist {
        &self.allowlist
    }

    /// Whether `verifier`'s runtime code hash is accepted (always, with no code hashes listed).
    pub async fn accepts<P: Provider>(
        &self,
        provider: &P,
        verifier: Address,
    ) -> Result<bool, TransportError> {
        if self.allowlist.verifier_code_hashes.is_empty() {
            return Ok(true);
        }
        if let Some(&accepted) = self.known.lock().await.get(&verifier) {
            return Ok(accepted);
        }
        let code = provider.get_code_at(verifier).await?;
        let accepted = self
            .allowlist
            .verifier_code_hashes
            .contains(&keccak256(&code));
        self.known.lock().await.insert(verifier, accepted);
        Ok(accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_means_the_defaults() {
        let own = B256::repeat_byte(1);
        let other = B256::repeat_byte(2);
        let empty = AgentAllowlist::default();
        assert!(empty.accepts_hash(own, &[own]));
        assert!(!empty.accepts_hash(other, &[own]));
        let listed = AgentAllowlist {
            agent_hashes: vec![other],
            ..AgentAllowlist::default()
        };
        assert!(listed.accepts_hash(other, &[own]));
        assert!(
            !listed.accepts_hash(own, &[own]),
            "a list replaces the defaults"
        );
    }
}
