// The post-login trigger's api (Auth0's names and shapes), compiled for post-login executions
// only. The prelude hands it what it uses; calls are recorded as commands through `record`.
(function (deps) {
  'use strict';
  const { record, stop, part, event, continuing, claimSetter, metadataSetter, cache, b64urlEncode, b64urlDecode, hs256, hs256Verify, stringify, parse, floor, nowMs, ErrorType, TypeErrorType, StringType, getOwnPropertyNames } = deps;
  function unsupported(what) {
    return function () { throw new ErrorType(what + ' is not supported by Sigil'); };
  }
  function scopeChange(op) {
    return function (scope) {
      const trimmed = typeof scope === 'string' ? scope.trim() : '';
      if (trimmed === '' || trimmed.length > 280 || /\s/.test(trimmed)) {
        throw new TypeErrorType('A scope is a non-empty string of at most 280 characters without spaces.');
      }
      record('accessToken.' + op, [trimmed]);
    };
  }
  // --- api.redirect: the user sent to a page of the tenant's, and back through /continue ---
  // Protocols without a browser to send anywhere (A-harness's list).
  const NO_REDIRECT = ['oauth2-resource-owner', 'oauth2-refresh-token', 'oauth2-password', 'oauth2-webauthn'];
  const request = event.request || {};
  const protocol = (event.transaction || {}).protocol;
  function canRedirect() {
    return NO_REDIRECT.indexOf(protocol) < 0 && (request.query || {}).prompt !== 'none';
  }
  // The rest of api.redirect, compiled when an Action first calls it.
  let redirecting;
  function redirect(name) {
    return function (...args) {
      if (redirecting === undefined) {
        redirecting = part('redirect')({
          record, stop, NO_REDIRECT, protocol, request, event, b64urlEncode,
          b64urlDecode, hs256, hs256Verify, stringify, parse, floor, nowMs, ErrorType, TypeErrorType,
          StringType, getOwnPropertyNames,
        });
      }
      return redirecting[name](...args);
    };
  }

  return {
    access: {
      deny: function deny(reason) { record('access.deny', [StringType(reason)]); stop(); },
    },
    idToken: { setCustomClaim: claimSetter('idToken') },
    accessToken: {
      setCustomClaim: claimSetter('accessToken'),
      addScope: scopeChange('addScope'),
      removeScope: scopeChange('removeScope'),
    },
    user: { setAppMetadata: metadataSetter('setAppMetadata'), setUserMetadata: metadataSetter('setUserMetadata') },
    multifactor: {
      // Auth0's providers: 'any' and the Guardian names ask for one of the tenant's factors,
      // 'none' turns the second factor off for this login; Duo is not offered.
      enable: function enable(provider, options) {
        const name = StringType(provider);
        if (['any', 'guardian', 'google-authenticator', 'none'].indexOf(name) < 0) {
          throw new ErrorType('api.multifactor.enable: provider ' + name + ' is not supported by Sigil (use any or none)');
        }
        const remember = !(options && options.allowRememberBrowser === false);
        record('multifactor.enable', [name, remember]);
      },
    },
    redirect: {
      canRedirect: canRedirect,
      sendUserTo: redirect('sendUserTo'),
      encodeToken: redirect('encodeToken'),
      validateToken: redirect('validateToken'),
    },
    transaction: {
      setMetadata: function setMetadata(name, value) { record('transaction.setMetadata', [StringType(name), value]); },
    },
    authentication: {
      // Auth0's: only after a redirect, in onContinuePostLogin; the session remembers it.
      recordMethod: function recordMethod(providerUrl) {
        if (!continuing) throw new ErrorType('api.authentication.recordMethod can only be called in onContinuePostLogin');
        const name = typeof providerUrl === 'string' ? providerUrl : '';
        if (name === '' || name.length > 2048) throw new TypeErrorType('api.authentication.recordMethod needs the method as a string of 1 to 2048 characters');
        record('authentication.recordMethod', [name]);
      },
      setPrimaryUser: unsupported('api.authentication.setPrimaryUser'),
      challengeWith: unsupported('api.authentication.challengeWith'),
      challengeWithAny: unsupported('api.authentication.challengeWithAny'),
      enrollWith: unsupported('api.authentication.enrollWith'),
      enrollWithAny: unsupported('api.authentication.enrollWithAny'),
    },
    cache: cache,
  };
})
