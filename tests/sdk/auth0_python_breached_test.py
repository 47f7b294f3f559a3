"""Breached-password detection against Sigil, with a list made here with Python's hashlib: the
operator's file of SHA-1 hashes (these passwords among 20,000 others, Have I Been Pwned's
`HASH:COUNT` lines) is compacted by `sigil breached-passwords import` before `sigil serve`
starts with it. Then auth0-python's Management client turns detection on, `Database.signup`
with a listed password is refused, a reset link mailed to aiosmtpd refuses a listed password
and takes a fresh one, and `GetToken.login` with a listed (right) password answers 401
`password_leaked`; the events are read back.

Two commands:

    python auth0_python_breached_test.py make-list FILE    the hash file (run before the server)
    python auth0_python_breached_test.py                   the checks, by scripts/sdk-tests, with

    SDK_TEST_DOMAIN, SDK_TEST_ISSUER, SDK_TEST_BASE_URL, SDK_TEST_ADMIN_CREDENTIALS,
    SDK_TEST_CONNECTION, SDK_TEST_CLIENT_ID, SDK_TEST_CLIENT_SECRET, SDK_TEST_MAILDIR
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import http.cookiejar
import json
import mailbox
import os
import re
import secrets
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

LISTED = ["Sdk-Breached-Horse-41", "Sdk-Breached-Staple-42", "Sdk-Breached-Orbit-43"]
FRESH = "Sdk-Unlisted-" + uuid.uuid4().hex
DECOYS = 20_000


def make_list(path: str) -> None:
    """The operator's file: the listed passwords' SHA-1s among random others, with counts."""
    lines = [f"{hashlib.sha1(p.encode()).hexdigest().upper()}:{1000 + i}" for i, p in enumerate(LISTED)]
    lines += [f"{hashlib.sha1(secrets.token_bytes(16)).hexdigest().upper()}:{i % 97 + 1}" for i in range(DECOYS)]
    with open(path, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(lines)} SHA-1 hashes (hashlib) written to {path}")


if __name__ == "__main__" and sys.argv[1:2] == ["make-list"]:
    make_list(sys.argv[2])
    sys.exit(0)

from auth0.authentication import Database, GetToken  # noqa: E402
from auth0.authentication.exceptions import Auth0Error  # noqa: E402
from auth0.management import Auth0  # noqa: E402
from auth0.management.types import BreachedPasswordDetectionStage  # noqa: E402

import one_line  # noqa: E402


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"auth0_python_breached_test: {name} is not set (run it with scripts/sdk-tests)")
    return value


DOMAIN = _env("SDK_TEST_DOMAIN")
ISSUER = _env("SDK_TEST_ISSUER")
BASE_URL = _env("SDK_TEST_BASE_URL")
CONNECTION = _env("SDK_TEST_CONNECTION")
CLIENT_ID = _env("SDK_TEST_CLIENT_ID")
CLIENT_SECRET = _env("SDK_TEST_CLIENT_SECRET")
MAILDIR = _env("SDK_TEST_MAILDIR")
with open(_env("SDK_TEST_ADMIN_CREDENTIALS"), encoding="utf-8") as f:
    ADMIN = json.load(f)


def reset_link(address: str, deadline_s: float = 20) -> str:
    """The link of the (newest) reset mail aiosmtpd received for `address`."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        box = mailbox.Maildir(MAILDIR, factory=None, create=False)
        for _, message in box.items():
            parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
            if parsed["To"] == address:
                text = parsed.get_body(preferencelist=("plain",)).get_content()
                found = re.search(r"https?://\S+/u/reset-password\?ticket=\S+", text)
                if found:
                    return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no reset mail to {address}")


class Auth0PythonBreachedPasswords(unittest.TestCase):
    management: Auth0

    @classmethod
    def setUpClass(cls) -> None:
        admin = GetToken(DOMAIN, ADMIN["client_id"], client_secret=ADMIN["client_secret"], protocol="http")
        token = admin.client_credentials(ADMIN["audience"])["access_token"]
        cls.management = Auth0(base_url=BASE_URL, token=token)
        # Users made while detection is off: one with a listed password, one for the reset.
        cls.leaky = f"leaky-{uuid.uuid4().hex[:10]}@sdk-tests.example.com"
        cls.management.users.create(connection=CONNECTION, email=cls.leaky, password=LISTED[0])
        cls.resetter = f"resetter-{uuid.uuid4().hex[:10]}@sdk-tests.example.com"
        cls.management.users.create(connection=CONNECTION, email=cls.resetter, password=FRESH)
        detection = cls.management.attack_protection.breached_password_detection
        detection.update(
            enabled=True,
            shields=["block"],
            stage=BreachedPasswordDetectionStage.model_validate(
                {"pre-user-registration": {"shields": ["block"]}, "pre-change-password": {"shields": ["block"]}}
            ),
        )

    @classmethod
    def tearDownClass(cls) -> None:
        cls.management.attack_protection.breached_password_detection.update(enabled=False)

    def test_01_the_settings_read_back(self) -> None:
        """breached_password_detection.get: on, blocking at login, signup and password changes"""
        got = self.management.attack_protection.breached_password_detection.get()
        self.assertTrue(got.enabled)
        self.assertEqual(got.shields, ["block"])
        self.assertEqual(got.stage.pre_user_registration.shields, ["block"])

    def test_02_signup_with_a_listed_password_is_refused(self) -> None:
        """Database.signup: a password from the hashlib list refused (400), a fresh one taken"""
        database = Database(DOMAIN, CLIENT_ID, protocol="http")
        with self.assertRaises(Auth0Error) as raised:
            database.signup(f"new-{uuid.uuid4().hex[:8]}@sdk-tests.example.com", LISTED[1], CONNECTION)
        self.assertEqual(raised.exception.status_code, 400)
        self.assertIn("data breach", raised.exception.message)
        created = database.signup(f"new-{uuid.uuid4().hex[:8]}@sdk-tests.example.com", FRESH, CONNECTION)
        self.assertTrue(created["_id"])

    def test_03_a_reset_link_refuses_a_listed_password(self) -> None:
        """Database.change_password mails aiosmtpd a link; its page refuses a listed password"""
        Database(DOMAIN, CLIENT_ID, protocol="http").change_password(self.resetter, CONNECTION)
        link = reset_link(self.resetter)
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with browser.open(link, timeout=10) as answer:
            page = answer.read().decode()

        def post(form_page: str, password: str) -> tuple[int, str]:
            """Submits the form shown on `form_page` (each showing has its own CSRF pair)."""
            fields = {
                name: html.unescape(re.search(rf'name="{name}" value="([^"]*)"', form_page).group(1))
                for name in ("csrf", "ticket")
            }
            form = {**fields, "password": password, "confirm": password}
            try:
                with browser.open(link.split("?")[0], data=urllib.parse.urlencode(form).encode(), timeout=10) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        status, refused = post(page, LISTED[2])
        self.assertEqual(status, 400, refused[:300])
        self.assertIn("data breach", html.unescape(refused))
        status, done = post(refused, "Sdk-Another-Fresh-" + uuid.uuid4().hex)
        self.assertEqual(status, 200, done[:300])

    def test_04_a_login_with_a_listed_password_gets_password_leaked(self) -> None:
        """GetToken.login with a listed (right) password: Auth0Error 401 password_leaked"""
        tokens = GetToken(DOMAIN, CLIENT_ID, client_secret=CLIENT_SECRET, protocol="http")
        with self.assertRaises(Auth0Error) as raised:
            tokens.login(self.leaky, LISTED[0], realm=CONNECTION, scope="openid")
        self.assertEqual((raised.exception.status_code, raised.exception.error_code), (401, "password_leaked"))

    def test_05_the_events_are_logged(self) -> None:
        """logs.list: signup_pwd_leak, reset_pwd_leak and pwd_leak"""
        for kind in ("signup_pwd_leak", "reset_pwd_leak", "pwd_leak"):
            events = list(self.management.logs.list(search=f"type:{kind}"))
            self.assertTrue(events, kind)


def main() -> int:
    print(f"breached-password detection with auth0-python against {ISSUER}")
    return one_line.run(__name__)


if __name__ == "__main__":
    sys.exit(main())
