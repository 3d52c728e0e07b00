//! The aggregator's HTTP API: `POST` [`SIGNATURES_PATH`] takes one operator's signature. Every
//! refusal is a [`SubmitError`], and [`SubmitError::response`] is the one table that gives each
//! its HTTP status, its error code and the metric label it is counted under.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;
use warden_protocol::api::{
    ApiError, MAX_SUBMISSION_BYTES, SIGNATURES_PATH, SignatureSubmission, SubmissionReceipt,
    SubmissionStatus,
};

use warden_runtime::http::with_json_errors;

use super::{Aggregator, ServiceError};
use crate::intake::IntakeError;
use crate::metrics::reason;

/// Why a submission was refused, as the API reports it.
#[derive(Debug, thiserror::Error)]
pub(super) enum SubmitError {
    #[error("task {0} does not exist")]
    UnknownTask(u64),
    #[error("task {0} already has a committed output")]
    AlreadyCommitted(u64),
    #[error("task {0} is no longer open")]
    TaskClosed(u64),
    #[error("task {task_id}: this aggregator does not serve agent {agent_id}: {reason}")]
    AgentNotServed {
        task_id: u64,
        agent_id: u64,
        reason: String,
    },
    #[error("the chain could not be read: {0}")]
    Chain(String),
    #[error("the aggregator cannot record the signature now: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

/// How the API answers one kind of refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Refusal {
    pub status: StatusCode,
    /// `code` of the JSON error body.
    pub code: &'static str,
    /// `reason` label of `warden_signatures_rejected_total`.
    pub metric: &'static str,
}

impl SubmitError {
    /// The table: status, error code and metric label of every refusal.
    pub(super) fn response(&self) -> Refusal {
        let (status, code, metric) = match self {
            SubmitError::UnknownTask(_) | SubmitError::Intake(IntakeError::UnknownTask(_)) => {
                (StatusCode::NOT_FOUND, "unknown_task", reason::UNKNOWN_TASK)
            }
            SubmitError::AlreadyCommitted(_) => (
                StatusCode::CONFLICT,
                "already_committed",
                reason::TASK_CLOSED,
            ),
            SubmitError::TaskClosed(_) => (StatusCode::GONE, "task_closed", reason::TASK_CLOSED),
            SubmitError::AgentNotServed { .. } => (
                StatusCode::FORBIDDEN,
                "agent_not_served",
                reason::AGENT_NOT_SERVED,
            ),
            SubmitError::Chain(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unavailable",
                reason::UNAVAILABLE,
            ),
            SubmitError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                reason::UNAVAILABLE,
            ),
            SubmitError::Intake(IntakeError::MalformedSignature(_)) => (
                StatusCode::BAD_REQUEST,
                "malformed_signature",
                reason::MALFORMED_SIGNATURE,
            ),
            SubmitError::Intake(IntakeError::UnknownOperator { .. }) => (
                StatusCode::FORBIDDEN,
                "unknown_operator",
                reason::UNKNOWN_OPERATOR,
            ),
            SubmitError::Intake(IntakeError::OutputTooLarge { .. }) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "output_too_large",
                reason::OUTPUT_TOO_LARGE,
            ),
            SubmitError::Intake(IntakeError::TraceTooLong { .. }) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "trace_too_long",
                reason::TRACE_TOO_LONG,
            ),
            SubmitError::Intake(IntakeError::InvalidSignature { .. }) => (
                StatusCode::BAD_REQUEST,
                "invalid_signature",
                reason::INVALID_SIGNATURE,
            ),
            SubmitError::Intake(IntakeError::Unverified { .. }) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unverified",
                reason::UNVERIFIED,
            ),
            SubmitError::Intake(IntakeError::Equivocation(_)) => {
                (StatusCode::CONFLICT, "equivocation", reason::EQUIVOCATION)
            }
        };
        Refusal {
            status,
            code,
            metric,
        }
    }
}

impl IntoResponse for SubmitError {
    fn into_response(self) -> Response {
        let Refusal { status, code, .. } = self.response();
        (
            status,
            Json(ApiError {
                code: code.to_string(),
                message: self.to_string(),
            }),
        )
            .into_response()
    }
}

impl Aggregator {
    /// The HTTP API.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(SIGNATURES_PATH, post(submit_signature))
            .layer(DefaultBodyLimit::max(MAX_SUBMISSION_BYTES))
            .with_state(Arc::clone(self))
    }

    /// Binds the configured API address (port 0: any free port).
    pub async fn bind(&self) -> Result<TcpListener, ServiceError> {
        let addr = self.settings.listen;
        TcpListener::bind(addr)
            .await
            .map_err(|error| ServiceError::bind(addr, error))
    }

    /// Serves the API on `listener` until `shutdown`, within the HTTP limits of every Warden
    /// server ([`warden_runtime::http`]): a header-read timeout, a connection cap, and every error
    /// answer `{code, message}` JSON, counted in `warden_http_errors_total{server="api"}`.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), ServiceError> {
        let router = with_json_errors(self.router(), "api", self.metrics.node.http_errors.clone());
        warden_runtime::http::serve(listener, router, self.settings.http, "api", shutdown).await;
        Ok(())
    }
}

async fn submit_signature(
    State(aggregator): State<Arc<Aggregator>>,
    Json(submission): Json<SignatureSubmission>,
) -> Result<(StatusCode, Json<SubmissionReceipt>), SubmitError> {
    let result = aggregator.accept(&submission).await;
    match &result {
        Ok((_, Json(receipt))) => {
            let label = match receipt.status {
                SubmissionStatus::Accepted => "accepted",
                SubmissionStatus::Duplicate | SubmissionStatus::AlreadyCommitted => "duplicate",
            };
            aggregator
                .metrics
                .signatures_received
                .with_label_values(&[label])
                .inc();
        }
        Err(error) => aggregator.metrics.rejected(error.response().metric),
    }
    result
}

#[cfg(test)]
mod tests {
    use alloy::primitives::B256;

    use super::*;

    #[test]
    fn every_refusal_has_its_status_code_and_label() {
        let cases = [
            (
                SubmitError::UnknownTask(1),
                404,
                "unknown_task",
                "unknown_task",
            ),
            (
                SubmitError::Intake(IntakeError::UnknownTask(1)),
                404,
                "unknown_task",
                "unknown_task",
            ),
            (
                SubmitError::AlreadyCommitted(1),
                409,
                "already_committed",
                "task_closed",
            ),
            (
                SubmitError::TaskClosed(1),
                410,
                "task_closed",
                "task_closed",
            ),
            (
                SubmitError::Chain("down".into()),
                503,
                "chain_unavailable",
                "unavailable",
            ),
            (
                SubmitError::Unavailable("down".into()),
                503,
                "database_unavailable",
                "unavailable",
            ),
            (
                SubmitError::Intake(IntakeError::MalformedSignature("short".into())),
                400,
                "malformed_signature",
                "malformed_signature",
            ),
            (
                SubmitError::Intake(IntakeError::UnknownOperator {
                    operator_id: warden_protocol::OperatorId(B256::ZERO),
                    reference_block: 1,
                }),
                403,
                "unknown_operator",
                "unknown_operator",
            ),
            (
                SubmitError::Intake(IntakeError::InvalidSignature {
                    task_id: 1,
                    operator_id: warden_protocol::OperatorId(B256::ZERO),
                    output_hash: B256::ZERO,
                }),
                400,
                "invalid_signature",
                "invalid_signature",
            ),
            (
                SubmitError::Intake(IntakeError::Unverified {
                    task_id: 1,
                    operator_id: warden_protocol::OperatorId(B256::ZERO),
                }),
                503,
                "unverified",
                "unverified",
            ),
        ];
        for (error, status, code, metric) in cases {
            let refusal = error.response();
            assert_eq!(refusal.status.as_u16(), status, "{error}");
            assert_eq!(refusal.code, code, "{error}");
            assert_eq!(refusal.metric, metric, "{error}");
        }
    }
}
