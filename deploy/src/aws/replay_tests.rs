//! Request shapes with the SDK's `StaticReplayClient`: what we send to CloudFront (and to
//! Lambda and IAM where moto cannot produce the interesting answers: a role that is not yet
//! assumable, an update that fails, a 412 on a stale ETag). moto drops
//! `LambdaFunctionAssociations` and ignores `If-Match`, so these are the tests that see them.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudfront::types::{DistributionConfig, EventType, LambdaFunctionAssociation};
use aws_sdk_lambda::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::arn::{VersionArn, parse_version_arn};
use super::clients::{Clients, Pace};
use super::distribution::{CONFLICT_ATTEMPTS, Targets, reconfigure_distribution, reconfigure_events};
use super::function::code_sha256;
use super::publish::{bootstrap_function, publish_bundle};
use super::versions::{Reference, references};
use crate::bundle::Bundle;
use crate::output::{AwsFailure, exit_code_for};

const DIST: &str = "E2QWRUHEXAMPLE";
const FN_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth";
const NEW_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:7";
const OLD_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:3";
const HEADERS_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:security-headers:4";
const CF_NS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

pub fn fast() -> Pace {
    Pace { first: Duration::from_millis(1), max: Duration::from_millis(2) }
}

/// An SDK config whose every call is answered by `http`, with test credentials.
pub fn replay_sdk_config(http: &StaticReplayClient) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST",
            "test-secret",
            None,
            None,
            "replay",
        )))
        .retry_config(RetryConfig::disabled())
        .http_client(http.clone())
        .build()
}

fn replay(events: Vec<ReplayEvent>) -> (Clients, StaticReplayClient) {
    let http = StaticReplayClient::new(events);
    let mut clients = Clients::from_sdk_config(&replay_sdk_config(&http));
    clients.pace = fast();
    (clients, http)
}

/// A canned response; the request half of a `ReplayEvent` is not used (we assert on the
/// actual requests ourselves, with messages that say what went wrong).
pub fn respond(status: u16, headers: &[(&str, &str)], body: &str) -> ReplayEvent {
    let mut response = HttpResponse::new(StatusCode::try_from(status).expect("status"), SdkBody::from(body.to_owned()));
    for (name, value) in headers {
        response.headers_mut().insert(name.to_string(), value.to_string());
    }
    ReplayEvent::new(HttpRequest::empty(), response)
}

fn xml(status: u16, body: &str) -> ReplayEvent {
    respond(status, &[("content-type", "text/xml")], body)
}

fn config_response(etag: &str, body: &str) -> ReplayEvent {
    respond(200, &[("content-type", "text/xml"), ("etag", etag)], body)
}

fn lambda_json(status: u16, body: &str) -> ReplayEvent {
    respond(status, &[("content-type", "application/json")], body)
}

fn lambda_error(status: u16, code: &str, message: &str) -> ReplayEvent {
    respond(
        status,
        &[("content-type", "application/json"), ("x-amzn-errortype", code)],
        &format!(r#"{{"Type":"User","Message":"{message}"}}"#),
    )
}

fn version_exists(version: u64) -> ReplayEvent {
    lambda_json(
        200,
        &format!(
            r#"{{"FunctionName":"packagecloud_cloudfront_auth","FunctionArn":"{FN_ARN}:{version}","Version":"{version}",
                "CodeSha256":"abc=","State":"Active","LastUpdateStatus":"Successful"}}"#
        ),
    )
}

fn cf_error(status: u16, code: &str) -> ReplayEvent {
    xml(
        status,
        &format!(
            r#"<?xml version="1.0"?><ErrorResponse xmlns="{CF_NS}"><Error><Type>Sender</Type><Code>{code}</Code>
               <Message>{code} happened</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"#
        ),
    )
}

fn updated(etag: &str) -> ReplayEvent {
    respond(
        200,
        &[("content-type", "text/xml"), ("etag", etag)],
        &format!(
            r#"<?xml version="1.0"?><Distribution xmlns="{CF_NS}"><Id>{DIST}</Id>
               <ARN>arn:aws:cloudfront::123456789012:distribution/{DIST}</ARN><Status>InProgress</Status>
               <LastModifiedTime>2026-11-24T10:00:00Z</LastModifiedTime><InProgressInvalidationBatches>0</InProgressInvalidationBatches>
               <DomainName>d111111abcdef8.cloudfront.net</DomainName></Distribution>"#
        ),
    )
}

fn lambda_association(arn: &str, event: &str) -> String {
    format!(
        "<LambdaFunctionAssociation><LambdaFunctionARN>{arn}</LambdaFunctionARN><EventType>{event}</EventType>\
         <IncludeBody>false</IncludeBody></LambdaFunctionAssociation>"
    )
}

/// A distribution with everything an operator might have set: aliases, OAC origin, custom
/// error page, logging, WAF, certificate, a CloudFront Function, an origin-response Lambda on
/// the default behaviour and an older edgegate version on `/acme/*`.
fn rich_config(default_lambdas: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<DistributionConfig xmlns="{CF_NS}">
  <CallerReference>packages-2026</CallerReference>
  <Aliases><Quantity>1</Quantity><Items><CNAME>packages.example.com</CNAME></Items></Aliases>
  <DefaultRootObject>index.html</DefaultRootObject>
  <Origins><Quantity>1</Quantity><Items><Origin>
    <Id>packages-s3</Id><DomainName>packages.s3.us-east-1.amazonaws.com</DomainName><OriginPath>/repo</OriginPath>
    <CustomHeaders><Quantity>1</Quantity><Items><OriginCustomHeader><HeaderName>x-origin-secret</HeaderName><HeaderValue>s3cr3t</HeaderValue></OriginCustomHeader></Items></CustomHeaders>
    <S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig>
    <ConnectionAttempts>3</ConnectionAttempts><ConnectionTimeout>10</ConnectionTimeout>
    <OriginAccessControlId>E1OACEXAMPLE</OriginAccessControlId>
  </Origin></Items></Origins>
  <OriginGroups><Quantity>0</Quantity></OriginGroups>
  <DefaultCacheBehavior>
    <TargetOriginId>packages-s3</TargetOriginId>
    <TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></TrustedSigners>
    <TrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></TrustedKeyGroups>
    <ViewerProtocolPolicy>redirect-to-https</ViewerProtocolPolicy>
    <AllowedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items>
      <CachedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items></CachedMethods></AllowedMethods>
    <SmoothStreaming>false</SmoothStreaming>
    <Compress>true</Compress>
    {default_lambdas}
    <FunctionAssociations><Quantity>0</Quantity></FunctionAssociations>
    <FieldLevelEncryptionId></FieldLevelEncryptionId>
    <CachePolicyId>658327ea-f89d-4fab-a63d-7e88639e58f6</CachePolicyId>
    <ResponseHeadersPolicyId>67f7725c-6f97-4210-82d7-5512b31e9d03</ResponseHeadersPolicyId>
  </DefaultCacheBehavior>
  <CacheBehaviors><Quantity>2</Quantity><Items>
    <CacheBehavior>
      <PathPattern>/acme/*</PathPattern>
      <TargetOriginId>packages-s3</TargetOriginId>
      <TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></TrustedSigners>
      <TrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></TrustedKeyGroups>
      <ViewerProtocolPolicy>https-only</ViewerProtocolPolicy>
      <AllowedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items>
        <CachedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items></CachedMethods></AllowedMethods>
      <SmoothStreaming>false</SmoothStreaming>
      <Compress>false</Compress>
      <LambdaFunctionAssociations><Quantity>1</Quantity><Items>{old}</Items></LambdaFunctionAssociations>
      <FunctionAssociations><Quantity>1</Quantity><Items><FunctionAssociation>
        <FunctionARN>arn:aws:cloudfront::123456789012:function/add-hsts</FunctionARN><EventType>viewer-response</EventType>
      </FunctionAssociation></Items></FunctionAssociations>
      <FieldLevelEncryptionId></FieldLevelEncryptionId>
      <CachePolicyId>4135ea2d-6df8-44a3-9df3-4b5a84be39ad</CachePolicyId>
    </CacheBehavior>
    <CacheBehavior>
      <PathPattern>/public/*</PathPattern>
      <TargetOriginId>packages-s3</TargetOriginId>
      <TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></TrustedSigners>
      <TrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></TrustedKeyGroups>
      <ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy>
      <SmoothStreaming>false</SmoothStreaming>
      <Compress>true</Compress>
      <LambdaFunctionAssociations><Quantity>0</Quantity></LambdaFunctionAssociations>
      <FunctionAssociations><Quantity>0</Quantity></FunctionAssociations>
      <FieldLevelEncryptionId></FieldLevelEncryptionId>
      <CachePolicyId>658327ea-f89d-4fab-a63d-7e88639e58f6</CachePolicyId>
    </CacheBehavior>
  </Items></CacheBehaviors>
  <CustomErrorResponses><Quantity>1</Quantity><Items><CustomErrorResponse>
    <ErrorCode>403</ErrorCode><ResponsePagePath>/errors/403.html</ResponsePagePath><ResponseCode>403</ResponseCode><ErrorCachingMinTTL>5</ErrorCachingMinTTL>
  </CustomErrorResponse></Items></CustomErrorResponses>
  <Comment>packages.example.com behind edgegate</Comment>
  <Logging><Enabled>true</Enabled><IncludeCookies>false</IncludeCookies><Bucket>logs.s3.amazonaws.com</Bucket><Prefix>cf/</Prefix></Logging>
  <PriceClass>PriceClass_100</PriceClass>
  <Enabled>true</Enabled>
  <ViewerCertificate>
    <CloudFrontDefaultCertificate>false</CloudFrontDefaultCertificate>
    <ACMCertificateArn>arn:aws:acm:us-east-1:123456789012:certificate/0f5c2a6e-1111-2222-3333-444455556666</ACMCertificateArn>
    <SSLSupportMethod>sni-only</SSLSupportMethod><MinimumProtocolVersion>TLSv1.2_2021</MinimumProtocolVersion>
  </ViewerCertificate>
  <Restrictions><GeoRestriction><RestrictionType>blacklist</RestrictionType><Quantity>1</Quantity><Items><Location>KP</Location></Items></GeoRestriction></Restrictions>
  <WebACLId>arn:aws:wafv2:us-east-1:123456789012:global/webacl/packages/a1b2c3</WebACLId>
  <HttpVersion>http2and3</HttpVersion>
  <IsIPV6Enabled>true</IsIPV6Enabled>
  <Staging>false</Staging>
</DistributionConfig>"#,
        old = lambda_association(OLD_ARN, "viewer-request"),
    )
}

fn default_with_origin_response() -> String {
    format!(
        "<LambdaFunctionAssociations><Quantity>1</Quantity><Items>{}</Items></LambdaFunctionAssociations>",
        lambda_association(HEADERS_ARN, "origin-response")
    )
}

fn default_with_new_version() -> String {
    format!(
        "<LambdaFunctionAssociations><Quantity>2</Quantity><Items>{}{}</Items></LambdaFunctionAssociations>",
        lambda_association(HEADERS_ARN, "origin-response"),
        lambda_association(NEW_ARN, "viewer-request")
    )
}

/// Parses DistributionConfig XML the way the SDK does, by answering a GetDistributionConfig
/// with it. Used to compare what we sent with what we read, field by field.
async fn parse_config(body: &str) -> DistributionConfig {
    let (clients, _) = replay(vec![config_response("E1", body)]);
    let out = clients.cloudfront.get_distribution_config().id(DIST).send().await.expect("parse DistributionConfig XML");
    out.distribution_config.expect("config")
}

fn arn(version: u64) -> VersionArn {
    parse_version_arn(&format!("{FN_ARN}:{version}")).expect("valid ARN")
}

fn body_text(request: &HttpRequest) -> String {
    String::from_utf8(request.body().bytes().expect("in-memory body").to_vec()).expect("utf-8 body")
}

/// The `<LambdaFunctionAssociations>` element inside the first `<tag>` element whose text
/// contains `marker` (a PathPattern, or nothing for the default behaviour).
fn associations_xml(body: &str, tag: &str, marker: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let section = body
        .split(&open)
        .skip(1)
        .map(|s| s.split(&close).next().expect("closed element"))
        .find(|s| s.contains(marker))
        .unwrap_or_else(|| panic!("no <{tag}> containing {marker:?} in {body}"));
    let start = section.find("<LambdaFunctionAssociations>").expect("associations element");
    let end = section.find("</LambdaFunctionAssociations>").expect("associations end")
        + "</LambdaFunctionAssociations>".len();
    section[start..end].to_owned()
}

fn methods_and_uris(http: &StaticReplayClient) -> Vec<(String, String)> {
    http.actual_requests().map(|r| (r.method().to_owned(), r.uri().to_owned())).collect()
}

fn wanted(arn: &str) -> LambdaFunctionAssociation {
    LambdaFunctionAssociation::builder()
        .lambda_function_arn(arn)
        .event_type(EventType::ViewerRequest)
        .include_body(false)
        .build()
        .expect("association")
}

#[tokio::test]
async fn sets_viewer_request_on_default_and_named_behaviours_and_keeps_everything_else() {
    let original = rich_config(&default_with_origin_response());
    let (clients, http) = replay(vec![version_exists(7), config_response("ETAG-ONE", &original), updated("ETAG-TWO")]);
    let targets = Targets::Default { path_patterns: vec!["/acme/*".into()] };
    let done = reconfigure_distribution(&clients, &arn(7), DIST, &targets, false).await.expect("reconfigure");
    assert!(done.changed && done.updated && !done.dry_run);
    assert_eq!(done.attempts, 1);
    assert_eq!(done.status.as_deref(), Some("InProgress"));

    let calls = methods_and_uris(&http);
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0].0, "GET");
    assert!(calls[0].1.contains("/functions/") && calls[0].1.contains("Qualifier=7"), "{calls:?}");
    assert_eq!(
        calls[1],
        ("GET".into(), format!("https://cloudfront.amazonaws.com/2020-05-31/distribution/{DIST}/config"))
    );
    assert_eq!(
        calls[2],
        ("PUT".into(), format!("https://cloudfront.amazonaws.com/2020-05-31/distribution/{DIST}/config"))
    );

    let requests: Vec<&HttpRequest> = http.actual_requests().collect();
    let update = requests[2];
    assert_eq!(update.headers().get("if-match"), Some("ETAG-ONE"), "UpdateDistribution must send the ETag it read");
    let body = body_text(update);

    // The exact association XML: the origin-response function stays first, ours is added.
    assert_eq!(
        associations_xml(&body, "DefaultCacheBehavior", ""),
        format!(
            "<LambdaFunctionAssociations><Quantity>2</Quantity><Items>{}{}</Items></LambdaFunctionAssociations>",
            lambda_association(HEADERS_ARN, "origin-response"),
            lambda_association(NEW_ARN, "viewer-request")
        )
    );
    // On /acme/* the older edgegate version is replaced, not joined.
    assert_eq!(
        associations_xml(&body, "CacheBehavior", "<PathPattern>/acme/*</PathPattern>"),
        format!(
            "<LambdaFunctionAssociations><Quantity>1</Quantity><Items>{}</Items></LambdaFunctionAssociations>",
            lambda_association(NEW_ARN, "viewer-request")
        )
    );
    // /public/* was not asked for.
    assert_eq!(
        associations_xml(&body, "CacheBehavior", "<PathPattern>/public/*</PathPattern>"),
        "<LambdaFunctionAssociations><Quantity>0</Quantity></LambdaFunctionAssociations>"
    );

    // Everything else, field by field: what we sent equals what we read with only the two
    // association lists changed.
    let sent = parse_config(&body).await;
    let mut expected = parse_config(&original).await;
    let default = expected.default_cache_behavior.as_mut().expect("default");
    let lambdas = default.lambda_function_associations.as_mut().expect("default associations");
    lambdas.items.as_mut().expect("items").push(wanted(NEW_ARN));
    lambdas.quantity = 2;
    let acme = &mut expected.cache_behaviors.as_mut().expect("behaviours").items.as_mut().expect("items")[0];
    let lambdas = acme.lambda_function_associations.as_mut().expect("acme associations");
    lambdas.items = Some(vec![wanted(NEW_ARN)]);
    assert_eq!(sent, expected);
    for kept in [
        "s3cr3t",
        "E1OACEXAMPLE",
        "/errors/403.html",
        "global/webacl/packages",
        "function/add-hsts",
        "<Location>KP</Location>",
    ] {
        assert!(body.contains(kept), "{kept} missing from the UpdateDistribution body");
    }
}

#[tokio::test]
async fn all_behaviors_covers_every_cache_behaviour() {
    let (clients, http) = replay(vec![
        version_exists(7),
        config_response("ETAG-ONE", &rich_config(&default_with_origin_response())),
        updated("ETAG-TWO"),
    ]);
    let done = reconfigure_distribution(&clients, &arn(7), DIST, &Targets::All, false).await.expect("reconfigure");
    let patterns: Vec<Option<&str>> = done.behaviors.iter().map(|b| b.path_pattern.as_deref()).collect();
    assert_eq!(patterns, vec![None, Some("/acme/*"), Some("/public/*")]);
    assert!(done.behaviors.iter().all(|b| b.changed));
    let body = body_text(http.actual_requests().nth(2).expect("update request"));
    assert_eq!(
        associations_xml(&body, "CacheBehavior", "<PathPattern>/public/*</PathPattern>"),
        format!(
            "<LambdaFunctionAssociations><Quantity>1</Quantity><Items>{}</Items></LambdaFunctionAssociations>",
            lambda_association(NEW_ARN, "viewer-request")
        )
    );
}

#[tokio::test]
async fn precondition_failed_refetches_and_retries_with_the_new_etag() {
    let (clients, http) = replay(vec![
        version_exists(7),
        config_response("ETAG-STALE", &rich_config(&default_with_origin_response())),
        cf_error(412, "PreconditionFailed"),
        config_response("ETAG-FRESH", &rich_config(&default_with_origin_response())),
        updated("ETAG-NEXT"),
    ]);
    let targets = Targets::Default { path_patterns: vec![] };
    let done = reconfigure_distribution(&clients, &arn(7), DIST, &targets, false).await.expect("reconfigure");
    assert_eq!(done.attempts, 2);
    assert!(done.updated);
    let requests: Vec<&HttpRequest> = http.actual_requests().collect();
    assert_eq!(requests.len(), 5);
    assert_eq!(requests[2].headers().get("if-match"), Some("ETAG-STALE"));
    assert_eq!(requests[3].method(), "GET", "a 412 must be followed by a fresh GetDistributionConfig");
    assert_eq!(requests[4].headers().get("if-match"), Some("ETAG-FRESH"));
}

#[tokio::test]
async fn precondition_failed_gives_up_after_bounded_attempts() {
    let mut events = vec![version_exists(7)];
    for i in 0..CONFLICT_ATTEMPTS {
        events.push(config_response(&format!("ETAG-{i}"), &rich_config(&default_with_origin_response())));
        events.push(cf_error(412, "PreconditionFailed"));
    }
    let (clients, http) = replay(events);
    let targets = Targets::Default { path_patterns: vec![] };
    let error = reconfigure_distribution(&clients, &arn(7), DIST, &targets, false).await.expect_err("gives up");
    let failure = error.downcast_ref::<AwsFailure>().expect("an AWS failure");
    assert_eq!(failure.call, "cloudfront:UpdateDistribution");
    assert_eq!(failure.resource, DIST);
    assert_eq!(failure.code.as_deref(), Some("PreconditionFailed"));
    assert_eq!(exit_code_for(&error), 3);
    assert_eq!(http.actual_requests().count(), 1 + 2 * CONFLICT_ATTEMPTS as usize);
}

#[tokio::test]
async fn nothing_to_change_makes_no_write() {
    let (clients, http) =
        replay(vec![version_exists(7), config_response("ETAG-ONE", &rich_config(&default_with_new_version()))]);
    let targets = Targets::Default { path_patterns: vec![] };
    let done = reconfigure_distribution(&clients, &arn(7), DIST, &targets, false).await.expect("reconfigure");
    assert!(!done.changed && !done.updated);
    assert_eq!(done.behaviors[0].before, done.behaviors[0].after);
    let methods: Vec<String> = http.actual_requests().map(|r| r.method().to_owned()).collect();
    assert_eq!(methods, vec!["GET", "GET"], "no UpdateDistribution when nothing changes");
}

#[tokio::test]
async fn dry_run_reports_before_and_after_and_makes_no_write() {
    let (clients, http) =
        replay(vec![version_exists(7), config_response("ETAG-ONE", &rich_config(&default_with_origin_response()))]);
    let targets = Targets::Default { path_patterns: vec!["/acme/*".into()] };
    let done = reconfigure_distribution(&clients, &arn(7), DIST, &targets, true).await.expect("dry run");
    assert!(done.dry_run && done.changed && !done.updated);
    let default = &done.behaviors[0];
    assert_eq!(default.before.len(), 1);
    assert_eq!(default.after.len(), 2);
    assert_eq!(default.after[1].lambda_function_arn, NEW_ARN);
    assert_eq!(default.after[1].event_type, "viewer-request");
    assert_eq!(default.after[1].include_body, Some(false));
    let acme = &done.behaviors[1];
    assert_eq!(acme.before[0].lambda_function_arn, OLD_ARN);
    assert_eq!(acme.after[0].lambda_function_arn, NEW_ARN);
    let json = serde_json::to_value(&done).expect("json");
    assert_eq!(json["behaviors"][1]["path_pattern"], "/acme/*");
    assert_eq!(json["behaviors"][0]["path_pattern"], serde_json::Value::Null);
    assert_eq!(http.actual_requests().filter(|r| r.method() == "PUT").count(), 0, "dry run wrote");
    assert_eq!(http.actual_requests().count(), 2);
}

#[tokio::test]
async fn a_path_pattern_matching_no_behaviour_is_refused_before_any_write() {
    let (clients, http) =
        replay(vec![version_exists(7), config_response("ETAG-ONE", &rich_config(&default_with_origin_response()))]);
    let targets = Targets::Default { path_patterns: vec!["/acme/".into()] };
    let error = reconfigure_distribution(&clients, &arn(7), DIST, &targets, false).await.expect_err("refused");
    let message = format!("{error:#}");
    assert!(message.contains("--path-pattern \"/acme/\" matches no cache behaviour"), "{message}");
    assert!(message.contains("/acme/*, /public/*"), "lists the real patterns: {message}");
    assert_eq!(exit_code_for(&error), 2);
    assert_eq!(http.actual_requests().count(), 2);
}

#[tokio::test]
async fn a_cloudfront_function_on_viewer_request_is_reported_not_overwritten() {
    let config = rich_config(&default_with_origin_response()).replace(
        "<FunctionAssociations><Quantity>0</Quantity></FunctionAssociations>\n    <FieldLevelEncryptionId></FieldLevelEncryptionId>\n    <CachePolicyId>658327ea",
        "<FunctionAssociations><Quantity>1</Quantity><Items><FunctionAssociation><FunctionARN>arn:aws:cloudfront::123456789012:function/rewrite</FunctionARN><EventType>viewer-request</EventType></FunctionAssociation></Items></FunctionAssociations>\n    <FieldLevelEncryptionId></FieldLevelEncryptionId>\n    <CachePolicyId>658327ea",
    );
    assert!(config.contains("function/rewrite"), "fixture edit applied");
    let (clients, http) = replay(vec![version_exists(7), config_response("ETAG-ONE", &config)]);
    let error = reconfigure_distribution(&clients, &arn(7), DIST, &Targets::Default { path_patterns: vec![] }, false)
        .await
        .expect_err("refused");
    let message = format!("{error:#}");
    assert!(message.contains("the default cache behaviour has CloudFront Function"), "{message}");
    assert!(message.contains("function/rewrite"), "{message}");
    assert_eq!(http.actual_requests().count(), 2);
}

#[tokio::test]
async fn a_version_that_does_not_exist_is_refused_before_cloudfront_is_called() {
    let (clients, http) = replay(vec![lambda_error(404, "ResourceNotFoundException", "Function not found")]);
    let error = reconfigure_distribution(&clients, &arn(9), DIST, &Targets::Default { path_patterns: vec![] }, false)
        .await
        .expect_err("refused");
    let message = format!("{error:#}");
    assert!(message.contains("version 9 of function packagecloud_cloudfront_auth does not exist"), "{message}");
    assert_eq!(exit_code_for(&error), 2);
    assert_eq!(http.actual_requests().count(), 1);
}

#[tokio::test]
async fn aws_errors_name_the_call_the_resource_and_the_code() {
    let (clients, _) = replay(vec![version_exists(7), cf_error(404, "NoSuchDistribution")]);
    let error = reconfigure_distribution(&clients, &arn(7), DIST, &Targets::Default { path_patterns: vec![] }, false)
        .await
        .expect_err("fails");
    assert_eq!(exit_code_for(&error), 3);
    assert_eq!(
        format!("{error:#}"),
        format!("cloudfront:GetDistributionConfig on {DIST} failed: NoSuchDistribution: NoSuchDistribution happened")
    );

    let (clients, _) = replay(vec![lambda_error(
        403,
        "AccessDeniedException",
        "not authorized to perform lambda:GetFunctionConfiguration",
    )]);
    let error = reconfigure_distribution(&clients, &arn(7), DIST, &Targets::Default { path_patterns: vec![] }, false)
        .await
        .expect_err("fails");
    let failure = error.downcast_ref::<AwsFailure>().expect("AWS failure");
    assert_eq!(failure.call, "lambda:GetFunctionConfiguration");
    assert_eq!(failure.resource, format!("{FN_ARN}:7"));
    assert_eq!(failure.code.as_deref(), Some("AccessDeniedException"));
    assert_eq!(exit_code_for(&error), 3);
}

fn summary(id: &str, default_lambdas: &str, behaviours: &str) -> String {
    format!(
        r#"<DistributionSummary><Id>{id}</Id><ARN>arn:aws:cloudfront::123456789012:distribution/{id}</ARN><Status>Deployed</Status>
           <LastModifiedTime>2026-11-24T10:00:00Z</LastModifiedTime><DomainName>{id}.cloudfront.net</DomainName>
           <Aliases><Quantity>0</Quantity></Aliases>
           <Origins><Quantity>1</Quantity><Items><Origin><Id>o</Id><DomainName>b.s3.amazonaws.com</DomainName>
             <S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig></Origin></Items></Origins>
           <DefaultCacheBehavior><TargetOriginId>o</TargetOriginId><ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy>{default_lambdas}</DefaultCacheBehavior>
           <CacheBehaviors>{behaviours}</CacheBehaviors>
           <CustomErrorResponses><Quantity>0</Quantity></CustomErrorResponses><Comment></Comment><PriceClass>PriceClass_All</PriceClass>
           <Enabled>true</Enabled><ViewerCertificate><CloudFrontDefaultCertificate>true</CloudFrontDefaultCertificate></ViewerCertificate>
           <Restrictions><GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity></GeoRestriction></Restrictions>
           <WebACLId></WebACLId><HttpVersion>http2</HttpVersion><IsIPV6Enabled>true</IsIPV6Enabled><Staging>false</Staging></DistributionSummary>"#
    )
}

/// A distribution in a ListDistributions page: its id, the version on its default behaviour,
/// and a `(path pattern, version)` behaviour.
pub type DistributionUse<'a> = (&'a str, Option<u64>, Option<(&'a str, u64)>);

/// A ListDistributions page whose distributions reference the given versions.
pub fn distribution_list(marker: Option<&str>, distributions: &[DistributionUse<'_>]) -> ReplayEvent {
    let items: String = distributions
        .iter()
        .map(|(id, default, behaviour)| {
            let default_lambdas = default
                .map(|v| {
                    format!(
                        "<LambdaFunctionAssociations><Quantity>1</Quantity><Items>{}</Items></LambdaFunctionAssociations>",
                        lambda_association(&format!("{FN_ARN}:{v}"), "viewer-request")
                    )
                })
                .unwrap_or_default();
            let behaviours = match behaviour {
                Some((pattern, v)) => format!(
                    "<Quantity>1</Quantity><Items><CacheBehavior><PathPattern>{pattern}</PathPattern><TargetOriginId>o</TargetOriginId>\
                     <ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy><LambdaFunctionAssociations><Quantity>1</Quantity>\
                     <Items>{}</Items></LambdaFunctionAssociations></CacheBehavior></Items>",
                    lambda_association(&format!("{FN_ARN}:{v}"), "viewer-request")
                ),
                None => "<Quantity>0</Quantity>".to_owned(),
            };
            summary(id, &default_lambdas, &behaviours)
        })
        .collect();
    let (truncated, next) = match marker {
        Some(m) => ("true", format!("<NextMarker>{m}</NextMarker>")),
        None => ("false", String::new()),
    };
    xml(
        200,
        &format!(
            r#"<?xml version="1.0"?><DistributionList xmlns="{CF_NS}"><Marker></Marker>{next}<MaxItems>100</MaxItems>
               <IsTruncated>{truncated}</IsTruncated><Quantity>{}</Quantity><Items>{items}</Items></DistributionList>"#,
            distributions.len()
        ),
    )
}

#[tokio::test]
async fn references_follow_every_page_and_name_default_and_pattern_behaviours() {
    let (clients, http) = replay(vec![
        distribution_list(Some("page-2"), &[("EAAA", Some(4), None)]),
        distribution_list(None, &[("EBBB", None, Some(("/acme/*", 2))), ("ECCC", Some(4), None)]),
    ]);
    let refs = references(&clients).await.expect("references");
    assert_eq!(
        refs[&format!("{FN_ARN}:4")],
        vec![
            Reference { distribution_id: "EAAA".into(), path_pattern: None, event_type: "viewer-request".into() },
            Reference { distribution_id: "ECCC".into(), path_pattern: None, event_type: "viewer-request".into() },
        ]
    );
    assert_eq!(
        refs[&format!("{FN_ARN}:2")],
        vec![Reference {
            distribution_id: "EBBB".into(),
            path_pattern: Some("/acme/*".into()),
            event_type: "viewer-request".into()
        }]
    );
    let uris: Vec<String> = http.actual_requests().map(|r| r.uri().to_owned()).collect();
    assert!(uris[1].contains("Marker=page-2"), "second page asked with the marker: {uris:?}");
}

// ---- Lambda and IAM: the answers moto does not give -------------------------------------

fn bundle(marker: &str) -> Bundle {
    let zip = super::testing::test_zip(marker);
    let code_sha256 = code_sha256(&zip);
    Bundle { zip, code_sha256 }
}

fn function_config(sha: &str, state: &str, update: &str, extra: &str) -> ReplayEvent {
    lambda_json(
        200,
        &format!(
            r#"{{"FunctionName":"packagecloud_cloudfront_auth","FunctionArn":"{FN_ARN}","Version":"$LATEST","CodeSha256":"{sha}",
                "State":"{state}","LastUpdateStatus":"{update}"{extra}}}"#
        ),
    )
}

fn iam(body: &str) -> ReplayEvent {
    xml(200, body)
}

#[tokio::test]
async fn bootstrap_retries_create_function_while_the_new_role_is_not_assumable() {
    let b = bundle("bootstrap");
    let role_arn = "arn:aws:iam::123456789012:role/edgegate-lambda-edge";
    let not_assumable = "The role defined for the function cannot be assumed by Lambda.";
    let (clients, http) = replay(vec![
        xml(
            404,
            &format!(
                r#"<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>
                   <Message>The role with name edgegate-lambda-edge cannot be found.</Message></Error><RequestId>1</RequestId></ErrorResponse>"#
            ),
        ),
        iam(&format!(
            r#"<CreateRoleResponse xmlns="{IAM_NS}"><CreateRoleResult><Role><Path>/</Path><RoleName>edgegate-lambda-edge</RoleName>
               <RoleId>AROAEXAMPLE</RoleId><Arn>{role_arn}</Arn><CreateDate>2026-11-24T10:00:00Z</CreateDate></Role></CreateRoleResult>
               <ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></CreateRoleResponse>"#
        )),
        iam(&format!(
            r#"<AttachRolePolicyResponse xmlns="{IAM_NS}"><ResponseMetadata><RequestId>3</RequestId></ResponseMetadata></AttachRolePolicyResponse>"#
        )),
        lambda_error(404, "ResourceNotFoundException", "Function not found"),
        lambda_error(400, "InvalidParameterValueException", not_assumable),
        lambda_error(400, "InvalidParameterValueException", not_assumable),
        lambda_json(
            201,
            &format!(r#"{{"FunctionArn":"{FN_ARN}","State":"Pending","CodeSha256":"{}"}}"#, b.code_sha256),
        ),
        function_config(&b.code_sha256, "Pending", "Successful", ""),
        function_config(&b.code_sha256, "Active", "Successful", ""),
        function_config(&b.code_sha256, "Active", "Successful", ""),
        lambda_json(
            200,
            &format!(
                r#"{{"Versions":[{{"FunctionArn":"{FN_ARN}:$LATEST","Version":"$LATEST","CodeSha256":"{}"}}]}}"#,
                b.code_sha256
            ),
        ),
        function_config(&b.code_sha256, "Active", "Successful", ""),
        lambda_json(201, &format!(r#"{{"FunctionArn":"{FN_ARN}:1","Version":"1","CodeSha256":"{}"}}"#, b.code_sha256)),
    ]);
    let done = bootstrap_function(&clients, "packagecloud_cloudfront_auth", "edgegate-lambda-edge", &b)
        .await
        .expect("bootstrap");
    assert!(done.role_created && done.function_created && done.created);
    assert_eq!(done.version, 1);
    assert_eq!(done.function_arn, format!("{FN_ARN}:1"));
    assert_eq!(
        done.next_command,
        format!("edgegate reconfigure-distribution {FN_ARN}:1 --distribution-id YOUR_DISTRIBUTION_ID")
    );

    let requests: Vec<&HttpRequest> = http.actual_requests().collect();
    assert_eq!(requests.len(), 13);
    let create_role = body_text(requests[1]);
    assert!(create_role.contains("Action=CreateRole"), "{create_role}");
    assert!(
        create_role.contains("edgelambda.amazonaws.com") && create_role.contains("lambda.amazonaws.com"),
        "{create_role}"
    );
    assert!(body_text(requests[2]).contains("AWSLambdaBasicExecutionRole"));
    let creates: Vec<&&HttpRequest> =
        requests.iter().filter(|r| r.method() == "POST" && r.uri().ends_with("/functions")).collect();
    assert_eq!(creates.len(), 3, "CreateFunction retried until the role was assumable");
    let create: serde_json::Value = serde_json::from_str(&body_text(creates[0])).expect("json body");
    assert_eq!(create["Runtime"], "nodejs22.x");
    assert_eq!(create["Architectures"], serde_json::json!(["x86_64"]));
    assert_eq!(create["Handler"], "index.handler");
    assert_eq!(create["MemorySize"], 128);
    assert_eq!(create["Timeout"], 5);
    assert_eq!(create["Role"], role_arn);
    assert_eq!(create["Publish"], false);
    assert!(create.get("Environment").is_none(), "Lambda@Edge allows no environment variables");
    let publish: serde_json::Value = serde_json::from_str(&body_text(requests[12])).expect("json body");
    assert_eq!(publish["CodeSha256"], b.code_sha256.as_str(), "PublishVersion guarded by CodeSha256");
}

#[tokio::test]
async fn create_function_gives_up_when_the_role_never_becomes_assumable() {
    let b = bundle("never");
    let mut events = Vec::new();
    // Far more refusals than the bound: the loop must stop on its own.
    for _ in 0..40 {
        events.push(lambda_error(
            400,
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda.",
        ));
    }
    let (clients, http) = replay(events);
    let error = super::function::create_function(&clients, "f", "arn:aws:iam::123456789012:role/r", &b)
        .await
        .expect_err("gives up");
    let failure = error.downcast_ref::<AwsFailure>().expect("AWS failure");
    assert_eq!(failure.call, "lambda:CreateFunction");
    assert_eq!(failure.code.as_deref(), Some("InvalidParameterValueException"));
    assert!(failure.message.contains("cannot be assumed"));
    // ROLE_ATTEMPTS CreateFunction calls, then the error.
    assert_eq!(http.actual_requests().count(), 12);
}

#[tokio::test]
async fn publish_waits_for_the_update_and_reports_why_it_failed() {
    let new = bundle("new");
    let (clients, http) = replay(vec![
        function_config("old-sha=", "Active", "Successful", ""),
        function_config("old-sha=", "Active", "Successful", ""),
        lambda_json(
            200,
            &format!(
                r#"{{"FunctionArn":"{FN_ARN}","CodeSha256":"{}","LastUpdateStatus":"InProgress"}}"#,
                new.code_sha256
            ),
        ),
        function_config(&new.code_sha256, "Active", "InProgress", ""),
        function_config(
            &new.code_sha256,
            "Active",
            "Failed",
            r#","LastUpdateStatusReason":"The function could not be unpacked","LastUpdateStatusReasonCode":"InvalidZipFileException""#,
        ),
    ]);
    let error = publish_bundle(&clients, "packagecloud_cloudfront_auth", &new).await.expect_err("update failed");
    let failure = error.downcast_ref::<AwsFailure>().expect("AWS failure");
    assert_eq!(failure.call, "lambda:UpdateFunctionCode");
    assert_eq!(failure.resource, "packagecloud_cloudfront_auth");
    assert_eq!(failure.code.as_deref(), Some("InvalidZipFileException"));
    assert!(failure.message.contains("The function could not be unpacked"), "{}", failure.message);
    assert_eq!(exit_code_for(&error), 3);
    let requests: Vec<&HttpRequest> = http.actual_requests().collect();
    assert_eq!(requests[2].method(), "PUT");
    assert!(requests[2].uri().ends_with("/functions/packagecloud_cloudfront_auth/code"), "{}", requests[2].uri());
    let upload: serde_json::Value = serde_json::from_str(&body_text(requests[2])).expect("json");
    assert_eq!(upload["Publish"], false);
    assert!(upload["ZipFile"].is_string());
}

#[tokio::test]
async fn publish_after_a_successful_update_publishes_with_the_code_sha256_guard() {
    let new = bundle("new");
    let (clients, http) = replay(vec![
        function_config("old-sha=", "Active", "Successful", ""),
        function_config("old-sha=", "Active", "Successful", ""),
        lambda_json(
            200,
            &format!(
                r#"{{"FunctionArn":"{FN_ARN}","CodeSha256":"{}","LastUpdateStatus":"InProgress"}}"#,
                new.code_sha256
            ),
        ),
        function_config(&new.code_sha256, "Active", "InProgress", ""),
        function_config(&new.code_sha256, "Active", "InProgress", ""),
        function_config(&new.code_sha256, "Active", "Successful", ""),
        lambda_json(
            201,
            &format!(r#"{{"FunctionArn":"{FN_ARN}:8","Version":"8","CodeSha256":"{}"}}"#, new.code_sha256),
        ),
    ]);
    let published = publish_bundle(&clients, "packagecloud_cloudfront_auth", &new).await.expect("publish");
    assert_eq!((published.version, published.created), (8, true));
    assert_eq!(published.function_arn, format!("{FN_ARN}:8"));
    let last = http.actual_requests().last().map(body_text).expect("publish request");
    let last: serde_json::Value = serde_json::from_str(&last).expect("json");
    assert_eq!(last["CodeSha256"], new.code_sha256.as_str());
}

#[tokio::test]
async fn prune_reports_a_replicated_version_as_retry_later_and_still_succeeds() {
    let versions: String = (1..=3)
        .map(|v| format!(r#"{{"FunctionArn":"{FN_ARN}:{v}","Version":"{v}","CodeSha256":"sha{v}=","LastModified":"2026-11-2{v}T10:00:00.000+0000"}}"#))
        .collect::<Vec<_>>()
        .join(",");
    let (clients, http) = replay(vec![
        lambda_json(
            200,
            &format!(r#"{{"Versions":[{{"FunctionArn":"{FN_ARN}:$LATEST","Version":"$LATEST"}},{versions}]}}"#),
        ),
        distribution_list(None, &[]),
        lambda_error(
            400,
            "InvalidParameterValueException",
            &format!(
                "Lambda was unable to delete {FN_ARN}:2 because it is a replicated function. Please see our documentation for Deleting Lambda@Edge Functions and Replicas."
            ),
        ),
        respond(204, &[], ""),
    ]);
    let results = super::versions::prune_versions(&clients, "packagecloud_cloudfront_auth", 1, false)
        .await
        .expect("prune succeeds");
    let actions: Vec<(u64, super::versions::PruneAction)> = results.iter().map(|r| (r.version, r.action)).collect();
    use super::versions::PruneAction::{Deleted, KeptNewest, StillReplicated};
    assert_eq!(actions, vec![(3, KeptNewest), (2, StillReplicated), (1, Deleted)]);
    let deletes: Vec<String> =
        http.actual_requests().filter(|r| r.method() == "DELETE").map(|r| r.uri().to_owned()).collect();
    assert_eq!(deletes.len(), 2);
    assert!(deletes[0].contains("Qualifier=2") && deletes[1].contains("Qualifier=1"), "{deletes:?}");
}

#[tokio::test]
async fn prune_stops_on_any_other_delete_error() {
    let (clients, _) = replay(vec![
        lambda_json(
            200,
            &format!(
                r#"{{"Versions":[{{"FunctionArn":"{FN_ARN}:1","Version":"1"}},{{"FunctionArn":"{FN_ARN}:2","Version":"2"}}]}}"#
            ),
        ),
        distribution_list(None, &[]),
        lambda_error(403, "AccessDeniedException", "not authorized to perform: lambda:DeleteFunction"),
    ]);
    let error =
        super::versions::prune_versions(&clients, "packagecloud_cloudfront_auth", 1, false).await.expect_err("fails");
    let failure = error.downcast_ref::<AwsFailure>().expect("AWS failure");
    assert_eq!(failure.call, "lambda:DeleteFunction");
    assert_eq!(failure.resource, "packagecloud_cloudfront_auth:1");
    assert_eq!(failure.code.as_deref(), Some("AccessDeniedException"));
}

fn default_with_versions(viewer: &str, origin: &str) -> String {
    format!(
        "<LambdaFunctionAssociations><Quantity>2</Quantity><Items>{}{}</Items></LambdaFunctionAssociations>",
        lambda_association(viewer, "viewer-request"),
        lambda_association(origin, "origin-response")
    )
}

const CACHE_HEADERS: [EventType; 2] = [EventType::ViewerRequest, EventType::OriginResponse];

#[tokio::test]
async fn cache_headers_adds_origin_response_of_the_same_version_next_to_viewer_request() {
    let original = rich_config(&format!(
        "<LambdaFunctionAssociations><Quantity>1</Quantity><Items>{}</Items></LambdaFunctionAssociations>",
        lambda_association(OLD_ARN, "viewer-request")
    ));
    let (clients, http) = replay(vec![version_exists(7), config_response("ETAG-ONE", &original), updated("ETAG-TWO")]);
    let targets = Targets::Default { path_patterns: vec![] };
    let done = reconfigure_events(&clients, &arn(7), DIST, &targets, &CACHE_HEADERS, false).await.expect("reconfigure");
    assert!(done.changed && done.updated);
    let sent = http.actual_requests().last().map(body_text).expect("UpdateDistribution body");
    let if_match = http.actual_requests().last().and_then(|r| r.headers().get("if-match").map(str::to_owned));
    assert_eq!(if_match.as_deref(), Some("ETAG-ONE"));
    let default = associations_xml(&sent, "DefaultCacheBehavior", "");
    assert!(default.contains("<Quantity>2</Quantity>"), "{default}");
    for event in ["viewer-request", "origin-response"] {
        let expected = format!("<LambdaFunctionARN>{NEW_ARN}</LambdaFunctionARN><EventType>{event}</EventType>");
        assert!(default.contains(&expected), "{event} not on version 7: {default}");
    }
    assert!(!default.contains(OLD_ARN), "{default}");
}

#[tokio::test]
async fn cache_headers_never_replaces_another_functions_origin_response() {
    let (clients, http) =
        replay(vec![version_exists(7), config_response("ETAG-ONE", &rich_config(&default_with_origin_response()))]);
    let targets = Targets::Default { path_patterns: vec![] };
    let error =
        reconfigure_events(&clients, &arn(7), DIST, &targets, &CACHE_HEADERS, false).await.expect_err("refused");
    let text = format!("{error:#}");
    assert!(text.contains(HEADERS_ARN) && text.contains("origin-response"), "{text}");
    let methods: Vec<String> = http.actual_requests().map(|r| r.method().to_owned()).collect();
    assert_eq!(methods, vec!["GET", "GET"], "nothing written");
}

#[tokio::test]
async fn cache_headers_rerun_on_a_finished_distribution_writes_nothing() {
    let (clients, http) = replay(vec![
        version_exists(7),
        config_response("ETAG-ONE", &rich_config(&default_with_versions(NEW_ARN, NEW_ARN))),
    ]);
    let targets = Targets::Default { path_patterns: vec![] };
    let done = reconfigure_events(&clients, &arn(7), DIST, &targets, &CACHE_HEADERS, false).await.expect("reconfigure");
    assert!(!done.changed && !done.updated);
    assert_eq!(http.actual_requests().count(), 2);
}

#[tokio::test]
async fn cache_headers_moves_an_older_version_of_our_own_origin_response() {
    let (clients, http) = replay(vec![
        version_exists(7),
        config_response("ETAG-ONE", &rich_config(&default_with_versions(OLD_ARN, OLD_ARN))),
        updated("ETAG-TWO"),
    ]);
    let targets = Targets::Default { path_patterns: vec![] };
    let done = reconfigure_events(&clients, &arn(7), DIST, &targets, &CACHE_HEADERS, false).await.expect("reconfigure");
    assert!(done.changed && done.updated);
    let sent = http.actual_requests().last().map(body_text).expect("body");
    let default = associations_xml(&sent, "DefaultCacheBehavior", "");
    assert!(!default.contains(OLD_ARN) && default.matches(NEW_ARN).count() == 2, "{default}");
}
