"""scripts/import-10k: 10,000 users in Auth0's bulk-import format with mixed password hashes,
imported into a running Sigil with `sigil users import`, then each user logs in with a wrong
password (refused) and with the right one (accepted, and re-hashed to argon2id by Sigil).

    python import_10k.py make FILE COUNT          writes the import file and FILE.passwords
    python import_10k.py login URL CLIENT_ID SECRET FILE.passwords   drives the logins

Hash formats, a fifth of the users each: bcrypt (cost 4), argon2id (low cost), PBKDF2-SHA256
(PHC string), SHA-256 with a prefix salt, MD5 (unsalted). Low costs keep the run short; the
server's own argon2id re-hash on login is at its full (OWASP) cost.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import statistics
import sys
import time
import urllib.error
import urllib.request

import argon2
import bcrypt

FORMATS = ["bcrypt", "argon2", "pbkdf2", "sha256", "md5"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def entry(i: int, password: str) -> dict:
    kind = FORMATS[i % len(FORMATS)]
    user = {"email": f"user{i:05d}@import.example.com", "email_verified": True, "name": f"User {i}"}
    if kind == "bcrypt":
        user["password_hash"] = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    elif kind == "argon2":
        hasher = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        user["custom_password_hash"] = {"algorithm": "argon2", "hash": {"value": hasher.hash(password)}}
    elif kind == "pbkdf2":
        salt = f"salt{i}".encode()
        derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000, 32)
        value = f"$pbkdf2-sha256$i=1000,l=32${b64(salt)}${b64(derived)}"
        user["custom_password_hash"] = {"algorithm": "pbkdf2", "hash": {"value": value}}
    elif kind == "sha256":
        salt = f"pepper{i}"
        digest = hashlib.sha256((salt + password).encode()).hexdigest()
        user["custom_password_hash"] = {
            "algorithm": "sha256",
            "hash": {"value": digest, "encoding": "hex"},
            "salt": {"value": salt, "position": "prefix"},
        }
    else:
        user["custom_password_hash"] = {"algorithm": "md5", "hash": {"value": hashlib.md5(password.encode()).hexdigest()}}
    return user


def make(path: str, count: int) -> None:
    started = time.monotonic()
    passwords = [f"Imported-{i}-Pass!" for i in range(count)]
    users = [entry(i, p) for i, p in enumerate(passwords)]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(users, f)
    with open(path + ".passwords", "w", encoding="utf-8") as f:
        json.dump([[u["email"], p, FORMATS[i % len(FORMATS)]] for i, (u, p) in enumerate(zip(users, passwords))], f)
    print(f"made {count} users in {time.monotonic() - started:.1f} s")


def token(url: str, client_id: str, secret: str, email: str, password: str) -> int:
    body = json.dumps({
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "realm": "Username-Password-Authentication",
        "client_id": client_id,
        "client_secret": secret,
        "username": email,
        "password": password,
    }).encode()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def login(url: str, client_id: str, secret: str, path: str) -> int:
    with open(path, encoding="utf-8") as f:
        users = json.load(f)

    def one(user):
        email, password, kind = user
        began = time.monotonic()
        wrong = token(url, client_id, secret, email, password + "x")
        right = token(url, client_id, secret, email, password)
        again = token(url, client_id, secret, email, password)
        return kind, wrong, right, again, time.monotonic() - began

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, users))
    elapsed = time.monotonic() - started
    bad = [(k, w, r, a) for k, w, r, a, _ in results if (w, r, a) != (403, 200, 200)]
    print(f"logins: {len(results)} users x (wrong, right, right again) = {3 * len(results)} requests in {elapsed:.1f} s "
          f"({3 * len(results) / elapsed:.0f} req/s, median {statistics.median(t for *_, t in results) * 1000:.0f} ms per user)")
    for kind in FORMATS:
        mine = [r for r in results if r[0] == kind]
        ok = sum(1 for _, w, r, a, _ in mine if (w, r, a) == (403, 200, 200))
        print(f"  {kind:<7} {ok}/{len(mine)} refused the wrong password, accepted the right one, and again after the re-hash")
    if bad:
        print(f"FAIL: {len(bad)} users did not behave; first: {bad[:3]}")
        return 1
    print("every imported user logs in with the right password and not with a wrong one")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "login":
        sys.exit(login(*sys.argv[2:6]))
    else:
        sys.exit("usage: import_10k.py make FILE COUNT | login URL CLIENT_ID SECRET FILE.passwords")
