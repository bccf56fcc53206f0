"""API-key authentication, the three ways Focus clients send a token.

- HTTP Basic with the key as user name and an empty password (Focus's documented way);
- ``Authorization: Bearer <key>``;
- ``?token=<key>`` (Focus accepts it; kept for compatibility and redacted from every log line).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.logging import log_bind
from tenants.models import ApiKey, Tenant
from tenants.services import api_key_authenticate


@dataclass(frozen=True)
class KeyPrincipal:
    """request.user for API-key requests: the tenant acting through one key."""

    api_key: ApiKey

    @property
    def tenant(self) -> Tenant:
        return self.api_key.tenant

    is_authenticated = True
    is_staff = False
    is_active = True
    pk = None


def raw_key_from(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if scheme.lower() == "basic" and credentials.strip():
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed("Malformed Basic credentials.") from None
        user, _, _password = decoded.partition(":")
        return user or None
    token = request.query_params.get("token")
    return token or None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[KeyPrincipal, ApiKey] | None:
        raw = raw_key_from(request)
        if raw is None:
            return None
        api_key = api_key_authenticate(raw=raw)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        log_bind(tenant_id=api_key.tenant_id)
        return KeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to a request with no key on the native API.
        return 'Bearer realm="fiscal-gateway"'


class HasApiKey(BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, ApiKey)
