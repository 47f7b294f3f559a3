// The password-reset checks of scripts/browser-tests, end to end for the reset user: the SPA's
// login page → "Forgot password?" → the email submitted → the link read from the outbox
// (`sigil outbox --to … --json`) → a new password set → the done page → back to the same login
// (its link), where the old password fails and the new one returns to the application.

import { randomBytes } from "node:crypto";
import { join } from "node:path";

import { expect, sequence, slug, viewports } from "./checks.mjs";
import { mailedLink } from "./sigil.mjs";
import {
  call,
  create,
  handleRedirect,
  logIn,
  navigate,
  spaOptions,
  waitForAnswer,
} from "./spa.mjs";

/** The text of the page's first heading, once it shows `text`. */
export async function heading(page, text) {
  const h1 = page.getByRole("heading", { level: 1 });
  await h1.filter({ hasText: text }).waitFor();
  return (await h1.textContent()).trim();
}

/** Clicks the login page's "Forgot password?" link and waits for the request page. */
export async function forgotPassword(page, fixtures) {
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/reset-password/request`));
  return heading(page, "Forgot your password?");
}

/** Submits `email` on the request page and waits for the check-your-email page. */
export async function requestReset(page, email) {
  await page.fill("#email", email);
  await page.click("button[type=submit]");
  return heading(page, "Check your email");
}

/** Sets `password` on the new-password page and waits for the done page. */
export async function setPassword(page, password) {
  await heading(page, "Choose a new password");
  await page.fill("#password", password);
  await page.fill("#confirm", password);
  await page.click("button[type=submit]");
  return heading(page, "Your password was changed");
}

export async function resetFlow(browser, fixtures, artifacts) {
  const context = await browser.newContext({ viewport: viewports[0] });
  const page = await context.newPage();
  const email = fixtures.resetEmail;
  const newPassword = `Reset-${randomBytes(12).toString("base64url")}-7`;
  let link = null;

  await sequence(
    [
      [
        'reset: the login page\'s "Forgot password?" opens the request page',
        async () => {
          await page.goto(fixtures.spa);
          await create(page, "main", spaOptions(fixtures));
          await navigate(page, "main", "loginWithRedirect");
          await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/login`));
          return forgotPassword(page, fixtures);
        },
      ],
      [
        "reset: the email sent, the check-your-email page shows",
        async () => requestReset(page, email),
      ],
      [
        "reset: sigil outbox --to EMAIL --json holds the link",
        async () => {
          link = await mailedLink(fixtures, email, "reset_password");
          const url = new URL(link);
          expect(url.pathname === "/u/reset-password", `the link goes to ${url.pathname}`);
          return `${url.origin}${url.pathname}?ticket=…`;
        },
      ],
      [
        "reset: the link opens the new-password page; the password set, the done page shows",
        async () => {
          await page.goto(link);
          const text = await page.locator("main").textContent();
          expect(text.includes(email), `the page does not name ${email}`);
          return setPassword(page, newPassword);
        },
      ],
      [
        "reset: back at the login, the old password fails and the new one logs in (SPA)",
        async () => {
          await page.getByRole("link", { name: "Back to the login" }).click();
          await logIn(page, fixtures, email, fixtures.resetPassword);
          const alert = (await page.getByRole("alert").textContent()).trim();
          expect(/wrong email or password/i.test(alert), `the old password: "${alert}"`);
          await page.fill("#password", newPassword);
          await page.click("button[type=submit]");
          await waitForAnswer(page, fixtures);
          await create(page, "main", spaOptions(fixtures));
          await handleRedirect(page, "main");
          const user = await call(page, "main", "getUser");
          expect(user?.email === email, `getUser().email is ${user?.email}`);
          expect(user?.sub === fixtures.resetUserId, `getUser().sub is ${user?.sub}`);
          return `old password: "${alert}"; new one: ${user.email}`;
        },
      ],
    ],
    (name) => page.screenshot({ path: join(artifacts, `failure-${slug(name)}.png`), fullPage: true }),
  );
  await context.close();
}
