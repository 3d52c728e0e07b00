//! How values are written to columns that both SQLite and PostgreSQL read the same way: hashes
//! and bytes as 0x-prefixed lowercase hex, block numbers and ids as BIGINT.

use std::str::FromStr;

use alloy::primitives::{Address, B256, Bytes, U256};

/// A stored value that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("column {column}: {reason}")]
pub struct EncodingError {
    pub column: &'static str,
    pub reason: String,
}

pub(crate) fn b256(column: &'static str, text: &str) -> Result<B256, EncodingError> {
    B256::from_str(text).map_err(|e| EncodingError {
        column,
        reason: format!("{text:?} is not a 32-byte hex string: {e}"),
    })
}

pub(crate) fn bytes(column: &'static str, text: &str) -> Result<Bytes, EncodingError> {
    Bytes::from_str(text).map_err(|e| EncodingError {
        column,
        reason: format!("not hex: {e}"),
    })
}

pub(crate) fn address(column: &'static str, text: &str) -> Result<Address, EncodingError> {
    Address::from_str(text).map_err(|e| EncodingError {
        column,
        reason: format!("{text:?} is not an address: {e}"),
    })
}

pub(crate) fn u256(column: &'static str, text: &str) -> Result<U256, EncodingError> {
    U256::from_str(text).map_err(|e| EncodingError {
        column,
        reason: format!("{text:?} is not a number: {e}"),
    })
}

/// A block number or id for a BIGINT column. Ethereum's never come near `i64::MAX`; one that
/// did would be refused rather than wrapped.
pub(crate) fn int(column: &'static str, value: u64) -> Result<i64, EncodingError> {
    i64::try_from(value).map_err(|_| EncodingError {
        column,
        reason: format!("{value} does not fit a BIGINT"),
    })
}

pub(crate) fn uint(column: &'static str, value: i64) -> Result<u64, EncodingError> {
    u64::try_from(value).map_err(|_| EncodingError {
        column,
        reason: format!("{value} is negative"),
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    format!("0x{}", alloy::hex::encode(bytes))
}

/// An activation trace (its chunk hashes in order) as the hex of their concatenation: `0x` for
/// the empty trace of an agent that keeps none.
pub(crate) fn trace_hex(trace: &[B256]) -> String {
    hex(&trace.iter().flat_map(|hash| hash.0).collect::<Vec<u8>>())
}

/// The trace [`trace_hex`] wrote.
pub(crate) fn trace(column: &'static str, text: &str) -> Result<Vec<B256>, EncodingError> {
    let concatenated = bytes(column, text)?;
    if !concatenated.len().is_multiple_of(32) {
        return Err(EncodingError {
            column,
            reason: format!(
                "{} bytes is not a whole number of 32-byte chunk hashes",
                concatenated.len()
            ),
        });
    }
    Ok(concatenated
        .chunks_exact(32)
        .map(B256::from_slice)
        .collect())
}

/// Declares an enum kept in a TEXT column, each variant beside the text that stores it, so the
/// two directions (`as_str` for binding, `parse` for reading) cannot drift apart. `parse` names
/// the column and what the value should have been when a row holds an unknown text.
///
/// ```text
/// text_enum! {
///     /// Where a claim stands.
///     pub enum ClaimState (column "state", "claim state") {
///         /// Found wrong.
///         Challenging = "challenging",
///     }
/// }
/// ```
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident (column $column:literal, $what:literal) {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// The text the column stores for this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }

            /// The value a column's text stores.
            pub(crate) fn parse(text: &str) -> Result<Self, $crate::encoding::EncodingError> {
                match text {
                    $( $text => Ok(Self::$variant), )+
                    other => Err($crate::encoding::EncodingError {
                        column: $column,
                        reason: format!(concat!("unknown ", $what, " {:?}"), other),
                    }),
                }
            }
        }
    };
}

pub(crate) use text_enum;
