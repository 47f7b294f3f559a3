// Sigil's hosted pages as cases for scripts/browser-tests: each case opens one page in a fresh
// browser context (no cookies), and run.mjs screenshots it at every viewport and runs axe-core on
// it. To cover a new page (signup, consent, password reset, …), add a case here: a name (used in
// the screenshots' file names) and an `open(page, fixtures)` that leaves the page showing it, and
// throws if it does not.

import { createHash, randomBytes } from "node:crypto";

import { expect } from "./checks.mjs";

/** The viewports every page is screenshot at: a laptop and a phone. */
export const viewports = [
  { width: 1440, height: 900 },
  { width: 375, height: 812 },
];

/** A code-flow /authorize URL for the test application, with PKCE as public clients need. */
export function authorizeUrl(fixtures, extra = {}) {
  const verifier = randomBytes(32).toString("base64url");
  const url = new URL("authorize", fixtures.issuer);
  const params = {
    client_id: fixtures.clientId,
    redirect_uri: fixtures.spa,
    response_type: "code",
    scope: "openid profile email",
    state: randomBytes(12).toString("base64url"),
    nonce: randomBytes(12).toString("base64url"),
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    ...extra,
  };
  for (const [name, value] of Object.entries(params)) {
    url.searchParams.set(name, value);
  }
  return url.href;
}

/** Goes to the login page through /authorize, as an application sends the browser there. */
async function openLogin(page, fixtures) {
  await page.goto(authorizeUrl(fixtures));
  await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/login`));
  await page.locator("#username").waitFor();
}

export const cases = [
  {
    name: "login",
    open: openLogin,
  },
  {
    name: "login-wrong-password",
    async open(page, fixtures) {
      await openLogin(page, fixtures);
      await page.fill("#username", fixtures.email);
      await page.fill("#password", "not-the-password");
      await page.click("button[type=submit]");
      await page.getByRole("alert").waitFor();
    },
  },
  {
    name: "error",
    async open(page, fixtures) {
      // A redirect URI the application does not list: Sigil must not redirect, so it shows its
      // error page.
      const response = await page.goto(
        authorizeUrl(fixtures, { redirect_uri: "https://elsewhere.example/callback" }),
      );
      expect(response.status() === 400, `/authorize answered ${response.status()}, not 400`);
      await page.getByRole("alert").waitFor();
    },
  },
];
