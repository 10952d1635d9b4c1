//! The emulator itself: the IAM tests prove something about real S3 only while moto
//! authorizes S3 requests by the IAM action AWS documents for each operation.

use crate::common::*;

/// AWS authorizes ListObjectsV2 as `s3:ListBucket` on the bucket and HeadObject as
/// `s3:GetObject` on the key; there are no `s3:ListObjectsV2` or `s3:HeadObject`
/// actions. moto 5.2.6 checks the operation names instead, and denies this policy.
#[test]
fn the_emulator_authorizes_s3_requests_by_their_iam_actions() {
    let moto = Moto::start(&[]);
    let bucket = bucket(&moto, "iam-action-names");
    block_on(
        moto.client()
            .put_object()
            .bucket(&bucket)
            .key("checkout/remoteEntry.js")
            .body(b"1".to_vec().into())
            .send(),
    )
    .expect("put");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}"}},
            {{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/checkout/*"}}
        ]}}"#
    );
    let (key, secret) = iam_user(&moto, Some(&policy));
    enforce_auth(&moto);
    let user = client(&moto.endpoint, &key, &secret);

    let list = block_on(
        user.list_objects_v2()
            .bucket(&bucket)
            .prefix("checkout/")
            .send(),
    );
    let head = block_on(
        user.head_object()
            .bucket(&bucket)
            .key("checkout/remoteEntry.js")
            .send(),
    );
    let put = block_on(
        user.put_object()
            .bucket(&bucket)
            .key("checkout/remoteEntry.js")
            .body(b"2".to_vec().into())
            .send(),
    );

    let why = "this moto does not authorize S3 requests by their IAM actions; \
               pin the release scripts/emulator-requirements.txt names (docs/testing.md)";
    assert!(
        list.is_ok(),
        "s3:ListBucket allows ListObjectsV2: {why}: {list:?}"
    );
    assert!(
        head.is_ok(),
        "s3:GetObject allows HeadObject: {why}: {head:?}"
    );
    let denied = put.expect_err("enforcement is on: PutObject was not granted");
    assert_eq!(
        denied.as_service_error().and_then(|e| e.meta().code()),
        Some("AccessDenied"),
        "{denied:?}"
    );
}
