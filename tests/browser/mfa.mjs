// The multi-factor checks of scripts/browser-tests, for a user of their own:
//   - the tenant's factors (otp, recovery-code) and policy (all-applications) set with Auth0's
//     Node SDK (node-auth0's `guardian` methods);
//   - auth0-spa-js's login reaches the enrolment page: the QR code is there, the secret is read
//     from the page, pyotp (PyPI, run in the venv the script makes) computes the code; the
//     recovery code is shown once; back at the application, the ID token auth0-spa-js verified
//     has `amr` containing `mfa`;
//   - a second login is a challenge: a wrong code is refused with Auth0's message, the right one
//     passes, and replaying it (same time step) in another browser is refused;
//   - the recovery code logs in once, and a new one is shown;
//   - "Remember this device" skips the next challenge; `acr_values` asks anyway; after
//     node-auth0's `users.invalidateRememberBrowser` it asks again;
//   - the policy goes back to [] at the end, so the other flows log in with a password alone.

import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

import { ManagementClient } from "auth0";

import { expect, sequence, slug, viewports } from "./checks.mjs";
import { management, managementToken, newAccount, signup } from "./sigil.mjs";
import { call, create, handleRedirect, logIn, navigate, spaOptions, waitForAnswer } from "./spa.mjs";

const run = promisify(execFile);

/** The PAPE policy that asks for a second factor in `acr_values`. */
export const PAPE = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/** pyotp's current code for the base32 `secret`. */
export async function pyotp(fixtures, secret) {
  const { stdout } = await run(fixtures.python, [
    "-c",
    "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).now())",
    secret,
  ]);
  return stdout.trim();
}

/** node-auth0's Management client on the admin client's token (https:// rewritten to http://,
 * all that differs from Auth0). */
async function nodeAuth0(fixtures) {
  const { value } = await managementToken(fixtures);
  const overHttp = (input, init) => {
    const url = typeof input === "string" || input instanceof URL ? String(input) : input.url;
    return fetch(url.replace(/^https:\/\//, "http://"), init);
  };
  return new ManagementClient({ domain: new URL(fixtures.issuer).host, token: value, fetch: overHttp });
}

/** Sets the tenant's multi-factor policy with node-auth0. */
export async function setPolicy(fixtures, policies) {
  const client = await nodeAuth0(fixtures);
  const { data } = await client.guardian.updatePolicies(policies);
  expect(JSON.stringify(data) === JSON.stringify(policies), `policies: ${JSON.stringify(data)}`);
}

/** Turns the otp and recovery-code factors on with node-auth0. */
export async function enableFactors(fixtures) {
  const client = await nodeAuth0(fixtures);
  for (const name of ["otp", "recovery-code"]) {
    const { data } = await client.guardian.updateFactor({ name }, { enabled: true });
    expect(data.enabled === true, `${name}: ${JSON.stringify(data)}`);
  }
}

/** The text of `selector` on the page. */
async function text(page, selector) {
  return ((await page.locator(selector).textContent()) ?? "").trim();
}

/** Starts auth0-spa-js's login as client `name` with `params`, and logs in with the password;
 * the page is then wherever the login leads. */
async function passwordLogin(page, fixtures, account, name, params = {}) {
  await page.goto(fixtures.spa);
  await create(page, name, spaOptions(fixtures));
  await navigate(page, name, "loginWithRedirect", { authorizationParams: params });
  await logIn(page, fixtures, account.email, account.password);
}

/** Waits for an MFA page whose heading is `heading`. */
async function mfaPage(page, fixtures, heading) {
  await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/mfa`));
  const h1 = await text(page, "h1");
  expect(h1 === heading, `the page says "${h1}", not "${heading}"`);
}

/** Back at the application: the ID token's claims, as auth0-spa-js verified them. */
async function backAtApplication(page, fixtures, name) {
  await waitForAnswer(page, fixtures);
  await create(page, name, spaOptions(fixtures));
  await handleRedirect(page, name);
  return call(page, name, "getIdTokenClaims");
}

/** Confirms the recovery code page; returns the code it showed. */
async function recordRecoveryCode(page, fixtures) {
  await mfaPage(page, fixtures, "Almost There!");
  const code = await text(page, "#recovery-code");
  expect(/^[A-Z0-9]{24}$/.test(code), `the recovery code is "${code}"`);
  await page.check("input[name=recorded]");
  await page.click("button[type=submit]");
  return code;
}

/** Types `code` into the challenge page, ticking "remember" when asked. */
async function answer(page, code, remember = false) {
  await page.fill("#code", code);
  if (remember) {
    await page.check("input[name=remember]");
  }
  await page.click("button[type=submit]");
}

export async function mfaFlow(browser, fixtures, artifacts) {
  const account = newAccount("mfa");
  const contexts = [];
  const fresh = async () => {
    const context = await browser.newContext({ viewport: viewports[0] });
    contexts.push(context);
    return [context, await context.newPage()];
  };
  let [, page] = await fresh();
  let secret = null;
  let accepted = null;
  let recoveryCode = null;
  let remembered = null;

  await sequence(
    [
      [
        "mfa: node-auth0 turns on otp and recovery-code, and the policy all-applications",
        async () => {
          await signup(fixtures, account.email, account.password);
          await enableFactors(fixtures);
          await setPolicy(fixtures, ["all-applications"]);
          const client = await nodeAuth0(fixtures);
          const { data } = await client.guardian.getFactors();
          const on = data.filter((f) => f.enabled).map((f) => f.name);
          expect(on.join() === "otp,recovery-code", `enabled: ${on.join()}`);
          return `enabled ${on.join(", ")}`;
        },
      ],
      [
        "mfa: the first login enrols: a QR code, the secret as text, pyotp's code accepted",
        async () => {
          await passwordLogin(page, fixtures, account, "enrol");
          await mfaPage(page, fixtures, "Secure Your Account");
          expect(await page.locator(".qr svg[role=img]").count() === 1, "no QR code");
          await page.click("summary");
          secret = await text(page, "#secret");
          expect(/^[A-Z2-7]{32}$/.test(secret), `the secret is "${secret}"`);
          accepted = await pyotp(fixtures, secret);
          await answer(page, accepted);
          return `secret of ${secret.length} characters, code ${accepted}`;
        },
      ],
      [
        "mfa: the recovery code is shown once, then the ID token says amr: [\"mfa\"]",
        async () => {
          recoveryCode = await recordRecoveryCode(page, fixtures);
          const c = await backAtApplication(page, fixtures, "enrol");
          expect(c.amr?.includes("mfa"), `amr ${JSON.stringify(c.amr)}`);
          return `recovery code of 24 characters; amr ${JSON.stringify(c.amr)}`;
        },
      ],
      [
        "mfa: another browser is challenged; the code just used is refused, a wrong one too",
        async () => {
          [, page] = await fresh();
          await passwordLogin(page, fixtures, account, "challenge");
          await mfaPage(page, fixtures, "Verify Your Identity");
          await answer(page, accepted);
          const replay = await text(page, "[role=alert]");
          expect(replay === "The code you entered is invalid", `the replay got "${replay}"`);
          const wrong = String((Number(accepted) + 1) % 1000000).padStart(6, "0");
          await answer(page, wrong);
          const said = await text(page, "[role=alert]");
          expect(said === "The code you entered is invalid", `the wrong code got "${said}"`);
          return `"${said}"`;
        },
      ],
      [
        "mfa: the next code, with \"Remember this device\", logs in",
        async () => {
          // pyotp's code for the next time step: the one accepted at enrolment is spent.
          let code = await pyotp(fixtures, secret);
          while (code === accepted) {
            await new Promise((r) => setTimeout(r, 1000));
            code = await pyotp(fixtures, secret);
          }
          await answer(page, code, true);
          const c = await backAtApplication(page, fixtures, "challenge");
          expect(c.amr?.includes("mfa"), `amr ${JSON.stringify(c.amr)}`);
          const cookies = await page.context().cookies(fixtures.issuer);
          remembered = cookies.find((k) => k.name === "sigil_mfa_rb");
          expect(remembered?.httpOnly, "no HttpOnly remember-browser cookie");
          return `remembered for ${Math.round((remembered.expires - Date.now() / 1000) / 86400)} days`;
        },
      ],
      [
        "mfa: a remembered browser logs in again without the second factor",
        async () => {
          await passwordLogin(page, fixtures, account, "again", { prompt: "login" });
          const c = await backAtApplication(page, fixtures, "again");
          expect(!c.amr, `amr ${JSON.stringify(c.amr)}`);
          return "no challenge";
        },
      ],
      [
        "mfa: acr_values asks anyway; the recovery code logs in once and a new one is shown",
        async () => {
          await passwordLogin(page, fixtures, account, "stepup", { prompt: "login", acr_values: PAPE });
          await mfaPage(page, fixtures, "Verify Your Identity");
          await page.click("text=Try another method");
          await page.click("text=Recovery code");
          await page.fill("#code", recoveryCode);
          await page.click("button[type=submit]");
          const next = await recordRecoveryCode(page, fixtures);
          expect(next !== recoveryCode, "the same recovery code was shown again");
          const c = await backAtApplication(page, fixtures, "stepup");
          expect(c.amr?.includes("mfa") && c.acr === PAPE, `amr ${JSON.stringify(c.amr)}, acr ${c.acr}`);
          return `acr ${c.acr}`;
        },
      ],
      [
        "mfa: node-auth0's invalidateRememberBrowser makes the browser asked again",
        async () => {
          const client = await nodeAuth0(fixtures);
          const users = await management(fixtures, "GET", `users-by-email?email=${encodeURIComponent(account.email)}`);
          await client.users.invalidateRememberBrowser({ id: users[0].user_id });
          await passwordLogin(page, fixtures, account, "forgotten", { prompt: "login" });
          await mfaPage(page, fixtures, "Verify Your Identity");
          return "challenged again";
        },
      ],
      [
        "mfa: the policy back to [] (the other flows log in with a password alone)",
        async () => {
          await setPolicy(fixtures, []);
          return "policies []";
        },
      ],
    ],
    (name) => page.screenshot({ path: join(artifacts, `failure-${slug(name)}.png`), fullPage: true }),
  );
  for (const context of contexts) {
    await context.close();
  }
  // Leave the tenant as the other flows expect it, even after a failure.
  await setPolicy(fixtures, []).catch(() => {});
}

/** A user with an authenticator app enrolled (by node-auth0 against the Management API, with a
 * secret of the test's), for the MFA pages' screenshots. */
export async function enrolledAccount(fixtures) {
  const account = newAccount("mfa-page");
  const userId = await signup(fixtures, account.email, account.password);
  const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
  await management(fixtures, "POST", `users/${encodeURIComponent(userId)}/authentication-methods`, {
    type: "totp",
    totp_secret: secret,
  });
  return { ...account, userId, secret };
}
