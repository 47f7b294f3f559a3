// The pre-user-registration trigger's api, compiled for its executions only. The prelude
// hands it what it uses; calls are recorded as commands through `record`.
(function (deps) {
  'use strict';
  const { record, stop, metadataSetter, cache, StringType } = deps;
  return {
    access: {
      deny: function deny(reason, userMessage) {
        record('access.deny', [StringType(reason), userMessage === undefined ? null : StringType(userMessage)]);
        stop();
      },
    },
    user: { setAppMetadata: metadataSetter('setAppMetadata'), setUserMetadata: metadataSetter('setUserMetadata') },
    validation: {
      error: function error(code, message) { record('validation.error', [StringType(code), StringType(message)]); stop(); },
    },
    cache: cache,
  };
})
