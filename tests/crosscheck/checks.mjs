// The checks' shared plumbing for scripts/guard-crosscheck: one line per check (PASS or FAIL,
// with a reason), and the exit status the script reads (0 all passed, 1 a check failed, 2 the
// checks could not run).

let failed = 0;

/** Runs one check: `body` returns an optional detail or throws to fail. */
export async function check(name, body) {
  try {
    const detail = await body();
    console.log(`PASS ${name}${detail ? ` (${detail})` : ""}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e?.message ?? e}`);
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
    throw new Error(`${name} is not set (run this with scripts/guard-crosscheck)`);
  }
  return value;
}

/**
 * The token with one character of its payload changed after signing: the first of `sub`'s value.
 * The payload stays well-formed JSON, so only the signature can give the forgery away.
 */
export function tamper(token) {
  const [header, payload, signature] = token.split(".");
  const text = Buffer.from(payload, "base64url").toString("utf8");
  const at = text.indexOf('"sub":"') + '"sub":"'.length;
  if (at < '"sub":"'.length) {
    throw new Error(`the token has no sub to change: ${text}`);
  }
  const forged = text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
  return [header, Buffer.from(forged, "utf8").toString("base64url"), signature].join(".");
}
