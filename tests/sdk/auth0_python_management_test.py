"""Sigil's Management API v2, driven by Auth0's official Python SDK (auth0-python 5+,
`auth0.management.Auth0`).

Run by scripts/sdk-tests after the Authentication API suite, against the same server:

    SDK_TEST_BASE_URL           http://127.0.0.1:PORT/api/v2 (the SDK's base_url)
    SDK_TEST_ADMIN_CREDENTIALS  sigil init's admin-credentials.json (client_id, client_secret,
                                audience, token_endpoint): a client with every Management scope
    SDK_TEST_DOMAIN             127.0.0.1:PORT (for GetToken)
    SDK_TEST_CONNECTION         the database connection

Every call goes through the SDK's classes, which parse Sigil's answers into their own models:
a shape the SDK does not expect fails here.
"""

from __future__ import annotations

import json
import os
import sys
import unittest
import uuid

from auth0.authentication import GetToken
from auth0.management import Auth0

import one_line


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"auth0_python_management_test: {name} is not set (run it with scripts/sdk-tests)")
    return value


BASE_URL = _env("SDK_TEST_BASE_URL")
DOMAIN = _env("SDK_TEST_DOMAIN")
CONNECTION = _env("SDK_TEST_CONNECTION")
with open(_env("SDK_TEST_ADMIN_CREDENTIALS"), encoding="utf-8") as f:
    ADMIN = json.load(f)


def management() -> Auth0:
    tokens = GetToken(DOMAIN, ADMIN["client_id"], client_secret=ADMIN["client_secret"], protocol="http")
    token = tokens.client_credentials(ADMIN["audience"])["access_token"]
    return Auth0(base_url=BASE_URL, token=token)


def email() -> str:
    return f"mgmt-{uuid.uuid4().hex[:12]}@sdk-tests.example.com"


class Auth0PythonManagement(unittest.TestCase):
    client: Auth0

    @classmethod
    def setUpClass(cls) -> None:
        cls.client = management()

    def test_01_users_create_get_update_delete(self) -> None:
        address = email()
        created = self.client.users.create(
            connection=CONNECTION,
            email=address,
            password="Sdk-Mgmt-" + uuid.uuid4().hex,
            email_verified=True,
            user_metadata={"theme": "dark", "lang": "en"},
        )
        self.assertTrue(created.user_id.startswith("auth0|"))
        self.assertEqual(created.email, address)
        got = self.client.users.get(created.user_id)
        self.assertEqual(got.user_metadata, {"theme": "dark", "lang": "en"})
        updated = self.client.users.update(
            created.user_id, user_metadata={"lang": None, "tz": "UTC"}, given_name="Sam"
        )
        self.assertEqual(updated.user_metadata, {"theme": "dark", "tz": "UTC"})
        self.assertEqual(updated.given_name, "Sam")
        found = self.client.users.list_users_by_email(email=address.upper())
        self.assertEqual([u.user_id for u in found], [created.user_id])
        self.client.users.delete(created.user_id)
        with self.assertRaises(Exception) as raised:
            self.client.users.get(created.user_id)
        self.assertEqual(getattr(raised.exception, "status_code", None), 404)

    def test_02_users_list_pages_through_everyone(self) -> None:
        made = [
            self.client.users.create(connection=CONNECTION, email=email(), password="Sdk-Mgmt-" + uuid.uuid4().hex)
            for _ in range(3)
        ]
        seen = [u.user_id for u in self.client.users.list(per_page=2)]
        for user in made:
            self.assertIn(user.user_id, seen)
        self.assertEqual(len(seen), len(set(seen)), "no user twice across pages")
        searched = list(self.client.users.list(q=f'email:"{made[0].email}"', search_engine="v3"))
        self.assertEqual([u.user_id for u in searched], [made[0].user_id])

    def test_03_roles(self) -> None:
        name = "sdk-" + uuid.uuid4().hex[:8]
        role = self.client.roles.create(name=name, description="made by the SDK suite")
        self.assertTrue(role.id.startswith("rol_"))
        self.assertIn(role.id, [r.id for r in self.client.roles.list(name_filter=name)])
        updated = self.client.roles.update(role.id, description="changed")
        self.assertEqual(updated.description, "changed")
        self.client.roles.delete(role.id)
        self.assertNotIn(role.id, [r.id for r in self.client.roles.list()])

    def test_04_a_bad_body_is_a_400_naming_the_field(self) -> None:
        with self.assertRaises(Exception) as raised:
            self.client.users.create(connection=CONNECTION, email="not-an-email", password="Sdk-Mgmt-x1")
        self.assertEqual(getattr(raised.exception, "status_code", None), 400)
        self.assertIn("email", json.dumps(getattr(raised.exception, "body", "")))

    def test_05_users_link_and_unlink(self) -> None:
        password = "Sdk-Mgmt-" + uuid.uuid4().hex
        primary = self.client.users.create(connection=CONNECTION, email=email(), password=password)
        secondary = self.client.users.create(connection=CONNECTION, email=email(), password=password)
        provider, local_id = secondary.user_id.split("|", 1)
        linked = self.client.users.identities.link(primary.user_id, provider=provider, user_id=local_id)
        self.assertEqual(len(linked), 2, linked)
        self.assertEqual(str(linked[0].user_id), primary.user_id.split("|", 1)[1])
        self.assertEqual((linked[1].provider, str(linked[1].user_id)), (provider, local_id))
        self.assertEqual(linked[1].connection, CONNECTION)
        self.assertIsNotNone(linked[1].profile_data)
        self.assertEqual(linked[1].profile_data.email, secondary.email)
        got = self.client.users.get(primary.user_id)
        self.assertEqual(
            [(i.provider, str(i.user_id)) for i in got.identities or []],
            [(i.provider, str(i.user_id)) for i in linked],
        )
        with self.assertRaises(Exception) as raised:
            self.client.users.get(secondary.user_id)
        self.assertEqual(getattr(raised.exception, "status_code", None), 404)
        remaining = self.client.users.identities.delete(primary.user_id, provider, local_id)
        self.assertEqual([str(i.user_id) for i in remaining], [str(linked[0].user_id)])
        again = self.client.users.get(secondary.user_id)
        self.assertEqual((again.user_id, again.email), (secondary.user_id, secondary.email))
        self.assertEqual(len(again.identities or []), 1)

    def test_06_actions_create_deploy_bind_test_delete(self) -> None:
        name = "sdk-" + uuid.uuid4().hex[:8]
        code = (
            "exports.onExecutePostLogin = async (event, api) => {\n"
            "  console.log('hi', event.user.email);\n"
            "  api.idToken.setCustomClaim('https://sdk.example.com/key', event.secrets.KEY);\n"
            "};"
        )
        action = self.client.actions.create(
            name=name,
            supported_triggers=[{"id": "post-login", "version": "v3"}],
            code=code,
            runtime="node22",
            secrets=[{"name": "KEY", "value": "sdk-secret"}],
        )
        self.assertEqual(action.status, "built")
        self.assertEqual([s.name for s in action.secrets or []], ["KEY"])
        self.assertNotIn("sdk-secret", json.dumps(action.dict(), default=str))
        version = self.client.actions.deploy(action.id)
        self.assertEqual((version.number, version.deployed), (1, True))
        self.assertIn(action.id, [a.id for a in self.client.actions.list(action_name=name)])
        self.assertEqual([v.number for v in self.client.actions.versions.list(action.id)], [1])
        bound = self.client.actions.triggers.bindings.update_many(
            "post-login", bindings=[{"ref": {"type": "action_id", "value": action.id}, "display_name": name}]
        )
        self.assertEqual([b.display_name for b in bound.bindings or []], [name])
        listed = self.client.actions.triggers.bindings.list("post-login")
        self.assertEqual([b.action.id for b in listed], [action.id])
        tested = self.client.actions.test(action.id, payload={"event": {"user": {"email": "sdk@example.com"}}})
        self.assertIn("hi sdk@example.com", json.dumps(tested.dict(), default=str))
        self.client.actions.triggers.bindings.update_many("post-login", bindings=[])
        self.client.actions.delete(action.id, force=True)
        with self.assertRaises(Exception) as raised:
            self.client.actions.get(action.id)
        self.assertEqual(getattr(raised.exception, "status_code", None), 404)

    def test_07_multi_factor_settings_and_a_users_authentication_methods(self) -> None:
        for factor in ("otp", "recovery-code"):
            self.assertTrue(self.client.guardian.factors.set(factor, enabled=True).enabled)
        enabled = [f.name for f in self.client.guardian.factors.list() if f.enabled]
        self.assertEqual(enabled, ["otp", "recovery-code"])
        # The policy stays [] here: the other suites log in with a password alone.
        self.assertEqual(list(self.client.guardian.policies.set(request=[])), [])
        self.assertEqual(list(self.client.guardian.policies.list()), [])
        user = self.client.users.create(
            connection=CONNECTION, email=email(), password="Sdk-Mgmt-" + uuid.uuid4().hex
        )
        secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        created = self.client.users.authentication_methods.create(
            user.user_id, type="totp", totp_secret=secret
        )
        self.assertEqual(created.type, "totp")
        self.assertTrue(created.id.startswith("totp|dev_"), created.id)
        self.assertIsNone(created.totp_secret)
        first = self.client.users.regenerate_recovery_code(user.user_id).recovery_code
        second = self.client.users.regenerate_recovery_code(user.user_id).recovery_code
        self.assertRegex(first, r"^[A-Z0-9]{24}$")
        self.assertNotEqual(first, second)
        methods = list(self.client.users.authentication_methods.list(user.user_id))
        self.assertEqual(
            sorted((m.type, m.confirmed) for m in methods), [("recovery-code", True), ("totp", True)]
        )
        self.assertTrue(all(m.created_at is not None for m in methods))
        self.assertNotIn(secret, json.dumps([m.dict() for m in methods], default=str))
        enrollments = self.client.users.enrollments.get(user.user_id)
        self.assertEqual([(e.status, e.auth_method) for e in enrollments], [("confirmed", "authenticator")])
        self.client.users.multifactor.invalidate_remember_browser(user.user_id)
        self.client.users.authenticators.delete_all(user.user_id)
        self.assertEqual(list(self.client.users.authentication_methods.list(user.user_id)), [])
        with self.assertRaises(Exception) as raised:
            self.client.guardian.policies.set(request=["confidence-score"])
        self.assertEqual(getattr(raised.exception, "status_code", None), 400)
        self.client.users.delete(user.user_id)


def main() -> int:
    print(f"auth0-python management client against {BASE_URL}")
    return one_line.run(__name__)


if __name__ == "__main__":
    sys.exit(main())
