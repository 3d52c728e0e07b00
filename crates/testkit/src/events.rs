//! Events a test expects a contract to have emitted: exactly one, read back with its log (the
//! block it was mined in), or an error that lists what was found instead.

use alloy::contract::Event;
use alloy::network::Network;
use alloy::providers::Provider;
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;

/// Why [`only_event`] found no single event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("querying the logs: {0}")]
    Query(#[from] alloy::contract::Error),
    #[error("expected exactly one event, found {count}: {events}")]
    NotOne { count: usize, events: String },
}

/// The one event `filter` finds, with its log; an error listing them when there are none or
/// several (a second challenge, a duplicate commitment).
pub async fn only_event<P, E, N>(filter: &Event<P, E, N>) -> Result<(E, Log), EventError>
where
    P: Provider<N>,
    E: SolEvent + std::fmt::Debug,
    N: Network,
{
    let found = filter.query().await?;
    match <[(E, Log); 1]>::try_from(found) {
        Ok([event]) => Ok(event),
        Err(found) => Err(EventError::NotOne {
            count: found.len(),
            events: format!("{found:?}"),
        }),
    }
}
