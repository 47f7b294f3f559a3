// scripts/browser-tests' checks, in headless Chromium driven by playwright-core:
//
//   1. the SPA flow with Auth0's auth0-spa-js on the test application (spa-server.mjs, another
//      localhost port): loginWithRedirect → Sigil's login page (a wrong password first, then the
//      right one) → back at the application; isAuthenticated and getUser; getTokenSilently
//      through the hidden iframe (prompt=none, response_mode=web_message); a second client with
//      useRefreshTokens logging in by SSO and rotating its refresh token; logout;
//   2. consent for a third-party application (consent.mjs), password reset end to end
//      (reset.mjs), signup on the hosted page then email verification (verification.mjs), and a
//      post-login Action's redirect to the tenant's page on another site and back through
//      /continue (redirect.mjs), a login through panva's oidc-provider with the login page's
//      "Continue with …" button (federation.mjs; the pages below then show the button), and
//      multi-factor authentication (mfa.mjs: node-auth0 sets the policy, pyotp computes the
//      codes, auth0-spa-js's ID token says amr: ["mfa"]), and brute-force protection on the
//      login page (brute_force.mjs: the block message, the mailed unblock link);
//   3. each hosted page of pages.mjs screenshot at 1440×900, 375×812 and 320×640 (no wider than the screen) into $BROWSER_ARTIFACTS,
//      and checked with axe-core: no serious or critical violation.
//
// Prints one PASS/FAIL line per check. Reads its fixtures from BROWSER_TEST_* variables, which
// the script sets.

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";

import { chromium } from "playwright-core";

import { bruteForceFlow } from "./brute_force.mjs";
import { check, claims, env, expect, run, sequence, slug, viewports } from "./checks.mjs";
import { consentFlow } from "./consent.mjs";
import { federationFlow } from "./federation.mjs";
import { mfaFlow } from "./mfa.mjs";
import { authorizeUrl, cases } from "./pages.mjs";
import { passwordlessFlow } from "./passwordless.mjs";
import { redirectFlow } from "./redirect.mjs";
import { resetFlow } from "./reset.mjs";
import { call, callFails, create, handleRedirect, navigate, spaOptions } from "./spa.mjs";
import { verificationFlow } from "./verification.mjs";

const fixtures = {
  issuer: env("BROWSER_TEST_ISSUER"), // http://localhost:PORT/
  spa: env("BROWSER_TEST_SPA"), // http://localhost:PORT/, also the redirect and logout URL
  clientId: env("BROWSER_TEST_CLIENT_ID"),
  audience: env("BROWSER_TEST_AUDIENCE"),
  email: env("BROWSER_TEST_EMAIL"),
  password: env("BROWSER_TEST_PASSWORD"),
  userId: env("BROWSER_TEST_USER_ID"),
  connection: env("BROWSER_TEST_CONNECTION"),
  // The third-party application and the API it asks for consent to.
  thirdPartyClientId: env("BROWSER_TEST_THIRD_PARTY_CLIENT_ID"),
  consentAudience: env("BROWSER_TEST_CONSENT_AUDIENCE"),
  // The user whose password the reset checks change.
  resetEmail: env("BROWSER_TEST_RESET_EMAIL"),
  resetPassword: env("BROWSER_TEST_RESET_PASSWORD"),
  resetUserId: env("BROWSER_TEST_RESET_USER_ID"),
  // The sigil binary and the running server's data dir, for `sigil outbox` and the admin
  // client's credentials.
  sigil: env("BROWSER_TEST_SIGIL"),
  dataDir: env("BROWSER_TEST_DATA_DIR"),
  // The venv's python, with pyotp (tests/browser/requirements.txt).
  python: env("BROWSER_TEST_PYTHON"),
};
const artifacts = env("BROWSER_ARTIFACTS");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

const spaOrigin = new URL(fixtures.spa).origin;

/** The refresh token in auth0-spa-js's localStorage cache, if any. */
async function cachedRefreshToken(page) {
  return page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (key.startsWith("@@auth0spajs@@")) {
        const entry = JSON.parse(localStorage.getItem(key));
        if (entry?.body?.refresh_token) {
          return entry.body.refresh_token;
        }
      }
    }
    return null;
  });
}

/** Checks an access token's audience, issuer and subject. */
function checkAccessToken(token) {
  const c = claims(token);
  const aud = [].concat(c.aud);
  expect(aud.includes(fixtures.audience), `aud ${JSON.stringify(c.aud)} lacks ${fixtures.audience}`);
  expect(c.iss === fixtures.issuer, `iss ${c.iss}, not ${fixtures.issuer}`);
  expect(c.sub === fixtures.userId, `sub ${c.sub}, not ${fixtures.userId}`);
  return c;
}

/** The form fields (or JSON members) a request sent. */
function sentFields(request) {
  const body = request.postData() ?? "";
  try {
    return new Map(Object.entries(JSON.parse(body)));
  } catch {
    return new URLSearchParams(body);
  }
}

async function spaFlow(browser) {
  const context = await browser.newContext({ viewport: viewports[0] });
  const page = await context.newPage();
  // Every request the application and its frames make, to see how tokens were obtained.
  let requests = [];
  context.on("request", (r) => requests.push(r));
  const authorizeRequests = () =>
    requests.filter((r) => r.url().startsWith(`${fixtures.issuer}authorize`));
  const tokenRequests = () =>
    requests.filter((r) => r.url() === `${fixtures.issuer}oauth/token` && r.method() === "POST");
  const atApplication = (u) => u.origin === spaOrigin;
  let rotated = null;

  await sequence(
    [
      [
        "spa: loginWithRedirect shows Sigil's login page",
        async () => {
          await page.goto(fixtures.spa);
          await create(page, "main", spaOptions(fixtures));
          await navigate(page, "main", "loginWithRedirect");
          await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/login`));
          await page.locator("#username").waitFor();
          const authorize = new URL(authorizeRequests()[0].url());
          expect(
            authorize.searchParams.get("code_challenge_method") === "S256",
            `the request used no PKCE: ${authorize.search}`,
          );
          return await page.title();
        },
      ],
      [
        "spa: a wrong password shows the error and keeps the typed username",
        async () => {
          await page.fill("#username", fixtures.email);
          await page.fill("#password", `${fixtures.password}-wrong`);
          await page.click("button[type=submit]");
          const alert = page.getByRole("alert");
          await alert.waitFor();
          const message = (await alert.textContent()).trim();
          expect(/wrong email or password/i.test(message), `the alert says "${message}"`);
          const username = await page.inputValue("#username");
          expect(username === fixtures.email, `the username field holds "${username}"`);
          const password = await page.inputValue("#password");
          expect(password === "", "the password field kept the wrong password");
          return `"${message}"`;
        },
      ],
      [
        "spa: the right password returns to the application with a code",
        async () => {
          await page.fill("#password", fixtures.password);
          await page.click("button[type=submit]");
          await page.waitForURL((u) => atApplication(u) && u.searchParams.has("code"));
          await page.waitForLoadState();
          return new URL(page.url()).pathname;
        },
      ],
      [
        "spa: handleRedirectCallback, then isAuthenticated() and getUser() are the user's",
        async () => {
          await create(page, "main", spaOptions(fixtures));
          await handleRedirect(page, "main");
          const authenticated = await call(page, "main", "isAuthenticated");
          expect(authenticated === true, `isAuthenticated() is ${authenticated}`);
          const user = await call(page, "main", "getUser");
          expect(user?.email === fixtures.email, `getUser().email is ${user?.email}`);
          expect(user?.sub === fixtures.userId, `getUser().sub is ${user?.sub}`);
          return `${user.email}, ${user.sub}`;
        },
      ],
      [
        "spa: getTokenSilently through the hidden iframe (prompt=none, web_message)",
        async () => {
          requests = [];
          const answer = await call(page, "main", "getTokenSilently", {
            cacheMode: "off",
            detailedResponse: true,
          });
          const c = checkAccessToken(answer.access_token);
          const silent = authorizeRequests().map((r) => [r, new URL(r.url()).searchParams]);
          expect(silent.length === 1, `${silent.length} /authorize requests, not 1`);
          const [request, params] = silent[0];
          expect(request.frame() !== page.mainFrame(), "/authorize was not loaded in a frame");
          expect(params.get("prompt") === "none", `prompt=${params.get("prompt")}`);
          expect(
            params.get("response_mode") === "web_message",
            `response_mode=${params.get("response_mode")}`,
          );
          const grants = tokenRequests().map((r) => sentFields(r).get("grant_type"));
          expect(
            grants.join() === "authorization_code",
            `token requests: ${grants.join() || "none"}`,
          );
          return `aud ${JSON.stringify(c.aud)}`;
        },
      ],
      [
        "spa: useRefreshTokens client logs in by SSO and gets a refresh token",
        async () => {
          await create(
            page,
            "rt",
            spaOptions(fixtures, { useRefreshTokens: true, cacheLocation: "localstorage" }),
          );
          const visited = [];
          const onNavigation = (frame) => {
            if (frame === page.mainFrame()) visited.push(frame.url());
          };
          page.on("framenavigated", onNavigation);
          await navigate(page, "rt", "loginWithRedirect");
          await page.waitForURL((u) => atApplication(u) && u.searchParams.has("code"));
          await page.waitForLoadState();
          page.off("framenavigated", onNavigation);
          expect(
            !visited.some((u) => u.startsWith(`${fixtures.issuer}u/login`)),
            "the login page was shown again despite the SSO session",
          );
          const scope = new URL(authorizeRequests().at(-1).url()).searchParams.get("scope");
          expect(scope.split(" ").includes("offline_access"), `scope ${scope}`);
          await create(
            page,
            "rt",
            spaOptions(fixtures, { useRefreshTokens: true, cacheLocation: "localstorage" }),
          );
          await handleRedirect(page, "rt");
          rotated = await cachedRefreshToken(page);
          expect(rotated, "no refresh token in auth0-spa-js's cache");
          return "no login page; refresh token cached";
        },
      ],
      [
        "spa: getTokenSilently with refresh tokens rotates the refresh token",
        async () => {
          requests = [];
          const answer = await call(page, "rt", "getTokenSilently", {
            cacheMode: "off",
            detailedResponse: true,
          });
          const c = checkAccessToken(answer.access_token);
          expect(authorizeRequests().length === 0, "an iframe was used instead of the refresh token");
          const sent = tokenRequests().map(sentFields);
          expect(sent.length === 1, `${sent.length} token requests, not 1`);
          expect(
            sent[0].get("grant_type") === "refresh_token",
            `grant_type=${sent[0].get("grant_type")}`,
          );
          expect(sent[0].get("refresh_token") === rotated, "another refresh token was sent");
          const next = await cachedRefreshToken(page);
          expect(next && next !== rotated, "the refresh token did not rotate");
          return `aud ${JSON.stringify(c.aud)}; new refresh token`;
        },
      ],
      [
        "spa: logout returns to the application, which is then logged out",
        async () => {
          // The application's page, loaded by the redirect from /v2/logout.
          const back = page.waitForResponse(
            (r) =>
              r.url() === fixtures.spa &&
              r.request().isNavigationRequest() &&
              (r.request().redirectedFrom()?.url() ?? "").startsWith(`${fixtures.issuer}v2/logout`),
          );
          // The response arrives before its document replaces the old one: wait for that commit
          // (the redirect through /v2/logout commits nothing), or the next evaluate may run in
          // the old document as it goes away.
          const committed = page.waitForEvent("framenavigated", (f) => f === page.mainFrame());
          await navigate(page, "rt", "logout", { logoutParams: { returnTo: fixtures.spa } });
          await back;
          await committed;
          await page.waitForLoadState();
          const cookies = await context.cookies(fixtures.issuer);
          expect(
            !cookies.some((c) => c.name === "sigil_session"),
            "the SSO session cookie is still there",
          );
          await create(page, "after", spaOptions(fixtures));
          const authenticated = await call(page, "after", "isAuthenticated");
          expect(authenticated === false, `isAuthenticated() is ${authenticated}`);
          const refused = await callFails(page, "after", "getTokenSilently", { cacheMode: "off" });
          expect(refused.error === "login_required", `getTokenSilently: ${refused.error}`);
          return "isAuthenticated() false; silent login: login_required";
        },
      ],
    ],
    (name) => page.screenshot({ path: join(artifacts, `failure-${slug(name)}.png`), fullPage: true }),
  );
  await context.close();
}

/** axe-core's source, injected into each page by the test (never served by Sigil). */
async function axeSource() {
  const require = createRequire(import.meta.url);
  return readFile(require.resolve("axe-core/axe.min.js"), "utf8");
}

async function hostedPages(browser) {
  const axe = await axeSource();
  for (const pageCase of cases) {
    const context = await browser.newContext({ viewport: viewports[0] });
    const page = await context.newPage();
    const opened = await check(`page ${pageCase.name}: opens`, async () => {
      await pageCase.open(page, fixtures);
      return await page.title();
    });
    if (!opened) {
      await page
        .screenshot({ path: join(artifacts, `failure-page-${pageCase.name}.png`), fullPage: true })
        .catch(() => {});
      await context.close();
      continue;
    }
    for (const { width, height } of viewports) {
      await check(`page ${pageCase.name}: screenshot at ${width}×${height}`, async () => {
        await page.setViewportSize({ width, height });
        const file = `${pageCase.name}-${width}x${height}.png`;
        await page.screenshot({ path: join(artifacts, file), fullPage: true });
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        expect(overflow <= 0, `the page is ${overflow}px wider than the viewport`);
        return file;
      });
    }
    await check(`page ${pageCase.name}: axe-core finds no serious or critical violation`, async () => {
      await page.setViewportSize(viewports[0]);
      // Evaluated through the DevTools protocol, which the page's CSP (no scripts) does not stop.
      await page.evaluate(axe);
      const result = await page.evaluate(() => window.axe.run(document));
      const describe = (v) => `${v.id} (${v.impact}, ${v.nodes.length}×): ${v.help}`;
      const bad = result.violations.filter((v) => ["serious", "critical"].includes(v.impact));
      expect(bad.length === 0, bad.map(describe).join("; "));
      const minor = result.violations.map(describe);
      return `${result.passes.length} rules passed${minor.length ? `; minor: ${minor.join("; ")}` : ""}`;
    });
    await context.close();
  }
}

/** The login page with the keyboard alone: the focus starts in the first field, Tab moves on
 * with a visible focus ring, Enter submits, and the browser is back at the application. */
async function keyboardLogin(browser) {
  const context = await browser.newContext({ viewport: viewports[0] });
  const page = await context.newPage();
  await check("keyboard: the login page works with the keyboard alone", async () => {
    await page.goto(authorizeUrl(fixtures));
    await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/login`));
    const focused = () => page.evaluate(() => document.activeElement?.id ?? "");
    const first = await focused();
    expect(first === "username", `the focus starts on "${first}"`);
    await page.keyboard.type(fixtures.email);
    await page.keyboard.press("Tab");
    const second = await focused();
    expect(second === "password", `Tab moves the focus to "${second}"`);
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    expect(ring !== "none", "the focused field shows no focus ring");
    await page.keyboard.type(fixtures.password);
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => u.href.startsWith(fixtures.spa));
    return `focus on #${first}, Tab to #${second} (outline ${ring}), Enter: back at the application`;
  });
  await context.close();
}

run("browser-tests", async () => {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox"],
  });
  try {
    console.log(`Chromium ${browser.version()}`);
    await spaFlow(browser);
    await consentFlow(browser, fixtures, artifacts);
    await resetFlow(browser, fixtures, artifacts);
    await verificationFlow(browser, fixtures, artifacts);
    await federationFlow(browser, fixtures);
    await keyboardLogin(browser);
    await redirectFlow(browser, fixtures, artifacts);
    await passwordlessFlow(browser, fixtures, artifacts);
    await mfaFlow(browser, fixtures, artifacts);
    await bruteForceFlow(browser, fixtures, artifacts);
    await hostedPages(browser);
  } finally {
    await browser.close();
  }
});
