// Sigil's side of the checks, outside the browser: the mail it queued (`sigil outbox --json`,
// on the running server's data dir), its Management API (a token for the admin client of
// <data-dir>/admin-credentials.json, which `sigil serve` wrote at bootstrap) and
// `POST /dbconnections/signup`, all called from node.

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

import { expect } from "./checks.mjs";

const run = promisify(execFile);

/** The mail queued for `to`, newest first, as `sigil outbox --to TO --json` prints it. */
export async function outbox(fixtures, to) {
  const { stdout } = await run(fixtures.sigil, [
    "--data-dir",
    fixtures.dataDir,
    "outbox",
    "--to",
    to,
    "--json",
  ]);
  return JSON.parse(stdout);
}

/** The link of the newest mail of `kind` (reset_password, verify_email) queued for `to`. */
export async function mailedLink(fixtures, to, kind) {
  // A reset's mail is queued just after the page answered (so a stranger's answer takes as
  // long as a user's): look again for a few seconds before giving up.
  let mails = [];
  let mail;
  for (let tries = 0; tries < 50 && !mail; tries++) {
    if (tries > 0) await new Promise((done) => setTimeout(done, 100));
    mails = await outbox(fixtures, to);
    mail = mails.find((m) => m.kind === kind);
  }
  expect(mail, `no ${kind} mail to ${to} in the outbox (${mails.length} other mails)`);
  const link = mail.body.match(/https?:\/\/\S+\?ticket=\S+/)?.[0];
  expect(link?.startsWith(fixtures.issuer), `no link to ${fixtures.issuer} in: ${mail.body}`);
  return link;
}

let token = null;

/** A Management API access token for the admin client, fetched once: `{value, api}`. */
export async function managementToken(fixtures) {
  if (!token) {
    const file = join(fixtures.dataDir, "admin-credentials.json");
    const credentials = JSON.parse(await readFile(file, "utf8"));
    const answer = await fetch(credentials.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "client_credentials",
        client_id: credentials.client_id,
        client_secret: credentials.client_secret,
        audience: credentials.audience,
      }),
    });
    const body = await answer.json();
    expect(answer.ok, `the admin client's token request: ${answer.status} ${body.error}`);
    token = { value: body.access_token, api: credentials.audience };
  }
  return token;
}

/** Calls the Management API: `path` under /api/v2/, a JSON `body`; returns the JSON answer. */
export async function management(fixtures, method, path, body) {
  const { value, api } = await managementToken(fixtures);
  const answer = await fetch(new URL(path, api), {
    method,
    headers: {
      authorization: `Bearer ${value}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  expect(answer.ok, `${method} ${path}: ${answer.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Signs `email` up through `POST /dbconnections/signup`; returns the new user's id. */
export async function signup(fixtures, email, password) {
  const answer = await fetch(new URL("dbconnections/signup", fixtures.issuer), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_id: fixtures.clientId,
      connection: fixtures.connection,
      email,
      password,
    }),
  });
  const body = await answer.json();
  expect(answer.ok, `signup: ${answer.status} ${JSON.stringify(body)}`);
  expect(body.email === email, `signup answered ${JSON.stringify(body)}`);
  return `auth0|${body._id}`;
}

/** A fresh address at the tests' domain, and a password the default policy accepts. */
export function newAccount(prefix) {
  return {
    email: `${prefix}-${randomBytes(6).toString("hex")}@browser-tests.example.com`,
    password: `Browser-${randomBytes(12).toString("base64url")}-9`,
  };
}
