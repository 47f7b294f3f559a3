//! What writing a connection to another identity provider needs beyond core's checks of its
//! options, the parts that do I/O: the provider's discovery document read (its metadata kept in
//! the options, as Auth0 does), and a custom `oauth2` connection's profile script built on the
//! Actions engine. The Management API and `sigil connections create` both call [`complete`],
//! so a connection is the same whichever way it was written.

use sigil_core::federation::settings::Protocol;
use sigil_core::federation::{Discovery, Policy, Settings};
use sigil_core::management::{ManagementError, discovered};
use sigil_core::model::Connection;

use crate::upstream::Upstreams;

/// Why a connection could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The caller's to fix: the discovery document, or the script.
    #[error("{0}")]
    Refused(ManagementError),
    /// The Actions engine could not build the script now.
    #[error("the profile script cannot be built now ({0}); try again shortly")]
    Busy(String),
}

/// Reads `discovery` into `connection`'s options, then builds its profile script, if any.
pub(crate) async fn complete(
    connection: &mut Connection,
    discovery: Option<&Discovery>,
    upstreams: &Upstreams,
    engine: &sigil_actions::Engine,
    policy: &Policy,
) -> Result<(), SetupError> {
    if let Some(discovery) = discovery {
        let metadata = upstreams.discover(discovery).await.map_err(|why| {
            SetupError::Refused(ManagementError::body(
                "options.discovery_url",
                format!("cannot be used: {why}"),
            ))
        })?;
        discovered(connection, &metadata, policy).map_err(SetupError::Refused)?;
    }
    let Some(upstream) = &connection.upstream else {
        return Ok(());
    };
    let Ok(settings) = Settings::of(connection.strategy, upstream, policy) else {
        return Ok(());
    };
    let Protocol::Script { code } = settings.protocol else {
        return Ok(());
    };
    let problems = engine
        .build_profile_script(code)
        .await
        .map_err(|e| SetupError::Busy(e.to_string()))?;
    match problems.first() {
        None => Ok(()),
        Some(problem) => Err(SetupError::Refused(ManagementError::body(
            "options.scripts.fetchUserProfile",
            format!("does not build ({}): {}", problem.id, problem.message),
        ))),
    }
}

/// [`complete`] outside a running server (`sigil connections create`): with a client for
/// upstreams and an Actions engine of one thread made for the call.
pub async fn complete_connection(
    connection: &mut Connection,
    discovery: Option<&Discovery>,
    policy: Policy,
) -> Result<(), SetupError> {
    let upstreams = Upstreams::new(None).map_err(SetupError::Busy)?;
    upstreams.set_policy(policy.clone());
    let engine = sigil_actions::Engine::start(sigil_actions::Limits {
        workers: 1,
        ..sigil_actions::Limits::default()
    })
    .map_err(|e| SetupError::Busy(e.to_string()))?;
    complete(connection, discovery, &upstreams, &engine, &policy).await
}
