//! A plain HTTPS GET (or HEAD) with a bound on the whole exchange (connection, answer
//! and body): the runner's OIDC token endpoint, the read-back through `public-url`
//! and `doctor`.
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
        let exchange = async {
            let response = self
                .0
                .request(request)
                .await
                .map_err(|e| HttpError::Transport(e.to_string()))?;
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
                .map_err(|e| HttpError::Transport(e.to_string()))?
                .to_bytes();
            Ok(Answer {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(limit, exchange)
            .await
            .map_err(|_| HttpError::Timeout(limit))?
    }
}
