"""Mail delivery against a real SMTP server nobody here wrote: aiosmtpd (STARTTLS required,
AUTH required, certificates from trustme's throw-away CA), Python's `email` parser reading
what arrived, Auth0's Python SDK (auth0-python) writing a template and logging in without a
password (codes by mail, and by SMS through a stdlib HTTP server speaking Auth0's SMS gateway
protocol, its bearer token checked with PyJWT, and through a Twilio stand-in). Run by
scripts/mail-tests (SIGIL_BIN and SIGIL_TEST_DATABASE_URL set).

It prints one line per check (PASS or FAIL) and exits 0 when all passed, 1 when one failed,
2 when the suite could not run. Every process it starts is stopped on exit.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import requests
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd 1.4.6 warns about its own Session.login_data on every login.
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")

SIGIL = os.environ.get("SIGIL_BIN", "")
DATABASE_URL = os.environ.get("SIGIL_TEST_DATABASE_URL", "")
FAILED: list[str] = []
PROCESSES: list[subprocess.Popen] = []


def check(name: str, ok: bool, detail: str = "") -> bool:
    """One line per check; the detail with it when the check failed, or when it is a short
    figure worth reading."""
    ok = bool(ok)
    shown = detail if detail and (not ok or (len(detail) < 120 and "\n" not in detail)) else ""
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + shown if shown else ''}", flush=True)
    if not ok:
        FAILED.append(name)
    return ok


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, condition, timeout: float = 20.0, step: float = 0.1):
    """Polls `condition` until it returns something truthy; returns it, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    print(f"     (gave up waiting for {what} after {timeout:.0f} s)", flush=True)
    return None


# --- the SMTP server -----------------------------------------------------------------------


class Mailbox:
    """aiosmtpd's handler: refuses recipients starting with `refuse` (550), keeps the rest,
    parsed, with whether the session was TLS and logged in."""

    def __init__(self, delay: float = 0.0):
        self.messages: list[dict] = []
        self.delay = delay
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(
                {
                    "message": parsed,
                    "rcpt": list(envelope.rcpt_tos),
                    "tls": session.ssl is not None,
                    "login": session.authenticated,
                }
            )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[dict]:
        with self.lock:
            return [m for m in self.messages if address in m["rcpt"]]


def authenticator(user: bytes, password: bytes):
    def check_login(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user,
            password,
        )
        return AuthResult(success=ok)

    return check_login


class Smtp:
    """One aiosmtpd server on a fixed port, which can be stopped and started again."""

    def __init__(self, tls: ssl.SSLContext, user: str, password: str, delay: float = 0.0):
        self.port = free_port()
        self.tls = tls
        self.auth = authenticator(user.encode(), password.encode())
        self.mailbox = Mailbox(delay)
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.mailbox,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.tls,
            require_starttls=True,
            authenticator=self.auth,
            auth_required=True,
            auth_require_tls=True,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class SmsReceiver:
    """A stdlib HTTP server that takes SMS as a provider would: Auth0's custom gateway protocol
    (a JSON POST, the bearer JWT checked with PyJWT: HS256 over the shared secret, its `aud`
    and `sub`), or Twilio's Messages API (a form, HTTP Basic sid:token). It answers `status`."""

    def __init__(self, secret: bytes = b"", audience: str = "", subject: str = "",
                 twilio: tuple[str, str] = ("", "")):
        self.messages: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                entry = {"path": self.path, "headers": dict(self.headers)}
                auth = self.headers.get("authorization", "")
                if self.path.endswith("/Messages.json"):
                    entry["form"] = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    expected = "Basic " + base64.b64encode(
                        f"{twilio[0]}:{twilio[1]}".encode()).decode()
                    entry["authenticated"] = auth == expected and f"/Accounts/{twilio[0]}/" in self.path
                else:
                    entry["json"] = json.loads(raw)
                    try:
                        claims = jwt.decode(auth.removeprefix("Bearer "), secret,
                                            algorithms=["HS256"], audience=audience)
                        entry["authenticated"] = claims.get("sub") == subject
                    except jwt.PyJWTError as e:
                        entry["authenticated"] = False
                        entry["why"] = str(e)
                receiver.messages.append(entry)
                self.send_response(receiver.status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"sid":"SM1"}' if receiver.status < 300 else b'{"error":"no"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- Sigil ---------------------------------------------------------------------------------


class Node:
    """`sigil serve` on a port of its own, its log kept in a file."""

    def __init__(self, work: Path, name: str, args: list[str], database_url: str | None = None):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}/"
        self.data = work / f"data-{name}"
        self.log = work / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGIL_")}
        if database_url:
            env["SIGIL_DATABASE_URL"] = database_url
            env["SIGIL_MASTER_KEY"] = os.environ["MAIL_TEST_MASTER_KEY"]
        self.env = env
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [SIGIL, "serve", "--data-dir", str(self.data), "--issuer", self.issuer,
                 "--listen", f"127.0.0.1:{self.port}", "--log-format", "json", *args],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        PROCESSES.append(self.process)

    def ready(self) -> bool:
        def up():
            if self.process.poll() is not None:
                return "exited"
            try:
                return requests.get(f"{self.issuer}readyz", timeout=1).ok
            except requests.RequestException:
                return False

        return wait_for(f"{self.issuer} to be ready", up, timeout=60) is True

    def admin(self, *args: str) -> str:
        done = subprocess.run(
            [SIGIL, "--data-dir", str(self.data), *args],
            env=self.env, capture_output=True, text=True, timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"sigil {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def token(self) -> str:
        admin = json.loads((self.data / "admin-credentials.json").read_text())
        answer = requests.post(admin["token_endpoint"], json={
            "grant_type": "client_credentials", "client_id": admin["client_id"],
            "client_secret": admin["client_secret"], "audience": admin["audience"],
        }, timeout=10)
        answer.raise_for_status()
        return answer.json()["access_token"]

    def management(self, method: str, path: str, token: str, body=None) -> requests.Response:
        return requests.request(method, f"{self.issuer}api/v2{path}", json=body,
                                headers={"authorization": f"Bearer {token}"}, timeout=10)

    def outbox(self, to: str) -> list[dict]:
        return json.loads(self.admin("outbox", "--to", to, "--json"))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def signup(node: Node, client_id: str, address: str) -> requests.Response:
    return requests.post(f"{node.issuer}dbconnections/signup", json={
        "client_id": client_id, "connection": "Username-Password-Authentication",
        "email": address, "password": "Mail-" + secrets.token_urlsafe(12) + "-7",
    }, timeout=30)


def spa_client(node: Node) -> str:
    return json.loads(node.admin("clients", "create", "--name", "mail tests", "--type", "spa",
                                 "--callback", "http://127.0.0.1/cb", "--json"))["client_id"]


# --- the suite -----------------------------------------------------------------------------


def single_node(work: Path, tls: ssl.SSLContext, ca_file: Path) -> None:
    password = "smtp-" + secrets.token_urlsafe(16)
    smtp = Smtp(tls, "sigil", password)
    smtp.start()
    node = Node(work, "single", [
        "--smtp-url", f"smtp://sigil:{password}@127.0.0.1:{smtp.port}",
        "--smtp-ca-file", str(ca_file), "--mail-from", "login@example.com",
        "--mail-retry-seconds", "1", "--log", "debug",
    ])
    secrets_seen: list[str] = []  # the tickets mailed, which no log line may carry
    try:
        if not check("sigil serve starts with --smtp-url and --smtp-ca-file", node.ready(),
                     node.log_text()[-2000:]):
            return
        client_id = spa_client(node)
        token = node.token()

        # 1. The signup's verification mail arrives, over STARTTLS and logged in.
        answer = signup(node, client_id, "ann@example.com")
        check("signup answered", answer.status_code == 200, answer.text)
        got = wait_for("the verification mail", lambda: smtp.mailbox.to("ann@example.com"))
        if check("the verification mail arrives at aiosmtpd", bool(got)):
            m = got[0]
            message = m["message"]
            check("it came over TLS (STARTTLS) and logged in (AUTH)", m["tls"] and m["login"],
                  f"tls={m['tls']} login={m['login']}")
            check("From is --mail-from", message["From"] == "login@example.com", message["From"])
            message_id = message["Message-ID"] or ""
            check("it has a Message-ID naming the issuer's host",
                  re.fullmatch(r"<sigil\.\d+\.\d+@127\.0\.0\.1>", message_id) is not None,
                  message_id)
            body = message.get_body(preferencelist=("plain",)).get_content()
            link = re.search(r"http://\S+/u/email-verification\?ticket=\S+", body)
            if link:
                secrets_seen.append(link.group(0).split("ticket=")[1])
            if check("Python's email parser finds the verification link", link is not None, body):
                page = requests.get(link.group(0), timeout=10)
                check("following it verifies the email", page.status_code == 200
                      and "verified" in page.text.lower(), f"{page.status_code}")
                users = node.management("GET", "/users-by-email?email=ann@example.com", token)
                verified = users.ok and users.json() and users.json()[0]["email_verified"]
                check("the user's email_verified is true", bool(verified), users.text)
            outbox = node.outbox("ann@example.com")
            check("sigil outbox shows it sent, once, with its Message-ID",
                  outbox and outbox[0]["status"] == "sent" and outbox[0]["attempts"] == 1
                  and outbox[0]["message_id"] == message_id, json.dumps(outbox)[:600])

        # 2. The server is down: the mail waits, then arrives after a retry.
        smtp.stop()
        answer = requests.post(f"{node.issuer}dbconnections/change_password", json={
            "client_id": client_id, "connection": "Username-Password-Authentication",
            "email": "ann@example.com"}, timeout=10)
        check("password reset asked for", answer.status_code == 200, answer.text)
        failed_once = wait_for("a failed attempt", lambda: [
            e for e in node.outbox("ann@example.com")
            if e["kind"] == "reset_password" and e["attempts"] >= 1 and e["last_error"]])
        check("with aiosmtpd stopped, the attempt fails and the mail stays queued",
              bool(failed_once) and failed_once[0]["status"] in ("queued", "sending"),
              json.dumps(failed_once)[:600])
        smtp.start()
        arrived = wait_for("the reset mail after a retry",
                           lambda: [m for m in smtp.mailbox.to("ann@example.com")
                                    if "reset-password" in str(m["message"].get_body())])
        check("with aiosmtpd started again, the reset mail arrives after a retry", bool(arrived))
        entry = [e for e in node.outbox("ann@example.com") if e["kind"] == "reset_password"]
        check("sigil outbox shows it sent after more than one attempt",
              bool(entry) and entry[0]["status"] == "sent" and entry[0]["attempts"] >= 2,
              json.dumps(entry)[:600])

        # 3. A refusal for good (550): failed after one attempt, with the reason.
        signup(node, client_id, "refuse-me@example.com")
        refused = wait_for("the refused mail to fail", lambda: [
            e for e in node.outbox("refuse-me@example.com") if e["status"] == "failed"])
        check("a 550 leaves the message failed after one attempt, with the reason",
              bool(refused) and refused[0]["attempts"] == 1 and "550" in refused[0]["last_error"],
              json.dumps(refused)[:600])
        given_up = [l for l in node.log_text().splitlines() if "mail given up on" in l]
        check("the log says why, once, naming the message by its outbox id",
              len(given_up) == 1 and "550" in given_up[0] and '"outbox_id":' in given_up[0],
              "\n".join(given_up)[:600])

        # 4. The Management API's provider wins over --smtp-url; its password is never shown.
        other_password = "api-" + secrets.token_urlsafe(16)
        other = Smtp(tls, "api-user", other_password)
        other.start()
        try:
            created = node.management("POST", "/emails/provider", token, {
                "name": "smtp", "enabled": True, "default_from_address": "api@example.com",
                "credentials": {"smtp_host": "127.0.0.1", "smtp_port": other.port,
                                "smtp_user": "api-user", "smtp_pass": other_password}})
            check("POST /emails/provider configures smtp (201)", created.status_code == 201,
                  created.text)
            shown = node.management("GET", "/emails/provider?fields=credentials,default_from_address&include_fields=true", token)
            check("GET /emails/provider never shows smtp_pass",
                  shown.ok and "smtp_pass" not in shown.text and other_password not in shown.text
                  and shown.json()["credentials"]["smtp_port"] == other.port, shown.text)
            signup(node, client_id, "bo@example.com")
            via_api = wait_for("mail through the API's provider", lambda: other.mailbox.to("bo@example.com"))
            check("mail then goes through the API's provider, from its default_from_address",
                  bool(via_api) and via_api[0]["message"]["From"] == "api@example.com"
                  and not smtp.mailbox.to("bo@example.com"))
            deleted = node.management("DELETE", "/emails/provider", token)
            check("DELETE /emails/provider (204)", deleted.status_code == 204, deleted.text)
            signup(node, client_id, "cy@example.com")
            back = wait_for("mail through --smtp-url again", lambda: smtp.mailbox.to("cy@example.com"))
            check("without it, mail goes through --smtp-url again", bool(back))
        finally:
            other.stop()

        # 5. auth0-python's email_templates: the tenant's Liquid template writes the mail, every
        #    value HTML-escaped in the HTML part; the text part carries the link.
        templates(node, smtp, client_id)

        metrics = requests.get(f"{node.issuer}metrics", timeout=10).text
        sent = re.search(r'^sigil_mail_deliveries_total\{result="sent"\} (\d+)', metrics, re.M)
        check("/metrics counts deliveries by result",
              sent is not None and int(sent.group(1)) >= 4
              and re.search(r'sigil_mail_deliveries_total\{result="retry"\} [1-9]', metrics)
              and re.search(r'sigil_mail_deliveries_total\{result="failed"\} 1', metrics),
              "\n".join(l for l in metrics.splitlines() if "mail" in l))
        log = node.log_text()
        check("no SMTP password and no mailed ticket in the logs (at debug level)",
              password not in log and other_password not in log
              and bool(secrets_seen) and not any(t in log for t in secrets_seen)
              and '"level":"DEBUG"' in log, f"{len(log)} bytes of log")
    finally:
        node.stop()
        smtp.stop()


def templates(node: Node, smtp: Smtp, client_id: str) -> None:
    from auth0.authentication import GetToken
    from auth0.management import Auth0

    admin = json.loads((node.data / "admin-credentials.json").read_text())
    domain = node.issuer.removeprefix("http://").rstrip("/")
    token = GetToken(domain, admin["client_id"], client_secret=admin["client_secret"],
                     protocol="http").client_credentials(admin["audience"])["access_token"]
    management = Auth0(base_url=f"{node.issuer}api/v2", token=token)
    created = management.email_templates.create(
        template="verify_email", syntax="liquid", enabled=True,
        from_="{{ friendly_name }} <verify@example.com>",
        subject="Confirm {{ user.email }} for {{ application.name }}",
        body="<html><body><p>Hello {{ user.name }},</p><p>Hi {{ user.name | escape }}.</p>"
             "<p><a href=\"{{ url }}\">Verify {{ user.email }}</a></p></body></html>",
        url_lifetime_in_seconds=3600)
    check("auth0-python email_templates.create (verify_email)",
          created.template == "verify_email" and created.url_lifetime_in_seconds == 3600,
          repr(created)[:300])
    got = management.email_templates.get("verify_email")
    check("email_templates.get gives it back", got.body == created.body and got.enabled is True)
    updated = management.email_templates.update("verify_email", result_url="https://app.example.com/verified")
    check("email_templates.update sets its resultUrl",
          updated.result_url == "https://app.example.com/verified", repr(updated)[:300])
    try:
        management.email_templates.get("goodbye_email")
        unknown = None
    except Exception as e:  # the SDK's ApiError, whatever its class in this version
        unknown = getattr(e, "status_code", None)
    check("an unknown template name is a 400", unknown == 400, str(unknown))

    hostile = "<script>alert('x')</script> & Ann"
    answer = requests.post(f"{node.issuer}dbconnections/signup", json={
        "client_id": client_id, "connection": "Username-Password-Authentication",
        "email": "dee@example.com", "name": hostile,
        "password": "Mail-" + secrets.token_urlsafe(12) + "-7"}, timeout=30)
    check("a signup with markup in its name", answer.status_code == 200, answer.text)
    got = wait_for("the templated mail", lambda: smtp.mailbox.to("dee@example.com"))
    if not check("the templated mail arrives", bool(got)):
        return
    message = got[0]["message"]
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Ann"
    check("it is multipart/alternative, HTML and text", message.get_content_type() == "multipart/alternative",
          message.get_content_type())
    check("the user's name is HTML-escaped in the HTML part, also under | escape (never twice)",
          html.count(escaped) == 2 and "<script>" not in html, html[:600])
    check("the subject and the sender come from the template",
          message["Subject"] == "Confirm dee@example.com for mail tests"
          and message["From"] == "Sigil <verify@example.com>",
          f"{message['Subject']!r} {message['From']!r}")
    link = re.search(r"http://\S+/u/email-verification\?ticket=[\w-]+", text)
    check("the text part carries the whole link", link is not None, text)
    if link:
        page = requests.get(link.group(0), timeout=10)
        check("the link verifies and leads on to the template's resultUrl",
              page.status_code == 200 and "app.example.com" in page.text.replace("&#x2f;", "/"),
              str(page.status_code))
    replaced = management.email_templates.set(
        "verify_email", template="verify_email", syntax="liquid", enabled=False,
        subject="unused", body="<p>{{ url }}</p>")
    check("email_templates.set replaces it whole (here disabled: Sigil's own is used again)",
          replaced.enabled is False and replaced.subject == "unused", repr(replaced)[:300])


OTP_GRANT = "http://auth0.com/oauth/grant-type/passwordless/otp"


def code_in(text: str) -> str | None:
    found = re.search(r"\b(\d{6})\b", text)
    return found.group(1) if found else None


def passwordless(work: Path, tls: ssl.SSLContext, ca_file: Path) -> None:
    """auth0-python's Passwordless and GetToken.passwordless_login against codes that really
    travel: by mail through aiosmtpd, by SMS through the gateway protocol and Twilio's API."""
    from auth0.authentication import GetToken, Passwordless
    from auth0.authentication.exceptions import Auth0Error

    password = "smtp-" + secrets.token_urlsafe(16)
    smtp = Smtp(tls, "sigil", password)
    smtp.start()
    secret = secrets.token_bytes(32)
    gateway = SmsReceiver(secret=secret, audience="sms-gateway", subject="sigil")
    twilio_secret = "twilio-" + secrets.token_urlsafe(12)
    twilio = SmsReceiver(twilio=("AC0123", twilio_secret))
    node = Node(work, "passwordless", [
        "--smtp-url", f"smtp://sigil:{password}@127.0.0.1:{smtp.port}",
        "--smtp-ca-file", str(ca_file), "--mail-from", "login@example.com",
        "--mail-retry-seconds", "1", "--federation-allow-http-loopback",
        "--twilio-url", twilio.url, "--log", "debug",
    ])
    codes: list[str] = []  # the codes sent, which no log line may carry

    def refusal(call) -> tuple[str, str]:
        try:
            call()
            return ("", "no error")
        except Auth0Error as e:
            return (e.error_code, e.message)

    try:
        if not check("sigil serve starts for passwordless", node.ready(), node.log_text()[-2000:]):
            return
        client_id = json.loads(node.admin(
            "clients", "create", "--name", "Passwordless app", "--type", "native",
            "--callback", "http://127.0.0.1/cb", "--grant", OTP_GRANT, "--grant", "refresh_token",
            "--json"))["client_id"]
        options = {
            "totp": {"time_step": 30, "length": 6},
            "email": {"syntax": "liquid", "from": "Logins <logins@example.com>",
                      "subject": "{{ code }} is your code for {{ application.name }}",
                      "body": "<p>Hello {{ user.email }}, your code for {{ application.name }} is "
                              "<b>{{ code }}</b>.</p>"},
        }
        made = node.admin("connections", "create", "--name", "email", "--strategy", "email",
                          "--client", client_id, "--options", json.dumps(options))
        check("sigil connections create makes the email connection", "email" in made, made)
        token = node.token()
        gateway_options = {
            "provider": "sms_gateway", "gateway_url": f"{gateway.url}/sms", "from": "+15550001111",
            "template": "{{ code }} is your code for {{ application.name }}", "syntax": "liquid",
            "forward_req_info": True,
            "gateway_authentication": {
                "method": "bearer", "subject": "sigil", "audience": "sms-gateway",
                "secret": base64.urlsafe_b64encode(secret).decode().rstrip("="),
                "secret_base64_encoded": True,
            },
        }
        sms = node.management("POST", "/connections", token, {
            "name": "sms", "strategy": "sms", "enabled_clients": [client_id],
            "options": gateway_options})
        check("POST /connections makes the sms connection (201), its secret not shown",
              sms.status_code == 201
              and "secret" not in sms.json()["options"]["gateway_authentication"]
              and base64.urlsafe_b64encode(secret).decode().rstrip("=") not in sms.text,
              sms.text)

        domain = node.issuer.removeprefix("http://").rstrip("/")
        start = Passwordless(domain, client_id, protocol="http")
        grant = GetToken(domain, client_id, protocol="http")

        # A code for later, to find it expired (30 s) once the rest has run.
        start.email("late@example.com", send="code")
        late_sent = time.monotonic()

        started = start.email("pat@example.com", send="code")
        check("auth0-python Passwordless.email(send='code') answers _id and email",
              started.get("email") == "pat@example.com" and len(started.get("_id", "")) == 24,
              json.dumps(started))
        got = wait_for("the code's mail", lambda: smtp.mailbox.to("pat@example.com"))
        code = None
        if check("the code's mail arrives at aiosmtpd", bool(got)):
            message = got[0]["message"]
            text = message.get_body(("plain",)).get_content()
            code = code_in(text)
            check("it is written from the connection's template (subject, From, the app's name)",
                  message["Subject"] == f"{code} is your code for Passwordless app"
                  and message["From"] == "Logins <logins@example.com>"
                  and "Passwordless app" in text, f"{message['Subject']} / {message['From']}")
        if code:
            codes.append(code)
            wrong = "000000" if code != "000000" else "111111"
            check("a wrong code: invalid_grant, \"Wrong email or verification code.\"",
                  refusal(lambda: grant.passwordless_login("pat@example.com", wrong, "email",
                                                           "openid", None))
                  == ("invalid_grant", "Wrong email or verification code."))
            tokens = grant.passwordless_login("pat@example.com", code, "email",
                                              "openid email offline_access", None)
            claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
            check("GetToken.passwordless_login with the mailed code: tokens for an email| user",
                  re.fullmatch(r"email\|[0-9a-f]{24}", claims.get("sub", "")) is not None
                  and claims.get("email_verified") is True and "refresh_token" in tokens,
                  json.dumps(claims))
            check("the code again: invalid_grant (a code works once)",
                  refusal(lambda: grant.passwordless_login("pat@example.com", code, "email",
                                                           "openid", None))[0] == "invalid_grant")

        # SMS through Auth0's gateway protocol.
        sent = start.sms("+14155550123")
        check("auth0-python Passwordless.sms answers _id and phone_number",
              sent.get("phone_number") == "+14155550123", json.dumps(sent))
        m = gateway.messages[-1] if gateway.messages else {}
        body = m.get("json", {})
        check("the gateway gets {recipient, body, sender, req} with a bearer PyJWT verifies",
              m.get("authenticated") is True and body.get("recipient") == "+14155550123"
              and body.get("sender") == "+15550001111" and body.get("req", {}).get("ip"),
              json.dumps(m)[:400])
        sms_code = code_in(body.get("body", ""))
        if sms_code:
            codes.append(sms_code)
            tokens = grant.passwordless_login("+14155550123", sms_code, "sms", "openid", None)
            claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
            check("the SMS code logs in an sms| user",
                  claims.get("sub", "").startswith("sms|"), json.dumps(claims))
        gateway.status = 500
        check("the gateway answering 500: 400 sms_provider_error",
              refusal(lambda: start.sms("+14155550124"))[0] == "sms_provider_error")
        gateway.status = 401
        check("the gateway refusing the token: Auth0's authentication failure",
              refusal(lambda: start.sms("+14155550124"))
              == ("sms_provider_error", "Authentication failed while calling the SMS gateway: 401"))

        # SMS through Twilio's API (the stand-in --twilio-url names).
        connection_id = sms.json()["id"]
        patched = node.management("PATCH", f"/connections/{connection_id}", token, {"options": {
            "twilio_sid": "AC0123", "twilio_token": twilio_secret, "from": "+15550002222"}})
        check("PATCH /connections switches the sms connection to Twilio", patched.ok, patched.text)
        start.sms("+14155550125")
        m = twilio.messages[-1] if twilio.messages else {}
        form = m.get("form", {})
        check("Twilio's API gets To, From and Body with HTTP Basic sid:token",
              m.get("authenticated") is True and form.get("To") == "+14155550125"
              and form.get("From") == "+15550002222", json.dumps(m)[:400])
        twilio_code = code_in(form.get("Body", ""))
        if twilio_code:
            codes.append(twilio_code)
            tokens = grant.passwordless_login("+14155550125", twilio_code, "sms", "openid", None)
            check("the code sent through Twilio logs in", "id_token" in tokens)

        late = wait_for("the late code's mail", lambda: smtp.mailbox.to("late@example.com"))
        late_code = code_in(late[0]["message"].get_body(("plain",)).get_content()) if late else None
        if check("the late code arrived", late_code is not None):
            codes.append(late_code)
            time.sleep(max(0.0, 31 - (time.monotonic() - late_sent)))
            check("an expired code (totp.time_step 30 s): invalid_grant",
                  refusal(lambda: grant.passwordless_login("late@example.com", late_code, "email",
                                                           "openid", None))
                  == ("invalid_grant", "Wrong email or verification code."))
        metrics = requests.get(f"{node.issuer}metrics", timeout=10).text
        check("/metrics counts the SMS providers' calls by result",
              'sigil_upstream_calls_total{call="sms_gateway",result="ok"} 1' in metrics
              and 'call="sms_gateway",result="status"} 2' in metrics
              and 'sigil_upstream_calls_total{call="twilio",result="ok"} 1' in metrics,
              "\n".join(l for l in metrics.splitlines() if "sms_gateway" in l or "twilio" in l))
        log = node.log_text()
        check("no code in the logs (at debug level), though the log has the starts",
              bool(codes) and not any(re.search(rf"\b{c}\b", log) for c in codes)
              and "/passwordless/start" in log, f"{len(log)} bytes of log")
    finally:
        node.stop()
        smtp.stop()
        gateway.stop()
        twilio.stop()


def two_nodes(work: Path, tls: ssl.SSLContext, ca_file: Path) -> None:
    if not DATABASE_URL:
        check("two nodes on PostgreSQL", False, "SIGIL_TEST_DATABASE_URL is not set")
        return
    password = "pg-" + secrets.token_urlsafe(16)
    # A slow server (20 ms a message), so that both nodes have work while the queue drains.
    smtp = Smtp(tls, "sigil", password, delay=0.02)
    smtp.start()
    common = ["--smtp-ca-file", str(ca_file), "--mail-retry-seconds", "1",
              "--password-workers", "1"]
    first = Node(work, "pg1", common, DATABASE_URL)
    try:
        if not check("node 1 on PostgreSQL starts", first.ready(), first.log_text()[-2000:]):
            return
        second = Node(work, "pg2", common, DATABASE_URL)
        try:
            if not check("node 2 on PostgreSQL starts", second.ready(), second.log_text()[-2000:]):
                return
            check("with no provider, the server says at start that mail stays in the outbox",
                  "no mail provider is configured" in first.log_text())
            client_id = spa_client(first)
            # 200 signups from one address are a bulk signup by Auth0's rules (suspicious-IP
            # throttling answers 429 after 50): this case is about the mail queue, so it is off.
            first.admin("tenant", "set", "--suspicious-ip-throttling", "off")
            addresses = [f"pg{i:03d}@example.com" for i in range(200)]
            for i, address in enumerate(addresses):
                node = first if i % 2 == 0 else second
                answer = signup(node, client_id, address)
                if answer.status_code != 200:
                    check("200 signups", False, f"{address}: {answer.status_code} {answer.text}")
                    return
            time.sleep(1.5)
            check("with no provider, nothing is sent", not smtp.mailbox.messages)
            token = first.token()
            created = first.management("POST", "/emails/provider", token, {
                "name": "smtp", "default_from_address": "cluster@example.com",
                "credentials": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                                "smtp_user": "sigil", "smtp_pass": password}})
            check("the provider configured on node 1", created.status_code == 201, created.text)
            started = time.monotonic()
            wait_for("200 messages", lambda: len(smtp.mailbox.messages) >= 200, timeout=90)
            took = time.monotonic() - started
            time.sleep(3)  # anything sent twice would arrive now
            messages = smtp.mailbox.messages
            recipients = [m["rcpt"][0] for m in messages]
            ids = {m["message"]["Message-ID"] for m in messages}
            check("200 queued mails: each delivered exactly once by two nodes",
                  len(messages) == 200 and sorted(recipients) == addresses and len(ids) == 200,
                  f"{len(messages)} messages, {len(set(recipients))} recipients, {len(ids)} ids, "
                  f"{took:.1f} s")

            def sent_by(node: Node) -> int:
                text = requests.get(f"{node.issuer}metrics", timeout=10).text
                found = re.search(r'^sigil_mail_deliveries_total\{result="sent"\} (\d+)', text, re.M)
                return int(found.group(1)) if found else 0

            split = (sent_by(first), sent_by(second))
            check("both nodes delivered a share", split[0] > 0 and split[1] > 0
                  and sum(split) == 200, f"node 1 sent {split[0]}, node 2 sent {split[1]}")
        finally:
            second.stop()
    finally:
        first.stop()
        smtp.stop()


def main() -> int:
    if not SIGIL:
        print("run.py: SIGIL_BIN is not set (run it with scripts/mail-tests)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="sigil-mail.") as scratch:
        work = Path(scratch)
        ca = trustme.CA()
        ca_file = work / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(tls)
        try:
            single_node(work, tls, ca_file)
            passwordless(work, tls, ca_file)
            two_nodes(work, tls, ca_file)
        finally:
            for process in PROCESSES:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    if FAILED:
        print(f"\n{len(FAILED)} check(s) failed: {', '.join(FAILED)}")
        return 1
    print("\nevery check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
