"""Auth0's MFA API for embedded login against Sigil, driven by Auth0's SDKs: auth0-python's
`GetToken` (the password-realm grant raising `mfa_required`, the MFA grants through
`authenticated_post`), auth0-auth-js's `MfaClient` (enrol, list, challenge; run as
`node auth_js_mfa.mjs`), pyotp computing the authenticator app's codes from the
`barcode_uri` the SDK returned, and aiosmtpd receiving the email factor's codes (Sigil delivers
to it over SMTP; the suite reads its Maildir).

Run by scripts/sdk-tests after the other suites (it turns the tenant's MFA policy on, and off
again at the end):

    SDK_TEST_DOMAIN             127.0.0.1:PORT
    SDK_TEST_ISSUER             http://127.0.0.1:PORT/
    SDK_TEST_BASE_URL           the Management API (auth0-python's base_url)
    SDK_TEST_ADMIN_CREDENTIALS  admin-credentials.json
    SDK_TEST_CONNECTION         the database connection
    SDK_TEST_MFA_CLIENT_ID, SDK_TEST_MFA_CLIENT_SECRET      a client with the MFA grants
    SDK_TEST_OTHER_CLIENT_ID, SDK_TEST_OTHER_CLIENT_SECRET  another one
    SDK_TEST_NODE_DIR           where auth_js_mfa.mjs and its node_modules are
    SDK_TEST_MAILDIR            the Maildir aiosmtpd delivers Sigil's mail to
"""

from __future__ import annotations

import base64
import email.policy
import html
import http.cookiejar
import json
import mailbox
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request
import uuid

import pyotp
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error, RateLimitError
from auth0.management import Auth0

import one_line


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"auth0_python_mfa_test: {name} is not set (run it with scripts/sdk-tests)")
    return value


DOMAIN = _env("SDK_TEST_DOMAIN")
ISSUER = _env("SDK_TEST_ISSUER")
BASE_URL = _env("SDK_TEST_BASE_URL")
CONNECTION = _env("SDK_TEST_CONNECTION")
CLIENT_ID = _env("SDK_TEST_MFA_CLIENT_ID")
CLIENT_SECRET = _env("SDK_TEST_MFA_CLIENT_SECRET")
OTHER_ID = _env("SDK_TEST_OTHER_CLIENT_ID")
OTHER_SECRET = _env("SDK_TEST_OTHER_CLIENT_SECRET")
NODE_DIR = _env("SDK_TEST_NODE_DIR")
MAILDIR = _env("SDK_TEST_MAILDIR")
with open(_env("SDK_TEST_ADMIN_CREDENTIALS"), encoding="utf-8") as f:
    ADMIN = json.load(f)

MFA_OTP = "http://auth0.com/oauth/grant-type/mfa-otp"
MFA_RECOVERY = "http://auth0.com/oauth/grant-type/mfa-recovery-code"
MFA_OOB = "http://auth0.com/oauth/grant-type/mfa-oob"


def auth_js(command: str, mfa_token: str, *arguments: str) -> dict:
    """auth0-auth-js's MfaClient, one call."""
    done = subprocess.run(
        ["node", "auth_js_mfa.mjs", command, mfa_token, *arguments],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "SDK_TEST_CLIENT_ID": CLIENT_ID, "SDK_TEST_CLIENT_SECRET": CLIENT_SECRET},
        timeout=60,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise AssertionError(f"auth_js_mfa.mjs {command}: {done.stderr}")
    return json.loads(done.stdout)


def mails_to(address: str) -> dict[str, str]:
    """Every mail aiosmtpd received for `address`: its text by its Maildir key."""
    box = mailbox.Maildir(MAILDIR, factory=None, create=False)
    texts = {}
    for key, message in box.items():
        parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
        if parsed["To"] == address:
            texts[key] = parsed.get_body(preferencelist=("plain",)).get_content()
    return texts


def next_code(address: str, before: dict[str, str]) -> str:
    """The code in the one mail to `address` that was not there `before`: Sigil delivers
    from its outbox, so this waits (at most 20 s) for it."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        new = [text for key, text in mails_to(address).items() if key not in before]
        if new:
            if len(new) != 1:
                raise AssertionError(f"{len(new)} new mails to {address}, one expected")
            found = re.search(r"\b(\d{6})\b", new[0])
            if not found:
                raise AssertionError(f"no code in the mail: {new[0]}")
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no new mail to {address} within 20 s")


def payload(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class Auth0PythonMfa(unittest.TestCase):
    email: str
    password: str
    secret: str
    recovery_code: str
    management: Auth0

    @classmethod
    def setUpClass(cls) -> None:
        admin = GetToken(DOMAIN, ADMIN["client_id"], client_secret=ADMIN["client_secret"], protocol="http")
        token = admin.client_credentials(ADMIN["audience"])["access_token"]
        cls.management = Auth0(base_url=BASE_URL, token=token)
        for factor in ("otp", "recovery-code"):
            cls.management.guardian.factors.set(factor, enabled=True)
        cls.management.guardian.policies.set(request=["all-applications"])
        cls.email = f"mfa-{uuid.uuid4().hex[:12]}@sdk-tests.example.com"
        cls.password = "Sdk-Mfa-" + uuid.uuid4().hex
        cls.management.users.create(connection=CONNECTION, email=cls.email, password=cls.password)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.management.guardian.policies.set(request=[])

    def tokens(self, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> GetToken:
        return GetToken(DOMAIN, client_id, client_secret=secret, protocol="http")

    def mfa_required(self, email: str | None = None) -> dict:
        """The password-realm grant's mfa_required answer, as auth0-python raises it."""
        with self.assertRaises(Auth0Error) as raised:
            self.tokens().login(email or self.email, self.password, realm=CONNECTION, scope="openid email")
        error = raised.exception
        self.assertEqual((error.status_code, error.error_code), (403, "mfa_required"))
        self.assertEqual(error.message, "Multifactor authentication required")
        self.assertTrue(error.content["mfa_token"])
        return error.content

    def grant(self, data: dict, client: GetToken | None = None) -> dict:
        """An MFA grant, as auth0-python's GetToken posts with its client's credentials (the
        SDK adds the secret; the grants name the client as every other does)."""
        client = client or self.tokens()
        return client.authenticated_post(f"{ISSUER}oauth/token", data={"client_id": client.client_id, **data})

    def test_01_enrol_with_auth_js_then_the_mfa_otp_grant(self) -> None:
        required = self.mfa_required()
        self.assertEqual(required["mfa_requirements"], {"enroll": [{"type": "otp"}]})
        token = required["mfa_token"]
        self.assertEqual(auth_js("list", token), [])
        enrolled = auth_js("enroll", token)
        self.assertEqual(enrolled["authenticatorType"], "otp", enrolled)
        otp = pyotp.parse_uri(enrolled["barcodeUri"])
        self.assertEqual((otp.digits, otp.interval, otp.issuer), (6, 30, "Sigil"))
        self.assertEqual(otp.name, self.email)
        self.assertEqual(otp.secret, enrolled["secret"])
        type(self).secret = enrolled["secret"]
        type(self).recovery_code = enrolled["recoveryCodes"][0]
        with self.assertRaises(Auth0Error) as wrong:
            self.grant({"grant_type": MFA_OTP, "mfa_token": token, "otp": str((int(otp.now()) + 1) % 1000000).zfill(6)})
        self.assertEqual((wrong.exception.error_code, wrong.exception.message), ("invalid_grant", "Invalid otp_code."))
        answer = self.grant({"grant_type": MFA_OTP, "mfa_token": token, "otp": otp.now()})
        claims = payload(answer["id_token"])
        self.assertEqual(claims["amr"], ["mfa"])
        self.assertEqual(claims["email"], self.email)

    def test_02_a_second_login_is_challenged_through_auth_js(self) -> None:
        required = self.mfa_required()
        self.assertEqual(required["mfa_requirements"], {"challenge": [{"type": "otp"}, {"type": "recovery-code"}]})
        token = required["mfa_token"]
        listed = auth_js("list", token)
        self.assertEqual(sorted((a["authenticatorType"], a["active"]) for a in listed), [("otp", True), ("recovery-code", True)])
        self.assertEqual(auth_js("challenge", token), {"challengeType": "otp"})
        self.assertEqual(auth_js("enroll", token)["error_description"], "User is already enrolled.")

    def test_03_the_notes_table_of_refusals(self) -> None:
        token = self.mfa_required()["mfa_token"]
        code = pyotp.TOTP(self.secret).now()
        tampered = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
        other = self.tokens(OTHER_ID, OTHER_SECRET)
        cases = [
            ("tampered", {"mfa_token": tampered, "otp": code}, None, "invalid_grant", "Malformed mfa_token"),
            ("another client's", {"mfa_token": token, "otp": code}, other, "invalid_request", "mfa_token not issued to this client"),
            ("no otp", {"mfa_token": token}, None, "invalid_request", "Missing required parameter: otp"),
        ]
        for what, data, client, error, message in cases:
            with self.subTest(what), self.assertRaises(Auth0Error) as raised:
                self.grant({"grant_type": MFA_OTP, **data}, client)
            self.assertEqual((raised.exception.error_code, raised.exception.message), (error, message), what)

    def test_04_the_recovery_code_logs_in_once_and_is_replaced(self) -> None:
        token = self.mfa_required()["mfa_token"]
        answer = self.grant({"grant_type": MFA_RECOVERY, "mfa_token": token, "recovery_code": self.recovery_code})
        self.assertRegex(answer["recovery_code"], r"^[A-Z0-9]{24}$")
        self.assertNotEqual(answer["recovery_code"], self.recovery_code)
        self.assertEqual(payload(answer["id_token"])["amr"], ["mfa"])
        with self.assertRaises(Auth0Error) as raised:
            self.grant({"grant_type": MFA_RECOVERY, "mfa_token": token, "recovery_code": self.recovery_code})
        self.assertEqual(raised.exception.error_code, "invalid_grant")

    def test_05_ten_wrong_codes_empty_the_bucket(self) -> None:
        token = self.mfa_required()["mfa_token"]
        code = pyotp.TOTP(self.secret).now()
        wrong = str((int(code) + 1) % 1000000).zfill(6)
        refused = 0
        for _ in range(12):
            try:
                self.grant({"grant_type": MFA_OTP, "mfa_token": token, "otp": wrong})
            except RateLimitError as e:
                self.assertEqual(e.error_code, "too_many_attempts")
                refused += 1
            except Auth0Error as e:
                self.assertEqual(e.error_code, "invalid_grant")
        self.assertGreaterEqual(refused, 1)
        with self.assertRaises(RateLimitError):
            self.grant({"grant_type": MFA_OTP, "mfa_token": token, "otp": code})

    def test_06_an_email_factor_enrolled_with_auth_js_and_codes_from_aiosmtpd(self) -> None:
        self.management.guardian.factors.set("email", enabled=True)
        user = f"oob-{uuid.uuid4().hex[:12]}@sdk-tests.example.com"
        backup = f"backup-{uuid.uuid4().hex[:12]}@sdk-tests.example.com"
        self.management.users.create(connection=CONNECTION, email=user, password=self.password)
        # Unverified: the address is no factor yet, so the user enrols another one.
        required = self.mfa_required(user)
        self.assertEqual(required["mfa_requirements"], {"enroll": [{"type": "otp"}]})
        token = required["mfa_token"]
        seen = mails_to(backup)
        enrolled = auth_js("enroll-email", token, backup)
        self.assertEqual(
            (enrolled["authenticatorType"], enrolled["oobChannel"], enrolled["bindingMethod"]),
            ("oob", "email", "prompt"),
            enrolled,
        )
        self.assertRegex(enrolled["recoveryCodes"][0], r"^[A-Z0-9]{24}$")
        code = next_code(backup, seen)
        wrong = str((int(code) + 1) % 1000000).zfill(6)
        oob = {"grant_type": MFA_OOB, "mfa_token": token, "oob_code": enrolled["oobCode"]}
        with self.assertRaises(Auth0Error) as raised:
            self.grant({**oob, "binding_code": wrong})
        self.assertEqual((raised.exception.error_code, raised.exception.message), ("invalid_grant", "Invalid binding_code."))
        with self.assertRaises(Auth0Error) as raised:
            self.grant(oob)
        self.assertEqual(raised.exception.message, "Missing required parameter: binding_code")
        answer = self.grant({**oob, "binding_code": code})
        self.assertEqual(payload(answer["id_token"])["amr"], ["mfa"])
        # The next login is challenged at that address through auth-js.
        required = self.mfa_required(user)
        self.assertEqual(required["mfa_requirements"], {"challenge": [{"type": "email"}, {"type": "recovery-code"}]})
        token = required["mfa_token"]
        listed = auth_js("list", token)
        self.assertIn(("oob", True, backup, ["email"]), [(a["authenticatorType"], a["active"], a.get("name"), a.get("oobChannels")) for a in listed])
        seen = mails_to(backup)
        challenged = auth_js("challenge-oob", token)
        self.assertEqual((challenged["challengeType"], challenged["bindingMethod"]), ("oob", "prompt"), challenged)
        code = next_code(backup, seen)
        answer = self.grant({"grant_type": MFA_OOB, "mfa_token": token, "oob_code": challenged["oobCode"], "binding_code": code})
        self.assertEqual(payload(answer["id_token"])["amr"], ["mfa"])

    def test_07_an_enrollment_ticket_mailed_to_aiosmtpd_enrols_without_a_login(self) -> None:
        user = f"ticket-{uuid.uuid4().hex[:12]}@sdk-tests.example.com"
        created = self.management.users.create(connection=CONNECTION, email=user, password=self.password)
        ticket = self.management.guardian.enrollments.create_ticket(user_id=created.user_id)
        self.assertTrue(ticket.ticket_url.startswith(f"{ISSUER}u/mfa-enrollment?ticket="), ticket)
        # The user also gets the signup's verification mail: the ticket's is the one with its link.
        deadline = time.monotonic() + 20
        while not any(ticket.ticket_url in text for text in mails_to(user).values()):
            self.assertLess(time.monotonic(), deadline, f"no mail with the ticket's link to {user}")
            time.sleep(0.1)
        # The page, as a browser without a session would see it: the secret, then pyotp's code.
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with browser.open(ticket.ticket_url, timeout=10) as answer:
            page = answer.read().decode()

        def field(name: str) -> str:
            found = re.search(rf'name="{name}" value="([^"]*)"', page)
            self.assertIsNotNone(found, f"no {name} on the page")
            return html.unescape(found.group(1))

        secret = html.unescape(re.search(r'id="secret" class="secret">([^<]+)<', page).group(1))
        form = {"state": field("state"), "csrf": field("csrf"), "code": pyotp.TOTP(secret).now()}
        with browser.open(f"{ISSUER}u/mfa-enrollment", data=urllib.parse.urlencode(form).encode(), timeout=10) as answer:
            done = answer.read().decode()
        self.assertIn("You're All Set!", html.unescape(done))
        enrolled = self.management.users.enrollments.get(created.user_id)
        self.assertEqual([(e.status, e.auth_method) for e in enrolled], [("confirmed", "authenticator")])
        got = self.management.guardian.enrollments.get(enrolled[0].id)
        self.assertEqual(got.status, "confirmed")
        self.management.guardian.enrollments.delete(enrolled[0].id)
        self.assertEqual(self.management.users.enrollments.get(created.user_id), [])


def main() -> int:
    print(f"auth0-python and auth0-auth-js MFA clients against {ISSUER}")
    return one_line.run(__name__)


if __name__ == "__main__":
    sys.exit(main())
