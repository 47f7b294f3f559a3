"""Faults three nodes on one PostgreSQL survive, under a steady mixed load (issue 14, section 8).

Run by scripts/faults inside scripts/cluster (SIGIL_CLUSTER_FAULTS=1, nodes draining for 3 s),
with the workload of tests/load/load.py (its weights, plus Management API user creations whose
201s are the acknowledged writes) running through HAProxy during each case:

  kill      `kill -9` one node. Requests in flight to it may fail (HAProxy never replays a
            request it has sent), as may one sent over a kept-alive connection to it in the
            moment before HAProxy sees it closed (within 1 s); every request started later
            succeeds. The node is
            started again and rejoins. Every user created and every refresh token acknowledged
            before the kill still works.
  database  PostgreSQL stopped for 10 s. Every answer is a success or a 503 (for the hosted
            login: the application sent back `temporarily_unavailable`); a node asked directly
            answers its Management API and hosted pages 503 with Retry-After; each node's
            /readyz is 503 while the database is down and 200 within 5 s of its return; every
            request started 5 s after its return succeeds. No node is restarted.
  drain     SIGTERM to one node. Its /readyz is 503 at once, no request fails (those in flight
            finish, HAProxy moves to the others), and the process exits within 10 s.

One line per case (PASS or FAIL with figures), exit 1 when a case failed.
"""

import asyncio
import dataclasses
import functools
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

import aiohttp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "load"))
import load  # noqa: E402  (the workload, shared with scripts/load)

CLUSTER = os.environ["SIGIL_CLUSTER_URL"]
NODES = os.environ["SIGIL_CLUSTER_NODES"].split()
PIDS = [int(p) for p in os.environ["SIGIL_CLUSTER_PIDS"].split()]
LOGS = os.environ["SIGIL_CLUSTER_LOGS"]
DATA_DIR = os.environ["SIGIL_CLUSTER_DATA_DIR"]
SIGIL = os.environ["SIGIL_BIN"]
DATABASE_URL = os.environ["SIGIL_DATABASE_URL"]
PG_CTL = os.environ["SIGIL_TEST_PG_CTL"]
DRAIN = int(os.environ.get("SIGIL_CLUSTER_DRAIN_SECONDS", "3"))

VIRTUAL_USERS = 12
WEIGHTS = dict(load.WEIGHTS, create_user=4)
OUTAGE = 10.0  # seconds PostgreSQL stays down
RECOVERY = 5.0  # seconds within which every node serves again
EXIT_WITHIN = 10.0  # seconds a drained node may take to exit
KILL_NOTICED = 1.0  # seconds HAProxy may take to notice its connections to a killed node closed


@dataclasses.dataclass
class Record:
    op: str
    started: float
    ended: float
    ok: bool
    status: object = None  # the HTTP status of a failure, when there was an answer
    error: object = None  # the OAuth error the application was sent back with
    message: str = ""

    def outage_answer(self):
        """A 503 (or the application told `temporarily_unavailable`): what an outage may cause."""
        return self.status == 503 or self.error == "temporarily_unavailable"


class FaultUser(load.VirtualUser):
    """A virtual user who also creates users: the writes that must survive."""

    def __init__(self, sigil, fixtures, index, created):
        super().__init__(sigil, fixtures, index)
        self.created = created

    async def create_user(self):
        status, user = await self.sigil.json(
            "POST",
            "api/v2/users",
            expect=(201, 429),
            headers=self.f["mgmt"],
            json={
                "email": "faults-%s@faults.sigil.test" % secrets.token_hex(6),
                "password": load.PASSWORD,
                "connection": "Username-Password-Authentication",
            },
        )
        if status == 429:
            return "limited"
        self.created.append(user["user_id"])


class Load:
    """The mixed workload through HAProxy, until stopped; every operation is recorded."""

    def __init__(self, session, fixtures, created, seed):
        sigil = load.Sigil(session, CLUSTER, CLUSTER)
        self.users = [FaultUser(sigil, fixtures, i, created) for i in range(VIRTUAL_USERS)]
        self.records = []
        self.stopping = asyncio.Event()
        self.rng = random.Random(seed)
        self.tasks = [asyncio.create_task(self.run(vu)) for vu in self.users]

    async def run(self, vu):
        names = list(WEIGHTS)
        weights = [WEIGHTS[n] for n in names]
        while not self.stopping.is_set():
            name = self.rng.choices(names, weights)[0]
            started = time.monotonic()
            record = Record(name, started, started, True)
            try:
                await getattr(vu, name)()
            except load.Failure as e:
                record.ok, record.status, record.error, record.message = False, e.status, e.error, str(e)
            except (aiohttp.ClientError, asyncio.TimeoutError, KeyError) as e:
                record.ok, record.message = False, repr(e)
            record.ended = time.monotonic()
            self.records.append(record)
            if not record.ok:
                if name == "refresh":
                    # Whether it was rotated is unknown: it is not checked afterwards.
                    vu.refresh_token = None
                await asyncio.sleep(0.05)

    async def stop(self):
        self.stopping.set()
        await asyncio.gather(*self.tasks)
        return self.records


def failures(records):
    return [r for r in records if not r.ok]


def sample(records, n=3):
    return "; ".join("%s: %s" % (r.op, r.message[:140]) for r in records[:n])


async def status_of(session, url, **kw):
    try:
        async with session.get(url, allow_redirects=False, **kw) as r:
            await r.read()
            return r.status, r.headers
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return None, {}


async def wait_ready(session, node, limit):
    """Seconds until `node`'s /readyz answers 200, or None after `limit`."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        status, _ = await status_of(session, node + "readyz")
        if status == 200:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return None


def exited(pid):
    """Whether `pid` has exited (a zombie waiting for scripts/cluster to reap it counts)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def verify_writes(sigil, fixtures, created, users):
    """Every acknowledged user can be read back; every acknowledged refresh token works."""
    missing = []
    for user_id in created:
        while True:
            status, _ = await sigil.json(
                "GET",
                "api/v2/users/" + urllib.parse.quote(user_id, safe=""),
                expect=(200, 404, 429),
                headers=fixtures["mgmt"],
            )
            if status != 429:
                break
            await asyncio.sleep(0.5)
        if status != 200:
            missing.append(user_id)
    refused = 0
    checked = 0
    for vu in users:
        if vu.refresh_token:
            checked += 1
            try:
                await vu.refresh()
            except load.Failure as e:
                refused += 1
                print("    refresh token refused: %s" % e)
    return missing, checked, refused


class Cluster:
    def __init__(self):
        self.spawned = []  # nodes started here in place of killed ones

    def restart(self, index):
        """Starts node `index` again on its address, as a supervisor would."""
        address = NODES[index][len("http://"):].rstrip("/")
        data = tempfile.mkdtemp(prefix="sigil-faults-node.")
        log = open(os.path.join(LOGS, "node%d-restarted.log" % (index + 1)), "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGIL_")}
        env["SIGIL_MASTER_KEY"] = os.environ["SIGIL_MASTER_KEY"]
        process = subprocess.Popen(
            [SIGIL, "--data-dir", data, "--database-url", DATABASE_URL, "serve",
             "--listen", address, "--issuer", CLUSTER, "--drain-seconds", str(DRAIN),
             "--log-format", "json"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        self.spawned.append(process)
        return process

    def stop(self):
        for process in self.spawned:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


async def case_kill(session, sigil, fixtures, cluster):
    created = []
    running = Load(session, fixtures, created, seed=1)
    await asyncio.sleep(4)
    killed_at = time.monotonic()
    os.kill(PIDS[0], signal.SIGKILL)
    await asyncio.sleep(8)
    records = await running.stop()
    # HAProxy may still send a request over a kept-alive connection to the killed node before
    # it sees that connection closed, and never replays one it has sent: those fail too.
    in_flight = [r for r in failures(records) if r.started < killed_at + KILL_NOTICED]
    after = [r for r in failures(records) if r.started >= killed_at + KILL_NOTICED]
    cluster.restart(0)
    rejoined = await wait_ready(session, NODES[0], 30)
    missing, checked, refused = await verify_writes(sigil, fixtures, created, running.users)
    ok = not after and rejoined is not None and not missing and not refused
    print(
        "%s kill: %d requests, %d in flight to the killed node failed, %d failed later; "
        "node restarted and ready in %s; %d users created: %d missing; %d refresh tokens: %d refused"
        % ("PASS" if ok else "FAIL", len(records), len(in_flight), len(after),
           "%.1f s" % rejoined if rejoined is not None else "never", len(created), len(missing),
           checked, refused)
    )
    if after:
        print("    after the kill: " + sample(after))
    return ok


async def case_database(session, sigil, fixtures, cluster):
    created = []
    running = Load(session, fixtures, created, seed=2)
    await asyncio.sleep(3)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, functools.partial(subprocess.run, [PG_CTL, "stop"], check=True))
    down_at = time.monotonic()
    problems = []
    readyz = {node: [] for node in NODES}
    direct = {}
    while time.monotonic() - down_at < OUTAGE:
        for node in NODES:
            status, _ = await status_of(session, node + "readyz")
            readyz[node].append(status)
        if not direct:
            # Asked directly, a node says so itself (HAProxy may have marked them all down).
            status, headers = await status_of(
                session, NODES[1] + "api/v2/users", headers=fixtures["mgmt"]
            )
            direct["management"] = (status, headers.get("retry-after"))
            status, headers = await status_of(
                session,
                NODES[1] + "authorize?response_type=code&client_id=%s&redirect_uri=%s"
                % (fixtures["web"]["client_id"], urllib.parse.quote(load.CALLBACK, safe="")),
            )
            direct["hosted page"] = (status, headers.get("retry-after"))
        await asyncio.sleep(0.5)
    await loop.run_in_executor(None, functools.partial(subprocess.run, [PG_CTL, "start"], check=True))
    up_at = time.monotonic()
    recovered = await asyncio.gather(*(wait_ready(session, node, 15) for node in NODES))
    await asyncio.sleep(max(0.0, up_at + RECOVERY + 6 - time.monotonic()))
    records = await running.stop()

    for node, statuses in readyz.items():
        if 200 in statuses or None in statuses:
            problems.append("%s /readyz answered %s while the database was down" % (node, statuses))
    for what, (status, retry_after) in direct.items():
        if status != 503 or retry_after is None:
            problems.append("%s asked directly: %s, Retry-After %s" % (what, status, retry_after))
    slow = [t for t in recovered if t is None or t > RECOVERY]
    if slow:
        problems.append("nodes ready again after %s s" % recovered)
    refused = [r for r in failures(records) if not r.outage_answer()]
    late = [r for r in failures(records) if r.started >= up_at + RECOVERY]
    if refused:
        problems.append("answers other than 503: " + sample(refused))
    if late:
        problems.append("failures 5 s after the return: " + sample(late))
    missing, checked, refused_tokens = await verify_writes(sigil, fixtures, created, running.users)
    if missing or refused_tokens:
        problems.append("%d users lost, %d refresh tokens refused" % (len(missing), refused_tokens))
    print(
        "%s database: %d requests, %d answered 503 during the %.0f s outage, %d other failures; "
        "direct: %s; nodes ready %s s after its return; %d users created: %d missing; "
        "%d refresh tokens: %d refused"
        % ("FAIL" if problems else "PASS", len(records), len(failures(records)) - len(refused),
           OUTAGE, len(refused), direct,
           "/".join("%.1f" % t if t is not None else "never" for t in recovered),
           len(created), len(missing), checked, refused_tokens)
    )
    for problem in problems:
        print("    " + problem)
    return not problems


async def case_drain(session, sigil, fixtures, cluster):
    created = []
    running = Load(session, fixtures, created, seed=3)
    await asyncio.sleep(3)
    pid, node = PIDS[1], NODES[1]
    os.kill(pid, signal.SIGTERM)
    termed_at = time.monotonic()
    # The first answer other than 200 must be a 503 (not ready, still serving), within 1 s.
    first = 200
    while first == 200 and time.monotonic() - termed_at < 1:
        first, _ = await status_of(session, node + "readyz")
        await asyncio.sleep(0.02)
    exited_after = None
    while time.monotonic() - termed_at < EXIT_WITHIN + 2:
        if exited(pid):
            exited_after = time.monotonic() - termed_at
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(max(0.0, termed_at + 8 - time.monotonic()))
    records = await running.stop()
    failed = failures(records)
    ok = first == 503 and exited_after is not None and exited_after <= EXIT_WITHIN and not failed
    print(
        "%s drain: %d requests, %d failed; /readyz answered %s within 1 s of SIGTERM; "
        "the node exited after %s (drain %d s)"
        % ("PASS" if ok else "FAIL", len(records), len(failed), first,
           "%.1f s" % exited_after if exited_after is not None else "more than 12 s", DRAIN)
    )
    if failed:
        print("    " + sample(failed))
    return ok


CASES = {"kill": case_kill, "database": case_database, "drain": case_drain}


async def main(names):
    admin = json.load(open(os.path.join(DATA_DIR, "admin-credentials.json")))
    connector = aiohttp.TCPConnector(limit=VIRTUAL_USERS * 2, keepalive_timeout=5)
    timeout = aiohttp.ClientTimeout(total=30)
    cluster = Cluster()
    results = []
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            sigil = load.Sigil(session, CLUSTER, CLUSTER)
            fixtures = await load.setup(sigil, admin)
            for name in names:
                results.append(await CASES[name](session, sigil, fixtures, cluster))
    finally:
        cluster.stop()
    passed = sum(results)
    print("faults (cluster): %d of %d cases passed" % (passed, len(results)))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(CASES)
    unknown = [n for n in chosen if n not in CASES]
    if unknown:
        sys.exit("unknown case %s; the cases: %s" % (", ".join(unknown), " ".join(CASES)))
    sys.exit(asyncio.run(main(chosen)))
