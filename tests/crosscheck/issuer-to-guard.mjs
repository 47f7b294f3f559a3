// Tokens from an issuer nobody here wrote (issuer.mjs: keys and signatures by `jose`) presented
// to messages-api, which sigil-guard protects. Run by scripts/guard-crosscheck once messages-api
// has started against the issuer (so its guard has fetched the JWKS), with
//
//   CROSSCHECK_ISSUER        issuer.mjs's issuer, http://127.0.0.1:PORT/
//   CROSSCHECK_API           messages-api's base URL, http://127.0.0.1:PORT/
//
// The late key is published last: the guard may refetch on an unknown kid once per cool-down,
// and no earlier check spends that fetch (the rogue token names a kid the guard knows).

import { check, env, expect, run, tamper } from "./checks.mjs";

run("issuer-to-guard", async () => {
  const issuer = env("CROSSCHECK_ISSUER");
  const api = env("CROSSCHECK_API");
  const { tokens, kids } = await json(await fetch(`${issuer}test/tokens`));

  await check("messages-api answers GET /api/public without a token", async () => {
    const answer = await call(api, "GET", "api/public");
    expect(answer.status === 200, `answered ${answer.status}: ${answer.body}`);
  });
  await check("sigil-guard answers 401 without a token, with a bare Bearer challenge", async () => {
    const answer = await call(api, "GET", "api/messages");
    expect(answer.status === 401, `answered ${answer.status}: ${answer.body}`);
    expect(/^Bearer realm="[^"]*"$/.test(answer.challenge), `WWW-Authenticate is ${answer.challenge}`);
  });

  for (const [name, what] of [
    ["rs256", "RS256, typ JWT"],
    ["es256", "ES256, typ at+jwt"],
    ["eddsa", "EdDSA (Ed25519), no typ"],
  ]) {
    await check(`sigil-guard accepts jose's ${what} token on GET /api/messages`, async () => {
      const answer = await call(api, "GET", "api/messages", tokens[name]);
      expect(answer.status === 200, `answered ${answer.status}: ${answer.challenge} ${answer.body}`);
      return `kid ${kids[name]}`;
    });
  }
  await check("sigil-guard gives GET /api/private the token's sub", async () => {
    const answer = await call(api, "GET", "api/private", tokens.es256);
    expect(answer.status === 200, `answered ${answer.status}: ${answer.body}`);
    const sub = JSON.parse(answer.body).sub;
    expect(sub === "crosscheck|reader", `sub is ${sub}`);
  });
  await check("sigil-guard answers 403 insufficient_scope to POST /api/messages with read:messages only", async () => {
    const answer = await call(api, "POST", "api/messages", tokens.rs256, { text: "hello" });
    expect(answer.status === 403, `answered ${answer.status}: ${answer.body}`);
    expect(answer.challenge.includes('error="insufficient_scope"'), `WWW-Authenticate is ${answer.challenge}`);
    expect(answer.challenge.includes('scope="write:messages"'), `WWW-Authenticate is ${answer.challenge}`);
  });
  await check("sigil-guard lets POST /api/messages through with write:messages (201)", async () => {
    const answer = await call(api, "POST", "api/messages", tokens.writer, { text: "hello from jose" });
    expect(answer.status === 201, `answered ${answer.status}: ${answer.body}`);
    const message = JSON.parse(answer.body);
    expect(message.text === "hello from jose", `created ${answer.body}`);
  });

  tokens.tampered = tamper(tokens.rs256);
  for (const [name, what] of [
    ["tampered", "a token whose sub was changed after signing"],
    ["expired", "an expired token"],
    ["wrongAudience", "a token for another audience"],
    ["rogue", "a token signed by an unpublished key under a published kid"],
  ]) {
    await check(`sigil-guard answers 401 invalid_token to ${what}`, async () => {
      const answer = await call(api, "GET", "api/messages", tokens[name]);
      expect(answer.status === 401, `answered ${answer.status}: ${answer.body}`);
      expect(answer.challenge.includes('error="invalid_token"'), `WWW-Authenticate is ${answer.challenge}`);
      return JSON.parse(answer.body).error_description;
    });
  }

  await check("sigil-guard refetches the JWKS for a kid published after it started", async () => {
    const before = await json(await fetch(`${issuer}test/stats`));
    const published = await fetch(`${issuer}test/publish-late-key`, { method: "POST" });
    expect(published.status === 204, `the issuer answered ${published.status}`);
    const answer = await call(api, "GET", "api/messages", tokens.late);
    expect(answer.status === 200, `answered ${answer.status}: ${answer.challenge} ${answer.body}`);
    const after = await json(await fetch(`${issuer}test/stats`));
    return `kid ${kids.late}; JWKS fetched ${after.jwks_requests - before.jwks_requests} more time(s)`;
  });
});

async function json(response) {
  if (!response.ok) {
    throw new Error(`${response.url} answered ${response.status}`);
  }
  return response.json();
}

async function call(base, method, path, token, body) {
  const headers = {};
  if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  if (body !== undefined) {
    headers["content-type"] = "application/json";
  }
  const answer = await fetch(new URL(path, base), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: answer.status,
    challenge: answer.headers.get("www-authenticate") ?? "",
    body: await answer.text(),
  };
}
