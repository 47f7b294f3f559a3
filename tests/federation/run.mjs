// Sigil between identity providers and a relying party that nobody here wrote:
//
//   openid-client (the application)  ──►  sigil serve  ──►  panva's oidc-provider (OpenID Certified)
//                                                      └──►  oauth2-mock-server (forging what a
//                                                            hostile provider would)
//
// Run by scripts/federation-tests:  SIGIL_BIN=… node run.mjs
//
// It starts `sigil serve` (a fresh data dir, --federation-allow-http-loopback) on 127.0.0.1, the
// upstreams on `localhost` (another host, so no cookie is shared), makes the connections and the
// application through the Management API, and drives the browser's part by hand: a cookie jar
// per host, redirects followed one by one, oidc-provider's development login form filled in.
// One line per check (PASS or FAIL); exit status 1 when one failed, 2 when the suite could not run.
// Sigil runs at debug level with its log captured: the last checks read it for the operator's
// warnings, and for the providers' tokens and the connections' secrets, which must never be there.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { SignJWT, exportJWK, exportPKCS8, generateKeyPair, importJWK, jwtVerify } from "jose";
import { OAuth2Server } from "oauth2-mock-server";
import Provider from "oidc-provider";
import * as client from "openid-client";

const sigilBin = process.env.SIGIL_BIN;
if (!sigilBin) {
  console.error("run.mjs: SIGIL_BIN is not set (run it with scripts/federation-tests)");
  process.exit(2);
}

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

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// --- sigil serve -------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), "sigil-federation-"));
const upstreamsToClose = [];

// PyPI's oauth-mocks, stand-ins for GitHub and Google (on two consecutive ports), which the
// operator's --federation-endpoint points the presets at.
const oauthMocks = process.env.OAUTH_MOCKS;
let mocksPort;
let mocks;
if (oauthMocks) {
  mocksPort = await freePort();
  mocks = spawn(oauthMocks, ["--provider", "github,google", "--host", "127.0.0.1", "--port", String(mocksPort)], {
    stdio: ["ignore", "ignore", "ignore"],
  });
  for (let i = 0; ; i++) {
    try {
      const [github, google] = await Promise.all([
        fetch(`http://127.0.0.1:${mocksPort}/`),
        fetch(`http://127.0.0.1:${mocksPort + 1}/.well-known/openid-configuration`),
      ]);
      if (github.ok && google.ok) break;
    } catch {}
    if (i > 300) {
      console.error("run.mjs: oauth-mocks did not start");
      mocks.kill();
      process.exit(2);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
// An Azure AD-shaped stand-in (Microsoft's identity platform cannot be installed): the common
// endpoint's discovery names the issuer as a template, `…/{tenantid}/v2.0`, and each token's
// issuer carries its own tenant, `tid`. `azure.forge` bends the next token.
const azure = { forge: null, nonces: new Map() };
{
  const { createServer: createHttp } = await import("node:http");
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "azure-1", alg: "RS256", use: "sig" };
  azure.port = await freePort();
  const base = `http://localhost:${azure.port}`;
  const server = createHttp(async (req, res) => {
    const url = new URL(req.url, base);
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (url.pathname.endsWith("/v2.0/.well-known/openid-configuration")) {
      return json(200, {
        issuer: `${base}/{tenantid}/v2.0`,
        authorization_endpoint: `${base}/common/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/common/oauth2/v2.0/token`,
        jwks_uri: `${base}/common/discovery/v2.0/keys`,
        response_types_supported: ["code"],
        subject_types_supported: ["pairwise"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
    }
    if (url.pathname === "/common/discovery/v2.0/keys") return json(200, { keys: [jwk] });
    if (url.pathname === "/common/oauth2/v2.0/authorize") {
      const code = `code-${Math.random().toString(36).slice(2)}`;
      azure.nonces.set(code, { nonce: url.searchParams.get("nonce"), client: url.searchParams.get("client_id") });
      const back = new URL(url.searchParams.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state"));
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (url.pathname === "/common/oauth2/v2.0/token" && req.method === "POST") {
      let body = "";
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const asked = azure.nonces.get(form.get("code"));
      if (!asked) return json(400, { error: "invalid_grant" });
      azure.nonces.delete(form.get("code"));
      const tid = "72f988bf-0000-4000-8000-2d7cd011db47";
      const claims = {
        iss: `${base}/${tid}/v2.0`, aud: asked.client, tid, oid: "9f1e8a2c-oid-of-dana",
        sub: "pairwise-sub-of-dana", nonce: asked.nonce, name: "Dana Azure",
        preferred_username: "dana@contoso.example",
      };
      azure.forge?.(claims);
      azure.forge = null;
      const token = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: jwk.kid })
        .setIssuedAt().setExpirationTime("5m").sign(privateKey);
      return json(200, { access_token: "azure-access", token_type: "Bearer", expires_in: 3599, id_token: token });
    }
    json(404, { error: "not_found" });
  });
  await new Promise((r) => server.listen(azure.port, "127.0.0.1", r));
  upstreamsToClose.push(() => new Promise((r) => server.close(r)));
}

// A Sign in with Apple-shaped stand-in: it POSTs its answer (response_mode=form_post) with the
// `user` field on a first authorization only, accepts only a client secret that is an ES256 JWT
// signed with the team's key, and says `email_verified` as the string "true".
const apple = { port: await freePort(), team: "TEAM123456", keyId: "KEY1234567", seen: new Set() };
{
  const { createServer: createHttp } = await import("node:http");
  const team = await generateKeyPair("ES256", { extractable: true });
  apple.p8 = await exportPKCS8(team.privateKey);
  const teamPublic = team.publicKey;
  const signer = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(signer.publicKey)), kid: "apple-1", alg: "RS256", use: "sig" };
  const codes = new Map();
  const server = createHttp(async (req, res) => {
    const url = new URL(req.url, `http://localhost:${apple.port}`);
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (url.pathname === "/auth/keys") return json(200, { keys: [jwk] });
    if (url.pathname === "/auth/authorize") {
      const login = url.searchParams.get("login_hint") || "ann";
      const code = `apple-code-${Math.random().toString(36).slice(2)}`;
      codes.set(code, { nonce: url.searchParams.get("nonce"), client: url.searchParams.get("client_id"), login });
      const fields = { code, state: url.searchParams.get("state") };
      if (!apple.seen.has(login)) {
        apple.seen.add(login);
        fields.user = JSON.stringify({ name: { firstName: "Ann", lastName: "Apple" }, email: `${login}@privaterelay.example` });
      }
      apple.lastMode = url.searchParams.get("response_mode");
      const inputs = Object.entries(fields)
        .map(([k, v]) => `<input type="hidden" name="${k}" value="${v.replace(/&/g, "&amp;").replace(/"/g, "&quot;")}">`)
        .join("");
      res.writeHead(200, { "content-type": "text/html" })
        .end(`<form method="post" action="${url.searchParams.get("redirect_uri")}">${inputs}</form>`);
      return;
    }
    if (url.pathname === "/auth/token" && req.method === "POST") {
      let body = "";
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      try {
        await jwtVerify(form.get("client_secret"), teamPublic, {
          issuer: apple.team, audience: "https://appleid.apple.com", subject: form.get("client_id"),
          algorithms: ["ES256"],
        });
      } catch (e) {
        return json(400, { error: "invalid_client" });
      }
      const asked = codes.get(form.get("code"));
      if (!asked) return json(400, { error: "invalid_grant" });
      codes.delete(form.get("code"));
      const token = await new SignJWT({
        iss: "https://appleid.apple.com", aud: asked.client, sub: `001234.${asked.login}.0042`,
        nonce: asked.nonce, email: `${asked.login}@privaterelay.example`, email_verified: "true",
        is_private_email: "true",
      }).setProtectedHeader({ alg: "RS256", kid: jwk.kid }).setIssuedAt().setExpirationTime("5m").sign(signer.privateKey);
      return json(200, { access_token: "apple-access", token_type: "Bearer", expires_in: 3600, id_token: token, refresh_token: "apple-refresh" });
    }
    json(404, {});
  });
  await new Promise((r) => server.listen(apple.port, "127.0.0.1", r));
  upstreamsToClose.push(() => new Promise((r) => server.close(r)));
}

// A Facebook-shaped stand-in: its dialog answers at once, its token endpoint checks the app
// secret, and the Graph API's /me answers only with the right appsecret_proof.
const facebook = { port: await freePort(), secret: "fb-app-secret" };
{
  const { createServer: createHttp } = await import("node:http");
  const { createHmac } = await import("node:crypto");
  const server = createHttp(async (req, res) => {
    const url = new URL(req.url, `http://localhost:${facebook.port}`);
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (url.pathname === "/dialog/oauth") {
      const back = new URL(url.searchParams.get("redirect_uri"));
      back.searchParams.set("code", "fb-code");
      back.searchParams.set("state", url.searchParams.get("state"));
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (url.pathname === "/oauth/access_token") {
      let body = "";
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      if (form.get("client_secret") !== facebook.secret || form.get("code") !== "fb-code") {
        return json(400, { error: { message: "bad", type: "OAuthException" } });
      }
      return json(200, { access_token: "fb-token-1", token_type: "bearer", expires_in: 5183944 });
    }
    if (url.pathname === "/me") {
      const proof = createHmac("sha256", facebook.secret).update("fb-token-1").digest("hex");
      if (url.searchParams.get("appsecret_proof") !== proof || req.headers.authorization !== "Bearer fb-token-1") {
        return json(400, { error: { message: "appsecret_proof", type: "GraphMethodException" } });
      }
      return json(200, {
        id: "10158012345678901", name: "Fay Book", email: "fay@example.com", first_name: "Fay",
        last_name: "Book", picture: { data: { url: "https://graph.example/pic.jpg" } },
      });
    }
    json(404, {});
  });
  await new Promise((r) => server.listen(facebook.port, "127.0.0.1", r));
  upstreamsToClose.push(() => new Promise((r) => server.close(r)));
}

// Stand-ins for the OpenID presets whose providers are out of reach here: Microsoft accounts
// (windowslive), LinkedIn and Okta. Each answers its preset's paths under the base the operator
// moves the preset to (--federation-endpoint), signs its ID tokens as its provider's issuer
// (the presets keep their issuers), echoes the nonce, takes the client's secret in the form, and
// answers UserInfo with the ID token's `sub`.
async function openidStandIn({ name, issuer: issuerAt, paths, discovery = false, claims }) {
  const { createServer: createHttp } = await import("node:http");
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: `${name}-1`, alg: "RS256", use: "sig" };
  const standIn = { port: await freePort(), codes: new Map(), secret: `${name}-client-secret` };
  const base = `http://localhost:${standIn.port}`;
  const iss = issuerAt(base);
  const server = createHttp(async (req, res) => {
    const url = new URL(req.url, base);
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (discovery && url.pathname === "/.well-known/openid-configuration") {
      return json(200, {
        issuer: iss,
        authorization_endpoint: `${base}${paths.authorize}`,
        token_endpoint: `${base}${paths.token}`,
        userinfo_endpoint: `${base}${paths.userinfo}`,
        jwks_uri: `${base}${paths.keys}`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        code_challenge_methods_supported: ["S256"],
      });
    }
    if (url.pathname === paths.keys) return json(200, { keys: [jwk] });
    if (url.pathname === paths.authorize) {
      const code = `${name}-code-${Math.random().toString(36).slice(2)}`;
      standIn.codes.set(code, { nonce: url.searchParams.get("nonce"), client: url.searchParams.get("client_id") });
      const back = new URL(url.searchParams.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state"));
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (url.pathname === paths.token && req.method === "POST") {
      let body = "";
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const asked = standIn.codes.get(form.get("code"));
      if (!asked || form.get("client_secret") !== standIn.secret) return json(400, { error: "invalid_grant" });
      standIn.codes.delete(form.get("code"));
      const token = await new SignJWT({ ...claims, iss, aud: asked.client, nonce: asked.nonce ?? undefined })
        .setProtectedHeader({ alg: "RS256", kid: jwk.kid }).setIssuedAt().setExpirationTime("5m").sign(privateKey);
      return json(200, { access_token: `${name}-access`, token_type: "Bearer", expires_in: 3600, id_token: token });
    }
    if (url.pathname === paths.userinfo) {
      if (req.headers.authorization !== `Bearer ${name}-access`) return json(401, { error: "invalid_token" });
      return json(200, claims);
    }
    json(404, { error: "not_found" });
  });
  await new Promise((r) => server.listen(standIn.port, "127.0.0.1", r));
  upstreamsToClose.push(() => new Promise((r) => server.close(r)));
  return standIn;
}
const microsoft = await openidStandIn({
  name: "windowslive",
  issuer: () => "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
  paths: {
    authorize: "/consumers/oauth2/v2.0/authorize", token: "/consumers/oauth2/v2.0/token",
    userinfo: "/oidc/userinfo", keys: "/consumers/discovery/v2.0/keys",
  },
  claims: { sub: "AAAAAAAAAAAAAAAAAAAAAEsoMsft", name: "Mia Soft", email: "mia@outlook.example" },
});
const linkedin = await openidStandIn({
  name: "linkedin",
  issuer: () => "https://www.linkedin.com/oauth",
  paths: {
    authorize: "/oauth/v2/authorization", token: "/oauth/v2/accessToken",
    userinfo: "/v2/userinfo", keys: "/oauth/openid/jwks",
  },
  claims: { sub: "782bbtaQ", name: "Lin Kedin", email: "lin@linkedin.example", email_verified: true },
});
const okta = await openidStandIn({
  name: "okta",
  issuer: (base) => base,
  discovery: true,
  paths: { authorize: "/oauth2/v1/authorize", token: "/oauth2/v1/token", userinfo: "/oauth2/v1/userinfo", keys: "/oauth2/v1/keys" },
  claims: { sub: "00u1okta2user", name: "Otto Okta", email: "otto@corp.example", email_verified: true },
});

const port = await freePort();
const issuer = `http://127.0.0.1:${port}/`;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SIGIL_")));
const sigil = spawn(
  sigilBin,
  ["serve", "--data-dir", join(work, "data"), "--listen", `127.0.0.1:${port}`, "--issuer", issuer,
    "--federation-allow-http-loopback", "--log", "debug", "--log-format", "json",
    // Profile scripts (custom oauth2 connections) reach the mock provider as Actions would.
    "--actions-egress", "http://localhost,127.0.0.0/8,::1/128",
    "--federation-endpoint", `waad=http://localhost:${azure.port},apple=http://localhost:${apple.port},facebook=http://localhost:${facebook.port}`,
    "--federation-endpoint", `windowslive=http://localhost:${microsoft.port},linkedin=http://localhost:${linkedin.port},okta=http://localhost:${okta.port}`,
    ...(mocksPort ? ["--federation-endpoint",
      `github=http://127.0.0.1:${mocksPort},google-oauth2=http://127.0.0.1:${mocksPort + 1}`] : [])],
  { env, stdio: ["ignore", "pipe", "inherit"] },
);
// Everything Sigil logs (one JSON object per line), for the checks at the end.
let sigilLog = "";
sigil.stdout.setEncoding("utf8");
sigil.stdout.on("data", (chunk) => {
  sigilLog += chunk;
});
// What must never be logged: the upstreams' tokens (added as the checks see them) and the
// connections' secrets.
const neverLogged = new Set([
  "azure-access", "apple-access", "apple-refresh", "fb-token-1", "fb-app-secret", "mock-secret",
  "custom-secret", "azure-secret", "github-secret", "google-secret",
  microsoft.secret, linkedin.secret, okta.secret, "windowslive-access", "linkedin-access", "okta-access",
  "op-secret-0123456789abcdef0123456789abcdef",
]);
let stopping = false;
sigil.on("exit", (code) => {
  if (!stopping) {
    console.error(`run.mjs: sigil serve exited (${code})`);
    process.exit(2);
  }
});
const upstreams = upstreamsToClose;
async function stop(status) {
  stopping = true;
  sigil.kill("SIGTERM");
  mocks?.kill("SIGTERM");
  for (const close of upstreams) {
    await close().catch(() => {});
  }
  rmSync(work, { recursive: true, force: true });
  process.exit(status);
}
process.on("SIGINT", () => stop(130));
process.on("SIGTERM", () => stop(143));

for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${issuer}readyz`)).ok) break;
  } catch {}
  if (i > 300) {
    console.error("run.mjs: sigil serve did not become ready");
    await stop(2);
  }
  await new Promise((r) => setTimeout(r, 100));
}

const admin = JSON.parse(readFileSync(join(work, "data", "admin-credentials.json"), "utf8"));
/** A Management API token of the admin client: every scope, or only `scope`. */
async function managementToken(scope) {
  const answer = await fetch(admin.token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      grant_type: "client_credentials",
      client_id: admin.client_id,
      client_secret: admin.client_secret,
      audience: admin.audience,
      scope,
    }),
  });
  const body = await answer.json();
  if (!body.access_token) throw new Error(`no management token: ${JSON.stringify(body)}`);
  return body.access_token;
}
const token = await managementToken();
async function management(method, path, body) {
  const answer = await fetch(`${issuer}api/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  return { status: answer.status, body: text ? JSON.parse(text) : null };
}

// --- a browser ---------------------------------------------------------------------------

/** Cookies per host:port; redirects followed by hand. */
class Browser {
  constructor() {
    this.jars = new Map();
  }
  jar(url) {
    const key = new URL(url).host;
    if (!this.jars.has(key)) this.jars.set(key, new Map());
    return this.jars.get(key);
  }
  async request(url, init = {}) {
    const jar = this.jar(url);
    const headers = { ...(init.headers ?? {}) };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const answer = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of answer.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = /max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line);
      if (!value || expired) jar.delete(name);
      else jar.set(name, value);
    }
    const body = await answer.text();
    const location = answer.headers.get("location");
    return { status: answer.status, body, location: location && new URL(location, url).href, url };
  }
  get(url) {
    return this.request(url);
  }
  post(url, form) {
    return this.request(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
  }
  /** Follows redirects from `url` until an answer that is not one, or one to `stopAt`. */
  async follow(url, stopAt) {
    let page = await this.get(url);
    for (let hops = 0; page.location && hops < 20; hops++) {
      if (stopAt && page.location.startsWith(stopAt)) return page;
      page = await this.get(page.location);
    }
    return page;
  }
}

// --- panva's oidc-provider, upstream -------------------------------------------------------

const opPort = await freePort();
const op = `http://localhost:${opPort}`;
const opClient = { id: "sigil-at-op", secret: "op-secret-0123456789abcdef0123456789abcdef" };
// What the provider says of each login name; a name it does not know gets a bare profile.
const people = {
  alice: { email: "alice@verified.test", email_verified: true, name: "Alice Upstream", locale: "fr" },
  bob: { email: "ann@example.com", email_verified: false, name: "Bob Claims Ann" },
};
let aliceName = people.alice.name;
const provider = new Provider(op, {
  clients: [{
    client_id: opClient.id,
    client_secret: opClient.secret,
    redirect_uris: [`${issuer}login/callback`],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_post",
  }],
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        const known = id === "alice" ? { ...people.alice, name: aliceName } : people[id] ?? {};
        return { sub: id, ...known };
      },
    };
  },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "locale"] },
  // Claims in the ID token too, where Auth0's OIDC connections read them.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  // No consent page: every scope asked for is granted (panva's recipe "skip_consent").
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile");
    grant.addOIDCClaims(["email", "email_verified", "name", "locale"]);
    await grant.save();
    return grant;
  },
});
provider.on("server_error", (_ctx, e) => console.error("oidc-provider:", e));
const opServer = provider.listen(opPort, "127.0.0.1");
upstreams.push(() => new Promise((r) => opServer.close(r)));

/** Logs `login` in at oidc-provider's development form, from its interaction page. */
async function opLogin(browser, upstreamUrl, login) {
  let page = await browser.get(upstreamUrl);
  page = await browser.get(page.location); // the interaction page
  const action = page.body.match(/action="([^"]+)"/)?.[1];
  expect(action, `no login form at the upstream: ${page.status} ${page.body.slice(0, 300)}`);
  page = await browser.post(new URL(action, page.url).href, { prompt: "login", login, password: "any" });
  // Back to /auth/UID, then to Sigil's callback.
  return browser.follow(page.location, `${issuer}login/callback`);
}

// --- the application, through openid-client ------------------------------------------------

const appCallback = "http://app.example.test/callback";
const created = await management("POST", "/clients", {
  name: "openid-client app",
  app_type: "regular_web",
  callbacks: [appCallback],
  grant_types: ["authorization_code", "refresh_token"],
  token_endpoint_auth_method: "client_secret_post",
});
if (created.status !== 201) {
  console.error(`run.mjs: cannot make the application: ${JSON.stringify(created)}`);
  await stop(2);
}
const app = created.body;
const rp = await client.discovery(new URL(issuer), app.client_id, app.client_secret, undefined, {
  execute: [client.allowInsecureRequests],
});

/** Starts a login at Sigil through `connection`; answers the URL and what to check after. */
async function startLogin(browser, connection, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: appCallback,
    scope: "openid profile email",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    connection,
    ...extra,
  });
  const first = await browser.get(url.href);
  return { first, verifier, state, nonce };
}

/** The tokens of the code in `callbackUrl`, checked by openid-client. */
function finishLogin(callbackUrl, started) {
  return client.authorizationCodeGrant(rp, new URL(callbackUrl), {
    pkceCodeVerifier: started.verifier,
    expectedState: started.state,
    expectedNonce: started.nonce,
  });
}

async function user(id) {
  const answer = await management("GET", `/users/${encodeURIComponent(id)}`);
  expect(answer.status === 200, `GET /users/${id}: ${JSON.stringify(answer)}`);
  for (const identity of answer.body.identities ?? []) {
    for (const token of [identity.access_token, identity.refresh_token]) {
      if (typeof token === "string") neverLogged.add(token);
    }
  }
  return answer.body;
}

/** The user as a token with read:users only (no read:user_idp_tokens) sees it. */
async function userWithoutTokens(id) {
  const reader = await managementToken("read:users");
  const shown = await fetch(`${issuer}api/v2/users/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${reader}` },
  });
  expect(shown.status === 200, `GET /users/${id} with read:users: ${shown.status}`);
  return shown.json();
}

// --- the checks ------------------------------------------------------------------------------

const corp = await management("POST", "/connections", {
  name: "corp",
  strategy: "oidc",
  options: {
    type: "back_channel",
    discovery_url: op,
    client_id: opClient.id,
    client_secret: opClient.secret,
    scope: "openid profile email",
  },
  enabled_clients: [app.client_id],
});

await check("an oidc connection to oidc-provider is made through the Management API (discovery read)", async () => {
  expect(corp.status === 201, JSON.stringify(corp));
  expect(corp.body.options.oidc_metadata?.issuer === op, JSON.stringify(corp.body.options));
  expect(!("client_secret" in corp.body.options), "the secret is never shown");
  expect(corp.body.options.oidc_metadata.authorization_response_iss_parameter_supported === true, "RFC 9207 advertised");
});

let aliceId;
await check("the first login through oidc-provider makes the user; openid-client accepts Sigil's tokens", async () => {
  const browser = new Browser();
  const started = await startLogin(browser, "corp");
  expect(started.first.status === 302 && started.first.location.startsWith(`${op}/auth?`),
    `straight upstream, no Sigil page: ${started.first.status} ${started.first.location}`);
  const upstream = new URL(started.first.location);
  expect(upstream.searchParams.get("code_challenge_method") === "S256", "PKCE S256 upstream");
  expect(upstream.searchParams.get("nonce"), "a nonce upstream");
  const back = await opLogin(browser, started.first.location, "alice");
  expect(back.location?.startsWith(`${issuer}login/callback?`), `to Sigil's callback: ${back.status} ${back.location}`);
  const done = await browser.get(back.location);
  expect(done.location?.startsWith(appCallback), `to the application: ${done.status} ${done.body.slice(0, 200)}`);
  const tokens = await finishLogin(done.location, started);
  const claims = tokens.claims();
  aliceId = claims.sub;
  expect(aliceId === "oidc|corp|alice", `sub ${aliceId}`);
  expect(claims.email === "alice@verified.test", JSON.stringify(claims));
  return `sub ${aliceId}`;
});

await check("GET /users/{id}: the profile from the upstream, its tokens only with read:user_idp_tokens", async () => {
  const shown = await user(aliceId);
  expect(shown.email_verified === true, JSON.stringify(shown));
  expect(shown.name === "Alice Upstream", JSON.stringify(shown));
  expect(shown.locale === "fr", "the upstream's other attributes at the root");
  const identity = shown.identities[0];
  expect(identity.provider === "oidc" && identity.connection === "corp" && identity.isSocial === false
    && identity.user_id === "corp|alice", JSON.stringify(identity));
  // The administrator's token has every scope, read:user_idp_tokens among them.
  expect(typeof identity.access_token === "string", `the upstream token: ${JSON.stringify(identity)}`);
  expect(identity.expires_in > 0, "expires_in");
  const info = await fetch(`${op}/me`, { headers: { authorization: `Bearer ${identity.access_token}` } });
  expect(info.ok, `the upstream's UserInfo takes the token: ${info.status}`);
  expect((await info.json()).sub === "alice", "it is alice's");
});

await check("a second login refreshes the profile (on_each_login) and counts", async () => {
  aliceName = "Alice Renamed";
  const browser = new Browser();
  const started = await startLogin(browser, "corp");
  const back = await opLogin(browser, started.first.location, "alice");
  const done = await browser.get(back.location);
  await finishLogin(done.location, started);
  const shown = await user(aliceId);
  expect(shown.name === "Alice Renamed", shown.name);
  expect(shown.logins_count === 2, `logins_count ${shown.logins_count}`);
  expect(shown.email === "alice@verified.test", "absent nothing, blanked nothing");
});

await check("no automatic linking: an upstream claiming a database user's email makes its own user", async () => {
  const password = `Db-${Math.random().toString(36).slice(2)}A1!x`;
  const db = await management("POST", "/users", {
    connection: "Username-Password-Authentication", email: "ann@example.com", password,
  });
  expect(db.status === 201, JSON.stringify(db));
  const browser = new Browser();
  const started = await startLogin(browser, "corp");
  const back = await opLogin(browser, started.first.location, "bob");
  const done = await browser.get(back.location);
  const claims = (await finishLogin(done.location, started)).claims();
  expect(claims.sub === "oidc|corp|bob" && claims.sub !== db.body.user_id, claims.sub);
  const shown = await user(claims.sub);
  expect(shown.email === "ann@example.com" && shown.email_verified === false, JSON.stringify(shown));
  const both = await management("GET", `/users-by-email?email=${encodeURIComponent("ann@example.com")}`);
  expect(both.body.length === 2, `two users share the address: ${both.body.length}`);
});

await check("the user cancels at the upstream: the application gets access_denied with its state", async () => {
  const browser = new Browser();
  const started = await startLogin(browser, "corp");
  let page = await browser.get(started.first.location);
  page = await browser.get(page.location);
  const abort = page.body.match(/href="([^"]*\/abort)"/)?.[1];
  expect(abort, `no abort link on the upstream's page: ${page.body.slice(0, 300)}`);
  page = await browser.follow(new URL(abort, page.url).href, `${issuer}login/callback`);
  const done = await browser.get(page.location);
  const answer = new URL(done.location);
  expect(answer.searchParams.get("error") === "access_denied", done.location);
  expect(answer.searchParams.get("state") === started.state, "the application's own state");
});

await check("a replayed callback and one in another browser are refused; no user is made", async () => {
  const before = (await management("GET", "/users?include_totals=true&per_page=1")).body.total;
  const browser = new Browser();
  const started = await startLogin(browser, "corp");
  const back = await opLogin(browser, started.first.location, "carol");
  const elsewhere = await new Browser().get(back.location);
  expect(elsewhere.status === 400, `another browser: ${elsewhere.status}`);
  const done = await browser.get(back.location);
  expect(done.location?.startsWith(appCallback), "its own browser finishes it");
  const replay = await browser.get(back.location);
  expect(replay.status === 400, `a replay: ${replay.status}`);
  const after = (await management("GET", "/users?include_totals=true&per_page=1")).body.total;
  expect(after === before + 1, `${before} → ${after}`);
});

await check("prompt=none never goes upstream", async () => {
  const browser = new Browser();
  const started = await startLogin(browser, "corp", { prompt: "none" });
  const answer = new URL(started.first.location);
  expect(answer.origin + answer.pathname === appCallback, started.first.location);
  expect(answer.searchParams.get("error") === "login_required", started.first.location);
});

// --- oauth2-mock-server: what a hostile or broken provider sends -----------------------------

const mock = new OAuth2Server();
await mock.issuer.keys.generate("RS256");
const mockPort = await freePort();
await mock.start(mockPort, "127.0.0.1");
upstreams.push(() => mock.stop());
const mockIssuer = `http://localhost:${mockPort}`;
mock.issuer.url = mockIssuer;
const evil = await management("POST", "/connections", {
  name: "evil",
  strategy: "oidc",
  options: { discovery_url: mockIssuer, client_id: "sigil-at-mock", client_secret: "mock-secret" },
  enabled_clients: [app.client_id],
});
await check("an oidc connection to oauth2-mock-server is made", async () => {
  expect(evil.status === 201, JSON.stringify(evil));
});

// One forgery at a time: each hook is set before a login and removed after.
const { privateKey: otherKey } = await generateKeyPair("RS256");
const mockKey = () => mock.issuer.keys.toJSON()[0];
async function forged(header, payload, signWith) {
  return new SignJWT(payload).setProtectedHeader(header).sign(signWith);
}
function unsigned(payload) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(payload)}.`;
}

const now = () => Math.floor(Date.now() / 1000);
const forgeries = [
  ["a wrong issuer", (h, p) => { p.iss = "https://someone-else.example"; }],
  ["a wrong audience", (h, p) => { p.aud = "another-client"; }],
  ["an expired token", (h, p) => { p.iat = now() - 3600; p.exp = now() - 600; }],
  ["a token issued 10 minutes ahead", (h, p) => { p.iat = now() + 600; p.exp = now() + 1200; }],
  ["a wrong nonce", (h, p) => { p.nonce = "not-the-nonce"; }],
  ["a missing nonce", (h, p) => { delete p.nonce; }],
  ["an unknown kid", (h) => { h.kid = "not-published"; }],
];
let userCount;
async function loginAgainstMock(browser, prepare) {
  const started = await startLogin(browser, "evil");
  expect(started.first.location?.startsWith(`${mockIssuer}/authorize?`), `upstream: ${started.first.location}`);
  if (prepare) await prepare(new URL(started.first.location));
  const back = await browser.follow(started.first.location, `${issuer}login/callback`);
  expect(back.location?.startsWith(`${issuer}login/callback`), `back: ${back.status} ${back.location}`);
  const done = await browser.get(back.location);
  return { started, done };
}
async function refused(name, prepare) {
  const browser = new Browser();
  const { started, done } = await loginAgainstMock(browser, prepare);
  const answer = new URL(done.location);
  expect(answer.searchParams.get("error") === "access_denied", `${name}: ${done.location}`);
  expect(answer.searchParams.get("state") === started.state, "with the application's state");
  const count = (await management("GET", "/users?include_totals=true&per_page=1")).body.total;
  expect(count === userCount, `no user made (${userCount} → ${count})`);
}

await check("oauth2-mock-server's honest token is accepted (the forgeries below differ in one thing each)", async () => {
  const browser = new Browser();
  const { started, done } = await loginAgainstMock(browser);
  const claims = (await finishLogin(done.location, started)).claims();
  expect(claims.sub.startsWith("oidc|evil|"), claims.sub);
  userCount = (await management("GET", "/users?include_totals=true&per_page=1")).body.total;
});

for (const [name, forge] of forgeries) {
  await check(`refused: ${name}`, async () => {
    // The mock signs an access token, then the ID token (the one addressed to Sigil's client).
    const hook = (token) => {
      if (token.payload.aud === "sigil-at-mock") forge(token.header, token.payload);
    };
    mock.service.on("beforeTokenSigning", hook);
    try {
      await refused(name);
    } finally {
      mock.service.removeListener("beforeTokenSigning", hook);
    }
  });
}

await check("accepted: 30 s of clock skew", async () => {
  const hook = (token) => {
    if (token.payload.aud === "sigil-at-mock") token.payload.iat = now() + 30;
  };
  mock.service.on("beforeTokenSigning", hook);
  try {
    const browser = new Browser();
    const { started, done } = await loginAgainstMock(browser);
    const claims = (await finishLogin(done.location, started)).claims();
    expect(claims.sub.startsWith("oidc|evil|"), claims.sub);
  } finally {
    mock.service.removeListener("beforeTokenSigning", hook);
  }
});

// Tokens the mock would never sign, swapped into its token response; each carries the claims
// an honest one would (this login's nonce among them), so only its signature can be wrong.
const replacements = [
  ["alg none", async (p) => unsigned(p)],
  ["HS256 keyed with the provider's public key", async (p) => {
    const jwk = mockKey();
    const secret = new TextEncoder().encode(JSON.stringify(jwk));
    return forged({ alg: "HS256", kid: jwk.kid }, p, secret);
  }],
  ["a key the provider never published, under its kid", async (p) =>
    forged({ alg: "RS256", kid: mockKey().kid }, p, otherKey)],
];
for (const [name, make] of replacements) {
  await check(`refused: ${name}`, async () => {
    let token;
    const swap = (response) => {
      if (response.body?.id_token) response.body.id_token = token;
    };
    const prepare = async (upstream) => {
      token = await make({
        iss: mockIssuer,
        aud: "sigil-at-mock",
        sub: "johndoe",
        nonce: upstream.searchParams.get("nonce"),
        iat: now(),
        exp: now() + 300,
      });
      mock.service.once("beforeResponse", swap);
    };
    try {
      await refused(name, prepare);
    } finally {
      mock.service.removeListener("beforeResponse", swap);
    }
  });
}

await check("refused: a token response larger than 64 KiB", async () => {
  const swap = (response) => { response.body.padding = "x".repeat(70 * 1024); };
  mock.service.once("beforeResponse", swap);
  try {
    await refused("oversized");
  } finally {
    mock.service.removeListener("beforeResponse", swap);
  }
});

await check("refused: UserInfo about someone else than the ID token", async () => {
  const patched = await management("PATCH", `/connections/${evil.body.id}`, {
    options: {
      discovery_url: mockIssuer,
      client_id: "sigil-at-mock",
      attribute_map: { mapping_mode: "bind_all", userinfo_scope: "openid profile" },
    },
  });
  expect(patched.status === 200, JSON.stringify(patched));
  const swap = (response) => { response.body.sub = "somebody-else"; };
  mock.service.on("beforeUserinfo", swap);
  try {
    await refused("userinfo sub");
  } finally {
    mock.service.removeListener("beforeUserinfo", swap);
  }
});

await check("a provider that never answers: the Management API gives up after 5 s and says why", async () => {
  const silent = (await import("node:http")).createServer(() => {});
  await new Promise((r) => silent.listen(0, "127.0.0.1", r));
  upstreams.push(() => new Promise((r) => { silent.closeAllConnections(); silent.close(r); }));
  const started = Date.now();
  const answer = await management("POST", "/connections", {
    name: "silent",
    strategy: "oidc",
    options: {
      discovery_url: `http://localhost:${silent.address().port}`,
      client_id: "x",
      client_secret: "y",
    },
  });
  const took = (Date.now() - started) / 1000;
  expect(answer.status === 400 && /discovery_url/.test(answer.body.message), JSON.stringify(answer));
  expect(took < 12, `took ${took} s`);
  return `${took.toFixed(1)} s: ${answer.body.message}`;
});

// --- a custom oauth2 connection: the tenant's fetchUserProfile, run by the Actions engine ----

await management("PATCH", "/tenants/settings", { actions_egress: ["http://localhost"] });
// Auth0's documented shape of a profile script: the `request` global, a callback.
const profileScript = `function (accessToken, ctx, callback) {
  request.get({ url: '${mockIssuer}/userinfo', headers: { Authorization: 'Bearer ' + accessToken } },
    function (e, r, b) {
      if (e) return callback(e);
      if (r.statusCode !== 200) return callback(new Error('StatusCode: ' + r.statusCode));
      const profile = JSON.parse(b);
      callback(null, { user_id: profile.sub, email: 'script-' + profile.sub + '@example.com',
                       email_verified: true, nickname: 'scripted', expires: ctx.expires_in });
    });
}`;
const custom = await management("POST", "/connections", {
  name: "custom",
  strategy: "oauth2",
  options: {
    client_id: "sigil-at-custom",
    client_secret: "custom-secret",
    authorizationURL: `${mockIssuer}/authorize`,
    tokenURL: `${mockIssuer}/token`,
    scope: "profile",
    scripts: { fetchUserProfile: profileScript },
  },
  enabled_clients: [app.client_id],
});
async function customLogin() {
  const browser = new Browser();
  const started = await startLogin(browser, "custom");
  expect(started.first.location?.startsWith(`${mockIssuer}/authorize?`), started.first.location);
  const back = await browser.follow(started.first.location, `${issuer}login/callback`);
  const done = await browser.get(back.location);
  return { started, done };
}
await check("oauth2: the profile script runs in the Actions engine; oauth2|custom|<id>", async () => {
  expect(custom.status === 201, JSON.stringify(custom));
  const { started, done } = await customLogin();
  const claims = (await finishLogin(done.location, started)).claims();
  expect(claims.sub === "oauth2|custom|johndoe", claims.sub);
  const shown = await user(claims.sub);
  expect(shown.email === "script-johndoe@example.com" && shown.email_verified === true, JSON.stringify(shown));
  expect(shown.identities[0].isSocial === true && shown.identities[0].provider === "oauth2", JSON.stringify(shown.identities[0]));
  expect(shown.expires > 0, "the token response's ctx reached the script");
});
await check("oauth2: a script that fails, or reaches a host outside the egress lists, logs nobody in", async () => {
  for (const script of [
    "function (t, c, cb) { cb(new Error('nope')); }",
    "function (t, c, cb) { request.get('http://127.0.0.1:9/x', function (e) { cb(e || new Error('reached')); }); }",
  ]) {
    const patched = await management("PATCH", `/connections/${custom.body.id}`, {
      options: {
        client_id: "sigil-at-custom", authorizationURL: `${mockIssuer}/authorize`, tokenURL: `${mockIssuer}/token`,
        scripts: { fetchUserProfile: script },
      },
    });
    expect(patched.status === 200, JSON.stringify(patched));
    const { started, done } = await customLogin();
    const answer = new URL(done.location);
    expect(answer.searchParams.get("error") === "access_denied", done.location);
    expect(answer.searchParams.get("state") === started.state, "with the application's state");
  }
  const broken = await management("PATCH", `/connections/${custom.body.id}`, {
    options: {
      client_id: "sigil-at-custom", authorizationURL: `${mockIssuer}/authorize`, tokenURL: `${mockIssuer}/token`,
      scripts: { fetchUserProfile: "function (t, c, cb) { this is not javascript" },
    },
  });
  expect(broken.status === 400 && /fetchUserProfile/.test(broken.body.message), JSON.stringify(broken));
  const made = await management("POST", "/connections", {
    name: "custom-broken", strategy: "oauth2",
    options: {
      client_id: "x", client_secret: "y", authorizationURL: `${mockIssuer}/authorize`, tokenURL: `${mockIssuer}/token`,
      scripts: { fetchUserProfile: "module.exports = 1;" },
    },
  });
  expect(made.status === 400 && /fetchUserProfile/.test(made.body.message), `made with a script that is no function: ${JSON.stringify(made)}`);
});

// --- Sign in with Apple: the team key's client secret, the POSTed answer, the first name -----

const appleConnection = await management("POST", "/connections", {
  name: "apple",
  strategy: "apple",
  options: {
    client_id: "com.example.sigil", app_secret: apple.p8, team_id: apple.team, kid: apple.keyId,
    name: true, email: true,
  },
  enabled_clients: [app.client_id],
});
/** A login through the Apple stand-in, whose POSTed answer comes first without cookies (a
 * cross-site POST does not carry the SameSite=Lax binding cookie), as browsers send it. */
async function appleLogin() {
  const browser = new Browser();
  const started = await startLogin(browser, "apple");
  expect(started.first.location?.includes("response_mode=form_post"), started.first.location);
  const page = await browser.get(started.first.location);
  const fields = Object.fromEntries(
    [...page.body.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2].replace(/&quot;/g, '"').replace(/&amp;/g, "&")]),
  );
  const crossSite = await fetch(`${issuer}login/callback`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
  expect(crossSite.status === 200, `the re-POST page: ${crossSite.status}`);
  const again = await crossSite.text();
  const reposted = Object.fromEntries(
    [...again.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2].replace(/&quot;/g, '"').replace(/&#x2f;/gi, "/").replace(/&amp;/g, "&")]),
  );
  expect(reposted.sigil_reposted === "1" && reposted.code === fields.code, `re-POSTed fields: ${Object.keys(reposted)}`);
  const done = await browser.post(`${issuer}login/callback`, reposted);
  expect(done.location?.startsWith(appCallback), `to the application: ${done.status} ${done.body.slice(0, 300)}`);
  return (await finishLogin(done.location, started)).claims();
}
await check("apple: the client secret an ES256 JWT of the team key; the POSTed answer re-POSTed once from Sigil's origin; the name from `user`", async () => {
  expect(appleConnection.status === 201, JSON.stringify(appleConnection));
  expect(!("app_secret" in appleConnection.body.options), "the key is never shown");
  const claims = await appleLogin();
  expect(claims.sub === "apple|001234.ann.0042", claims.sub);
  const shown = await user(claims.sub);
  expect(shown.name === "Ann Apple" && shown.given_name === "Ann" && shown.family_name === "Apple", JSON.stringify(shown));
  expect(shown.email_verified === true, `Apple's "true" believed: ${JSON.stringify(shown)}`);
  // Apple's tokens, its refresh token included, only with read:user_idp_tokens.
  const identity = shown.identities[0];
  expect(identity.access_token === "apple-access" && identity.refresh_token === "apple-refresh",
    `the provider's tokens: ${JSON.stringify(identity)}`);
  const hidden = (await userWithoutTokens(claims.sub)).identities[0];
  expect(!("access_token" in hidden) && !("refresh_token" in hidden), JSON.stringify(hidden));
});
await check("apple: a later login, without `user`, keeps the name", async () => {
  const claims = await appleLogin();
  const shown = await user(claims.sub);
  expect(shown.name === "Ann Apple" && shown.logins_count === 2, JSON.stringify(shown));
});
await check("apple: a key that is not a P-256 .p8 is refused when the connection is written", async () => {
  const answer = await management("POST", "/connections", {
    name: "apple-2", strategy: "apple",
    options: { client_id: "x", app_secret: "not a key", team_id: "T", kid: "K" },
  });
  expect(answer.status === 400 && /app_secret/.test(answer.body.message), JSON.stringify(answer));
});

// --- Facebook: the Graph API with the app secret's proof ---------------------------------

await check("facebook: facebook|<id>, the Graph API's profile read with appsecret_proof, the email not believed", async () => {
  const made = await management("POST", "/connections", {
    name: "facebook", strategy: "facebook",
    options: { client_id: "fb-app", client_secret: facebook.secret },
    enabled_clients: [app.client_id],
  });
  expect(made.status === 201, JSON.stringify(made));
  const browser = new Browser();
  const started = await startLogin(browser, "facebook");
  expect(started.first.location?.startsWith(`http://localhost:${facebook.port}/dialog/oauth?`), started.first.location);
  expect(new URL(started.first.location).searchParams.get("scope") === "public_profile email", started.first.location);
  const back = await browser.get(started.first.location);
  const done = await browser.get(back.location);
  expect(done.location?.startsWith(appCallback), `${done.status} ${done.location}`);
  const claims = (await finishLogin(done.location, started)).claims();
  expect(claims.sub === "facebook|10158012345678901", claims.sub);
  const shown = await user(claims.sub);
  expect(shown.name === "Fay Book" && shown.given_name === "Fay" && shown.picture === "https://graph.example/pic.jpg", JSON.stringify(shown));
  expect(shown.email === "fay@example.com" && shown.email_verified === false, JSON.stringify(shown));
});

// --- Azure AD (waad) on the common endpoint: the issuer template and the verified tid ---------

const waad = await management("POST", "/connections", {
  name: "azure",
  strategy: "waad",
  options: {
    client_id: "sigil-at-azure", client_secret: "azure-secret", waad_common_endpoint: true,
  },
  enabled_clients: [app.client_id],
});
async function azureLogin() {
  const browser = new Browser();
  const started = await startLogin(browser, "azure");
  expect(started.first.location?.startsWith(`http://localhost:${azure.port}/common/oauth2/v2.0/authorize?`), started.first.location);
  const back = await browser.get(started.first.location);
  const done = await browser.get(back.location);
  return { started, done };
}
await check("waad (common endpoint): discovered with its templated issuer; waad|azure|<oid>, the UPN never believed", async () => {
  expect(waad.status === 201, JSON.stringify(waad));
  expect(waad.body.options.oidc_metadata.issuer.includes("{tenantid}"), JSON.stringify(waad.body.options));
  const { started, done } = await azureLogin();
  const claims = (await finishLogin(done.location, started)).claims();
  expect(claims.sub === "waad|azure|9f1e8a2c-oid-of-dana", claims.sub);
  const shown = await user(claims.sub);
  expect(shown.email === "dana@contoso.example" && shown.email_verified === false, JSON.stringify(shown));
  expect(shown.tid === "72f988bf-0000-4000-8000-2d7cd011db47", "Azure's other claims at the root");
});
for (const [name, forge] of [
  ["another tenant's issuer than the token's tid", (c) => { c.iss = c.iss.replace("72f988bf", "0badc0de"); }],
  ["no tid", (c) => { delete c.tid; }],
]) {
  await check(`waad refused: ${name}`, async () => {
    azure.forge = forge;
    const { started, done } = await azureLogin();
    const answer = new URL(done.location);
    expect(answer.searchParams.get("error") === "access_denied", done.location);
    expect(answer.searchParams.get("state") === started.state, "the application's state");
  });
}

// --- the presets, against stand-ins that follow GitHub's and Google's documented shapes ----

/** Logs `email` in at an oauth-mocks form (hidden fields kept, the email typed). */
async function mockLogin(browser, upstreamUrl, email) {
  const page = await browser.get(upstreamUrl);
  const decode = (v) => v.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#x2F;|&#47;/g, "/").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
  const fields = Object.fromEntries(
    [...page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], decode(m[2])]),
  );
  expect(fields.redirect_uri, `no form at ${upstreamUrl}: ${page.body.slice(0, 200)}`);
  fields.email = email;
  return browser.post(upstreamUrl.split("?")[0], fields);
}

async function presetLogin(connection, email) {
  const browser = new Browser();
  const started = await startLogin(browser, connection);
  expect(started.first.status === 302, `${started.first.status} ${started.first.body.slice(0, 200)}`);
  const back = await mockLogin(browser, started.first.location, email);
  expect(back.location?.startsWith(`${issuer}login/callback?`), `back: ${back.status} ${back.location}`);
  const done = await browser.get(back.location);
  expect(done.location?.startsWith(appCallback), `to the application: ${done.status} ${done.location} ${done.body.slice(0, 200)}`);
  return (await finishLogin(done.location, started)).claims();
}

// windowslive, linkedin and okta: each preset logs in through its stand-in, end to end.
for (const [strategy, standIn, options, expected] of [
  ["windowslive", microsoft, {}, { sub: /^windowslive\|AAAAAAAAAAAAAAAAAAAAAEsoMsft$/, email: "mia@outlook.example", social: true }],
  ["linkedin", linkedin, {}, { sub: /^linkedin\|782bbtaQ$/, email: "lin@linkedin.example", social: true }],
  ["okta", okta, { domain: "corp.okta.example" }, { sub: /^okta\|okta-corp\|00u1okta2user$/, email: "otto@corp.example", social: false }],
]) {
  const name = strategy === "okta" ? "okta-corp" : strategy;
  const made = await management("POST", "/connections", {
    name,
    strategy,
    options: { client_id: `sigil-at-${strategy}`, client_secret: standIn.secret, ...options },
    enabled_clients: [app.client_id],
  });
  await check(`${strategy}: a login through the preset, its endpoints moved by the operator only`, async () => {
    expect(made.status === 201, JSON.stringify(made));
    const browser = new Browser();
    const started = await startLogin(browser, name);
    expect(started.first.location?.startsWith(`http://localhost:${standIn.port}/`), started.first.location);
    const back = await browser.get(started.first.location);
    expect(back.location?.startsWith(`${issuer}login/callback?`), `back: ${back.status} ${back.location}`);
    const done = await browser.get(back.location);
    expect(done.location?.startsWith(appCallback), `to the application: ${done.status} ${done.location} ${done.body.slice(0, 300)}`);
    const claims = (await finishLogin(done.location, started)).claims();
    expect(expected.sub.test(claims.sub), claims.sub);
    const shown = await user(claims.sub);
    expect(shown.email === expected.email, JSON.stringify(shown));
    expect(shown.identities[0].provider === strategy && shown.identities[0].isSocial === expected.social,
      JSON.stringify(shown.identities[0]));
    return claims.sub;
  });
}

if (oauthMocks) {
  const github = await management("POST", "/connections", {
    name: "github",
    strategy: "github",
    options: { client_id: "sigil-at-github", client_secret: "github-secret", email: true },
    enabled_clients: [app.client_id],
  });
  await check("a github connection is made (the endpoints only the operator moved)", async () => {
    expect(github.status === 201, JSON.stringify(github));
    const second = await management("POST", "/connections", {
      name: "github-2", strategy: "github", options: { client_id: "x", client_secret: "y" },
    });
    expect(second.status === 400, `one per social preset: ${JSON.stringify(second)}`);
  });

  await check("GitHub: github|<numeric id>, the primary email from /user/emails with its verified flag", async () => {
    const claims = await presetLogin("github", "octo.cat@example.com");
    expect(/^github\|\d+$/.test(claims.sub), claims.sub);
    const shown = await user(claims.sub);
    const identity = shown.identities[0];
    expect(typeof identity.user_id === "number", `a JSON number: ${JSON.stringify(identity)}`);
    expect(identity.provider === "github" && identity.isSocial === true && identity.connection === "github", JSON.stringify(identity));
    expect(shown.email === "octo.cat@example.com" && shown.email_verified === true, JSON.stringify(shown));
    expect(shown.nickname === "octocat", `nickname from login: ${shown.nickname}`);
    expect(typeof identity.access_token === "string", "the GitHub token kept");
    return claims.sub;
  });

  await check("GitHub: an address GitHub has not verified is not believed", async () => {
    const claims = await presetLogin("github", "unverified.ann@example.com");
    const shown = await user(claims.sub);
    expect(shown.email === "unverified.ann@example.com" && shown.email_verified === false, JSON.stringify(shown));
  });

  await check("GitHub without the email option: no address, and the login still works", async () => {
    const patched = await management("PATCH", `/connections/${github.body.id}`, {
      options: { client_id: "sigil-at-github", email: false },
    });
    expect(patched.status === 200, JSON.stringify(patched));
    const claims = await presetLogin("github", "private.person@example.com");
    const shown = await user(claims.sub);
    expect(shown.email === undefined, JSON.stringify(shown));
  });

  const google = await management("POST", "/connections", {
    name: "google-oauth2",
    strategy: "google-oauth2",
    options: { client_id: "sigil-at-google", client_secret: "google-secret" },
    enabled_clients: [app.client_id],
  });
  await check("Google: google-oauth2|<sub>, Google's issuer and the nonce checked", async () => {
    expect(google.status === 201, JSON.stringify(google));
    const claims = await presetLogin("google-oauth2", "gina@example.com");
    expect(/^google-oauth2\|.+/.test(claims.sub), claims.sub);
    const shown = await user(claims.sub);
    expect(shown.email === "gina@example.com" && shown.email_verified === true, JSON.stringify(shown));
    expect(shown.identities[0].isSocial === true, JSON.stringify(shown.identities[0]));
    return claims.sub;
  });
} else {
  console.log("SKIP the github and google-oauth2 presets: OAUTH_MOCKS is not set (scripts/federation-tests sets it)");
}

await check("the log warns of every preset whose endpoints the operator moved", async () => {
  const moved = ["waad", "apple", "facebook", "windowslive", "linkedin", "okta",
    ...(mocksPort ? ["github", "google-oauth2"] : [])];
  const warned = sigilLog.split("\n").filter((line) => line.includes("preset's endpoints are moved"));
  for (const strategy of moved) {
    expect(warned.some((line) => JSON.parse(line).strategy === strategy), `${strategy}: ${warned}`);
  }
  return `${warned.length} warnings`;
});

await check("no provider token or connection secret is in the log, at debug level", async () => {
  const lines = sigilLog.split("\n").length;
  expect(lines > 100, `the log was captured: ${lines} lines`);
  const found = [...neverLogged].filter((secret) => sigilLog.includes(secret));
  expect(found.length === 0, `logged: ${found}`);
  return `${neverLogged.size} values looked for in ${lines} lines`;
});

await stop(failed ? 1 : 0);
