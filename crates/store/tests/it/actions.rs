//! Actions, versions and bindings: names unique, secrets sealed at rest and read back whole,
//! deploys numbered in order with exactly one deployed version, bindings replaced as a whole
//! and only to deployed Actions, a bound Action deleted only with `detach`, racing deploys
//! numbered one after the other.

use std::sync::Arc;

use sigil_core::ids::{ActionId, ActionVersionId, BindingId};
use sigil_core::model::{
    Action, ActionCode, ActionSecret, Binding, BuildStatus, Dependency, TriggerRef,
};
use sigil_core::{Store, StoreError};
use zeroize::Zeroizing;

use crate::backends::on_every_store;
use crate::fixtures::{at, check, contains, outcome, raw_bytes};

const SECRET: &str = "s3cret-value-never-on-disk";

fn code(source: &str) -> ActionCode {
    ActionCode {
        supported_triggers: vec![TriggerRef {
            id: "post-login".to_owned(),
            version: "v3".to_owned(),
        }],
        code: source.to_owned(),
        dependencies: vec![Dependency {
            name: "axios".to_owned(),
            version: "1.7.0".to_owned(),
            registry_url: None,
        }],
        runtime: "node22".to_owned(),
        secrets: vec![ActionSecret {
            name: "API_KEY".to_owned(),
            value: Zeroizing::new(SECRET.to_owned()),
            updated_at: at(0),
        }],
        status: BuildStatus::Built,
        errors: Vec::new(),
    }
}

fn action(id: &str, name: &str) -> Action {
    Action {
        id: ActionId::from(id),
        name: name.to_owned(),
        draft: code("exports.onExecutePostLogin = async () => {};"),
        created_at: at(0),
        updated_at: at(0),
        deployed_at: None,
    }
}

fn binding(id: &str, action: &str) -> Binding {
    Binding {
        id: BindingId::from(id),
        trigger_id: "post-login".to_owned(),
        action_id: ActionId::from(action),
        display_name: format!("binding of {action}"),
        created_at: at(1),
    }
}

#[tokio::test]
async fn actions_are_stored_with_their_secrets_sealed() {
    on_every_store(|store| async move {
        let first = action("a1", "Add roles");
        store.create_action(&first).await.unwrap();
        assert_eq!(store.action(&first.id).await.unwrap(), Some(first.clone()));
        let raw = raw_bytes(
            store.database(),
            "SELECT sealed_secrets FROM actions WHERE id = $1",
            "a1",
        )
        .await
        .unwrap();
        assert!(!contains(&raw, SECRET.as_bytes()), "the secret is sealed");

        let mut renamed = first.clone();
        renamed.name = "Add roles, v2".to_owned();
        renamed.draft.code = "exports.onExecutePostLogin = async () => { /* 2 */ };".to_owned();
        renamed.updated_at = at(5);
        let cases = [
            (
                "same name",
                outcome(&store.create_action(&action("a2", "Add roles")).await),
                "Conflict(Action)",
            ),
            (
                "another",
                outcome(&store.create_action(&action("a3", "Deny")).await),
                "Ok",
            ),
            (
                "update",
                outcome(&store.update_action(&renamed).await),
                "Ok",
            ),
            (
                "update to a taken name",
                outcome(
                    &store
                        .update_action(&Action {
                            name: "Deny".to_owned(),
                            ..renamed.clone()
                        })
                        .await,
                ),
                "Conflict(Action)",
            ),
            (
                "update of none",
                outcome(&store.update_action(&action("zz", "Ghost")).await),
                "NotFound",
            ),
        ];
        check(&store, &cases);
        assert_eq!(store.action(&first.id).await.unwrap(), Some(renamed));
        let names: Vec<String> = store
            .list_actions()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["Add roles, v2", "Deny"]);
    })
    .await;
}

#[tokio::test]
async fn deploys_are_numbered_and_one_version_is_deployed() {
    on_every_store(|store| async move {
        let a = action("a1", "Add roles");
        store.create_action(&a).await.unwrap();
        let v1 = store
            .deploy_action(&a.id, &ActionVersionId::from("v1"), &a.draft, at(10))
            .await
            .unwrap();
        let mut next = a.draft.clone();
        next.code = "exports.onExecutePostLogin = async () => { /* 2 */ };".to_owned();
        let v2 = store
            .deploy_action(&a.id, &ActionVersionId::from("v2"), &next, at(20))
            .await
            .unwrap();
        assert_eq!((v1.number, v2.number), (1, 2));
        let versions = store.action_versions(&a.id).await.unwrap();
        let summary: Vec<(u32, bool, &str)> = versions
            .iter()
            .map(|v| (v.number, v.deployed, v.code.code.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (2, true, next.code.as_str()),
                (1, false, a.draft.code.as_str())
            ]
        );
        assert_eq!(
            versions[0].code.secrets, a.draft.secrets,
            "sealed and opened"
        );
        assert_eq!(
            store.action(&a.id).await.unwrap().unwrap().deployed_at,
            Some(at(20))
        );
        let raw = raw_bytes(
            store.database(),
            "SELECT sealed_secrets FROM action_versions WHERE id = $1",
            "v1",
        )
        .await
        .unwrap();
        assert!(!contains(&raw, SECRET.as_bytes()));
        assert!(matches!(
            store
                .deploy_action(
                    &ActionId::from("zz"),
                    &ActionVersionId::from("v9"),
                    &next,
                    at(30)
                )
                .await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn racing_deploys_of_one_action_are_numbered_one_after_the_other() {
    on_every_store(|store| async move {
        let a = action("a1", "Add roles");
        store.create_action(&a).await.unwrap();
        let store = Arc::new(store);
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let (store, a) = (Arc::clone(&store), a.clone());
                tokio::spawn(async move {
                    store
                        .deploy_action(&a.id, &ActionVersionId(format!("v{i}")), &a.draft, at(i))
                        .await
                })
            })
            .collect();
        let mut numbers = Vec::new();
        for racer in racers {
            numbers.push(racer.await.unwrap().unwrap().number);
        }
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=8).collect::<Vec<u32>>());
        let deployed = store
            .action_versions(&a.id)
            .await
            .unwrap()
            .iter()
            .filter(|v| v.deployed)
            .count();
        assert_eq!(deployed, 1);
    })
    .await;
}

#[tokio::test]
async fn bindings_are_replaced_whole_and_name_deployed_actions_only() {
    on_every_store(|store| async move {
        for (id, name) in [("a1", "First"), ("a2", "Second"), ("a3", "Draft only")] {
            store.create_action(&action(id, name)).await.unwrap();
        }
        for (id, version) in [("a1", "v1"), ("a2", "v2")] {
            let a = store.action(&ActionId::from(id)).await.unwrap().unwrap();
            store
                .deploy_action(&a.id, &ActionVersionId::from(version), &a.draft, at(2))
                .await
                .unwrap();
        }
        let ordered = [binding("b2", "a2"), binding("b1", "a1")];
        let cases = [
            (
                "two, in order",
                outcome(&store.replace_bindings("post-login", &ordered).await),
                "Ok",
            ),
            (
                "an undeployed one",
                outcome(
                    &store
                        .replace_bindings("post-login", &[binding("b3", "a3")])
                        .await,
                ),
                "NotFound",
            ),
            (
                "an unknown one",
                outcome(
                    &store
                        .replace_bindings("post-login", &[binding("b4", "zz")])
                        .await,
                ),
                "NotFound",
            ),
        ];
        check(&store, &cases);
        // The refused replacements changed nothing.
        assert_eq!(store.bindings("post-login").await.unwrap(), ordered);
        let bound = store.bound_actions("post-login").await.unwrap();
        let summary: Vec<(&str, &str, u32)> = bound
            .iter()
            .map(|b| (b.binding.id.as_str(), b.name.as_str(), b.version.number))
            .collect();
        assert_eq!(summary, [("b2", "Second", 1), ("b1", "First", 1)]);
        assert_eq!(bound[0].version.code.secrets[0].value.as_str(), SECRET);
        assert!(
            store
                .bound_actions("credentials-exchange")
                .await
                .unwrap()
                .is_empty()
        );

        // A bound Action is deleted only with its bindings.
        let cases = [
            (
                "bound",
                outcome(&store.delete_action(&ActionId::from("a1"), false).await),
                "Conflict(ActionBound)",
            ),
            (
                "bound, detached",
                outcome(&store.delete_action(&ActionId::from("a1"), true).await),
                "Ok",
            ),
            (
                "unbound",
                outcome(&store.delete_action(&ActionId::from("a3"), false).await),
                "Ok",
            ),
            (
                "gone",
                outcome(&store.delete_action(&ActionId::from("a3"), false).await),
                "NotFound",
            ),
        ];
        check(&store, &cases);
        assert_eq!(
            store.bindings("post-login").await.unwrap(),
            [binding("b2", "a2")]
        );
        assert!(
            store
                .action_versions(&ActionId::from("a1"))
                .await
                .unwrap()
                .is_empty()
        );
        // Cleared.
        store.replace_bindings("post-login", &[]).await.unwrap();
        assert!(store.bindings("post-login").await.unwrap().is_empty());
    })
    .await;
}

/// What post-login Actions write: metadata changed by key, `null` removing one, and racing
/// changes of different keys all kept (each holds the user's row while it merges).
#[tokio::test]
async fn metadata_merges_by_key_and_racing_merges_keep_every_key() {
    on_every_store(|store| async move {
        let w = crate::fixtures::world(&store).await;
        let id = w.user.user_id.clone();
        let object = |v: serde_json::Value| v.as_object().cloned().unwrap();
        store
            .merge_user_metadata(
                &id,
                &object(serde_json::json!({"plan": "gold", "gone": 1})),
                &object(serde_json::json!({"lang": "fr"})),
                at(1),
            )
            .await
            .unwrap();
        store
            .merge_user_metadata(
                &id,
                &object(serde_json::json!({"gone": null})),
                &Default::default(),
                at(2),
            )
            .await
            .unwrap();
        let store = Arc::new(store);
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let (store, id) = (Arc::clone(&store), id.clone());
                tokio::spawn(async move {
                    let change = serde_json::json!({ format!("k{i}"): i });
                    store
                        .merge_user_metadata(
                            &id,
                            change.as_object().unwrap(),
                            &Default::default(),
                            at(3),
                        )
                        .await
                })
            })
            .collect();
        for racer in racers {
            racer.await.unwrap().unwrap();
        }
        let user = store.user(&id).await.unwrap().unwrap();
        let mut keys: Vec<&String> = user.app_metadata.keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "plan"]
        );
        assert_eq!(user.user_metadata["lang"], "fr");
        assert!(matches!(
            store
                .merge_user_metadata(
                    &sigil_core::ids::UserId::from("auth0|nobody"),
                    &Default::default(),
                    &Default::default(),
                    at(4)
                )
                .await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

/// The asynchronous triggers' queue: taken once per lease, oldest first, attempts counted;
/// settled away or due again later; two takers at once never get the same execution.
#[tokio::test]
async fn queued_trigger_executions_are_leased_retried_and_settled() {
    on_every_store(|store| async move {
        let queued = |id: &str, created: i64| sigil_core::model::QueuedTrigger {
            id: id.to_owned(),
            trigger_id: "post-user-registration".to_owned(),
            event: serde_json::json!({"user": {"user_id": id}}),
            attempts: 0,
            next_at: at(created),
            created_at: at(created),
        };
        for (id, created) in [("b", 2), ("a", 1), ("later", 50)] {
            store.queue_trigger(&queued(id, created)).await.unwrap();
        }
        let taken = store
            .claim_queued_triggers(at(10), at(70), 16)
            .await
            .unwrap();
        let ids: Vec<(&str, u32)> = taken.iter().map(|q| (q.id.as_str(), q.attempts)).collect();
        assert!(
            ids == [("a", 1), ("b", 1)],
            "due ones, oldest first, one attempt"
        );
        assert!(
            taken[0].event["user"]["user_id"] == "a",
            "the event read back"
        );
        let again = store
            .claim_queued_triggers(at(20), at(80), 16)
            .await
            .unwrap();
        assert!(again.is_empty(), "leased ones are not taken again");
        store.settle_queued_trigger("a", None).await.unwrap();
        store
            .settle_queued_trigger("b", Some(at(30)))
            .await
            .unwrap();
        let retried = store
            .claim_queued_triggers(at(60), at(120), 16)
            .await
            .unwrap();
        let ids: Vec<(&str, u32)> = retried
            .iter()
            .map(|q| (q.id.as_str(), q.attempts))
            .collect();
        assert!(
            ids == [("b", 2), ("later", 1)],
            "a retry is due again, a settled one gone"
        );

        // Racing takers share the due executions out.
        for n in 0..20 {
            store
                .queue_trigger(&queued(&format!("r{n:02}"), 100))
                .await
                .unwrap();
        }
        let (one, two) = tokio::join!(
            store.claim_queued_triggers(at(200), at(300), 15),
            store.claim_queued_triggers(at(200), at(300), 15),
        );
        let mut all: Vec<String> = one
            .unwrap()
            .into_iter()
            .chain(two.unwrap())
            .map(|q| q.id)
            .collect();
        let taken = all.len();
        all.sort();
        all.dedup();
        assert!(all.len() == taken, "no execution taken twice");
        // On PostgreSQL the slower taker may skip rows the faster one locked; a later claim
        // takes them.
        let rest = store
            .claim_queued_triggers(at(200), at(300), 30)
            .await
            .unwrap();
        assert!(
            rest.iter().all(|q| !all.contains(&q.id)),
            "nothing taken twice"
        );
        assert!(
            taken + rest.len() == 22,
            "every due one taken (the 20, and b and later again)"
        );
    })
    .await;
}

/// Executions' records: written in one go, read back whole, gone after their 10 days.
#[tokio::test]
async fn execution_records_are_kept_then_purged() {
    on_every_store(|store| async move {
        let record = |id: &str, created_ms: i64| sigil_core::model::ActionExecution {
            id: id.to_owned(),
            trigger_id: "post-login".to_owned(),
            status: "final".to_owned(),
            results: vec![sigil_core::model::ExecutionResult {
                action_name: "roles".to_owned(),
                error: Some(serde_json::json!({"id": "action_error", "msg": "x", "url": ""})),
                started_ms: created_ms,
                ended_ms: created_ms + 3,
            }],
            created_ms,
            updated_ms: created_ms + 3,
        };
        let (old, new) = (
            record("old", at(1).0 * 1000),
            record("new", at(5_000).0 * 1000),
        );
        store
            .record_executions(&[old.clone(), new.clone()])
            .await
            .unwrap();
        assert_eq!(store.action_execution("old").await.unwrap(), Some(old));
        assert_eq!(store.action_execution("none").await.unwrap(), None);
        let retention = sigil_core::store::Retention {
            logs_before: at(0),
            jobs_before: at(0),
            mail_before: at(0),
        };
        // "old" began at second 1: it is kept until second 1 + 10 days.
        let purged = store
            .purge_expired(at(1 + 10 * 86_400), &retention, 100)
            .await
            .unwrap();
        assert_eq!(purged.action_executions, 1);
        assert_eq!(store.action_execution("old").await.unwrap(), None);
        assert_eq!(store.action_execution("new").await.unwrap(), Some(new));
    })
    .await;
}

/// Legacy Rules: names unique, listed in order, replaced whole, deleted once; their
/// configuration values sealed at rest and read back whole.
#[tokio::test]
async fn rules_and_their_configuration_are_stored() {
    on_every_store(|store| async move {
        let rule = |id: &str, name: &str, order: i64| sigil_core::model::Rule {
            id: sigil_core::ids::RuleId::from(id),
            name: name.to_owned(),
            script: "function (user, context, callback) { callback(null, user, context); }"
                .to_owned(),
            order,
            enabled: true,
            created_at: at(0),
            updated_at: at(0),
        };
        let (second, first) = (rule("rul_b", "second", 2), rule("rul_a", "first", 1));
        store.create_rule(&second).await.unwrap();
        store.create_rule(&first).await.unwrap();
        assert!(matches!(
            store.create_rule(&rule("rul_c", "first", 3)).await,
            Err(StoreError::Conflict(sigil_core::Conflict::Rule))
        ));
        let names: Vec<String> = store
            .list_rules()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["first", "second"]);
        let mut off = second.clone();
        off.enabled = false;
        off.order = 0;
        store.update_rule(&off).await.unwrap();
        assert_eq!(store.rule(&off.id).await.unwrap(), Some(off.clone()));
        assert!(store.delete_rule(&off.id).await.unwrap());
        assert!(!store.delete_rule(&off.id).await.unwrap());
        assert!(matches!(
            store.update_rule(&off).await,
            Err(StoreError::NotFound(_))
        ));

        let config = sigil_core::model::RulesConfig {
            key: "API_KEY".to_owned(),
            value: Zeroizing::new(SECRET.to_owned()),
        };
        store.put_rules_config(&config).await.unwrap();
        let raw = raw_bytes(
            store.database(),
            "SELECT value FROM rules_configs WHERE key = $1",
            "API_KEY",
        )
        .await
        .unwrap();
        assert!(!contains(&raw, SECRET.as_bytes()), "the value is sealed");
        assert_eq!(store.rules_configs().await.unwrap(), vec![config.clone()]);
        assert!(store.delete_rules_config("API_KEY").await.unwrap());
        assert!(store.rules_configs().await.unwrap().is_empty());
    })
    .await;
}

/// A signup's post-user-registration execution is queued in the user's own transaction: both
/// are stored, or, when the user collides, neither.
#[tokio::test]
async fn a_user_and_its_queued_execution_are_stored_together_or_not_at_all() {
    on_every_store(|store| async move {
        let world = crate::fixtures::world(&store).await;
        let queued = |id: &str| sigil_core::model::QueuedTrigger {
            id: id.to_owned(),
            trigger_id: "post-user-registration".to_owned(),
            event: serde_json::json!({"user": {"email": "new@example.com"}}),
            attempts: 0,
            next_at: at(0),
            created_at: at(0),
        };
        let fresh = crate::fixtures::user(&world.connection, "new@example.com");
        store
            .create_user_queueing(&fresh, Some(&queued("q1")))
            .await
            .unwrap();
        // The same email again: refused, and its execution with it.
        let twin = crate::fixtures::user(&world.connection, "new@example.com");
        assert!(matches!(
            store.create_user_queueing(&twin, Some(&queued("q2"))).await,
            Err(StoreError::Conflict(_))
        ));
        let ids: Vec<String> = store
            .claim_queued_triggers(at(1), at(60), 16)
            .await
            .unwrap()
            .into_iter()
            .map(|q| q.id)
            .collect();
        assert_eq!(ids, ["q1"]);
    })
    .await;
}
