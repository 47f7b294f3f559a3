// Driving the test application (spa/app.js) from the checks: auth0-spa-js clients made on the
// page by name, their methods called through Playwright's page.evaluate, and their options;
// the login on Sigil's page in between.

/**
 * auth0-spa-js's options for a client of the test application: `fixtures`' SPA client and API
 * unless `clientId`, `audience` or `scope` say otherwise; `extra` adds client options.
 *
 * auth0-spa-js builds every URL from `domain`, keeping an http:// scheme when one is given
 * (otherwise it prefixes https://), and expects the ID token's `iss` to be `${domain}/` unless
 * `issuer` is set (which it would prefix with https:// too): so `domain` is the issuer without
 * its trailing slash, and `issuer` is left unset.
 */
export function spaOptions(fixtures, { clientId, audience, scope, ...extra } = {}) {
  return {
    domain: fixtures.issuer.replace(/\/$/, ""),
    clientId: clientId ?? fixtures.clientId,
    authorizationParams: {
      redirect_uri: fixtures.spa,
      audience: audience ?? fixtures.audience,
      scope: scope ?? "openid profile email",
    },
    ...extra,
  };
}

/** Calls `method` of the page's client `name`; its error, if any, is thrown. */
export async function call(page, name, method, ...args) {
  const answer = await page.evaluate(([n, m, a]) => window.spa.call(n, m, a), [name, method, args]);
  if (answer.error) {
    throw new Error(`${method}: ${answer.error}: ${answer.error_description}`);
  }
  return answer.value;
}

/** Calls `method` of the page's client `name`, expecting it to fail; returns its error. */
export async function callFails(page, name, method, ...args) {
  const answer = await page.evaluate(([n, m, a]) => window.spa.call(n, m, a), [name, method, args]);
  if (!answer.error) {
    throw new Error(`${method} succeeded: ${JSON.stringify(answer.value)}`);
  }
  return answer;
}

/** Takes the login's answer out of the URL, as applications do after handling it. */
export async function clearQuery(page) {
  await page.evaluate(() => window.history.replaceState(null, "", "/"));
}

/** Handles the login's redirect back, then takes the code out of the URL. */
export async function handleRedirect(page, name) {
  await call(page, name, "handleRedirectCallback");
  await clearQuery(page);
}

/** Makes the page's client `name`. */
export async function create(page, name, options) {
  await page.evaluate(([n, o]) => window.spa.create(n, o), [name, options]);
}

/** Starts `method` of client `name`, which navigates away from the application. */
export async function navigate(page, name, method, ...args) {
  await page.evaluate(([n, m, a]) => window.spa.navigate(n, m, a), [name, method, args]);
}

/** Logs the user in on Sigil's login page, where the application sent the browser. */
export async function logIn(page, fixtures, email = fixtures.email, password = fixtures.password) {
  await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/login`));
  await page.fill("#username", email);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
}

/** Waits until the browser is back at the application with the login's answer in the URL. */
export async function waitForAnswer(page, fixtures, param = "code") {
  const origin = new URL(fixtures.spa).origin;
  await page.waitForURL((u) => u.origin === origin && u.searchParams.has(param));
  await page.waitForLoadState();
}
