"""A mixed workload against a running Sigil (one node, or several behind a balancer), for a
bounded time, and a report: throughput, p50/p99 per operation, errors, and each node's RSS.

Run by scripts/load, which starts the server (or uses the cluster) and passes:
  --base URL        where requests go (the node, or the balancer)
  --issuer URL      the issuer pages and redirects name (defaults to --base)
  --admin FILE      admin-credentials.json (the Management API's machine client)
  --metrics URL...  each node's /metrics, for its resident memory
  --duration S      seconds of load (default 30)
  --users N         concurrent virtual users (default 16)

Each virtual user repeats: pick an operation by weight, run it, record its latency. The weights
(per 100 operations), and why:
  sso         12  GET /authorize with the SSO cookie -> code -> POST /oauth/token (seacft)
  login        3  the hosted page: /authorize -> /u/login -> POST /u/login (argon2id) -> code
                  exchange; rare, as real logins are (each costs a password check)
  refresh     20  POST /oauth/token grant_type=refresh_token (rotating)
  m2m         25  POST /oauth/token client_credentials (the hot path)
  userinfo    15  GET /userinfo with the last access token
  jwks        15  GET /.well-known/jwks.json (what every API fetches)
  mgmt_read    7  GET /api/v2/users?per_page=5 (a Management API read)
  mgmt_write   3  PATCH /api/v2/users/{id} app_metadata (a Management API write)
A Management API call answered 429 (its rate limit), or a /userinfo call (Auth0's limit of 5 a
minute per user), is counted as limited, not as an error.
"""

import argparse
import asyncio
import json
import random
import re
import secrets
import statistics
import sys
import time
import urllib.parse

import aiohttp

WEIGHTS = {
    "sso": 12,
    "login": 3,
    "refresh": 20,
    "m2m": 25,
    "userinfo": 15,
    "jwks": 15,
    "mgmt_read": 7,
    "mgmt_write": 3,
}
API = "https://load.sigil.test/api"
CALLBACK = "https://app.load.sigil.test/callback"
PASSWORD = "Load-test-password-1!"
USERS = 8


class Failure(Exception):
    """An answer the operation did not expect, with its HTTP status when there was one, and
    the OAuth error when the application was sent back with one."""

    def __init__(self, message, status=None, error=None):
        super().__init__(message)
        self.status = status
        self.error = error


def field(html, name):
    match = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    if not match:
        raise Failure("no %s field in the page" % name)
    return match.group(1)


def cookies_of(response):
    found = {}
    for header in response.headers.getall("set-cookie", []):
        pair = header.split(";", 1)[0]
        name, _, value = pair.partition("=")
        if value:
            found[name] = value
    return found


class Sigil:
    def __init__(self, session, base, issuer):
        self.session = session
        self.base = base
        self.issuer = issuer

    def url(self, path):
        return self.base + path.lstrip("/")

    def local(self, url):
        """An issuer URL (in a redirect) as a URL of the node or balancer used."""
        return url.replace(self.issuer, self.base, 1)

    async def json(self, method, path, expect=(200,), **kw):
        async with self.session.request(method, self.url(path), allow_redirects=False, **kw) as r:
            body = await r.text()
            if r.status not in expect:
                raise Failure("%s %s: %d %s" % (method, path, r.status, body[:200]), r.status)
            return r.status, (json.loads(body) if body else None)


async def setup(sigil, admin):
    """An API, a web application, a machine client and users, through the Management API."""
    _, token = await sigil.json(
        "POST",
        "oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": admin["client_id"],
            "client_secret": admin["client_secret"],
            "audience": admin["audience"],
        },
    )
    headers = {"authorization": "Bearer " + token["access_token"]}
    suffix = secrets.token_hex(3)
    await sigil.json(
        "POST",
        "api/v2/resource-servers",
        expect=(201,),
        headers=headers,
        json={
            "identifier": API + "/" + suffix,
            "name": "load " + suffix,
            "scopes": [{"value": "read:x", "description": "x"}],
            "allow_offline_access": True,
        },
    )
    audience = API + "/" + suffix
    _, web = await sigil.json(
        "POST",
        "api/v2/clients",
        expect=(201,),
        headers=headers,
        json={
            "name": "load web " + suffix,
            "app_type": "regular_web",
            "callbacks": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token"],
            "refresh_token": {
                "rotation_type": "rotating",
                "expiration_type": "expiring",
                "leeway": 5,
            },
        },
    )
    _, machine = await sigil.json(
        "POST",
        "api/v2/clients",
        expect=(201,),
        headers=headers,
        json={
            "name": "load m2m " + suffix,
            "app_type": "non_interactive",
            "grant_types": ["client_credentials"],
        },
    )
    await sigil.json(
        "POST",
        "api/v2/client-grants",
        expect=(201,),
        headers=headers,
        json={"client_id": machine["client_id"], "audience": audience, "scope": ["read:x"]},
    )
    users = []
    for i in range(USERS):
        email = "load-%s-%d@load.sigil.test" % (suffix, i)
        _, user = await sigil.json(
            "POST",
            "api/v2/users",
            expect=(201,),
            headers=headers,
            json={
                "email": email,
                "password": PASSWORD,
                "connection": "Username-Password-Authentication",
            },
        )
        users.append((email, user["user_id"]))
    return {
        "mgmt": headers,
        "audience": audience,
        "web": web,
        "machine": machine,
        "users": users,
    }


class VirtualUser:
    def __init__(self, sigil, fixtures, index):
        self.sigil = sigil
        self.f = fixtures
        self.email, self.user_id = fixtures["users"][index % len(fixtures["users"])]
        self.cookies = {}
        self.refresh_token = None
        self.access_token = None

    def cookie_header(self):
        return "; ".join("%s=%s" % kv for kv in self.cookies.items())

    async def get(self, url):
        async with self.sigil.session.get(
            url, allow_redirects=False, headers={"cookie": self.cookie_header()}
        ) as r:
            self.cookies.update(cookies_of(r))
            return r.status, r.headers.get("location", ""), await r.text()

    def authorize_url(self):
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.f["web"]["client_id"],
                "redirect_uri": CALLBACK,
                "scope": "openid email offline_access",
                "audience": self.f["audience"],
                "state": secrets.token_hex(4),
            }
        )
        return self.sigil.url("authorize?" + query)

    async def exchange(self, location):
        if not location.startswith(CALLBACK):
            raise Failure("not sent back to the application: %s" % location[:200])
        query = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
        if "code" not in query:
            error = query.get("error", ["?"])[0]
            raise Failure("sent back with error %s" % error, error=error)
        code = query["code"][0]
        _, tokens = await self.sigil.json(
            "POST",
            "oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "client_id": self.f["web"]["client_id"],
                "client_secret": self.f["web"]["client_secret"],
            },
        )
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens.get("refresh_token", self.refresh_token)

    async def login(self):
        self.cookies = {}
        status, location, _ = await self.get(self.authorize_url())
        if status != 302 or "/u/login" not in location:
            raise Failure("authorize: %d %s" % (status, location[:200]), status)
        status, _, page = await self.get(self.sigil.local(location))
        if status != 200:
            raise Failure("login page: %d" % status, status)
        async with self.sigil.session.post(
            self.sigil.url("u/login"),
            allow_redirects=False,
            headers={"cookie": self.cookie_header()},
            data={"tx": field(page, "tx"), "username": self.email, "password": PASSWORD},
        ) as r:
            self.cookies.update(cookies_of(r))
            if r.status != 302:
                raise Failure("login: %d %s" % (r.status, (await r.text())[:200]), r.status)
            location = r.headers["location"]
        await self.exchange(location)

    async def sso(self):
        if "sigil_session" not in self.cookies:
            return await self.login()
        status, location, _ = await self.get(self.authorize_url())
        if status != 302:
            raise Failure("sso: %d" % status, status)
        await self.exchange(location)

    async def refresh(self):
        if not self.refresh_token:
            return await self.login()
        _, tokens = await self.sigil.json(
            "POST",
            "oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                "client_id": self.f["web"]["client_id"],
                "client_secret": self.f["web"]["client_secret"],
            },
        )
        self.refresh_token = tokens.get("refresh_token", self.refresh_token)
        self.access_token = tokens["access_token"]

    async def m2m(self):
        await self.sigil.json(
            "POST",
            "oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.f["machine"]["client_id"],
                "client_secret": self.f["machine"]["client_secret"],
                "audience": self.f["audience"],
            },
        )

    async def userinfo(self):
        if not self.access_token:
            return await self.login()
        status, _ = await self.sigil.json(
            "GET",
            "userinfo",
            expect=(200, 429),
            headers={"authorization": "Bearer " + self.access_token},
        )
        return "limited" if status == 429 else None

    async def jwks(self):
        await self.sigil.json("GET", ".well-known/jwks.json")

    async def mgmt_read(self):
        status, _ = await self.sigil.json(
            "GET", "api/v2/users?per_page=5", expect=(200, 429), headers=self.f["mgmt"]
        )
        return "limited" if status == 429 else None

    async def mgmt_write(self):
        status, _ = await self.sigil.json(
            "PATCH",
            "api/v2/users/" + urllib.parse.quote(self.user_id, safe=""),
            expect=(200, 429),
            headers=self.f["mgmt"],
            json={"app_metadata": {"load": random.randint(0, 1000)}},
        )
        return "limited" if status == 429 else None


async def run_user(vu, deadline, results, rng):
    names = list(WEIGHTS)
    weights = [WEIGHTS[n] for n in names]
    while time.monotonic() < deadline:
        name = rng.choices(names, weights)[0]
        started = time.monotonic()
        outcome = "ok"
        try:
            if await getattr(vu, name)() == "limited":
                outcome = "limited"
        except (Failure, aiohttp.ClientError, asyncio.TimeoutError, KeyError) as e:
            outcome = "error"
            results["errors"].setdefault(name, []).append(str(e)[:160])
        took = time.monotonic() - started
        results["ops"].setdefault(name, {"ok": [], "error": 0, "limited": 0})
        entry = results["ops"][name]
        if outcome == "ok":
            entry["ok"].append(took)
        else:
            entry[outcome] += 1


async def rss(session, url):
    try:
        async with session.get(url) as r:
            for line in (await r.text()).splitlines():
                if line.startswith("sigil_process_resident_memory_bytes "):
                    return float(line.split()[1]) / 2**20
    except aiohttp.ClientError:
        pass
    return float("nan")


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--issuer")
    parser.add_argument("--admin", required=True)
    parser.add_argument("--metrics", nargs="*", default=[])
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    admin = json.load(open(args.admin))
    # Idle connections are dropped before the server's 10 s header timeout closes them, so a
    # request never goes out on a connection the server has just closed.
    connector = aiohttp.TCPConnector(limit=args.users * 2, keepalive_timeout=5)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        sigil = Sigil(session, args.base, args.issuer or args.base)
        fixtures = await setup(sigil, admin)
        before = [await rss(session, m) for m in args.metrics]
        rng = random.Random(7)
        results = {"ops": {}, "errors": {}}
        deadline = time.monotonic() + args.duration
        started = time.monotonic()
        users = [VirtualUser(sigil, fixtures, i) for i in range(args.users)]
        await asyncio.gather(*(run_user(vu, deadline, results, rng) for vu in users))
        elapsed = time.monotonic() - started
        after = [await rss(session, m) for m in args.metrics]

    print(
        "load %s: %d virtual users for %.1f s against %s"
        % (args.label, args.users, elapsed, args.base)
    )
    print("%-11s %8s %9s %9s %9s %7s %8s" % ("operation", "count", "per s", "p50 ms", "p99 ms", "errors", "limited"))
    total = errors = 0
    for name in WEIGHTS:
        entry = results["ops"].get(name, {"ok": [], "error": 0, "limited": 0})
        ok = entry["ok"]
        count = len(ok) + entry["error"] + entry["limited"]
        total += count
        errors += entry["error"]
        print(
            "%-11s %8d %9.1f %9.2f %9.2f %7d %8d"
            % (
                name,
                count,
                count / elapsed,
                percentile(ok, 0.5) * 1000,
                percentile(ok, 0.99) * 1000,
                entry["error"],
                entry["limited"],
            )
        )
    print("%-11s %8d %9.1f %29d" % ("all", total, total / elapsed, errors))
    for url, b, a in zip(args.metrics, before, after):
        print("rss %s: %.1f MiB before, %.1f MiB after" % (url, b, a))
    for name, samples in results["errors"].items():
        print("errors in %s (first of %d): %s" % (name, len(samples), samples[0]))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
