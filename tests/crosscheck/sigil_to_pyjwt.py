"""Sigil's access tokens checked by PyJWT (with `cryptography`), a verifier nobody here wrote.

Run by scripts/guard-crosscheck with the same environment as sigil-to-node.mjs:
CROSSCHECK_ISSUER, and CROSSCHECK_{RS256,PS256,ES256}_{AUDIENCE,TOKEN}. The keys come from Sigil's
JWKS through PyJWKClient, chosen by the token's `kid`; `jwt.decode` checks the signature, `iss`,
`aud` and `exp`. Prints one PASS or FAIL line per check; exits 0 when all passed, 1 when one
failed, 2 when the checks could not run.
"""

from __future__ import annotations

import base64
import os
import sys
import traceback

import jwt
from jwt import PyJWKClient

OTHER_AUDIENCE = "https://elsewhere.crosscheck.sigil.test/api"

failed = 0


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        print(f"sigil_to_pyjwt: {name} is not set (run this with scripts/guard-crosscheck)", file=sys.stderr)
        sys.exit(2)
    return value


def check(name: str, body) -> None:
    global failed
    try:
        detail = body()
    except Exception as e:  # noqa: BLE001 — any failure is this check's failure
        failed += 1
        print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    else:
        print(f"PASS {name}" + (f" ({detail})" if detail else ""), flush=True)


def tamper(token: str) -> str:
    """The token with the first character of `sub`'s value changed after signing (as checks.mjs
    does): the payload stays well-formed JSON, so only the signature can give it away."""
    header, payload, signature = token.split(".")
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    at = text.index('"sub":"') + len('"sub":"')
    forged = text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :]
    encoded = base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")
    return ".".join([header, encoded, signature])


def refused(decode, error: type[Exception]) -> str:
    try:
        decode()
    except error as e:
        return f"{type(e).__name__}: {e}"
    raise AssertionError(f"the token was accepted, not refused with {error.__name__}")


def main() -> None:
    issuer = env("CROSSCHECK_ISSUER")
    client = PyJWKClient(f"{issuer}.well-known/jwks.json")

    def decode(token: str, alg: str, audience: str) -> dict:
        key = client.get_signing_key_from_jwt(token)
        return jwt.decode(token, key, algorithms=[alg], audience=audience, issuer=issuer)

    # Each check runs at once, inside this iteration, so the closures see this iteration's values.
    for alg in ("RS256", "PS256", "ES256"):
        audience, token = env(f"CROSSCHECK_{alg}_AUDIENCE"), env(f"CROSSCHECK_{alg}_TOKEN")

        def accepted() -> str:
            claims = decode(token, alg, audience)
            assert "read:messages" in claims.get("scope", "").split(), f"scope is {claims.get('scope')!r}"
            return f"kid {jwt.get_unverified_header(token).get('kid')}, sub {claims['sub']}"

        check(f"PyJWT decodes Sigil's {alg} token with PyJWKClient", accepted)
        check(
            f"PyJWT refuses Sigil's {alg} token for another audience",
            lambda: refused(lambda: decode(token, alg, OTHER_AUDIENCE), jwt.InvalidAudienceError),
        )
        check(
            f"PyJWT refuses Sigil's {alg} token with its payload tampered",
            lambda: refused(lambda: decode(tamper(token), alg, audience), jwt.InvalidSignatureError),
        )

    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    try:
        main()
    except Exception:  # noqa: BLE001 — outside a check, any failure means the checks could not run
        traceback.print_exc()
        sys.exit(2)
