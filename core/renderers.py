"""The browsable API, without the API key a request sent as ``?token=``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, quote_plus

from django.utils.html import escape
from rest_framework.renderers import BrowsableAPIRenderer

from core.params import CREDENTIAL_PARAMS, without_credentials


class CredentialFreeBrowsableAPIRenderer(BrowsableAPIRenderer):
    """The page echoes the request's URL (header line, format links, forms); a key sent as
    ``?token=`` would sit in the HTML, the browser history and any screenshot of it.

    The request's query string loses the credential before the page is built, so every URL
    the page derives from it comes out without; and as a backstop, any copy of the key value
    left in the page (a serializer echoing it, say) is masked.
    """

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: dict[str, Any] | None = None) -> Any:
        request = (renderer_context or {}).get("request")
        secrets: list[str] = []
        if request is not None:
            for name in CREDENTIAL_PARAMS:
                secrets.extend(v for v in request.query_params.getlist(name) if v)
            meta = request._request.META
            if meta.get("QUERY_STRING"):
                meta["QUERY_STRING"] = without_credentials("?" + meta["QUERY_STRING"])[1:]
        page = super().render(data, accepted_media_type, renderer_context)
        text = page.decode() if isinstance(page, bytes) else page
        for secret in secrets:
            for form in {secret, quote(secret, safe=""), quote_plus(secret), escape(secret)}:
                text = text.replace(form, "********")
        return text.encode() if isinstance(page, bytes) else text
