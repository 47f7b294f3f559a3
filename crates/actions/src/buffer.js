// Node's `Buffer` (the part Actions use: text in and out of utf8, base64, base64url, hex and
// latin1), and WHATWG's `TextEncoder` and `TextDecoder` (UTF-8), loaded when an Action first
// touches one of them. A Buffer is a Uint8Array, as Node's.
(function (deps) {
  'use strict';
  const { StringType, TypeErrorType, freeze } = deps;
  const ENCODINGS = ['utf8', 'utf-8', 'base64', 'base64url', 'hex', 'latin1', 'binary', 'ascii'];

  function encoding(name) {
    const wanted = name === undefined || name === null ? 'utf8' : StringType(name).toLowerCase();
    if (ENCODINGS.indexOf(wanted) < 0) throw new TypeErrorType('Unknown encoding: ' + StringType(name));
    return wanted === 'utf-8' ? 'utf8' : wanted === 'binary' ? 'latin1' : wanted;
  }
  // UTF-8 of `text`; a lone surrogate becomes U+FFFD, as Node and WHATWG do.
  function utf8Bytes(text) {
    const out = [];
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        const next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return out;
  }
  // Text of UTF-8 `bytes`; each byte of an invalid sequence becomes U+FFFD.
  function utf8Text(bytes) {
    let text = '';
    for (let i = 0; i < bytes.length;) {
      const b = bytes[i];
      const need = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
      let c = need === 0 ? b : need === 1 ? b & 31 : need === 2 ? b & 15 : b & 7;
      let ok = need >= 0;
      for (let k = 1; ok && k <= need; k++) {
        const next = bytes[i + k];
        if (next === undefined || (next & 0xc0) !== 0x80) ok = false;
        else c = (c << 6) | (next & 63);
      }
      if (ok && ((need === 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (need === 3 && (c < 0x10000 || c > 0x10ffff)))) ok = false;
      if (!ok) { text += '\ufffd'; i += 1; continue; }
      text += String.fromCodePoint(c);
      i += need + 1;
    }
    return text;
  }
  function latin1Text(bytes) {
    let text = '';
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return text;
  }
  function bytesOf(text, name) {
    switch (encoding(name)) {
      case 'utf8': return utf8Bytes(text);
      case 'latin1': case 'ascii': {
        const out = [];
        for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i) & 255);
        return out;
      }
      case 'hex': {
        const out = [];
        for (let i = 0; i + 1 < text.length; i += 2) {
          const byte = parseInt(text.substring(i, i + 2), 16);
          if (Number.isNaN(byte)) break;
          out.push(byte);
        }
        return out;
      }
      default: {
        // Lenient, as Node: base64 and base64url alike, padding optional, the rest ignored.
        let clean = text.replace(/-/g, '+').replace(/_/g, '/').replace(/[^A-Za-z0-9+/]/g, '');
        if (clean.length % 4 === 1) clean = clean.substring(0, clean.length - 1);
        while (clean.length % 4 !== 0) clean += '=';
        const raw = atob(clean);
        const out = [];
        for (let i = 0; i < raw.length; i++) out.push(raw.charCodeAt(i));
        return out;
      }
    }
  }

  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === 'string') return new Buffer(bytesOf(value, encodingOrOffset));
      if (value instanceof ArrayBuffer) return new Buffer(new Uint8Array(value, encodingOrOffset || 0, length));
      if (value !== null && typeof value === 'object' && (ArrayBuffer.isView(value) || Array.isArray(value) || typeof value.length === 'number')) {
        return new Buffer(Array.from(value, (b) => b & 255));
      }
      if (value !== null && typeof value === 'object' && value.type === 'Buffer' && Array.isArray(value.data)) return new Buffer(value.data);
      throw new TypeErrorType('The first argument must be a string, a Buffer, an ArrayBuffer, an Array or an array-like object');
    }
    static alloc(size, fill) {
      const buffer = new Buffer(size >>> 0);
      if (fill !== undefined) buffer.fill(typeof fill === 'string' ? (bytesOf(fill)[0] || 0) : fill);
      return buffer;
    }
    static isBuffer(value) { return value instanceof Buffer; }
    static isEncoding(name) { return typeof name === 'string' && ENCODINGS.indexOf(name.toLowerCase()) >= 0; }
    static byteLength(value, name) {
      return typeof value === 'string' ? bytesOf(value, name).length : value.byteLength;
    }
    static concat(list, total) {
      const length = total === undefined ? list.reduce((n, b) => n + b.length, 0) : total;
      const out = new Buffer(length);
      let at = 0;
      for (let i = 0; i < list.length && at < length; i++) {
        const part = list[i].subarray(0, length - at);
        out.set(part, at);
        at += part.length;
      }
      return out;
    }
    toString(name, start, end) {
      const bytes = this.subarray(start || 0, end === undefined ? this.length : end);
      switch (encoding(name)) {
        case 'utf8': return utf8Text(bytes);
        case 'latin1': return latin1Text(bytes);
        case 'ascii': return latin1Text(bytes.map((b) => b & 127));
        case 'hex': return Array.from(bytes, (b) => (b < 16 ? '0' : '') + b.toString(16)).join('');
        case 'base64': return btoa(latin1Text(bytes));
        default: return btoa(latin1Text(bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      }
    }
    equals(other) {
      if (this.length !== other.length) return false;
      for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
      return true;
    }
    toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
  }

  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(text) { return new Uint8Array(utf8Bytes(text === undefined ? '' : StringType(text))); }
  }
  class TextDecoder {
    #fatal;
    constructor(label, options) {
      const name = label === undefined ? 'utf-8' : StringType(label).toLowerCase();
      if (name !== 'utf-8' && name !== 'utf8') throw new RangeError("Sigil's TextDecoder decodes utf-8 only");
      this.#fatal = !!(options && options.fatal);
    }
    get encoding() { return 'utf-8'; }
    decode(input) {
      if (input === undefined) return '';
      const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
      const text = utf8Text(bytes);
      if (this.#fatal && text.indexOf('\ufffd') >= 0 && utf8Bytes(text).length !== bytes.length) {
        throw new TypeErrorType('The encoded data was not valid for encoding utf-8');
      }
      return text;
    }
  }
  return freeze({ Buffer, TextEncoder, TextDecoder });
})
