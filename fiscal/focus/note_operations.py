"""The operations Focus offers on an existing note, and the paths they take.

Apart from the client so that signals.py (below the client) can name their path segments.
"""

from __future__ import annotations

# Operations on an existing note: name -> (method, path after /v2/<doc>/<ref>). The one list of
# them: the client calls by it, the facade routes and dispatches by it, fiscal/operations.py
# says what each one means and the model's FiscalEvent.Kind stores its names.
# Reference: focus-nfe-api-v2.txt "Cancelamento", "Carta de Correção Eletrônica", "Ator
# Interessado", "Insucesso na Entrega", "Reenvio de email".
NOTE_OPERATIONS: dict[str, tuple[str, str]] = {
    "cancelamento": ("DELETE", ""),
    "carta_correcao": ("POST", "carta_correcao"),
    "ator_interessado": ("POST", "ator_interessado"),
    "insucesso_entrega": ("POST", "insucesso_entrega"),
    "cancelamento_insucesso": ("DELETE", "insucesso_entrega"),
    "email": ("POST", "email"),
    # Reference: FocusNFe/api-doc _nfe.md "Eventos" (tipo_evento in the body).
    "evento": ("POST", "evento"),
}
