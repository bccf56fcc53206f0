"""Importação of an NFe issued elsewhere: its XML becomes a note of the tenant's.

Reference: focus-nfe-api-v2.txt NFe "Importação" (raw XML body, ``ref`` defaults to the chave,
answer = the consulta). The note goes through the one emission path (fiscal/emission.py); its
POST is the XML (FocusClient.import_xml).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from core.documents import normalize
from core.errors import FocusError
from fiscal import emission, services
from fiscal.steps import StepResult
from fiscal.validation import validate_ref
from tenants.models import ApiKey

# --- NFe XML ---------------------------------------------------------------------------------

_XML_ERROR = FocusError(
    "erro_validacao_xml",
    "O XML não pode ser interpretado, verifique seu conteúdo e tente novamente",
    status_code=422,
)
# An NFe never carries a DTD; refusing one keeps entity tricks (billion laughs, external
# entities) away from the parser without a new dependency.
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class NFeXml:
    chave: str
    emitente: str


def parse_nfe_xml(raw: bytes) -> NFeXml:
    """The chave and the emitter's CNPJ/CPF of an NFe XML (nfeProc or NFe), or Focus's 422."""
    if not raw.strip() or _DTD.search(raw):
        raise _XML_ERROR
    try:
        root = ET.fromstring(raw)  # noqa: S314 - no DTD allowed (above); expat resolves nothing
    except ET.ParseError:
        raise _XML_ERROR from None

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    inf = next((el for el in root.iter() if local(el.tag) == "infNFe"), None)
    emit = next((el for el in root.iter() if local(el.tag) == "emit"), None)
    if inf is None or emit is None:
        raise _XML_ERROR
    chave = inf.get("Id", "").removeprefix("NFe")
    documento = next(
        (normalize(el.text or "") for el in emit if local(el.tag) in ("CNPJ", "CPF")), ""
    )
    if len(chave) != 44 or not documento:
        raise _XML_ERROR
    return NFeXml(chave=chave, emitente=documento)


# --- importação --------------------------------------------------------------------------------

def importacao_request(*, api_key: ApiKey, ref: str | None, xml: bytes) -> StepResult:
    """Import an NFe issued elsewhere: a note like any other (fiscal/emission.py), whose POST
    is the XML. Focus answers it in the same request.

    Rules as for an emission: the emitter must be the tenant's company, enabled for NFe; the
    ref is unique per tenant/environment/type and may be reused only after erro_autorizacao.
    """
    parsed = parse_nfe_xml(xml)
    # Focus's rule: without ?ref= the note's ref is "NFe" + chave.
    ref = validate_ref(ref or f"NFe{parsed.chave}")
    empresa = services.empresa_for_document(tenant=api_key.tenant, doc_type="nfe",
                                            document=parsed.emitente)
    # The XML as received is the note's payload: it is the only copy of the document we have
    # until Focus answers and the archive keeps its own.
    payload = {"importacao": True, "chave": parsed.chave, "xml": xml.decode("utf-8", "replace")}
    accepted = services.note_persist(api_key=api_key, empresa=empresa, doc_type="nfe", ref=ref,
                                     payload=payload)
    return emission.note_submit(accepted=accepted)
