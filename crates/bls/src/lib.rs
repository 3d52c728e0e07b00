//! BLS12-381 signatures for Warden, on top of [`blst`].
//!
//! Warden uses the "minimal-pubkey-size" variant: public keys are G1 points (48 bytes compressed,
//! 128 bytes in EIP-2537 form) and signatures are G2 points (96 bytes compressed, 256 bytes in
//! EIP-2537 form). Every signature is made and checked with the single ciphersuite [`DST`], because
//! that is the hash-to-G2 the on-chain verifier implements with the EIP-2537 precompiles.
//!
//! # Invariants
//!
//! A [`PublicKey`] or [`Signature`] value is always a valid, non-identity point of the prime-order
//! subgroup: every constructor that takes bytes checks the encoding, the curve equation, subgroup
//! membership and rejects the point at infinity, and every constructor that computes a point
//! (signing, aggregation) either cannot produce a bad one or refuses to. Verification therefore
//! never repeats those checks, and a caller holding one of these types never needs to.
//!
//! An [`UncheckedSignature`] is the exception, and says so in its name: a point of the curve,
//! not the point at infinity, whose subgroup membership is not known. Verifiers of many
//! signatures take it so that the subgroup check is done once on a sum rather than once per
//! signature; every function that takes one checks the sums it verifies.
//!
//! # Example
//!
//! ```
//! use warden_bls::{SecretKey, aggregate_signatures, fast_aggregate_verify};
//!
//! let mut rng = rand::thread_rng();
//! let alice = SecretKey::random(&mut rng);
//! let bob = SecretKey::random(&mut rng);
//! let digest = [0x42u8; 32];
//!
//! let signature = aggregate_signatures(&[&alice.sign(&digest), &bob.sign(&digest)])?;
//! fast_aggregate_verify(&signature, &digest, &[&alice.public_key(), &bob.public_key()])?;
//!
//! // What the on-chain verifier receives.
//! let _pk_bytes: [u8; 128] = alice.public_key().to_eip2537();
//! let _sig_bytes: [u8; 256] = signature.to_eip2537();
//! # Ok::<(), warden_bls::BlsError>(())
//! ```
//!
//! # Modules
//!
//! - [`SecretKey`], [`PublicKey`], [`Signature`]: keys, signing, verification, proof of possession.
//! - [`aggregate`]: aggregation, fast-aggregate verification, randomised batch verification.
//! - [`eip2537`]: the byte layouts the EIP-2537 precompiles use.
//!
//! Keystores, passwords and key loading live in `warden-keys`: this crate is only the
//! cryptography.

mod error;
mod keys;

pub mod aggregate;
pub mod eip2537;

pub use aggregate::{
    AggregatePublicKey, AggregateSignature, BatchItem, Signer, aggregate_public_keys,
    aggregate_signatures, fast_aggregate_verify, find_invalid, find_invalid_signers,
    find_invalid_with_rng, subtract_public_keys, verify_batch, verify_same_message,
    verify_sum_same_message, verify_sum_with_key_sum,
};
pub use error::BlsError;
pub use keys::{PublicKey, SecretKey, Signature, UncheckedSignature};

/// The domain separation tag for every Warden signature: hash-to-G2 with SHA-256 and SSWU, "NUL"
/// (basic) scheme.
///
/// This is deliberately not the `_POP_` tag Ethereum's consensus layer uses: the on-chain verifier
/// hashes messages to G2 with exactly this tag, and proofs of possession are separated from task
/// signatures by their message contents instead (see [`SecretKey::prove_possession`]).
pub const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_";

/// Length of a serialised secret key (a big-endian scalar).
pub const SECRET_KEY_LEN: usize = 32;
/// Length of a compressed public key (G1).
pub const PUBLIC_KEY_COMPRESSED_LEN: usize = 48;
/// Length of a compressed signature (G2).
pub const SIGNATURE_COMPRESSED_LEN: usize = 96;
/// Length of an uncompressed signature (G2): cheaper to parse than the compressed form.
pub const SIGNATURE_UNCOMPRESSED_LEN: usize = 192;
