// The passwordless checks of scripts/browser-tests, with an `email` connection enabled for the
// test application:
//   - a magic link: auth0-spa-js prepares its login (state, nonce, PKCE kept in the page) without
//     leaving, `POST /passwordless/start` sends a link carrying those parameters, and opening the
//     mailed link (read with `sigil outbox`) lands back at the application, which handles the
//     callback and is logged in as the mailed address;
//   - the hosted code pages, with the keyboard alone: loginWithRedirect with connection=email →
//     the page asking for the address → the code page → the mailed code → back at the
//     application, logged in.

import { expect, sequence, slug, viewports } from "./checks.mjs";
import { management, newAccount, outbox } from "./sigil.mjs";
import { call, create, handleRedirect, navigate, spaOptions, waitForAnswer } from "./spa.mjs";
import { join } from "node:path";

/** The newest passwordless mail of `kind` (passwordless_link, passwordless_code) to `to`. */
export async function passwordlessMail(fixtures, to, kind) {
  const mails = await outbox(fixtures, to);
  const mail = mails.find((m) => m.kind === kind);
  expect(mail, `no ${kind} mail to ${to} in the outbox (${mails.length} other mails)`);
  return mail.body;
}

/** Makes the `email` connection for the test application (once). */
export async function enableEmailConnection(fixtures) {
  const existing = await management(fixtures, "GET", "connections?strategy=email");
  if (existing.length === 0) {
    await management(fixtures, "POST", "connections", {
      name: "email",
      strategy: "email",
      enabled_clients: [fixtures.clientId],
    });
  }
}

export async function passwordlessFlow(browser, fixtures, artifacts) {
  const context = await browser.newContext({ viewport: viewports[0] });
  const page = await context.newPage();
  const linkUser = newAccount("magic").email;
  const codeUser = newAccount("code").email;

  await sequence(
    [
      [
        "passwordless: the email connection, enabled for the application",
        async () => {
          await enableEmailConnection(fixtures);
          return "POST /api/v2/connections (strategy email)";
        },
      ],
      [
        "magic link: /passwordless/start mails a link carrying auth0-spa-js's login",
        async () => {
          await page.goto(fixtures.spa);
          await create(page, "magic", spaOptions(fixtures));
          const url = await page.evaluate(() => window.spa.capture("magic"));
          const authParams = Object.fromEntries(new URL(url).searchParams);
          for (const name of ["client_id", "auth0Client"]) {
            delete authParams[name];
          }
          expect(authParams.code_challenge, `no PKCE in ${url}`);
          const answer = await fetch(new URL("passwordless/start", fixtures.issuer), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              client_id: fixtures.clientId,
              connection: "email",
              email: linkUser,
              send: "link",
              authParams,
            }),
          });
          const body = await answer.json();
          expect(answer.ok && body.email === linkUser, `start: ${answer.status} ${JSON.stringify(body)}`);
          return `_id ${body._id}`;
        },
      ],
      [
        "magic link: opening the mailed link lands back at the application, logged in",
        async () => {
          const text = await passwordlessMail(fixtures, linkUser, "passwordless_link");
          const link = text.match(/https?:\/\/\S+\/passwordless\/verify_redirect\?\S+/)?.[0];
          expect(link?.startsWith(fixtures.issuer), `no link in: ${text}`);
          await page.goto(link);
          await waitForAnswer(page, fixtures);
          // A new page load: the client is made again; its transaction waited in storage.
          await create(page, "magic", spaOptions(fixtures));
          await handleRedirect(page, "magic");
          const user = await call(page, "magic", "getUser");
          expect(user?.email === linkUser, `getUser: ${JSON.stringify(user)}`);
          expect(user.sub.startsWith("email|"), `sub ${user.sub}`);
          return `${user.sub}, ${user.email}`;
        },
      ],
      [
        "code: loginWithRedirect with connection=email shows the page asking for the address",
        async () => {
          // No SSO session from the magic link: the login asks again.
          await context.clearCookies();
          await page.goto(fixtures.spa);
          await create(page, "code", spaOptions(fixtures));
          await navigate(page, "code", "loginWithRedirect", {
            authorizationParams: { connection: "email" },
          });
          await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/login/passwordless`));
          // With the keyboard alone: the focus starts in the field, Enter sends.
          const focused = () => page.evaluate(() => document.activeElement?.id ?? "");
          expect((await focused()) === "identifier", `the focus starts on "${await focused()}"`);
          await page.keyboard.type(codeUser);
          await page.keyboard.press("Enter");
          await page.locator("#code").waitFor();
          expect((await focused()) === "code", `the code page's focus is on "${await focused()}"`);
          const said = (await page.locator("main").textContent()).replace(/\s+/g, " ");
          expect(said.includes(`We've sent an email with your code to ${codeUser}`), said);
          return "the code page names the address; keyboard only";
        },
      ],
      [
        "code: the mailed code logs in, back at the application",
        async () => {
          const text = await passwordlessMail(fixtures, codeUser, "passwordless_code");
          const code = text.match(/\b(\d{6})\b/)?.[1];
          expect(code, `no code in: ${text}`);
          await page.keyboard.type(code);
          await page.keyboard.press("Enter");
          await waitForAnswer(page, fixtures);
          await create(page, "code", spaOptions(fixtures));
          await handleRedirect(page, "code");
          const user = await call(page, "code", "getUser");
          expect(user?.email === codeUser, `getUser: ${JSON.stringify(user)}`);
          return `${user.sub}`;
        },
      ],
    ],
    (name) => page.screenshot({ path: join(artifacts, `failure-${slug(name)}.png`), fullPage: true }),
  );
  await context.close();
}
