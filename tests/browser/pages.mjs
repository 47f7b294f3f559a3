// Sigil's hosted pages as cases for scripts/browser-tests: each case opens one page in a fresh
// browser context (no cookies), and run.mjs screenshots it at every viewport and runs axe-core on
// it. To cover a new page (signup, …), add a case here: a name (used in the screenshots' file
// names) and an `open(page, fixtures)` that leaves the page showing it, and throws if it does
// not. Cases that need a link use a Management API ticket or the outbox (sigil.mjs).

import { createHash, randomBytes } from "node:crypto";

import { expect } from "./checks.mjs";
import { CONSENT_SCOPE, waitForConsent } from "./consent.mjs";
import { PAPE, enableFactors, enrolledAccount, pyotp } from "./mfa.mjs";
import { enableEmailConnection } from "./passwordless.mjs";
import { forgotPassword, heading, requestReset, setPassword } from "./reset.mjs";
import { mailedLink, management, newAccount, signup } from "./sigil.mjs";
import { logIn } from "./spa.mjs";


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

/** Opens the set-new-password page of a fresh link (a Management API ticket) for the reset
 * user; returns the link. */
async function openResetLink(page, fixtures) {
  const { ticket } = await management(fixtures, "POST", "tickets/password-change", {
    user_id: fixtures.resetUserId,
  });
  await page.goto(ticket);
  await heading(page, "Choose a new password");
  return ticket;
}

/** A password the default policy accepts, new each time. */
function freshPassword() {
  return `Page-${randomBytes(12).toString("base64url")}-3`;
}

/** The passwordless page asking for an address (/authorize?connection=email). */
async function openPasswordless(page, fixtures) {
  await enableEmailConnection(fixtures);
  await page.goto(authorizeUrl(fixtures, { connection: "email" }));
  await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/login/passwordless`));
  await page.locator("#identifier").waitFor();
}

/** Logs `account` in with `acr_values` asking for a second factor, up to the MFA page whose
 * heading is `heading`. */
async function openMfa(page, fixtures, account, heading) {
  await enableFactors(fixtures);
  await page.goto(authorizeUrl(fixtures, { acr_values: PAPE }));
  await logIn(page, fixtures, account.email, account.password);
  await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/mfa`));
  const said = (await page.locator("h1").textContent()).trim();
  expect(said === heading, `the MFA page says "${said}", not "${heading}"`);
}

/** A user with an authenticator app and a recovery code; returns the account and the code. */
async function withRecoveryCode(fixtures) {
  const account = await enrolledAccount(fixtures);
  const path = `users/${encodeURIComponent(account.userId)}/recovery-code-regeneration`;
  const { recovery_code: code } = await management(fixtures, "POST", path);
  return { account, code };
}

/** An enrolment ticket's page (POST /guardian/enrollments/ticket, not mailed), its secret shown. */
async function openEnrolmentTicket(page, fixtures) {
  await enableFactors(fixtures);
  const account = newAccount("mfa-ticket");
  const userId = await signup(fixtures, account.email, account.password);
  const ticket = await management(fixtures, "POST", "guardian/enrollments/ticket", {
    user_id: userId,
    send_mail: false,
  });
  await page.goto(ticket.ticket_url);
  const said = (await page.locator("h1").textContent()).trim();
  expect(said === "Secure Your Account", `the enrolment page says "${said}"`);
  await page.click("summary");
  await page.locator("#secret").waitFor();
}

export const cases = [
  {
    name: "login",
    open: openLogin,
  },
  {
    name: "passwordless-start",
    open: openPasswordless,
  },
  {
    name: "passwordless-code",
    async open(page, fixtures) {
      await openPasswordless(page, fixtures);
      await page.fill("#identifier", newAccount("page").email);
      await page.click("button[type=submit]");
      await page.locator("#code").waitFor();
    },
  },
  {
    name: "passwordless-wrong-code",
    async open(page, fixtures) {
      await openPasswordless(page, fixtures);
      await page.fill("#identifier", newAccount("page").email);
      await page.click("button[type=submit]");
      await page.fill("#code", "000000x");
      await page.click("button[type=submit]");
      await page.getByRole("alert").waitFor();
    },
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
    name: "signup",
    async open(page, fixtures) {
      await openLogin(page, fixtures);
      await page.getByRole("link", { name: "Sign up" }).click();
      await page.locator("#email").waitFor();
    },
  },
  {
    name: "signup-refused",
    async open(page, fixtures) {
      await openLogin(page, fixtures);
      await page.getByRole("link", { name: "Sign up" }).click();
      await page.fill("#email", newAccount("refused").email);
      await page.fill("#password", "short");
      await page.fill("#confirm", "short");
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
  {
    name: "consent",
    async open(page, fixtures) {
      // prompt=consent: asked even though the consent checks' user approved these scopes.
      await page.goto(
        authorizeUrl(fixtures, {
          client_id: fixtures.thirdPartyClientId,
          audience: fixtures.consentAudience,
          scope: CONSENT_SCOPE,
          prompt: "consent",
        }),
      );
      await logIn(page, fixtures);
      await waitForConsent(page, fixtures);
    },
  },
  {
    name: "mfa-enrol",
    async open(page, fixtures) {
      const account = newAccount("mfa-enrol");
      await signup(fixtures, account.email, account.password);
      await openMfa(page, fixtures, account, "Secure Your Account");
      await page.click("summary");
      await page.locator("#secret").waitFor();
    },
  },
  {
    name: "mfa-challenge-wrong-code",
    async open(page, fixtures) {
      await openMfa(page, fixtures, await enrolledAccount(fixtures), "Verify Your Identity");
      await page.fill("#code", "12ab");
      await page.click("button[type=submit]");
      await page.getByRole("alert").waitFor();
    },
  },
  {
    name: "mfa-email-wrong-code",
    async open(page, fixtures) {
      // A verified address is a factor once the tenant enables email: a code is mailed.
      const account = newAccount("mfa-email");
      const userId = await signup(fixtures, account.email, account.password);
      await management(fixtures, "PATCH", `users/${encodeURIComponent(userId)}`, { email_verified: true });
      await management(fixtures, "PUT", "guardian/factors/email", { enabled: true });
      await openMfa(page, fixtures, account, "Verify Your Identity");
      await page.getByText("We've sent an email with your code to").waitFor();
      await page.fill("#code", "000000");
      await page.click("button[type=submit]");
      await page.getByRole("alert").waitFor();
    },
  },
  {
    name: "mfa-options",
    async open(page, fixtures) {
      const { account } = await withRecoveryCode(fixtures);
      await openMfa(page, fixtures, account, "Verify Your Identity");
      await page.getByRole("link", { name: "Try another method" }).click();
      await page.getByRole("link", { name: "Recovery code" }).waitFor();
    },
  },
  {
    name: "mfa-recovery-code",
    async open(page, fixtures) {
      const { account, code } = await withRecoveryCode(fixtures);
      await openMfa(page, fixtures, account, "Verify Your Identity");
      await page.getByRole("link", { name: "Try another method" }).click();
      await page.getByRole("link", { name: "Recovery code" }).click();
      await page.fill("#code", code);
      await page.click("button[type=submit]");
      await page.locator("#recovery-code").waitFor();
    },
  },
  {
    name: "mfa-enrollment-ticket",
    async open(page, fixtures) {
      await openEnrolmentTicket(page, fixtures);
    },
  },
  {
    name: "mfa-enrollment-done",
    async open(page, fixtures) {
      await openEnrolmentTicket(page, fixtures);
      const secret = ((await page.locator("#secret").textContent()) ?? "").trim();
      await page.fill("#code", await pyotp(fixtures, secret));
      await page.click("button[type=submit]");
      await page.locator("#recovery-code").waitFor();
    },
  },
  {
    name: "reset-request",
    async open(page, fixtures) {
      await openLogin(page, fixtures);
      await forgotPassword(page, fixtures);
    },
  },
  {
    name: "reset-sent",
    async open(page, fixtures) {
      await openLogin(page, fixtures);
      await forgotPassword(page, fixtures);
      await requestReset(page, fixtures.resetEmail);
    },
  },
  {
    name: "reset-password",
    open: openResetLink,
  },
  {
    name: "reset-done",
    async open(page, fixtures) {
      await openResetLink(page, fixtures);
      await setPassword(page, freshPassword());
    },
  },
  {
    name: "ticket-invalid",
    async open(page, fixtures) {
      // A link already used.
      const link = await openResetLink(page, fixtures);
      await setPassword(page, freshPassword());
      const response = await page.goto(link);
      expect(response.status() === 400, `the used link answered ${response.status()}, not 400`);
      await heading(page, "This link no longer works");
    },
  },
  {
    name: "email-verified",
    async open(page, fixtures) {
      const account = newAccount("page");
      await signup(fixtures, account.email, account.password);
      await page.goto(await mailedLink(fixtures, account.email, "verify_email"));
      await heading(page, "Your email was verified");
    },
  },
];
