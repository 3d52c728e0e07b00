//! SplitMix64 (Steele, Lea and Flood, 2014): the fixed pseudo-random sequence that generated
//! networks and the reference model's training data are drawn from. It is fully specified, so
//! what it generates never depends on a crate version or a machine. Not for anything secret.

/// A SplitMix64 sequence from a seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The sequence seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `[0, bound)`, `bound` > 0 (by remainder: the bias is negligible for bounds far
    /// below 2^64, and irrelevant for initialising weights or drawing training data).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference sequence for seed 0 (the first outputs of the published algorithm).
    #[test]
    fn matches_the_published_sequence() {
        let mut sequence = SplitMix64::new(0);
        assert_eq!(sequence.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(sequence.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(sequence.next_u64(), 0x06C4_5D18_8009_454F);
    }
}
