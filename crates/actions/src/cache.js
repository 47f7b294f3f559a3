// api.cache's get, set and delete over the host's records (cache.rs, which holds the limits),
// compiled when an Action first uses the cache. The prelude hands it what it uses.
(function (deps) {
  'use strict';
  const { cacheGet, cacheSet, cacheDelete, cacheDefaultMs, nowMs, StringType, parse } = deps;
  return {
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
  };
})
