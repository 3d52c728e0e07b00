//! Revert data as people read it: a custom error of any Warden contract by its name and
//! arguments (`ChallengeWindowNotOver { taskId: 3, deadline: 45 }`) instead of the node's
//! `custom error 0xe9d7929c: …`.

use alloy::sol_types::SolInterface;

use crate::WardenRegistry::WardenRegistryErrors;
use crate::WardenVault::WardenVaultErrors;
use crate::challenges::WardenChallenges::WardenChallengesErrors;
use crate::input_source::UniswapV2InputSource::UniswapV2InputSourceErrors;
use crate::restitution::WardenRestitution::WardenRestitutionErrors;
use crate::rewards::WardenRewards::WardenRewardsErrors;
use crate::task_manager::WardenTaskManager::WardenTaskManagerErrors;

/// The custom error `data` carries, named with its arguments, if a Warden contract declares it.
/// Errors two contracts share a selector with are told apart by the first contract that decodes
/// them, which names the same error.
pub fn describe(data: &[u8]) -> Option<String> {
    fn named<E: SolInterface + std::fmt::Debug>(data: &[u8]) -> Option<String> {
        E::abi_decode(data)
            .ok()
            .map(|error| strip_variant(&format!("{error:?}")))
    }
    named::<WardenTaskManagerErrors>(data)
        .or_else(|| named::<WardenVaultErrors>(data))
        .or_else(|| named::<WardenRegistryErrors>(data))
        .or_else(|| named::<WardenChallengesErrors>(data))
        .or_else(|| named::<WardenRestitutionErrors>(data))
        .or_else(|| named::<WardenRewardsErrors>(data))
        .or_else(|| named::<UniswapV2InputSourceErrors>(data))
}

/// `Variant(Variant { a: 1 })` → `Variant { a: 1 }`: the enum's wrapper repeats the name.
fn strip_variant(debug: &str) -> String {
    match debug.split_once('(') {
        Some((_, inner)) if inner.ends_with(')') => inner[..inner.len() - 1].to_string(),
        _ => debug.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};
    use alloy::sol_types::SolError;

    use super::describe;
    use crate::WardenVault::PriceDeviationTooHigh;
    use crate::task_manager::WardenTaskManager::ChallengeWindowNotOver;

    #[test]
    fn custom_errors_are_named_with_their_arguments() {
        let data = ChallengeWindowNotOver {
            taskId: 3,
            deadline: 45,
        }
        .abi_encode();
        assert_eq!(
            describe(&data).as_deref(),
            Some("ChallengeWindowNotOver { taskId: 3, deadline: 45 }")
        );
        let data = PriceDeviationTooHigh {
            spot: U256::from(2_100u64),
            twap: U256::from(2_000u64),
            maxDeviationBps: 100,
        }
        .abi_encode();
        let described = describe(&data).unwrap();
        assert!(
            described.starts_with("PriceDeviationTooHigh {") && described.contains("2100"),
            "{described}"
        );
    }

    #[test]
    fn unknown_data_is_not_described() {
        assert_eq!(describe(&[]), None);
        assert_eq!(describe(&[0xde, 0xad, 0xbe, 0xef]), None);
        assert_eq!(describe(Address::ZERO.as_slice()), None);
    }
}
