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
  let nextFetch = 1;
  let web;
  function named(name, message) {
    const error = new ErrorType(message);
    error.name = name;
    return error;
  }
  function makeWeb() {
    // A minimal EventTarget, for AbortSignal.
    class EventTargetLike {
      #listeners = [];
      constructor() { this.aborted = false; this.reason = undefined; this.onabort = null; }
      addEventListener(type, fn, options) {
        if (typeof fn === 'function') this.#listeners.push({ type: StringType(type), fn: fn, once: !!(options && options.once) });
      }
      removeEventListener(type, fn) { this.#listeners = this.#listeners.filter((l) => l.type !== type || l.fn !== fn); }
      dispatch(type) {
        const event = { type: type, target: this };
        if (type === 'abort' && typeof this.onabort === 'function') this.onabort(event);
        for (const listener of this.#listeners.filter((l) => l.type === type)) {
          if (listener.once) this.removeEventListener(type, listener.fn);
          listener.fn.call(this, event);
        }
      }
    }
    function formEncode(text) {
      return encodeURIComponent(text).replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%20/g, '+');
    }
    function formDecode(text) {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    }
    class URLSearchParams {
      #pairs = [];
      constructor(init) {
        if (init === undefined || init === null) return;
        if (typeof init === 'string') {
          const text = init[0] === '?' ? init.substring(1) : init;
          for (const piece of text.split('&')) {
            if (piece === '') continue;
            const at = piece.indexOf('=');
            this.#pairs.push(at < 0 ? [formDecode(piece), ''] : [formDecode(piece.substring(0, at)), formDecode(piece.substring(at + 1))]);
          }
        } else if (typeof init[Symbol.iterator] === 'function') {
          for (const pair of init) this.#pairs.push([StringType(pair[0]), StringType(pair[1])]);
        } else {
          for (const name of Object.keys(init)) this.#pairs.push([name, StringType(init[name])]);
        }
      }
      get size() { return this.#pairs.length; }
      append(name, value) { this.#pairs.push([StringType(name), StringType(value)]); }
      delete(name) { this.#pairs = this.#pairs.filter((p) => p[0] !== StringType(name)); }
      get(name) { const found = this.#pairs.find((p) => p[0] === StringType(name)); return found ? found[1] : null; }
      getAll(name) { return this.#pairs.filter((p) => p[0] === StringType(name)).map((p) => p[1]); }
      has(name) { return this.#pairs.some((p) => p[0] === StringType(name)); }
      set(name, value) {
        const key = StringType(name);
        const at = this.#pairs.findIndex((p) => p[0] === key);
        if (at < 0) { this.#pairs.push([key, StringType(value)]); return; }
        this.#pairs[at][1] = StringType(value);
        this.#pairs = this.#pairs.filter((p, i) => i <= at || p[0] !== key);
      }
      sort() { this.#pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); }
      forEach(fn, self) { for (const [name, value] of this.#pairs) fn.call(self, value, name, this); }
      *entries() { for (const pair of this.#pairs) yield [pair[0], pair[1]]; }
      *keys() { for (const pair of this.#pairs) yield pair[0]; }
      *values() { for (const pair of this.#pairs) yield pair[1]; }
      [Symbol.iterator]() { return this.entries(); }
      toString() { return this.#pairs.map((p) => formEncode(p[0]) + '=' + formEncode(p[1])).join('&'); }
    }
    class Headers {
      #map = new MapType();
      constructor(init) {
        if (init === undefined || init === null) return;
        if (init instanceof Headers || typeof init[Symbol.iterator] === 'function') {
          for (const pair of init) this.append(pair[0], pair[1]);
        } else {
          for (const name of Object.keys(init)) this.append(name, init[name]);
        }
      }
      append(name, value) {
        const key = StringType(name).toLowerCase();
        const had = this.#map.get(key);
        this.#map.set(key, had === undefined ? StringType(value) : had + ', ' + StringType(value));
      }
      set(name, value) { this.#map.set(StringType(name).toLowerCase(), StringType(value)); }
      get(name) { const value = this.#map.get(StringType(name).toLowerCase()); return value === undefined ? null : value; }
      has(name) { return this.#map.has(StringType(name).toLowerCase()); }
      delete(name) { this.#map.delete(StringType(name).toLowerCase()); }
      forEach(fn, self) { for (const [name, value] of this.entries()) fn.call(self, value, name, this); }
      *entries() { for (const name of [...this.#map.keys()].sort()) yield [name, this.#map.get(name)]; }
      *keys() { for (const [name] of this.entries()) yield name; }
      *values() { for (const [, value] of this.entries()) yield value; }
      [Symbol.iterator]() { return this.entries(); }
    }
    class Response {
      #body;
      #used = false;
      constructor(body, init) {
        const options = init || {};
        this.#body = body === undefined || body === null ? '' : StringType(body);
        this.status = options.status === undefined ? 200 : options.status;
        this.statusText = options.statusText === undefined ? '' : StringType(options.statusText);
        this.headers = new Headers(options.headers);
        this.ok = this.status >= 200 && this.status < 300;
        this.url = options.url || '';
        this.redirected = !!options.redirected;
        this.type = 'basic';
      }
      get bodyUsed() { return this.#used; }
      #take() {
        if (this.#used) return Promise.reject(new TypeErrorType('Body is unusable: Body has already been read'));
        this.#used = true;
        return Promise.resolve(this.#body);
      }
      text() { return this.#take(); }
      json() { return this.#take().then((text) => parse(text)); }
      arrayBuffer() { return Promise.reject(new TypeErrorType("Sigil's fetch gives bodies as text: use text() or json()")); }
      blob() { return this.arrayBuffer(); }
      clone() {
        if (this.#used) throw new TypeErrorType('Response.clone: Body has already been consumed.');
        return new Response(this.#body, this);
      }
    }
    class AbortSignal extends EventTargetLike {
      static abort(reason) { const c = new AbortController(); c.abort(reason); return c.signal; }
      static timeout(ms) {
        const c = new AbortController();
        setTimeout(() => c.abort(named('TimeoutError', 'The operation was aborted due to timeout')), ms);
        return c.signal;
      }
      throwIfAborted() { if (this.aborted) throw this.reason; }
    }
    class AbortController {
      constructor() { this.signal = new AbortSignal(); }
      abort(reason) {
        const signal = this.signal;
        if (signal.aborted) return;
        signal.aborted = true;
        signal.reason = reason === undefined ? named('AbortError', 'This operation was aborted') : reason;
        signal.dispatch('abort');
      }
    }
    function bodyOf(body, headers) {
      if (body === undefined || body === null) return null;
      if (typeof body === 'string') return body;
      if (body instanceof URLSearchParams) {
        if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
        return body.toString();
      }
      if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
        throw new TypeErrorType("Sigil's fetch sends string and URLSearchParams bodies only");
      }
      return StringType(body);
    }
    function fetch(input, init) {
      return new Promise((resolve, reject) => {
        const options = init || {};
        const from = input !== null && typeof input === 'object' && typeof input.url === 'string' ? input : {};
        const url = from.url !== undefined ? from.url : typeof input === 'object' && input !== null && input.href ? input.href : StringType(input);
        const method = StringType(options.method || from.method || 'GET').toUpperCase();
        const headers = new Headers(options.headers || from.headers);
        const body = bodyOf(options.body !== undefined ? options.body : from.body, headers);
        if ((method === 'GET' || method === 'HEAD') && body !== null) {
          throw new TypeErrorType('Request with GET/HEAD method cannot have body.');
        }
        const signal = options.signal || from.signal;
        if (signal && signal.aborted) throw signal.reason;
        const id = nextFetch++;
        call(mapSet, fetching, id, { resolve: resolve, reject: reject, Response: Response, Headers: Headers });
        if (signal && typeof signal.addEventListener === 'function') {
          signal.addEventListener('abort', () => {
            if (call(mapDelete, fetching, id)) {
              fetchAbort(id);
              reject(signal.reason);
            }
          });
        }
        fetchStart(id, method, StringType(url), [...headers.entries()], body, StringType(options.redirect || 'follow'));
      });
    }
    class Request {
      constructor(input, init) {
        const options = init || {};
        this.url = typeof input === 'object' && input !== null && typeof input.url === 'string' ? input.url : StringType(input);
        this.method = StringType(options.method || 'GET').toUpperCase();
        this.headers = new Headers(options.headers);
        this.body = options.body === undefined ? null : options.body;
        this.signal = options.signal || null;
      }
    }
    return { fetch, Headers, Request, Response, AbortController, AbortSignal, URLSearchParams };
  }
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
  function hasher(algorithm, key) {
    let data = '';
    let done = false;
    const hash = {
      update: function update(chunk) {
        if (done) throw new ErrorType('Digest already called');
        data += StringType(chunk);
        return hash;
      },
      digest: function digest(encoding) {
        if (done) throw new ErrorType('Digest already called');
        done = true;
        const out = digestNative(StringType(algorithm).toLowerCase(), key, data, encoding === undefined ? 'hex' : StringType(encoding));
        if (out === null || out === undefined) {
          throw new ErrorType('Sigil supports sha1, sha256, sha384 and sha512 digests in hex, base64 or base64url, as strings');
        }
        return out;
      },
    };
    return hash;
  }
  function randomUUID() {
    const hex = randomHex(16);
    const variant = ((parseInt(hex[16], 16) & 3) | 8).toString(16);
    return hex.substring(0, 8) + '-' + hex.substring(8, 12) + '-4' + hex.substring(13, 16) + '-' +
      variant + hex.substring(17, 20) + '-' + hex.substring(20, 32);
  }
  // Built when first required: most Actions require nothing, and this runs for every Action.
  const makeCrypto = () => freeze({
    createHash: function createHash(algorithm) { return hasher(algorithm, null); },
    createHmac: function createHmac(algorithm, key) { return hasher(algorithm, StringType(key)); },
    randomUUID: randomUUID,
    randomBytes: function randomBytes(size) {
      const hex = randomHex(size >>> 0);
      return freeze({ length: size >>> 0, toString: function toString(encoding) {
        if (encoding === undefined || encoding === 'hex') return hex;
        throw new ErrorType("Sigil's randomBytes gives hex strings only: use toString('hex')");
      } });
    },
    timingSafeEqual: function timingSafeEqual(a, b) {
      const x = StringType(a);
      const y = StringType(b);
      if (x.length !== y.length) throw new RangeError('Input buffers must have the same byte length');
      let diff = 0;
      for (let i = 0; i < x.length; i++) diff |= x.charCodeAt(i) ^ y.charCodeAt(i);
      return diff === 0;
    },
  });
  const makeQuerystring = () => freeze({
    escape: function escape(text) { return encodeURIComponent(StringType(text)); },
    unescape: function unescape(text) { return decodeURIComponent(StringType(text).replace(/\+/g, ' ')); },
    stringify: function stringify(object, sep, eq) {
      if (object === null || typeof object !== 'object') return '';
      const pairs = [];
      const names = getOwnPropertyNames(object);
      for (let i = 0; i < names.length; i++) {
        const value = object[names[i]];
        const values = Array.isArray(value) ? value : [value];
        for (let j = 0; j < values.length; j++) {
          const v = values[j];
          const text = v === null || v === undefined || typeof v === 'object' ? '' : StringType(v);
          pairs.push(encodeURIComponent(names[i]) + (eq || '=') + encodeURIComponent(text));
        }
      }
      return pairs.join(sep || '&');
    },
    parse: function parse(text, sep, eq) {
      const out = {};
      if (typeof text !== 'string' || text === '') return out;
      const pieces = text.split(sep || '&');
      for (let i = 0; i < pieces.length; i++) {
        if (pieces[i] === '') continue;
        const at = pieces[i].indexOf(eq || '=');
        const decode = (part) => decodeURIComponent(part.replace(/\+/g, ' '));
        const name = decode(at < 0 ? pieces[i] : pieces[i].substring(0, at));
        const value = at < 0 ? '' : decode(pieces[i].substring(at + 1));
        if (Object.prototype.hasOwnProperty.call(out, name)) {
          out[name] = Array.isArray(out[name]) ? out[name].concat([value]) : [out[name], value];
        } else {
          out[name] = value;
        }
      }
      return out;
    },
  });
  const MODULES = { crypto: makeCrypto, querystring: makeQuerystring };
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
    stopped = true;
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
        sendUserTo: sendUserTo,
        encodeToken: encodeToken,
        validateToken: validateToken,
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
