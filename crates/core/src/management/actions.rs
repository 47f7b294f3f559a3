//! Actions through the Management API, in Auth0's shapes: the create and update bodies with
//! their limits, secrets kept write-only (an update naming a secret without a value keeps the
//! value it had), a draft's build result, references to Actions in bindings, and the JSON the
//! API answers. The JavaScript itself is checked by the caller's builder (the server's Actions
//! engine); nothing here knows the engine.

use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::UnixTime;
use crate::clock::auth0_time;
use crate::model::action::{RUNTIME, TRIGGERS};
use crate::model::{
    Action, ActionCode, ActionSecret, ActionVersion, Binding, BuildError, BuildStatus, Dependency,
    TriggerRef,
};

use super::ManagementError;

/// Characters of an Action's code, at most (Auth0: 100 KB).
pub const MAX_CODE: usize = 100 * 1024;
/// Secrets per Action, at most; their names and values, in characters.
pub const MAX_SECRETS: usize = 30;
const MAX_SECRET_NAME: usize = 128;
const MAX_SECRET_VALUE: usize = 4096;
/// Dependencies per Action, at most.
pub const MAX_DEPENDENCIES: usize = 10;
/// Characters of a name, at most.
const MAX_NAME: usize = 255;
/// The runtimes an Action may name (Sigil runs one engine whatever it names).
const RUNTIMES: [&str; 2] = ["node18", "node22"];

/// A secret in a request: a value to set, or none to keep the one it had.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretInput {
    /// Its name.
    pub name: String,
    /// Its new value.
    #[serde(default)]
    pub value: Option<String>,
}

/// `POST /actions/actions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    /// Unique in the tenant.
    pub name: String,
    /// At least one.
    pub supported_triggers: Vec<TriggerRef>,
    /// CommonJS source.
    #[serde(default)]
    pub code: String,
    /// npm dependencies.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// `node18` or `node22` (the default).
    #[serde(default)]
    pub runtime: Option<String>,
    /// Secrets, each with its value.
    #[serde(default)]
    pub secrets: Vec<SecretInput>,
    /// Deploy at once.
    #[serde(default)]
    pub deploy: bool,
    /// Actions Modules: none supported (an empty list is accepted, as SDKs may send it).
    #[serde(default)]
    pub modules: Vec<serde_json::Value>,
}

/// `PATCH /actions/actions/{id}`: what is named is replaced.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionPatch {
    /// A new name.
    pub name: Option<String>,
    /// New triggers.
    pub supported_triggers: Option<Vec<TriggerRef>>,
    /// New code.
    pub code: Option<String>,
    /// New dependencies.
    pub dependencies: Option<Vec<Dependency>>,
    /// A new runtime.
    pub runtime: Option<String>,
    /// The new list of secrets; one named without a value keeps the value it had.
    pub secrets: Option<Vec<SecretInput>>,
    /// Actions Modules: none supported (an empty list is accepted).
    #[serde(default)]
    pub modules: Option<Vec<serde_json::Value>>,
}

fn checked_name(name: &str) -> Result<String, ManagementError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ManagementError::body(
            "name",
            format!("A name has 1 to {MAX_NAME} characters"),
        ));
    }
    Ok(name.to_owned())
}

fn checked_triggers(triggers: Vec<TriggerRef>) -> Result<Vec<TriggerRef>, ManagementError> {
    if triggers.is_empty() {
        return Err(ManagementError::body(
            "supported_triggers",
            "At least one trigger is required",
        ));
    }
    for trigger in &triggers {
        if !TRIGGERS.contains(&trigger.id.as_str()) {
            return Err(ManagementError::body(
                "supported_triggers",
                format!(
                    "Sigil runs Actions at {}, not at {}",
                    TRIGGERS.join(", "),
                    trigger.id
                ),
            ));
        }
    }
    Ok(triggers)
}

fn checked_code(code: String) -> Result<String, ManagementError> {
    if code.chars().count() > MAX_CODE {
        return Err(ManagementError::body(
            "code",
            format!("The code has more than {MAX_CODE} characters"),
        ));
    }
    Ok(code)
}

fn checked_runtime(runtime: Option<String>) -> Result<String, ManagementError> {
    match runtime {
        None => Ok(RUNTIME.to_owned()),
        Some(r) if RUNTIMES.contains(&r.as_str()) => Ok(r),
        Some(r) => Err(ManagementError::body(
            "runtime",
            format!("{r} is not one of {}", RUNTIMES.join(", ")),
        )),
    }
}

fn checked_dependencies(deps: Vec<Dependency>) -> Result<Vec<Dependency>, ManagementError> {
    if deps.len() > MAX_DEPENDENCIES {
        return Err(ManagementError::body(
            "dependencies",
            format!("At most {MAX_DEPENDENCIES} dependencies"),
        ));
    }
    Ok(deps)
}

/// The secrets `input` names: new values set now, values omitted kept from `old` (refused when
/// there is none to keep).
fn merged_secrets(
    input: Vec<SecretInput>,
    old: &[ActionSecret],
    now: UnixTime,
) -> Result<Vec<ActionSecret>, ManagementError> {
    if input.len() > MAX_SECRETS {
        return Err(ManagementError::body(
            "secrets",
            format!("At most {MAX_SECRETS} secrets"),
        ));
    }
    let mut secrets: Vec<ActionSecret> = Vec::with_capacity(input.len());
    for SecretInput { name, value } in input {
        if name.is_empty() || name.chars().count() > MAX_SECRET_NAME {
            return Err(ManagementError::body(
                "secrets",
                format!("A secret's name has 1 to {MAX_SECRET_NAME} characters"),
            ));
        }
        if secrets.iter().any(|s| s.name == name) {
            return Err(ManagementError::body(
                "secrets",
                format!("The secret {name} is named twice"),
            ));
        }
        let secret = match value {
            Some(value) if value.chars().count() > MAX_SECRET_VALUE => {
                return Err(ManagementError::body(
                    "secrets",
                    format!("A secret's value has at most {MAX_SECRET_VALUE} characters"),
                ));
            }
            Some(value) => ActionSecret {
                name,
                value: Zeroizing::new(value),
                updated_at: now,
            },
            None => match old.iter().find(|s| s.name == name) {
                Some(kept) => kept.clone(),
                None => {
                    return Err(ManagementError::body(
                        "secrets",
                        format!("The new secret {name} needs a value"),
                    ));
                }
            },
        };
        secrets.push(secret);
    }
    Ok(secrets)
}

/// The new Action `body` asks for (its draft not built yet: see [`with_build`]).
pub fn created(
    body: NewAction,
    id: crate::ids::ActionId,
    now: UnixTime,
) -> Result<Action, ManagementError> {
    no_modules(Some(&body.modules))?;
    Ok(Action {
        id,
        name: checked_name(&body.name)?,
        draft: ActionCode {
            supported_triggers: checked_triggers(body.supported_triggers)?,
            code: checked_code(body.code)?,
            dependencies: checked_dependencies(body.dependencies)?,
            runtime: checked_runtime(body.runtime)?,
            secrets: merged_secrets(body.secrets, &[], now)?,
            status: BuildStatus::Failed,
            errors: Vec::new(),
        },
        created_at: now,
        updated_at: now,
        deployed_at: None,
    })
}

/// `action` with `patch` applied (its draft to be built again: see [`with_build`]).
pub fn patched(
    mut action: Action,
    patch: ActionPatch,
    now: UnixTime,
) -> Result<Action, ManagementError> {
    no_modules(patch.modules.as_ref())?;
    if let Some(name) = patch.name {
        action.name = checked_name(&name)?;
    }
    if let Some(triggers) = patch.supported_triggers {
        action.draft.supported_triggers = checked_triggers(triggers)?;
    }
    if let Some(code) = patch.code {
        action.draft.code = checked_code(code)?;
    }
    if let Some(deps) = patch.dependencies {
        action.draft.dependencies = checked_dependencies(deps)?;
    }
    if patch.runtime.is_some() {
        action.draft.runtime = checked_runtime(patch.runtime)?;
    }
    if let Some(secrets) = patch.secrets {
        action.draft.secrets = merged_secrets(secrets, &action.draft.secrets, now)?;
    }
    action.updated_at = now;
    Ok(action)
}

fn no_modules(modules: Option<&Vec<serde_json::Value>>) -> Result<(), ManagementError> {
    match modules {
        Some(modules) if !modules.is_empty() => Err(ManagementError::body(
            "modules",
            "Sigil has no Actions Modules yet",
        )),
        _ => Ok(()),
    }
}

/// `code` with the builder's `problems`, and one for each dependency that is not one of the
/// engine's built-in `modules` (any version of one of those is the built-in): Sigil offers
/// Actions no npm packages, so an Action that needs one fails at deploy, never at a login.
pub fn with_build(mut code: ActionCode, problems: Vec<BuildError>, modules: &[&str]) -> ActionCode {
    let mut errors = problems;
    for dep in &code.dependencies {
        if modules.contains(&dep.name.as_str()) {
            continue;
        }
        errors.push(BuildError {
            id: "unsupported_dependency".to_owned(),
            msg: format!(
                "Sigil offers Actions no npm packages, only the built-in modules {}; remove the \
                 dependency {}@{}",
                modules.join(", "),
                dep.name,
                dep.version
            ),
            url: String::new(),
        });
    }
    code.status = if errors.is_empty() {
        BuildStatus::Built
    } else {
        BuildStatus::Failed
    };
    code.errors = errors;
    // A built version does not keep where its packages came from, as Auth0.
    for dep in &mut code.dependencies {
        dep.registry_url = None;
    }
    code
}

/// The triggers `code` supports, by id.
pub fn trigger_ids(code: &ActionCode) -> Vec<String> {
    code.supported_triggers
        .iter()
        .map(|t| t.id.clone())
        .collect()
}

/// Why a draft cannot be deployed: it does not build.
pub fn deployable(code: &ActionCode) -> Result<(), ManagementError> {
    match code.status {
        BuildStatus::Built => Ok(()),
        BuildStatus::Failed => Err(ManagementError::InvalidBody(format!(
            "The action must be in the 'built' state to be deployed: {}",
            code.errors
                .iter()
                .map(|e| e.msg.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// A reference to an Action in a binding.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRef {
    /// `action_id` or `action_name`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The id or the name.
    pub value: String,
}

/// One binding in `PATCH /actions/triggers/{id}/bindings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingInput {
    /// Which Action.
    #[serde(rename = "ref")]
    pub action: ActionRef,
    /// The name shown for the binding (the Action's name when absent).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Secrets for the binding: not supported (Auth0's older bindings).
    #[serde(default)]
    pub secrets: Option<Vec<SecretInput>>,
}

/// The body of `PATCH /actions/triggers/{id}/bindings`: the whole new list, in order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingsPatch {
    /// The bindings.
    pub bindings: Vec<BindingInput>,
}

/// The Action `reference` names among `actions`.
pub fn resolve<'a>(
    reference: &ActionRef,
    actions: &'a [Action],
) -> Result<&'a Action, ManagementError> {
    let found = match reference.kind.as_str() {
        "action_id" => actions.iter().find(|a| a.id.as_str() == reference.value),
        "action_name" => actions.iter().find(|a| a.name == reference.value),
        other => {
            return Err(ManagementError::body(
                "bindings",
                format!("A reference's type is action_id or action_name, not {other}"),
            ));
        }
    };
    found.ok_or_else(|| {
        ManagementError::InvalidBody(format!("The action {} does not exist.", reference.value))
    })
}

/// What checks an Action's code (the server's and the CLI's Actions engine): the problems
/// found for its triggers, none when it builds; `Err` when the engine could not check it now.
pub trait ActionBuilder: Send + Sync {
    /// Builds `code` for the triggers named by Auth0's ids.
    fn build(
        &self,
        code: &str,
        triggers: &[String],
    ) -> impl std::future::Future<Output = Result<Vec<BuildError>, String>> + Send;

    /// The modules the engine offers `require`, which an Action may also declare as
    /// dependencies (of any version).
    fn modules(&self) -> &'static [&'static str];
}

/// `code` built by `builder`: its status and errors set (see [`with_build`]).
pub async fn built(builder: &impl ActionBuilder, code: ActionCode) -> Result<ActionCode, String> {
    let problems = builder.build(&code.code, &trigger_ids(&code)).await?;
    Ok(with_build(code, problems, builder.modules()))
}

/// Why [`deploy_file`] did not deploy.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The request or the code is refused.
    #[error("{0}")]
    Refused(#[from] ManagementError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::StoreError),
    /// The engine could not build the code now.
    #[error("cannot build the action: {0}")]
    Engine(String),
}

/// What `sigil actions deploy` does with a file.
pub struct DeployFile {
    /// The Action's name: updated when one has it, created otherwise.
    pub name: String,
    /// The trigger it is deployed for and bound to.
    pub trigger: String,
    /// Its code.
    pub code: String,
    /// Secrets to set (others it has are kept).
    pub secrets: Vec<(String, String)>,
}

/// Creates or updates the Action named in `file`, builds and deploys it, and appends it to its
/// trigger's bindings unless it is bound there already. Answers the Action, its new version,
/// and whether it was created.
pub async fn deploy_file(
    store: &impl crate::Store,
    builder: &impl ActionBuilder,
    rng: &dyn crate::Rng,
    now: UnixTime,
    file: DeployFile,
) -> Result<(Action, ActionVersion, bool), DeployError> {
    if !known_trigger(&file.trigger) {
        return Err(ManagementError::InvalidBody(format!(
            "Sigil runs Actions at {}, not at {}",
            TRIGGERS.join(", "),
            file.trigger
        ))
        .into());
    }
    let trigger = TriggerRef {
        id: file.trigger.clone(),
        version: if file.trigger == "post-login" {
            "v3"
        } else {
            "v2"
        }
        .to_owned(),
    };
    let secrets: Vec<SecretInput> = file
        .secrets
        .into_iter()
        .map(|(name, value)| SecretInput {
            name,
            value: Some(value),
        })
        .collect();
    let existing = store
        .list_actions()
        .await?
        .into_iter()
        .find(|a| a.name == file.name);
    let created = existing.is_none();
    let mut action = match existing {
        Some(action) => {
            let mut triggers = action.draft.supported_triggers.clone();
            if !triggers.iter().any(|t| t.id == trigger.id) {
                triggers.push(trigger);
            }
            // Secrets named keep their values unless given anew.
            let mut named: Vec<SecretInput> = action
                .draft
                .secrets
                .iter()
                .filter(|s| !secrets.iter().any(|n| n.name == s.name))
                .map(|s| SecretInput {
                    name: s.name.clone(),
                    value: None,
                })
                .collect();
            named.extend(secrets);
            let patch = ActionPatch {
                supported_triggers: Some(triggers),
                code: Some(file.code),
                secrets: Some(named),
                ..ActionPatch::default()
            };
            patched(action, patch, now)?
        }
        None => created_action(file.name, trigger, file.code, secrets, rng, now)?,
    };
    action.draft = built(builder, action.draft)
        .await
        .map_err(DeployError::Engine)?;
    deployable(&action.draft)?;
    if created {
        store.create_action(&action).await?;
    } else {
        store.update_action(&action).await?;
    }
    let version = store
        .deploy_action(
            &action.id,
            &crate::ids::ActionVersionId::generate(rng),
            &action.draft,
            now,
        )
        .await?;
    action.deployed_at = Some(now);
    let mut bindings = store.bindings(&file.trigger).await?;
    if !bindings.iter().any(|b| b.action_id == action.id) {
        bindings.push(Binding {
            id: crate::ids::BindingId::generate(rng),
            trigger_id: file.trigger.clone(),
            action_id: action.id.clone(),
            display_name: action.name.clone(),
            created_at: now,
        });
        store.replace_bindings(&file.trigger, &bindings).await?;
    }
    Ok((action, version, created))
}

fn created_action(
    name: String,
    trigger: TriggerRef,
    code: String,
    secrets: Vec<SecretInput>,
    rng: &dyn crate::Rng,
    now: UnixTime,
) -> Result<Action, ManagementError> {
    created(
        NewAction {
            name,
            supported_triggers: vec![trigger],
            code,
            dependencies: Vec::new(),
            runtime: None,
            secrets,
            deploy: true,
            modules: Vec::new(),
        },
        crate::ids::ActionId::generate(rng),
        now,
    )
}

/// Whether a trigger id is one Sigil runs Actions at.
pub fn known_trigger(id: &str) -> bool {
    TRIGGERS.contains(&id)
}

fn secrets_json(secrets: &[ActionSecret]) -> Value {
    Value::Array(
        secrets
            .iter()
            .map(|s| json!({"name": s.name, "updated_at": auth0_time(s.updated_at)}))
            .collect(),
    )
}

fn errors_json(errors: &[BuildError]) -> Value {
    serde_json::to_value(errors).unwrap_or(Value::Array(Vec::new()))
}

/// Whether `deployed` runs exactly the draft.
fn all_changes_deployed(action: &Action, deployed: Option<&ActionVersion>) -> bool {
    deployed.is_some_and(|v| {
        let (a, b) = (&action.draft, &v.code);
        a.code == b.code
            && a.supported_triggers == b.supported_triggers
            && a.dependencies == b.dependencies
            && a.runtime == b.runtime
            && a.secrets == b.secrets
    })
}

/// The Action as the API answers it (secrets by name only).
pub fn action_json(action: &Action, deployed: Option<&ActionVersion>) -> Value {
    let mut body = json!({
        "id": action.id,
        "name": action.name,
        "supported_triggers": action.draft.supported_triggers,
        "code": action.draft.code,
        "dependencies": action.draft.dependencies,
        "runtime": action.draft.runtime,
        "status": action.draft.status.as_str(),
        "secrets": secrets_json(&action.draft.secrets),
        "created_at": auth0_time(action.created_at),
        "updated_at": auth0_time(action.updated_at),
        "all_changes_deployed": all_changes_deployed(action, deployed),
    });
    if !action.draft.errors.is_empty() {
        body["errors"] = errors_json(&action.draft.errors);
    }
    if let Some(version) = deployed {
        body["deployed_version"] = version_json(version, None);
    }
    body
}

fn action_summary(action: &Action, deployed: Option<&ActionVersion>) -> Value {
    json!({
        "id": action.id,
        "name": action.name,
        "supported_triggers": action.draft.supported_triggers,
        "created_at": auth0_time(action.created_at),
        "updated_at": auth0_time(action.updated_at),
        "all_changes_deployed": all_changes_deployed(action, deployed),
    })
}

/// A version as the API answers it; with its Action's summary when given.
pub fn version_json(version: &ActionVersion, action: Option<&Action>) -> Value {
    let mut body = json!({
        "id": version.id,
        "action_id": version.action_id,
        "number": version.number,
        "code": version.code.code,
        "dependencies": version.code.dependencies,
        "runtime": version.code.runtime,
        "supported_triggers": version.code.supported_triggers,
        "secrets": secrets_json(&version.code.secrets),
        "status": version.code.status.as_str(),
        "deployed": version.deployed,
        "created_at": auth0_time(version.created_at),
        "updated_at": auth0_time(version.created_at),
        "built_at": auth0_time(version.created_at),
    });
    if let Some(action) = action {
        body["action"] = action_summary(action, version.deployed.then_some(version));
    }
    body
}

/// A binding as the API answers it, with its Action and that Action's deployed version.
pub fn binding_json(binding: &Binding, action: &Action, deployed: Option<&ActionVersion>) -> Value {
    let mut summary = action_summary(action, deployed);
    if let Some(version) = deployed {
        // Auth0 spells the status of these in capitals.
        let mut version_body = version_json(version, None);
        version_body["status"] = Value::String(version.code.status.as_str().to_uppercase());
        summary["current_version"] = version_body.clone();
        summary["deployed_version"] = version_body;
    }
    json!({
        "id": binding.id,
        "trigger_id": binding.trigger_id,
        "display_name": binding.display_name,
        "action": summary,
        "created_at": auth0_time(binding.created_at),
        "updated_at": auth0_time(binding.created_at),
    })
}

/// `GET /actions/triggers`: one current row per trigger Sigil runs.
pub fn triggers_json() -> Value {
    let triggers: Vec<Value> = TRIGGERS
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "version": if *id == "post-login" { "v3" } else { "v2" },
                "status": "CURRENT",
                "runtimes": RUNTIMES,
                "default_runtime": RUNTIME,
                "compatible_triggers": [],
                "binding_policy": "trigger-bound",
            })
        })
        .collect();
    json!({ "triggers": triggers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ActionId;

    fn new(secrets: Vec<SecretInput>) -> NewAction {
        NewAction {
            name: "Add roles".to_owned(),
            supported_triggers: vec![TriggerRef {
                id: "post-login".to_owned(),
                version: "v3".to_owned(),
            }],
            code: "exports.onExecutePostLogin = async () => {};".to_owned(),
            dependencies: Vec::new(),
            runtime: None,
            secrets,
            deploy: false,
            modules: Vec::new(),
        }
    }

    fn secret(name: &str, value: Option<&str>) -> SecretInput {
        SecretInput {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn secrets_named_without_a_value_keep_theirs() {
        let action = created(
            new(vec![secret("A", Some("one")), secret("B", Some("two"))]),
            ActionId::from("a"),
            UnixTime(1),
        )
        .unwrap();
        let patch = ActionPatch {
            secrets: Some(vec![secret("A", None), secret("C", Some("three"))]),
            ..ActionPatch::default()
        };
        let patched = patched(action, patch, UnixTime(2)).unwrap();
        let kept: Vec<(&str, &str, i64)> = patched
            .draft
            .secrets
            .iter()
            .map(|s| (s.name.as_str(), s.value.as_str(), s.updated_at.0))
            .collect();
        assert_eq!(kept, [("A", "one", 1), ("C", "three", 2)]);
    }

    #[test]
    fn bodies_outside_the_limits_are_refused_naming_the_property() {
        let long = "x".repeat(MAX_CODE + 1);
        let cases: Vec<(&str, NewAction, &str)> = vec![
            (
                "empty name",
                NewAction {
                    name: " ".to_owned(),
                    ..new(vec![])
                },
                "name",
            ),
            (
                "no trigger",
                NewAction {
                    supported_triggers: vec![],
                    ..new(vec![])
                },
                "supported_triggers",
            ),
            (
                "unknown trigger",
                NewAction {
                    supported_triggers: vec![TriggerRef {
                        id: "send-phone-message".to_owned(),
                        version: "v2".to_owned(),
                    }],
                    ..new(vec![])
                },
                "supported_triggers",
            ),
            (
                "code too long",
                NewAction {
                    code: long,
                    ..new(vec![])
                },
                "code",
            ),
            (
                "runtime",
                NewAction {
                    runtime: Some("node12".to_owned()),
                    ..new(vec![])
                },
                "runtime",
            ),
            (
                "a new secret without a value",
                new(vec![secret("A", None)]),
                "secrets",
            ),
            (
                "a secret twice",
                new(vec![secret("A", Some("1")), secret("A", Some("2"))]),
                "secrets",
            ),
        ];
        for (what, body, property) in cases {
            let refused = created(body, ActionId::from("a"), UnixTime(1)).unwrap_err();
            assert!(
                refused
                    .to_string()
                    .ends_with(&format!("on property {property}.")),
                "{what}: {refused}"
            );
        }
    }

    #[test]
    fn secret_values_never_appear_in_answers() {
        let action = created(
            new(vec![secret("A", Some("hush-hush"))]),
            ActionId::from("a"),
            UnixTime(1),
        )
        .unwrap();
        let body = action_json(&action, None).to_string();
        assert!(!body.contains("hush-hush"), "{body}");
        assert!(body.contains("\"name\":\"A\""), "{body}");
    }

    #[test]
    fn dependencies_fail_the_build() {
        let mut code = created(new(vec![]), ActionId::from("a"), UnixTime(1))
            .unwrap()
            .draft;
        assert_eq!(
            with_build(code.clone(), Vec::new(), &["axios"]).status,
            BuildStatus::Built
        );
        code.dependencies.push(Dependency {
            name: "axios".to_owned(),
            version: "1.6.0".to_owned(),
            registry_url: None,
        });
        assert_eq!(
            with_build(code.clone(), Vec::new(), &["axios"]).status,
            BuildStatus::Built
        );
        code.dependencies.push(Dependency {
            name: "lodash".to_owned(),
            version: "4.17.21".to_owned(),
            registry_url: Some("https://example.com/lodash".to_owned()),
        });
        let built = with_build(code, Vec::new(), &["axios"]);
        assert_eq!(built.status, BuildStatus::Failed);
        assert_eq!(built.errors.len(), 1, "{:?}", built.errors);
        assert_eq!(built.errors[0].id, "unsupported_dependency");
        assert!(built.errors[0].msg.contains("lodash@4.17.21"));
        assert_eq!(built.dependencies[1].registry_url, None);
        assert!(deployable(&built).is_err());
    }
}
