//! The chain a devnet runs on: an anvil the devnet starts (and stops), or an anvil someone else
//! runs, such as the `anvil` container of `docker-compose.yml`, which `warden deploy` deploys
//! into. Either way the development accounts are anvil's, derived from its default mnemonic.

use alloy::node_bindings::AnvilInstance;
use alloy::signers::local::coins_bip39::English;
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner};
use alloy::transports::http::reqwest::Url;

use crate::DevnetError;

/// The mnemonic anvil derives its development accounts from unless told otherwise.
const ANVIL_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Where the devnet's chain comes from.
#[derive(Debug)]
pub(crate) enum Chain {
    /// Started by the devnet; stopped when it is dropped.
    Spawned(AnvilInstance),
    /// Running elsewhere; only its endpoint is known.
    External(Url),
}

impl Chain {
    pub(crate) fn endpoint_url(&self) -> Url {
        match self {
            Chain::Spawned(anvil) => anvil.endpoint_url(),
            Chain::External(url) => url.clone(),
        }
    }

    /// Development account `index`.
    pub(crate) fn dev_key(&self, index: usize) -> Result<PrivateKeySigner, DevnetError> {
        let missing = || DevnetError::Config(format!("anvil has no development account {index}"));
        match self {
            Chain::Spawned(anvil) => anvil
                .keys()
                .get(index)
                .cloned()
                .map(PrivateKeySigner::from)
                .ok_or_else(missing),
            Chain::External(_) => {
                let index = u32::try_from(index).map_err(|_| missing())?;
                MnemonicBuilder::<English>::default()
                    .phrase(ANVIL_MNEMONIC)
                    .index(index)
                    .and_then(|builder| builder.build())
                    .map_err(|error| {
                        DevnetError::Config(format!(
                            "deriving development account {index}: {error}"
                        ))
                    })
            }
        }
    }
}
