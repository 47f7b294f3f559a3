// Auth0's auth0-deploy-cli (pinned in package.json) round-tripping Actions, trigger bindings and
// a legacy Rule through Sigil's Management API: it imports tenant/ (two Actions, one with a
// secret, triggers/triggers.json binding them, and rules/ with one Rule), the Management API is asked (with curl and a machine
// token) whether both are deployed and bound, deploy-cli exports the tenant into a second
// directory, and that directory must equal tenant/ (see `expected` below for the one thing
// deploy-cli itself rewrites); importing that export again must leave the tenant as it was.
// One line per check: PASS, FAIL.
//
// Run by scripts/deploy-cli-test from a directory holding this file, package.json,
// http-fetch.cjs, tenant/ and node_modules (npm ci), with:
//   DEPLOY_CLI_TEST_DOMAIN         127.0.0.1:PORT (deploy-cli's AUTH0_DOMAIN)
//   DEPLOY_CLI_TEST_ISSUER         http://127.0.0.1:PORT/
//   DEPLOY_CLI_TEST_CLIENT_ID      a machine client granted read:, create:, update:, delete:actions
//   DEPLOY_CLI_TEST_CLIENT_SECRET  on the Management API (ISSUER + "api/v2/")
//   DEPLOY_CLI_TEST_WORK           an empty scratch directory (config, export, logs)
//
// deploy-cli is run as its users run it, `a0deploy import|export` with a config file, in a node
// process of its own; http-fetch.cjs is preloaded into it because node-auth0 hard-codes https
// (see that file). The log of its latest import or export is WORK/import.log or WORK/export.log;
// every request it made is in WORK/requests.log.

import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`roundtrip: ${name} is not set (run it with scripts/deploy-cli-test)`);
    process.exit(2);
  }
  return value;
};
const domain = env("DEPLOY_CLI_TEST_DOMAIN");
const issuer = env("DEPLOY_CLI_TEST_ISSUER");
const clientId = env("DEPLOY_CLI_TEST_CLIENT_ID");
const clientSecret = env("DEPLOY_CLI_TEST_CLIENT_SECRET");
const work = env("DEPLOY_CLI_TEST_WORK");
const audience = `${issuer}api/v2/`;
const fixture = join(here, "tenant");
const exported = join(work, "export");

const require = createRequire(import.meta.url);
const a0deploy = join(
  dirname(require.resolve("auth0-deploy-cli/package.json")),
  require("auth0-deploy-cli/package.json").bin.a0deploy,
);
const deployCliVersion = require("auth0-deploy-cli/package.json").version;

// The fixture's Actions and bindings, as the checks below expect to find them on the server.
const ACTIONS = [
  {
    name: "Add roles to tokens",
    trigger: { id: "post-login", version: "v3" },
    display_name: "Roles in tokens",
    secrets: [],
  },
  {
    name: "Tag machine tokens",
    trigger: { id: "credentials-exchange", version: "v2" },
    display_name: "Deployment claim",
    secrets: ["DEPLOYMENT"],
  },
];
const DEPLOYMENT_CLAIM = "https://deploy-cli.sigil.test/deployment";

let failed = 0;
async function check(name, body) {
  try {
    const said = await body();
    console.log(`PASS ${name}${said ? ` (${said})` : ""}`);
    return true;
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${String(e?.message ?? e).replace(/\n/g, "\n     ")}`);
    return false;
  }
}
function expect(condition, message) {
  if (!condition) throw new Error(message);
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// deploy-cli's configuration (https://github.com/auth0/auth0-deploy-cli, docs/configuring-the-
// deploy-cli.md). AUTH0_AUDIENCE because deploy-cli otherwise asks for a token for
// `https://${AUTH0_DOMAIN}/api/v2/`, and Sigil's Management API is ISSUER + "api/v2/" (http
// here). AUTH0_INCLUDED_ONLY keeps it to the resource types under test (the others are not
// part of this round trip). AUTH0_ALLOW_DELETE: the directory is the whole truth for Actions,
// as in a real pipeline; on the fresh server there is nothing else to delete.
const configFile = join(work, "config.json");
writeFileSync(
  configFile,
  JSON.stringify(
    {
      AUTH0_DOMAIN: domain,
      AUTH0_CLIENT_ID: clientId,
      AUTH0_CLIENT_SECRET: clientSecret,
      AUTH0_AUDIENCE: audience,
      AUTH0_INCLUDED_ONLY: ["actions", "triggers", "rules"],
      AUTH0_ALLOW_DELETE: true,
    },
    null,
    2,
  ),
  { mode: 0o600 },
);

// a0deploy COMMAND ARGS…: runs deploy-cli; its output goes to WORK/COMMAND.log.
function deployCli(command, ...args) {
  const log = join(work, `${command}.log`);
  const run = spawnSync(
    process.execPath,
    ["--require", join(here, "http-fetch.cjs"), a0deploy, command, "--config_file", configFile, ...args],
    {
      cwd: work,
      encoding: "utf8",
      env: {
        // deploy-cli reads its settings from the environment too (nconf.env() in
        // lib/commands/*.js): a caller's AUTH0_* variables must not override the config file.
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AUTH0_"))),
        DEPLOY_CLI_TEST_TRACE: join(work, "requests.log"),
      },
      timeout: 300_000,
    },
  );
  // deploy-cli's logger colours its output whatever NO_COLOR says; the log is kept plain.
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.replace(/\x1b\[[0-9;]*m/g, "");
  writeFileSync(log, output);
  if (run.status !== 0) {
    const tail = output.trim().split("\n").slice(-15).join("\n");
    throw new Error(`a0deploy ${command} exited with ${run.status ?? run.signal}; last lines of ${log}:\n${tail}`);
  }
  return output;
}

// curl METHOD PATH: the Management API's JSON answer, with a machine token from the same client.
// The token request's body (the client secret) goes to curl on stdin, never on its command line.
let token;
function curlJson(args, input) {
  const run = spawnSync("curl", ["-sS", "--max-time", "30", "-w", "\n%{http_code}", ...args], {
    encoding: "utf8",
    input,
  });
  const where = args.find((a) => a.startsWith("http"));
  expect(run.status === 0, `curl ${where} failed: ${(run.stderr || String(run.error)).trim()}`);
  const out = run.stdout;
  const newline = out.lastIndexOf("\n");
  const status = Number(out.slice(newline + 1));
  const text = out.slice(0, newline);
  let body;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status, body };
}
function machineToken() {
  const { status, body } = curlJson(
    ["-X", "POST", `${issuer}oauth/token`, "-H", "content-type: application/json", "--data-binary", "@-"],
    JSON.stringify({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret, audience }),
  );
  expect(status === 200 && body?.access_token, `POST /oauth/token answered ${status}: ${JSON.stringify(body)}`);
  return body.access_token;
}
function api(path) {
  token ??= machineToken();
  const { status, body } = curlJson([`${audience}${path}`, "-H", `authorization: Bearer ${token}`]);
  expect(status === 200, `GET /api/v2/${path} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));

// Every file under DIR, relative to it, sorted.
function files(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

console.log(`auth0-deploy-cli ${deployCliVersion} against ${issuer}`);

// 1. import
const imported = await check("a0deploy import tenant/ (actions, triggers, rules)", () => {
  deployCli("import", "--input_file", fixture);
  const log = readFileSync(join(work, "import.log"), "utf8");
  const count = (what) => log.split("\n").filter((l) => l.includes(what)).length;
  expect(/Import Successful/.test(log), "deploy-cli did not report 'Import Successful'");
  const said = `${count("Created [actions]")} Actions created, ${count("Deployed [actions]")} deployed, ` +
    `${count("Updated [triggers]")} triggers' bindings set`;
  expect(
    count("Created [actions]") === ACTIONS.length && count("Deployed [actions]") === ACTIONS.length &&
      count("Updated [triggers]") === ACTIONS.length,
    `deploy-cli said: ${said}`,
  );
  return said;
});

// 2. what the Management API says was imported
let actions = [];
await check("GET /api/v2/actions/actions lists both Actions, built and deployed", () => {
  const body = api("actions/actions?per_page=100");
  actions = body.actions ?? [];
  for (const want of ACTIONS) {
    const got = actions.find((a) => a.name === want.name);
    expect(got, `no Action named ${want.name} in ${JSON.stringify(actions.map((a) => a.name))}`);
    expect(got.status === "built", `${want.name}: status ${got.status}`);
    expect(got.all_changes_deployed === true, `${want.name}: all_changes_deployed ${got.all_changes_deployed}`);
    expect(got.deployed_version?.deployed === true, `${want.name}: deployed_version ${JSON.stringify(got.deployed_version)}`);
    expect(same(got.supported_triggers, [want.trigger]), `${want.name}: supported_triggers ${JSON.stringify(got.supported_triggers)}`);
  }
  expect(actions.length === ACTIONS.length, `${actions.length} Actions, expected ${ACTIONS.length}`);
  return actions.map((a) => `${a.name} v${a.deployed_version.number}`).join(", ");
});

await check("each Action's code and secrets are the fixture's", () => {
  for (const want of ACTIONS) {
    const summary = actions.find((a) => a.name === want.name);
    expect(summary, `no Action named ${want.name}`);
    const got = api(`actions/actions/${encodeURIComponent(summary.id)}`);
    const code = readFileSync(join(fixture, "actions", want.name, "code.js"), "utf8");
    expect(got.code === code, `${want.name}: the draft's code differs from the fixture's code.js`);
    expect(got.deployed_version?.code === code, `${want.name}: the deployed version's code differs`);
    const names = (got.secrets ?? []).map((s) => s.name);
    expect(same(names, want.secrets), `${want.name}: secrets ${JSON.stringify(got.secrets)}`);
    expect((got.secrets ?? []).every((s) => !("value" in s)), `${want.name}: a secret's value was answered`);
  }
});

for (const want of ACTIONS) {
  await check(`GET /api/v2/actions/triggers/${want.trigger.id}/bindings binds ${want.name}`, () => {
    const body = api(`actions/triggers/${want.trigger.id}/bindings`);
    const bindings = body.bindings ?? [];
    expect(bindings.length === 1, `${bindings.length} bindings: ${JSON.stringify(bindings)}`);
    const [binding] = bindings;
    expect(binding.action?.name === want.name, `bound: ${binding.action?.name}`);
    expect(binding.display_name === want.display_name, `display_name ${binding.display_name}`);
    const id = actions.find((a) => a.name === want.name)?.id;
    expect(binding.action.id === id, `bound Action id ${binding.action.id}, expected ${id}`);
    return `display_name ${binding.display_name}`;
  });
}

await check("GET /api/v2/rules lists the fixture's legacy Rule, enabled, in order, with its script", () => {
  const body = api("rules?include_totals=true&per_page=100");
  const rules = body.rules ?? [];
  expect(rules.length === 1, `${rules.length} rules: ${JSON.stringify(rules.map((r) => r.name))}`);
  const [rule] = rules;
  const script = readFileSync(join(fixture, "rules", "Add staff flag.js"), "utf8");
  expect(rule.name === "Add staff flag" && rule.enabled === true && rule.order === 1, JSON.stringify(rule));
  expect(rule.stage === "login_success", `stage ${rule.stage}`);
  expect(rule.script === script, "the script differs from the fixture's");
  return `${rule.name}, order ${rule.order}`;
});

await check("a client_credentials token now carries the bound credentials-exchange Action's claim", () => {
  const jwt = machineToken();
  const value = claims(jwt)[DEPLOYMENT_CLAIM];
  expect(value === "deploy-cli-roundtrip", `${DEPLOYMENT_CLAIM} is ${JSON.stringify(value)}`);
  return `${DEPLOYMENT_CLAIM}=${value}`;
});

// 3. export
const exportedOk = await check("a0deploy export into a second directory", () => {
  deployCli("export", "--format", "directory", "--output_folder", exported);
  expect(/Export Successful/.test(readFileSync(join(work, "export.log"), "utf8")), "no 'Export Successful'");
  return files(exported).length + " files";
});

// 4. the round trip: the export equals the fixture.
//
// One normalisation, of what deploy-cli itself rewrites: an Action secret's `value`. Secrets are
// write-only in the Management API (Auth0's as well as Sigil's answer `{name, updated_at}`), so
// deploy-cli's export writes `{"name": …}` alone (mapSecrets in
// auth0-deploy-cli/lib/context/directory/handlers/actions.js). The expected tree is the fixture
// with every secret's `value` removed, written back as deploy-cli writes JSON (dumpJSON in
// auth0-deploy-cli/lib/utils.js: two-space JSON.stringify and a final newline). Nothing else is
// touched: the fixture is already in the layout, key order and format deploy-cli's export
// writes, so every other byte must come back as it went in.
if (imported && exportedOk) {
  await check("the exported directory equals tenant/ (diff -ru, secret values aside)", () => {
    const expected = join(work, "expected");
    cpSync(fixture, expected, { recursive: true });
    for (const file of files(join(expected, "actions")).filter((f) => f.endsWith(".json"))) {
      const path = join(expected, "actions", file);
      const action = JSON.parse(readFileSync(path, "utf8"));
      if (Array.isArray(action.secrets)) {
        action.secrets = action.secrets.map(({ value, ...rest }) => rest);
      }
      writeFileSync(path, `${JSON.stringify(action, null, 2)}\n`);
    }
    const diff = spawnSync("diff", ["-ru", "expected", "export"], { cwd: work, encoding: "utf8" });
    expect(diff.status === 0, `diff -ru expected export:\n${diff.stdout}${diff.stderr}`);
    return `${files(exported).length} files identical`;
  });
} else {
  failed += 1;
  console.log("FAIL the exported directory equals tenant/: not compared (import or export failed)");
}

// 5. and back again: importing the exported directory (what a pipeline does after an export)
// leaves the tenant as it was. deploy-cli PATCHes and deploys every Action it finds again
// (calculateChanges in auth0-deploy-cli/lib/tools/calculateChanges.js updates whatever matches
// by name), now with `secrets: [{"name": "DEPLOYMENT"}]` and no value: the secret must keep its
// value, the bindings must stay, and a second export must equal the first.
if (imported && exportedOk) {
  const reimported = await check("a0deploy import of the exported directory", () => {
    deployCli("import", "--input_file", exported);
    expect(/Import Successful/.test(readFileSync(join(work, "import.log"), "utf8")), "no 'Import Successful'");
  });
  if (reimported) {
    await check("after it the secret keeps its value and both bindings stay", () => {
      const value = claims(machineToken())[DEPLOYMENT_CLAIM];
      expect(value === "deploy-cli-roundtrip", `${DEPLOYMENT_CLAIM} is ${JSON.stringify(value)}`);
      for (const want of ACTIONS) {
        const bindings = api(`actions/triggers/${want.trigger.id}/bindings`).bindings ?? [];
        expect(
          bindings.length === 1 && bindings[0].action?.name === want.name && bindings[0].display_name === want.display_name,
          `${want.trigger.id}: ${JSON.stringify(bindings.map((b) => [b.action?.name, b.display_name]))}`,
        );
      }
      const body = api("actions/actions?per_page=100");
      const names = (body.actions ?? []).map((a) => a.name).sort();
      expect(same(names, ACTIONS.map((a) => a.name).sort()), `Actions now: ${JSON.stringify(names)}`);
      expect((body.actions ?? []).every((a) => a.all_changes_deployed === true), "an Action has undeployed changes");
    });
    await check("a second export equals the first (diff -ru)", () => {
      deployCli("export", "--format", "directory", "--output_folder", join(work, "export-2"));
      const diff = spawnSync("diff", ["-ru", "export", "export-2"], { cwd: work, encoding: "utf8" });
      expect(diff.status === 0, `diff -ru export export-2:\n${diff.stdout}${diff.stderr}`);
    });
  }
}

console.log(failed === 0 ? "\nroundtrip: all checks passed" : `\nroundtrip: ${failed} check(s) failed`);
process.exit(failed === 0 ? 0 : 1);
