//! Credentials: native OIDC against moto's STS, and secrets that never leak.

use crate::common::*;

const ID_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvc3RvcmVmcm9udDpyZWY6cmVmcy9oZWFkcy9tYXN0ZXIifQ.c2lnbmF0dXJlLW1mZS10ZXN0";
const REQUEST_TOKEN: &str = "runtime-request-token-Qm4kP7vX2";
const ROLE: &str = "arn:aws:iam::111111111111:role/mfe-deploy-production";

#[test]
fn oidc_role_is_assumed_with_the_jobs_token_and_every_credential_is_masked() {
    let (moto, bucket, ws) = setup("oidc");
    let tokens = TokenServer::start(ID_TOKEN);
    let run = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("aws-access-key-id", "")
        .input("aws-secret-access-key", "")
        .input("role-to-assume", ROLE)
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &tokens.url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert_eq!(run.out("uploaded"), "14");

    let requests = tokens.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (line, authorization) = &requests[0];
    assert!(line.starts_with("GET /_apis/distributedtask/hubs/build/plans/5d8f/jobs/9a1c/idtoken?api-version=2.0&audience=sts.amazonaws.com "), "{line}");
    assert_eq!(authorization, &format!("bearer {REQUEST_TOKEN}"));

    // The S3 requests were signed with the temporary key STS issued, which is masked.
    let masked: Vec<String> = run
        .stdout()
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::").map(str::to_owned))
        .collect();
    let signed_with: Vec<String> = moto
        .requests(&bucket)
        .into_iter()
        .filter(|r| !(r.method == "PUT" && r.key.is_empty())) // the harness's CreateBucket
        .filter_map(|r| r.access_key)
        .collect();
    assert!(!signed_with.is_empty());
    assert!(
        signed_with
            .iter()
            .all(|k| k.starts_with("ASIA") && masked.contains(k)),
        "{signed_with:?} / {masked:?}"
    );
    assert!(masked.contains(&ID_TOKEN.to_owned()));
    assert!(masked.contains(&REQUEST_TOKEN.to_owned()));
    assert_eq!(
        masked.len(),
        5,
        "request token, ID token, key id, secret, session token: {masked:?}"
    );
    for secret in &masked {
        let text = run.all_text().replace(&format!("::add-mask::{secret}"), "");
        assert!(!text.contains(secret.as_str()), "{secret} leaked");
    }
}

#[test]
fn role_without_id_token_permission_is_a_clear_setup_error() {
    let (moto, bucket, ws) = setup("oidc-no-permission");
    let run = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("aws-access-key-id", "")
        .input("aws-secret-access-key", "")
        .input("role-to-assume", ROLE)
        .run();
    assert_eq!(run.code(), 2, "{}", run.all_text());
    assert!(
        run.all_text().contains("permissions: id-token: write"),
        "{}",
        run.all_text()
    );
    assert!(keys(moto, &bucket).is_empty());
}

#[test]
fn role_from_the_environment_config_is_used() {
    let (moto, bucket, ws) = setup("oidc-config");
    ws.write(
        "mfe-deploy.yml",
        format!("environments:\n  production:\n    branches: [master]\n    bucket: {bucket}\n    role-to-assume: {ROLE}\n").as_bytes(),
    );
    let tokens = TokenServer::start(ID_TOKEN);
    let run = ActionStep::push(&ws, moto, "checkout", "")
        .input("bucket", "")
        .input("aws-access-key-id", "")
        .input("aws-secret-access-key", "")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &tokens.url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert_eq!(tokens.requests.lock().unwrap().len(), 1);
    assert!(
        run.stderr().contains(&format!("assumed {ROLE}")),
        "{}",
        run.stderr()
    );
}

#[test]
fn with_full_tracing_the_oidc_tokens_and_the_assumed_keys_appear_only_in_masks() {
    let (moto, bucket, ws) = setup("oidc-trace");
    let tokens = TokenServer::start(ID_TOKEN);
    let run = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("aws-access-key-id", "")
        .input("aws-secret-access-key", "")
        .input("role-to-assume", ROLE)
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &tokens.url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
        .env("MFE_DEPLOY_LOG", "trace")
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert!(run.stderr().len() > 10_000, "tracing is on");
    let masked: Vec<String> = run
        .stdout()
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::").map(str::to_owned))
        .collect();
    assert_eq!(masked.len(), 5, "{masked:?}");
    // NOTE: the SDK's traces name the access key id (an identifier, not a secret;
    // the runner masks it all the same); everything secret stays out.
    for secret in masked.iter().filter(|m| !m.starts_with("ASIA")) {
        let text = run.all_text().replace(&format!("::add-mask::{secret}"), "");
        let leaks: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(secret.as_str()))
            .map(|l| &l[..l.len().min(300)])
            .collect();
        assert!(
            leaks.is_empty(),
            "{secret} leaked with tracing on: {leaks:#?}"
        );
    }
}

#[test]
fn a_denied_role_prints_the_claims_trust_policies_match_on_and_never_the_token() {
    let (moto, bucket, ws) = setup("oidc-denied");
    // A GitHub-shaped token of a job that runs without a GitHub environment.
    let payload = r#"{"sub":"repo:acme/storefront:ref:refs/heads/master","aud":"sts.amazonaws.com","repository":"acme/storefront","ref":"refs/heads/master","job_workflow_ref":"acme/storefront/.github/workflows/deploy.yml@refs/heads/master"}"#;
    let id_token = format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJlLWRlbmllZC10ZXN0",
        base64_simd::URL_SAFE_NO_PAD.encode_to_string(payload)
    );
    let tokens = TokenServer::start(&id_token);
    // STS (through a proxy in front of moto) refuses AssumeRoleWithWebIdentity, as AWS
    // does when the trust policy's conditions do not match.
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.add(Rule {
        method: "POST",
        target_prefix: "/".to_owned(),
        fault: Fault::Answer {
            status: 403,
            body: "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>1</RequestId></ErrorResponse>".to_owned(),
        },
        times: Some(1),
    });
    let run = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("endpoint-url", &proxy.endpoint)
        .input("aws-access-key-id", "")
        .input("aws-secret-access-key", "")
        .input("role-to-assume", ROLE)
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &tokens.url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
        .env("RUST_LOG", "trace")
        .run();
    assert_eq!(run.code(), 2, "{}", run.all_text());
    assert_eq!(proxy.faulted().len(), 1, "{:?}", proxy.seen());
    let text = run.all_text();
    for claim in [
        "sub=repo:acme/storefront:ref:refs/heads/master",
        "aud=sts.amazonaws.com",
        "repository=acme/storefront",
        "ref=refs/heads/master",
        "environment=(none)",
        "job_workflow_ref=acme/storefront/.github/workflows/deploy.yml@refs/heads/master",
    ] {
        assert!(text.contains(claim), "{claim} missing: {text}");
    }
    assert!(text.contains("without a GitHub environment"), "{text}");
    // Masked, and nowhere else: not in the error, the summary, the outputs or the trace.
    let unmasked = text.replace(&format!("::add-mask::{id_token}"), "");
    assert!(
        !unmasked.contains(&id_token),
        "the token leaked: {unmasked}"
    );
    assert!(
        !unmasked.contains("c2lnbmF0dXJlLWRlbmllZC10ZXN0"),
        "the signature leaked"
    );
    assert!(keys(moto, &bucket).is_empty());
}
