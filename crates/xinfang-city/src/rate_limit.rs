//! The request rate limits of enrolment and the console's login, kept in the database
//! ([`Storage::take_rate_token`]): every instance on one PostgreSQL takes from the same
//! buckets, so N instances behind a proxy give a code guesser no more than one does. The time
//! is the server's clock ([`crate::api::ServerSettings::clock`]), injected in tests.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::{AppState, Failure, Limits, blocking};
use crate::storage::RateBucket;

/// The buckets' shapes and who may name a client's address.
#[derive(Debug, Clone)]
pub(crate) struct RateLimits {
    enrol_global: RateBucket,
    enrol_per_address: RateBucket,
    login_per_address: RateBucket,
    trusted_proxies: Arc<[IpAddr]>,
}

impl RateLimits {
    pub(crate) fn new(limits: &Limits) -> RateLimits {
        RateLimits {
            enrol_global: RateBucket::new(limits.enrol_period, limits.enrol_burst),
            enrol_per_address: RateBucket::new(
                limits.enrol_period_per_address,
                limits.enrol_burst_per_address,
            ),
            // Wrong passwords are limited per account in the database; this limits how fast
            // one address can try accounts at all.
            login_per_address: RateBucket::new(std::time::Duration::from_secs(6), 10),
            trusted_proxies: limits.trusted_proxies.clone().into(),
        }
    }
}

pub(crate) type RateState = (AppState, Arc<RateLimits>);

/// The client's address: the peer's, or the client a trusted proxy names
/// ([`Limits::trusted_proxies`]). A router served without connection info (in process, as the
/// simulation harness does) counts every request as one address, so the server-wide rate still
/// holds and nothing fails.
fn client_address(req: &Request, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match peer {
        Some(ip) if trusted_proxies.contains(&ip) => forwarded_client(req.headers()).or(peer),
        _ => peer,
    }
}

/// The client a proxy names: the last `X-Forwarded-For` entry (earlier ones came from the
/// client and prove nothing).
fn forwarded_client(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|last| last.trim().parse().ok())
}

fn address_key(kind: &str, addr: Option<IpAddr>) -> String {
    match addr {
        Some(ip) => format!("{kind}:addr:{ip}"),
        None => format!("{kind}:addr:-"),
    }
}

/// Takes a token from each bucket in turn; the first that refuses answers (ms to wait), and
/// the buckets after it are not touched: one address's refusals use none of the server's.
async fn take(
    state: &AppState,
    buckets: Vec<(String, RateBucket)>,
) -> Result<Option<i64>, Failure> {
    let storage = state.storage.clone();
    let now_ms = state.settings.clock.now().timestamp_millis();
    blocking(move || {
        for (key, bucket) in &buckets {
            if let Some(wait) = storage.take_rate_token(key, now_ms, *bucket)? {
                return Ok(Some(wait));
            }
        }
        Ok(None)
    })
    .await
}

/// Whole seconds to wait, at least one (`Retry-After`).
fn wait_secs(wait_ms: i64) -> i64 {
    ((wait_ms + 999) / 1000).max(1)
}

fn too_many(message: String, secs: i64) -> Response {
    let mut resp =
        Failure::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message).into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// `POST /v1/enrol`: the address's allowance, then the server's (429 with `Retry-After`).
pub(crate) async fn enrol(
    State((state, limits)): State<RateState>,
    req: Request,
    next: Next,
) -> Response {
    let addr = client_address(&req, &limits.trusted_proxies);
    let buckets = vec![
        (address_key("enrol", addr), limits.enrol_per_address),
        ("enrol:global".to_owned(), limits.enrol_global),
    ];
    match take(&state, buckets).await {
        Ok(None) => next.run(req).await,
        Ok(Some(wait)) => {
            let secs = wait_secs(wait);
            tracing::warn!(wait_secs = secs, "enrolment rate limit reached");
            too_many(
                format!("登记请求太频繁：为防止猜测登记码，请 {secs} 秒后再试。"),
                secs,
            )
        }
        Err(f) => f.into_response(),
    }
}

/// `POST /admin/api/login`: the address's allowance (429 with `Retry-After`).
pub(crate) async fn login(
    State((state, limits)): State<RateState>,
    req: Request,
    next: Next,
) -> Response {
    let addr = client_address(&req, &limits.trusted_proxies);
    let buckets = vec![(address_key("login", addr), limits.login_per_address)];
    match take(&state, buckets).await {
        Ok(None) => next.run(req).await,
        Ok(Some(wait)) => {
            let secs = wait_secs(wait);
            tracing::warn!(wait_secs = secs, "console login rate limit reached");
            too_many(format!("登录尝试太频繁：请 {secs} 秒后再试。"), secs)
        }
        Err(f) => f.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(wait_secs(1), 1);
        assert_eq!(wait_secs(1000), 1);
        assert_eq!(wait_secs(1001), 2);
        assert_eq!(wait_secs(3_600_000), 3600);
    }

    #[test]
    fn only_a_trusted_proxys_last_forwarded_entry_counts() {
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "10.9.9.1, 10.0.0.7".parse().unwrap());
        assert_eq!(forwarded_client(&headers), "10.0.0.7".parse().ok());
        assert_eq!(address_key("enrol", None), "enrol:addr:-");
    }
}
