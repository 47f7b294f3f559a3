// The federation checks of scripts/browser-tests: panva's oidc-provider (OpenID Certified) runs
// here on http://127.0.0.1:PORT (another site than Sigil's http://localhost:PORT) as the
// upstream of an `oidc` connection, `corp`, made through the Management API with a login button
// and enabled for the test SPA. auth0-spa-js's loginWithRedirect reaches Sigil's login page, the
// user presses "Continue with Corp SSO", logs in on oidc-provider's own development form, and is
// back at the application with a user made from the upstream's profile; silent authentication
// in the hidden iframe then reuses Sigil's session without going upstream. The login page with
// the button is screenshot and checked with axe-core by pages.mjs afterwards.

import { createServer } from "node:net";

import Provider from "oidc-provider";

import { expect, sequence, viewports } from "./checks.mjs";
import { management } from "./sigil.mjs";
import { call, create, handleRedirect, navigate, spaOptions, waitForAnswer } from "./spa.mjs";

/** oidc-provider with one client (Sigil at `issuer`), logins of any name, no consent page. */
async function upstream(issuer) {
  const port = await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  const base = `http://127.0.0.1:${port}`;
  const secret = "browser-op-secret-0123456789abcdef0123456789";
  const provider = new Provider(base, {
    clients: [{
      client_id: "sigil",
      client_secret: secret,
      redirect_uris: [`${issuer}login/callback`],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    }],
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, name: `Upstream ${id}`, email: `${id}@corp.example`, email_verified: true };
        },
      };
    },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope("openid email profile");
      grant.addOIDCClaims(["email", "email_verified", "name"]);
      await grant.save();
      return grant;
    },
  });
  const listening = provider.listen(port, "127.0.0.1");
  return { base, secret, close: () => new Promise((r) => listening.close(r)) };
}

export async function federationFlow(browser, fixtures) {
  const op = await upstream(fixtures.issuer);
  const context = await browser.newContext({ viewport: viewports[0] });
  const page = await context.newPage();
  let upstreamRequests = 0;
  context.on("request", (r) => {
    if (r.url().startsWith(op.base)) upstreamRequests += 1;
  });
  try {
    await sequence([
      [
        "federation: an oidc connection to oidc-provider with a login button, through the Management API",
        async () => {
          const made = await management(fixtures, "POST", "connections", {
            name: "corp",
            strategy: "oidc",
            display_name: "Corp SSO",
            show_as_button: true,
            options: {
              type: "back_channel",
              discovery_url: op.base,
              client_id: "sigil",
              client_secret: op.secret,
              scope: "openid profile email",
            },
            enabled_clients: [fixtures.clientId],
          });
          expect(made.id && made.strategy === "oidc", JSON.stringify(made));
          return made.id;
        },
      ],
      [
        "federation: loginWithRedirect, 'Continue with Corp SSO', oidc-provider's form, back at the application",
        async () => {
          await page.goto(fixtures.spa);
          await create(page, "fed", spaOptions(fixtures));
          await navigate(page, "fed", "loginWithRedirect");
          await page.waitForURL((u) => u.href.startsWith(`${fixtures.issuer}u/login`));
          await page.getByRole("link", { name: "Continue with Corp SSO" }).click();
          await page.waitForURL((u) => u.href.startsWith(op.base));
          await page.fill("input[name=login]", "fed-alice");
          await page.fill("input[name=password]", "anything");
          await page.click("button[type=submit]");
          await waitForAnswer(page, fixtures);
          // The application's page loaded again: its client is made again, as applications do.
          await create(page, "fed", spaOptions(fixtures));
          await handleRedirect(page, "fed");
          const user = await call(page, "fed", "getUser");
          expect(user.sub === "oidc|corp|fed-alice", `sub ${user.sub}`);
          expect(user.name === "Upstream fed-alice", `name ${user.name}`);
          expect(user.email === "fed-alice@corp.example", `email ${user.email}`);
          return user.sub;
        },
      ],
      [
        "federation: getTokenSilently reuses Sigil's session, never going upstream",
        async () => {
          const before = upstreamRequests;
          const token = await call(page, "fed", "getTokenSilently", { cacheMode: "off" });
          expect(typeof token === "string" && token.length > 0, "no access token");
          expect(upstreamRequests === before, `${upstreamRequests - before} requests went upstream`);
          return `${token.length} characters`;
        },
      ],
    ]);
  } finally {
    await context.close();
    await op.close();
  }
}
