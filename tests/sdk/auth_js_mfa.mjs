// Auth0's auth0-auth-js `MfaClient` (the MFA API for embedded login), one call per run, for
// tests/sdk/auth0_python_mfa_test.py: `node auth_js_mfa.mjs COMMAND MFA_TOKEN [ARGUMENT]`
// prints the SDK's answer as JSON (or its error's `error` and `error_description`, exit 1):
//
//   enroll | list | challenge     an authenticator app (otp)
//   enroll-email [ADDRESS]        an email factor (oob by email; the user's address when none)
//   challenge-oob                 a code mailed to the user's email factor
//
//   SDK_TEST_DOMAIN          127.0.0.1:PORT
//   SDK_TEST_CLIENT_ID       the client the mfa_token was issued to
//   SDK_TEST_CLIENT_SECRET   its secret
//
// The SDK hard-codes https://{domain}; its `customFetch` rewrites the scheme to http, which is
// all that differs from talking to Auth0.

import { AuthClient } from "@auth0/auth0-auth-js";

const [command, mfaToken, argument] = process.argv.slice(2);
const overHttp = (input, init) => {
  const url = typeof input === "string" || input instanceof URL ? String(input) : input.url;
  return fetch(url.replace(/^https:\/\//, "http://"), init);
};
const client = new AuthClient({
  domain: process.env.SDK_TEST_DOMAIN,
  clientId: process.env.SDK_TEST_CLIENT_ID,
  clientSecret: process.env.SDK_TEST_CLIENT_SECRET,
  customFetch: overHttp,
});

const calls = {
  enroll: () => client.mfa.enrollAuthenticator({ mfaToken, authenticatorTypes: ["otp"] }),
  list: () => client.mfa.listAuthenticators({ mfaToken }),
  challenge: () => client.mfa.challengeAuthenticator({ mfaToken, challengeType: "otp" }),
  "enroll-email": () =>
    client.mfa.enrollAuthenticator({
      mfaToken,
      authenticatorTypes: ["oob"],
      oobChannels: ["email"],
      ...(argument ? { email: argument } : {}),
    }),
  "challenge-oob": () => client.mfa.challengeAuthenticator({ mfaToken, challengeType: "oob" }),
};
if (!calls[command] || !mfaToken) {
  console.error("usage: node auth_js_mfa.mjs enroll|list|challenge|enroll-email|challenge-oob MFA_TOKEN [ADDRESS]");
  process.exit(2);
}
try {
  console.log(JSON.stringify(await calls[command]()));
} catch (e) {
  console.log(JSON.stringify({ error: e.cause?.error ?? e.error ?? e.name, error_description: e.message }));
  process.exit(1);
}
