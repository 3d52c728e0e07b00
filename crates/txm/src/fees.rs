//! EIP-1559 fees: the cap on what the manager signs, and how a stuck transaction is outbid.

use crate::config::MIN_BUMP_PERCENT;

/// The two EIP-1559 fees of a transaction, in wei per gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fees {
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
}

impl Fees {
    /// These fees with `maxFeePerGas` at most `cap`; the tip never exceeds the fee cap (a
    /// transaction with a tip above its fee cap is invalid).
    pub(crate) fn capped(self, cap: u128) -> Self {
        let max_fee_per_gas = self.max_fee_per_gas.min(cap);
        Self {
            max_fee_per_gas,
            max_priority_fee_per_gas: self.max_priority_fee_per_gas.min(max_fee_per_gas),
        }
    }

    /// The fees of a replacement: both fees raised by `percent` (and by at least one wei), and
    /// at least `estimate` (the market may have moved further than one bump), capped at `cap`.
    /// `None` when the cap leaves no replacement nodes would accept — both fees at least
    /// [`MIN_BUMP_PERCENT`] above these — so the only thing left to do is broadcast again.
    pub(crate) fn bumped(self, estimate: Fees, percent: u64, cap: u128) -> Option<Self> {
        let wanted = Self {
            max_fee_per_gas: raise(self.max_fee_per_gas, percent).max(estimate.max_fee_per_gas),
            max_priority_fee_per_gas: raise(self.max_priority_fee_per_gas, percent)
                .max(estimate.max_priority_fee_per_gas),
        };
        // A tip above the fee cap is invalid; the fee cap is raised to the tip before capping.
        let wanted = Self {
            max_fee_per_gas: wanted.max_fee_per_gas.max(wanted.max_priority_fee_per_gas),
            ..wanted
        }
        .capped(cap);
        let acceptable = wanted.max_fee_per_gas >= raise(self.max_fee_per_gas, MIN_BUMP_PERCENT)
            && wanted.max_priority_fee_per_gas
                >= raise(self.max_priority_fee_per_gas, MIN_BUMP_PERCENT);
        acceptable.then_some(wanted)
    }
}

/// `value` raised by `percent`, rounded up, and by at least one (nodes want a replacement's
/// fees strictly higher, which a percentage of a tiny fee would not make them).
fn raise(value: u128, percent: u64) -> u128 {
    let raised = value
        .saturating_mul(100 + u128::from(percent))
        .div_ceil(100);
    raised.max(value.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GWEI: u128 = 1_000_000_000;

    fn fees(max_fee: u128, tip: u128) -> Fees {
        Fees {
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
        }
    }

    #[test]
    fn a_bump_raises_both_fees_by_the_percentage() {
        let bumped = fees(10 * GWEI, GWEI).bumped(fees(0, 0), 20, 1000 * GWEI);
        assert_eq!(bumped, Some(fees(12 * GWEI, 1_200_000_000)));
    }

    #[test]
    fn a_bump_follows_a_market_that_moved_further() {
        let bumped = fees(10 * GWEI, GWEI).bumped(fees(30 * GWEI, 2 * GWEI), 20, 1000 * GWEI);
        assert_eq!(bumped, Some(fees(30 * GWEI, 2 * GWEI)));
    }

    #[test]
    fn tiny_fees_still_go_up() {
        assert_eq!(fees(1, 0).bumped(fees(0, 0), 20, 1000), Some(fees(2, 1)));
    }

    #[test]
    fn the_cap_bounds_a_bump_and_then_stops_it() {
        // Room for 10 % but not 20 %: capped, still a valid replacement.
        assert_eq!(
            fees(100, 10).bumped(fees(0, 0), 20, 111),
            Some(fees(111, 12))
        );
        // At the cap: no replacement a node would take.
        assert_eq!(fees(111, 12).bumped(fees(0, 0), 20, 111), None);
        // Under the cap but not 10 % under it.
        assert_eq!(fees(105, 10).bumped(fees(0, 0), 20, 111), None);
    }

    #[test]
    fn capping_keeps_the_tip_under_the_fee_cap() {
        assert_eq!(fees(50, 40).capped(30), fees(30, 30));
        assert_eq!(fees(50, 40).capped(60), fees(50, 40));
    }

    #[test]
    fn raising_saturates() {
        assert_eq!(raise(u128::MAX, 20), u128::MAX);
    }
}
