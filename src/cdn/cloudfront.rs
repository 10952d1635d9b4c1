//! The CDN on the AWS SDK for Rust (CloudFront).

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::config::http::HttpResponse;
use aws_sdk_cloudfront::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};

use super::{
    BehaviorInfo, Cdn, CdnError, DistributionInfo, ErrorResponseInfo, InvalidationInfo, OriginInfo,
};

/// CloudFront (or a compatible endpoint).
#[derive(Debug, Clone)]
pub struct CloudFront {
    client: Client,
}

impl CloudFront {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(config),
        }
    }
}

fn error<E>(operation: &'static str, id: &str, err: &SdkError<E, HttpResponse>) -> CdnError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = crate::aws::error_message(err);
    let status = err.raw_response().map(|r| r.status().as_u16());
    match err.code() {
        Some("TooManyInvalidationsInProgress") => CdnError::TooManyInProgress(message),
        Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
            CdnError::Throttled(message)
        }
        Some("NoSuchDistribution") => CdnError::NoSuchDistribution(id.to_owned()),
        Some("AccessDenied" | "InvalidClientTokenId" | "SignatureDoesNotMatch") => {
            CdnError::AccessDenied { operation, message }
        }
        _ if status == Some(403) => CdnError::AccessDenied { operation, message },
        _ if status == Some(429) => CdnError::Throttled(message),
        _ => CdnError::Other { operation, message },
    }
}

impl Cdn for CloudFront {
    async fn distribution(&self, id: &str) -> Result<DistributionInfo, CdnError> {
        let out = self
            .client
            .get_distribution_config()
            .id(id)
            .send()
            .await
            .map_err(|e| error("GetDistributionConfig", id, &e))?;
        let config = out.distribution_config().ok_or_else(|| CdnError::Other {
            operation: "GetDistributionConfig",
            message: "the answer carried no configuration".to_owned(),
        })?;
        let origins = config
            .origins()
            .map(|o| o.items())
            .unwrap_or_default()
            .iter()
            .map(|o| OriginInfo {
                id: o.id().to_owned(),
                domain: o.domain_name().to_owned(),
                origin_path: o.origin_path().unwrap_or_default().to_owned(),
                s3: o.s3_origin_config().is_some(),
                access_restricted: o
                    .origin_access_control_id()
                    .is_some_and(|id| !id.is_empty())
                    || o.s3_origin_config()
                        .is_some_and(|s| !s.origin_access_identity().is_empty()),
            })
            .collect();
        // NOTE: MinTTL and ForwardedValues are deprecated "legacy cache settings", but
        // many distributions still use them, and the audit exists to flag exactly that.
        #[allow(deprecated)]
        let default_behavior = config
            .default_cache_behavior()
            .map(|b| {
                let forwarded = b.forwarded_values();
                BehaviorInfo {
                    target_origin_id: b.target_origin_id().to_owned(),
                    viewer_protocol_policy: b.viewer_protocol_policy().as_str().to_owned(),
                    min_ttl: b.min_ttl(),
                    compress: b.compress().unwrap_or(false),
                    cache_policy_id: b
                        .cache_policy_id()
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned),
                    forwards_query_or_cookies: forwarded.is_some_and(|f| {
                        f.query_string()
                            || f.cookies().is_some_and(|c| c.forward().as_str() != "none")
                    }),
                }
            })
            .unwrap_or_default();
        let error_responses = config
            .custom_error_responses()
            .map(|r| r.items())
            .unwrap_or_default()
            .iter()
            .map(|r| ErrorResponseInfo {
                error_code: r.error_code(),
                response_code: r
                    .response_code()
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
                page_path: r
                    .response_page_path()
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
                caching_min_ttl: r.error_caching_min_ttl(),
            })
            .collect();
        let path_behaviors = config
            .cache_behaviors()
            .map(|b| b.items())
            .unwrap_or_default()
            .iter()
            .map(|b| (b.path_pattern().to_owned(), b.target_origin_id().to_owned()))
            .collect();
        Ok(DistributionInfo {
            id: id.to_owned(),
            path_behaviors,
            default_root_object: config
                .default_root_object()
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            origins,
            default_behavior,
            error_responses,
            http_version: config.http_version().map(|v| v.as_str().to_owned()),
        })
    }

    async fn create_invalidation(
        &self,
        id: &str,
        caller_reference: &str,
        paths: &[String],
    ) -> Result<InvalidationInfo, CdnError> {
        let build_error = |e: aws_smithy_types::error::operation::BuildError| CdnError::Other {
            operation: "CreateInvalidation",
            message: e.to_string(),
        };
        let paths = Paths::builder()
            .quantity(i32::try_from(paths.len()).unwrap_or(i32::MAX))
            .set_items(Some(paths.to_vec()))
            .build()
            .map_err(build_error)?;
        let batch = InvalidationBatch::builder()
            .paths(paths)
            .caller_reference(caller_reference)
            .build()
            .map_err(build_error)?;
        let out = self
            .client
            .create_invalidation()
            .distribution_id(id)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| error("CreateInvalidation", id, &e))?;
        let invalidation = out.invalidation().ok_or_else(|| CdnError::Other {
            operation: "CreateInvalidation",
            message: "the answer carried no invalidation".to_owned(),
        })?;
        Ok(InvalidationInfo {
            id: invalidation.id().to_owned(),
            status: invalidation.status().to_owned(),
        })
    }

    async fn invalidation_status(
        &self,
        id: &str,
        invalidation_id: &str,
    ) -> Result<String, CdnError> {
        let out = self
            .client
            .get_invalidation()
            .distribution_id(id)
            .id(invalidation_id)
            .send()
            .await
            .map_err(|e| error("GetInvalidation", id, &e))?;
        Ok(out
            .invalidation()
            .map(|i| i.status().to_owned())
            .unwrap_or_default())
    }
}
