"""Query parameters read one way for every endpoint: a filter serializer, integers, and the
credential one.

A number from the query string reaches SQL (OFFSET, LIMIT, a bigint column): past what
Postgres holds it fails there as a 500. So each one is an integer within a stated range or
the request is refused with a 400 that names the parameter, in the API's own shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.serializers import Serializer
from rest_framework.utils.urls import remove_query_param

_INTEGER = re.compile(r"^[+-]?\d{1,19}$")  # a bigint has at most 19 digits


def query_params(request: Request, serializer_class: type[Serializer]) -> dict[str, Any]:
    """The query string validated by ``serializer_class``; a 400 in the API's shape if not."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def query_int(params: Mapping[str, str], name: str, *, default: int, minimum: int = 0,
              maximum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not _INTEGER.match(text) or not minimum <= int(text) <= maximum:
        raise ValidationError(
            {name: [f"Must be a whole number from {minimum} to {maximum}."]}
        )
    return int(text)


# The API key may travel as ?token= (Focus-style auth). Links the gateway builds from the
# request's own URL (pagination, the browsable API) would carry it into responses, logs and
# browser histories.
CREDENTIAL_PARAMS = ("token",)


def without_credentials(url: str) -> str:
    for name in CREDENTIAL_PARAMS:
        url = remove_query_param(url, name)
    return url
