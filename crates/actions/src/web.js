// The WHATWG family an Action's `fetch` needs, compiled only when an Action first touches one
// of its globals (compiling it for every execution would double an execution's cost). The
// prelude hands it what it uses; requests go out through the host (outside.rs, fetch.rs).
(function (deps) {
  'use strict';
  const { ErrorType, TypeErrorType, StringType, MapType, ArrayBufferType, Uint8ArrayType, fromCharCode, parse, call, mapGet, mapSet, mapDelete, fetchStart, fetchAbort, setTimeout, urlParse } = deps;
  // A response's bytes, as the host received them: an init key no Action can name.
  const BYTES = Symbol('bytes');
  const isBinary = (body) => body instanceof ArrayBufferType || ArrayBufferType.isView(body);
  // The bytes of an ArrayBuffer or a view of one (a Buffer, a typed array, a DataView), copied.
  function bytesOf(body) {
    const view = body instanceof ArrayBufferType ? new Uint8ArrayType(body) : new Uint8ArrayType(body.buffer, body.byteOffset, body.byteLength);
    return new Uint8ArrayType(view);
  }
  // Bytes as a string of one character per byte, which the host turns back into bytes.
  function latin1(bytes) {
    let text = '';
    for (let i = 0; i < bytes.length; i += 8192) text += call(fromCharCode, null, ...bytes.subarray(i, i + 8192));
    return text;
  }
  // Requests in flight: their promises' ends, settled when the host has the answer.
  const fetching = new MapType();
  let nextFetch = 1;
  function named(name, message) {
    const error = new ErrorType(message);
    error.name = name;
    return error;
  }
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
  // WHATWG's URL, parsed by the host (the `url` crate, which follows the standard); its
  // `searchParams` write through to the URL. Setters: href, pathname, search and hash.
  function parsed(input, base) {
    const json = urlParse(StringType(input), base === undefined ? undefined : StringType(base));
    if (json === null || json === undefined) {
      const error = new TypeErrorType('Invalid URL');
      error.code = 'ERR_INVALID_URL';
      error.input = StringType(input);
      throw error;
    }
    return parse(json);
  }
  const MUTATORS = ['append', 'delete', 'set', 'sort'];
  class URL {
    #parts;
    #params;
    constructor(input, base) {
      this.#parts = parsed(input !== null && typeof input === 'object' && typeof input.href === 'string' ? input.href : input, base);
    }
    static canParse(input, base) {
      try { parsed(input, base); return true; } catch (e) { return false; }
    }
    #reparse(href) {
      this.#parts = parsed(href);
      if (this.#params !== undefined) this.#params = undefined;
    }
    get href() { return this.#parts.href; }
    set href(value) { this.#reparse(value); }
    get origin() { return this.#parts.origin; }
    get protocol() { return this.#parts.protocol; }
    get username() { return this.#parts.username; }
    get password() { return this.#parts.password; }
    get host() { return this.#parts.host; }
    get hostname() { return this.#parts.hostname; }
    get port() { return this.#parts.port; }
    get pathname() { return this.#parts.pathname; }
    set pathname(value) {
      const path = StringType(value);
      this.#reparse(this.#parts.origin_part + (path[0] === '/' ? path : '/' + path) + this.#parts.search + this.#parts.hash);
    }
    get search() { return this.#parts.search; }
    set search(value) {
      const text = StringType(value);
      this.#reparse(this.#parts.prefix + (text === '' || text === '?' ? '' : text[0] === '?' ? text : '?' + text) + this.#parts.hash);
    }
    get hash() { return this.#parts.hash; }
    set hash(value) {
      const text = StringType(value);
      const search = this.#parts.search;
      this.#reparse(this.#parts.prefix + search + (text === '' || text === '#' ? '' : text[0] === '#' ? text : '#' + text));
    }
    get searchParams() {
      if (this.#params === undefined) {
        const params = new URLSearchParams(this.#parts.search);
        const url = this;
        for (let i = 0; i < MUTATORS.length; i++) {
          const original = params[MUTATORS[i]];
          Object.defineProperty(params, MUTATORS[i], {
            value: function (...args) {
              const result = call(original, params, ...args);
              const text = params.toString();
              url.#parts = parsed(url.#parts.prefix + (text === '' ? '' : '?' + text) + url.#parts.hash);
              return result;
            },
          });
        }
        this.#params = params;
      }
      return this.#params;
    }
    toString() { return this.#parts.href; }
    toJSON() { return this.#parts.href; }
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
    // The body as text, and as bytes when it came as bytes (the host gives both).
    #body;
    #bytes;
    #used = false;
    constructor(body, init) {
      const options = init || {};
      if (isBinary(body)) {
        this.#bytes = bytesOf(body);
        this.#body = null;
      } else {
        this.#body = body === undefined || body === null ? '' : StringType(body);
        this.#bytes = options[BYTES];
      }
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
      return Promise.resolve();
    }
    #text() { return this.#body !== null ? this.#body : new TextDecoder().decode(this.#bytes); }
    text() { return this.#take().then(() => this.#text()); }
    json() { return this.#take().then(() => parse(this.#text())); }
    arrayBuffer() {
      return this.#take().then(() => (this.#bytes !== undefined ? new Uint8ArrayType(this.#bytes) : new TextEncoder().encode(this.#body)).buffer);
    }
    blob() { return Promise.reject(new TypeErrorType("Sigil's fetch has no Blob: use arrayBuffer() or text()")); }
    clone() {
      if (this.#used) throw new TypeErrorType('Response.clone: Body has already been consumed.');
      const init = { status: this.status, statusText: this.statusText, headers: this.headers, url: this.url, redirected: this.redirected, [BYTES]: this.#bytes };
      return new Response(this.#body === null ? this.#bytes : this.#body, init);
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
    if (isBinary(body)) return { bytes: latin1(bytesOf(body)) };
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
      const binary = body !== null && typeof body === 'object';
      fetchStart(id, method, StringType(url), [...headers.entries()], binary ? body.bytes : body, binary, StringType(options.redirect || 'follow'));
    });
  }
  class Request {
    constructor(input, init) {
      const options = init || {};
      this.url = typeof input === 'object' && input !== null && typeof input.url === 'string' ? input.url : typeof input === 'object' && input !== null && typeof input.href === 'string' ? input.href : StringType(input);
      this.method = StringType(options.method || 'GET').toUpperCase();
      this.headers = new Headers(options.headers);
      this.body = options.body === undefined ? null : options.body;
      this.signal = options.signal || null;
    }
  }
  function settle(id, error, reply, body, bytes) {
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
    const response = new Response(body, { status: meta.status, statusText: meta.statusText, headers: meta.headers, url: meta.url, redirected: meta.redirected, [BYTES]: new Uint8ArrayType(bytes) });
    pending.resolve(response);
  }
  return { fetch, Headers, Request, Response, AbortController, AbortSignal, URLSearchParams, URL, settle };
})
