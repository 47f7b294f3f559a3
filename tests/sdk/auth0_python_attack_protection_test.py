"""Brute-force protection against Sigil, driven by auth0-python: `GetToken.login` ten times
with a wrong password answers `invalid_grant`, the eleventh 429 `too_many_attempts` (the SDK's
`RateLimitError`) even with the right password, and an unknown email alike; from another
address (the `X-Forwarded-For` of a trusted proxy, the loopback here) the right password still
works; the Management client changes the threshold, lists and lifts blocks by identifier and
by user id, and reads the `limit_wc` events.

Run by scripts/sdk-tests (after the MFA suite) with:

    SDK_TEST_DOMAIN             127.0.0.1:PORT
    SDK_TEST_ISSUER             http://127.0.0.1:PORT/
    SDK_TEST_BASE_URL           the Management API (auth0-python's base_url)
    SDK_TEST_ADMIN_CREDENTIALS  admin-credentials.json
    SDK_TEST_CONNECTION         the database connection
    SDK_TEST_CLIENT_ID, SDK_TEST_CLIENT_SECRET   a client with the password-realm grant
"""

from __future__ import annotations

import json
import os
import sys
import unittest
import urllib.error
import urllib.request
import uuid

from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error, RateLimitError
from auth0.management import Auth0

import one_line


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"auth0_python_attack_protection_test: {name} is not set (run it with scripts/sdk-tests)")
    return value


DOMAIN = _env("SDK_TEST_DOMAIN")
ISSUER = _env("SDK_TEST_ISSUER")
BASE_URL = _env("SDK_TEST_BASE_URL")
CONNECTION = _env("SDK_TEST_CONNECTION")
CLIENT_ID = _env("SDK_TEST_CLIENT_ID")
CLIENT_SECRET = _env("SDK_TEST_CLIENT_SECRET")
with open(_env("SDK_TEST_ADMIN_CREDENTIALS"), encoding="utf-8") as f:
    ADMIN = json.load(f)

BLOCKED = (
    "Your account has been blocked after multiple consecutive login attempts. We've sent you a "
    "notification via your preferred contact method with instructions on how to unblock it."
)


def forwarded_login(username: str, password: str, ip: str) -> int:
    """The password-realm grant from `ip`, as a trusted proxy forwards it: the status."""
    body = json.dumps({
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "username": username, "password": password, "realm": CONNECTION,
    }).encode()
    request = urllib.request.Request(
        f"{ISSUER}oauth/token", data=body,
        headers={"content-type": "application/json", "x-forwarded-for": ip},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as e:
        return e.code


class Auth0PythonBruteForce(unittest.TestCase):
    management: Auth0
    password: str

    @classmethod
    def setUpClass(cls) -> None:
        admin = GetToken(DOMAIN, ADMIN["client_id"], client_secret=ADMIN["client_secret"], protocol="http")
        token = admin.client_credentials(ADMIN["audience"])["access_token"]
        cls.management = Auth0(base_url=BASE_URL, token=token)
        cls.password = "Sdk-Brute-" + uuid.uuid4().hex

    def new_user(self) -> tuple[str, str]:
        email = f"brute-{uuid.uuid4().hex[:12]}@sdk-tests.example.com"
        user = self.management.users.create(connection=CONNECTION, email=email, password=self.password)
        return email, user.user_id

    def login(self, email: str, password: str) -> dict:
        tokens = GetToken(DOMAIN, CLIENT_ID, client_secret=CLIENT_SECRET, protocol="http")
        return tokens.login(email, password, realm=CONNECTION, scope="openid")

    def ten_failures_then_blocked(self, email: str) -> None:
        for attempt in range(10):
            with self.assertRaises(Auth0Error) as raised:
                self.login(email, "a wrong password")
            self.assertEqual((raised.exception.status_code, raised.exception.error_code), (403, "invalid_grant"), attempt)
        with self.assertRaises(RateLimitError) as raised:
            self.login(email, self.password)
        self.assertEqual(raised.exception.error_code, "too_many_attempts")
        self.assertEqual(raised.exception.message, BLOCKED)

    def test_01_ten_wrong_passwords_then_429_even_with_the_right_one_and_another_address_works(self) -> None:
        email, _ = self.new_user()
        self.ten_failures_then_blocked(email)
        self.assertEqual(forwarded_login(email, self.password, "198.51.100.23"), 200)
        self.assertEqual(forwarded_login(email, self.password, "127.0.0.1"), 429)

    def test_02_an_unknown_email_behaves_identically(self) -> None:
        self.ten_failures_then_blocked(f"nobody-{uuid.uuid4().hex[:8]}@sdk-tests.example.com")

    def test_03_the_management_client_tunes_lists_and_lifts_blocks(self) -> None:
        protection = self.management.attack_protection.brute_force_protection
        protection.update(max_attempts=3)
        try:
            self.assertEqual(protection.get().max_attempts, 3)
            email, user_id = self.new_user()
            for _ in range(3):
                with self.assertRaises(Auth0Error):
                    self.login(email, "a wrong password")
            with self.assertRaises(RateLimitError):
                self.login(email, self.password)
            blocks = self.management.user_blocks.list_by_identifier(identifier=email)
            self.assertEqual(
                [(b.identifier, b.ip, b.connection) for b in blocks.blocked_for],
                [(email, "127.0.0.1", CONNECTION)],
            )
            self.assertEqual(len(self.management.user_blocks.list(user_id).blocked_for), 1)
            self.management.user_blocks.delete_by_identifier(identifier=email)
            self.assertTrue(self.login(email, self.password)["access_token"])
            for _ in range(3):
                with self.assertRaises(Auth0Error):
                    self.login(email, "a wrong password")
            self.management.user_blocks.delete(user_id)
            self.assertEqual(self.management.user_blocks.list(user_id).blocked_for, [])
            self.assertTrue(self.login(email, self.password)["access_token"])
            events = list(self.management.logs.list(search="type:limit_wc"))
            self.assertTrue(any(e.user_name == email for e in events), [e.user_name for e in events])
        finally:
            protection.update(max_attempts=10)


def main() -> int:
    print(f"auth0-python brute-force protection against {ISSUER}")
    return one_line.run(__name__)


if __name__ == "__main__":
    sys.exit(main())
