//! Reading back what happened on the devnet's chain, for tests that must prove how many
//! transactions a service sent (exactly one commitment, exactly one challenge) rather than trust
//! its own records.

use alloy::primitives::Address;
use alloy::providers::Provider;
use alloy::rpc::types::{Transaction, TransactionReceipt};
use alloy::transports::TransportError;

/// Every transaction `sender` got mined from block `from` to the head, oldest first, each with
/// its receipt.
pub async fn sent_transactions<P: Provider>(
    chain: &P,
    sender: Address,
    from: u64,
) -> Result<Vec<(Transaction, TransactionReceipt)>, TransportError> {
    let head = chain.get_block_number().await?;
    let mut sent = Vec::new();
    for number in from..=head {
        let Some(block) = chain.get_block_by_number(number.into()).full().await? else {
            continue;
        };
        for tx in block.transactions.into_transactions() {
            if tx.inner.signer() != sender {
                continue;
            }
            if let Some(receipt) = chain.get_transaction_receipt(*tx.inner.hash()).await? {
                sent.push((tx, receipt));
            }
        }
    }
    Ok(sent)
}
