"""NFSe by file: lotes RPS, their file and the prefeitura's answer.

Reference: focus-nfe-api-v2.txt "NFSe por Arquivo" (lotes_rps).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sandbox import emission, rules
from sandbox.chave import only_id_chars
from sandbox.clock import iso
from sandbox.wire import FocusError, Request, Response, json_response

if TYPE_CHECKING:
    from sandbox.app import App


def lote_rps_create(app: App, req: Request) -> Response:
    store = app.store
    company, env = emission.company_for(app, req.principal)
    ref = rules.check_ref(req.query.get("ref"), doc_type="nfse")
    data = req.json_object()
    prestador = data.get("prestador")
    lista = data.get("lista_nfse")
    if not isinstance(prestador, dict) or not isinstance(lista, list) or not lista:
        raise FocusError(
            422, "requisicao_invalida", 'Campos "prestador" e "lista_nfse" são obrigatórios'
        )
    for name in ("cnpj", "codigo_municipio", "inscricao_municipal"):
        if not prestador.get(name):
            raise FocusError(
                422, "requisicao_invalida", f'Parâmetro "prestador.{name}" não informado'
            )
    if only_id_chars(prestador["cnpj"]) != company.document:
        raise FocusError(400, "permissao_negada", "CNPJ do prestador não autorizado.")
    if not company.enabled("nfse", env):
        raise FocusError(
            400, "empresa_nao_habilitada", "Emitente ainda não habilitado para emissão de NFSe"
        )
    with store.lock:
        lines = [
            f"LOTE|{ref}|{company.document}|{prestador['inscricao_municipal']}|"
            f"{prestador['codigo_municipio']}|{len(lista)}"
        ]
        rps = []
        for item in lista:
            item = item if isinstance(item, dict) else {}
            numero = store.next_number(company, env, "rps", 1)
            store.take_number(company, env, "rps", 1, numero)
            servico = item.get("servico") or {}
            tomador = item.get("tomador") or {}
            rps.append(numero)
            lines.append(
                "|".join(
                    str(v)
                    for v in (
                        "RPS",
                        numero,
                        "1",
                        item.get("data_emissao", ""),
                        tomador.get("cnpj") or tomador.get("cpf") or "",
                        servico.get("valor_servicos", ""),
                        str(servico.get("discriminacao", "")).replace("|", " "),
                    )
                )
            )
        content = "\r\n".join(lines) + "\r\n"
        store.lotes[(req.principal.token, ref)] = {  # type: ignore[union-attr]
            "content": content,
            "rps": rps,
            "company_id": company.id,
        }
    return Response(
        status=201, body=content.encode("utf-8"), content_type="text/plain; charset=utf-8"
    )


def lote_rps_get(app: App, req: Request, ref: str) -> Response:
    emission.company_for(app, req.principal)
    lote = app.store.lotes.get((req.principal.token, ref))  # type: ignore[union-attr]
    if lote is None:
        raise FocusError(404, "nao_encontrado", "Lote não encontrado")
    return Response(
        status=200, body=lote["content"].encode("utf-8"), content_type="text/plain; charset=utf-8"
    )


def lote_rps_resposta(app: App, req: Request, ref: str) -> Response:
    company, _env = emission.company_for(app, req.principal)
    store = app.store
    with store.lock:
        lote = store.lotes.get((req.principal.token, ref))  # type: ignore[union-attr]
        if lote is None:
            raise FocusError(404, "nao_encontrado", "Lote não encontrado")
        if not req.body.strip():
            raise FocusError(415, "midia_invalida", "Formato de arquivo inválido")
        results = []
        for rps in lote["rps"]:
            numero = store.next_number(company, _env, "lote-nfse", 0)
            store.take_number(company, _env, "lote-nfse", 0, numero)
            results.append(
                {
                    "status": "autorizado",
                    "numero": str(numero),
                    "codigo_verificacao": _digits(f"{ref}|{rps}", 9),
                    "data_emissao": iso(store.clock.now()),
                    "uri": f"{store.base_url}/nfse/lote/{ref}/{numero}",
                }
            )
        return json_response(201, results[0] if len(results) == 1 else results)


def _digits(seed: str, length: int) -> str:
    return f"{int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**length:0{length}d}"
