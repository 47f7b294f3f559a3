// Sigil's prelude, evaluated first in every Action's fresh context, in two steps. Made ahead of
// an execution (while the worker waits for work), it captures the built-ins, sets the globals
// up and returns `begin`; `begin` is called once, with the execution's inputs, and returns the
// handle the sandbox drives: `start()` calls the Action's handler with `event` and `api`,
// `finish()` gives back, as JSON, what the Action asked for (its commands), its console output,
// and whether it stopped the flow (a deny). The tenant's code runs only after `begin`, and
// reaches only frozen objects; what it records goes into closures it cannot reach. JSON and
// the other built-ins are captured before, so replacing them later changes nothing here.
//
// `natives`: the host's functions for every execution (natives.rs); `readyName`, `ready`: the
// part compiled ahead for the trigger the worker expects.
(function (natives, readyName, ready) {
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
  const ArrayBufferType = ArrayBuffer;
  const Uint8ArrayType = Uint8Array;
  const fromCharCode = String.fromCharCode;
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
  // The prelude's parts (the other .js files here), each loaded when first needed.
  const load = natives.part;
  const part = (name) => (name === readyName && typeof ready === 'function' ? ready : load(name));

  // The execution's inputs, set by `begin`, and the host's functions for this execution only
  // (timers and requests: outside.rs; api.cache: cache.rs).
  let trigger, handlerName, nowMs, logLimit, host;

  const commands = [];
  let stopped = false;

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

  // --- console (captured, capped) and Node's process (without the host's environment): made
  // when first touched ---
  let consoling;
  const console = () => consoling || (consoling = part('console')({ stringify, StringType, ErrorType, freeze, logLimit }));
  const process = () => deepFreeze({
    env: {},
    version: 'v22.0.0',
    versions: { node: '22.0.0' },
    platform: 'linux',
    nextTick: function nextTick(fn, ...args) { Promise.resolve().then(() => fn(...args)); },
  });

  // --- timers: armed through the host, which fires them when the Action's JavaScript waits ---
  // Compiled when the Action first arms one.
  let timing;
  const timers = () => timing || (timing = part('timers')({
    timerStart: host.timerStart, timerClear: host.timerClear, MapType, call, mapSet, mapGet, mapDelete, freeze, ErrorType, TypeErrorType,
  }));
  const disarm = function clearTimeout(timeout) { if (timing !== undefined) timing.disarm(timeout); };
  const fire = (id) => { if (timing !== undefined) timing.fire(id); };
  const setTimeout = function setTimeout(fn, ms, ...args) { return timers().arm(fn, ms, args, false); };
  const setInterval = function setInterval(fn, ms, ...args) { return timers().arm(fn, ms, args, true); };
  const setImmediate = function setImmediate(fn, ...args) { return timers().arm(fn, 0, args, false); };

  // --- fetch and its family (WHATWG's, the part Actions use): made when first used ---
  let web;
  const makeWeb = () => part('web')({
    ErrorType, TypeErrorType, StringType, MapType, ArrayBufferType, Uint8ArrayType, fromCharCode, parse, call, mapGet, mapSet, mapDelete,
    fetchStart: host.fetchStart, fetchAbort: host.fetchAbort, setTimeout, urlParse: natives.urlParse,
  });
  const settle = (id, error, reply, body, bytes) => { if (web !== undefined) web.settle(id, error, reply, body, bytes); };
  // Globals made when first touched (an Action may also replace them).
  function lazyGlobal(name, make) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get: function () {
        const value = make();
        Object.defineProperty(globalThis, name, { value: value, writable: true, configurable: true });
        return value;
      },
      set: function (value) {
        Object.defineProperty(globalThis, name, { value: value, writable: true, configurable: true });
      },
    });
  }
  const webGlobal = (name) => () => (web || (web = makeWeb()))[name];

  // --- Buffer, TextEncoder, TextDecoder: made when first touched ---
  let buffering;
  const buffers = () => buffering || (buffering = part('buffer')({ StringType, TypeErrorType, freeze }));

  // --- require: a small table of built-in modules (MODULES in lib.rs), nothing from npm;
  // compiled when first required ---
  let modules;
  const required = () => modules || (modules = part('modules')({
    freeze, StringType, ErrorType, getOwnPropertyNames, digestNative: natives.digest, randomHex: natives.randomHex,
    makeBuffer: () => freeze({ Buffer: buffers().Buffer }),
    makeAxios: () => part('axios')({
      web: () => (web || (web = makeWeb())), setTimeout, clearTimeout: disarm, freeze, StringType, ErrorType,
      TypeErrorType, getOwnPropertyNames, stringify, parse,
    }),
  }));
  function require(name) { return required().require(name); }

  // --- api ---
  function claimSetter(token) {
    return function setCustomClaim(name, value) {
      // A name that is not a string is refused before anything of it runs (no toString).
      if (typeof name !== 'string') throw new TypeErrorType('A claim name must be a string.');
      if (name === 'scope') throw new ErrorType('The "scope" claim cannot be set.');
      record(token + '.setCustomClaim', [StringType(name), value === undefined ? null : value]);
    };
  }
  function metadataSetter(op) {
    return function (name, value) {
      record('user.' + op, [StringType(name), value === undefined ? null : value]);
    };
  }
  // api.cache: this trigger's records on this node, kept by the host (cache.rs); compiled when
  // an Action first uses it.
  let caching;
  const cached = () => caching || (caching = part('cache')({
    cacheGet: host.cacheGet, cacheSet: host.cacheSet, cacheDelete: host.cacheDelete,
    cacheDefaultMs: host.cacheDefaultMs, nowMs, StringType, parse,
  }));
  const cache = freeze({
    get: function get(key) { return cached().get(key); },
    set: function set(key, value, options) { return cached().set(key, value, options); },
    delete: function (key) { return cached().delete(key); },
  });


  globalThis.Date = SigilDate;
  globalThis.require = require;
  lazyGlobal('console', () => console().console);
  lazyGlobal('process', process);
  lazyGlobal('crypto', () => freeze({ randomUUID: required().randomUUID }));
  // QuickJS's own `performance` reads the machine's clock: this one is the server's, as `Date`.
  lazyGlobal('performance', () => freeze({ timeOrigin: nowMs, now: function now() { return 0; } }));
  globalThis.setTimeout = setTimeout;
  globalThis.setInterval = setInterval;
  globalThis.setImmediate = setImmediate;
  globalThis.clearTimeout = disarm;
  globalThis.clearInterval = disarm;
  globalThis.clearImmediate = disarm;
  if (typeof globalThis.queueMicrotask !== 'function') {
    globalThis.queueMicrotask = function queueMicrotask(fn) { Promise.resolve().then(() => fn()); };
  }
  const WEB = ['fetch', 'Headers', 'Request', 'Response', 'AbortController', 'AbortSignal', 'URLSearchParams', 'URL'];
  for (let i = 0; i < WEB.length; i++) lazyGlobal(WEB[i], webGlobal(WEB[i]));
  const BUFFERS = ['Buffer', 'TextEncoder', 'TextDecoder'];
  for (let i = 0; i < BUFFERS.length; i++) lazyGlobal(BUFFERS[i], () => buffers()[BUFFERS[i]]);

  // Once, with the execution's inputs; `hostNatives`: the host's functions for it alone.
  let begun = false;
  return function begin(triggerId, handlerExport, eventJson, now, logChars, hostNatives) {
    if (begun) throw new ErrorType('an execution has begun in this context already');
    begun = true;
    trigger = triggerId;
    handlerName = handlerExport;
    nowMs = now;
    logLimit = logChars;
    host = hostNatives;
    const event = deepFreeze(parse(eventJson));

    let api;
    if (trigger === 'post-login') {
      api = part('post-login')({
        record, stop: () => { stopped = true; }, part, event, continuing: handlerName === 'onContinuePostLogin',
        claimSetter, metadataSetter, cache,
        b64urlEncode, b64urlDecode, hs256, hs256Verify, stringify, parse, floor, nowMs, ErrorType,
        TypeErrorType, StringType, getOwnPropertyNames,
      });
    } else if (trigger === 'credentials-exchange') {
      api = {
        access: {
          deny: function deny(code, reason) { record('access.deny', [StringType(code), StringType(reason)]); stopped = true; },
        },
        accessToken: { setCustomClaim: claimSetter('accessToken') },
        cache: cache,
      };
    } else if (trigger === 'pre-user-registration') {
      api = part('pre-user-registration')({ record, stop: () => { stopped = true; }, metadataSetter, cache, StringType });
    } else {
      api = { cache: cache };
    }
    deepFreeze(api);

    const module = { exports: {} };
    return freeze({
      module: module,
      require: require,
      start: function start() {
        if (handlerName === '(rule)') {
          return part('rule')({ event, record, stop: () => { stopped = true; }, parse, stringify, freeze, ErrorType, StringType }).run(module.exports);
        }
        if (handlerName === '(profile)') {
          return part('profile')({ event, record, parse, stringify, ErrorType, StringType }).run(module.exports);
        }
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
        if (name === '(rule)' || name === '(profile)') return typeof module.exports === 'function';
        return typeof module.exports[name] === 'function';
      },
      finish: function finish() {
        return stringify({ commands: commands, logs: consoling === undefined ? '' : consoling.text(), stopped: stopped });
      },
    });
  };
})
