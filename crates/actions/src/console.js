// console, captured and capped at logLimit characters: compiled when an Action first touches
// it. The prelude hands it what it uses and reads the text back at the end.
(function (deps) {
  'use strict';
  const { stringify, StringType, ErrorType, freeze, logLimit } = deps;
  let logs = '';
  let logsFull = false;
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
  return {
    console: freeze({ log: log, info: log, warn: log, error: log, debug: log, trace: log }),
    text: () => logs,
  };
})
