//! What Warden's roles send transactions for, as typed values. An intent's text is the key the
//! transaction log records it under (`commitOutput/task/12/attempt/1`), so the text of every
//! variant is fixed: a restarted service must find what an earlier version recorded.

use std::fmt;
use std::str::FromStr;

use alloy::primitives::{Address, U256};

/// One transaction's purpose, unique per key: sending an intent on record again only waits for
/// the recorded transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Intent {
    /// The aggregator's `commitOutput` of a quorum (`commitOutput/task/{task_id}/attempt/{attempt}`).
    CommitOutput { task_id: u64, attempt: u64 },
    /// The keeper's `openTask` for an agent whose latest task opened in block `after`
    /// (`openTask/agent/{agent_id}/after/{after}`).
    OpenTask { agent_id: u64, after: u32 },
    /// The keeper's `execute`, one per block so a failed attempt is retried in the next
    /// (`execute/task/{task_id}/block/{block}`).
    Execute { task_id: u64, block: u64 },
    /// The keeper's `expire` (`expire/task/{task_id}`).
    Expire { task_id: u64 },
    /// The keeper's `refreshWeights` of the registry, whose last full refresh was in block
    /// `after` (`refreshWeights/after/{after}`).
    RefreshWeights { after: u32 },
    /// A challenger's `challenge`, attempt 0 first (`challenge/task/{task_id}`, then
    /// `…/retry/{attempt}`).
    Challenge { task_id: u64, attempt: u32 },
    /// A challenger's `commitChallenge` ahead of its challenge, attempt 0 first
    /// (`commitChallenge/task/{task_id}`, then `…/retry/{attempt}`).
    CommitChallenge { task_id: u64, attempt: u32 },
    /// A challenger's `slashSigners` batch starting at operator index `from`
    /// (`slashSigners/task/{task_id}/from/{from}`, then `…/retry/{attempt}`).
    SlashSigners {
        task_id: u64,
        from: u32,
        attempt: u32,
    },
    /// The keeper's `accrue` of a task's fee to its signers (`accrueFee/task/{task_id}`).
    AccrueFee { task_id: u64 },
    /// The keeper's `distribute` of a token's rewards for the calculation interval starting at
    /// `period` (`distributeRewards/token/{token}/period/{period}`, the token checksummed).
    DistributeRewards { token: Address, period: u32 },
    /// A challenger's `clearSlash` of slash `slash_id` (EigenLayer's id) made for task `task_id`,
    /// which pays the slashed stake to the restitution contract
    /// (`clearSlash/task/{task_id}/slash/{slash_id}`, then `…/retry/{attempt}`).
    ClearSlash {
        task_id: u64,
        slash_id: U256,
        attempt: u32,
    },
    /// A challenger's `settle` of a task's restitution, once its slashes are cleared
    /// (`settleRestitution/task/{task_id}`, then `…/retry/{attempt}`).
    SettleRestitution { task_id: u64, attempt: u32 },
}

impl Intent {
    /// The task the intent is about, if it is about one.
    pub fn task_id(&self) -> Option<u64> {
        match *self {
            Intent::CommitOutput { task_id, .. }
            | Intent::Execute { task_id, .. }
            | Intent::Expire { task_id }
            | Intent::Challenge { task_id, .. }
            | Intent::CommitChallenge { task_id, .. }
            | Intent::SlashSigners { task_id, .. }
            | Intent::AccrueFee { task_id }
            | Intent::ClearSlash { task_id, .. }
            | Intent::SettleRestitution { task_id, .. } => Some(task_id),
            Intent::OpenTask { .. }
            | Intent::RefreshWeights { .. }
            | Intent::DistributeRewards { .. } => None,
        }
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let retry = |f: &mut fmt::Formatter<'_>, attempt: u32| {
            if attempt == 0 {
                Ok(())
            } else {
                write!(f, "/retry/{attempt}")
            }
        };
        match *self {
            Intent::CommitOutput { task_id, attempt } => {
                write!(f, "commitOutput/task/{task_id}/attempt/{attempt}")
            }
            Intent::OpenTask { agent_id, after } => {
                write!(f, "openTask/agent/{agent_id}/after/{after}")
            }
            Intent::Execute { task_id, block } => write!(f, "execute/task/{task_id}/block/{block}"),
            Intent::Expire { task_id } => write!(f, "expire/task/{task_id}"),
            Intent::RefreshWeights { after } => write!(f, "refreshWeights/after/{after}"),
            Intent::Challenge { task_id, attempt } => {
                write!(f, "challenge/task/{task_id}")?;
                retry(f, attempt)
            }
            Intent::CommitChallenge { task_id, attempt } => {
                write!(f, "commitChallenge/task/{task_id}")?;
                retry(f, attempt)
            }
            Intent::SlashSigners {
                task_id,
                from,
                attempt,
            } => {
                write!(f, "slashSigners/task/{task_id}/from/{from}")?;
                retry(f, attempt)
            }
            Intent::AccrueFee { task_id } => write!(f, "accrueFee/task/{task_id}"),
            Intent::DistributeRewards { token, period } => {
                write!(f, "distributeRewards/token/{token}/period/{period}")
            }
            Intent::ClearSlash {
                task_id,
                slash_id,
                attempt,
            } => {
                write!(f, "clearSlash/task/{task_id}/slash/{slash_id}")?;
                retry(f, attempt)
            }
            Intent::SettleRestitution { task_id, attempt } => {
                write!(f, "settleRestitution/task/{task_id}")?;
                retry(f, attempt)
            }
        }
    }
}

/// A recorded intent that is none of Warden's (a tool's, or a test's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an intent Warden sends")]
pub struct UnknownIntent(pub String);

impl FromStr for Intent {
    type Err = UnknownIntent;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownIntent(text.to_string());
        let parts: Vec<&str> = text.split('/').collect();
        let number = |index: usize| -> Result<u64, UnknownIntent> {
            parts
                .get(index)
                .and_then(|part| part.parse().ok())
                .ok_or_else(unknown)
        };
        let small = |index: usize| -> Result<u32, UnknownIntent> {
            u32::try_from(number(index)?).map_err(|_| unknown())
        };
        // `…/retry/{n}` after `base` parts, or nothing.
        let attempt = |base: usize| -> Result<u32, UnknownIntent> {
            match parts.len() - base {
                0 => Ok(0),
                2 if parts[base] == "retry" => match small(base + 1)? {
                    0 => Err(unknown()),
                    attempt => Ok(attempt),
                },
                _ => Err(unknown()),
            }
        };
        let intent = match parts.as_slice() {
            ["commitOutput", "task", _, "attempt", _] => Intent::CommitOutput {
                task_id: number(2)?,
                attempt: number(4)?,
            },
            ["openTask", "agent", _, "after", _] => Intent::OpenTask {
                agent_id: number(2)?,
                after: small(4)?,
            },
            ["execute", "task", _, "block", _] => Intent::Execute {
                task_id: number(2)?,
                block: number(4)?,
            },
            ["expire", "task", _] => Intent::Expire {
                task_id: number(2)?,
            },
            ["refreshWeights", "after", _] => Intent::RefreshWeights { after: small(2)? },
            ["challenge", "task", _, ..] => Intent::Challenge {
                task_id: number(2)?,
                attempt: attempt(3)?,
            },
            ["commitChallenge", "task", _, ..] => Intent::CommitChallenge {
                task_id: number(2)?,
                attempt: attempt(3)?,
            },
            ["slashSigners", "task", _, "from", _, ..] => Intent::SlashSigners {
                task_id: number(2)?,
                from: small(4)?,
                attempt: attempt(5)?,
            },
            ["accrueFee", "task", _] => Intent::AccrueFee {
                task_id: number(2)?,
            },
            ["distributeRewards", "token", token, "period", _] => Intent::DistributeRewards {
                token: token.parse().map_err(|_| unknown())?,
                period: small(4)?,
            },
            ["clearSlash", "task", _, "slash", slash_id, ..] => Intent::ClearSlash {
                task_id: number(2)?,
                slash_id: slash_id.parse().map_err(|_| unknown())?,
                attempt: attempt(5)?,
            },
            ["settleRestitution", "task", _, ..] => Intent::SettleRestitution {
                task_id: number(2)?,
                attempt: attempt(3)?,
            },
            _ => return Err(unknown()),
        };
        // Only the canonical text is this intent (no leading zeros, no `/retry/0`).
        if intent.to_string() == text {
            Ok(intent)
        } else {
            Err(unknown())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_recorded_texts_are_unchanged() {
        let cases = [
            (
                Intent::CommitOutput {
                    task_id: 12,
                    attempt: 1,
                },
                "commitOutput/task/12/attempt/1",
            ),
            (
                Intent::OpenTask {
                    agent_id: 1,
                    after: 0,
                },
                "openTask/agent/1/after/0",
            ),
            (
                Intent::Execute {
                    task_id: 3,
                    block: 99,
                },
                "execute/task/3/block/99",
            ),
            (Intent::Expire { task_id: 4 }, "expire/task/4"),
            (
                Intent::RefreshWeights { after: 350 },
                "refreshWeights/after/350",
            ),
            (
                Intent::Challenge {
                    task_id: 5,
                    attempt: 0,
                },
                "challenge/task/5",
            ),
            (
                Intent::Challenge {
                    task_id: 5,
                    attempt: 2,
                },
                "challenge/task/5/retry/2",
            ),
            (
                Intent::CommitChallenge {
                    task_id: 5,
                    attempt: 0,
                },
                "commitChallenge/task/5",
            ),
            (
                Intent::CommitChallenge {
                    task_id: 5,
                    attempt: 1,
                },
                "commitChallenge/task/5/retry/1",
            ),
            (
                Intent::SlashSigners {
                    task_id: 6,
                    from: 25,
                    attempt: 0,
                },
                "slashSigners/task/6/from/25",
            ),
            (
                Intent::SlashSigners {
                    task_id: 6,
                    from: 25,
                    attempt: 1,
                },
                "slashSigners/task/6/from/25/retry/1",
            ),
            (Intent::AccrueFee { task_id: 7 }, "accrueFee/task/7"),
            (
                Intent::DistributeRewards {
                    token: alloy::primitives::address!("5FbDB2315678afecb367f032d93F642f64180aa3"),
                    period: 1_800_000_000,
                },
                "distributeRewards/token/0x5FbDB2315678afecb367f032d93F642f64180aa3/period/1800000000",
            ),
            (
                Intent::ClearSlash {
                    task_id: 6,
                    slash_id: U256::from(3u64),
                    attempt: 0,
                },
                "clearSlash/task/6/slash/3",
            ),
            (
                Intent::ClearSlash {
                    task_id: 6,
                    slash_id: U256::MAX,
                    attempt: 2,
                },
                "clearSlash/task/6/slash/115792089237316195423570985008687907853269984665640564039457584007913129639935/retry/2",
            ),
            (
                Intent::SettleRestitution {
                    task_id: 6,
                    attempt: 0,
                },
                "settleRestitution/task/6",
            ),
            (
                Intent::SettleRestitution {
                    task_id: 6,
                    attempt: 1,
                },
                "settleRestitution/task/6/retry/1",
            ),
        ];
        for (intent, text) in cases {
            assert_eq!(intent.to_string(), text);
            assert_eq!(text.parse::<Intent>(), Ok(intent), "{text}");
        }
    }

    #[test]
    fn other_texts_are_not_intents() {
        for text in [
            "",
            "transfer/1",
            "challenge/task/x",
            "challenge/task/5/retry/0",
            "challenge/task/05",
            "challenge/task/5/retry",
            "commitChallenge/task/5/retry/0",
            "expire/task/4/extra",
            "slashSigners/task/6/from/99999999999",
            "commitOutput/task/1/attempt",
            // Only the checksummed token is canonical.
            "distributeRewards/token/0x5fbdb2315678afecb367f032d93f642f64180aa3/period/1",
            "distributeRewards/token/0x5FbDB/period/1",
            "clearSlash/task/6/slash/0x3",
            "clearSlash/task/6/slash/03",
            "clearSlash/task/6/slash",
            "settleRestitution/task/6/retry/0",
        ] {
            assert_eq!(
                text.parse::<Intent>(),
                Err(UnknownIntent(text.to_string())),
                "{text}"
            );
        }
    }

    #[test]
    fn intents_name_their_task() {
        assert_eq!(Intent::Expire { task_id: 4 }.task_id(), Some(4));
        assert_eq!(
            Intent::ClearSlash {
                task_id: 5,
                slash_id: U256::from(9u64),
                attempt: 0
            }
            .task_id(),
            Some(5)
        );
        assert_eq!(
            Intent::OpenTask {
                agent_id: 1,
                after: 2
            }
            .task_id(),
            None
        );
    }
}
