//! The registry's parameters: who may join Warden's operator set, how large it may grow, and how
//! the weight that signs is kept to stake that stays slashable for a task's whole life.

use alloy::primitives::aliases::U96;
use serde::{Deserialize, Serialize};
use warden_bindings::WardenRegistry;

use crate::app::AppParams;

/// `RegistryParams` of `IWardenRegistry.sol`, in blocks and wei.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryParams {
    /// Least slashable stake (wei) to join; anyone may eject an operator that falls below it.
    pub minimum_weight: u128,
    /// Most operators in the set at once: bounds a refresh (about 56 k gas per operator whose
    /// weight changed) and every commitment's non-signer list.
    pub max_operators: u32,
    /// Blocks ahead at which weights measure slashable stake. At most EigenLayer's withdrawal
    /// and deallocation delays; at least every task window plus `max_weight_age` plus one.
    pub weight_horizon: u32,
    /// Oldest a full refresh may be, in blocks before a task's reference block.
    pub max_weight_age: u32,
    /// Most ejections per `ejection_window` blocks.
    pub ejection_limit: u32,
    pub ejection_window: u32,
}

impl Default for RegistryParams {
    /// Sized to the devnet's default windows: a task's life, 1 + response 60 + challenge 20 +
    /// response 60 = 141 blocks, fits the fraud-proof window of 300 - age 50 - slashing 100 = 150
    /// blocks.
    fn default() -> Self {
        Self {
            minimum_weight: 1_000_000_000_000_000_000,
            max_operators: 128,
            weight_horizon: 300,
            max_weight_age: 50,
            ejection_limit: 3,
            ejection_window: 100,
        }
    }
}

impl RegistryParams {
    /// The horizon every agent with `app`'s windows needs: a task's life (1 + response +
    /// challenge + response again for the execution) must fit in the task manager's fraud-proof
    /// window, which is the horizon less `max_weight_age` and the slashing period (what
    /// `WardenTaskManager.registerAgent` checks).
    pub fn required_horizon(&self, app: &AppParams) -> u32 {
        app.response_window
            .saturating_mul(2)
            .saturating_add(app.challenge_window)
            .saturating_add(1)
            .saturating_add(app.slashing_period)
            .saturating_add(self.max_weight_age)
    }

    /// These parameters with the horizon widened, if needed, to cover `app`'s windows.
    pub fn covering(mut self, app: &AppParams) -> Self {
        self.weight_horizon = self.weight_horizon.max(self.required_horizon(app));
        self
    }

    /// The constructor argument.
    pub fn to_sol(self) -> WardenRegistry::RegistryParams {
        WardenRegistry::RegistryParams {
            minimumWeight: U96::from(self.minimum_weight),
            maxOperators: self.max_operators,
            weightHorizon: self.weight_horizon,
            maxWeightAge: self.max_weight_age,
            ejectionLimit: self.ejection_limit,
            ejectionWindow: self.ejection_window,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_horizon_covers_the_default_windows() {
        let params = RegistryParams::default();
        assert!(params.required_horizon(&AppParams::default()) <= params.weight_horizon);
        assert_eq!(params.covering(&AppParams::default()), params);
    }

    #[test]
    fn longer_windows_widen_the_horizon() {
        let app = AppParams {
            challenge_window: 150,
            ..AppParams::default()
        };
        let params = RegistryParams::default().covering(&app);
        assert_eq!(params.weight_horizon, 2 * 60 + 150 + 1 + 100 + 50);
    }
}
