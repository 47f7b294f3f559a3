//! The Management API v2 (`/api/v2/…`), as Auth0's: every operation checks its scopes first,
//! reads its body strictly ([`body`]), answers Auth0's shapes, logs its writes (`sapi`), and
//! fails with Auth0's error shape ([`error`]).

mod actions;
mod attack_protection;
mod body;
mod branding;
mod caller;
mod client_grants;
mod clients;
mod connections;
mod emails;
mod error;
mod grants;
mod guardian;
mod identities;
mod jobs;
mod keys;
mod logs;
mod paging;
mod rate_limit;
mod resource_servers;
mod roles;
mod rules;
mod tenant;
mod tickets;
mod users;

mod openapi;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use sigil_core::Store;

use crate::App;

/// One operation of the API: what the router serves and what `/api/v2/openapi.json` says,
/// from one table, so that neither can list what the other lacks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Operation {
    /// `get`, `post`, `put`, `patch` or `delete`.
    pub(crate) method: &'static str,
    /// Under `/api/v2`, with `{name}` parameters.
    pub(crate) path: &'static str,
    /// The token needs one of these (Auth0's operation list).
    pub(crate) scopes: &'static [&'static str],
    /// What it does.
    pub(crate) summary: &'static str,
    /// The status of success.
    pub(crate) status: u16,
}

/// The largest body a route takes: user import files may be large, every other body is small.
fn body_limit(path: &str) -> usize {
    if path == "/jobs/users-imports" {
        jobs::IMPORT_LIMIT
    } else {
        crate::MAX_BODY
    }
}

/// Declares the operations: the table ([`OPERATIONS`]) and the router ([`routes`]) at once.
macro_rules! operations {
    ($( $method:ident $path:literal => $module:ident :: $handler:ident, [$($scope:literal),+], $status:literal, $summary:literal; )+) => {
        /// Every operation served, in the order declared.
        pub(crate) const OPERATIONS: &[Operation] = &[
            $( Operation {
                method: stringify!($method),
                path: $path,
                scopes: &[$($scope),+],
                summary: $summary,
                status: $status,
            }, )+
        ];

        /// The routes, to be nested at `/api/v2`, behind the [`caller::gate`] (token, rate
        /// limit); the OpenAPI document outside it.
        pub(crate) fn routes<S: Store + Clone>(app: App<S>) -> Router<App<S>> {
            Router::new()
                $( .route(
                    $path,
                    axum::routing::$method($module::$handler::<S>)
                        .route_layer(axum::middleware::from_fn(|request, next| {
                            caller::require_scopes(&[$($scope),+], request, next)
                        }))
                        .layer(DefaultBodyLimit::max(body_limit($path))),
                ) )+
                .route_layer(axum::middleware::from_fn_with_state(app, caller::gate::<S>))
                .route("/openapi.json", axum::routing::get(openapi::document::<S>))
        }
    };
}

operations! {
    get "/actions/actions" => actions::list, ["read:actions"], 200, "List actions";
    post "/actions/actions" => actions::create, ["create:actions"], 201, "Create an action (built at once; deploy: true deploys it too)";
    get "/actions/actions/{id}" => actions::get, ["read:actions"], 200, "Get an action";
    patch "/actions/actions/{id}" => actions::update, ["update:actions"], 200, "Update an action";
    delete "/actions/actions/{id}" => actions::delete, ["delete:actions"], 204, "Delete an action (force=true detaches its bindings)";
    post "/actions/actions/{id}/deploy" => actions::deploy, ["create:actions"], 202, "Deploy an action";
    post "/actions/actions/{id}/test" => actions::test, ["create:actions"], 200, "Run an action's draft on an event (nothing is applied)";
    get "/actions/actions/{id}/versions" => actions::versions, ["read:actions"], 200, "List an action's versions";
    get "/actions/actions/{id}/versions/{version_id}" => actions::version, ["read:actions"], 200, "Get an action's version";
    post "/actions/actions/{id}/versions/{version_id}/deploy" => actions::deploy_version, ["create:actions"], 202, "Deploy an earlier version again (roll back)";
    get "/actions/triggers" => actions::triggers, ["read:actions"], 200, "List triggers";
    get "/actions/triggers/{trigger_id}/bindings" => actions::bindings, ["read:actions"], 200, "List a trigger's bindings";
    patch "/actions/triggers/{trigger_id}/bindings" => actions::update_bindings, ["update:actions"], 200, "Replace a trigger's bindings";
    get "/actions/executions/{id}" => actions::execution, ["read:actions"], 200, "Get an execution (what each Action did; kept 10 days)";
    get "/rules" => rules::list, ["read:rules"], 200, "List rules (legacy), in order";
    post "/rules" => rules::create, ["create:rules"], 201, "Create a rule (its script built at once)";
    get "/rules/{id}" => rules::get, ["read:rules"], 200, "Get a rule";
    patch "/rules/{id}" => rules::update, ["update:rules"], 200, "Update a rule";
    delete "/rules/{id}" => rules::delete, ["delete:rules"], 204, "Delete a rule";
    get "/rules-configs" => rules::configs, ["read:rules_configs"], 200, "List the rules-configs' keys (values are write-only)";
    put "/rules-configs/{key}" => rules::put_config, ["update:rules_configs"], 200, "Set a rules-config";
    delete "/rules-configs/{key}" => rules::delete_config, ["delete:rules_configs"], 204, "Delete a rules-config";
    get "/branding" => branding::get, ["read:branding"], 200, "Get branding settings";
    patch "/branding" => branding::update, ["update:branding"], 200, "Update branding settings";
    get "/clients" => clients::list, ["read:clients", "read:client_summary", "read:client_keys", "read:client_credentials"], 200, "List clients";
    post "/clients" => clients::create, ["create:clients"], 201, "Create a client";
    get "/clients/{id}" => clients::get, ["read:clients", "read:client_summary", "read:client_keys", "read:client_credentials"], 200, "Get a client";
    patch "/clients/{id}" => clients::update, ["update:clients", "update:client_keys"], 200, "Update a client";
    delete "/clients/{id}" => clients::delete, ["delete:clients"], 204, "Delete a client";
    get "/clients/{id}/connections" => connections::of_client, ["read:connections", "read:clients", "read:client_summary"], 200, "List the connections enabled for a client (take, from)";
    post "/clients/{id}/rotate-secret" => clients::rotate_secret, ["update:client_keys"], 200, "Rotate a client secret";
    get "/client-grants" => client_grants::list, ["read:client_grants"], 200, "List client grants";
    post "/client-grants" => client_grants::create, ["create:client_grants"], 201, "Create a client grant";
    get "/client-grants/{id}" => client_grants::get, ["read:client_grants"], 200, "Get a client grant";
    patch "/client-grants/{id}" => client_grants::update, ["update:client_grants"], 200, "Update a client grant";
    delete "/client-grants/{id}" => client_grants::delete, ["delete:client_grants"], 204, "Delete a client grant";
    get "/connections" => connections::list, ["read:connections"], 200, "List connections";
    post "/connections" => connections::create, ["create:connections"], 201, "Create a connection (a database, another identity provider, or passwordless: email, sms)";
    get "/connections/{id}" => connections::get, ["read:connections"], 200, "Get a connection";
    patch "/connections/{id}" => connections::update, ["update:connections"], 200, "Update a connection (options replaced whole; enabled_clients replaces the list)";
    delete "/connections/{id}" => connections::delete, ["delete:connections"], 202, "Delete a connection and its users";
    get "/connections/{id}/clients" => connections::clients, ["read:connections"], 200, "List the clients a connection is enabled for (take, from)";
    patch "/connections/{id}/clients" => connections::update_clients, ["update:connections"], 204, "Enable or disable a connection for clients";
    get "/emails/provider" => emails::get, ["read:email_provider"], 200, "Get the email provider (never its password)";
    post "/emails/provider" => emails::create, ["create:email_provider"], 201, "Configure the email provider (smtp)";
    patch "/emails/provider" => emails::update, ["update:email_provider"], 200, "Update the email provider";
    delete "/emails/provider" => emails::delete, ["delete:email_provider"], 204, "Delete the email provider";
    post "/email-templates" => emails::create_template, ["create:email_templates"], 201, "Create an email template (Liquid)";
    get "/email-templates/{name}" => emails::get_template, ["read:email_templates"], 200, "Get an email template";
    patch "/email-templates/{name}" => emails::update_template, ["update:email_templates"], 200, "Update an email template";
    put "/email-templates/{name}" => emails::replace_template, ["update:email_templates"], 200, "Set an email template whole";
    get "/grants" => grants::list, ["read:grants"], 200, "List users' grants (consents)";
    delete "/grants" => grants::delete_of_user, ["delete:grants"], 204, "Delete all of a user's grants";
    delete "/grants/{id}" => grants::delete, ["delete:grants"], 204, "Delete a grant";
    get "/keys/signing" => keys::list, ["read:signing_keys"], 200, "List signing keys";
    post "/keys/signing/rotate" => keys::rotate, ["create:signing_keys", "update:signing_keys"], 200, "Rotate the signing key";
    get "/keys/signing/{kid}" => keys::get, ["read:signing_keys"], 200, "Get a signing key";
    put "/keys/signing/{kid}/revoke" => keys::revoke, ["update:signing_keys"], 200, "Revoke a signing key";
    post "/jobs/users-imports" => jobs::import_users, ["create:users"], 202, "Import users (multipart: users, connection_id, upsert)";
    post "/jobs/verification-email" => jobs::verification_email, ["update:users"], 201, "Send a user's verification email again";
    post "/jobs/users-exports" => jobs::export_users, ["read:users"], 201, "Export users";
    get "/jobs/{id}" => jobs::get, ["create:users", "read:users"], 200, "Get a job";
    get "/jobs/{id}/errors" => jobs::errors, ["create:users", "read:users"], 200, "Get a job's errors";
    get "/jobs/{id}/export" => jobs::export_file, ["read:users"], 200, "Download an export job's file";
    get "/logs" => logs::list, ["read:logs"], 200, "Search log events";
    get "/logs/{id}" => logs::get, ["read:logs"], 200, "Get a log event";
    get "/resource-servers" => resource_servers::list, ["read:resource_servers"], 200, "List resource servers";
    post "/resource-servers" => resource_servers::create, ["create:resource_servers"], 201, "Create a resource server";
    get "/resource-servers/{id}" => resource_servers::get, ["read:resource_servers"], 200, "Get a resource server";
    patch "/resource-servers/{id}" => resource_servers::update, ["update:resource_servers"], 200, "Update a resource server";
    delete "/resource-servers/{id}" => resource_servers::delete, ["delete:resource_servers"], 204, "Delete a resource server";
    get "/roles" => roles::list, ["read:roles"], 200, "List roles";
    post "/roles" => roles::create, ["create:roles"], 200, "Create a role";
    get "/roles/{id}" => roles::get, ["read:roles"], 200, "Get a role";
    patch "/roles/{id}" => roles::update, ["update:roles"], 200, "Update a role";
    delete "/roles/{id}" => roles::delete, ["delete:roles"], 200, "Delete a role";
    get "/roles/{id}/permissions" => roles::permissions, ["read:roles"], 200, "List a role's permissions";
    post "/roles/{id}/permissions" => roles::add_permissions, ["update:roles"], 201, "Add permissions to a role";
    delete "/roles/{id}/permissions" => roles::remove_permissions, ["update:roles"], 200, "Remove permissions from a role";
    get "/roles/{id}/users" => roles::users, ["read:users", "read:roles", "read:role_members"], 200, "List a role's users";
    post "/roles/{id}/users" => roles::add_users, ["update:roles", "create:role_members"], 200, "Assign users to a role";
    get "/guardian/factors" => guardian::factors, ["read:guardian_factors"], 200, "List the multi-factor factors (otp, email and recovery-code can be enabled)";
    put "/guardian/factors/{name}" => guardian::update_factor, ["update:guardian_factors"], 200, "Enable or disable a factor";
    get "/guardian/policies" => guardian::policies, ["read:mfa_policies"], 200, "Get the multi-factor policy";
    put "/guardian/policies" => guardian::update_policies, ["update:mfa_policies"], 200, "Set the multi-factor policy ([] or [\"all-applications\"])";
    get "/attack-protection/brute-force-protection" => attack_protection::brute_force, ["read:attack_protection"], 200, "Get the brute-force protection settings";
    patch "/attack-protection/brute-force-protection" => attack_protection::update_brute_force, ["update:attack_protection"], 200, "Update the brute-force protection settings";
    get "/attack-protection/suspicious-ip-throttling" => attack_protection::suspicious_ip, ["read:attack_protection"], 200, "Get the suspicious IP throttling settings";
    patch "/attack-protection/suspicious-ip-throttling" => attack_protection::update_suspicious_ip, ["update:attack_protection"], 200, "Update the suspicious IP throttling settings";
    get "/attack-protection/breached-password-detection" => attack_protection::breached_passwords, ["read:attack_protection"], 200, "Get the breached password detection settings";
    patch "/attack-protection/breached-password-detection" => attack_protection::update_breached_passwords, ["update:attack_protection"], 200, "Update the breached password detection settings";
    get "/attack-protection/bot-detection" => attack_protection::bot_detection, ["read:attack_protection"], 200, "Get the bot detection settings (off: Sigil has none)";
    patch "/attack-protection/bot-detection" => attack_protection::update_bot_detection, ["update:attack_protection"], 200, "Update the bot detection settings (only to keep them off)";
    get "/attack-protection/captcha" => attack_protection::captcha, ["read:attack_protection"], 200, "Get the CAPTCHA settings (none: Sigil has none)";
    patch "/attack-protection/captcha" => attack_protection::update_captcha, ["update:attack_protection"], 200, "Update the CAPTCHA settings (only to keep none)";
    get "/user-blocks" => attack_protection::blocks_by_identifier, ["read:users"], 200, "List the brute-force blocks of an identifier (?identifier=)";
    delete "/user-blocks" => attack_protection::unblock_identifier, ["update:users"], 204, "Lift the brute-force blocks of an identifier (?identifier=)";
    get "/user-blocks/{id}" => attack_protection::blocks_of_user, ["read:users"], 200, "List a user's brute-force blocks";
    delete "/user-blocks/{id}" => attack_protection::unblock_user, ["update:users"], 204, "Lift a user's brute-force blocks";
    post "/guardian/enrollments/ticket" => guardian::enrollment_ticket, ["create:guardian_enrollment_tickets"], 200, "Make (and mail) a link to enroll an authenticator app without logging in";
    get "/guardian/enrollments/{id}" => guardian::enrollment, ["read:guardian_enrollments"], 200, "Get an enrollment";
    delete "/guardian/enrollments/{id}" => guardian::delete_enrollment, ["delete:guardian_enrollments"], 204, "Delete an enrollment";
    get "/tenants/settings" => tenant::get, ["read:tenant_settings"], 200, "Get tenant settings";
    patch "/tenants/settings" => tenant::update, ["update:tenant_settings"], 200, "Update tenant settings";
    post "/tickets/email-verification" => tickets::email_verification, ["create:user_tickets"], 201, "Create an email verification ticket";
    post "/tickets/password-change" => tickets::password_change, ["create:user_tickets"], 201, "Create a password change ticket";
    get "/users" => users::list, ["read:users", "read:user_idp_tokens"], 200, "List or search users";
    post "/users" => users::create, ["create:users"], 201, "Create a user";
    get "/users-by-email" => users::by_email, ["read:users"], 200, "Find users by email";
    get "/users/{id}" => users::get, ["read:users", "read:current_user", "read:user_idp_tokens"], 200, "Get a user";
    patch "/users/{id}" => users::update, ["update:users", "update:users_app_metadata", "update:current_user_metadata"], 200, "Update a user";
    delete "/users/{id}" => users::delete, ["delete:users"], 204, "Delete a user";
    post "/users/{id}/identities" => identities::link, ["update:users", "update:current_user_identities"], 201, "Link a user account";
    delete "/users/{id}/identities/{provider}/{user_id}" => identities::unlink, ["update:users", "update:current_user_identities"], 200, "Unlink a user identity";
    get "/users/{id}/logs" => logs::of_user, ["read:logs", "read:logs_users"], 200, "List a user's log events";
    get "/users/{id}/roles" => users::roles, ["read:users", "read:roles", "read:role_members"], 200, "List a user's roles";
    post "/users/{id}/roles" => users::assign_roles, ["create:role_members"], 200, "Assign roles to a user";
    delete "/users/{id}/roles" => users::remove_roles, ["delete:role_members"], 204, "Remove roles from a user";
    get "/users/{id}/authentication-methods" => guardian::authentication_methods, ["read:authentication_methods"], 200, "List a user's authentication methods";
    post "/users/{id}/authentication-methods" => guardian::create_authentication_method, ["create:authentication_methods"], 201, "Create a confirmed authentication method (totp with its secret)";
    delete "/users/{id}/authentication-methods" => guardian::delete_authentication_methods, ["delete:authentication_methods"], 204, "Delete all of a user's authentication methods";
    get "/users/{id}/authentication-methods/{method_id}" => guardian::authentication_method, ["read:authentication_methods"], 200, "Get an authentication method";
    delete "/users/{id}/authentication-methods/{method_id}" => guardian::delete_authentication_method, ["delete:authentication_methods"], 204, "Delete an authentication method";
    get "/users/{id}/enrollments" => guardian::enrollments, ["read:users", "read:current_user"], 200, "List a user's Guardian enrollments";
    delete "/users/{id}/authenticators" => guardian::delete_authentication_methods, ["delete:guardian_enrollments"], 204, "Delete all of a user's authenticators (reset MFA)";
    post "/users/{id}/recovery-code-regeneration" => guardian::regenerate_recovery_code, ["update:users"], 200, "Make a new recovery code (the old one stops working)";
    post "/users/{id}/multifactor/actions/invalidate-remember-browser" => guardian::invalidate_remember_browser, ["update:users"], 204, "Forget the browsers where the user asked to skip MFA";
    get "/users/{id}/permissions" => users::permissions, ["read:users"], 200, "List a user's direct permissions";
    post "/users/{id}/permissions" => users::add_permissions, ["update:users"], 201, "Assign permissions to a user";
    delete "/users/{id}/permissions" => users::remove_permissions, ["update:users"], 204, "Remove permissions from a user";
}
