//! Properties of the Rust agent on arbitrary inputs: nothing panics, every result is in range,
//! and every encoding round-trips.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::aliases::U112;
use alloy::primitives::{Address, U256};
use proptest::prelude::*;
use warden_agent::features::features;
use warden_agent::{Action, Agent, AgentInput, Model, reference_agent};

fn u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        Just(U256::MAX),
        any::<u64>().prop_map(U256::from),
        any::<[u64; 4]>().prop_map(U256::from_limbs),
    ]
}

fn input() -> impl Strategy<Value = AgentInput> {
    (
        any::<[u8; 20]>(),
        any::<u128>(),
        any::<u128>(),
        u256(),
        u256(),
        prop::collection::vec(u256(), 16..40),
        any::<u64>(),
    )
        .prop_map(
            |(vault, reserve_base, reserve_quote, base, quote, history, timestamp)| AgentInput {
                vault: Address::from(vault),
                tokenBase: Address::repeat_byte(0xba),
                tokenQuote: Address::repeat_byte(0x0c),
                reserveBase: U112::from(reserve_base >> 16),
                reserveQuote: U112::from(reserve_quote >> 16),
                balanceBase: base,
                balanceQuote: quote,
                priceHistory: history,
                twapPrice: U256::from(reserve_quote),
                timestamp,
            },
        )
}

proptest! {
    #[test]
    fn features_are_total_and_in_range(input in input()) {
        let f = features(&input).unwrap();
        prop_assert!(f.iter().all(|&v| (-127..=127).contains(&v)));
        // The volatility feature is a magnitude.
        prop_assert!(f[7] >= 0);
    }

    #[test]
    fn reference_agent_decides_every_input_and_the_action_round_trips(input in input()) {
        let agent = reference_agent(Address::repeat_byte(0x11)).unwrap();
        let action = agent.decide(&input).unwrap();
        prop_assert_eq!(Action::decode(&action.encode()).unwrap(), action);
        prop_assert_eq!(AgentInput::decode(&input.encode()).unwrap(), input);
    }

    #[test]
    fn model_parsing_never_panics_and_accepted_bytes_round_trip(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        header in any::<bool>(),
    ) {
        // Half the time with a plausible header, so parsing gets past the first checks.
        let mut bytes = bytes;
        if header && bytes.len() >= 9 {
            let hidden = bytes[7] % 8 + 1;
            bytes[..9].copy_from_slice(&[b'W', b'M', b'L', b'P', 1, 2, 9, hidden, 3]);
        }
        if let Ok(model) = Model::from_bytes(&bytes) {
            prop_assert_eq!(model.to_bytes(), bytes);
        }
    }
}
