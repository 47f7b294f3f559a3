// The brute-force checks of scripts/browser-tests, on the hosted login page: with the threshold
// at 3 (the Management API's PATCH), three wrong passwords, then the page says the
// account is blocked, even for the right password; the `blocked_account` mail's link (read
// from the outbox) unblocks it, and the right password then logs in to the SPA. The threshold
// is put back to Auth0's 10 afterwards.

import { join } from "node:path";

import { expect, sequence, slug, viewports } from "./checks.mjs";
import { heading } from "./reset.mjs";
import { mailedLink, management, newAccount, signup } from "./sigil.mjs";
import { call, create, handleRedirect, logIn, navigate, spaOptions, waitForAnswer } from "./spa.mjs";

const PROTECTION = "attack-protection/brute-force-protection";

/** The text of the page's alert. */
async function alertText(page) {
  return ((await page.getByRole("alert").textContent()) ?? "").trim();
}

export async function bruteForceFlow(browser, fixtures, artifacts) {
  const context = await browser.newContext({ viewport: viewports[0] });
  const page = await context.newPage();
  const account = newAccount("brute");
  let link = null;
  try {
    await sequence(
      [
        [
          "brute force: three wrong passwords on the login page, then the block message, even for the right one",
          async () => {
            await signup(fixtures, account.email, account.password);
            await management(fixtures, "PATCH", PROTECTION, { max_attempts: 3 });
            await page.goto(fixtures.spa);
            await create(page, "main", spaOptions(fixtures));
            await navigate(page, "main", "loginWithRedirect");
            for (let i = 0; i < 3; i++) {
              await logIn(page, fixtures, account.email, "not the password");
              const said = await alertText(page);
              expect(/wrong email or password/i.test(said), `attempt ${i + 1}: "${said}"`);
            }
            await logIn(page, fixtures, account.email, account.password);
            const said = await alertText(page);
            expect(said.startsWith("Your account has been blocked"), `the right password: "${said}"`);
            return said;
          },
        ],
        [
          "brute force: the blocked_account mail's link unblocks the account",
          async () => {
            link = await mailedLink(fixtures, account.email, "blocked_account");
            expect(new URL(link).pathname === "/u/unblock", `the link goes to ${link}`);
            await page.goto(link);
            await page.screenshot({ path: join(artifacts, "brute-force-unblocked.png"), fullPage: true });
            return heading(page, "Your account is unblocked");
          },
        ],
        [
          "brute force: the right password then logs in to the SPA",
          async () => {
            await page.goto(fixtures.spa);
            await create(page, "main", spaOptions(fixtures));
            await navigate(page, "main", "loginWithRedirect");
            await logIn(page, fixtures, account.email, account.password);
            await waitForAnswer(page, fixtures);
            await create(page, "main", spaOptions(fixtures));
            await handleRedirect(page, "main");
            const user = await call(page, "main", "getUser");
            expect(user?.email === account.email, `getUser().email is ${user?.email}`);
            return user.email;
          },
        ],
      ],
      (name) => page.screenshot({ path: join(artifacts, `failure-${slug(name)}.png`), fullPage: true }),
    );
  } finally {
    await management(fixtures, "PATCH", PROTECTION, { max_attempts: 10 });
    await context.close();
  }
}
