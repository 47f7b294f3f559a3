"""Sigil's Authentication API, driven by Auth0's official Python SDK (auth0-python).

Run by scripts/sdk-tests, which starts a Sigil on a free loopback port, creates the fixtures
with the CLI and passes them in the environment:

    SDK_TEST_DOMAIN         127.0.0.1:PORT (the SDK builds {protocol}://{domain}/...)
    SDK_TEST_ISSUER         http://127.0.0.1:PORT/ (exactly the `iss` of Sigil's tokens)
    SDK_TEST_CLIENT_ID      a regular_web client with the password-realm, refresh_token and
    SDK_TEST_CLIENT_SECRET  client_credentials grants
    SDK_TEST_AUDIENCE       an API the client has a client grant for ...
    SDK_TEST_GRANTED_SCOPE  ... with this one scope granted
    SDK_TEST_OTHER_SCOPE    a scope the API defines but the grant does not give
    SDK_TEST_CONNECTION     the database connection (realm)
    SDK_TEST_EMAIL          a user in that connection
    SDK_TEST_PASSWORD       and their password

Every test talks to the server only through the SDK's classes (GetToken, Users, RevokeToken,
Database, AsymmetricSignatureVerifier, TokenVerifier), with protocol="http". Each test gets
the tokens it needs itself, so any one of them can run alone:

    python -m unittest auth0_python_test.Auth0PythonSdk.test_07_refresh_token
"""

from __future__ import annotations

import os
import sys
import unittest
import uuid

from auth0.authentication import Database, GetToken, RevokeToken, Users
from auth0.authentication.token_verifier import (
    AsymmetricSignatureVerifier,
    TokenValidationError,
    TokenVerifier,
)

import one_line

try:  # auth0-python 5 and later
    from auth0.authentication.exceptions import Auth0Error
except ImportError:  # auth0-python 4
    from auth0.exceptions import Auth0Error


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"auth0_python_test: {name} is not set (run this suite with scripts/sdk-tests)")
    return value


DOMAIN = _env("SDK_TEST_DOMAIN")
ISSUER = _env("SDK_TEST_ISSUER")
CLIENT_ID = _env("SDK_TEST_CLIENT_ID")
CLIENT_SECRET = _env("SDK_TEST_CLIENT_SECRET")
AUDIENCE = _env("SDK_TEST_AUDIENCE")
GRANTED_SCOPE = _env("SDK_TEST_GRANTED_SCOPE")
OTHER_SCOPE = _env("SDK_TEST_OTHER_SCOPE")
CONNECTION = _env("SDK_TEST_CONNECTION")
EMAIL = _env("SDK_TEST_EMAIL")
PASSWORD = _env("SDK_TEST_PASSWORD")

PROTOCOL = "http"
JWKS_URL = f"{ISSUER}.well-known/jwks.json"
USERINFO_AUDIENCE = f"{ISSUER}userinfo"
LOGIN_SCOPE = "openid profile email offline_access"

# One verifier for the whole run, as the SDK's documentation asks (it caches the JWKS).
SIGNATURES = AsymmetricSignatureVerifier(JWKS_URL)


def get_token() -> GetToken:
    return GetToken(DOMAIN, CLIENT_ID, client_secret=CLIENT_SECRET, protocol=PROTOCOL)


def id_token_verifier() -> TokenVerifier:
    return TokenVerifier(signature_verifier=SIGNATURES, issuer=ISSUER, audience=CLIENT_ID)


def login(email: str = EMAIL, password: str = PASSWORD, **kwargs) -> dict:
    kwargs.setdefault("scope", LOGIN_SCOPE)
    return get_token().login(username=email, password=password, realm=CONNECTION, **kwargs)


def audiences(claims: dict) -> list[str]:
    aud = claims["aud"]
    return [aud] if isinstance(aud, str) else list(aud)


class Auth0PythonSdk(unittest.TestCase):
    maxDiff = None

    def assert_user_tokens(self, tokens: dict, *, refresh: bool) -> dict:
        """Checks a user token response as the SDK's callers read it; returns the ID token's
        claims, verified by the SDK's TokenVerifier."""
        self.assertIsInstance(tokens, dict, tokens)
        self.assertEqual(tokens.get("token_type"), "Bearer", tokens)
        self.assertIsInstance(tokens.get("expires_in"), int, tokens)
        self.assertIsInstance(tokens.get("access_token"), str, tokens)
        self.assertIsInstance(tokens.get("id_token"), str, tokens)
        if refresh:
            self.assertIsInstance(tokens.get("refresh_token"), str, tokens)
        claims = id_token_verifier().verify(tokens["id_token"])
        self.assertEqual(claims["iss"], ISSUER)
        self.assertIn(CLIENT_ID, audiences(claims))
        self.assertTrue(claims["sub"].startswith("auth0|"), claims)
        return claims

    # --- GetToken.client_credentials ---------------------------------------------------------

    def test_01_client_credentials(self):
        """GetToken.client_credentials: an access token for the API, cut to the granted scope"""
        tokens = get_token().client_credentials(audience=AUDIENCE)
        self.assertEqual(tokens.get("token_type"), "Bearer", tokens)
        self.assertIsInstance(tokens.get("expires_in"), int, tokens)
        self.assertNotIn("id_token", tokens)
        self.assertNotIn("refresh_token", tokens)
        # The SDK's signature verifier accepts the access token too (RS256, kid in the JWKS).
        claims = SIGNATURES.verify_signature(tokens["access_token"])
        self.assertEqual(claims["iss"], ISSUER)
        self.assertEqual(audiences(claims), [AUDIENCE])
        self.assertEqual(claims["sub"], f"{CLIENT_ID}@clients")
        self.assertEqual(claims["azp"], CLIENT_ID)
        self.assertEqual(claims["gty"], "client-credentials")
        self.assertEqual(claims["scope"].split(), [GRANTED_SCOPE])
        self.assertNotIn(OTHER_SCOPE, claims["scope"].split())
        self.assertEqual(tokens.get("scope", claims["scope"]), claims["scope"])

    def test_02_client_credentials_wrong_secret(self):
        """GetToken.client_credentials with a wrong secret: Auth0Error 401 invalid_client"""
        wrong = GetToken(DOMAIN, CLIENT_ID, client_secret="not-the-secret", protocol=PROTOCOL)
        with self.assertRaises(Auth0Error) as caught:
            wrong.client_credentials(audience=AUDIENCE)
        self.assertEqual(caught.exception.status_code, 401, str(caught.exception))
        self.assertEqual(caught.exception.error_code, "invalid_client", str(caught.exception))

    # --- GetToken.login (password-realm) + TokenVerifier -------------------------------------

    def test_03_login_with_realm(self):
        """GetToken.login with a realm: access, ID and refresh tokens; TokenVerifier accepts the ID token"""
        tokens = login()
        claims = self.assert_user_tokens(tokens, refresh=True)
        self.assertEqual(claims["email"], EMAIL)
        # With max_age, TokenVerifier also wants an integer auth_time within it.
        id_token_verifier().verify(tokens["id_token"], max_age=3600)
        self.assertEqual(tokens.get("scope", LOGIN_SCOPE).split(), LOGIN_SCOPE.split())

    def test_04_login_with_realm_and_audience(self):
        """GetToken.login with a realm and an audience: an access token for the API and /userinfo"""
        tokens = login(scope=f"openid email {GRANTED_SCOPE}", audience=AUDIENCE)
        id_claims = self.assert_user_tokens(tokens, refresh=False)
        claims = SIGNATURES.verify_signature(tokens["access_token"])
        self.assertEqual(claims["iss"], ISSUER)
        self.assertEqual(sorted(audiences(claims)), sorted([AUDIENCE, USERINFO_AUDIENCE]))
        self.assertEqual(claims["sub"], id_claims["sub"])
        self.assertEqual(claims["azp"], CLIENT_ID)
        self.assertIn(GRANTED_SCOPE, claims["scope"].split())

    def test_05_token_verifier_refuses_other_audience(self):
        """TokenVerifier refuses our ID token for another audience and another issuer"""
        id_token = login(scope="openid")["id_token"]
        other_aud = TokenVerifier(signature_verifier=SIGNATURES, issuer=ISSUER, audience="someone-else")
        with self.assertRaises(TokenValidationError):
            other_aud.verify(id_token)
        other_iss = TokenVerifier(
            signature_verifier=SIGNATURES, issuer=ISSUER.rstrip("/"), audience=CLIENT_ID
        )
        with self.assertRaises(TokenValidationError):
            other_iss.verify(id_token)

    def test_06_wrong_password(self):
        """GetToken.login with a wrong password: Auth0Error 403 invalid_grant "Wrong email or password.\""""
        for email in (EMAIL, f"nobody-{uuid.uuid4().hex[:8]}@example.com"):
            with self.subTest(email=email):
                with self.assertRaises(Auth0Error) as caught:
                    login(email=email, password="not-the-password")
                error = caught.exception
                self.assertEqual(error.status_code, 403, str(error))
                self.assertEqual(error.error_code, "invalid_grant", str(error))
                self.assertEqual(error.message, "Wrong email or password.")

    # --- GetToken.refresh_token ---------------------------------------------------------------

    def test_07_refresh_token(self):
        """GetToken.refresh_token: a new access token and a new ID token that TokenVerifier accepts"""
        first = login()
        first_claims = self.assert_user_tokens(first, refresh=True)
        tokens = get_token().refresh_token(first["refresh_token"])
        claims = self.assert_user_tokens(tokens, refresh=False)
        # The refreshed ID token keeps the login's auth_time (OIDC Core 12.2), so max_age works.
        id_token_verifier().verify(tokens["id_token"], max_age=3600)
        self.assertEqual(claims["auth_time"], first_claims["auth_time"])
        self.assertEqual(claims["sub"], first_claims["sub"])
        self.assertEqual(claims["email"], EMAIL)
        # The refreshed access token works at /userinfo too.
        profile = Users(DOMAIN, protocol=PROTOCOL).userinfo(tokens["access_token"])
        self.assertEqual(profile["sub"], claims["sub"])

    # --- Users.userinfo -----------------------------------------------------------------------

    def test_08_userinfo(self):
        """Users.userinfo with the login's access token: the user's profile"""
        tokens = login()
        id_claims = id_token_verifier().verify(tokens["id_token"])
        profile = Users(DOMAIN, protocol=PROTOCOL).userinfo(tokens["access_token"])
        self.assertIsInstance(profile, dict, profile)
        self.assertEqual(profile["sub"], id_claims["sub"])
        self.assertEqual(profile["email"], EMAIL)
        self.assertIn("email_verified", profile)
        self.assertIn("name", profile)
        self.assertIn("nickname", profile)

    def test_09_userinfo_bad_token(self):
        """Users.userinfo with a bad token: Auth0Error 401"""
        with self.assertRaises(Auth0Error) as caught:
            Users(DOMAIN, protocol=PROTOCOL).userinfo("not-a-token")
        self.assertEqual(caught.exception.status_code, 401, str(caught.exception))

    # --- RevokeToken --------------------------------------------------------------------------

    def test_10_revoke_then_refresh_fails(self):
        """RevokeToken.revoke_refresh_token, then GetToken.refresh_token: Auth0Error 403 invalid_grant"""
        refresh_token = login()["refresh_token"]
        revoke = RevokeToken(DOMAIN, CLIENT_ID, client_secret=CLIENT_SECRET, protocol=PROTOCOL)
        answer = revoke.revoke_refresh_token(refresh_token)
        self.assertIn(answer, ("", None, {}), answer)
        with self.assertRaises(Auth0Error) as caught:
            get_token().refresh_token(refresh_token)
        self.assertEqual(caught.exception.status_code, 403, str(caught.exception))
        self.assertEqual(caught.exception.error_code, "invalid_grant", str(caught.exception))

    # --- Database.signup ----------------------------------------------------------------------

    def test_11_signup_then_login(self):
        """Database.signup, then GetToken.login as the new user"""
        email = f"signup-{uuid.uuid4().hex[:12]}@example.com"
        password = f"Sdk-{uuid.uuid4().hex[:12]}-Passw0rd!"
        database = Database(DOMAIN, CLIENT_ID, protocol=PROTOCOL)
        created = database.signup(email=email, password=password, connection=CONNECTION)
        self.assertIsInstance(created, dict, created)
        # Auth0 answers {"_id", "email", "email_verified"} (the id without "auth0|").
        self.assertEqual(created.get("email"), email, created)
        self.assertIs(created.get("email_verified"), False, created)
        self.assertIsInstance(created.get("_id"), str, created)

        tokens = login(email=email, password=password)
        claims = self.assert_user_tokens(tokens, refresh=True)
        self.assertEqual(claims["email"], email)
        self.assertEqual(claims["sub"], f"auth0|{created['_id']}")
        profile = Users(DOMAIN, protocol=PROTOCOL).userinfo(tokens["access_token"])
        self.assertEqual(profile["email"], email)

        # Signing up again: 400 invalid_signup, which the SDK reads as the error code.
        with self.assertRaises(Auth0Error) as caught:
            database.signup(email=email, password=password, connection=CONNECTION)
        self.assertEqual(caught.exception.status_code, 400, str(caught.exception))
        self.assertEqual(caught.exception.error_code, "invalid_signup", str(caught.exception))

    def test_12_change_password(self):
        """Database.change_password: the SDK gets Auth0's plain-text answer"""
        database = Database(DOMAIN, CLIENT_ID, protocol=PROTOCOL)
        answer = database.change_password(email=EMAIL, connection=CONNECTION)
        self.assertIsInstance(answer, str, answer)
        self.assertTrue(answer.strip(), "empty answer")


def main() -> int:
    import auth0

    print(f"auth0-python {getattr(auth0, '__version__', '?')} against {PROTOCOL}://{DOMAIN}/")
    return one_line.run(__name__)


if __name__ == "__main__":
    sys.exit(main())
