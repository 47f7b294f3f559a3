// A legacy Auth0 Rule, `function (user, context, callback)`, run on the post-login event:
// compiled only for Rules. `user` and `context` are made from the event in Rules' names; what
// the Rule puts in `context.idToken` and `context.accessToken` becomes claim commands, and
// `callback(error)` a deny with the error's message (as Rules' `UnauthorizedError` and any
// other error did); `context.accessToken.scope` (an array or a string) the scopes added and
// removed; `context.multifactor` asks for a second factor as `api.multifactor.enable` does.
// `configuration` holds the rules-configs; `global` is this Rule's only. `auth0` is the part of
// Rules' Management API client that Rules use to keep metadata: `auth0.users.updateAppMetadata`
// and `updateUserMetadata` for the user logging in, merged into the user once at the end as
// Auth0's `PATCH /users` merges (a key set to null is removed), like `api.user.set…Metadata`.
(function (deps) {
  'use strict';
  const { event, record, stop, parse, stringify, freeze, ErrorType, StringType } = deps;
  class UnauthorizedError extends ErrorType {
    constructor(message) {
      super(message);
      this.name = 'UnauthorizedError';
    }
  }
  globalThis.UnauthorizedError = UnauthorizedError;
  globalThis.configuration = freeze(parse(stringify(event.secrets || {})));
  globalThis.global = {};
  // A copy the Rule may change freely.
  const copy = (value) => (value === undefined ? undefined : parse(stringify(value)));
  function run(rule) {
    if (typeof rule !== 'function') throw new ErrorType('A rule is a function (user, context, callback)');
    const client = event.client || {};
    const connection = event.connection || {};
    const request = event.request || {};
    const transaction = event.transaction || {};
    const user = copy(event.user) || {};
    function metadataWriter(op) {
      return function (id, metadata, done) {
        let answer;
        if (StringType(id) !== StringType(user.user_id)) {
          answer = Promise.reject(new ErrorType("Sigil's auth0 object updates the metadata of the user logging in only"));
        } else if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
          answer = Promise.reject(new ErrorType('The metadata must be an object'));
        } else {
          for (const name of Object.keys(metadata)) {
            record('user.' + op, [StringType(name), metadata[name] === undefined ? null : copy(metadata[name])]);
          }
          answer = Promise.resolve(user);
        }
        if (typeof done === 'function') answer.then((u) => done(null, u), (e) => done(e));
        return answer;
      };
    }
    globalThis.auth0 = freeze({
      domain: request.hostname,
      users: freeze({
        updateAppMetadata: metadataWriter('setAppMetadata'),
        updateUserMetadata: metadataWriter('setUserMetadata'),
      }),
    });
    const context = {
      clientID: client.client_id,
      clientName: client.name,
      clientMetadata: copy(client.metadata) || {},
      connection: connection.name,
      connectionID: connection.id,
      connectionStrategy: connection.strategy,
      protocol: transaction.protocol,
      request: {
        ip: request.ip,
        hostname: request.hostname,
        userAgent: request.user_agent,
        language: request.language,
        query: copy(request.query) || {},
        body: copy(request.body) || {},
        geoip: copy(request.geoip) || {},
      },
      stats: { loginsCount: (event.stats || {}).logins_count },
      authorization: { roles: copy((event.authorization || {}).roles) || [] },
      authentication: { methods: copy((event.authentication || {}).methods) || [] },
      sessionID: (event.session || {}).id,
      tenant: (event.tenant || {}).id,
      idToken: {},
      accessToken: {},
    };
    return new Promise((resolve, reject) => {
      let called = false;
      function callback(error, _user, given) {
        if (called) return;
        called = true;
        if (error !== null && error !== undefined) {
          const message = error && typeof error.message === 'string' ? error.message : StringType(error);
          record('access.deny', [message]);
          stop();
          resolve();
          return;
        }
        const done = given !== null && typeof given === 'object' ? given : context;
        const mfa = done.multifactor;
        if (mfa !== undefined && mfa !== null) {
          const provider = typeof mfa === 'object' ? StringType(mfa.provider) : '';
          if (['any', 'guardian', 'google-authenticator', 'none'].indexOf(provider) < 0) {
            reject(new ErrorType('context.multifactor: provider ' + provider + ' is not supported by Sigil (use any or none)'));
            return;
          }
          record('multifactor.enable', [provider, mfa.allowRememberBrowser !== false]);
        }
        for (const [token, claims] of [['idToken', done.idToken], ['accessToken', done.accessToken]]) {
          if (claims === null || typeof claims !== 'object') continue;
          for (const name of Object.keys(claims)) {
            if (token === 'accessToken' && name === 'scope') continue;
            record(token + '.setCustomClaim', [StringType(name), claims[name] === undefined ? null : claims[name]]);
          }
        }
        const scope = done.accessToken !== null && typeof done.accessToken === 'object' ? done.accessToken.scope : undefined;
        if (scope !== undefined && scope !== null) {
          const wanted = (Array.isArray(scope) ? scope.map(StringType) : StringType(scope).split(' ')).filter((s) => s !== '');
          const asked = transaction.requested_scopes || [];
          for (const name of asked) if (wanted.indexOf(name) < 0) record('accessToken.removeScope', [name]);
          for (const name of wanted) if (asked.indexOf(name) < 0) record('accessToken.addScope', [name]);
        }
        resolve();
      }
      rule(user, context, callback);
    });
  }
  return { run };
})
