//! Tenant code at a flow's triggers, without knowing the engine: the [`ActionRunner`] the
//! server implements (its Actions engine, and the trigger's bindings), what a trigger's run
//! comes back with ([`TriggerRun`]), and what each trigger's commands mean for the flow.

use std::future::Future;

use serde_json::Value;

use crate::oauth::{ErrorCode, FlowError, OAuthError};

/// An `api.*` call an Action made, e.g. `accessToken.setCustomClaim` with `[name, value]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    /// The call, without `api.`.
    pub op: String,
    /// Its arguments, as JSON.
    pub args: Vec<Value>,
}

/// An Action that failed (threw, timed out, ran out of memory): for the tenant log, never for
/// the application or the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The Action's name.
    pub action: String,
    /// What went wrong.
    pub error: String,
}

/// What the Actions bound to a trigger did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TriggerRun {
    /// Their calls, in order.
    pub commands: Vec<Command>,
    /// The one that failed, if one did (no Action ran after it).
    pub failure: Option<Failure>,
    /// The names of the Actions that ran, in order.
    pub executed: Vec<String>,
}

/// Runs the Actions bound to a trigger. With none bound, [`ActionRunner::run`] answers `None`
/// without building the event: a trigger nobody uses costs a lookup.
pub trait ActionRunner: Send + Sync {
    /// Runs the Actions bound to `trigger` (Auth0's id) on the event `event` builds.
    fn run<E: FnOnce() -> Value + Send>(
        &self,
        trigger: &'static str,
        event: E,
    ) -> impl Future<Output = Result<Option<TriggerRun>, FlowError>> + Send;
}

/// No tenant code: every trigger runs nothing.
pub struct NoActions;

impl ActionRunner for NoActions {
    async fn run<E: FnOnce() -> Value + Send>(
        &self,
        _trigger: &'static str,
        _event: E,
    ) -> Result<Option<TriggerRun>, FlowError> {
        Ok(None)
    }
}

/// What the application is told when an Action failed: a fixed text (the error is the
/// tenant's, for the log).
pub const FAILED: &str = "An Action failed; the tenant's logs say why";

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `credentials-exchange`: the custom claims for the machine's access token (name, value, in
/// the order set), or the refusal the Actions decided (`api.access.deny(code, reason)`: the
/// code one of `invalid_scope`, `invalid_request`, `server_error`, others read as
/// `invalid_request`) or a failure caused.
pub fn credentials_exchange(run: &TriggerRun) -> Result<Vec<(String, Value)>, OAuthError> {
    if run.failure.is_some() {
        return Err(OAuthError::new(ErrorCode::AccessDenied, FAILED));
    }
    let mut claims = Vec::new();
    for command in &run.commands {
        match command.op.as_str() {
            "accessToken.setCustomClaim" => {
                claims.push((
                    text(command.args.first()),
                    command.args.get(1).cloned().unwrap_or(Value::Null),
                ));
            }
            "access.deny" => {
                let code = match text(command.args.first()).as_str() {
                    "invalid_scope" => ErrorCode::InvalidScope,
                    "server_error" => ErrorCode::ServerError,
                    _ => ErrorCode::InvalidRequest,
                };
                return Err(OAuthError::new(code, text(command.args.get(1))));
            }
            _ => {}
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(commands: &[(&str, Value)]) -> TriggerRun {
        TriggerRun {
            commands: commands
                .iter()
                .map(|(op, args)| Command {
                    op: (*op).to_owned(),
                    args: args.as_array().cloned().unwrap_or_default(),
                })
                .collect(),
            failure: None,
            executed: vec!["a".to_owned()],
        }
    }

    #[test]
    fn a_credentials_exchange_gives_claims_or_a_refusal() {
        let claims = credentials_exchange(&run(&[
            ("accessToken.setCustomClaim", json!(["tier", "gold"])),
            ("cache.set", json!(["k", "v"])),
        ]))
        .unwrap();
        assert_eq!(claims, [("tier".to_owned(), json!("gold"))]);
        for (code, expected) in [
            ("invalid_scope", ErrorCode::InvalidScope),
            ("invalid_request", ErrorCode::InvalidRequest),
            ("server_error", ErrorCode::ServerError),
            ("made_up", ErrorCode::InvalidRequest),
        ] {
            let refused = credentials_exchange(&run(&[
                ("accessToken.setCustomClaim", json!(["tier", "gold"])),
                ("access.deny", json!([code, "not today"])),
            ]))
            .unwrap_err();
            assert_eq!(
                (refused.code, refused.description.as_str()),
                (expected, "not today")
            );
        }
        let mut failed = run(&[]);
        failed.failure = Some(Failure {
            action: "a".to_owned(),
            error: "TypeError: secret detail".to_owned(),
        });
        let refused = credentials_exchange(&failed).unwrap_err();
        assert_eq!(refused.code, ErrorCode::AccessDenied);
        assert!(!refused.description.contains("secret detail"));
    }
}
