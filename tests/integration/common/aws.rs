//! Reading and arranging AWS state around a test, through the SDK and boto3.

use super::*;

/// Every key in `bucket`.
pub fn keys(moto: &Moto, bucket: &str) -> Vec<String> {
    let client = moto.client();
    block_on(async {
        let out = client
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("list");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    })
}

/// (Cache-Control, Content-Type, ETag) of an object.
pub fn head(moto: &Moto, bucket: &str, key: &str) -> (String, String, String) {
    let client = moto.client();
    block_on(async {
        let out = client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("head {key}: {e:?}"));
        (
            out.cache_control().unwrap_or_default().to_owned(),
            out.content_type().unwrap_or_default().to_owned(),
            out.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
        )
    })
}

pub fn get(moto: &Moto, bucket: &str, key: &str) -> Vec<u8> {
    let client = moto.client();
    block_on(async {
        let out = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("get");
        out.body.collect().await.expect("body").to_vec()
    })
}

/// Creates an IAM user (with an optional inline policy) through boto3, moto's own
/// dependency; returns its access key. Enforcement starts with `enforce_auth`.
pub fn iam_user(moto: &Moto, policy: Option<&str>) -> (String, String) {
    let text = boto3(
        moto,
        "iam",
        "client.create_user(UserName='deployer')\npolicy = sys.stdin.read()\nif policy:\n    client.put_user_policy(UserName='deployer', PolicyName='deploy', PolicyDocument=policy)\nk = client.create_access_key(UserName='deployer')['AccessKey']\nprint(k['AccessKeyId'], k['SecretAccessKey'])",
        policy.unwrap_or_default(),
    );
    let mut parts = text.split_whitespace();
    (
        parts.next().expect("key id").to_owned(),
        parts.next().expect("secret").to_owned(),
    )
}

/// From now on moto checks every request against IAM.
pub fn enforce_auth(moto: &Moto) {
    let (status, body) =
        http("POST", &moto.endpoint, "/moto-api/reset-auth", "0").expect("reset-auth");
    assert_eq!(status, 200, "{body}");
}

/// Creates a CloudFront distribution in front of `bucket` through boto3; `extra` is
/// Python merged into the DistributionConfig (for audit cases). Returns its id.
pub fn create_distribution(moto: &Moto, bucket: &str, extra: &str) -> String {
    let body = format!(
        r#"config = {{
    'CallerReference': 'test-{bucket}',
    'Comment': 'mfe-deploy test',
    'Enabled': True,
    'DefaultRootObject': '',
    'Origins': {{'Quantity': 1, 'Items': [{{'Id': 's3', 'DomainName': '{bucket}.s3.us-east-1.amazonaws.com', 'OriginPath': '', 'S3OriginConfig': {{'OriginAccessIdentity': ''}}, 'OriginAccessControlId': 'E2OACTEST'}}]}},
    'DefaultCacheBehavior': {{'TargetOriginId': 's3', 'ViewerProtocolPolicy': 'redirect-to-https', 'Compress': True, 'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'}},
}}
{extra}
print(client.create_distribution(DistributionConfig=config)['Distribution']['Id'])"#
    );
    boto3(moto, "cloudfront", &body, "").trim().to_owned()
}

/// Lets anyone read the bucket's objects (a bucket policy), so that moto can stand
/// in for the public site in front of it.
pub fn public_read(moto: &Moto, bucket: &str) {
    let body = format!(
        r#"client.put_bucket_policy(Bucket='{bucket}', Policy=json.dumps({{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/*"}}]}}))"#
    );
    boto3(moto, "s3", &body, "");
}

/// The paths of every invalidation of a distribution, newest first, through boto3.
pub fn invalidations(moto: &Moto, distribution: &str) -> Vec<(String, Vec<String>)> {
    let body = format!(
        r#"items = client.list_invalidations(DistributionId='{distribution}')['InvalidationList'].get('Items', [])
out = []
for item in items:
    inv = client.get_invalidation(DistributionId='{distribution}', Id=item['Id'])['Invalidation']
    out.append([inv['Id'], inv['InvalidationBatch']['Paths'].get('Items', [])])
print(json.dumps(out))"#
    );
    serde_json::from_str(&boto3(moto, "cloudfront", &body, "")).expect("json")
}

/// Runs `body` with a boto3 `client` for `service` on the emulator (boto3 comes with
/// moto); `stdin` is its standard input. Returns standard output.
fn boto3(moto: &Moto, service: &str, body: &str, stdin: &str) -> String {
    let script = format!(
        "import boto3, json, sys\nclient = boto3.client('{service}', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}')\n{body}\n",
        moto.endpoint
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with boto3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin");
    let output = child.wait_with_output().expect("python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Writes `body` at `key` with the headers a site serves it with.
pub fn put_served(
    moto: &Moto,
    bucket: &str,
    key: &str,
    content_type: &str,
    cache_control: &str,
    body: &[u8],
) {
    let client = moto.client();
    block_on(
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .cache_control(cache_control)
            .body(body.to_vec().into())
            .send(),
    )
    .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

/// Deletes `key`.
pub fn delete(moto: &Moto, bucket: &str, key: &str) {
    let client = moto.client();
    block_on(client.delete_object().bucket(bucket).key(key).send())
        .unwrap_or_else(|e| panic!("delete {key}: {e:?}"));
}
