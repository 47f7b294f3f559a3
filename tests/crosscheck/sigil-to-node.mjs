// Sigil's access tokens checked by two Node verifiers nobody here wrote: panva's `jose`
// (jwtVerify with a remote JWKS) and Auth0's `express-oauth2-jwt-bearer` (`auth` and
// `requiredScopes` in an Express app per API). Run by scripts/guard-crosscheck, which starts
// Sigil, creates an RS256, a PS256 and an ES256 API and passes, in the environment:
//
//   CROSSCHECK_ISSUER                  Sigil's issuer, http://127.0.0.1:PORT/
//   CROSSCHECK_RS256_AUDIENCE, _TOKEN  the RS256 API and a client_credentials token for it
//   CROSSCHECK_PS256_AUDIENCE, _TOKEN  the same for the PS256 API
//   CROSSCHECK_ES256_AUDIENCE, _TOKEN  the same for the ES256 API
//   CROSSCHECK_RS256_WRITE_TOKEN       a token for the RS256 API with only write:messages
//
// Every API defines read:messages and write:messages, and the client holds both.

import express from "express";
import { auth, requiredScopes } from "express-oauth2-jwt-bearer";
import { createRemoteJWKSet, jwtVerify } from "jose";

import { check, env, expect, run, tamper } from "./checks.mjs";

run("sigil-to-node", async () => {
  const issuer = env("CROSSCHECK_ISSUER");
  const apis = ["RS256", "PS256", "ES256"].map((alg) => ({
    alg,
    audience: env(`CROSSCHECK_${alg}_AUDIENCE`),
    token: env(`CROSSCHECK_${alg}_TOKEN`),
  }));
  const writeOnly = env("CROSSCHECK_RS256_WRITE_TOKEN");

  // jose: the keys from Sigil's JWKS, iss and aud checked.
  const jwks = createRemoteJWKSet(new URL(".well-known/jwks.json", issuer));
  for (const [i, { alg, audience, token }] of apis.entries()) {
    const other = apis[(i + 1) % apis.length];
    await check(`jose jwtVerify accepts Sigil's ${alg} token`, async () => {
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer,
        audience,
        algorithms: [alg],
      });
      expect(protectedHeader.alg === alg, `alg is ${protectedHeader.alg}`);
      expect(payload.scope?.split(" ").includes("read:messages"), `scope is ${payload.scope}`);
      return `kid ${protectedHeader.kid}, sub ${payload.sub}`;
    });
    await check(`jose jwtVerify refuses Sigil's ${alg} token with its payload tampered`, () =>
      refused(jwtVerify(tamper(token), jwks, { issuer, audience }), "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
    );
    await check(`jose jwtVerify refuses Sigil's ${alg} token for another audience`, () =>
      refused(jwtVerify(token, jwks, { issuer, audience: other.audience }), "ERR_JWT_CLAIM_VALIDATION_FAILED"),
    );
  }

  // express-oauth2-jwt-bearer: one Express app per API, on a port of the kernel's choice.
  //
  // With discovery (`issuerBaseURL`) the library allows only the algorithms the discovery
  // document lists in id_token_signing_alg_values_supported, even for access tokens and even
  // with `tokenSigningAlg` set. Sigil lists its ID tokens' algorithms there (RS256, PS256,
  // HS256), so the PS256 API's app discovers, and the ES256 API's app is given the issuer and
  // the JWKS URL instead, which the library then takes as they are; the NOTE line shows what
  // discovery alone does with an ES256 token.
  const jwksUri = new URL(".well-known/jwks.json", issuer).href;
  const options = {
    RS256: { issuerBaseURL: issuer },
    PS256: { issuerBaseURL: issuer, tokenSigningAlg: "PS256" },
    ES256: { issuer, jwksUri, tokenSigningAlg: "ES256" },
  };
  for (const [i, { alg, audience, token }] of apis.entries()) {
    const other = apis[(i + 1) % apis.length];
    const { url, close } = await protectedApp({ ...options[alg], audience });
    try {
      await check(`express-oauth2-jwt-bearer accepts Sigil's ${alg} token (read:messages)`, async () => {
        const answer = await get(url, token);
        expect(answer.status === 200, `answered ${answer.status}: ${answer.body}`);
        return `sub ${JSON.parse(answer.body).sub}`;
      });
      await check(`express-oauth2-jwt-bearer answers 401 without a token (${alg} API)`, async () => {
        const answer = await get(url);
        expect(answer.status === 401, `answered ${answer.status}: ${answer.body}`);
        expect(/^Bearer/.test(answer.challenge), `WWW-Authenticate is ${answer.challenge}`);
      });
      await check(`express-oauth2-jwt-bearer answers 401 to the ${other.alg} API's token (${alg} API)`, () =>
        invalidToken(url, other.token),
      );
      await check(`express-oauth2-jwt-bearer answers 401 to a tampered ${alg} token`, () =>
        invalidToken(url, tamper(token)),
      );
      if (alg === "RS256") {
        await check("express-oauth2-jwt-bearer answers 403 to Sigil's token without read:messages", async () => {
          const answer = await get(url, writeOnly);
          expect(answer.status === 403, `answered ${answer.status}: ${answer.body}`);
          expect(
            answer.challenge.includes('error="insufficient_scope"'),
            `WWW-Authenticate is ${answer.challenge}`,
          );
        });
      }
    } finally {
      close();
    }
  }

  const es256 = apis.find(({ alg }) => alg === "ES256");
  const discovering = await protectedApp({ issuerBaseURL: issuer, audience: es256.audience });
  try {
    const answer = await get(discovering.url, es256.token);
    const said = answer.status === 200 ? "accepts it" : `answers ${answer.status} (${answer.body})`;
    console.log(`NOTE express-oauth2-jwt-bearer with issuerBaseURL only (discovery) ${said} for Sigil's ES256 token`);
  } finally {
    discovering.close();
  }
});

/** An Express app whose GET /api/messages needs a valid token with read:messages. */
async function protectedApp(options) {
  const app = express();
  app.get("/api/messages", auth(options), requiredScopes("read:messages"), (req, res) =>
    res.json({ sub: req.auth.payload.sub }),
  );
  // The library's errors carry their status and RFC 6750 challenge.
  app.use((err, req, res, next) => {
    res
      .status(err.status ?? 500)
      .set(err.headers ?? {})
      .json({ error: err.code ?? "server_error", error_description: err.message });
  });
  const server = await new Promise((resolve, reject) => {
    const listening = app.listen(0, "127.0.0.1", (e) => (e ? reject(e) : resolve(listening)));
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/api/messages`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Passes when `verifying` is rejected with the error code `code`. */
async function refused(verifying, code) {
  try {
    await verifying;
  } catch (e) {
    expect(e.code === code, `refused with ${e.code} (${e.message}), not ${code}`);
    return e.code;
  }
  throw new Error("the token was accepted");
}

/** Passes when the token gets 401 with an invalid_token challenge. */
async function invalidToken(url, token) {
  const answer = await get(url, token);
  expect(answer.status === 401, `answered ${answer.status}: ${answer.body}`);
  expect(answer.challenge.includes('error="invalid_token"'), `WWW-Authenticate is ${answer.challenge}`);
}

async function get(url, token) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const answer = await fetch(url, { headers });
  return {
    status: answer.status,
    challenge: answer.headers.get("www-authenticate") ?? "",
    body: await answer.text(),
  };
}
