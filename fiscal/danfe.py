"""DANFe preview: Focus renders the DANFe of a note that is not issued. Nothing is kept.

Reference: focus-nfe-api-v2.txt NFe "Pré-visualização de DANFe" (JSON or XML in, PDF out).
"""

from __future__ import annotations

import logging

from fiscal import inline, services
from fiscal.focus.client import FocusFile
from fiscal.importacao import parse_nfe_xml
from fiscal.validation import parse_json_body, validate_document
from tenants.models import ApiKey

logger = logging.getLogger("fiscal.danfe")


def danfe_preview(*, api_key: ApiKey, body: bytes) -> FocusFile:
    """Focus renders a DANFe of a note that is not issued (stateless): its PDF, passed on."""
    is_xml = body.lstrip().startswith(b"<")
    if is_xml:
        document = parse_nfe_xml(body).emitente
        content_type = "application/xml"
    else:
        _, document = validate_document("nfe", parse_json_body(body))
        content_type = "application/json"
    empresa = services.empresa_for_document(tenant=api_key.tenant, doc_type="nfe",
                                            document=document)
    client = inline.focus_client_for(empresa=empresa, environment=api_key.environment)
    answer = inline.stateless(lambda: client.danfe_preview(body, content_type=content_type))
    logger.info("danfe preview: tenant %s empresa %s (%s) %s bytes", api_key.tenant_id,
                empresa.pk, "xml" if is_xml else "json", len(answer.content))
    return answer
