"""One SQLite node whose disk fills up (issue 14, section 8).

Run by scripts/faults in a private mount namespace, with DIR a small tmpfs of its own:

  python disk_full.py --bin SIGIL --dir DIR

`sigil serve` runs with its data directory in DIR. Once a filler file has taken every free
byte: Management API writes are answered 503 `temporarily_unavailable` with Retry-After (never
500), each such failure is logged once; reads (the Management API, the JWKS, client_credentials)
keep working; `PRAGMA integrity_check` says ok. Once the filler is gone, writes succeed again, and
after the server stops the database is still intact with every acknowledged write in it.
Prints PASS or FAIL with figures; exits 1 on a failure.
"""

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

PASSWORD = "Disk-full-password-1!"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, binary, data_dir, log_path):
        port = free_port()
        self.base = "http://127.0.0.1:%d/" % port
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGIL_")}
        self.process = subprocess.Popen(
            [binary, "--data-dir", data_dir, "--issuer", self.base, "serve",
             "--listen", "127.0.0.1:%d" % port, "--drain-seconds", "0", "--log-format", "json"],
            stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("sigil serve exited at start:\n" + open(log_path).read()[-2000:])
            try:
                if self.call("GET", "readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("sigil serve did not become ready")

    def call(self, method, path, body=None, token=None, form=None):
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        if token:
            headers["authorization"] = "Bearer " + token
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def integrity(db):
    connection = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def fill(path):
    """Writes zeros to `path` until the file system is full; returns the bytes written."""
    written = 0
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(block)
            except OSError as e:
                if e.errno != 28:  # ENOSPC
                    raise
                # The last partial block.
                for size in (4096, 512, 1):
                    try:
                        while True:
                            written += f.write(b"\0" * size)
                    except OSError:
                        pass
                return written


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    data = os.path.join(args.dir, "data")
    db = os.path.join(data, "sigil.db")
    problems = []
    node = Node(args.bin, data, args.log)
    try:
        admin = json.load(open(os.path.join(data, "admin-credentials.json")))
        status, _, body = node.call("POST", "oauth/token", body={
            "grant_type": "client_credentials", "client_id": admin["client_id"],
            "client_secret": admin["client_secret"], "audience": admin["audience"]})
        assert status == 200, body
        token = json.loads(body)["access_token"]

        def create(i):
            return node.call("POST", "api/v2/users", token=token, body={
                "email": "disk-%d@faults.sigil.test" % i, "password": PASSWORD,
                "connection": "Username-Password-Authentication"})

        acknowledged = []
        for i in range(3):
            status, _, body = create(i)
            assert status == 201, body
            acknowledged.append(json.loads(body)["user_id"])

        # Empty the write-ahead log into the database file first, so that the next write
        # must grow a file; then take every free byte.
        connection = sqlite3.connect(db, timeout=10)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        filler = os.path.join(args.dir, "filler")
        filled = fill(filler)

        statuses = []
        refused = None
        for i in range(3, 23):
            status, headers, body = create(i)
            statuses.append(status)
            if status == 201:
                acknowledged.append(json.loads(body)["user_id"])
            if status == 503:
                refused = (headers, json.loads(body))
                break
        if refused is None:
            problems.append("no write was refused on the full disk: %s" % statuses)
        else:
            headers, body = refused
            headers = {k.lower(): v for k, v in headers.items()}
            request_id = headers.get("x-request-id")
            if body.get("errorCode") != "temporarily_unavailable" or "retry-after" not in headers:
                problems.append("the refusal: %s %s" % (headers, body))
            # Its cause, once (besides the request's own `answered` line).
            lines = [line for line in open(args.log) if request_id and request_id in line]
            logged = [
                line for line in lines
                if ('"level":"ERROR"' in line or '"level":"WARN"' in line)
                and '"message":"answered"' not in line
            ]
            if len(logged) != 1:
                problems.append("the refused write was logged %d times: %s" % (len(logged), logged))
        other = [s for s in statuses if s not in (201, 503)]
        if other:
            problems.append("writes answered %s" % statuses)

        reads = {
            "users": node.call("GET", "api/v2/users?per_page=5", token=token)[0],
            "user": node.call("GET", "api/v2/users/" + urllib.parse.quote(acknowledged[0]), token=token)[0],
            "jwks": node.call("GET", ".well-known/jwks.json")[0],
            "client_credentials": node.call("POST", "oauth/token", body={
                "grant_type": "client_credentials", "client_id": admin["client_id"],
                "client_secret": admin["client_secret"], "audience": admin["audience"]})[0],
        }
        if any(status != 200 for status in reads.values()):
            problems.append("reads on the full disk: %s" % reads)
        full_check = integrity(db)
        if full_check != "ok":
            problems.append("integrity_check on the full disk: %s" % full_check)

        os.remove(filler)
        resumed = []
        for i in range(23, 26):
            status, _, body = create(i)
            resumed.append(status)
            if status == 201:
                acknowledged.append(json.loads(body)["user_id"])
        if resumed != [201, 201, 201]:
            problems.append("writes after space was freed: %s" % resumed)
    finally:
        node.stop()

    final_check = integrity(db)
    if final_check != "ok":
        problems.append("integrity_check after the stop: %s" % final_check)
    connection = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    stored = {row[0] for row in connection.execute("SELECT user_id FROM users")}
    connection.close()
    lost = [u for u in acknowledged if u not in stored]
    if lost:
        problems.append("acknowledged users lost: %s" % lost)
    print(
        "%s disk: filled %.1f MiB; writes answered %s (503 with Retry-After, logged once); reads %s; "
        "integrity_check %s on the full disk, %s after the stop; writes after freeing space %s; "
        "%d acknowledged users, %d lost"
        % ("FAIL" if problems else "PASS", filled / 2**20, statuses, reads, full_check, final_check,
           resumed, len(acknowledged), len(lost))
    )
    for problem in problems:
        print("    " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
