// The checks' shared plumbing for scripts/browser-tests: one line per check (PASS or FAIL, with a
// reason), steps that depend on the ones before them, and the exit status the script reads (0 all
// passed, 1 a check failed, 2 the checks could not run).

let failed = 0;

/** The viewports every page is screenshot at (a laptop, a phone, and the narrowest phone the
 * pages must still suit); flows use the first. */
export const viewports = [
  { width: 1440, height: 900 },
  { width: 375, height: 812 },
  { width: 320, height: 640 },
];

/** Runs one check: `body` returns an optional detail or throws to fail. Returns whether it passed. */
export async function check(name, body) {
  try {
    const detail = await body();
    console.log(`PASS ${name}${detail ? ` (${detail})` : ""}`);
    return true;
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e?.message ?? e}`);
    return false;
  }
}

/**
 * Runs `steps` ([name, body] pairs) as checks, in order, each relying on the ones before it: after
 * the first failure, `onFailure(name)` runs once (a screenshot) and the remaining steps fail as
 * not run.
 */
export async function sequence(steps, onFailure) {
  let broken = null;
  for (const [name, body] of steps) {
    if (broken) {
      failed += 1;
      console.log(`FAIL ${name}: not run, as "${broken}" failed`);
    } else if (!(await check(name, body))) {
      broken = name;
      await onFailure(name).catch((e) => console.error(`(no failure screenshot: ${e.message})`));
    }
  }
}

/** Throws with `message` unless `condition` holds. */
export function expect(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

/** Runs `main`, then exits with the status the script reads. */
export function run(program, main) {
  main().then(
    () => process.exit(failed > 0 ? 1 : 0),
    (e) => {
      console.error(`${program}: could not run: ${e?.stack ?? e}`);
      process.exit(2);
    },
  );
}

/** The environment variable `name`, which the script sets. */
export function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set (run this with scripts/browser-tests)`);
  }
  return value;
}

/** The claims of a JWT, decoded without verification (the server's tests verify signatures). */
export function claims(jwt) {
  const parts = String(jwt).split(".");
  expect(parts.length === 3, `not a JWS compact token: ${String(jwt).slice(0, 40)}…`);
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

/** A file-name-safe form of a check's name. */
export function slug(text) {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60);
}
