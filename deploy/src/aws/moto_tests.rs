//! Against a real moto server (one per test). The command-level scenarios drive the binary in
//! `deploy/tests/aws_moto.rs`; these need what only in-process code can do: answer CloudFront
//! from a replay client while Lambda and IAM are moto, because moto drops
//! `LambdaFunctionAssociations` and so can never make a version "referenced".

use aws_smithy_http_client::test_util::StaticReplayClient;

use super::clients::Clients;
use super::function::{code_sha256, create_function, list_versions};
use super::publish::{bootstrap_function, publish_bundle};
use super::replay_tests::{distribution_list, fast, replay_sdk_config};
use super::testing::{MotoServer, test_zip};
use super::versions::{PruneAction, list_with_references, prune_versions};
use crate::bundle::Bundle;
use crate::output::{AwsFailure, exit_code_for};

const NAME: &str = "packagecloud_cloudfront_auth";
const ROLE: &str = "edgegate-lambda-edge";

fn bundle(marker: &str) -> Bundle {
    let zip = test_zip(marker);
    let code_sha256 = code_sha256(&zip);
    Bundle { zip, code_sha256 }
}

fn moto_clients(moto: &MotoServer) -> Clients {
    let mut clients = Clients::from_sdk_config(&moto.sdk_config());
    clients.pace = fast();
    clients
}

/// Versions 1..=n of the function, each with different code.
async fn versions_up_to(clients: &Clients, n: u32) {
    bootstrap_function(clients, NAME, ROLE, &bundle("v1")).await.expect("bootstrap");
    for i in 2..=n {
        let published = publish_bundle(clients, NAME, &bundle(&format!("v{i}"))).await.expect("publish");
        assert_eq!(published.version, u64::from(i));
    }
}

/// CloudFront answered by a replay client: distribution EAAA uses version 1 on its default
/// behaviour, EBBB uses version 3 on `/acme/*`.
fn with_references(mut clients: Clients) -> (Clients, StaticReplayClient) {
    let http = StaticReplayClient::new(vec![distribution_list(
        None,
        &[("EAAA", Some(1), None), ("EBBB", None, Some(("/acme/*", 3)))],
    )]);
    clients.cloudfront = Clients::from_sdk_config(&replay_sdk_config(&http)).cloudfront;
    (clients, http)
}

#[tokio::test]
async fn prune_keeps_the_newest_and_every_referenced_version() {
    let moto = MotoServer::start();
    let clients = moto_clients(&moto);
    versions_up_to(&clients, 5).await;
    let (clients, _) = with_references(clients);

    let results = prune_versions(&clients, NAME, 2, false).await.expect("prune");
    let actions: Vec<(u64, PruneAction)> = results.iter().map(|r| (r.version, r.action)).collect();
    assert_eq!(
        actions,
        vec![
            (5, PruneAction::KeptNewest),
            (4, PruneAction::KeptNewest),
            (3, PruneAction::KeptReferenced),
            (2, PruneAction::Deleted),
            (1, PruneAction::KeptReferenced),
        ]
    );
    let left: Vec<u64> = list_versions(&clients, NAME).await.expect("list").iter().map(|v| v.version).collect();
    assert_eq!(left, vec![1, 3, 4, 5], "moto still holds exactly the kept versions");
}

#[tokio::test]
async fn prune_dry_run_deletes_nothing() {
    let moto = MotoServer::start();
    let clients = moto_clients(&moto);
    versions_up_to(&clients, 4).await;
    let (clients, _) = with_references(clients);
    let results = prune_versions(&clients, NAME, 1, true).await.expect("prune");
    let would: Vec<u64> = results.iter().filter(|r| r.action == PruneAction::WouldDelete).map(|r| r.version).collect();
    assert_eq!(would, vec![2]);
    assert_eq!(list_versions(&clients, NAME).await.expect("list").len(), 4);
}

#[tokio::test]
async fn versions_show_which_distributions_and_behaviours_use_them() {
    let moto = MotoServer::start();
    let clients = moto_clients(&moto);
    versions_up_to(&clients, 3).await;
    let (clients, _) = with_references(clients);
    let list = list_with_references(&clients, NAME).await.expect("versions");
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].version.code_sha256, bundle("v1").code_sha256);
    assert_eq!(list[0].references.len(), 1);
    assert_eq!(list[0].references[0].distribution_id, "EAAA");
    assert_eq!(list[0].references[0].path_pattern, None);
    assert!(list[1].references.is_empty());
    assert_eq!(list[2].references[0].distribution_id, "EBBB");
    assert_eq!(list[2].references[0].path_pattern.as_deref(), Some("/acme/*"));
}

/// moto refuses a role it does not know with the same error IAM gives for a role that has not
/// propagated yet: the retry loop must give up on its own and say why.
#[tokio::test]
async fn create_function_retries_a_role_that_cannot_be_assumed_and_then_gives_up() {
    let moto = MotoServer::start();
    let clients = moto_clients(&moto);
    let error = create_function(&clients, NAME, "arn:aws:iam::123456789012:role/not-there", &bundle("x"))
        .await
        .expect_err("no such role");
    let failure = error.downcast_ref::<AwsFailure>().expect("AWS failure");
    assert_eq!(failure.call, "lambda:CreateFunction");
    assert_eq!(failure.resource, NAME);
    assert_eq!(failure.code.as_deref(), Some("InvalidParameterValueException"));
    assert!(failure.message.contains("cannot be assumed"), "{}", failure.message);
    assert_eq!(exit_code_for(&error), 3);
}

#[tokio::test]
async fn an_existing_role_without_the_edge_principal_is_refused_not_rewritten() {
    let moto = MotoServer::start();
    let clients = moto_clients(&moto);
    let lambda_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    clients
        .iam
        .create_role()
        .role_name(ROLE)
        .assume_role_policy_document(lambda_only)
        .send()
        .await
        .expect("create role");
    let error = bootstrap_function(&clients, NAME, ROLE, &bundle("x")).await.expect_err("refused");
    let message = format!("{error:#}");
    assert!(message.contains("does not allow edgelambda.amazonaws.com"), "{message}");
    assert_eq!(exit_code_for(&error), 2);
    let role = clients.iam.get_role().role_name(ROLE).send().await.expect("role").role.expect("role");
    let document = role.assume_role_policy_document.unwrap_or_default();
    assert!(!document.contains("edgelambda"), "the operator's trust policy was left alone: {document}");
}
