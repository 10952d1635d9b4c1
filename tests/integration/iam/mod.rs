//! The permission policy of docs/environments.md is all the tool needs: in-place and
//! versioned deploys, a rollback, `prune` and `history` run under exactly that policy
//! on a moto that enforces IAM, and a policy without one of its statements is caught.
//! The policy is read from the docs at test time, so the two cannot drift apart.

use std::path::Path;

use serde_json::Value;

use crate::common::*;

mod policy;
mod previews;

/// The bucket the docs' policy names; each test puts its own in its place.
const DOCS_BUCKET: &str = "my-prod-bucket";

/// The JSON block of docs/environments.md's permission policy section, for `bucket`.
fn documented_policy(bucket: &str) -> Value {
    policy_in(
        "docs/environments.md",
        "### Permission policy (least privilege)\n",
        DOCS_BUCKET,
        bucket,
    )
}

/// The JSON block of the section `heading` of the page `doc`, its bucket `docs_bucket`
/// replaced by `bucket`.
fn policy_in(doc: &str, heading: &str, docs_bucket: &str, bucket: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&path).unwrap();
    let section = text
        .split_once(heading)
        .expect("the docs have a permission policy section")
        .1
        .split("\n#")
        .next()
        .unwrap_or_default();
    let json = section
        .split_once("```json\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .expect("the section holds a JSON block")
        .0;
    serde_json::from_str(&json.replace(docs_bucket, bucket)).expect("the policy is JSON")
}

/// `policy` without the statement `sid`.
fn without(policy: &Value, sid: &str) -> Value {
    let mut policy = policy.clone();
    let statements = policy["Statement"].as_array_mut().unwrap();
    let before = statements.len();
    statements.retain(|s| s["Sid"] != sid);
    assert_eq!(statements.len() + 1, before, "the docs' policy has a {sid}");
    policy
}

/// One value or a list of them, as IAM writes `Action` and `Resource`.
fn values(v: &Value) -> Vec<&str> {
    match v {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        other => other.as_str().into_iter().collect(),
    }
}

/// `policy` as moto can enforce it; everything but the two changes below is verbatim,
/// and `assert_within_the_letter_of` checks by hand what the changes let through.
fn for_moto(policy: &Value, bucket: &str) -> String {
    let mut policy = policy.clone();
    for statement in policy["Statement"].as_array_mut().unwrap() {
        let statement = statement.as_object_mut().unwrap();
        // NOTE: moto passes no request context keys (`s3:prefix`) to S3's policy
        // evaluation, and a statement whose condition it cannot evaluate denies the
        // request outright (moto/iam/access_control.py,
        // `IAMPolicyStatement.is_action_permitted`), so the conditions go.
        statement.remove("Condition");
        // NOTE: moto authorizes a DeleteObjects request as `s3:DeleteObject` on the
        // bucket's ARN, then checks each key against the bucket policy only
        // (moto/s3/responses.py, `_bucket_response_post`); AWS checks each key
        // against the role's policy. The bucket ARN lets the request through.
        if values(&statement["Action"]).contains(&"s3:DeleteObject") {
            let mut resources: Vec<Value> = values(&statement["Resource"])
                .into_iter()
                .map(Value::from)
                .collect();
            resources.push(Value::from(format!("arn:aws:s3:::{bucket}")));
            statement.insert("Resource".to_owned(), Value::from(resources));
        }
    }
    policy.to_string()
}

/// IAM's `StringLike` and resource matching: `*` is any run of characters (the docs'
/// policy uses no `?`).
fn like(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((head, rest)) => value.strip_prefix(head).is_some_and(|tail| {
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| like(rest, &tail[i..]))
        }),
    }
}

/// An S3 that enforces IAM, a CloudFront beside it (moto cannot authenticate
/// CloudFront requests), one endpoint routing to both, and a user with a policy.
struct Site {
    s3: Moto,
    bucket: String,
    distribution: String,
    router: FaultProxy,
    key: String,
    secret: String,
}

impl Site {
    /// `policy` is given the bucket's name; `seed` writes objects before enforcement
    /// starts (nothing but the user's own requests is allowed after).
    fn start(name: &str, policy: impl Fn(&str) -> Value, seed: impl FnOnce(&Moto, &str)) -> Self {
        let s3 = Moto::start(&[]);
        let bucket = bucket(&s3, name);
        seed(&s3, &bucket);
        let distribution = create_distribution(shared(), &bucket, "");
        let (key, secret) = iam_user(&s3, Some(&for_moto(&policy(&bucket), &bucket)));
        let (status, body) = http(
            "POST",
            &s3.endpoint,
            "/moto-api/recorder/start-recording",
            "",
        )
        .expect("start recording");
        assert_eq!(status, 200, "{body}");
        enforce_auth(&s3);
        let router = FaultProxy::routed(&s3.endpoint, &shared().endpoint);
        Self {
            s3,
            bucket,
            distribution,
            router,
            key,
            secret,
        }
    }

    /// A push deploy of `package` with the user's credentials.
    fn step<'a>(&self, ws: &'a Workspace, package: &str) -> ActionStep<'a> {
        ActionStep::push(ws, &self.s3, package, &self.bucket)
            .credentials(&self.key, &self.secret)
            .input("distribution-id", &self.distribution)
            .input("endpoint-url", &self.router.endpoint)
            .input("public-url", "https://shop.example.com")
    }

    /// `mfe-deploy <args>` run locally with the user's credentials.
    fn cli(&self, ws: &Workspace, args: &[&str]) -> std::process::Output {
        let mut command = cli_command(ws);
        command
            .env("AWS_ACCESS_KEY_ID", &self.key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .args(args)
            .args([
                "--bucket",
                &self.bucket,
                "--endpoint-url",
                &self.router.endpoint,
            ]);
        output_within(&mut command, DEFAULT_DEADLINE)
    }

    /// The keys under `prefix`, listed as the user (so that only prefixes the docs
    /// allow are listed: the recording counts these too).
    fn keys(&self, prefix: &str) -> Vec<String> {
        let user = client(&self.s3.endpoint, &self.key, &self.secret);
        block_on(
            user.list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .send(),
        )
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
    }

    /// What the tool sent, from moto's recording.
    fn sent(&self) -> Sent {
        let (status, text) = http(
            "POST",
            &self.s3.endpoint,
            "/moto-api/recorder/download-recording",
            "",
        )
        .expect("download the recording");
        assert_eq!(status, 200, "{text}");
        let mut sent = Sent::default();
        let bucket_path = format!("{}/", self.bucket);
        for line in text.lines() {
            let request: Value = serde_json::from_str(line).unwrap();
            let url = request["url"].as_str().unwrap_or_default();
            let Some((path, query)) = url
                .split_once("://")
                .and_then(|(_, rest)| rest.split_once('/'))
                .map(|(_, path)| path.split_once('?').unwrap_or((path, "")))
            else {
                continue;
            };
            let params: Vec<(&str, &str)> = query
                .split('&')
                .map(|p| p.split_once('=').unwrap_or((p, "")))
                .collect();
            let method = request["method"].as_str().unwrap_or_default();
            if path.trim_end_matches('/') == self.bucket {
                if method == "GET" && params.contains(&("list-type", "2")) {
                    let prefix = params.iter().find(|(k, _)| *k == "prefix");
                    sent.lists.push(decode(prefix.map_or("", |(_, v)| v)));
                } else if method == "POST" && params.iter().any(|(k, _)| *k == "delete") {
                    let body = request["body"].as_str().unwrap_or_default();
                    let body = if request["body_encoded"] == true {
                        let bytes = aws_smithy_types::base64::decode(body).unwrap();
                        String::from_utf8_lossy(&bytes).into_owned()
                    } else {
                        body.to_owned()
                    };
                    sent.deletes.extend(
                        body.split("<Key>")
                            .skip(1)
                            .filter_map(|k| k.split_once("</Key>"))
                            .map(|(k, _)| k.replace("&amp;", "&")),
                    );
                }
            } else if let Some(key) = path.strip_prefix(&bucket_path)
                && (method == "GET" || method == "HEAD")
                && !params.iter().any(|(k, _)| *k == "uploadId")
            {
                sent.reads.push(decode(key));
            }
        }
        sent
    }
}

/// The S3 requests of a test, as moto recorded them.
#[derive(Default)]
struct Sent {
    /// The prefix of every listing.
    lists: Vec<String>,
    /// The key of every GET and HEAD of an object.
    reads: Vec<String>,
    /// Every key of every DeleteObjects request.
    deletes: Vec<String>,
}

/// A percent-encoded query value.
fn decode(value: &str) -> String {
    let mut out = Vec::new();
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: String = bytes.by_ref().take(2).map(char::from).collect();
            out.push(u8::from_str_radix(&hex, 16).unwrap());
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).unwrap()
}

/// What moto lets through (see `for_moto`), checked as AWS checks it: every
/// listing's prefix matches an `s3:prefix` of the policy's ListBucket, and so does
/// every key read (S3 answers a read of a missing key with 404 only to a role that may
/// list it, else 403, which fails the run); every deleted key matches a resource of an
/// `s3:DeleteObject` statement.
fn assert_within_the_letter_of(site: &Site, policy: &Value) {
    let granting = |action: &'static str| {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(move |s| s["Effect"] == "Allow" && values(&s["Action"]).contains(&action))
    };
    let prefixes: Vec<&str> = granting("s3:ListBucket")
        .flat_map(|s| values(&s["Condition"]["StringLike"]["s3:prefix"]))
        .collect();
    let arn = format!("arn:aws:s3:::{}/", site.bucket);
    let deletable: Vec<&str> = granting("s3:DeleteObject")
        .flat_map(|s| values(&s["Resource"]))
        .filter_map(|r| r.strip_prefix(&arn))
        .collect();
    let sent = site.sent();
    assert!(
        !sent.lists.is_empty() && !sent.reads.is_empty() && !sent.deletes.is_empty(),
        "nothing recorded"
    );
    for prefix in &sent.lists {
        assert!(
            prefixes.iter().any(|p| like(p, prefix)),
            "the tool lists `{prefix}`, which the docs' s3:prefix condition ({prefixes:?}) does not allow"
        );
    }
    for key in &sent.reads {
        assert!(
            prefixes.iter().any(|p| like(p, key)),
            "the tool reads `{key}`, which the docs' s3:prefix condition ({prefixes:?}) does not allow listing: while it is missing, S3 would answer 403, not 404"
        );
    }
    for key in &sent.deletes {
        assert!(
            deletable.iter().any(|r| like(r, key)),
            "the tool deletes `{key}`, which no s3:DeleteObject resource of the docs ({deletable:?}) names"
        );
    }
}

/// The lines of a run's output that say something was denied or could not be done.
fn denials(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| {
            let line = line.to_ascii_lowercase();
            ["access denied", "accessdenied", "could not", "could-not"]
                .iter()
                .any(|w| line.contains(w))
        })
        .collect()
}

/// No line of a run's output says that something was denied or could not be done.
fn assert_no_denial(what: &str, text: &str) {
    let denied = denials(text);
    assert!(
        denied.is_empty(),
        "{what} needed something the docs' policy does not grant:\n{}\n\n{text}",
        denied.join("\n")
    );
}

/// A step that must succeed under the policy, saying nothing of a denial.
fn succeeded(what: &str, step: &ActionStep) -> StepResult {
    let result = step.run();
    assert_eq!(result.code(), 0, "{what}: {}", result.all_text());
    assert_no_denial(what, &result.all_text());
    result
}

/// A CLI run that must succeed under the policy, saying nothing of a denial.
fn cli_succeeded(what: &str, output: &std::process::Output) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{what}: {text}");
    assert_no_denial(what, &text);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const LEGACY_STATE: &str = "checkout/.mfe-deploy/state.json";

/// A deploy state where release 0.1 kept it: the next deploy of checkout moves it.
fn legacy_state(s3: &Moto, bucket: &str) {
    block_on(
        s3.client()
            .put_object()
            .bucket(bucket)
            .key(LEGACY_STATE)
            .body(br#"{"format":1,"version":"","files":{}}"#.to_vec().into())
            .send(),
    )
    .unwrap();
}

const EXTRA_CHUNK: &str = "packages/checkout/dist/extra.0123456789abcdef.js";
