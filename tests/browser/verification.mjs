// The signup and email-verification checks of scripts/browser-tests: a user who signs up on the
// hosted signup page (reached from the login page's "Sign up" link) lands back at the
// application, unverified and mailed a link (read with `sigil outbox`); opening it shows the
// verified page, and the Management API then says `email_verified`.

import { join } from "node:path";

import { expect, sequence, slug, viewports } from "./checks.mjs";
import { heading } from "./reset.mjs";
import { authorizeUrl } from "./pages.mjs";
import { mailedLink, management, newAccount } from "./sigil.mjs";

/** The Management API's `email_verified` of `userId`. */
async function emailVerified(fixtures, userId) {
  const user = await management(fixtures, "GET", `users/${encodeURIComponent(userId)}`);
  expect(user.user_id === userId, `GET users/${userId} answered ${user.user_id}`);
  return user.email_verified;
}

export async function verificationFlow(browser, fixtures, artifacts) {
  const context = await browser.newContext({ viewport: viewports[0] });
  const page = await context.newPage();
  const account = newAccount("verify");
  let userId = null;
  let link = null;

  await sequence(
    [
      [
        "signup: a common password is refused on the page, the email kept",
        async () => {
          await page.goto(authorizeUrl(fixtures));
          await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/login`));
          await page.getByRole("link", { name: "Sign up" }).click();
          await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/signup`));
          await page.fill("#email", account.email);
          await page.fill("#password", "Password1");
          await page.fill("#confirm", "Password1");
          await page.click("button[type=submit]");
          const alert = (await page.getByRole("alert").textContent()).trim();
          expect(alert.includes("too common"), `the page says "${alert}"`);
          const kept = await page.inputValue("#email");
          expect(kept === account.email, `the email field holds "${kept}"`);
          return alert;
        },
      ],
      [
        "signup: the page signs the user up and back into the application",
        async () => {
          await page.fill("#password", account.password);
          await page.fill("#confirm", account.password);
          await page.click("button[type=submit]");
          await page.waitForURL((u) => u.href.startsWith(fixtures.spa));
          const found = await management(
            fixtures,
            "GET",
            `users-by-email?email=${encodeURIComponent(account.email)}`,
          );
          expect(found.length === 1, `users-by-email found ${found.length}`);
          userId = found[0].user_id;
          const verified = await emailVerified(fixtures, userId);
          expect(verified === false, `email_verified is ${verified} before the link`);
          return `${userId}, email_verified false`;
        },
      ],
      [
        "verification: sigil outbox --to EMAIL --json holds the link",
        async () => {
          link = await mailedLink(fixtures, account.email, "verify_email");
          const url = new URL(link);
          expect(url.pathname === "/u/email-verification", `the link goes to ${url.pathname}`);
          return `${url.origin}${url.pathname}?ticket=…`;
        },
      ],
      [
        "verification: the link shows the verified page",
        async () => {
          const response = await page.goto(link);
          expect(response.status() === 200, `the link answered ${response.status()}`);
          const text = await heading(page, "Your email was verified");
          const status = await page.getByRole("status").textContent();
          expect(status.includes(account.email), `the page says "${status.trim()}"`);
          return text;
        },
      ],
      [
        "verification: the Management API now says email_verified: true",
        async () => {
          const verified = await emailVerified(fixtures, userId);
          expect(verified === true, `email_verified is ${verified} after the link`);
          return "email_verified true";
        },
      ],
    ],
    (name) => page.screenshot({ path: join(artifacts, `failure-${slug(name)}.png`), fullPage: true }),
  );
  await context.close();
}
