// Sigil's prelude, evaluated first in every Action's fresh context. It evaluates to a function
// that the sandbox calls once with the execution's inputs, and that returns the handle the
// sandbox drives: `start()` calls the Action's handler with `event` and `api`, `finish()` gives
// back, as JSON, what the Action asked for (its commands), its console output, and whether it
// stopped the flow (a deny). The tenant's code reaches only frozen objects; what it records
// goes into closures it cannot reach. JSON and the other built-ins are captured before the
// tenant's code runs, so replacing them later changes nothing here.
(function (trigger, handlerName, eventJson, nowMs, logLimit, natives) {
  'use strict';
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const freeze = Object.freeze;
  const getOwnPropertyNames = Object.getOwnPropertyNames;
  const RealDate = Date;
  const ErrorType = Error;
  const TypeErrorType = TypeError;
  const StringType = String;
  const MapType = Map;
  const mapGet = Map.prototype.get;
  const mapSet = Map.prototype.set;
  const mapHas = Map.prototype.has;
  const mapDelete = Map.prototype.delete;
  const call = Function.prototype.call.bind(Function.prototype.call);
  const floor = Math.floor;
  const b64urlEncode = natives.b64urlEncode;
  const b64urlDecode = natives.b64urlDecode;
  const hs256 = natives.hs256;
  const hs256Verify = natives.hs256Verify;
  // The prelude's parts (web.js, modules.js, redirect.js), compiled on first use.
  const part = natives.part;

  const commands = [];
  let stopped = false;
  let logs = '';
  let logsFull = false;

  function deepFreeze(value) {
    if (value !== null && typeof value === 'object') {
      const names = getOwnPropertyNames(value);
      for (let i = 0; i < names.length; i++) deepFreeze(value[names[i]]);
      freeze(value);
    }
    return value;
  }

  // A command's arguments, detached from the tenant's objects (functions and undefined drop out,
  // as JSON has them); a value JSON cannot hold (a BigInt, a cycle) is refused at the call.
  function record(op, args) {
    commands[commands.length] = { op: op, args: parse(stringify(args)) };
  }

  // --- the clock: the server's, fixed for the execution ---
  function SigilDate(...args) {
    if (!new.target) return new RealDate(nowMs).toString();
    return args.length === 0 ? new RealDate(nowMs) : new RealDate(...args);
  }
  SigilDate.prototype = RealDate.prototype;
  SigilDate.now = function now() { return nowMs; };
  SigilDate.parse = RealDate.parse;
  SigilDate.UTC = RealDate.UTC;

  // --- console: captured, capped ---
  function show(value) {
    if (typeof value === 'string') return value;
    if (value instanceof ErrorType) return StringType(value);
    try {
      const text = stringify(value);
      return text === undefined ? StringType(value) : text;
    } catch (e) {
      return StringType(value);
    }
  }
  function log(...args) {
    if (logsFull) return;
    let line = '';
    for (let i = 0; i < args.length; i++) line += (i > 0 ? ' ' : '') + show(args[i]);
    line += '\n';
    if (logs.length + line.length > logLimit) {
      logs += line.substring(0, logLimit - logs.length) + '\n[console output cut at ' + logLimit + ' characters]\n';
      logsFull = true;
    } else {
      logs += line;
    }
  }
  const console = freeze({ log: log, info: log, warn: log, error: log, debug: log, trace: log });

  // --- Node's process, without the host's: no environment, no exit ---
  const process = deepFreeze({
    env: {},
    version: 'v22.0.0',
    versions: { node: '22.0.0' },
    platform: 'linux',
    nextTick: function nextTick(fn, ...args) { Promise.resolve().then(() => fn(...args)); },
  });

  // --- timers: armed through the host, which fires them when the Action's JavaScript waits ---
  const timerStart = natives.timerStart;
  const timerClear = natives.timerClear;
  const timers = new MapType();
  let nextTimer = 1;
  function arm(fn, ms, args, repeat) {
    if (typeof fn !== 'function') throw new TypeErrorType('The "callback" argument must be of type function');
    const delay = +ms > 0 ? +ms : 0;
    const id = nextTimer++;
    if (!timerStart(id, delay)) throw new ErrorType('Too many timers are armed');
    call(mapSet, timers, id, { fn: fn, args: args, every: repeat ? (delay < 1 ? 1 : delay) : 0 });
    // Node's Timeout: clearTimeout takes it or its number.
    return freeze({
      ref: function ref() { return this; },
      unref: function unref() { return this; },
      hasRef: function hasRef() { return true; },
      [Symbol.toPrimitive]: function () { return id; },
    });
  }
  function disarm(timeout) {
    const id = +timeout;
    if (call(mapDelete, timers, id)) timerClear(id);
  }
  function fire(id) {
    const timer = call(mapGet, timers, id);
    if (timer === undefined) return;
    if (timer.every > 0) timerStart(id, timer.every);
    else call(mapDelete, timers, id);
    timer.fn(...timer.args);
  }
  const setTimeout = function setTimeout(fn, ms, ...args) { return arm(fn, ms, args, false); };
  const setInterval = function setInterval(fn, ms, ...args) { return arm(fn, ms, args, true); };
  const setImmediate = function setImmediate(fn, ...args) { return arm(fn, 0, args, false); };

  // --- fetch and its family (WHATWG's, the part Actions use): made when first used ---
  const fetchStart = natives.fetchStart;
  const fetchAbort = natives.fetchAbort;
  const fetching = new MapType();
  let web;
  const makeWeb = () => part('web')({
    ErrorType, TypeErrorType, StringType, MapType, parse, call, mapSet, mapDelete,
    fetching, fetchStart, fetchAbort, setTimeout,
  });
  function settle(id, error, reply, body) {
    const pending = call(mapGet, fetching, id);
    if (pending === undefined) return;
    call(mapDelete, fetching, id);
    if (error !== null && error !== undefined) {
      const failure = new TypeErrorType('fetch failed: ' + error);
      failure.cause = new ErrorType(error);
      pending.reject(failure);
      return;
    }
    const meta = parse(reply);
    const response = new pending.Response(body, { status: meta.status, statusText: meta.statusText, headers: meta.headers, url: meta.url, redirected: meta.redirected });
    pending.resolve(response);
  }
  // The family goes onto the global object when first touched.
  function lazyGlobal(name) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get: function () {
        if (web === undefined) web = makeWeb();
        Object.defineProperty(globalThis, name, { value: web[name], writable: true, configurable: true });
        return web[name];
      },
      set: function (value) {
        Object.defineProperty(globalThis, name, { value: value, writable: true, configurable: true });
      },
    });
  }

  // --- require: a small table of built-in modules (MODULES in lib.rs), nothing from npm ---
  const digestNative = natives.digest;
  const randomHex = natives.randomHex;
  function randomUUID() {
    const hex = randomHex(16);
    const variant = ((parseInt(hex[16], 16) & 3) | 8).toString(16);
    return hex.substring(0, 8) + '-' + hex.substring(8, 12) + '-4' + hex.substring(13, 16) + '-' +
      variant + hex.substring(17, 20) + '-' + hex.substring(20, 32);
  }
  // Compiled when first required: most Actions require nothing.
  let modules;
  const module_ = (name) => {
    if (modules === undefined) modules = part('modules')({ freeze, StringType, ErrorType, getOwnPropertyNames, digestNative, randomHex, randomUUID });
    return modules[name]();
  };
  const MODULES = { crypto: () => module_('crypto'), querystring: () => module_('querystring') };
  const made = {};
  function require(name) {
    const wanted = StringType(name);
    const bare = wanted.indexOf('node:') === 0 ? wanted.substring(5) : wanted;
    if (Object.prototype.hasOwnProperty.call(MODULES, bare)) {
      if (!Object.prototype.hasOwnProperty.call(made, bare)) made[bare] = MODULES[bare]();
      return made[bare];
    }
    throw new ErrorType("Cannot find module '" + wanted + "': Sigil offers Actions the built-in modules crypto and querystring only, and no npm packages");
  }

  // --- api ---
  function unsupported(what) {
    return function () { throw new ErrorType(what + ' is not supported by Sigil'); };
  }
  function claimSetter(token) {
    return function setCustomClaim(name, value) {
      if (name === 'scope') throw new ErrorType('The "scope" claim cannot be set.');
      record(token + '.setCustomClaim', [StringType(name), value === undefined ? null : value]);
    };
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
  function metadataSetter(op) {
    return function (name, value) {
      record('user.' + op, [StringType(name), value === undefined ? null : value]);
    };
  }
  // api.cache: this trigger's records on this node, kept by the host (cache.rs).
  const cacheGet = natives.cacheGet;
  const cacheSet = natives.cacheSet;
  const cacheDelete = natives.cacheDelete;
  const cacheDefaultMs = natives.cacheDefaultMs;
  const cache = freeze({
    get: function get(key) {
      const found = cacheGet(StringType(key));
      if (found === null || found === undefined) return undefined;
      const record = parse(found);
      return { value: record[0], expires_at: record[1] };
    },
    set: function set(key, value, options) {
      let expiresAt = nowMs + cacheDefaultMs;
      if (options !== undefined && options !== null) {
        if (options.expires_at !== undefined) expiresAt = +options.expires_at;
        else if (options.ttl !== undefined) expiresAt = nowMs + +options.ttl;
      }
      if (expiresAt !== expiresAt) return { type: 'error', code: 'InvalidExpiry' };
      const record = { value: StringType(value), expires_at: expiresAt };
      const refused = cacheSet(StringType(key), record.value, expiresAt);
      return refused === null || refused === undefined ? { type: 'success', record: record } : { type: 'error', code: refused };
    },
    delete: function (key) {
      return cacheDelete(StringType(key)) ? { type: 'success' } : { type: 'error', code: 'CacheKeyDoesNotExist' };
    },
  });

  const event = deepFreeze(parse(eventJson));

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
          record, stop: () => { stopped = true; }, NO_REDIRECT, protocol, request, event, b64urlEncode,
          b64urlDecode, hs256, hs256Verify, stringify, parse, floor, nowMs, ErrorType, TypeErrorType,
          StringType, getOwnPropertyNames,
        });
      }
      return redirecting[name](...args);
    };
  }

  let api;
  if (trigger === 'post-login') {
    api = {
      access: {
        deny: function deny(reason) { record('access.deny', [StringType(reason)]); stopped = true; },
      },
      idToken: { setCustomClaim: claimSetter('idToken') },
      accessToken: {
        setCustomClaim: claimSetter('accessToken'),
        addScope: scopeChange('addScope'),
        removeScope: scopeChange('removeScope'),
      },
      user: { setAppMetadata: metadataSetter('setAppMetadata'), setUserMetadata: metadataSetter('setUserMetadata') },
      multifactor: {
        enable: function enable(provider) {
          if (provider === 'none') return;
          throw new ErrorType('api.multifactor.enable is not supported by Sigil: it has no multi-factor authentication yet');
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
        recordMethod: unsupported('api.authentication.recordMethod'),
        setPrimaryUser: unsupported('api.authentication.setPrimaryUser'),
        challengeWith: unsupported('api.authentication.challengeWith'),
        challengeWithAny: unsupported('api.authentication.challengeWithAny'),
        enrollWith: unsupported('api.authentication.enrollWith'),
        enrollWithAny: unsupported('api.authentication.enrollWithAny'),
      },
      cache: cache,
    };
  } else if (trigger === 'credentials-exchange') {
    api = {
      access: {
        deny: function deny(code, reason) { record('access.deny', [StringType(code), StringType(reason)]); stopped = true; },
      },
      accessToken: { setCustomClaim: claimSetter('accessToken') },
      cache: cache,
    };
  } else if (trigger === 'pre-user-registration') {
    api = {
      access: {
        deny: function deny(reason, userMessage) {
          record('access.deny', [StringType(reason), userMessage === undefined ? null : StringType(userMessage)]);
          stopped = true;
        },
      },
      user: { setAppMetadata: metadataSetter('setAppMetadata'), setUserMetadata: metadataSetter('setUserMetadata') },
      validation: {
        error: function error(code, message) { record('validation.error', [StringType(code), StringType(message)]); stopped = true; },
      },
      cache: cache,
    };
  } else {
    api = { cache: cache };
  }
  deepFreeze(api);

  globalThis.Date = SigilDate;
  globalThis.console = console;
  globalThis.process = process;
  globalThis.require = require;
  globalThis.crypto = freeze({ randomUUID: randomUUID });
  globalThis.setTimeout = setTimeout;
  globalThis.setInterval = setInterval;
  globalThis.setImmediate = setImmediate;
  globalThis.clearTimeout = disarm;
  globalThis.clearInterval = disarm;
  globalThis.clearImmediate = disarm;
  if (typeof globalThis.queueMicrotask !== 'function') {
    globalThis.queueMicrotask = function queueMicrotask(fn) { Promise.resolve().then(() => fn()); };
  }
  const WEB = ['fetch', 'Headers', 'Request', 'Response', 'AbortController', 'AbortSignal', 'URLSearchParams'];
  for (let i = 0; i < WEB.length; i++) lazyGlobal(WEB[i]);

  const module = { exports: {} };
  return freeze({
    module: module,
    require: require,
    start: function start() {
      const handler = module.exports[handlerName];
      // Resuming an Action that has nothing to do after its redirect.
      if (handlerName === 'onContinuePostLogin' && typeof handler !== 'function') return undefined;
      if (typeof handler !== 'function') {
        throw new ErrorType('The Action does not export ' + handlerName);
      }
      return handler(event, api);
    },
    fire: fire,
    settle: settle,
    exported: function exported(name) {
      return typeof module.exports[name] === 'function';
    },
    finish: function finish() {
      return stringify({ commands: commands, logs: logs, stopped: stopped });
    },
  });
})
