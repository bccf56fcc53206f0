"""Focus calls made inside the tenant's request: one way to call, one way to classify.

Every synchronous side of the facade (operations on a note, inutilizações, DANFe preview, lotes
RPS) persists what it must first, then calls Focus within a deadline and meets one of four
outcomes, each handled by the caller:

- ``answered``: Focus answered 2xx;
- ``refused``: Focus answered 4xx with its error body (it processed the request and said no);
- ``in_doubt``: the request may have reached Focus and we do not know what it did (timeout,
  reset, 5xx, an unreadable answer). Never sent again blindly;
- ``not_sent``: nothing reached Focus (refused connection, 429, no request left for the token).
  Safe to try again; by default the tenant gets Focus's 429 (with Retry-After) or a 503.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from django.conf import settings

from core.errors import FocusError
from fiscal.focus.client import (
    FocusClient,
    FocusFile,
    FocusRateLimited,
    FocusRejected,
    FocusUpstreamError,
)
from fiscal.models import NoteStatus
from tenants.models import Empresa

logger = logging.getLogger("fiscal.inline")

T = TypeVar("T")
R = TypeVar("R")


def inline_timeout() -> float:
    """Deadline of a Focus call made inside the tenant's request."""
    return settings.FG_OPERATION_INLINE_TIMEOUT


def focus_client_for(*, empresa: Empresa, environment: str,
                     timeout: float | None = None) -> FocusClient:
    """A client for the company's token in ``environment``, urgent (the tenant waits)."""
    token = empresa.focus_token(environment)
    if not token:
        # Our configuration, not the tenant's request: say so in Focus's words.
        raise FocusError(
            "permissao_negada",
            f"Empresa sem token Focus para o ambiente {environment}.",
            status_code=403,
        )
    return FocusClient(environment=environment, token=token, tenant_id=empresa.tenant_id,
                       urgent=True, timeout=inline_timeout() if timeout is None else timeout)


class RateLimitedError(FocusError):
    """429 in Focus's shape, with the wait in Retry-After."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            "limite_requisicoes",
            "Limite de requisições por minuto excedido. Tente novamente em instantes.",
            status_code=429,
        )
        self.retry_after = max(1, round(retry_after))

    def headers(self) -> dict[str, str]:
        """Focus's own announcement of a passed limit (SUPPLEMENT.md "Rate limit"): the
        token's limit, nothing left, the seconds until it resets, and Retry-After."""
        return {"Rate-Limit-Limit": str(settings.FG_FOCUS_RATE_LIMIT),
                "Rate-Limit-Remaining": "0", "Rate-Limit-Reset": str(self.retry_after),
                "Retry-After": str(self.retry_after)}


def not_sent_error(exc: FocusUpstreamError) -> FocusError:
    """What the tenant hears when nothing reached Focus: 429 to wait, or 503 to try again."""
    if isinstance(exc, FocusRateLimited):
        return RateLimitedError(exc.retry_after)
    logger.warning("Focus call not sent: %s", exc)
    return FocusError(
        "servico_indisponivel",
        "Focus NFe indisponível no momento; nada foi enviado. Tente novamente.",
        status_code=503,
    )


def raise_not_sent(exc: FocusUpstreamError) -> NoReturn:
    raise not_sent_error(exc) from None


def call(
    request: Callable[[], T],
    *,
    answered: Callable[[T], R],
    refused: Callable[[FocusRejected], R],
    in_doubt: Callable[[FocusUpstreamError], R],
    not_sent: Callable[[FocusUpstreamError], R] = raise_not_sent,
) -> R:
    """Make one Focus call and hand its outcome to the matching handler (module docstring)."""
    try:
        value = request()
    except FocusRejected as exc:
        return refused(exc)
    except FocusUpstreamError as exc:
        return in_doubt(exc) if exc.sent else not_sent(exc)
    return answered(value)


def unanswered(exc: FocusUpstreamError) -> NoReturn:
    """A stateless call that may have reached Focus: nothing of ours to keep, so say so."""
    raise FocusError(
        "servico_indisponivel",
        "Focus NFe não respondeu a tempo. Nada foi guardado; tente novamente.",
        status_code=503,
    ) from None


def json_file(status_code: int, body: Any) -> FocusFile:
    """A JSON body (Focus's refusal, our 202) where the facade passes files on."""
    return FocusFile(status_code=status_code, content_type="application/json",
                     content=json.dumps(body, ensure_ascii=False).encode())


def stateless(request: Callable[[], FocusFile], *,
              in_doubt: Callable[[FocusUpstreamError], FocusFile] = unanswered) -> FocusFile:
    """A call with nothing to keep (DANFe preview, lotes RPS): Focus's answers and refusals
    pass through as it gave them, failures become 429 / 503."""
    return call(request, answered=lambda answer: answer,
                refused=lambda exc: json_file(exc.status_code, exc.body), in_doubt=in_doubt)


@dataclass
class Answer:
    """What the facade renders: Focus's status code and body (JSON) for the tenant."""

    status_code: int
    body: dict[str, Any]


def in_doubt_body(mensagem: str, **extra: Any) -> dict[str, Any]:
    """The 202 answer after an ambiguous call (sent, outcome unknown).

    ``processando_autorizacao`` is Focus's own word for "not decided yet", so a client written
    for Focus treats it like an NFe still being processed; ``mensagem`` says what to do next.
    """
    return {"status": NoteStatus.PROCESSANDO.value, "mensagem": mensagem, **extra}
