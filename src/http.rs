//! A plain HTTPS GET (or HEAD) with a bound on the whole exchange (connection, answer
//! and body): the runner's OIDC token endpoint, the read-back through `public-url`
//! and `doctor`. A connection that fails under a request is tried again, a few
//! times within the bound (both methods are idempotent).
//! rustls with the system's roots; plain HTTP for loopback test servers.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// One answer, whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Answer {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no answer came.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    /// Nothing whole within the bound.
    #[error("no answer within {}s", .0.as_secs())]
    Timeout(Duration),
    /// The URL, the connection or the body failed.
    #[error("{0}")]
    Transport(String),
}

/// A client; cheap to clone.
#[derive(Clone)]
pub struct HttpClient(Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>);

impl HttpClient {
    pub fn new() -> Result<Self, HttpError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| HttpError::Transport(format!("no TLS root certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self(Client::builder(TokioExecutor::new()).build(https)))
    }

    /// GETs `url` with `headers`; the whole exchange within `limit`.
    pub async fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        limit: Duration,
    ) -> Result<Answer, HttpError> {
        self.send(http::Method::GET, url, headers, limit).await
    }

    /// HEADs `url` with `headers`: the status and headers, no body.
    pub async fn head(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        limit: Duration,
    ) -> Result<Answer, HttpError> {
        self.send(http::Method::HEAD, url, headers, limit).await
    }

    async fn send(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
        limit: Duration,
    ) -> Result<Answer, HttpError> {
        let mut request = http::Request::builder().method(method).uri(url).header(
            "User-Agent",
            concat!("mfe-deploy/", env!("CARGO_PKG_VERSION")),
        );
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| HttpError::Transport(e.to_string()))?;
        // NOTE: GET and HEAD are idempotent: a connection that fails under a request
        // (a pooled one the server closed as it was reused, a reset) is tried again,
        // a few times, within the same bound. One that could not be made (the name,
        // the address, TLS), or a request that is wrong, is not: that does not come
        // right in milliseconds.
        let exchange = async {
            let mut attempt = 1;
            loop {
                match self.exchange(clone_of(&request)).await {
                    Err(Failure::Under(why)) if attempt < TRANSPORT_ATTEMPTS => {
                        tracing::debug!("{} {url}: {why}; trying again", request.method());
                        tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                        attempt += 1;
                    }
                    Err(Failure::Under(why) | Failure::Final(why)) => {
                        return Err(HttpError::Transport(why));
                    }
                    Ok(answer) => return Ok(answer),
                }
            }
        };
        tokio::time::timeout(limit, exchange)
            .await
            .map_err(|_| HttpError::Timeout(limit))?
    }

    /// One request and its whole answer.
    async fn exchange(&self, request: http::Request<Empty<Bytes>>) -> Result<Answer, Failure> {
        let response = self.0.request(request).await.map_err(|e| {
            let cause = std::error::Error::source(&e).and_then(|s| s.downcast_ref());
            if !e.is_connect() && cause.is_some_and(failed_under) {
                Failure::Under(e.to_string())
            } else {
                Failure::Final(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| {
                if failed_under(&e) {
                    Failure::Under(e.to_string())
                } else {
                    Failure::Final(e.to_string())
                }
            })?
            .to_bytes();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// How one try failed.
enum Failure {
    /// The connection failed under the request or its answer: worth another try.
    Under(String),
    /// No connection could be made, or the request itself is wrong.
    Final(String),
}

/// Whether an error is a connection failing under a request: closed before the
/// answer was whole, canceled with it, or an I/O error on it.
fn failed_under(e: &hyper::Error) -> bool {
    e.is_incomplete_message()
        || e.is_canceled()
        || e.is_closed()
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// Tries of one request whose connection fails under it.
const TRANSPORT_ATTEMPTS: u32 = 3;

/// A copy of a request without a body, for another try.
fn clone_of(request: &http::Request<Empty<Bytes>>) -> http::Request<Empty<Bytes>> {
    let mut copy = http::Request::new(Empty::new());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A server that drops the first `dropped` connections after reading their
    /// request, then answers `hello`; returns its URL and the connections it took.
    async fn flaky_server(dropped: usize) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        let taken = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&taken);
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                if counted.fetch_add(1, Ordering::SeqCst) < dropped {
                    drop(socket);
                    continue;
                }
                let answer =
                    "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello";
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (url, taken)
    }

    #[tokio::test]
    async fn a_connection_dropped_under_a_request_is_tried_again() {
        let (url, taken) = flaky_server(2).await;
        let client = HttpClient::new().unwrap();
        let answer = client
            .get(&url, &[], Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!((answer.status, &answer.body[..]), (200, &b"hello"[..]));
        assert_eq!(taken.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_server_that_keeps_dropping_is_tried_three_times() {
        let (url, taken) = flaky_server(usize::MAX).await;
        let client = HttpClient::new().unwrap();
        let failed = client.head(&url, &[], Duration::from_secs(10)).await;
        assert!(matches!(failed, Err(HttpError::Transport(_))), "{failed:?}");
        assert_eq!(taken.load(Ordering::SeqCst), 3);
    }
}
