// An OpenID Connect issuer nobody here wrote, for sigil-guard to trust: keys made and tokens
// signed with panva's `jose`, served with node's http module. Run by scripts/guard-crosscheck:
//
//   node issuer.mjs AUDIENCE
//
// It listens on 127.0.0.1, on a port of the kernel's choice, and prints one line once it serves:
// `issuer http://127.0.0.1:PORT/`. It serves
//
//   GET  /.well-known/openid-configuration   issuer and jwks_uri
//   GET  /.well-known/jwks.json              the published public keys (kid, alg, use)
//   GET  /test/tokens                        the tokens below, by name, for guard-checks.mjs
//   POST /test/publish-late-key              publishes the "late" key (a rotation at the issuer)
//
// Keys: RS256, ES256 and EdDSA (Ed25519), published from the start; a "late" RS256 key
// published only when asked; a "rogue" RS256 key never published, which signs with the RS256
// key's kid. Tokens carry iss, aud, sub, iat, exp (10 minutes) and scope "read:messages" unless
// said otherwise; their typ header varies: JWT, at+jwt or none.

import http from "node:http";

import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";

const audience = process.argv[2];
if (!audience) {
  console.error("usage: node issuer.mjs AUDIENCE");
  process.exit(2);
}

/** A key pair with its public JWK (kid = RFC 7638 thumbprint, alg, use). */
async function key(alg, options = {}) {
  const { publicKey, privateKey } = await generateKeyPair(alg, options);
  const jwk = await exportJWK(publicKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = alg;
  jwk.use = "sig";
  return { alg, privateKey, jwk };
}

const keys = {
  rs256: await key("RS256"),
  es256: await key("ES256"),
  eddsa: await key("EdDSA", { crv: "Ed25519" }),
  late: await key("RS256"),
  rogue: await key("RS256"),
};
const published = [keys.rs256.jwk, keys.es256.jwk, keys.eddsa.jwk];

let issuer;
let tokens;
let jwksRequests = 0;

/** A token signed by `signer` (with `kid` as its key id), with these claims over the defaults. */
function sign(signer, { kid = signer.jwk.kid, typ, claims = {}, iat, exp } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: signer.alg, kid };
  if (typ) {
    header.typ = typ;
  }
  return new SignJWT({ scope: "read:messages", ...claims })
    .setProtectedHeader(header)
    .setIssuer(issuer)
    .setAudience(claims.aud ?? audience)
    .setSubject("crosscheck|reader")
    .setIssuedAt(iat ?? now)
    .setExpirationTime(exp ?? now + 600)
    .sign(signer.privateKey);
}

async function mint() {
  const now = Math.floor(Date.now() / 1000);
  return {
    rs256: await sign(keys.rs256, { typ: "JWT" }),
    es256: await sign(keys.es256, { typ: "at+jwt" }),
    eddsa: await sign(keys.eddsa),
    writer: await sign(keys.eddsa, {
      typ: "at+jwt",
      claims: { scope: "read:messages write:messages", client_id: "crosscheck-writer" },
    }),
    expired: await sign(keys.es256, { typ: "JWT", iat: now - 600, exp: now - 60 }),
    wrongAudience: await sign(keys.rs256, {
      typ: "JWT",
      claims: { aud: "https://elsewhere.crosscheck.sigil.test/api" },
    }),
    rogue: await sign(keys.rogue, { typ: "JWT", kid: keys.rs256.jwk.kid }),
    late: await sign(keys.late, { typ: "JWT" }),
  };
}

function answer(res, status, body) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const route = `${req.method} ${new URL(req.url, "http://x").pathname}`;
  if (!tokens) {
    return answer(res, 503, { error: "starting" });
  }
  switch (route) {
    case "GET /.well-known/openid-configuration":
      return answer(res, 200, {
        issuer,
        jwks_uri: `${issuer}.well-known/jwks.json`,
        id_token_signing_alg_values_supported: ["RS256", "ES256", "EdDSA"],
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
      });
    case "GET /.well-known/jwks.json":
      jwksRequests += 1;
      return answer(res, 200, { keys: published });
    case "GET /test/tokens":
      return answer(res, 200, { tokens, kids: Object.fromEntries(Object.entries(keys).map(([n, k]) => [n, k.jwk.kid])) });
    case "GET /test/stats":
      return answer(res, 200, { jwks_requests: jwksRequests, published: published.map((k) => k.kid) });
    case "POST /test/publish-late-key":
      if (!published.includes(keys.late.jwk)) {
        published.push(keys.late.jwk);
      }
      return answer(res, 204);
    default:
      return answer(res, 404, { error: "not_found", route });
  }
});

server.listen(0, "127.0.0.1", async () => {
  issuer = `http://127.0.0.1:${server.address().port}/`;
  tokens = await mint();
  console.log(`issuer ${issuer}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
