from __future__ import annotations

import json
import os
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from tenants.models import ApiKey, Empresa, Environment, Tenant
from tenants.services import api_key_create, empresa_create, tenant_create

DEMO_TENANT = "Demo"
DEMO_CNPJ = "11222333000181"
# Under VAR_DIR: the demo key and curls, for demo_ready to print again.
DEMO_FILE = "demo.txt"


class Command(BaseCommand):
    help = (
        "Create (once) a demo tenant and company, issue a fresh demo test key (printed, and "
        "written to var/demo.txt; earlier demo keys are revoked) and write the sandbox's "
        "company file."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            tenant = Tenant.objects.filter(name=DEMO_TENANT).order_by("id").first()
            if tenant is None:
                tenant = tenant_create(name=DEMO_TENANT)
            empresa = Empresa.objects.filter(tenant=tenant, cnpj=DEMO_CNPJ).first()
            if empresa is None:
                empresa = empresa_create(
                    tenant=tenant,
                    data={
                        "cnpj": DEMO_CNPJ,
                        "nome": "Empresa Demonstração Ltda",
                        "nome_fantasia": "Demo",
                        "uf": "SP",
                        "municipio": "São Paulo",
                        "codigo_municipio": "3550308",
                        "inscricao_estadual": "110042490114",
                        "regime_tributario": 1,
                        "habilita_nfe": True,
                        "habilita_nfce": True,
                        "habilita_nfse": True,
                        "habilita_nfsen": True,
                        "token_homologacao": secrets.token_hex(16),
                        "token_producao": secrets.token_hex(16),
                    },
                )
            ApiKey.objects.filter(tenant=tenant, name="demo", revoked_at=None).update(
                revoked_at=timezone.now()
            )
            issued = api_key_create(
                tenant=tenant, environment=Environment.HOMOLOGACAO, name="demo"
            )
        self._write_sandbox_companies(empresa)
        nfe_path = settings.VAR_DIR / "demo-nfe.json"
        nfe_path.write_text(json.dumps(_demo_nfe(empresa.cnpj), indent=2, ensure_ascii=False))
        base = settings.FG_PUBLIC_URL
        lines = [
            "Demo tenant ready.",
            f"  tenant:  {tenant.name} (id {tenant.pk})",
            f"  empresa: {empresa.nome} CNPJ {empresa.cnpj} (id {empresa.pk})",
            f"  test key: {issued.raw}",
            f"  try:     curl -u {issued.raw}: {base}/api/v1/empresas",
            f"  emit:    curl -u {issued.raw}: -H 'Content-Type: application/json' "
            f"'{base}/v2/nfe?ref=demo-{secrets.token_hex(3)}' -d @{nfe_path}",
            f"  query:   curl -u {issued.raw}: {base}/v2/nfe/<ref>",
        ]
        # Kept where `make run` can show it again once everything is up (demo_ready): the log
        # lines that follow would otherwise scroll it away. A homologação key, readable by the
        # owner only, replaced (and the old key revoked) on every run.
        demo_path = settings.VAR_DIR / DEMO_FILE
        with os.fdopen(os.open(demo_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write("\n".join(lines) + "\n")
        demo_path.chmod(0o600)  # a file left by an earlier run keeps its mode on open
        self.stdout.write(self.style.SUCCESS(lines[0]))
        for line in lines[1:]:
            self.stdout.write(line)
        self.stdout.write(f"  (also in {demo_path})")

    def _write_sandbox_companies(self, empresa: Empresa) -> None:
        """The bundled Focus sandbox loads this file so the demo company's tokens work there."""
        path = settings.VAR_DIR / "sandbox-companies.json"
        company = {
            "cnpj": empresa.cnpj,
            "nome": empresa.nome,
            "uf": empresa.uf,
            "regime_tributario": empresa.regime_tributario,
            "habilita_nfe": empresa.habilita_nfe,
            "habilita_nfce": empresa.habilita_nfce,
            "habilita_nfse": empresa.habilita_nfse,
            "habilita_nfsen_homologacao": empresa.habilita_nfsen,
            "habilita_nfsen_producao": empresa.habilita_nfsen,
            "token_homologacao": empresa.token_homologacao,
            "token_producao": empresa.token_producao,
        }
        path.write_text(json.dumps([company], indent=2))
        path.chmod(0o600)


def _demo_nfe(cnpj: str) -> dict[str, Any]:
    """The documentation's example NFe, for the demo company (homologação rules apply)."""
    return {
        "natureza_operacao": "Remessa",
        "data_emissao": timezone.now().isoformat(timespec="seconds"),
        "tipo_documento": 1,
        "finalidade_emissao": 1,
        "cnpj_emitente": cnpj,
        "nome_destinatario": "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL",
        "cpf_destinatario": "03055054911",
        "valor_total": 47.23,
        "valor_produtos": 47.23,
        "modalidade_frete": 0,
        "items": [{
            "numero_item": 1, "codigo_produto": 1232, "descricao": "Cartões de Visita",
            "cfop": 5923, "unidade_comercial": "un", "quantidade_comercial": 100,
            "valor_unitario_comercial": 0.4723, "valor_unitario_tributavel": 0.4723,
            "unidade_tributavel": "un", "codigo_ncm": 49111090, "quantidade_tributavel": 100,
            "valor_bruto": 47.23, "icms_situacao_tributaria": "400", "icms_origem": 0,
            "pis_situacao_tributaria": "07", "cofins_situacao_tributaria": "07",
        }],
    }
