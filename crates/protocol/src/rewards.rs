//! EigenLayer's rewards calendar as Warden pays through it: an operator-directed submission may
//! only cover a calculation interval that has ended, so a distribution now pays for the last one.

/// The start of the last calculation interval of `interval` seconds that has ended at
/// `timestamp`: the period a distribution at that time pays for (`None` before one has ended).
pub fn last_complete_period(timestamp: u64, interval: u64) -> Option<u64> {
    let interval = interval.max(1);
    (timestamp / interval * interval).checked_sub(interval)
}

#[cfg(test)]
mod tests {
    use super::last_complete_period;

    #[test]
    fn a_distribution_pays_for_the_last_interval_that_has_ended() {
        const DAY: u64 = 86_400;
        assert_eq!(
            last_complete_period(10 * DAY, DAY),
            Some(9 * DAY),
            "at midnight"
        );
        assert_eq!(
            last_complete_period(10 * DAY + 3_600, DAY),
            Some(9 * DAY),
            "an hour in"
        );
        assert_eq!(
            last_complete_period(11 * DAY - 1, DAY),
            Some(9 * DAY),
            "a second before the next"
        );
        assert_eq!(
            last_complete_period(DAY - 1, DAY),
            None,
            "no interval has ended"
        );
        assert_eq!(
            last_complete_period(5, 0),
            Some(4),
            "a zero interval counts as one second"
        );
    }
}
