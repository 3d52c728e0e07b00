use blst::BLST_ERROR;

/// Why a BLS operation or decoding failed.
///
/// `what` fields name the object being decoded ("public key", "signature", ...) so that a log line
/// alone says which input was bad.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BlsError {
    /// The input has the wrong number of bytes.
    #[error("invalid {what} length: expected {expected} bytes, got {actual}")]
    InvalidLength {
        /// What was being decoded.
        what: &'static str,
        /// The only accepted length.
        expected: usize,
        /// The length received.
        actual: usize,
    },

    /// The input is not valid hex.
    #[error("invalid hex for {what}: {source}")]
    InvalidHex {
        /// What was being decoded.
        what: &'static str,
        /// The hex decoder's complaint.
        source: hex::FromHexError,
    },

    /// A compressed point has wrong flag bits or a coordinate that is not a canonical field element.
    #[error("invalid {what} encoding (wrong flag bits or non-canonical coordinate)")]
    InvalidEncoding {
        /// What was being decoded.
        what: &'static str,
    },

    /// An EIP-2537 field element has non-zero bytes in its 16-byte padding.
    #[error(
        "invalid {what}: EIP-2537 field elements are 64 bytes whose first 16 bytes must be zero"
    )]
    NonZeroPadding {
        /// What was being decoded.
        what: &'static str,
    },

    /// An EIP-2537 field element is not less than the base field modulus p.
    #[error("invalid {what}: a coordinate is not less than the BLS12-381 field modulus p")]
    FieldElementNotCanonical {
        /// What was being decoded.
        what: &'static str,
    },

    /// The coordinates do not satisfy the curve equation.
    #[error("invalid {what}: the point is not on the BLS12-381 curve")]
    NotOnCurve {
        /// What was being decoded.
        what: &'static str,
    },

    /// The point is on the curve but outside the prime-order subgroup.
    #[error("invalid {what}: the point is not in the prime-order subgroup")]
    NotInSubgroup {
        /// What was being decoded.
        what: &'static str,
    },

    /// The point at infinity, which is never an acceptable key or signature.
    #[error("invalid {what}: the point at infinity is not an acceptable key or signature")]
    PointAtInfinity {
        /// What was being decoded or computed.
        what: &'static str,
    },

    /// A secret key that is zero or not less than the group order r.
    #[error("invalid secret key: it must be non-zero and less than the group order r")]
    InvalidSecretKey,

    /// Key generation was given fewer than 32 bytes of input keying material.
    #[error("key generation needs at least 32 bytes of input keying material, got {0}")]
    IkmTooShort(usize),

    /// The signature does not verify.
    #[error("BLS signature verification failed")]
    VerificationFailed,

    /// An operation that needs at least one input got none.
    #[error("{what} needs at least one input, got none")]
    EmptyInput {
        /// The operation.
        what: &'static str,
    },

    /// blst returned an error this crate does not expect at that call site.
    #[error("unexpected error from the blst library: {0}")]
    Backend(&'static str),
}

impl BlsError {
    /// Translates a blst error met while decoding or validating `what`.
    pub(crate) fn from_blst(err: BLST_ERROR, what: &'static str) -> Self {
        match err {
            BLST_ERROR::BLST_BAD_ENCODING => Self::InvalidEncoding { what },
            BLST_ERROR::BLST_POINT_NOT_ON_CURVE => Self::NotOnCurve { what },
            BLST_ERROR::BLST_POINT_NOT_IN_GROUP => Self::NotInSubgroup { what },
            BLST_ERROR::BLST_PK_IS_INFINITY => Self::PointAtInfinity { what },
            BLST_ERROR::BLST_BAD_SCALAR => Self::InvalidSecretKey,
            BLST_ERROR::BLST_VERIFY_FAIL => Self::VerificationFailed,
            BLST_ERROR::BLST_AGGR_TYPE_MISMATCH => Self::Backend("BLST_AGGR_TYPE_MISMATCH"),
            BLST_ERROR::BLST_SUCCESS => Self::Backend("BLST_SUCCESS reported as an error"),
        }
    }
}
