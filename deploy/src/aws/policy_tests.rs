//! The deployer policy lists exactly the actions the CLI calls. Every SDK call in this module
//! and in `doctor`'s reads names itself (as an IAM action) in its `aws_failure`, so the
//! sources are the list.

use std::collections::BTreeSet;

const SOURCES: &[&str] = &[
    include_str!("function.rs"),
    include_str!("publish.rs"),
    include_str!("distribution.rs"),
    include_str!("versions.rs"),
    include_str!("../logs.rs"),
    include_str!("../doctor/gather.rs"),
];

/// Not called by the CLI, but required of the caller by AWS (see deploy/policies/README.md).
const REQUIRED_BY_AWS: &[&str] = &[
    "iam:PassRole",
    "iam:CreateServiceLinkedRole",
    "lambda:GetFunction",
    "lambda:EnableReplication*",
    "lambda:DisableReplication*",
];

fn called_actions() -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for source in SOURCES {
        for quoted in source.split('"').skip(1).step_by(2) {
            let Some((service, action)) = quoted.split_once(':') else {
                continue;
            };
            let is_action = ["lambda", "iam", "cloudfront", "s3", "logs", "ec2"].contains(&service)
                && !action.is_empty()
                && action.chars().all(|c| c.is_ascii_alphabetic())
                && action.starts_with(|c: char| c.is_ascii_uppercase());
            if is_action {
                actions.insert(quoted.to_owned());
            }
        }
    }
    actions
}

fn policy_actions(document: &str) -> BTreeSet<String> {
    let policy: serde_json::Value = serde_json::from_str(document).expect("policy JSON");
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow");
        assert!(statement["Resource"].is_string() || statement["Resource"].is_array());
        match &statement["Action"] {
            serde_json::Value::String(a) => {
                actions.insert(a.clone());
            }
            serde_json::Value::Array(list) => {
                actions.extend(list.iter().map(|a| a.as_str().expect("action").to_owned()))
            }
            other => panic!("unexpected Action {other}"),
        }
    }
    actions
}

#[test]
fn deployer_policy_lists_exactly_the_calls_the_cli_makes() {
    let called = called_actions();
    assert!(called.len() >= 12, "found the calls: {called:?}");
    let mut expected = called.clone();
    expected.extend(REQUIRED_BY_AWS.iter().map(|a| (*a).to_owned()));
    assert_eq!(policy_actions(include_str!("../../policies/deployer-policy.json")), expected);
}

#[test]
fn ci_policy_is_a_subset_without_iam_or_deletion() {
    let ci = policy_actions(include_str!("../../policies/ci-policy.json"));
    let deployer = policy_actions(include_str!("../../policies/deployer-policy.json"));
    assert!(ci.is_subset(&deployer), "{:?}", ci.difference(&deployer).collect::<Vec<_>>());
    assert!(ci.iter().all(|a| !a.starts_with("iam:")), "{ci:?}");
    assert!(!ci.contains("lambda:DeleteFunction") && !ci.contains("lambda:CreateFunction"));
    for needed in ["lambda:UpdateFunctionCode", "lambda:PublishVersion", "cloudfront:UpdateDistribution"] {
        assert!(ci.contains(needed), "{needed}");
    }
}

#[test]
fn trust_policies_parse() {
    for document in
        [include_str!("../../policies/lambda-trust-policy.json"), include_str!("../../policies/ci-trust-policy.json")]
    {
        let policy: serde_json::Value = serde_json::from_str(document).expect("JSON");
        assert_eq!(policy["Version"], "2012-10-17");
    }
}

#[test]
fn log_actions_reach_only_the_functions_group() {
    let policy: serde_json::Value =
        serde_json::from_str(include_str!("../../policies/deployer-policy.json")).expect("policy JSON");
    let group = "arn:aws:logs:*:ACCOUNT_ID:log-group:/aws/lambda/us-east-1.packagecloud_cloudfront_auth";
    let as_list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(list) => list.iter().map(|s| s.as_str().expect("string").to_owned()).collect(),
            other => panic!("unexpected {other}"),
        }
    };
    let mut seen = 0;
    for statement in policy["Statement"].as_array().expect("statements") {
        let actions = as_list(&statement["Action"]);
        let resources = as_list(&statement["Resource"]);
        for action in actions.iter().filter(|a| a.starts_with("logs:")) {
            seen += 1;
            // DescribeLogGroups is a list call: AWS authorizes it on the account's group list
            // (`log-group:*`), never on one group.
            let allowed: Vec<String> = if action == "logs:DescribeLogGroups" {
                vec!["arn:aws:logs:*:ACCOUNT_ID:log-group:*".to_owned()]
            } else {
                vec![group.to_owned(), format!("{group}:*")]
            };
            assert_eq!(resources, allowed, "{action}");
        }
        if actions.iter().any(|a| a.starts_with("ec2:")) {
            assert_eq!(actions, ["ec2:DescribeRegions"]);
        }
    }
    assert_eq!(seen, 4, "FilterLogEvents, CreateLogGroup, PutRetentionPolicy, DescribeLogGroups");
}
