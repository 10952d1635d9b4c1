//! HTTPS in front of moto: nginx terminating TLS with a certificate made for the
//! test (by the `openssl` command-line tool), so the binary's own TLS stack (rustls
//! over `ring`, with the system's roots or `SSL_CERT_FILE`) is what connects.

use super::cache::{Nginx, free_loopback_port};
use super::*;

/// moto's whole S3 API over HTTPS.
pub struct TlsFront {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The certificate (PEM) the front presents; trust it with `SSL_CERT_FILE`.
    pub certificate: PathBuf,
    nginx: Nginx,
    _keys: tempfile::TempDir,
}

impl TlsFront {
    pub fn start(moto: &Moto) -> Self {
        let keys = tempfile::tempdir().expect("tempdir");
        let certificate = keys.path().join("cert.pem");
        let key = keys.path().join("key.pem");
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            // NOTE: webpki refuses a CA certificate as the server's own; this one is a
            // leaf that is its own trust anchor.
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&certificate)
            .output()
            .unwrap_or_else(|e| panic!("the openssl command makes the test's certificate: {e}"));
        assert!(
            made.status.success(),
            "openssl req: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        let tls_port = free_loopback_port();
        let origin = moto.endpoint.trim_start_matches("http://").to_owned();
        let (cert, key_path) = (certificate.clone(), key.clone());
        let nginx = Nginx::start(move |_, port| {
            let (cert, key_path) = (cert.display(), key_path.display());
            format!(
                r#"    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{port};
        location = /-/ready {{
            return 204;
        }}
    }}
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key_path};
        location / {{
            proxy_pass http://{origin};
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
        }}
    }}"#
            )
        });
        Self {
            url: format!("https://127.0.0.1:{tls_port}"),
            certificate,
            nginx,
            _keys: keys,
        }
    }

    pub fn error_log(&self) -> String {
        self.nginx.error_log()
    }
}
