// Attack protection driven by Auth0's Node SDK (node-auth0 4, `ManagementClient`): the
// brute-force threshold and mode changed, a user blocked by real logins, the blocks listed and
// lifted by identifier and by user id, the events read; suspicious-IP throttling tuned and seen
// refusing an address across accounts; bot detection and CAPTCHA answered as off.
//
// Run by scripts/sdk-tests after the Python attack-protection suite, against the same server
// (started with --trusted-proxies 127.0.0.1, so X-Forwarded-For names the client):
//   SDK_TEST_DOMAIN, SDK_TEST_ISSUER, SDK_TEST_ADMIN_CREDENTIALS, SDK_TEST_CONNECTION
//   SDK_TEST_CLIENT_ID, SDK_TEST_CLIENT_SECRET   a client with the password-realm grant
// It leaves the settings as it found them (Auth0's defaults). One line per check.

import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { ManagementClient } from "auth0";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`node_auth0_attack_protection_test: ${name} is not set (run it with scripts/sdk-tests)`);
    process.exit(2);
  }
  return value;
};
const domain = env("SDK_TEST_DOMAIN");
const issuer = env("SDK_TEST_ISSUER");
const connection = env("SDK_TEST_CONNECTION");
const clientId = env("SDK_TEST_CLIENT_ID");
const clientSecret = env("SDK_TEST_CLIENT_SECRET");
const admin = JSON.parse(readFileSync(env("SDK_TEST_ADMIN_CREDENTIALS"), "utf8"));

const THROTTLED =
  "We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator.";

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

/** The password-realm grant from `ip` (as the trusted proxy forwards it): [status, body]. */
async function login(username, password, ip) {
  const answer = await fetch(`${issuer}oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": ip },
    body: JSON.stringify({
      grant_type: "http://auth0.com/oauth/grant-type/password-realm",
      client_id: clientId,
      client_secret: clientSecret,
      username,
      password,
      realm: connection,
    }),
  });
  return [answer.status, await answer.json()];
}

/** The HTTP status of an SDK call that must fail. */
async function refusal(call) {
  try {
    await call();
  } catch (e) {
    return e.statusCode;
  }
  throw new Error("the call succeeded");
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
const password = `Node-Attack-${randomUUID()}-7`;
const email = `node-blocked-${randomUUID().slice(0, 8)}@sdk-tests.example.com`;
const { data: user } = await management.users.create({ connection, email, password });

await check("attackProtection.updateBruteForceConfig: threshold 2, per identifier from any address", async () => {
  const { data } = await management.attackProtection.updateBruteForceConfig({
    max_attempts: 2,
    mode: "count_per_identifier",
  });
  expect(data.max_attempts === 2 && data.mode === "count_per_identifier", JSON.stringify(data));
  const { data: read } = await management.attackProtection.getBruteForceConfig();
  expect(JSON.stringify(read) === JSON.stringify(data), JSON.stringify(read));
  return JSON.stringify(data);
});

await check("two wrong passwords from one address block the user at another", async () => {
  for (let i = 0; i < 2; i++) {
    const [status, body] = await login(email, "not the password", "203.0.113.77");
    expect(status === 403 && body.error === "invalid_grant", `${status} ${JSON.stringify(body)}`);
  }
  const [status, body] = await login(email, password, "198.51.100.77");
  expect(status === 429 && body.error === "too_many_attempts", `${status} ${JSON.stringify(body)}`);
});

await check("userBlocks.getAll by identifier and get by user id, then delete by id", async () => {
  const { data: byIdentifier } = await management.userBlocks.getAll({ identifier: email });
  const blocked = byIdentifier.blocked_for ?? [];
  expect(
    blocked.length === 1 && blocked[0].identifier === email && !blocked[0].ip && blocked[0].connection === connection,
    JSON.stringify(byIdentifier),
  );
  const { data: byUser } = await management.userBlocks.get({ id: user.user_id });
  expect(JSON.stringify(byUser) === JSON.stringify(byIdentifier), JSON.stringify(byUser));
  await management.userBlocks.delete({ id: user.user_id });
  const [status] = await login(email, password, "198.51.100.77");
  expect(status === 200, `after the block was lifted: ${status}`);
});

await check("userBlocks.deleteAll by identifier, and the limit_wc events in logs.getAll", async () => {
  for (let i = 0; i < 2; i++) await login(email, "not the password", "203.0.113.78");
  const { data: before } = await management.userBlocks.getAll({ identifier: email });
  expect(before.blocked_for.length === 1, JSON.stringify(before));
  await management.userBlocks.deleteAll({ identifier: email });
  const { data: after } = await management.userBlocks.getAll({ identifier: email });
  expect(after.blocked_for.length === 0, JSON.stringify(after));
  const { data: logs } = await management.logs.getAll({ q: "type:limit_wc" });
  expect(logs.some((e) => e.type === "limit_wc" && e.user_name === email), JSON.stringify(logs.slice(0, 3)));
  return `${logs.length} limit_wc events`;
});

await check("attackProtection.updateBruteForceConfig refuses an unknown mode; back to Auth0's defaults", async () => {
  const status = await refusal(() => management.attackProtection.updateBruteForceConfig({ mode: "strict" }));
  expect(status === 400, `status ${status}`);
  const { data } = await management.attackProtection.updateBruteForceConfig({
    max_attempts: 10,
    mode: "count_per_identifier_and_ip",
  });
  expect(data.max_attempts === 10 && data.mode === "count_per_identifier_and_ip", JSON.stringify(data));
});

await check("suspicious-IP throttling: three failures across accounts, then 429 for that address only", async () => {
  const { data: defaults } = await management.attackProtection.getSuspiciousIpThrottlingConfig();
  expect(
    defaults.enabled === true && defaults.stage["pre-login"].max_attempts === 100 && defaults.stage["pre-login"].rate === 864000,
    JSON.stringify(defaults),
  );
  const { data } = await management.attackProtection.updateSuspiciousIpThrottlingConfig({
    stage: { "pre-login": { max_attempts: 3, rate: 864000 } },
  });
  expect(data.stage["pre-login"].max_attempts === 3, JSON.stringify(data));
  for (let i = 0; i < 3; i++) {
    const [status] = await login(`nobody-${i}-${randomUUID().slice(0, 6)}@sdk-tests.example.com`, "x", "203.0.113.99");
    expect(status === 403, `failure ${i}: ${status}`);
  }
  const [status, body] = await login(email, password, "203.0.113.99");
  expect(
    status === 429 && body.error === "too_many_attempts" && body.error_description === THROTTLED,
    `${status} ${JSON.stringify(body)}`,
  );
  const [elsewhere] = await login(email, password, "198.51.100.99");
  expect(elsewhere === 200, `another address: ${elsewhere}`);
  const { data: logs } = await management.logs.getAll({ q: "type:limit_mu" });
  expect(logs.some((e) => e.ip === "203.0.113.99"), JSON.stringify(logs.slice(0, 3)));
  const { data: restored } = await management.attackProtection.updateSuspiciousIpThrottlingConfig({
    stage: { "pre-login": { max_attempts: 100, rate: 864000 } },
  });
  expect(JSON.stringify(restored) === JSON.stringify(defaults), JSON.stringify(restored));
});

await check("bot detection and CAPTCHA: read as off, turning them on refused", async () => {
  const { data: bots } = await management.attackProtection.getBotDetectionConfig();
  expect(bots.challenge_password_policy === "never", JSON.stringify(bots));
  const { data: captcha } = await management.attackProtection.getCaptchaConfig();
  expect(!captcha.active_provider_id, JSON.stringify(captcha));
  const statuses = [
    await refusal(() => management.attackProtection.updateBotDetectionConfig({ challenge_password_policy: "always" })),
    await refusal(() =>
      management.attackProtection.updateCaptchaConfig({ active_provider_id: "hcaptcha", hcaptcha: { site_key: "k" } }),
    ),
  ];
  expect(statuses.every((s) => s === 400), JSON.stringify(statuses));
});

await management.users.delete({ id: user.user_id });
console.log(failed ? `\n${failed} check(s) failed` : "\nnode-auth0 attack-protection suite passed");
process.exit(failed ? 1 : 0);
