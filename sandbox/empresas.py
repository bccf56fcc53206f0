"""`/v2/empresas`: the reseller (account) token manages companies and receives their tokens.

Reference: SUPPLEMENT.md "Empresas". The certificate cannot be checked for real here: any valid
base64 is accepted as a certificate of the company, valid for a year from now. Three passwords
simulate Focus's certificate errors, answered in Focus's words (422 ``erro_validacao`` on
``arquivo_certificado_base64``): `SANDBOX:SENHA_ERRADA`, `SANDBOX:OUTRO_CNPJ`, `SANDBOX:VENCIDO`.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from sandbox.chave import only_id_chars, valid_cnpj, valid_cpf
from sandbox.clock import iso
from sandbox.state import Company, Store
from sandbox.wire import FocusError, Principal, Request, Response, json_response

if TYPE_CHECKING:
    from sandbox.app import App

PAGE_SIZE = 50
_SECRET_FIELDS = ("arquivo_certificado_base64", "senha_certificado")
_YEAR = 365 * 24 * 3600.0
_INVALID_JSON = FocusError(400, "parametros_invalidos", "JSON inválido")
_INSTALL_FAILED = (
    "Arquivo certificado base64 Houve um erro ao instalar o certificado, verifique se a senha "
    "está correto e o arquivo está no formato PFX ou P12 codificado em base64"
)
_CERTIFICATE_PROBLEMS = {
    "SANDBOX:SENHA_ERRADA": _INSTALL_FAILED,
    "SANDBOX:OUTRO_CNPJ": "Arquivo certificado base64 Certificado não pertence ao CNPJ informado",
    "SANDBOX:VENCIDO": "Arquivo certificado base64 Certificado com prazo de validade vencido",
}


def _require_account(principal: Principal | None) -> None:
    if principal is None or principal.kind != "account":
        raise FocusError(
            403, "permissao_negada", "Apenas o token de revenda pode gerenciar empresas"
        )


def _get(store: Store, company_id: str) -> Company:
    company = store.companies.get(company_id)
    if company is None:
        raise FocusError(404, "nao_encontrado", "Empresa não encontrada")
    return company


def _validate(store: Store, data: dict[str, Any], *, current: Company | None) -> list[dict]:
    erros: list[dict[str, Any]] = []

    def erro(campo: str, codigo: str, mensagem: str) -> None:
        erros.append({"codigo": codigo, "mensagem": mensagem, "campo": campo})

    merged = {**(current.data if current else {}), **data}
    if not merged.get("nome"):
        erro("nome", "nao_informado", "Nome não informado")
    cnpj, cpf = only_id_chars(merged.get("cnpj")), only_id_chars(merged.get("cpf"))
    if not cnpj and not cpf:
        erro("cnpj", "nao_informado", "CNPJ ou CPF não informado")
    if cnpj and not valid_cnpj(cnpj):
        erro("cnpj", "invalido", "CNPJ inválido")
    if cpf and not cnpj and not valid_cpf(cpf):
        erro("cpf", "invalido", "CPF inválido")
    document = cnpj or cpf
    other = store.find_company(document) if document else None
    if other is not None and other is not current:
        erro("cnpj" if cnpj else "cpf", "ja_cadastrado", "Empresa já cadastrada com este documento")
    if "regime_tributario" in data and str(data["regime_tributario"]) not in {"1", "2", "3", "4"}:
        erro("regime_tributario", "invalido", "Regime tributário inválido")
    if data.get("arquivo_certificado_base64"):
        # Focus's own words for each certificate problem (_empresas.md, "Status API").
        try:
            base64.b64decode(str(data["arquivo_certificado_base64"]), validate=True)
            senha = str(data.get("senha_certificado") or "")
            problem = _CERTIFICATE_PROBLEMS.get(senha) if senha else _INSTALL_FAILED
        except (binascii.Error, ValueError):
            problem = _INSTALL_FAILED
        if problem:
            erro("arquivo_certificado_base64", "erro_validacao", problem)
    return erros


def _apply_certificate(store: Store, data: dict[str, Any]) -> dict[str, Any]:
    """Replace the secret certificate fields by what Focus answers about the certificate."""
    fields = {k: v for k, v in data.items() if k not in _SECRET_FIELDS}
    if data.get("arquivo_certificado_base64"):
        now = store.clock.now()
        fields["certificado_valido_de"] = iso(now)
        fields["certificado_valido_ate"] = iso(now + _YEAR)
        fields["certificado_cnpj"] = only_id_chars(data.get("cnpj") or data.get("cpf"))
    return fields


def create(app: App, req: Request) -> Response:
    _require_account(req.principal)
    data = req.json_object(invalid=_INVALID_JSON)
    store = app.store
    with store.lock:
        erros = _validate(store, data, current=None)
        if erros:
            raise FocusError(422, "erro_validacao", "Erro de validação", erros=erros)
        fields = _apply_certificate(store, data)
        if req.flag("dry_run"):
            preview = Company(
                id="dry_run",
                data=fields,
                token_homologacao="",
                token_producao="",
                created_at=store.clock.now(),
            )
            return json_response(200, preview.public(with_tokens=False))
        company = store.add_company(
            {k: v for k, v in fields.items() if k not in ("token_homologacao", "token_producao")}
        )
        # Reference: FocusNFe/api-doc _empresas.md, "Criação de empresa": 200 OK.
        return json_response(200, company.public(with_tokens=True))


def listing(app: App, req: Request) -> Response:
    _require_account(req.principal)
    store = app.store
    with store.lock:
        found = list(store.companies.values())
        cnpj, cpf = only_id_chars(req.query.get("cnpj")), only_id_chars(req.query.get("cpf"))
        if cnpj:
            found = [c for c in found if c.cnpj == cnpj]
        if cpf:
            found = [c for c in found if c.cpf == cpf]
        try:
            offset = max(0, int(req.query.get("offset") or 0))
        except ValueError:
            offset = 0
        page = [c.public(with_tokens=False) for c in found[offset : offset + PAGE_SIZE]]
        return json_response(200, page, headers={"X-Total-Count": str(len(found))})


def detail(app: App, req: Request, company_id: str) -> Response:
    _require_account(req.principal)
    with app.store.lock:
        return json_response(200, _get(app.store, company_id).public(with_tokens=True))


def update(app: App, req: Request, company_id: str) -> Response:
    _require_account(req.principal)
    data = req.json_object(invalid=_INVALID_JSON)
    data = {k: v for k, v in data.items() if k not in ("id", "token_producao", "token_homologacao")}
    store = app.store
    with store.lock:
        company = _get(store, company_id)
        erros = _validate(store, data, current=company)
        if erros:
            raise FocusError(422, "erro_validacao", "Erro de validação", erros=erros)
        fields = _apply_certificate(store, data)
        for key in ("cnpj", "cpf"):
            if fields.get(key):
                fields[key] = only_id_chars(fields[key])
        if req.flag("dry_run"):
            preview = Company(
                id=company.id,
                data={**company.data, **fields},
                token_homologacao=company.token_homologacao,
                token_producao=company.token_producao,
                created_at=company.created_at,
            )
            return json_response(200, preview.public(with_tokens=True))
        company.data.update(fields)
        return json_response(200, company.public(with_tokens=True))


def delete(app: App, req: Request, company_id: str) -> Response:
    _require_account(req.principal)
    store = app.store
    with store.lock:
        company = _get(store, company_id)
        if req.flag("dry_run"):
            return json_response(200, company.public(with_tokens=False))
        store.remove_company(company.id)
        return json_response(200, {**company.public(with_tokens=False), "deleted": True})
