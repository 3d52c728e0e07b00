//! Gas limits with headroom over the node's estimate.
//!
//! `eth_estimateGas` finds the least gas that succeeds against the pending state as the node
//! sees it when asked. The block the transaction lands in can need more: a Uniswap v2 pair
//! updates its cumulative prices (two extra storage writes, ~40 000 gas when first written)
//! only in the first swap of a block with a later timestamp, which the estimate may not have
//! seen. A tight limit then makes a good transaction revert out of gas, intermittently.

use alloy::network::{Network, TransactionBuilder};
use alloy::providers::fillers::{FillerControlFlow, GasFiller, TxFiller};
use alloy::providers::{Provider, SendableTx};
use alloy::transports::TransportResult;

/// Fills gas like alloy's [`GasFiller`] (fees from the node), but with a limit of the estimate
/// plus [`PaddedGasFiller::percent`] percent plus a fixed allowance for state the estimate did
/// not touch. A limit the caller set is kept as it is.
#[derive(Debug, Clone, Copy)]
pub struct PaddedGasFiller {
    /// Headroom proportional to the estimate.
    pub percent: u64,
    /// Headroom independent of the estimate: covers a few storage writes the estimate missed.
    pub fixed: u64,
}

impl Default for PaddedGasFiller {
    fn default() -> Self {
        Self {
            percent: 25,
            fixed: 60_000,
        }
    }
}

impl PaddedGasFiller {
    /// The limit for an estimate; saturates rather than wrapping.
    pub fn padded(&self, estimate: u64) -> u64 {
        estimate
            .saturating_add(estimate.saturating_mul(self.percent) / 100)
            .saturating_add(self.fixed)
    }
}

impl<N: Network> TxFiller<N> for PaddedGasFiller {
    type Fillable = <GasFiller as TxFiller<N>>::Fillable;

    fn status(&self, tx: &N::TransactionRequest) -> FillerControlFlow {
        TxFiller::<N>::status(&GasFiller, tx)
    }

    fn fill_sync(&self, _tx: &mut SendableTx<N>) {}

    async fn prepare<P: Provider<N>>(
        &self,
        provider: &P,
        tx: &N::TransactionRequest,
    ) -> TransportResult<Self::Fillable> {
        if tx.gas_limit().is_some() {
            return GasFiller.prepare(provider, tx).await;
        }
        let estimate = provider.estimate_gas(tx.clone()).await?;
        let mut padded = tx.clone();
        padded.set_gas_limit(self.padded(estimate));
        GasFiller.prepare(provider, &padded).await
    }

    async fn fill(
        &self,
        fillable: Self::Fillable,
        tx: SendableTx<N>,
    ) -> TransportResult<SendableTx<N>> {
        TxFiller::<N>::fill(&GasFiller, fillable, tx).await
    }
}

/// A provider that signs with `signer` and fills gas (with headroom, see [`PaddedGasFiller`]), nonce and
/// chain id.
///
/// The nonce is read from the node for every transaction (alloy's default caches it, and a
/// transaction that fails gas estimation after taking a cached nonce leaves a gap that strands
/// every later transaction in the node's queue). Each of Warden's signers sends its
/// transactions one at a time, so reading the pending nonce is both correct and cheap.
pub fn signing_provider(
    rpc_url: alloy::transports::http::reqwest::Url,
    signer: alloy::signers::local::PrivateKeySigner,
) -> alloy::providers::DynProvider {
    use alloy::providers::{Provider, ProviderBuilder};
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .filler(PaddedGasFiller::default())
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(alloy::network::EthereumWallet::from(signer))
        .connect_http(rpc_url)
        .erased()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_adds_share_and_fixed_allowance() {
        let filler = PaddedGasFiller::default();
        assert_eq!(filler.padded(100_000), 100_000 + 25_000 + 60_000);
        assert_eq!(filler.padded(0), 60_000);
    }

    #[test]
    fn padding_saturates() {
        assert_eq!(PaddedGasFiller::default().padded(u64::MAX), u64::MAX);
    }
}
