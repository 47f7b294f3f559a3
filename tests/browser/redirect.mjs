// The Actions redirect checks of scripts/browser-tests: a post-login Action sends one new user
// to the tenant's page (`api.redirect.sendUserTo`), served here on http://127.0.0.1:PORT, which
// is another site than Sigil's http://localhost:PORT. The login form's answer is Sigil's page
// that moves on by itself; the tenant's page posts its form back to `/continue` from its own
// site, so without Sigil's SameSite=Lax session cookie, and Sigil posts it again from its own
// origin; the Action resumes in `onContinuePostLogin` with the posted field, and the
// application gets the user with the claim the Action set. The next login is not sent away.

import { createServer } from "node:http";
import { join } from "node:path";

import { expect, sequence, slug, viewports } from "./checks.mjs";
import { management, newAccount, signup } from "./sigil.mjs";
import { call, create, handleRedirect, logIn, navigate, spaOptions, waitForAnswer } from "./spa.mjs";

const CLAIM = "https://browser-tests.example.com/color";

/** The tenant's page: a form that posts the colour back to Sigil with the `state` it got. */
function tenantPage(issuer) {
  return createServer((request, response) => {
    const url = new URL(request.url, "http://127.0.0.1");
    const state = url.searchParams.get("state") ?? "";
    const action = `${issuer}continue?state=${encodeURIComponent(state)}`;
    const escape = (s) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(
      `<!doctype html><html lang="en"><title>Pick a colour</title>
<form method="post" action="${escape(action)}">
<label>Colour <input name="color" value="green"></label>
<button type="submit">Continue</button>
</form></html>`,
    );
  });
}

/** The Action: the one user of these checks, until they have a colour, goes to `page`. */
function actionCode(email, page) {
  return `exports.onExecutePostLogin = async (event, api) => {
  if (event.user.email !== ${JSON.stringify(email)} || event.user.user_metadata.color) return;
  api.redirect.sendUserTo(${JSON.stringify(page)});
};
exports.onContinuePostLogin = async (event, api) => {
  api.user.setUserMetadata("color", event.request.body.color);
  api.idToken.setCustomClaim(${JSON.stringify(CLAIM)}, event.request.body.color);
};`;
}

export async function redirectFlow(browser, fixtures, artifacts) {
  const server = tenantPage(fixtures.issuer);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const tenant = `http://127.0.0.1:${server.address().port}/terms`;
  const account = newAccount("redirect");
  const context = await browser.newContext({ viewport: viewports[0] });
  const page = await context.newPage();
  const posts = [];
  // Each POST to /continue and whether Chromium sent Sigil's session cookie with it
  // (`allHeaders`: `headers()` leaves cookies out).
  page.on("request", (r) => {
    if (r.method() === "POST" && r.url().startsWith(`${fixtures.issuer}continue`)) {
      posts.push(
        r
          .allHeaders()
          .then((h) => (/(^|; )sigil_session=/.test(h.cookie ?? "") ? "with the session cookie" : "without it")),
      );
    }
  });
  let action = null;
  let userId = null;
  try {
    await sequence(
      [
        [
          "redirect: an Action sending one user to the tenant's page is deployed and bound",
          async () => {
            userId = await signup(fixtures, account.email, account.password);
            action = await management(fixtures, "POST", "actions/actions", {
              name: "browser-tests-redirect",
              supported_triggers: [{ id: "post-login", version: "v3" }],
              code: actionCode(account.email, tenant),
            });
            await management(fixtures, "POST", `actions/actions/${action.id}/deploy`);
            const bound = await management(fixtures, "PATCH", "actions/triggers/post-login/bindings", {
              bindings: [{ ref: { type: "action_id", value: action.id }, display_name: "redirect" }],
            });
            expect(bound.bindings?.length === 1, `bindings: ${JSON.stringify(bound)}`);
            return `${action.id} for ${account.email}`;
          },
        ],
        [
          "redirect: after the login form, Sigil's page moves on to the tenant's page by itself",
          async () => {
            await page.goto(fixtures.spa);
            await create(page, "redirect", spaOptions(fixtures));
            await navigate(page, "redirect", "loginWithRedirect");
            await logIn(page, fixtures, account.email, account.password);
            await page.waitForURL((u) => u.href.startsWith(tenant));
            const state = new URL(page.url()).searchParams.get("state");
            expect(state?.length > 0, `no state in ${page.url()}`);
            return `at ${tenant}, state of ${state.length} characters`;
          },
        ],
        [
          "redirect: the tenant's cross-site POST to /continue is posted again by Sigil, and the application gets the Action's claim",
          async () => {
            await page.getByRole("button", { name: "Continue" }).click();
            await waitForAnswer(page, fixtures);
            await create(page, "redirect", spaOptions(fixtures));
            await handleRedirect(page, "redirect");
            const id = await call(page, "redirect", "getIdTokenClaims");
            expect(id?.sub === userId, `sub ${id?.sub}, not ${userId}`);
            expect(id?.[CLAIM] === "green", `the claim ${CLAIM} is ${id?.[CLAIM]}`);
            const sent = await Promise.all(posts);
            const expected = ["without it", "with the session cookie"];
            expect(
              JSON.stringify(sent) === JSON.stringify(expected),
              `the POSTs to /continue: ${JSON.stringify(sent)}`,
            );
            const user = await management(fixtures, "GET", `users/${encodeURIComponent(userId)}`);
            expect(user.user_metadata?.color === "green", `user_metadata ${JSON.stringify(user.user_metadata)}`);
            return `POSTs to /continue: ${sent.join(", then ")}; ${CLAIM} = ${id[CLAIM]}`;
          },
        ],
        [
          "redirect: the next login (SSO) goes straight back to the application",
          async () => {
            await navigate(page, "redirect", "loginWithRedirect");
            await waitForAnswer(page, fixtures);
            await create(page, "redirect", spaOptions(fixtures));
            await handleRedirect(page, "redirect");
            const token = await call(page, "redirect", "getIdTokenClaims");
            return `back with a code; ${CLAIM} ${token?.[CLAIM] === undefined ? "not set" : "set"}`;
          },
        ],
      ],
      (name) => page.screenshot({ path: join(artifacts, `failure-${slug(name)}.png`), fullPage: true }),
    );
  } finally {
    // Whatever happened, the other checks run with nothing bound.
    if (action) {
      await management(fixtures, "PATCH", "actions/triggers/post-login/bindings", { bindings: [] });
      await management(fixtures, "DELETE", `actions/actions/${action.id}?force=true`);
    }
    await context.close();
    server.close();
  }
}
