//! The development accounts a deployment pays with: anvil's, derived from its default mnemonic,
//! whether the devnet started anvil or someone else runs it (such as the `anvil` container of
//! `docker-compose.yml`, which `warden deploy` deploys into).

use alloy::signers::local::coins_bip39::English;
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner};

use crate::DeployError;

/// The mnemonic anvil derives its development accounts from unless told otherwise.
const ANVIL_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Development account `index` of an anvil started with its default mnemonic. A deployment uses
/// 0 (deployer), 1 (noise trader), 2 (vault owner), 3 (aggregator) and 4 (challenger).
pub fn dev_key(index: usize) -> Result<PrivateKeySigner, DeployError> {
    let index = u32::try_from(index)
        .map_err(|_| DeployError::Config(format!("no development account {index}")))?;
    MnemonicBuilder::<English>::default()
        .phrase(ANVIL_MNEMONIC)
        .index(index)
        .and_then(|builder| builder.build())
        .map_err(|error| {
            DeployError::Config(format!("deriving development account {index}: {error}"))
        })
}
