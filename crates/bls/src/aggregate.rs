//! Aggregation and batch verification.
//!
//! Aggregating public keys is only sound for keys whose holders proved possession at registration
//! (see [`crate::SecretKey::prove_possession`]); the registry enforces that before a key can take
//! part in a quorum.

use blst::{BLST_ERROR, MultiPoint, blst_p1_affine, blst_p2_affine, blst_scalar, min_pk};
use rand::{CryptoRng, RngCore};

use crate::{BlsError, DST, PublicKey, Signature, UncheckedSignature};

/// One entry of a batch: a signature, the message it claims to sign, and the signer's key.
pub type BatchItem<'a> = (&'a Signature, &'a [u8], &'a PublicKey);

/// Bits of randomness per signature in [`verify_batch`]: a batch containing an invalid signature
/// passes with probability at most 2^-64, the margin Ethereum consensus clients use.
const BATCH_RANDOM_BITS: usize = 64;

/// Sums signatures. The result is a valid signature on a message `m` by the sum of the signers'
/// public keys whenever each input signs `m`.
///
/// Errors on empty input, and on the (only adversarially reachable) case of the sum being the point
/// at infinity.
pub fn aggregate_signatures(signatures: &[&Signature]) -> Result<Signature, BlsError> {
    AggregateSignature::aggregate(signatures)
}

/// Sums public keys, with batched affine additions (one field inversion for the batch, not one
/// per key); see the module documentation for when that is sound.
///
/// Errors on empty input, and if the sum is the point at infinity (the identity key verifies
/// the identity signature on every message, so it must never be accepted).
pub fn aggregate_public_keys(public_keys: &[&PublicKey]) -> Result<PublicKey, BlsError> {
    if public_keys.is_empty() {
        return Err(BlsError::EmptyInput {
            what: "public key aggregation",
        });
    }
    not_at_infinity(affine_sum(public_keys))
}

/// Checks `signature` is an aggregate signature on `msg` by all of `public_keys` (each signer signed
/// the same message).
pub fn fast_aggregate_verify(
    signature: &Signature,
    msg: &[u8],
    public_keys: &[&PublicKey],
) -> Result<(), BlsError> {
    let aggregate = aggregate_public_keys(public_keys)?;
    signature.verify(msg, &aggregate)
}

/// Checks every `(signature, message, public key)` in `items` at once, which costs roughly one
/// pairing per item plus one, instead of two per item.
///
/// Each signature is weighted by an independent random 64-bit scalar from `rng`, so that invalid
/// signatures cannot be crafted to cancel each other out; a batch containing any invalid signature
/// fails except with probability 2^-64. `Ok` means every item is valid; on `Err`, at least one is
/// invalid and [`find_invalid`] says which. Messages may repeat.
///
/// An empty batch is an error rather than a vacuous success, so that a caller which lost its items
/// does not mistake that for a verified quorum.
pub fn verify_batch<R: RngCore + CryptoRng>(
    items: &[BatchItem<'_>],
    mut rng: R,
) -> Result<(), BlsError> {
    match items {
        [] => Err(BlsError::EmptyInput {
            what: "batch verification",
        }),
        // Randomisation buys nothing for one signature.
        [(signature, msg, public_key)] => signature.verify(msg, public_key),
        _ => {
            let mut signatures = Vec::with_capacity(items.len());
            let mut msgs = Vec::with_capacity(items.len());
            let mut public_keys = Vec::with_capacity(items.len());
            let mut scalars = Vec::with_capacity(items.len());
            for &(signature, msg, public_key) in items {
                signatures.push(signature.as_blst());
                msgs.push(msg);
                public_keys.push(public_key.as_blst());
                scalars.push(random_scalar(&mut rng));
            }
            // Points were validated on construction, so blst's per-point checks are skipped.
            match min_pk::Signature::verify_multiple_aggregate_signatures(
                &msgs,
                DST,
                &public_keys,
                false,
                &signatures,
                false,
                &scalars,
                BATCH_RANDOM_BITS,
            ) {
                BLST_ERROR::BLST_SUCCESS => Ok(()),
                _ => Err(BlsError::VerificationFailed),
            }
        }
    }
}

/// One signer of a message the whole batch shares: its signature as received and its public key.
pub type Signer<'a> = (&'a UncheckedSignature, &'a PublicKey);

/// Checks that every signature in `signers` is its key's signature on the one message `msg`, for
/// two pairings, two 64-bit multi-scalar multiplications and one subgroup check whatever the
/// batch size (against two pairings and a subgroup check per signature checked alone).
///
/// Each signature and its key are weighted by the same independent random 64-bit scalar `r_i`, and
/// `e(Σ r_i·σ_i, g1) = e(H(msg), Σ r_i·pk_i)` is checked. Without the weights, two invalid
/// signatures could be crafted to cancel out (`σ_a + δ`, `σ_b − δ`) by anyone who saw the genuine
/// ones; with them, a batch holding any signature whose prime-order part is wrong passes with
/// probability at most 2^-64. So `Ok` vouches for each signature on its own, not only for their
/// sum.
///
/// The signatures are not subgroup-checked one by one: the weighted sum is. A signature that
/// carries a small-order component on top of the genuine signature (which takes knowing the
/// genuine one) slips through when its weight is a multiple of that order (at best 1 in 13);
/// such a point never reaches the chain, because every aggregate is subgroup-checked again
/// before it is used ([`AggregateSignature::to_signature`]).
///
/// An empty batch is an error, as in [`verify_batch`].
pub fn verify_same_message<R: RngCore + CryptoRng>(
    msg: &[u8],
    signers: &[Signer<'_>],
    mut rng: R,
) -> Result<(), BlsError> {
    let (signature_sum, key_sum) = match signers {
        [] => {
            return Err(BlsError::EmptyInput {
                what: "batch verification",
            });
        }
        [(signature, public_key)] => (*signature.as_blst(), *public_key.as_blst()),
        _ => {
            let mut signatures = Vec::with_capacity(signers.len());
            let mut public_keys = Vec::with_capacity(signers.len());
            let mut scalars = Vec::with_capacity(signers.len() * BATCH_RANDOM_BITS / 8);
            for (signature, public_key) in signers {
                signatures.push(blst_p2_affine::from(*signature.as_blst()));
                public_keys.push(blst_p1_affine::from(*public_key.as_blst()));
                scalars.extend_from_slice(&random_u64(&mut rng).to_le_bytes());
            }
            let signature_sum = min_pk::AggregateSignature::from(
                signatures.as_slice().mult(&scalars, BATCH_RANDOM_BITS),
            )
            .to_signature();
            let key_sum = min_pk::AggregatePublicKey::from(
                public_keys.as_slice().mult(&scalars, BATCH_RANDOM_BITS),
            )
            .to_public_key();
            (signature_sum, key_sum)
        }
    };
    check_sum(msg, signature_sum, &key_sum).map(|_| ())
}

/// Checks `e(σ, g1) = e(H(msg), pk)` for a signature sum and a key sum, and returns the signature
/// sum. The key sum is a sum of subgroup points; the signature sum is subgroup-checked here, and a
/// sum at infinity fails the check.
fn check_sum(
    msg: &[u8],
    signature_sum: min_pk::Signature,
    key_sum: &min_pk::PublicKey,
) -> Result<Signature, BlsError> {
    match signature_sum.verify(true, msg, DST, &[], key_sum, false) {
        BLST_ERROR::BLST_SUCCESS => Ok(Signature::from_blst_unchecked(signature_sum)),
        _ => Err(BlsError::VerificationFailed),
    }
}

/// Checks that the signatures in `signers` sum to a valid signature on `msg` by the sum of their
/// keys, and returns that sum: `FastAggregateVerify` over signatures as received, for one batched
/// addition per signature and per key (no scalar multiplication), one subgroup check and two
/// pairings.
///
/// `Ok` vouches for the sum, not for each signature. Anyone who saw genuine signatures can move a
/// component between signers of one batch (`σ_a + δ`, `σ_b − δ`) without changing the sum. What
/// no one can do, because every key proved possession of its secret at registration, is make a
/// sum verify that counts a key whose holder did not sign `msg`: that is the unforgeability of
/// aggregate signatures the on-chain check rests on too. A caller must therefore use the batch as
/// a unit, every signature of it counted or none, or check a signature on its own
/// ([`verify_same_message`]) before using it alone. Keys must be distinct: a key listed twice is
/// counted twice.
///
/// An empty batch is an error, as in [`verify_batch`].
pub fn verify_sum_same_message(msg: &[u8], signers: &[Signer<'_>]) -> Result<Signature, BlsError> {
    let (signatures, public_keys): (Vec<&UncheckedSignature>, Vec<&PublicKey>) =
        signers.iter().copied().unzip();
    let key_sum = match public_keys.as_slice() {
        [one] => **one,
        keys => aggregate_public_keys(keys)?,
    };
    verify_sum_with_key_sum(msg, &signatures, &key_sum)
}

/// [`verify_sum_same_message`] with the signers' key sum given, for a caller that can form it more
/// cheaply than by adding every key (see [`subtract_public_keys`]). `Ok` says the signatures sum to
/// a valid signature on `msg` by `key_sum`; that `key_sum` is the sum of the signers' distinct keys
/// is the caller's to ensure, and one that is not makes a genuine batch fail, never a forged one
/// pass (it would take a forgery for the wrong sum's holders).
pub fn verify_sum_with_key_sum(
    msg: &[u8],
    signatures: &[&UncheckedSignature],
    key_sum: &PublicKey,
) -> Result<Signature, BlsError> {
    let signature_sum = match signatures {
        [] => {
            return Err(BlsError::EmptyInput {
                what: "batch verification",
            });
        }
        [one] => *one.as_blst(),
        _ => {
            let points: Vec<blst_p2_affine> = signatures
                .iter()
                .map(|signature| blst_p2_affine::from(*signature.as_blst()))
                .collect();
            // Batched affine additions (one inversion per batch, not per point).
            min_pk::AggregateSignature::from(points.as_slice().add()).to_signature()
        }
    };
    check_sum(msg, signature_sum, key_sum.as_blst())
}

/// `total` less the sum of `excluded`: the key sum of a set's members other than `excluded`, when
/// `total` is the sum of the whole set. Costs one batched addition per excluded key and a
/// negation, so for a batch signed by most of a set it replaces summing the signers' keys with
/// summing the few keys left out. Errors if the result is the point at infinity.
pub fn subtract_public_keys(
    total: &PublicKey,
    excluded: &[&PublicKey],
) -> Result<PublicKey, BlsError> {
    if excluded.is_empty() {
        return Ok(*total);
    }
    let excluded_sum = affine_sum(excluded);
    let Some(negated) = negate_g1(&excluded_sum)? else {
        // The excluded keys sum to the identity: nothing to take away.
        return Ok(*total);
    };
    let mut sum = min_pk::AggregatePublicKey::from_public_key(total.as_blst());
    // Infallible without validation: both points are subgroup points already.
    let _ = sum.add_public_key(&negated, false);
    not_at_infinity(sum.to_public_key())
}

/// The sum of `public_keys` (at least one), possibly the point at infinity.
fn affine_sum(public_keys: &[&PublicKey]) -> min_pk::PublicKey {
    let points: Vec<blst_p1_affine> = public_keys
        .iter()
        .map(|public_key| blst_p1_affine::from(*public_key.as_blst()))
        .collect();
    min_pk::AggregatePublicKey::from(points.as_slice().add()).to_public_key()
}

fn not_at_infinity(public_key: min_pk::PublicKey) -> Result<PublicKey, BlsError> {
    if is_compressed_infinity(public_key.compress()[0]) {
        return Err(BlsError::PointAtInfinity {
            what: "aggregate public key",
        });
    }
    Ok(PublicKey::from_blst_unchecked(public_key))
}

/// The BLS12-381 base field modulus p, big-endian.
const FIELD_MODULUS: [u8; 48] = [
    0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x9a, 0x4b, 0x1b, 0xa7, 0xb6, 0x43, 0x4b, 0xac, 0xd7,
    0x64, 0x77, 0x4b, 0x84, 0xf3, 0x85, 0x12, 0xbf, 0x67, 0x30, 0xd2, 0xa0, 0xf6, 0xb0, 0xf6, 0x24,
    0x1e, 0xab, 0xff, 0xfe, 0xb1, 0x53, 0xff, 0xff, 0xb9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xab,
];

/// −P = (x, p − y), `None` for the point at infinity. blst's safe API has no negation, and its
/// unsafe one is off limits here, so the point goes through its 96-byte uncompressed encoding
/// (big-endian x then y; the flag bits live in x's first byte) and back, which re-checks the curve
/// equation: about two microseconds.
fn negate_g1(point: &min_pk::PublicKey) -> Result<Option<min_pk::PublicKey>, BlsError> {
    let mut encoded = point.serialize();
    if is_compressed_infinity(encoded[0]) {
        return Ok(None);
    }
    let y = &mut encoded[48..];
    // p − y, byte by byte from the least significant end; 0 < y < p for a point off infinity.
    let mut borrow = 0u16;
    for (digit, modulus) in y.iter_mut().zip(FIELD_MODULUS).rev() {
        let difference = u16::from(modulus)
            .wrapping_sub(u16::from(*digit))
            .wrapping_sub(borrow);
        *digit = difference as u8;
        borrow = (difference >> 8) & 1;
    }
    min_pk::PublicKey::deserialize(&encoded)
        .map(Some)
        .map_err(|error| BlsError::from_blst(error, "negated public key"))
}

/// Indices (ascending) of the invalid signatures in `signers`, all over `msg`; empty if all are
/// valid. Bisects with [`verify_same_message`], as [`find_invalid`] does with [`verify_batch`].
pub fn find_invalid_signers<R: RngCore + CryptoRng>(
    msg: &[u8],
    signers: &[Signer<'_>],
    mut rng: R,
) -> Vec<usize> {
    let mut invalid = Vec::new();
    bisect(
        signers,
        0,
        false,
        &mut |range: &[Signer<'_>]| verify_same_message(msg, range, &mut rng).is_ok(),
        &mut invalid,
    );
    invalid
}

/// Indices (ascending) of the invalid items in `items`; empty if all are valid.
///
/// Bisects with [`verify_batch`], so `k` bad items among `n` cost about `k·log2(n)` batch checks,
/// which is far cheaper than verifying each item alone when most are valid. The final verdict on
/// each reported index comes from a plain, deterministic verification. The batch weights come from
/// the operating system's RNG; [`find_invalid_with_rng`] takes a caller's.
pub fn find_invalid(items: &[BatchItem<'_>]) -> Vec<usize> {
    find_invalid_with_rng(items, rand::rngs::OsRng)
}

/// [`find_invalid`] with the batch weights drawn from `rng`.
pub fn find_invalid_with_rng<R: RngCore + CryptoRng>(
    items: &[BatchItem<'_>],
    mut rng: R,
) -> Vec<usize> {
    let mut invalid = Vec::new();
    bisect(
        items,
        0,
        false,
        &mut |range: &[BatchItem<'_>]| verify_batch(range, &mut rng).is_ok(),
        &mut invalid,
    );
    invalid
}

/// Collects the invalid items of `items` (whose first index is `offset`) with `check`, which says
/// whether a range is all valid; a single item's verdict comes from `check` on it alone, which is
/// a plain deterministic verification for both batch kinds. `known_bad` records that the caller
/// already established this range contains an invalid item, which saves re-checking it.
fn bisect<T>(
    items: &[T],
    offset: usize,
    known_bad: bool,
    check: &mut impl FnMut(&[T]) -> bool,
    invalid: &mut Vec<usize>,
) {
    if items.len() == 1 {
        if !check(items) {
            invalid.push(offset);
        }
        return;
    }
    if items.is_empty() || (!known_bad && check(items)) {
        return;
    }
    // This range is now known to hold an invalid item: a batch of valid items always passes.
    let (left, right) = items.split_at(items.len() / 2);
    let found_before = invalid.len();
    bisect(left, offset, false, check, invalid);
    // With the left half clean, the invalid item is on the right; no need to check it as a whole.
    let right_known_bad = invalid.len() == found_before;
    bisect(right, offset + left.len(), right_known_bad, check, invalid);
}

/// A uniformly random non-zero 64-bit value: a zero weight would drop its signature from the
/// check.
fn random_u64<R: RngCore>(rng: &mut R) -> u64 {
    let mut value = 0u64;
    while value == 0 {
        value = rng.next_u64();
    }
    value
}

/// [`random_u64`] as a blst scalar.
fn random_scalar<R: RngCore>(rng: &mut R) -> blst_scalar {
    let mut scalar = blst_scalar::default();
    // blst scalars are little-endian; only the low `BATCH_RANDOM_BITS` bits are read.
    scalar.b[..8].copy_from_slice(&random_u64(rng).to_le_bytes());
    scalar
}

/// Incremental signature aggregation, for collecting signatures as they arrive.
#[derive(Debug, Clone, Default)]
pub struct AggregateSignature {
    sum: Option<min_pk::AggregateSignature>,
    count: usize,
    /// Whether an [`UncheckedSignature`] went in: the sum is then subgroup-checked on the way
    /// out.
    unchecked: bool,
}

impl AggregateSignature {
    /// An empty aggregate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sums `signatures` in one go; see [`aggregate_signatures`].
    pub fn aggregate(signatures: &[&Signature]) -> Result<Signature, BlsError> {
        let mut aggregate = Self::new();
        for signature in signatures {
            aggregate.add(signature);
        }
        aggregate.to_signature()
    }

    /// Adds one signature.
    pub fn add(&mut self, signature: &Signature) {
        self.add_point(signature.as_blst());
    }

    /// Adds a signature whose subgroup membership is not known; [`Self::to_signature`] then
    /// checks the sum's.
    pub fn add_unchecked(&mut self, signature: &UncheckedSignature) {
        self.unchecked = true;
        self.add_point(signature.as_blst());
    }

    fn add_point(&mut self, point: &min_pk::Signature) {
        match &mut self.sum {
            Some(sum) => {
                // Infallible without the group check, which is the caller's (see `unchecked`).
                let _ = sum.add_signature(point, false);
            }
            None => self.sum = Some(min_pk::AggregateSignature::from_signature(point)),
        }
        self.count += 1;
    }

    /// How many signatures were added.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing was added yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The sum so far; errors if nothing was added, if the sum is the point at infinity, or
    /// if an unchecked signature went in and the sum is not in the prime-order subgroup (about
    /// 55 µs to find out).
    pub fn to_signature(&self) -> Result<Signature, BlsError> {
        let sum = self.sum.as_ref().ok_or(BlsError::EmptyInput {
            what: "signature aggregation",
        })?;
        let signature = sum.to_signature();
        if self.unchecked {
            return signature
                .validate(true)
                .map(|()| Signature::from_blst_unchecked(signature))
                .map_err(|error| BlsError::from_blst(error, "aggregate signature"));
        }
        if is_compressed_infinity(signature.compress()[0]) {
            return Err(BlsError::PointAtInfinity {
                what: "aggregate signature",
            });
        }
        // A sum of subgroup points stays in the subgroup.
        Ok(Signature::from_blst_unchecked(signature))
    }
}

/// Incremental public-key aggregation.
#[derive(Debug, Clone, Default)]
pub struct AggregatePublicKey {
    sum: Option<min_pk::AggregatePublicKey>,
    count: usize,
}

impl AggregatePublicKey {
    /// An empty aggregate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sums `public_keys` in one go; see [`aggregate_public_keys`].
    pub fn aggregate(public_keys: &[&PublicKey]) -> Result<PublicKey, BlsError> {
        let mut aggregate = Self::new();
        for public_key in public_keys {
            aggregate.add(public_key);
        }
        aggregate.to_public_key()
    }

    /// Adds one public key.
    pub fn add(&mut self, public_key: &PublicKey) {
        match &mut self.sum {
            Some(sum) => {
                // Infallible without validation, which the `PublicKey` type already did.
                let _ = sum.add_public_key(public_key.as_blst(), false);
            }
            None => {
                self.sum = Some(min_pk::AggregatePublicKey::from_public_key(
                    public_key.as_blst(),
                ));
            }
        }
        self.count += 1;
    }

    /// How many keys were added.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing was added yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The sum so far; errors if nothing was added or the sum is the point at infinity.
    pub fn to_public_key(&self) -> Result<PublicKey, BlsError> {
        let sum = self.sum.as_ref().ok_or(BlsError::EmptyInput {
            what: "public key aggregation",
        })?;
        not_at_infinity(sum.to_public_key())
    }
}

/// blst marks the point at infinity with bit 0x40 of the first byte in every encoding.
fn is_compressed_infinity(first_byte: u8) -> bool {
    first_byte & 0x40 != 0
}
