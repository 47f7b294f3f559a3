// Preloaded into auth0-deploy-cli (`node --require ./http-fetch.cjs …`) by roundtrip.mjs.
//
// deploy-cli builds its clients from AUTH0_DOMAIN alone, and node-auth0 6 (which it uses)
// hard-codes the scheme: `https://${domain}/api/v2` for the Management API
// (auth0/dist/cjs/management/wrapper/ManagementClient.js) and `https://${domain}` for the token
// endpoint (auth0/dist/cjs/auth/base-auth-api.js). Neither deploy-cli nor node-auth0 has an
// option for another scheme or base URL, and both call the global `fetch` when they send. So
// this wraps the global `fetch` and sends what is addressed to https://DEPLOY_CLI_TEST_DOMAIN/ to
// http://DEPLOY_CLI_TEST_DOMAIN/ instead: the same rewrite tests/sdk's node-auth0 suite makes
// with node-auth0 4's `fetch` option. Nothing else about a request or its answer changes.
//
// With DEPLOY_CLI_TEST_TRACE naming a file, one line per request is appended to it (when it was sent, method, URL,
// request body, status, time taken and, for an error, the answer's body) so that a refusal can be told
// apart from a bug in deploy-cli. Token requests' bodies (the client secret) are not written.

"use strict";

const { appendFileSync } = require("node:fs");

const domain = process.env.DEPLOY_CLI_TEST_DOMAIN;
if (!domain) {
  console.error("http-fetch.cjs: DEPLOY_CLI_TEST_DOMAIN is not set");
  process.exit(2);
}
const prefix = `https://${domain}/`;
const trace = process.env.DEPLOY_CLI_TEST_TRACE;
const originalFetch = globalThis.fetch;

function shown(body) {
  if (body == null) return "";
  if (typeof body === "string") return body;
  if (body instanceof URLSearchParams) return body.toString();
  return `[${Object.prototype.toString.call(body)}]`;
}

globalThis.fetch = async function httpFetch(input, init) {
  const url = typeof input === "string" || input instanceof URL ? String(input) : input.url;
  if (!url.startsWith(prefix)) {
    return originalFetch(input, init);
  }
  const rewritten = `http://${url.slice("https://".length)}`;
  const request =
    typeof input === "string" || input instanceof URL
      ? originalFetch(rewritten, init)
      : originalFetch(new Request(rewritten, input), init);
  if (!trace) return request;
  const method =
    init?.method ?? (typeof input === "string" || input instanceof URL ? "GET" : input.method);
  const isToken = new URL(rewritten).pathname === "/oauth/token";
  const sent = isToken ? "[token request]" : shown(init?.body);
  const started = Date.now();
  let response;
  try {
    response = await request;
  } catch (e) {
    appendFileSync(trace, `${new Date(started).toISOString()} ${method} ${rewritten} ${sent} -> ${e}\n`);
    throw e;
  }
  let answer = "";
  if (response.status >= 400) {
    answer = ` ${await response.clone().text()}`;
  }
  appendFileSync(
    trace,
    `${new Date(started).toISOString()} ${method} ${rewritten} ${sent} -> ${response.status} ` +
      `(${Date.now() - started} ms)${answer}\n`,
  );
  return response;
};
