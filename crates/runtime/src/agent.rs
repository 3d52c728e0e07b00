//! The agent a service runs, as its `[agent]` section names it ([`AgentSection`]): the shipped
//! reference agent, or the large agent of a WNET model file, read from a path or downloaded, and
//! taken only if it makes the pinned agent hash. Operators sign its outputs and challengers
//! re-execute it, so both build it here, the same way.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy::transports::http::reqwest::{self, StatusCode, Url};
use tokio::io::AsyncReadExt;
use warden_agent::{Agent, LoadError, NetworkAgent, Params};

use crate::config::{AgentSection, ConfigError, ModelSource};

/// The largest model file a service takes (the 10 M-parameter preset is 10 MB): a wrong path or
/// URL must not exhaust the node's memory before the file is even checked.
pub const MAX_MODEL_BYTES: u64 = 512 * 1024 * 1024;

/// How long a model download may take, from the request to the last byte.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// How long connecting to a model's server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the configured agent could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AgentLoadError {
    /// `[agent]` names a model without its agent hash, or a hash without a model.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The shipped reference agent does not build (a corrupted build).
    #[error("the reference agent: {0}")]
    Reference(#[from] warden_agent::ReferenceError),
    #[error("model file {0} does not exist")]
    Missing(PathBuf),
    #[error("reading model file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The server could not be reached, or the download failed or timed out.
    #[error("downloading model {url}: {source}")]
    Download {
        url: Url,
        #[source]
        source: reqwest::Error,
    },
    #[error("downloading model {url}: the server answered {status}")]
    Status { url: Url, status: StatusCode },
    #[error("model {model} is larger than {limit} bytes; not reading it")]
    TooLarge { model: ModelSource, limit: u64 },
    /// The file is not a WNET network, cannot be a large agent, or makes another agent than
    /// `agent.agent_hash`.
    #[error("model {model}: {source}")]
    Invalid {
        model: ModelSource,
        #[source]
        source: LoadError,
    },
    #[error("checking model {model}: {source}")]
    Interrupted {
        model: ModelSource,
        #[source]
        source: tokio::task::JoinError,
    },
}

/// The agent `section` configures: the reference agent for its router without a model; with one,
/// the large agent of the model file (with the reference parameters for the router), refused
/// unless it makes exactly `agent.agent_hash`. Logs what it runs.
pub async fn load_agent(section: &AgentSection) -> Result<Arc<dyn Agent>, AgentLoadError> {
    let Some((model, agent_hash)) = section.pinned_model()? else {
        let agent = warden_agent::reference_agent(section.router)?;
        tracing::info!(
            agent_hash = %agent.agent_hash(),
            model = "shipped reference model",
            parameters = agent.model().parameters(),
            "running the reference agent"
        );
        return Ok(Arc::new(agent));
    };
    let bytes = read_model(model, MAX_MODEL_BYTES).await?;
    let params = Params::reference(section.router);
    // Parsing and hashing millions of weights is seconds of CPU: off the async workers.
    let agent = tokio::task::spawn_blocking(move || NetworkAgent::load(bytes, params, agent_hash))
        .await
        .map_err(|source| AgentLoadError::Interrupted {
            model: model.clone(),
            source,
        })?
        .map_err(|source| AgentLoadError::Invalid {
            model: model.clone(),
            source,
        })?;
    tracing::info!(
        agent_hash = %agent.agent_hash(),
        %model,
        parameters = agent.network().parameters(),
        trace_length = agent.network().chunk_count(),
        "running the large agent of a model file"
    );
    Ok(Arc::new(agent))
}

/// The bytes of `model`, refused past `limit`.
async fn read_model(model: &ModelSource, limit: u64) -> Result<Vec<u8>, AgentLoadError> {
    match model {
        ModelSource::Path(path) => read_file(path, limit).await,
        ModelSource::Url(url) => download(url, limit).await,
    }
}

async fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, AgentLoadError> {
    let failed = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => AgentLoadError::Missing(path.to_path_buf()),
        _ => AgentLoadError::Read {
            path: path.to_path_buf(),
            source,
        },
    };
    let too_large = || AgentLoadError::TooLarge {
        model: ModelSource::Path(path.to_path_buf()),
        limit,
    };
    let file = tokio::fs::File::open(path).await.map_err(failed)?;
    if file.metadata().await.map_err(failed)?.len() > limit {
        return Err(too_large());
    }
    // The length can change between the check and the read: one byte past the limit tells.
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .await
        .map_err(failed)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

async fn download(url: &Url, limit: u64) -> Result<Vec<u8>, AgentLoadError> {
    let failed = |source: reqwest::Error| AgentLoadError::Download {
        url: url.clone(),
        source,
    };
    let too_large = || AgentLoadError::TooLarge {
        model: ModelSource::Url(url.clone()),
        limit,
    };
    tracing::info!(%url, "downloading the model file");
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(DOWNLOAD_TIMEOUT)
        .build()
        .map_err(failed)?;
    let mut response = client.get(url.clone()).send().await.map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Err(AgentLoadError::Status {
            url: url.clone(),
            status,
        });
    }
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(too_large());
    }
    // The announced length may be absent or wrong: the bytes themselves are counted.
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use alloy::primitives::{Address, B256};
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;
    use warden_agent::features::PRICE_MATRIX_WIDTH;
    use warden_agent::network::{Network, NetworkError};
    use warden_agent::network_agent_hash;

    const ROUTER: Address = Address::repeat_byte(0x42);

    /// A small large agent's network: 256 → 16 → 16 (residual) → 3 in chunks of 4.
    fn network() -> Network {
        Network::generate(PRICE_MATRIX_WIDTH, &[16, 16, 3], &[1], 4, 7).unwrap()
    }

    fn hash_of(network: &Network) -> B256 {
        network_agent_hash(network.hash(), &Params::reference(ROUTER))
    }

    fn pinned(model: ModelSource, agent_hash: B256) -> AgentSection {
        AgentSection {
            model: Some(model),
            agent_hash: Some(agent_hash),
            ..AgentSection::reference(ROUTER)
        }
    }

    fn model_file(dir: &tempfile::TempDir, bytes: &[u8]) -> ModelSource {
        let path = dir.path().join("large.wnet");
        std::fs::write(&path, bytes).unwrap();
        ModelSource::Path(path)
    }

    /// An HTTP server on 127.0.0.1 serving `bytes` at `/large.wnet` (404 elsewhere), until the
    /// sender is used or dropped.
    struct ModelServer {
        base: Url,
        stop: Option<oneshot::Sender<()>>,
        task: JoinHandle<std::io::Result<()>>,
    }

    impl ModelServer {
        async fn start(bytes: Vec<u8>) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}/", listener.local_addr().unwrap())
                .parse()
                .unwrap();
            let router = axum::Router::new().route(
                "/large.wnet",
                axum::routing::get(move || async move { bytes }),
            );
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
            });
            Self {
                base,
                stop: Some(stop),
                task,
            }
        }

        fn url(&self, path: &str) -> ModelSource {
            ModelSource::Url(self.base.join(path).unwrap())
        }

        async fn stop(self) {
            if let Some(stop) = self.stop {
                let _ = stop.send(());
            }
            self.task.await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn without_a_model_the_reference_agent_runs() {
        let agent = load_agent(&AgentSection::reference(ROUTER)).await.unwrap();
        assert_eq!(
            agent.agent_hash(),
            warden_agent::reference_agent(ROUTER).unwrap().agent_hash()
        );
        assert!(agent.network().is_none());
    }

    #[tokio::test]
    async fn a_model_file_loads_as_the_pinned_large_agent() {
        let network = network();
        let dir = tempfile::tempdir().unwrap();
        let model = model_file(&dir, network.as_bytes());
        let agent = load_agent(&pinned(model, hash_of(&network))).await.unwrap();
        assert_eq!(agent.agent_hash(), hash_of(&network));
        assert_eq!(
            agent.network().map(|agent| agent.network().hash()),
            Some(network.hash())
        );
    }

    #[tokio::test]
    async fn a_model_url_loads_as_the_pinned_large_agent_and_a_404_is_named() {
        let network = network();
        let server = ModelServer::start(network.as_bytes().to_vec()).await;
        let agent = load_agent(&pinned(server.url("large.wnet"), hash_of(&network)))
            .await
            .unwrap();
        assert_eq!(agent.agent_hash(), hash_of(&network));

        let missing = server.url("missing.wnet");
        let error = load_agent(&pinned(missing.clone(), hash_of(&network)))
            .await
            .unwrap_err();
        assert!(
            matches!(error, AgentLoadError::Status { status, .. } if status == StatusCode::NOT_FOUND),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&missing.to_string()) && message.contains("404"),
            "{message}"
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn a_model_of_another_agent_is_refused_naming_both_hashes() {
        let network = network();
        let dir = tempfile::tempdir().unwrap();
        let model = model_file(&dir, network.as_bytes());
        let pinned_hash = B256::repeat_byte(0xab);
        let error = load_agent(&pinned(model.clone(), pinned_hash))
            .await
            .unwrap_err();
        let AgentLoadError::Invalid {
            source: LoadError::HashMismatch { expected, actual },
            ..
        } = &error
        else {
            panic!("{error}");
        };
        assert_eq!((*expected, *actual), (pinned_hash, hash_of(&network)));
        let message = error.to_string();
        for named in [
            pinned_hash.to_string(),
            hash_of(&network).to_string(),
            model.to_string(),
        ] {
            assert!(message.contains(&named), "{named} in {message}");
        }

        // The same file with another router is another agent.
        let other_router = AgentSection {
            router: Address::repeat_byte(0x43),
            ..pinned(model, hash_of(&network))
        };
        assert!(matches!(
            load_agent(&other_router).await.unwrap_err(),
            AgentLoadError::Invalid {
                source: LoadError::HashMismatch { .. },
                ..
            }
        ));
    }

    #[tokio::test]
    async fn a_malformed_model_is_refused_naming_the_problem() {
        let network = network();
        let mut bytes = network.as_bytes().to_vec();
        bytes[0] = b'X';
        let dir = tempfile::tempdir().unwrap();
        let model = model_file(&dir, &bytes);
        let error = load_agent(&pinned(model.clone(), hash_of(&network)))
            .await
            .unwrap_err();
        assert!(
            matches!(
                &error,
                AgentLoadError::Invalid {
                    source: LoadError::Malformed(NetworkError::BadMagic { .. }),
                    ..
                }
            ),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("not a WNET network file") && message.contains(&model.to_string()),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_missing_model_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.wnet");
        let error = load_agent(&pinned(
            ModelSource::Path(path.clone()),
            B256::repeat_byte(1),
        ))
        .await
        .unwrap_err();
        assert!(
            matches!(&error, AgentLoadError::Missing(missing) if *missing == path),
            "{error}"
        );
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_half_pinned_section_is_a_configuration_error() {
        let section = AgentSection {
            agent_hash: Some(B256::repeat_byte(1)),
            ..AgentSection::reference(ROUTER)
        };
        let error = load_agent(&section).await.unwrap_err();
        assert!(
            matches!(
                error,
                AgentLoadError::Config(ConfigError::Invalid {
                    key: "agent.model",
                    ..
                })
            ),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_model_past_the_limit_is_not_read() {
        let bytes = network().as_bytes().to_vec();
        let limit = bytes.len() as u64 - 1;
        let dir = tempfile::tempdir().unwrap();
        let file = model_file(&dir, &bytes);
        assert!(matches!(
            read_model(&file, limit).await.unwrap_err(),
            AgentLoadError::TooLarge { .. }
        ));
        assert_eq!(read_model(&file, bytes.len() as u64).await.unwrap(), bytes);

        // Announced by Content-Length.
        let server = ModelServer::start(bytes.clone()).await;
        assert!(matches!(
            read_model(&server.url("large.wnet"), limit)
                .await
                .unwrap_err(),
            AgentLoadError::TooLarge { .. }
        ));
        server.stop().await;

        // Not announced: the body ends when the server closes the connection, and is counted.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url: Url = format!("http://{}/large.wnet", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let body = bytes.clone();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            while !request.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                if stream.read(&mut byte).await.unwrap() == 0 {
                    return;
                }
                request.push(byte[0]);
            }
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            // The client may hang up once it has seen too much.
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        });
        assert!(matches!(
            read_model(&ModelSource::Url(url), limit).await.unwrap_err(),
            AgentLoadError::TooLarge { .. }
        ));
        server.await.unwrap();
    }
}
