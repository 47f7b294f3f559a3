// setTimeout and its kin, compiled when an Action first arms a timer: the host (outside.rs)
// fires them while the Action's JavaScript waits. The prelude hands it what it uses.
(function (deps) {
  'use strict';
  const { timerStart, timerClear, MapType, call, mapSet, mapGet, mapDelete, freeze, ErrorType, TypeErrorType } = deps;
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
  return { arm, disarm, fire };
})
