// `require('axios')`: the part of axios (1.x) Actions use, over Sigil's `fetch` (so under the
// same egress allow-lists, time and size caps), loaded when an Action first requires it.
// Supported: axios(config) and axios(url, config); request, get, delete, head, options, post,
// put, patch; create(defaults) and `defaults`; the config's url, baseURL, method, headers,
// params (an object or URLSearchParams), data (an object as JSON, a string, URLSearchParams as
// a form, bytes as they are), timeout, auth, responseType ('json', the default, 'text', or
// 'arraybuffer' for a Buffer), validateStatus and signal; responses { data, status,
// statusText, headers, config }; errors as AxiosError with `code` (ERR_BAD_REQUEST,
// ERR_BAD_RESPONSE, ECONNABORTED, ERR_NETWORK, ERR_CANCELED) and the `response` when one came;
// isAxiosError. Not supported: interceptors, adapters, transforms, upload or download
// progress, proxies; using one throws saying so.
(function (deps) {
  'use strict';
  const { web, setTimeout, clearTimeout, freeze, StringType, ErrorType, TypeErrorType, getOwnPropertyNames, stringify, parse } = deps;

  class AxiosError extends ErrorType {
    constructor(message, code, config, response) {
      super(message);
      this.name = 'AxiosError';
      this.code = code;
      this.config = config;
      this.response = response;
      this.status = response ? response.status : undefined;
      this.isAxiosError = true;
    }
    toJSON() {
      return { name: this.name, message: this.message, code: this.code, status: this.status };
    }
  }

  const NOT_SUPPORTED = ['adapter', 'transformRequest', 'transformResponse', 'onUploadProgress', 'onDownloadProgress', 'proxy', 'httpAgent', 'httpsAgent'];

  function own(object) {
    return object !== null && typeof object === 'object' ? object : {};
  }
  function lowerKeys(headers) {
    const out = {};
    const names = getOwnPropertyNames(own(headers));
    for (let i = 0; i < names.length; i++) {
      const value = headers[names[i]];
      if (value !== undefined && value !== null && typeof value !== 'object') out[names[i].toLowerCase()] = StringType(value);
    }
    return out;
  }
  // Defaults, then the call's config; headers merged name by name (case-insensitively).
  function merge(defaults, config) {
    const merged = Object.assign({}, own(defaults), own(config));
    merged.headers = Object.assign(lowerKeys(own(defaults).headers), lowerKeys(own(config).headers));
    return merged;
  }
  function fullUrl(config) {
    let url = config.url === undefined ? '' : StringType(config.url);
    if (config.baseURL !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
      url = StringType(config.baseURL).replace(/\/+$/, '') + (url === '' ? '' : '/' + url.replace(/^\/+/, ''));
    }
    const { URLSearchParams } = web();
    let query = '';
    if (config.params instanceof URLSearchParams) {
      query = config.params.toString();
    } else if (config.params !== null && typeof config.params === 'object') {
      const search = new URLSearchParams();
      const names = getOwnPropertyNames(config.params);
      for (let i = 0; i < names.length; i++) {
        const value = config.params[names[i]];
        if (value === undefined || value === null) continue;
        const values = Array.isArray(value) ? value : [value];
        for (let j = 0; j < values.length; j++) {
          const v = values[j];
          search.append(Array.isArray(value) ? names[i] + '[]' : names[i], v instanceof Date ? v.toISOString() : typeof v === 'object' ? stringify(v) : StringType(v));
        }
      }
      query = search.toString();
    }
    if (query !== '') {
      const hash = url.indexOf('#');
      if (hash >= 0) url = url.substring(0, hash);
      url += (url.indexOf('?') >= 0 ? '&' : '?') + query;
    }
    return url;
  }
  function body(config, headers) {
    const data = config.data;
    if (data === undefined || data === null) return undefined;
    const { URLSearchParams } = web();
    if (typeof data === 'string') return data;
    if (data instanceof URLSearchParams) {
      if (headers['content-type'] === undefined) headers['content-type'] = 'application/x-www-form-urlencoded;charset=utf-8';
      return data.toString();
    }
    // Bytes (a Buffer, a typed array, an ArrayBuffer) go as they are, as in Node's axios.
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data;
    if (headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    return stringify(data);
  }
  function validateStatus(status) {
    return status >= 200 && status < 300;
  }

  async function request(defaults, config) {
    const merged = merge(defaults, config);
    for (let i = 0; i < NOT_SUPPORTED.length; i++) {
      if (merged[NOT_SUPPORTED[i]] !== undefined) {
        throw new TypeErrorType('axios ' + NOT_SUPPORTED[i] + ' is not supported by Sigil');
      }
    }
    const method = StringType(merged.method || 'get').toUpperCase();
    merged.method = method.toLowerCase();
    const headers = Object.assign({ accept: 'application/json, text/plain, */*' }, merged.headers);
    if (merged.auth !== undefined && merged.auth !== null) {
      headers.authorization = 'Basic ' + btoa(StringType(merged.auth.username || '') + ':' + StringType(merged.auth.password || ''));
    }
    const sent = body(merged, headers);
    const { fetch, AbortController } = web();
    const controller = new AbortController();
    let timedOut = false;
    let timer;
    const timeout = Number(merged.timeout) || 0;
    if (timeout > 0) {
      timer = setTimeout(() => { timedOut = true; controller.abort(); }, timeout);
    }
    const outer = merged.signal;
    if (outer && typeof outer.addEventListener === 'function') {
      if (outer.aborted) controller.abort();
      else outer.addEventListener('abort', () => controller.abort());
    }
    let response;
    try {
      response = await fetch(fullUrl(merged), { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : sent, signal: controller.signal });
    } catch (e) {
      if (timedOut) throw new AxiosError('timeout of ' + timeout + 'ms exceeded', 'ECONNABORTED', merged);
      if (controller.signal.aborted) throw new AxiosError('canceled', 'ERR_CANCELED', merged);
      throw new AxiosError(e && e.message ? e.message : 'Network Error', 'ERR_NETWORK', merged);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    let data;
    if (merged.responseType === 'arraybuffer') {
      // Node's axios answers a Buffer.
      data = Buffer.from(method === 'HEAD' ? new ArrayBuffer(0) : await response.arrayBuffer());
    } else {
      const text = method === 'HEAD' ? '' : await response.text();
      data = text;
      if (merged.responseType === undefined || merged.responseType === 'json') {
        try { data = text === '' ? text : parse(text); } catch (e) { data = text; }
      }
    }
    const responseHeaders = {};
    response.headers.forEach((value, name) => { responseHeaders[name] = value; });
    const answer = { data, status: response.status, statusText: response.statusText, headers: responseHeaders, config: merged, request: {} };
    const valid = typeof merged.validateStatus === 'function' ? merged.validateStatus : merged.validateStatus === null ? null : validateStatus;
    if (valid !== null && !valid(response.status)) {
      const code = response.status >= 400 && response.status < 500 ? 'ERR_BAD_REQUEST' : 'ERR_BAD_RESPONSE';
      throw new AxiosError('Request failed with status code ' + response.status, code, merged, answer);
    }
    return answer;
  }

  function instance(defaults) {
    const axios = function axios(urlOrConfig, config) {
      return typeof urlOrConfig === 'string'
        ? request(axios.defaults, Object.assign({}, own(config), { url: urlOrConfig }))
        : request(axios.defaults, urlOrConfig);
    };
    axios.defaults = merge({ timeout: 0 }, defaults);
    axios.request = function (config) { return request(axios.defaults, config); };
    for (const method of ['get', 'delete', 'head', 'options']) {
      axios[method] = function (url, config) { return request(axios.defaults, Object.assign({}, own(config), { url, method })); };
    }
    for (const method of ['post', 'put', 'patch']) {
      axios[method] = function (url, data, config) { return request(axios.defaults, Object.assign({}, own(config), { url, method, data })); };
    }
    axios.create = function create(more) { return instance(merge(axios.defaults, more)); };
    axios.isAxiosError = function isAxiosError(value) { return value !== null && typeof value === 'object' && value.isAxiosError === true; };
    axios.AxiosError = AxiosError;
    axios.default = axios;
    return axios;
  }
  return freeze(instance({}));
})
