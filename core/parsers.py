from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


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


class StrictJSONParser(JSONParser):
    """JSON only, within a depth limit; anything else is a parse error in the API's shape."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:  # json.loads gives up on absurd nesting this way
            raise ParseError("JSON is nested too deeply.") from exc
        except (ValueError, json.JSONDecodeError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc
        if json_depth(data) > settings.FG_MAX_JSON_DEPTH:
            raise ParseError(
                f"JSON is nested deeper than {settings.FG_MAX_JSON_DEPTH} levels."
            )
        return data


class FocusBodyParser(StrictJSONParser):
    """Focus reads the body as JSON whatever the Content-Type says, and its own examples rely
    on it (``curl -d`` sends application/x-www-form-urlencoded, PHP's CURLOPT_POSTFIELDS too).
    The facade does the same, so that Focus clients work unchanged."""

    media_type = "*/*"
