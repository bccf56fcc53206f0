"""Fingerprint every company's Focus tokens, then allow each token to one tenant only."""

from __future__ import annotations

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations, models

from core.constraints import PostgresExclusionConstraint
from core.crypto import secret_fingerprint

ENVIRONMENTS = ("homologacao", "producao")


def fill_fingerprints(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    Empresa = apps.get_model("tenants", "Empresa")
    # The historical model keeps core.crypto's field: the tokens are read decrypted.
    values: dict[int, dict[str, str]] = {}
    owners: dict[tuple[str, str], set[int]] = {}
    for empresa in Empresa.objects.only(
        "pk", "tenant_id", "token_homologacao", "token_producao"
    ).iterator(chunk_size=500):
        row = values[empresa.pk] = {}
        for environment in ENVIRONMENTS:
            fingerprint = secret_fingerprint(getattr(empresa, f"token_{environment}"))
            row[f"token_{environment}_fingerprint"] = fingerprint
            if fingerprint:
                owners.setdefault((environment, fingerprint), set()).add(empresa.tenant_id)
    shared = {key: tenants for key, tenants in owners.items() if len(tenants) > 1}
    if shared:
        # Checked before anything is written, and nothing is picked silently: which tenant
        # keeps a token is a decision for the staff.
        detail = "; ".join(f"{env} token shared by tenants {sorted(tenants)}"
                           for (env, _), tenants in shared.items())
        raise RuntimeError(
            "Focus tokens registered by more than one tenant; give each token to one tenant "
            f"(clear it on the others' companies) and migrate again: {detail}"
        )
    for pk, row in values.items():
        Empresa.objects.filter(pk=pk).update(**row)


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0002_tenant_rate_limit'),
    ]

    operations = [
        # An exclusion constraint mixing = on text with <> on the tenant id needs btree_gist
        # (a trusted extension since PostgreSQL 13: the database owner may create it).
        BtreeGistExtension(),
        migrations.AddField(
            model_name='empresa',
            name='token_homologacao_fingerprint',
            field=models.CharField(blank=True, default='', editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='empresa',
            name='token_producao_fingerprint',
            field=models.CharField(blank=True, default='', editable=False, max_length=64),
        ),
        migrations.RunPython(fill_fingerprints, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='empresa',
            constraint=PostgresExclusionConstraint(condition=models.Q(('token_homologacao_fingerprint', ''), _negated=True), expressions=[('token_homologacao_fingerprint', '='), ('tenant', '<>')], name='empresa_token_homologacao_one_tenant'),
        ),
        migrations.AddConstraint(
            model_name='empresa',
            constraint=PostgresExclusionConstraint(condition=models.Q(('token_producao_fingerprint', ''), _negated=True), expressions=[('token_producao_fingerprint', '='), ('tenant', '<>')], name='empresa_token_producao_one_tenant'),
        ),
    ]
