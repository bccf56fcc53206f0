from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Postgres text and jsonb refuse NUL, and a lone surrogate cannot be encoded as UTF-8: either
# would reach the database (or a log, or Focus) and fail there as a 500. Refused at the door.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnacceptableJSON(ParseError):
    """Well-formed JSON holding a value no part of the gateway can store or send on."""

    default_code = "invalid_json_value"


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _refuse_unstorable(value: Any) -> None:
    """Every string (keys too) free of NUL and lone surrogates; walked without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise UnacceptableJSON(
                    "JSON strings must not contain NUL (\\u0000) or unpaired surrogates."
                )
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _finite_float(text: str) -> float:
    # 1e400 is valid JSON syntax but parses to Infinity, which jsonb and Focus both refuse.
    number = float(text)
    if not math.isfinite(number):
        raise UnacceptableJSON(f"JSON number {text[:40]} is out of range.")
    return number


def _no_constant(name: str) -> None:
    raise UnacceptableJSON(f"JSON has no {name}.")


class StrictJSONParser(JSONParser):
    """JSON only, within a depth limit, with only values the gateway can store; anything else
    is a parse error in the API's shape. Every endpoint's body goes through here."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            decoded = codecs.getreader(encoding)(stream)
            data = json.load(decoded, parse_float=_finite_float, parse_constant=_no_constant)
        except UnacceptableJSON:
            raise
        except RecursionError as exc:  # json.loads gives up on absurd nesting this way
            raise ParseError("JSON is nested too deeply.") from exc
        except (ValueError, json.JSONDecodeError) as exc:  # UnicodeDecodeError included
            raise ParseError(f"Malformed JSON: {exc}") from exc
        if json_depth(data) > settings.FG_MAX_JSON_DEPTH:
            raise ParseError(
                f"JSON is nested deeper than {settings.FG_MAX_JSON_DEPTH} levels."
            )
        _refuse_unstorable(data)
        return data


class FocusBodyParser(StrictJSONParser):
    """Focus reads the body as JSON whatever the Content-Type says, and its own examples rely
    on it (``curl -d`` sends application/x-www-form-urlencoded, PHP's CURLOPT_POSTFIELDS too).
    The facade does the same, so that Focus clients work unchanged."""

    media_type = "*/*"
