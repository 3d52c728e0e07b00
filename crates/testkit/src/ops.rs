//! The operations endpoints a Warden service serves, as a test reads them: where they are (from
//! the line a service logs when it starts), its Prometheus metrics parsed as exposition format,
//! and the EigenLayer node API's health.

/// The value of `key` in a log line of `tracing`'s default format (`key=value`, fields separated
/// by spaces), e.g. the metrics URL a service logs when it starts.
pub fn log_field(line: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    line.split_whitespace()
        .find_map(|field| field.strip_prefix(prefix.as_str()))
        .map(|value| value.trim_matches('"').to_string())
}

/// The metrics and node API URLs in the line a Warden service logs when it has started.
pub fn ops_urls(start_line: &str) -> Option<(String, String)> {
    Some((
        log_field(start_line, "metrics")?,
        log_field(start_line, "node_api")?,
    ))
}

/// The text `metrics_url` serves (Prometheus exposition format); `None` if nothing answers.
pub async fn metrics_text(metrics_url: &str) -> Option<String> {
    reqwest::get(metrics_url).await.ok()?.text().await.ok()
}

/// A scrape of `metrics_url`, parsed as Prometheus exposition format; `None` if nothing answers
/// or the answer does not parse.
pub async fn scrape(metrics_url: &str) -> Option<prometheus_parse::Scrape> {
    let text = metrics_text(metrics_url).await?;
    prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).ok()
}

/// The value of the sample `metric` with `label` in `scrape`: a counter's, gauge's or untyped
/// value, a histogram's observation count.
pub fn sample_value(
    scrape: &prometheus_parse::Scrape,
    metric: &str,
    label: (&str, &str),
) -> Option<f64> {
    match &find_sample(scrape, metric, label)?.value {
        prometheus_parse::Value::Counter(value)
        | prometheus_parse::Value::Gauge(value)
        | prometheus_parse::Value::Untyped(value) => Some(*value),
        prometheus_parse::Value::Histogram(buckets) => Some(
            buckets
                .last()
                .map(|bucket| bucket.count)
                .unwrap_or_default(),
        ),
        prometheus_parse::Value::Summary(_) => None,
    }
}

/// The value of the counter `metric` with `label` in a scrape of `metrics_url`; `None` if the
/// scrape fails, does not parse or lacks it.
pub async fn scrape_counter(metrics_url: &str, metric: &str, label: (&str, &str)) -> Option<f64> {
    let scrape = scrape(metrics_url).await?;
    match find_sample(&scrape, metric, label)?.value {
        prometheus_parse::Value::Counter(value) => Some(value),
        _ => None,
    }
}

fn find_sample<'a>(
    scrape: &'a prometheus_parse::Scrape,
    metric: &str,
    label: (&str, &str),
) -> Option<&'a prometheus_parse::Sample> {
    scrape
        .samples
        .iter()
        .find(|sample| sample.metric == metric && sample.labels.get(label.0) == Some(label.1))
}

/// What a running service's operations endpoints failed to show.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpsCheckError {
    #[error("the start line names no metrics and node API endpoints: {0}")]
    NoEndpoints(String),
    #[error("{metric} is {value:?} in a parsed scrape, not at least 1")]
    NotCounted { metric: String, value: Option<f64> },
    #[error("the node API's health is {0:?}, not 200 or 206")]
    Unhealthy(Option<u16>),
}

/// Checks the operations endpoints named in a service's `start_line`: the counter `metric` with
/// `label` is at least 1 in a parsed scrape, and the node API answers healthy (200, or 206 while
/// syncing). Returns the node API URL, to check it turns unhealthy once the chain is gone.
pub async fn check_serving(
    start_line: &str,
    metric: &str,
    label: (&str, &str),
) -> Result<String, OpsCheckError> {
    let (metrics, node_api) =
        ops_urls(start_line).ok_or_else(|| OpsCheckError::NoEndpoints(start_line.to_string()))?;
    let value = scrape_counter(&metrics, metric, label).await;
    if !value.is_some_and(|value| value >= 1.0) {
        return Err(OpsCheckError::NotCounted {
            metric: metric.to_string(),
            value,
        });
    }
    match health_status(&node_api).await {
        Some(200 | 206) => Ok(node_api),
        other => Err(OpsCheckError::Unhealthy(other)),
    }
}

/// The HTTP status of `GET <node_api_url>/health`, or `None` when nothing answers.
pub async fn health_status(node_api_url: &str) -> Option<u16> {
    reqwest::get(format!("{node_api_url}/health"))
        .await
        .ok()
        .map(|response| response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_line_names_both_endpoints() {
        let line = r#"INFO warden_aggregator: aggregator started api=127.0.0.1:1 metrics="http://127.0.0.1:2/metrics" node_api=http://127.0.0.1:3/eigen/node"#;
        assert_eq!(
            ops_urls(line),
            Some((
                "http://127.0.0.1:2/metrics".to_string(),
                "http://127.0.0.1:3/eigen/node".to_string()
            ))
        );
        assert_eq!(ops_urls("INFO started api=127.0.0.1:1"), None);
    }

    #[test]
    fn samples_are_found_by_name_and_label() {
        let text = "# TYPE calls_total counter\ncalls_total{method=\"a\"} 2\ncalls_total{method=\"b\"} 5\n";
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).unwrap();
        assert_eq!(
            sample_value(&scrape, "calls_total", ("method", "b")),
            Some(5.0)
        );
        assert_eq!(sample_value(&scrape, "calls_total", ("method", "c")), None);
    }
}
