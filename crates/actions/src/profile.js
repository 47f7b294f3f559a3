// A custom OAuth 2.0 connection's profile script, Auth0's `fetchUserProfile(accessToken, ctx,
// callback)`: compiled only for such scripts. `ctx` is the token endpoint's answer (without the
// access token's refresh companion), `callback(error, profile)` ends it: the profile becomes
// one `profile` command, an error the script's failure. As in Auth0's sandbox, `request` (the
// part of the `request` npm module profile scripts use: `request(options, cb)`, `request.get`,
// `request.post`, with `json`, `headers`, `qs`, `form` and `body`) is a global; it runs on the
// execution's `fetch`, under the same egress rules as every Action's.
(function (deps) {
  'use strict';
  const { event, record, parse, stringify, ErrorType, StringType } = deps;

  function request(options, callback) {
    const opts = typeof options === 'string' ? { url: options } : Object.assign({}, options);
    const method = StringType(opts.method || 'GET').toUpperCase();
    let url = StringType(opts.url || opts.uri || '');
    if (opts.qs && typeof opts.qs === 'object') {
      const query = new URLSearchParams();
      for (const name of Object.keys(opts.qs)) query.append(name, StringType(opts.qs[name]));
      url += (url.indexOf('?') < 0 ? '?' : '&') + query.toString();
    }
    const headers = Object.assign({}, opts.headers || {});
    let body;
    if (opts.form !== undefined) {
      const form = new URLSearchParams();
      for (const name of Object.keys(opts.form)) form.append(name, StringType(opts.form[name]));
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.json !== undefined && opts.json !== true && opts.json !== false) {
      body = stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : stringify(opts.body);
    }
    if (opts.json !== undefined && opts.json !== false && !headers.accept) headers.accept = 'application/json';
    const done = typeof callback === 'function' ? callback : function () {};
    globalThis.fetch(url, { method: method, headers: headers, body: body }).then(
      function (response) {
        return response.text().then(function (text) {
          let parsed = text;
          if (opts.json) {
            try { parsed = text === '' ? undefined : parse(text); } catch (e) { parsed = text; }
          }
          const headerObject = {};
          response.headers.forEach(function (value, name) { headerObject[name] = value; });
          done(null, { statusCode: response.status, headers: headerObject, body: parsed }, parsed);
        });
      },
      function (error) { done(error); },
    );
  }
  request.get = function (url, options, callback) {
    if (typeof options === 'function') { callback = options; options = {}; }
    const opts = typeof url === 'string' ? Object.assign({}, options, { url: url }) : Object.assign({}, url);
    opts.method = 'GET';
    return request(opts, callback);
  };
  request.post = function (url, options, callback) {
    if (typeof options === 'function') { callback = options; options = {}; }
    const opts = typeof url === 'string' ? Object.assign({}, options, { url: url }) : Object.assign({}, url);
    opts.method = 'POST';
    return request(opts, callback);
  };

  function run(fetchUserProfile) {
    if (typeof fetchUserProfile !== 'function') {
      throw new ErrorType('A profile script is one function: function (accessToken, ctx, callback) { … }');
    }
    globalThis.request = request;
    return new Promise((resolve, reject) => {
      let called = false;
      function callback(error, profile) {
        if (called) return;
        called = true;
        if (error !== null && error !== undefined) {
          const message = error && typeof error.message === 'string' ? error.message : StringType(error);
          reject(new ErrorType(message));
          return;
        }
        if (profile === null || typeof profile !== 'object' || Array.isArray(profile)) {
          reject(new ErrorType('The profile script gave no profile object'));
          return;
        }
        record('profile', [parse(stringify(profile))]);
        resolve();
      }
      fetchUserProfile(StringType(event.access_token || ''), parse(stringify(event.ctx || {})), callback);
    });
  }
  return { run };
})
