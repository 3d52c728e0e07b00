//! The agent's input snapshot and output action, with the canonical encodings operators sign
//! (`inputHash`, `outputHash`) and the contracts decode (`contracts/src/agent/AgentTypes.sol`).

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol;
use alloy::sol_types::{SolType, SolValue, sol_data};

/// `(uint8 kind, address target, uint256 value, bytes data)`, the action's ABI type.
type ActionTuple = (
    sol_data::Uint<8>,
    sol_data::Address,
    sol_data::Uint<256>,
    sol_data::Bytes,
);

sol! {
    /// The on-chain input snapshot a task is opened with (`AgentTypes.sol`'s `AgentInput`).
    ///
    /// Its canonical encoding is `abi.encode(input)` (a one-element tuple holding the struct, so
    /// it starts with the offset word `0x20`), and `inputHash = keccak256(abi.encode(input))`.
    #[derive(Debug, PartialEq, Eq, Default)]
    struct AgentInput {
        /// Whose balances these are; the recipient of any swap.
        address vault;
        /// The token priced by `priceHistory` and `twapPrice` (e.g. a wrapped-ether-like token).
        address tokenBase;
        /// The token prices are expressed in (e.g. a dollar token).
        address tokenQuote;
        /// The Uniswap v2 pair's reserve of `tokenBase` at the snapshot: what a trade's size is
        /// capped by. One block can move it, so no price is read from the reserves.
        uint112 reserveBase;
        /// The Uniswap v2 pair's reserve of `tokenQuote` at the snapshot.
        uint112 reserveQuote;
        /// The vault's balance of `tokenBase` at the snapshot.
        uint256 balanceBase;
        /// The vault's balance of `tokenQuote` at the snapshot.
        uint256 balanceQuote;
        /// Time-weighted average prices of successive intervals between the input source's
        /// observations, quote per base, 1e18 fixed point, oldest first.
        uint256[] priceHistory;
        /// The time-weighted average price over the whole history's window, quote per base,
        /// 1e18 fixed point (0: no price): the minimum output and the vault's stake bound use it.
        uint256 twapPrice;
        /// Block timestamp of the snapshot.
        uint64 timestamp;
    }
}

impl AgentInput {
    /// The canonical encoding, `abi.encode(input)`.
    pub fn encode(&self) -> Bytes {
        self.abi_encode().into()
    }

    /// Decodes `abi.encode(input)`, refusing any encoding that is not the canonical one (dirty
    /// padding, unusual offsets, trailing bytes): two encodings of one snapshot would otherwise
    /// hash to two different `inputHash`es.
    pub fn decode(encoded: &[u8]) -> Result<Self, DecodeError> {
        let input = <Self as SolValue>::abi_decode_validate(encoded).map_err(DecodeError::Abi)?;
        // The decoder tolerates trailing bytes; re-encoding catches every other deviation too.
        if input.abi_encode() != encoded {
            return Err(DecodeError::NonCanonical);
        }
        Ok(input)
    }

    /// `keccak256(abi.encode(input))`: the `inputHash` operators sign.
    pub fn input_hash(&self) -> B256 {
        keccak256(self.abi_encode())
    }
}

/// What an action does: the first word of its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ActionKind {
    /// Do nothing this tick.
    Hold = 0,
    /// Spend quote token for base token.
    Buy = 1,
    /// Spend base token for quote token.
    Sell = 2,
}

impl ActionKind {
    /// The kind's code in the encoding (`AgentActions.HOLD/BUY/SELL`).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The kind with code `code`, if it is one.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Hold),
            1 => Some(Self::Buy),
            2 => Some(Self::Sell),
            _ => None,
        }
    }
}

/// An agent's decision: a call the vault makes (`target.call{value}(data)`), or nothing.
///
/// Canonical encoding: `abi.encode(uint8 kind, address target, uint256 value, bytes data)`;
/// `outputHash = keccak256(encoding)`. A hold is always `(0, address(0), 0, "")`, so there is
/// exactly one encoding of "do nothing".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Action {
    /// What the call does, for the vault's policy and for humans.
    pub kind: ActionKind,
    /// The contract the vault calls (zero for a hold).
    pub target: Address,
    /// Wei the vault sends with the call.
    pub value: U256,
    /// The calldata.
    pub data: Bytes,
}

impl Action {
    /// The one hold action.
    pub const fn hold() -> Self {
        Self {
            kind: ActionKind::Hold,
            target: Address::ZERO,
            value: U256::ZERO,
            data: Bytes::new(),
        }
    }

    /// Whether this is a hold.
    pub fn is_hold(&self) -> bool {
        self.kind == ActionKind::Hold
    }

    /// The canonical encoding, `abi.encode(uint8 kind, address target, uint256 value, bytes data)`.
    pub fn encode(&self) -> Bytes {
        ActionTuple::abi_encode_params(&(
            self.kind.code(),
            self.target,
            self.value,
            self.data.clone(),
        ))
        .into()
    }

    /// `keccak256(encode())`: the `outputHash` operators sign.
    pub fn output_hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// Decodes a canonical encoding. Refuses non-canonical bytes, unknown kinds and a hold that
    /// is not exactly `(0, address(0), 0, "")`, so that decode ∘ encode is the identity and
    /// every accepted output has a single hash.
    pub fn decode(encoded: &[u8]) -> Result<Self, DecodeError> {
        let (code, target, value, data) =
            ActionTuple::abi_decode_params_validate(encoded).map_err(DecodeError::Abi)?;
        let kind = ActionKind::from_code(code).ok_or(DecodeError::UnknownActionKind(code))?;
        let action = Self {
            kind,
            target,
            value,
            data,
        };
        if kind == ActionKind::Hold && action != Self::hold() {
            return Err(DecodeError::NonCanonicalHold);
        }
        if action.encode().as_ref() != encoded {
            return Err(DecodeError::NonCanonical);
        }
        Ok(action)
    }
}

/// Bytes that are not the canonical encoding of an input or an action.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not a canonical ABI encoding of the expected type.
    #[error("not a canonical ABI encoding: {0}")]
    Abi(#[source] alloy::sol_types::Error),
    /// Decodable, but not the one canonical encoding (e.g. trailing bytes).
    #[error("not the canonical encoding")]
    NonCanonical,
    /// The action's kind is not hold (0), buy (1) or sell (2).
    #[error("unknown action kind {0}")]
    UnknownActionKind(u8),
    /// A hold must be `(0, address(0), 0, "")`.
    #[error("a hold action must have zero target, zero value and empty data")]
    NonCanonicalHold,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AgentInput {
        AgentInput {
            vault: Address::repeat_byte(1),
            tokenBase: Address::repeat_byte(2),
            tokenQuote: Address::repeat_byte(3),
            reserveBase: alloy::primitives::aliases::U112::from(10u64),
            reserveQuote: alloy::primitives::aliases::U112::from(20u64),
            balanceBase: U256::from(5u64),
            balanceQuote: U256::from(6u64),
            priceHistory: vec![U256::from(7u64); 16],
            twapPrice: U256::from(7u64),
            timestamp: 99,
        }
    }

    #[test]
    fn input_round_trips_and_starts_with_the_tuple_offset() {
        let input = input();
        let encoded = input.encode();
        assert_eq!(
            &encoded[..32],
            U256::from(32u64).to_be_bytes::<32>().as_slice()
        );
        assert_eq!(AgentInput::decode(&encoded).unwrap(), input);
        assert_eq!(input.input_hash(), keccak256(&encoded));
    }

    #[test]
    fn input_decode_refuses_dirty_padding_and_trailing_bytes() {
        let encoded = input().encode().to_vec();
        let mut dirty = encoded.clone();
        // The high byte of the vault address word must be zero.
        dirty[32] = 1;
        assert!(AgentInput::decode(&dirty).is_err());
        let mut long = encoded;
        long.extend_from_slice(&[0u8; 32]);
        assert!(AgentInput::decode(&long).is_err());
    }

    #[test]
    fn hold_encoding_is_fixed() {
        let encoded = Action::hold().encode();
        // kind, target, value, offset of data (0x80), length of data (0).
        let mut expected = vec![0u8; 5 * 32];
        expected[3 * 32 + 31] = 0x80;
        assert_eq!(encoded.as_ref(), expected.as_slice());
        assert_eq!(Action::decode(&encoded).unwrap(), Action::hold());
    }

    #[test]
    fn action_decode_refuses_unknown_kind_and_non_canonical_hold() {
        let bogus = ActionTuple::abi_encode_params(&(3u8, Address::ZERO, U256::ZERO, Bytes::new()));
        assert!(matches!(
            Action::decode(&bogus),
            Err(DecodeError::UnknownActionKind(3))
        ));
        let hold_with_data = ActionTuple::abi_encode_params(&(
            0u8,
            Address::ZERO,
            U256::ZERO,
            Bytes::from(vec![1u8]),
        ));
        assert!(matches!(
            Action::decode(&hold_with_data),
            Err(DecodeError::NonCanonicalHold)
        ));
        let mut long = Action::hold().encode().to_vec();
        long.extend_from_slice(&[0u8; 32]);
        assert!(matches!(
            Action::decode(&long),
            Err(DecodeError::NonCanonical)
        ));
        let swap = Action {
            kind: ActionKind::Sell,
            target: Address::repeat_byte(9),
            value: U256::ZERO,
            data: Bytes::from(vec![1u8, 2, 3]),
        };
        assert_eq!(Action::decode(&swap.encode()).unwrap(), swap);
    }
}
