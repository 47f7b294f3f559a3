// api.redirect's sendUserTo, encodeToken and validateToken (Auth0's session tokens: HS256,
// exp, state, sub, iss), compiled when an Action first calls one. The prelude hands it what
// it uses.
(function (deps) {
  'use strict';
  const { record, stop, NO_REDIRECT, protocol, request, event, b64urlEncode, b64urlDecode, hs256, hs256Verify, stringify, parse, floor, nowMs, ErrorType, TypeErrorType, StringType, getOwnPropertyNames } = deps;
  function sendUserTo(url, options) {
    if (NO_REDIRECT.indexOf(protocol) >= 0) {
      throw new ErrorType('api.redirect.sendUserTo cannot be used in a ' + protocol + ' transaction: there is no browser to send');
    }
    if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/i.test(url)) {
      throw new TypeErrorType('api.redirect.sendUserTo needs an absolute http(s) URL');
    }
    const query = {};
    const given = options && options.query;
    if (given !== undefined && given !== null) {
      if (typeof given !== 'object') throw new TypeErrorType('options.query must be an object');
      const names = getOwnPropertyNames(given);
      for (let i = 0; i < names.length; i++) {
        const value = given[names[i]];
        if (value !== undefined && value !== null) query[names[i]] = StringType(value);
      }
    }
    record('redirect.sendUserTo', [url, query]);
    stop();
  }
  function encodeJson(value) { return b64urlEncode(stringify(value)); }
  function encodeToken(options) {
    const secret = options && options.secret;
    if (typeof secret !== 'string' || secret === '') throw new TypeErrorType('encodeToken needs a secret');
    const iat = floor(nowMs / 1000);
    const lifetime = options.expiresInSeconds === undefined ? 900 : options.expiresInSeconds;
    if (typeof lifetime !== 'number' || !(lifetime > 0)) throw new TypeErrorType('expiresInSeconds must be a positive number');
    const claims = { iat: iat, iss: request.hostname, sub: event.user.user_id, exp: iat + floor(lifetime), ip: request.ip, ...(options.payload || {}) };
    const input = encodeJson({ alg: 'HS256', typ: 'JWT' }) + '.' + encodeJson(claims);
    return input + '.' + hs256(secret, input);
  }
  function param(name) {
    const query = request.query || {};
    const body = request.body || {};
    if (typeof query[name] === 'string') return query[name];
    if (typeof body[name] === 'string') return body[name];
    return undefined;
  }
  function validateToken(options) {
    const secret = options && options.secret;
    if (typeof secret !== 'string' || secret === '') throw new TypeErrorType('validateToken needs a secret');
    const name = options.tokenParameterName === undefined ? 'session_token' : StringType(options.tokenParameterName);
    const token = param(name);
    if (token === undefined) {
      throw new ErrorType("There is no parameter called '" + name + "' available in either the POST body or query string.");
    }
    function invalid(why) { return new ErrorType('The session token is invalid: ' + why); }
    const parts = token.split('.');
    if (parts.length !== 3) throw invalid('it is not a signed JWT');
    let header;
    let claims;
    try {
      header = parse(b64urlDecode(parts[0]));
      claims = parse(b64urlDecode(parts[1]));
    } catch (e) {
      throw invalid('it is not a signed JWT');
    }
    if (header === null || header.alg !== 'HS256') throw invalid('its algorithm is not HS256');
    if (!hs256Verify(secret, parts[0] + '.' + parts[1], parts[2])) throw invalid('its signature does not match');
    if (claims === null || typeof claims !== 'object') throw invalid('its payload is not an object');
    if (typeof claims.exp !== 'number' || claims.exp <= nowMs / 1000) throw invalid('it has expired');
    if (claims.state !== param('state')) throw invalid("its state does not match the transaction's");
    if (claims.sub !== event.user.user_id) throw invalid('its subject is not the user logging in');
    if (claims.iss !== request.hostname) throw invalid('its issuer is not ' + request.hostname);
    return claims;
  }

  return { sendUserTo, encodeToken, validateToken };
})
