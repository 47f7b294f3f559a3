// Sigil's prelude, evaluated first in every Action's fresh context. It evaluates to a function
// that the sandbox calls once with the execution's inputs, and that returns the handle the
// sandbox drives: `start()` calls the Action's handler with `event` and `api`, `finish()` gives
// back, as JSON, what the Action asked for (its commands), its console output, and whether it
// stopped the flow (a deny). The tenant's code reaches only frozen objects; what it records
// goes into closures it cannot reach. JSON and the other built-ins are captured before the
// tenant's code runs, so replacing them later changes nothing here.
(function (trigger, handlerName, eventJson, nowMs, logLimit) {
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

  function require(name) {
    throw new ErrorType("Cannot find module '" + StringType(name) + "': Sigil offers no modules to Actions yet");
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
  // api.cache: this execution's, so far (kept across executions later).
  const cached = new MapType();
  const cache = freeze({
    get: function get(key) {
      return call(mapHas, cached, StringType(key)) ? call(mapGet, cached, StringType(key)) : undefined;
    },
    set: function set(key, value) {
      const entry = { value: StringType(value), expires_at: nowMs + 15 * 60 * 1000 };
      call(mapSet, cached, StringType(key), entry);
      return { type: 'success', record: entry };
    },
    delete: function (key) {
      return call(mapDelete, cached, StringType(key)) ? { type: 'success' } : { type: 'error', code: 'CacheKeyDoesNotExist' };
    },
  });

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
        canRedirect: function canRedirect() { return false; },
        sendUserTo: unsupported('api.redirect.sendUserTo'),
        encodeToken: unsupported('api.redirect.encodeToken'),
        validateToken: unsupported('api.redirect.validateToken'),
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
  const event = deepFreeze(parse(eventJson));

  globalThis.Date = SigilDate;
  globalThis.console = console;
  globalThis.process = process;
  globalThis.require = require;

  const module = { exports: {} };
  return freeze({
    module: module,
    require: require,
    start: function start() {
      const handler = module.exports[handlerName];
      if (typeof handler !== 'function') {
        throw new ErrorType('The Action does not export ' + handlerName);
      }
      return handler(event, api);
    },
    exported: function exported(name) {
      return typeof module.exports[name] === 'function';
    },
    finish: function finish() {
      return stringify({ commands: commands, logs: logs, stopped: stopped });
    },
  });
})
