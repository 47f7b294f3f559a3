// The consent checks of scripts/browser-tests: a third-party SPA client (made first-party by
// `sigil clients create`, then marked third-party through the Management API) asks the consent
// API, whose scopes have descriptions, for the user's data. A decline returns `access_denied`
// to the application; an accept returns it authenticated with the scopes in the access token;
// a later login (a fresh browser, no SSO session) is not asked again.

import { join } from "node:path";

import { claims, expect, sequence, slug, viewports } from "./checks.mjs";
import { management } from "./sigil.mjs";
import {
  call,
  callFails,
  clearQuery,
  create,
  handleRedirect,
  logIn,
  navigate,
  spaOptions,
  waitForAnswer,
} from "./spa.mjs";

/** The consent API's scopes and what the consent page must say for each (see the script). */
export const CONSENT_SCOPES = [
  ["read:notes", "Read your notes"],
  ["write:notes", "Write notes for you"],
];

/** The scope the third-party application asks for. */
export const CONSENT_SCOPE = `openid profile email ${CONSENT_SCOPES.map(([s]) => s).join(" ")}`;

/** auth0-spa-js's options for the third-party application. */
function thirdPartyOptions(fixtures) {
  return spaOptions(fixtures, {
    clientId: fixtures.thirdPartyClientId,
    audience: fixtures.consentAudience,
    scope: CONSENT_SCOPE,
  });
}

/** Waits for the consent page and returns its list of scopes, one text per line. */
export async function waitForConsent(page, fixtures) {
  await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/consent`));
  await page.getByRole("heading", { level: 1 }).waitFor();
  return (await page.locator("ul.scopes li").allTextContents()).map((t) => t.trim());
}

/** Checks that the access token was issued for the consent API with its scopes. */
function checkScopes(fixtures, token) {
  const c = claims(token);
  const aud = [].concat(c.aud);
  expect(aud.includes(fixtures.consentAudience), `aud ${JSON.stringify(c.aud)}`);
  expect(c.sub === fixtures.userId, `sub ${c.sub}, not ${fixtures.userId}`);
  const scopes = String(c.scope ?? "").split(" ");
  const missing = CONSENT_SCOPES.map(([s]) => s).filter((s) => !scopes.includes(s));
  expect(missing.length === 0, `the token's scope "${c.scope}" lacks ${missing.join(", ")}`);
  return c.scope;
}

export async function consentFlow(browser, fixtures, artifacts) {
  const context = await browser.newContext({ viewport: viewports[0] });
  const page = await context.newPage();
  let later = null;
  const consentShown = [];
  const onNavigation = (frame) => {
    if (frame.url().startsWith(`${fixtures.issuer}u/consent`)) consentShown.push(frame.url());
  };

  await sequence(
    [
      [
        "consent: the Management API marks the application third-party",
        async () => {
          const path = `clients/${encodeURIComponent(fixtures.thirdPartyClientId)}`;
          const client = await management(fixtures, "PATCH", path, { is_first_party: false });
          expect(client.is_first_party === false, `is_first_party is ${client.is_first_party}`);
          return client.name;
        },
      ],
      [
        "consent: after the login, the consent page lists the scopes' descriptions",
        async () => {
          await page.goto(fixtures.spa);
          await create(page, "tp", thirdPartyOptions(fixtures));
          await navigate(page, "tp", "loginWithRedirect");
          await logIn(page, fixtures);
          const lines = await waitForConsent(page, fixtures);
          for (const [scope, words] of CONSENT_SCOPES) {
            expect(
              lines.some((l) => l.includes(words) && l.includes(scope)),
              `no line says "${words}" (${scope}): ${JSON.stringify(lines)}`,
            );
          }
          return `${lines.length} lines: ${lines.join("; ")}`;
        },
      ],
      [
        "consent: Decline returns access_denied to the application (handleRedirectCallback throws)",
        async () => {
          await page.getByRole("button", { name: "Decline" }).click();
          await waitForAnswer(page, fixtures, "error");
          await create(page, "tp", thirdPartyOptions(fixtures));
          const refused = await callFails(page, "tp", "handleRedirectCallback");
          expect(refused.error === "access_denied", `handleRedirectCallback: ${refused.error}`);
          await clearQuery(page);
          const authenticated = await call(page, "tp", "isAuthenticated");
          expect(authenticated === false, `isAuthenticated() is ${authenticated}`);
          return `${refused.error}: ${refused.error_description}`;
        },
      ],
      [
        "consent: asked again (SSO), Accept returns the user with the scopes in the token",
        async () => {
          await navigate(page, "tp", "loginWithRedirect");
          await waitForConsent(page, fixtures);
          await page.getByRole("button", { name: "Accept" }).click();
          await waitForAnswer(page, fixtures);
          await create(page, "tp", thirdPartyOptions(fixtures));
          await handleRedirect(page, "tp");
          const user = await call(page, "tp", "getUser");
          expect(user?.sub === fixtures.userId, `getUser().sub is ${user?.sub}`);
          const token = await call(page, "tp", "getTokenSilently");
          return `scope "${checkScopes(fixtures, token)}"`;
        },
      ],
      [
        "consent: a later login (new browser, no SSO) skips the consent page",
        async () => {
          later = await browser.newContext({ viewport: viewports[0] });
          const again = await later.newPage();
          again.on("framenavigated", onNavigation);
          await again.goto(fixtures.spa);
          await create(again, "tp", thirdPartyOptions(fixtures));
          await navigate(again, "tp", "loginWithRedirect");
          await logIn(again, fixtures);
          await waitForAnswer(again, fixtures);
          expect(consentShown.length === 0, `the consent page was shown: ${consentShown[0]}`);
          await create(again, "tp", thirdPartyOptions(fixtures));
          await handleRedirect(again, "tp");
          const token = await call(again, "tp", "getTokenSilently");
          return `no consent page; scope "${checkScopes(fixtures, token)}"`;
        },
      ],
    ],
    (name) =>
      (later?.pages()[0] ?? page).screenshot({
        path: join(artifacts, `failure-${slug(name)}.png`),
        fullPage: true,
      }),
  );
  await later?.close();
  await context.close();
}
