//! The binary's own TLS (rustls over `ring`; the SDK crates come without their
//! default client): against moto behind an HTTPS front, the server is verified with
//! the system's roots, or with `SSL_CERT_FILE`.

use crate::common::tls::TlsFront;
use crate::common::*;

const SUBSCRIPTIONS_FILES: usize = 12;

#[test]
fn a_deploy_over_https_verifies_the_server_certificate() {
    let (moto, bucket, ws) = setup("tls");
    let front = TlsFront::start(moto);

    // The test's certificate is in no root store: nothing is sent in the clear,
    // nothing is written.
    let refused = ActionStep::push(&ws, moto, "subscriptions", &bucket)
        .input("endpoint-url", &front.url)
        .run();
    assert_eq!(refused.code(), 1, "{}", refused.all_text());
    assert!(
        refused.stderr().to_lowercase().contains("certificate"),
        "{}",
        refused.stderr()
    );
    assert!(keys(moto, &bucket).is_empty());

    let trusted = ActionStep::push(&ws, moto, "subscriptions", &bucket)
        .input("endpoint-url", &front.url)
        .env("SSL_CERT_FILE", front.certificate.to_str().unwrap())
        .run();
    assert_eq!(
        trusted.code(),
        0,
        "{}\n{}",
        trusted.all_text(),
        front.error_log()
    );
    assert_eq!(trusted.out("uploaded"), SUBSCRIPTIONS_FILES.to_string());
    assert!(keys(moto, &bucket).len() > SUBSCRIPTIONS_FILES);
}
