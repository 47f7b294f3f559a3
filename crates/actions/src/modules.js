// The built-in modules `require` gives (MODULES in lib.rs), made when an Action first
// requires one (axios is a part of its own, axios.js). The prelude hands it what it uses.
(function (deps) {
  'use strict';
  const { freeze, StringType, ErrorType, getOwnPropertyNames, digestNative, randomHex, makeAxios, makeBuffer } = deps;
  function randomUUID() {
    const hex = randomHex(16);
    const variant = ((parseInt(hex[16], 16) & 3) | 8).toString(16);
    return hex.substring(0, 8) + '-' + hex.substring(8, 12) + '-4' + hex.substring(13, 16) + '-' +
      variant + hex.substring(17, 20) + '-' + hex.substring(20, 32);
  }
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
  const MODULES = { axios: makeAxios, buffer: makeBuffer, crypto: makeCrypto, querystring: makeQuerystring };
  const made = {};
  function require(name) {
    const wanted = StringType(name);
    const bare = wanted.indexOf('node:') === 0 ? wanted.substring(5) : wanted;
    if (Object.prototype.hasOwnProperty.call(MODULES, bare)) {
      if (!Object.prototype.hasOwnProperty.call(made, bare)) made[bare] = MODULES[bare]();
      return made[bare];
    }
    throw new ErrorType("Cannot find module '" + wanted + "': Sigil offers Actions the built-in modules axios, buffer, crypto and querystring only, and no npm packages");
  }
  return { require, randomUUID };
})
