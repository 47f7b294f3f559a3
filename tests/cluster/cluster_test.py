"""Several Sigil nodes on one PostgreSQL, behind HAProxy: what must hold across nodes.

Run by tests/cluster/run inside scripts/cluster, which exports where the cluster is:

  SIGIL_CLUSTER_URL     the HAProxy URL, also every node's issuer (ends in '/')
  SIGIL_CLUSTER_NODES   the three nodes' URLs, space-separated
  SIGIL_CLUSTER_DATA_DIR  the data dir `sigil init` wrote admin-credentials.json to
  SIGIL_BIN, SIGIL_DATABASE_URL, SIGIL_MASTER_KEY  for the CLI (`sigil keys rotate`)

Each check talks to chosen nodes directly where the point is cross-node, and through HAProxy
otherwise. One line per check (PASS or FAIL with the reason), a summary, exit 1 on a failure.
"""

import base64
import concurrent.futures
import html
import json
import math
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse

import requests

CLUSTER = os.environ["SIGIL_CLUSTER_URL"]
NODES = os.environ["SIGIL_CLUSTER_NODES"].split()
DATA_DIR = os.environ["SIGIL_CLUSTER_DATA_DIR"]
SIGIL = os.environ["SIGIL_BIN"]
CONNECTION = "Username-Password-Authentication"
CALLBACK = "https://cluster-tests.example.com/callback"
TIMEOUT = 10  # seconds for any one HTTP request
PROPAGATION = 5.0  # the nodes' cache bound (KEYS_TTL, CACHE_TTL)
SLACK = 0.75  # polling interval and request time on a busy 2-core machine
BURST, PER_SECOND = 100, 50  # the Management API's rate limit per client

with open(os.path.join(DATA_DIR, "admin-credentials.json"), encoding="utf-8") as f:
    ADMIN = json.load(f)
MGMT_AUDIENCE = ADMIN["audience"]

assert len(NODES) == 3, NODES


def url(base, path):
    return urllib.parse.urljoin(base, path)


def token(base, client_id, client_secret, audience=MGMT_AUDIENCE):
    """A client_credentials answer from the node at `base`: (status, body)."""
    r = requests.post(
        url(base, "oauth/token"),
        json={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": audience,
        },
        timeout=TIMEOUT,
    )
    return r.status_code, r.json()


def admin_token(base=CLUSTER):
    status, body = token(base, ADMIN["client_id"], ADMIN["client_secret"])
    assert status == 200, body
    return body["access_token"]


class Mgmt:
    """The Management API with a bearer, at a chosen node (or through HAProxy)."""

    def __init__(self, bearer, base=CLUSTER):
        self.bearer, self.base = bearer, base

    def at(self, base):
        return Mgmt(self.bearer, base)

    def call(self, method, path, want, **kwargs):
        r = requests.request(
            method,
            url(self.base, "api/v2/" + path),
            headers={"authorization": f"Bearer {self.bearer}"},
            timeout=TIMEOUT,
            **kwargs,
        )
        assert r.status_code == want, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


def kid_of(jwt):
    header = jwt.split(".")[0]
    header += "=" * (-len(header) % 4)
    return json.loads(base64.urlsafe_b64decode(header))["kid"]


# --- fixtures, made once through HAProxy with the admin credentials ---

MGMT = Mgmt(admin_token())
# A digit at the end: the default policy asks for one, which a random suffix may lack.
PASSWORD = "Cluster-" + secrets.token_urlsafe(18) + "-7"
EMAIL = f"cluster-{secrets.token_hex(4)}@cluster-tests.example.com"
MGMT.call(
    "POST",
    "users",
    201,
    json={"connection": CONNECTION, "email": EMAIL, "password": PASSWORD},
)


def web_app(name, leeway):
    """A regular web application with the code and refresh grants, rotating refresh tokens."""
    return MGMT.call(
        "POST",
        "clients",
        201,
        json={
            "name": name,
            "app_type": "regular_web",
            "callbacks": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "client_secret_post",
            "refresh_token": {
                "rotation_type": "rotating",
                "expiration_type": "expiring",
                "leeway": leeway,
            },
        },
    )


def machine(name, scopes):
    """A machine-to-machine client granted `scopes` of the Management API."""
    client = MGMT.call(
        "POST",
        "clients",
        201,
        json={
            "name": name,
            "app_type": "non_interactive",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    )
    MGMT.call(
        "POST",
        "client-grants",
        201,
        json={"client_id": client["client_id"], "audience": MGMT_AUDIENCE, "scope": scopes},
    )
    return client


def login(base, app):
    """The hosted login at the node `base`: /authorize → /u/login → POST → the code."""
    s = requests.Session()
    state = secrets.token_urlsafe(8)
    r = s.get(
        url(base, "authorize"),
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "openid offline_access",
            "state": state,
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert r.status_code == 302, f"/authorize: {r.status_code} {r.text[:300]}"
    login_page = urllib.parse.urlsplit(r.headers["location"])
    assert login_page.path.endswith("/u/login"), r.headers["location"]
    # The issuer is HAProxy's URL; stay on the chosen node.
    page = url(base, "u/login?" + login_page.query)
    cookies = dict(r.cookies)
    r = s.get(page, cookies=cookies, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200, f"GET /u/login: {r.status_code} {r.text[:300]}"
    cookies.update(r.cookies)
    assert "sigil_csrf" in cookies, f"no sigil_csrf cookie: {cookies}"
    tx = re.search(r'name="tx" value="([^"]+)"', r.text)
    assert tx, "no tx field in the login form"
    r = s.post(
        url(base, "u/login"),
        data={"tx": html.unescape(tx.group(1)), "username": EMAIL, "password": PASSWORD},
        cookies=cookies,
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert r.status_code in (302, 303), f"POST /u/login: {r.status_code} {r.text[:300]}"
    back = urllib.parse.urlsplit(r.headers["location"])
    query = urllib.parse.parse_qs(back.query)
    assert back.geturl().startswith(CALLBACK) and query.get("state") == [state], back.geturl()
    return query["code"][0]


def redeem(base, app, code):
    r = requests.post(
        url(base, "oauth/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
        timeout=TIMEOUT,
    )
    return r.status_code, r.json()


def refresh(base, app, refresh_token):
    r = requests.post(
        url(base, "oauth/token"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
        timeout=TIMEOUT,
    )
    return r.status_code, r.json()


def first_refresh_token(app):
    """A fresh refresh-token family: a login at node 0 redeemed at node 1."""
    status, body = redeem(NODES[1], app, login(NODES[0], app))
    assert status == 200 and "refresh_token" in body, body
    return body["refresh_token"]


def race(calls):
    """Runs the zero-argument `calls` at once (a barrier in front of each); their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def outcome(answer):
    status, body = answer
    return f"{status} {body.get('error', 'ok')}"


def tally(answers):
    counts = {}
    for a in answers:
        counts[outcome(a)] = counts.get(outcome(a), 0) + 1
    return dict(sorted(counts.items()))


# --- the checks ---


def check_code_issued_by_one_node_is_redeemed_at_another():
    app = web_app("cluster: code across nodes", 0)
    for issuing, redeeming in [(0, 1), (1, 2), (2, 0)]:
        code = login(NODES[issuing], app)
        status, body = redeem(NODES[redeeming], app, code)
        assert status == 200, f"node {issuing} → node {redeeming}: {status} {body}"
        assert body["token_type"] == "Bearer" and "id_token" in body, body
        # Single use holds across nodes too.
        status, body = redeem(NODES[(redeeming + 1) % 3], app, code)
        assert (status, body.get("error")) == (403, "invalid_grant"), (status, body)
    return "3 codes, each issued by one node and redeemed at the next; a replay at a third refused"


def refresh_race(app, bases):
    """20 concurrent refreshes of one token spread over `bases`; (tally, answers, token)."""
    first = first_refresh_token(app)
    answers = race([lambda b=bases[i % len(bases)]: refresh(b, app, first) for i in range(20)])
    return tally(answers), answers, first


def check_refresh_rotation_within_the_leeway_on_one_node_and_across_nodes():
    app = web_app("cluster: refresh leeway 30", 30)
    results = {}
    for where, bases in [("one node", NODES[:1]), ("3 nodes", NODES)]:
        counts, answers, _ = refresh_race(app, bases)
        assert counts == {"200 ok": 20}, f"{where}: {counts}"
        successors = {body["refresh_token"] for _, body in answers}
        assert len(successors) == 1, f"{where}: {len(successors)} different successors"
        # The successor works (and is a live member of the family) at any node.
        status, body = refresh(NODES[2], app, successors.pop())
        assert status == 200, f"{where}: the successor: {status} {body}"
        results[where] = counts
    assert results["one node"] == results["3 nodes"], results
    return f"20 racers within the 30 s leeway: {results['3 nodes']} with one successor, as on one node"


def check_refresh_reuse_with_no_leeway_on_one_node_and_across_nodes():
    app = web_app("cluster: refresh leeway 0", 0)
    results = {}
    for where, bases in [("one node", NODES[:1]), ("3 nodes", NODES)]:
        counts, answers, _ = refresh_race(app, bases)
        assert counts == {"200 ok": 1, "403 invalid_grant": 19}, f"{where}: {counts}"
        (winner,) = [body for status, body in answers if status == 200]
        # The reuse revoked the family: the winner's successor is refused too, on every node.
        for base in NODES:
            status, body = refresh(base, app, winner["refresh_token"])
            assert (status, body.get("error")) == (403, "invalid_grant"), f"{where}: {status} {body}"
        results[where] = counts
    assert results["one node"] == results["3 nodes"], results
    return f"20 racers with leeway 0: {results['3 nodes']}, the family revoked, as on one node"


def poll_nodes(probe, what):
    """Polls `probe(base)` on every node until each returns true; the seconds each took."""
    start = time.monotonic()
    took = [None] * len(NODES)
    while any(t is None for t in took):
        for i, base in enumerate(NODES):
            if took[i] is None and probe(base):
                took[i] = time.monotonic() - start
        elapsed = time.monotonic() - start
        if elapsed > PROPAGATION + SLACK:
            raise AssertionError(f"{what}: nodes {[i for i, t in enumerate(took) if t is None]} "
                                 f"not there after {elapsed:.2f} s")
        time.sleep(0.1)
    return took


def check_a_key_rotated_with_the_cli_is_used_by_every_node_within_5_s():
    # Every node signs with the current key now, and has its key ring loaded.
    before = {kid_of(admin_token(base)) for base in NODES}
    assert len(before) == 1, before
    rotated = subprocess.run(
        [SIGIL, "keys", "rotate", "--alg", "RS256", "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    new_kid = json.loads(rotated.stdout)["current"]["kid"]
    assert new_kid not in before, (new_kid, before)

    def signs_with_new(base):
        return kid_of(admin_token(base)) == new_kid

    def publishes_new(base):
        jwks = requests.get(url(base, ".well-known/jwks.json"), timeout=TIMEOUT).json()
        return new_kid in {k["kid"] for k in jwks["keys"]}

    took = poll_nodes(signs_with_new, "signing with the new key")
    assert all(publishes_new(base) for base in NODES)
    worst = max(took)
    assert worst <= PROPAGATION + SLACK, took
    return f"kid {new_kid[:12]}… signs on every node after {', '.join(f'{t:.1f}' for t in took)} s"


def check_a_secret_rotated_through_one_node_is_enforced_by_the_others_within_5_s():
    client = machine("cluster: rotate me", ["read:clients"])
    old = client["client_secret"]
    # Each node has the client in its token-endpoint cache.
    for base in NODES:
        status, body = token(base, client["client_id"], old)
        assert status == 200, body
    rotated = MGMT.at(NODES[0]).call("POST", f"clients/{client['client_id']}/rotate-secret", 200)
    new = rotated["client_secret"]
    assert new != old

    def old_refused(base):
        status, body = token(base, client["client_id"], old)
        if status == 200:
            return False
        assert (status, body.get("error")) == (401, "invalid_client"), (status, body)
        return True

    took = poll_nodes(old_refused, "refusing the old secret")
    assert took[0] < 1, f"the node that rotated refused the old secret only after {took[0]:.1f} s"
    for base in NODES:
        status, body = token(base, client["client_id"], new)
        assert status == 200, f"{base}: the new secret: {status} {body}"
    return f"old secret 401 invalid_client on every node after {', '.join(f'{t:.1f}' for t in took)} s; the new one works"


def check_the_management_api_rate_limit_holds_across_the_nodes():
    client = machine("cluster: rate limit", ["read:clients"])
    bearer = token(CLUSTER, client["client_id"], client["client_secret"])[1]["access_token"]
    path = f"api/v2/clients/{client['client_id']}"
    # 80 a node: under each node's burst, so a limit per node would let every one through, while
    # the shared bucket lets through 100 and 50 a second (some 429 unless the run took > 2.8 s).
    n = 240

    def call(i):
        base = NODES[i % len(NODES)]
        r = requests.get(url(base, path), headers={"authorization": f"Bearer {bearer}"}, timeout=TIMEOUT)
        return r.status_code, r.headers

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(call, range(n)))
    elapsed = time.monotonic() - start
    statuses = [s for s, _ in answers]
    ok, limited = statuses.count(200), statuses.count(429)
    assert ok + limited == n, f"other statuses: {sorted(set(statuses))}"
    # A full bucket lets BURST through, and PER_SECOND more come back each second of the run.
    most = BURST + math.ceil(PER_SECOND * elapsed) + 1
    assert BURST <= ok <= most, f"{ok} let through in {elapsed:.2f} s (allowed {BURST}..{most})"
    for status, headers in answers:
        assert headers["x-ratelimit-limit"] == str(BURST), dict(headers)
        assert int(headers["x-ratelimit-remaining"]) <= BURST
        assert int(headers["x-ratelimit-reset"]) >= int(time.time()) - 5
    assert limited > 0, f"nothing limited in {elapsed:.2f} s: the limit is not shared"
    for status, headers in answers:
        if status == 429:
            assert headers["x-ratelimit-remaining"] == "0", dict(headers)
    return f"{n} reads over 3 nodes in {elapsed:.2f} s: {ok} × 200 (allowed {BURST}..{most}), {limited} × 429"


def check_brute_force_holds_across_two_nodes():
    """60 concurrent wrong passwords for one identifier from one address, split over two nodes:
    exactly the threshold (10) are checked and refused invalid_grant, the rest 429."""
    app = MGMT.call(
        "POST",
        "clients",
        201,
        json={
            "name": "cluster: brute force",
            "app_type": "regular_web",
            "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    )
    victim = f"victim-{secrets.token_hex(4)}@cluster-tests.example.com"
    MGMT.call(
        "POST",
        "users",
        201,
        json={"connection": CONNECTION, "email": victim, "password": PASSWORD},
    )

    def attempt(base, password):
        def call():
            r = requests.post(
                url(base, "oauth/token"),
                data={
                    "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
                    "realm": CONNECTION,
                    "username": victim,
                    "password": password,
                    "client_id": app["client_id"],
                    "client_secret": app["client_secret"],
                },
                timeout=60,
            )
            return r.status_code, r.json()

        return call

    two = NODES[:2]
    answers = race([attempt(two[i % 2], "not-the-password") for i in range(60)])
    counts = tally(answers)
    assert counts == {"403 invalid_grant": 10, "429 too_many_attempts": 50}, counts
    # Blocked on every node, the right password included.
    for base in NODES:
        status, body = attempt(base, PASSWORD)()
        assert (status, body.get("error")) == (429, "too_many_attempts"), f"{base}: {status} {body}"
    # Lifted through one node, the right password works at the others.
    MGMT.call("DELETE", "user-blocks?identifier=" + urllib.parse.quote(victim), 204)
    status, body = attempt(NODES[2], PASSWORD)()
    assert status == 200, f"after the block was lifted: {status} {body}"
    return f"60 racing wrong passwords over 2 nodes: {counts}"


CHECKS = [
    check_code_issued_by_one_node_is_redeemed_at_another,
    check_refresh_rotation_within_the_leeway_on_one_node_and_across_nodes,
    check_refresh_reuse_with_no_leeway_on_one_node_and_across_nodes,
    check_a_key_rotated_with_the_cli_is_used_by_every_node_within_5_s,
    check_a_secret_rotated_through_one_node_is_enforced_by_the_others_within_5_s,
    check_the_management_api_rate_limit_holds_across_the_nodes,
    check_brute_force_holds_across_two_nodes,
]


def main():
    print(f"cluster: {CLUSTER} (HAProxy) → {' '.join(NODES)}")
    failed = 0
    for check in CHECKS:
        name = check.__name__.removeprefix("check_").replace("_", " ")
        start = time.monotonic()
        try:
            detail = check()
            print(f"PASS {name} ({time.monotonic() - start:.1f} s): {detail}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the next check runs
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(limit=3)
    print(f"\n{len(CHECKS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
