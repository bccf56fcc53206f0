from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from tenants.models import Environment
from tenants.services import api_key_create, tenant_create


class Command(BaseCommand):
    help = "Create a tenant and print one test and one live API key (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        with transaction.atomic():
            tenant = tenant_create(name=name)
            test = api_key_create(tenant=tenant, environment=Environment.HOMOLOGACAO, name="test")
            live = api_key_create(tenant=tenant, environment=Environment.PRODUCAO, name="live")
        self.stdout.write(f"tenant {tenant.pk}: {tenant.name}")
        self.stdout.write(f"test key (homologacao): {test.raw}")
        self.stdout.write(f"live key (producao):    {live.raw}")
        self.stdout.write("These keys are shown only now; only their hashes are stored.")
