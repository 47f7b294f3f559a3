// The test application's side of scripts/browser-tests: auth0-spa-js clients kept by name on
// this page, so that the runner (run.mjs) can make them with its options and call their methods
// through Playwright's page.evaluate. Navigations (login, logout) start here and end on another
// page, so `navigate` does not wait for them.
(function () {
  "use strict";
  var clients = {};

  window.spa = {
    /** Makes the client `name` with auth0-spa-js's options (no session check yet). */
    create: function (name, options) {
      clients[name] = new auth0.Auth0Client(options);
      return true;
    },
    /** Calls `method` of client `name`; errors come back as { error, error_description }. */
    call: function (name, method, args) {
      return Promise.resolve()
        .then(function () {
          return clients[name][method].apply(clients[name], args || []);
        })
        .then(
          function (value) {
            return { value: value === undefined ? null : value };
          },
          function (e) {
            return {
              error: (e && e.error) || String(e),
              error_description: (e && (e.error_description || e.message)) || "",
            };
          }
        );
    },
    /** The /authorize URL loginWithRedirect of client `name` would open, without leaving the
     * page: its transaction (state, nonce, PKCE verifier) stays stored, so that another way
     * back to the callback (a magic link) finds it. */
    capture: function (name, options) {
      return new Promise(function (resolve, reject) {
        var opts = Object.assign({}, options || {}, {
          openUrl: function (url) {
            resolve(url);
          },
        });
        clients[name].loginWithRedirect(opts).catch(reject);
      });
    },
    /** Starts `method` (loginWithRedirect, logout) of client `name`, which leaves the page. */
    navigate: function (name, method, args) {
      window.spa.left = clients[name][method].apply(clients[name], args || []);
      return true;
    },
  };
})();
