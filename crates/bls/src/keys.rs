use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use blst::BLST_ERROR;
use blst::min_pk;
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::{
    BlsError, DST, PUBLIC_KEY_COMPRESSED_LEN, SECRET_KEY_LEN, SIGNATURE_COMPRESSED_LEN,
    SIGNATURE_UNCOMPRESSED_LEN, eip2537,
};

const PUBLIC_KEY: &str = "public key";
const SIGNATURE: &str = "signature";
const SECRET_KEY: &str = "secret key";

/// A BLS12-381 secret key: a scalar in `[1, r)`.
///
/// The scalar is wiped from memory when the key is dropped (blst's key type zeroizes itself on
/// drop). There is deliberately no `Clone`, `Display`, `PartialEq` or serde implementation, so that
/// copies of the key and timing-dependent comparisons only happen where the code asks for them
/// explicitly with [`SecretKey::to_bytes`]; share a key between tasks with an `Arc` instead.
pub struct SecretKey(min_pk::SecretKey);

impl SecretKey {
    /// Generates a fresh key from 32 bytes of `rng` output, through the IETF BLS `KeyGen`
    /// (HKDF-based, so the key is uniform in `[1, r)` however the 32 bytes are distributed).
    /// Pass an RNG by value (`OsRng`) or by reference (`&mut rng`).
    pub fn random<R: RngCore + CryptoRng>(mut rng: R) -> Self {
        let mut ikm = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(ikm.as_mut());
        match min_pk::SecretKey::key_gen(ikm.as_ref(), &[]) {
            Ok(sk) => Self(sk),
            // blst only refuses input keying material shorter than 32 bytes.
            Err(_) => unreachable!("blst key_gen rejected 32 bytes of input keying material"),
        }
    }

    /// Derives a key deterministically from input keying material (IETF BLS `KeyGen`, empty
    /// `key_info`). The IKM must be at least 32 bytes and must itself be secret and uniformly
    /// random; this exists for reproducible devnets and tests, production keys come from
    /// [`SecretKey::random`] or a keystore.
    pub fn from_ikm(ikm: &[u8]) -> Result<Self, BlsError> {
        if ikm.len() < 32 {
            return Err(BlsError::IkmTooShort(ikm.len()));
        }
        min_pk::SecretKey::key_gen(ikm, &[])
            .map(Self)
            .map_err(|e| BlsError::from_blst(e, SECRET_KEY))
    }

    /// Parses a 32-byte big-endian scalar, which must be non-zero and less than the group order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BlsError> {
        if bytes.len() != SECRET_KEY_LEN {
            return Err(BlsError::InvalidLength {
                what: SECRET_KEY,
                expected: SECRET_KEY_LEN,
                actual: bytes.len(),
            });
        }
        min_pk::SecretKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| BlsError::InvalidSecretKey)
    }

    /// The 32-byte big-endian scalar, in a buffer that is wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SECRET_KEY_LEN]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.sk_to_pk())
    }

    /// Signs `msg` (hashed to G2 with [`DST`]).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg, DST, &[]))
    }

    /// Signs a registration message to prove this key's holder knows the secret key.
    ///
    /// Aggregating public keys is only sound if nobody can register a key they do not hold: with a
    /// "rogue" key `pk' = x·G - pk_victim`, an attacker could forge aggregate signatures that appear
    /// to include the victim. A proof of possession stops that, provided the attacker cannot obtain
    /// a signature by the victim's key on the proof message.
    ///
    /// The standard scheme gets that guarantee from a separate `_POP_` ciphersuite, but the
    /// on-chain verifier supports exactly one hash-to-G2 ([`DST`]), so here the separation comes
    /// from the message instead: `registration_message` must bind the chain, the registry contract,
    /// the registering operator and this public key, and its encoding must never coincide with any
    /// message operators sign during normal operation (task digests use a different EIP-712 type
    /// hash). Then no honest operator ever signs another operator's registration message, and a
    /// proof cannot be replayed on another chain, contract, operator or key. Building that message
    /// is the protocol crate's job; this function only signs it.
    pub fn prove_possession(&self, registration_message: &[u8]) -> Signature {
        self.sign(registration_message)
    }
}

// blst's key type wipes its scalar on drop, and this wrapper holds nothing else.
impl zeroize::ZeroizeOnDrop for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A BLS12-381 public key: a G1 point, always valid (on the curve, in the prime-order subgroup, not
/// the point at infinity).
///
/// Equality, ordering and hashing follow the 48-byte compressed encoding, which is canonical.
/// Serde and `Display` use `0x`-prefixed hex of that encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(min_pk::PublicKey);

impl PublicKey {
    /// Parses a 48-byte compressed G1 point and checks it is a usable key.
    pub fn from_compressed(bytes: &[u8]) -> Result<Self, BlsError> {
        if bytes.len() != PUBLIC_KEY_COMPRESSED_LEN {
            return Err(BlsError::InvalidLength {
                what: PUBLIC_KEY,
                expected: PUBLIC_KEY_COMPRESSED_LEN,
                actual: bytes.len(),
            });
        }
        let pk =
            min_pk::PublicKey::uncompress(bytes).map_err(|e| BlsError::from_blst(e, PUBLIC_KEY))?;
        Self::validated(pk)
    }

    /// The 48-byte compressed encoding (the form used in keystores, configuration and logs).
    pub fn to_compressed(&self) -> [u8; PUBLIC_KEY_COMPRESSED_LEN] {
        self.0.compress()
    }

    /// Parses the 128-byte EIP-2537 G1 encoding and checks it is a usable key.
    pub fn from_eip2537(bytes: &[u8]) -> Result<Self, BlsError> {
        let raw = eip2537::decode_g1(bytes, PUBLIC_KEY)?;
        let pk =
            min_pk::PublicKey::deserialize(&raw).map_err(|e| BlsError::from_blst(e, PUBLIC_KEY))?;
        Self::validated(pk)
    }

    /// The 128-byte EIP-2537 G1 encoding the on-chain registry and verifier take.
    pub fn to_eip2537(&self) -> [u8; eip2537::G1_LEN] {
        eip2537::encode_g1(&self.0.serialize())
    }

    /// Checks `proof` is this key's signature on `registration_message`; see
    /// [`SecretKey::prove_possession`] for what the message must bind and why.
    pub fn verify_possession(
        &self,
        registration_message: &[u8],
        proof: &Signature,
    ) -> Result<(), BlsError> {
        proof.verify(registration_message, self)
    }

    pub(crate) fn validated(pk: min_pk::PublicKey) -> Result<Self, BlsError> {
        // `uncompress` and `deserialize` check the curve equation but not subgroup membership.
        pk.validate()
            .map_err(|e| BlsError::from_blst(e, PUBLIC_KEY))?;
        Ok(Self(pk))
    }

    pub(crate) fn as_blst(&self) -> &min_pk::PublicKey {
        &self.0
    }

    pub(crate) fn from_blst_unchecked(pk: min_pk::PublicKey) -> Self {
        Self(pk)
    }
}

impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.to_compressed().hash(state);
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.to_compressed().cmp(&other.to_compressed())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.to_compressed()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = BlsError;

    /// Parses hex of the compressed encoding, with or without a `0x` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes: [u8; PUBLIC_KEY_COMPRESSED_LEN] = decode_hex_array(s, PUBLIC_KEY)?;
        Self::from_compressed(&bytes)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A BLS12-381 signature: a G2 point, always in the prime-order subgroup and never the point at
/// infinity.
///
/// Equality and hashing follow the 96-byte compressed encoding. Serde and `Display` use
/// `0x`-prefixed hex of that encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(min_pk::Signature);

impl Signature {
    /// Parses a 96-byte compressed G2 point and checks it is an acceptable signature.
    pub fn from_compressed(bytes: &[u8]) -> Result<Self, BlsError> {
        if bytes.len() != SIGNATURE_COMPRESSED_LEN {
            return Err(BlsError::InvalidLength {
                what: SIGNATURE,
                expected: SIGNATURE_COMPRESSED_LEN,
                actual: bytes.len(),
            });
        }
        let sig =
            min_pk::Signature::uncompress(bytes).map_err(|e| BlsError::from_blst(e, SIGNATURE))?;
        Self::validated(sig)
    }

    /// The 96-byte compressed encoding.
    pub fn to_compressed(&self) -> [u8; SIGNATURE_COMPRESSED_LEN] {
        self.0.compress()
    }

    /// The 192-byte uncompressed encoding (x then y, big-endian, the flags of the compressed
    /// form clear): twice the bytes, but a receiver reads it without the square root that
    /// decompressing costs ([`UncheckedSignature::from_bytes`]).
    pub fn to_uncompressed(&self) -> [u8; SIGNATURE_UNCOMPRESSED_LEN] {
        self.0.serialize()
    }

    /// Parses the 256-byte EIP-2537 G2 encoding and checks it is an acceptable signature.
    pub fn from_eip2537(bytes: &[u8]) -> Result<Self, BlsError> {
        let raw = eip2537::decode_g2(bytes, SIGNATURE)?;
        let sig =
            min_pk::Signature::deserialize(&raw).map_err(|e| BlsError::from_blst(e, SIGNATURE))?;
        Self::validated(sig)
    }

    /// The 256-byte EIP-2537 G2 encoding the on-chain verifier takes.
    pub fn to_eip2537(&self) -> [u8; eip2537::G2_LEN] {
        eip2537::encode_g2(&self.0.serialize())
    }

    /// Checks this is `pk`'s signature on `msg`.
    pub fn verify(&self, msg: &[u8], pk: &PublicKey) -> Result<(), BlsError> {
        // Both points were validated when constructed, so blst's own checks are skipped.
        match self.0.verify(false, msg, DST, &[], &pk.0, false) {
            BLST_ERROR::BLST_SUCCESS => Ok(()),
            _ => Err(BlsError::VerificationFailed),
        }
    }

    pub(crate) fn validated(sig: min_pk::Signature) -> Result<Self, BlsError> {
        // `uncompress` and `deserialize` check the curve equation but not subgroup membership;
        // `true` also rejects the point at infinity, which would verify against an identity key.
        sig.validate(true)
            .map_err(|e| BlsError::from_blst(e, SIGNATURE))?;
        Ok(Self(sig))
    }

    pub(crate) fn as_blst(&self) -> &min_pk::Signature {
        &self.0
    }

    pub(crate) fn from_blst_unchecked(sig: min_pk::Signature) -> Self {
        Self(sig)
    }
}

/// A signature as an operator sent it: a point of the curve other than the point at infinity,
/// not yet known to be in the prime-order subgroup, nor to be anyone's signature.
///
/// This is what a verifier that checks many signatures together takes: the subgroup check costs
/// about 55 µs a point, twice what the pairing-based check of a whole batch costs per signature
/// at a thousand signers, so it is done on sums instead (one per batch, by
/// [`crate::verify_same_message`], and one per aggregate, by [`crate::AggregateSignature`]).
/// [`UncheckedSignature::check`] turns one into a [`Signature`] on its own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UncheckedSignature(min_pk::Signature);

impl UncheckedSignature {
    /// Parses a signature in either encoding, 96 bytes compressed or 192 uncompressed, and
    /// checks it encodes a point of the curve other than the point at infinity. The
    /// uncompressed form is the cheap one to parse.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BlsError> {
        if bytes.len() != SIGNATURE_COMPRESSED_LEN && bytes.len() != SIGNATURE_UNCOMPRESSED_LEN {
            return Err(BlsError::InvalidLength {
                what: SIGNATURE,
                expected: SIGNATURE_UNCOMPRESSED_LEN,
                actual: bytes.len(),
            });
        }
        // blst reads the compression flag (bit 0x80) and checks it matches the length, and the
        // curve equation either way; bit 0x40 is its only encoding of the point at infinity.
        if bytes[0] & 0x40 != 0 {
            return Err(BlsError::PointAtInfinity { what: SIGNATURE });
        }
        let sig =
            min_pk::Signature::from_bytes(bytes).map_err(|e| BlsError::from_blst(e, SIGNATURE))?;
        Ok(Self(sig))
    }

    /// This signature as a [`Signature`], once it is known to be in the prime-order subgroup
    /// (checked here, about 55 µs).
    pub fn check(&self) -> Result<Signature, BlsError> {
        Signature::validated(self.0)
    }

    /// The 96-byte compressed encoding.
    pub fn to_compressed(&self) -> [u8; SIGNATURE_COMPRESSED_LEN] {
        self.0.compress()
    }

    pub(crate) fn as_blst(&self) -> &min_pk::Signature {
        &self.0
    }
}

impl From<Signature> for UncheckedSignature {
    fn from(signature: Signature) -> Self {
        Self(signature.0)
    }
}

impl fmt::Display for UncheckedSignature {
    /// `0x`-prefixed hex of the compressed encoding, as for [`Signature`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.to_compressed()))
    }
}

impl fmt::Debug for UncheckedSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UncheckedSignature({self})")
    }
}

impl Hash for Signature {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.to_compressed().hash(state);
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.to_compressed()))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl FromStr for Signature {
    type Err = BlsError;

    /// Parses hex of the compressed encoding, with or without a `0x` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes: [u8; SIGNATURE_COMPRESSED_LEN] = decode_hex_array(s, SIGNATURE)?;
        Self::from_compressed(&bytes)
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Decodes hex (optional `0x`) into exactly `N` bytes.
fn decode_hex_array<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], BlsError> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if !digits.len().is_multiple_of(2) {
        return Err(BlsError::InvalidHex {
            what,
            source: hex::FromHexError::OddLength,
        });
    }
    if digits.len() != 2 * N {
        return Err(BlsError::InvalidLength {
            what,
            expected: N,
            actual: digits.len() / 2,
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out)
        .map_err(|source| BlsError::InvalidHex { what, source })?;
    Ok(out)
}
