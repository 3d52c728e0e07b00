//! Waiting for a condition with a timeout: what a test does instead of sleeping.

use std::time::Duration;

/// How often a condition is checked again.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A condition that did not hold in time.
#[derive(Debug, Clone, thiserror::Error)]
#[error("timed out after {timeout:?} waiting for {what}")]
pub struct TimedOut {
    pub what: String,
    pub timeout: Duration,
}

/// Polls `check` until it holds; `false` once `timeout` has passed without it holding.
pub async fn wait_for<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// [`wait_for`], with an error naming `what` was awaited when it did not hold in time.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, check: F) -> Result<(), TimedOut>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    if wait_for(timeout, check).await {
        Ok(())
    } else {
        Err(TimedOut {
            what: what.to_string(),
            timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_condition_that_never_holds_times_out_naming_it() {
        let error = wait_until("nothing", Duration::from_millis(120), || async { false })
            .await
            .unwrap_err();
        assert_eq!(error.what, "nothing");
        assert!(error.to_string().contains("waiting for nothing"), "{error}");
    }

    #[tokio::test]
    async fn a_condition_is_checked_until_it_holds() {
        let mut checks = 0;
        let held = wait_for(Duration::from_secs(10), || {
            checks += 1;
            let now = checks;
            async move { now >= 3 }
        })
        .await;
        assert!(held);
        assert_eq!(checks, 3);
    }
}
