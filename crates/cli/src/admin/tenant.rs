//! `sigil tenant show|set`: the tenant's settings (Auth0's `/tenants/settings` shape with
//! `--json`), the switches of Auth0's legacy endpoints, `/tokeninfo` and `/delegation`, which
//! are off until an operator turns them on, and of attack protection (brute-force protection
//! and suspicious-IP throttling, on by default; their other settings are the Management API's
//! `/attack-protection/*`). A running server reads the switches on every request they concern,
//! so a change takes effect at once.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{ArgGroup, Args, Subcommand};
use sigil_core::Store as _;
use sigil_core::model::TenantSettings;
use sigil_jose::UnixTime;

use super::{Format, print, validate};
use crate::storage::{self, Location};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show the tenant's settings.
    Show(Format),
    /// Change the tenant's settings.
    #[command(after_help = SET_AFTER_HELP)]
    Set(SetArgs),
}

const SET_AFTER_HELP: &str = "\
Both legacy endpoints are off by default, as on a new Auth0 tenant. With delegation on, an \
application must still be allowed the grant type urn:ietf:params:oauth:grant-type:jwt-bearer \
(`sigil clients create --grant urn:ietf:params:oauth:grant-type:jwt-bearer …`). Neither endpoint \
is part of OpenID Connect, and discovery never lists them.";

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("changes")
        .required(true)
        .multiple(true)
        .args(["legacy_tokeninfo", "legacy_delegation", "brute_force", "suspicious_ip_throttling"])
))]
pub(crate) struct SetArgs {
    /// Answer Auth0's legacy POST /tokeninfo (an ID token for the user's profile):
    /// allow_legacy_tokeninfo_endpoint.
    #[arg(long, value_name = "on|off", value_parser = validate::on_off)]
    legacy_tokeninfo: Option<bool>,
    /// Answer Auth0's legacy POST /delegation (an ID token for a new one addressed to another
    /// application): allow_legacy_delegation_grant_types.
    #[arg(long, value_name = "on|off", value_parser = validate::on_off)]
    legacy_delegation: Option<bool>,
    /// Brute-force protection (on by default): 429 after 10 consecutive failed logins for one
    /// identifier from one address.
    #[arg(long, value_name = "on|off", value_parser = validate::on_off)]
    brute_force: Option<bool>,
    /// Suspicious-IP throttling (on by default): 429 for an address after 100 failed logins
    /// across accounts (one more every 14.4 minutes), or 50 signups (one more every 1.2 s).
    #[arg(long, value_name = "on|off", value_parser = validate::on_off)]
    suspicious_ip_throttling: Option<bool>,
    #[command(flatten)]
    format: Format,
}

/// `sigil tenant …`.
pub(crate) fn run(
    command: Command,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Show(format) => {
            let tenant =
                storage::with_initialised(location, now, async |opened| Ok(opened.tenant.clone()))?;
            print(&format, &settings_json(&tenant)?, &summary(&tenant))?;
        }
        Command::Set(args) => {
            let tenant = storage::with_initialised(location, now, async |opened| {
                let mut tenant = opened.tenant.clone();
                if let Some(on) = args.legacy_tokeninfo {
                    tenant.flags.allow_legacy_tokeninfo_endpoint = on;
                }
                if let Some(on) = args.legacy_delegation {
                    tenant.flags.allow_legacy_delegation_grant_types = on;
                }
                if let Some(on) = args.brute_force {
                    tenant.brute_force.enabled = on;
                }
                if let Some(on) = args.suspicious_ip_throttling {
                    tenant.suspicious_ip.enabled = on;
                }
                opened
                    .store
                    .put_tenant_settings(&tenant, now)
                    .await
                    .context("cannot save the tenant settings")?;
                Ok(tenant)
            })?;
            print(&args.format, &settings_json(&tenant)?, &summary(&tenant))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The settings as Auth0's Management API returns them (plus Sigil's `issuer`).
fn settings_json(tenant: &TenantSettings) -> anyhow::Result<serde_json::Value> {
    serde_json::to_value(tenant).context("cannot show the tenant settings")
}

fn summary(tenant: &TenantSettings) -> Vec<String> {
    let on = |b: bool| if b { "on" } else { "off" };
    vec![
        format!("issuer: {}", tenant.issuer),
        format!(
            "legacy /tokeninfo: {}",
            on(tenant.flags.allow_legacy_tokeninfo_endpoint)
        ),
        format!(
            "legacy /delegation: {}",
            on(tenant.flags.allow_legacy_delegation_grant_types)
        ),
        format!("brute-force protection: {}", on(tenant.brute_force.enabled)),
        format!(
            "suspicious-IP throttling: {}",
            on(tenant.suspicious_ip.enabled)
        ),
    ]
}
