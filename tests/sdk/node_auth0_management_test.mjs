// Sigil's Management API v2 driven by Auth0's Node SDK (node-auth0 4, `ManagementClient`).
//
// Run by scripts/sdk-tests against the same server as the Python suites:
//   SDK_TEST_DOMAIN             127.0.0.1:PORT
//   SDK_TEST_ADMIN_CREDENTIALS  sigil init's admin-credentials.json
//   SDK_TEST_CONNECTION         the database connection
//
// The SDK hard-codes https://{domain}; its `fetch` option gets a function that rewrites the
// scheme to http, which is all that differs from talking to Auth0. (node-auth0 5 drops the
// `fetch` option, hence version 4, the last to keep it.) One line per check.

import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { ManagementClient } from "auth0";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`node_auth0_management_test: ${name} is not set (run it with scripts/sdk-tests)`);
    process.exit(2);
  }
  return value;
};
const domain = env("SDK_TEST_DOMAIN");
const connection = env("SDK_TEST_CONNECTION");
const admin = JSON.parse(readFileSync(env("SDK_TEST_ADMIN_CREDENTIALS"), "utf8"));

const overHttp = (input, init) => {
  const url = typeof input === "string" || input instanceof URL ? String(input) : input.url;
  return fetch(url.replace(/^https:\/\//, "http://"), init);
};

let failed = 0;
async function check(name, body) {
  try {
    const said = await body();
    console.log(`PASS ${name}${said ? ` (${said})` : ""}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const tokenResponse = await fetch(admin.token_endpoint, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({
    grant_type: "client_credentials",
    client_id: admin.client_id,
    client_secret: admin.client_secret,
    audience: admin.audience,
  }),
});
const { access_token: token } = await tokenResponse.json();
const management = new ManagementClient({ domain, token, fetch: overHttp });
const email = () => `node-${randomUUID().slice(0, 12)}@sdk-tests.example.com`;

await check("ManagementClient users.create, get, update, delete", async () => {
  const address = email();
  const { data: created } = await management.users.create({
    connection,
    email: address,
    password: `Node-Sdk-${randomUUID()}`,
    user_metadata: { theme: "dark", lang: "en" },
  });
  expect(created.user_id.startsWith("auth0|"), `user_id ${created.user_id}`);
  const { data: got } = await management.users.get({ id: created.user_id });
  expect(got.email === address, `email ${got.email}`);
  const { data: updated } = await management.users.update(
    { id: created.user_id },
    { user_metadata: { lang: null, tz: "UTC" } },
  );
  expect(JSON.stringify(updated.user_metadata) === JSON.stringify({ theme: "dark", tz: "UTC" }), JSON.stringify(updated.user_metadata));
  await management.users.delete({ id: created.user_id });
  let status;
  try {
    await management.users.get({ id: created.user_id });
  } catch (e) {
    status = e.statusCode;
  }
  expect(status === 404, `get after delete: ${status}`);
  return created.user_id;
});

await check("ManagementClient users.list pages through everyone", async () => {
  const made = [];
  for (let i = 0; i < 3; i++) {
    const { data } = await management.users.create({ connection, email: email(), password: `Node-Sdk-${randomUUID()}` });
    made.push(data);
  }
  const seen = [];
  for (let page = 0; ; page++) {
    const { data } = await management.users.getAll({ per_page: 2, page, include_totals: true });
    expect(typeof data.total === "number", JSON.stringify(data));
    if (data.users.length === 0) break;
    seen.push(...data.users.map((u) => u.user_id));
  }
  for (const user of made) expect(seen.includes(user.user_id), `${user.user_id} not listed`);
  expect(new Set(seen).size === seen.length, "a user listed twice");
  return `${seen.length} users`;
});

await check("ManagementClient roles.create, list, update, delete", async () => {
  const name = `node-${randomUUID().slice(0, 8)}`;
  const { data: role } = await management.roles.create({ name, description: "made by the Node SDK suite" });
  expect(role.id.startsWith("rol_"), `id ${role.id}`);
  const { data: listed } = await management.roles.getAll({ name_filter: name });
  expect(listed.some((r) => r.id === role.id), `not listed: ${JSON.stringify(listed)}`);
  const { data: updated } = await management.roles.update({ id: role.id }, { description: "changed" });
  expect(updated.description === "changed", updated.description);
  await management.roles.delete({ id: role.id });
  return role.id;
});

await check("ManagementClient resourceServers.create and clients.create", async () => {
  const identifier = `https://node-${randomUUID().slice(0, 8)}.sdk-tests.example.com/`;
  const { data: api } = await management.resourceServers.create({
    name: "Node SDK API",
    identifier,
    scopes: [{ value: "read:things", description: "Read things" }],
  });
  expect(api.identifier === identifier, `identifier ${api.identifier}`);
  const { data: found } = await management.resourceServers.getAll({ identifiers: [identifier, "urn:nobody"] });
  expect(found.length === 1 && found[0].id === api.id, `identifiers: ${JSON.stringify(found)}`);
  const { data: client } = await management.clients.create({ name: "Node SDK client", app_type: "non_interactive" });
  expect(typeof client.client_secret === "string" && client.client_secret.length > 30, "no secret on create");
  const { data: grant } = await management.clientGrants.create({ client_id: client.client_id, audience: identifier, scope: ["read:things"] });
  expect(grant.audience === identifier, JSON.stringify(grant));
  return client.client_id;
});

await check("ManagementClient users.link, get, unlink", async () => {
  const password = `Node-Sdk-${randomUUID()}`;
  const { data: primary } = await management.users.create({ connection, email: email(), password });
  const { data: secondary } = await management.users.create({ connection, email: email(), password });
  const [provider, localId] = secondary.user_id.split("|");
  const { data: linked } = await management.users.link({ id: primary.user_id }, { provider, user_id: localId });
  expect(Array.isArray(linked) && linked.length === 2, JSON.stringify(linked));
  expect(linked[0].user_id === primary.user_id.split("|")[1], JSON.stringify(linked[0]));
  expect(linked[1].provider === provider && linked[1].user_id === localId, JSON.stringify(linked[1]));
  expect(linked[1].connection === connection && linked[1].isSocial === false, JSON.stringify(linked[1]));
  expect(linked[1].profileData?.email === secondary.email, JSON.stringify(linked[1]));
  const { data: got } = await management.users.get({ id: primary.user_id });
  expect(JSON.stringify(got.identities) === JSON.stringify(linked), JSON.stringify(got.identities));
  let status;
  try {
    await management.users.get({ id: secondary.user_id });
  } catch (e) {
    status = e.statusCode;
  }
  expect(status === 404, `the linked account as a user: ${status}`);
  const { data: remaining } = await management.users.unlink({ id: primary.user_id, provider, user_id: localId });
  expect(remaining.length === 1 && remaining[0].user_id === linked[0].user_id, JSON.stringify(remaining));
  const { data: again } = await management.users.get({ id: secondary.user_id });
  expect(again.email === secondary.email && again.identities.length === 1, JSON.stringify(again));
  return `${secondary.user_id} linked into ${primary.user_id} and back`;
});

await check("ManagementClient actions.create, deploy, deployVersion, updateTriggerBindings, test, delete", async () => {
  const name = `node-${randomUUID().slice(0, 8)}`;
  const { data: action } = await management.actions.create({
    name,
    supported_triggers: [{ id: "credentials-exchange", version: "v2" }],
    code: "exports.onExecuteCredentialsExchange = async (event, api) => { console.log('ran'); };",
    secrets: [{ name: "KEY", value: "node-secret" }],
  });
  expect(action.status === "built", `status ${action.status}`);
  expect(!JSON.stringify(action).includes("node-secret"), "a secret value came back");
  const { data: tested } = await management.actions.test({ id: action.id }, { payload: { event: {} } });
  expect(tested.payload.logs === "ran\n", JSON.stringify(tested));
  const { data: v1 } = await management.actions.deploy({ id: action.id });
  expect(v1.number === 1 && v1.deployed, JSON.stringify(v1));
  await management.actions.update({ id: action.id }, { code: "exports.onExecuteCredentialsExchange = async () => {};" });
  await management.actions.deploy({ id: action.id });
  const { data: rolled } = await management.actions.deployVersion({ actionId: action.id, id: v1.id }, {});
  expect(rolled.number === 3 && rolled.code.includes("console.log"), JSON.stringify(rolled));
  const { data: versions } = await management.actions.getVersions({ actionId: action.id });
  expect(versions.versions.length === 3, JSON.stringify(versions));
  const { data: triggers } = await management.actions.getAllTriggers();
  expect(triggers.triggers.some((t) => t.id === "credentials-exchange"), JSON.stringify(triggers));
  const { data: bound } = await management.actions.updateTriggerBindings(
    { triggerId: "credentials-exchange" },
    { bindings: [{ ref: { type: "action_name", value: name }, display_name: name }] },
  );
  expect(bound.bindings.length === 1 && bound.bindings[0].action.id === action.id, JSON.stringify(bound));
  const { data: listed } = await management.actions.getTriggerBindings({ triggerId: "credentials-exchange" });
  expect(listed.bindings.length === 1, JSON.stringify(listed));
  await management.actions.updateTriggerBindings({ triggerId: "credentials-exchange" }, { bindings: [] });
  await management.actions.delete({ id: action.id, force: true });
  return action.id;
});

await check("ManagementClient rules.create, getAll, update, delete and rulesConfigs.set, getAll, delete", async () => {
  const name = `node rule ${randomUUID().slice(0, 8)}`;
  const script = "function (user, context, callback) {\n  context.idToken[configuration.NS + 'node'] = true;\n  callback(null, user, context);\n}";
  const { data: rule } = await management.rules.create({ name, script, enabled: false });
  expect(rule.id.startsWith("rul_") && rule.name === name && rule.script === script, JSON.stringify(rule));
  expect(rule.enabled === false && rule.stage === "login_success", JSON.stringify(rule));
  const { data: all } = await management.rules.getAll({ include_totals: true });
  expect(all.rules.some((r) => r.id === rule.id) && all.total >= 1, JSON.stringify(all));
  const { data: updated } = await management.rules.update({ id: rule.id }, { order: 7 });
  expect(updated.order === 7, JSON.stringify(updated));
  const { data: set } = await management.rulesConfigs.set({ key: "NS" }, { value: "https://node.example/" });
  expect(set.key === "NS", JSON.stringify(set));
  const { data: keys } = await management.rulesConfigs.getAll();
  expect(keys.some((k) => k.key === "NS") && keys.every((k) => !("value" in k)), JSON.stringify(keys));
  let status;
  try {
    await management.rules.create({ name: `${name} bad`, script: "function (user, context, callback) {" });
  } catch (e) {
    status = e.statusCode;
  }
  expect(status === 400, `a script that does not build: ${status}`);
  await management.rulesConfigs.delete({ key: "NS" });
  await management.rules.delete({ id: rule.id });
  return rule.id;
});

await check("ManagementClient connections.create, getEnabledClients, updateEnabledClients, clients.getEnabledConnections, connections.delete", async () => {
  const { data: app } = await management.clients.create({ name: "Node SDK app", app_type: "spa" });
  const name = `node-${randomUUID().slice(0, 8)}`;
  const { data: created } = await management.connections.create({
    name,
    strategy: "auth0",
    display_name: "Node SDK directory",
    enabled_clients: [app.client_id],
  });
  expect(created.display_name === "Node SDK directory", JSON.stringify(created));
  const { data: first } = await management.connections.getEnabledClients({ id: created.id, take: 1 });
  expect(JSON.stringify(first.clients) === JSON.stringify([{ client_id: app.client_id }]), JSON.stringify(first));
  await management.connections.updateEnabledClients({ id: created.id }, [
    { client_id: app.client_id, status: false },
    { client_id: admin.client_id, status: true },
  ]);
  const { data: after } = await management.connections.getEnabledClients({ id: created.id });
  expect(JSON.stringify(after.clients) === JSON.stringify([{ client_id: admin.client_id }]), JSON.stringify(after));
  const { data: ofApp } = await management.clients.getEnabledConnections({ client_id: app.client_id });
  const names = ofApp.connections.map((c) => c.name);
  expect(names.includes(connection) && !names.includes(name), JSON.stringify(names));
  await management.connections.delete({ id: created.id });
  let status;
  try {
    await management.connections.get({ id: created.id });
  } catch (e) {
    status = e.statusCode;
  }
  expect(status === 404, `after the delete: ${status}`);
  await management.clients.delete({ client_id: app.client_id });
  return `${names.length} connections for the new app`;
});

await check("ManagementClient connections for other identity providers: oidc and github, secrets never read back", async () => {
  const name = `oidc-${randomUUID().slice(0, 8)}`;
  const options = {
    type: "back_channel",
    client_id: "sigil-at-idp",
    client_secret: "idp-secret-never-shown",
    issuer: "https://idp.example.com/",
    authorization_endpoint: "https://idp.example.com/authorize",
    token_endpoint: "https://idp.example.com/token",
    jwks_uri: "https://idp.example.com/jwks",
    scope: "openid profile email",
  };
  const { data: oidc } = await management.connections.create({ name, strategy: "oidc", options, show_as_button: true });
  expect(oidc.strategy === "oidc" && oidc.show_as_button === true, JSON.stringify(oidc));
  expect(!("client_secret" in oidc.options), `the secret came back: ${JSON.stringify(oidc.options)}`);
  expect(oidc.options.oidc_metadata?.token_endpoint === options.token_endpoint, JSON.stringify(oidc.options));
  // A read-modify-write, as deployment tools do: the options read back, the secret kept.
  const { data: read } = await management.connections.get({ id: oidc.id });
  const { data: updated } = await management.connections.update({ id: oidc.id }, { options: { ...read.options, scope: "openid email" } });
  expect(updated.options.scope === "openid email" && !("client_secret" in updated.options), JSON.stringify(updated.options));
  const { data: github } = await management.connections.create({
    name: `github-${randomUUID().slice(0, 8)}`,
    strategy: "github",
    options: { client_id: "gh", client_secret: "gh-secret", email: true },
  });
  let status;
  try {
    await management.connections.create({ name: "github-again", strategy: "github", options: { client_id: "x", client_secret: "y" } });
  } catch (e) {
    status = e.statusCode;
  }
  expect(status === 400, `a second github connection: ${status}`);
  try {
    status = undefined;
    await management.connections.create({ name: "saml", strategy: "samlp", options: {} });
  } catch (e) {
    status = e.statusCode;
  }
  expect(status === 400, `samlp: ${status}`);
  await management.connections.delete({ id: github.id });
  await management.connections.delete({ id: oidc.id });
  return `${oidc.id}, ${github.id}`;
});

await check("ManagementClient emails.configure, get, update: the SMTP password never read back", async () => {
  let status;
  try {
    await management.emails.get();
  } catch (e) {
    status = e.statusCode;
  }
  expect(status === 404, `before any provider: ${status}`);
  // Disabled, so that the other suites' mail is not sent to a server that is not there.
  const { data: configured } = await management.emails.configure({
    name: "smtp",
    enabled: false,
    default_from_address: "sdk@example.com",
    credentials: { smtp_host: "mail.invalid", smtp_port: 587, smtp_user: "sdk", smtp_pass: "node-sdk-secret" },
  });
  expect(configured.name === "smtp" && configured.enabled === false, JSON.stringify(configured));
  const { data: shown } = await management.emails.get({ fields: "name,enabled,credentials,default_from_address", include_fields: true });
  expect(shown.credentials.smtp_host === "mail.invalid" && !JSON.stringify(shown).includes("node-sdk-secret")
    && !("smtp_pass" in shown.credentials), JSON.stringify(shown));
  const { data: short } = await management.emails.get();
  expect(Object.keys(short).sort().join() === "enabled,name" && short.name === "smtp" && short.enabled === false,
    JSON.stringify(short));
  const { data: updated } = await management.emails.update({ credentials: { smtp_port: 2525 } });
  expect(updated.credentials.smtp_port === 2525 && updated.credentials.smtp_user === "sdk", JSON.stringify(updated));
  try {
    status = undefined;
    await management.emails.update({ name: "sendgrid", credentials: { api_key: "k" } });
  } catch (e) {
    status = e.statusCode;
  }
  expect(status === 400, `sendgrid: ${status}`);
  // node-auth0 4 has no emails.delete: the same DELETE by hand.
  const gone = await overHttp(`https://${domain}/api/v2/emails/provider`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${token}` },
  });
  expect(gone.status === 204, `DELETE: ${gone.status}`);
  return "configured, shown, updated, deleted";
});

await check("ManagementClient jobs.verifyEmail, then jobs.get: the verification mail sent again", async () => {
  const { data: user } = await management.users.create({
    connection,
    email: email(),
    password: `Node-Sdk-${randomUUID()}`,
  });
  const { data: job } = await management.jobs.verifyEmail({ user_id: user.user_id });
  expect(job.type === "verification_email" && job.status === "completed" && job.id, JSON.stringify(job));
  const { data: read } = await management.jobs.get({ id: job.id });
  expect(read.id === job.id && read.type === "verification_email", JSON.stringify(read));
  await management.users.delete({ id: user.user_id });
  return job.id;
});

await check("ManagementClient gets Auth0's error shape for a bad body", async () => {
  let error;
  try {
    await management.users.create({ connection, email: "not-an-email", password: "Node-Sdk-x1!" });
  } catch (e) {
    error = e;
  }
  expect(error?.statusCode === 400, `status ${error?.statusCode}`);
  expect(String(error.body).includes("email"), String(error?.body));
  return error.errorCode;
});

console.log(`node-auth0 management: ${failed ? `${failed} failed` : "every check passed"}`);
process.exit(failed ? 1 : 0);
