"""deploy/'s Prometheus rules and Grafana dashboard parse, and name only metrics /metrics has."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.utils import timezone

from metrics import instruments
from tenants.models import Empresa
from tests.conftest import Actor
from tests.metrics.conftest import scrape

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
SCRAPE_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "fiscal-gateway.json"
METRIC = re.compile(r"\bfg_[a-z0-9_]+")

# The alerts issue 13 asks for, by the metric each one watches.
REQUIRED_ALERTS = {
    "fg_stuck_notes", "fg_oldest_pending_seconds", "fg_webhook_deliveries_total",
    "fg_archive_backlog", "fg_certificates_expiring",
}


def alert_rules() -> list[dict]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    document = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in document["panels"] for target in panel["targets"]]


def test_the_rules_and_the_scrape_config_parse() -> None:
    rules = alert_rules()
    assert rules
    for rule in rules:
        assert set(rule) >= {"alert", "expr", "labels", "annotations"}, rule
        assert METRIC.search(rule["expr"]), rule["alert"]
    watched = {name for rule in rules for name in METRIC.findall(rule["expr"])}
    assert watched >= REQUIRED_ALERTS
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    assert config["rule_files"] == ["alerts.yml"]
    assert {job["authorization"]["type"] for job in config["scrape_configs"]} == {"Bearer"}


def test_the_dashboard_is_grafana_json_with_unique_panels() -> None:
    document = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in document["panels"]]
    assert len(ids) == len(set(ids))
    assert all(panel["targets"] for panel in document["panels"])


@pytest.mark.django_db
def test_every_metric_the_rules_and_the_dashboard_name_is_in_the_scrape(
    actor: Actor, make_empresa
) -> None:
    # Closed vocabularies exist from the start; a Focus endpoint's series appear with its
    # first request (tests/metrics/test_note_life.py makes them through the client).
    instruments.focus_requests.labels("GET /v2/nfe/{ref}", "200")
    instruments.focus_request_seconds.labels("GET /v2/nfe/{ref}")
    empresa = make_empresa(actor.tenant)
    Empresa.objects.filter(pk=empresa.pk).update(
        certificado_valido_ate=timezone.now() + timedelta(days=10)
    )
    found = scrape()

    named = {name for expr in dashboard_exprs() for name in METRIC.findall(expr)}
    named |= {name for rule in alert_rules() for name in METRIC.findall(rule["expr"])}
    assert named - found.names == set()
    # And the dashboard shows every family the scrape has.
    families = {re.sub(r"_(total|bucket|count|sum|created)$", "", n) for n in found.names
                if n.startswith("fg_")}
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in named}
    assert families - shown == set()
    # The closed vocabularies are there before anything happened (rate() sees the first one).
    for name, labels in [
        ("fg_notes_total", {"doc_type": "nfsen", "status": "denegado"}),
        ("fg_webhook_deliveries_total", {"outcome": "failed"}),
        ("fg_focus_budget_waits_total", {"urgent": "true"}),
        ("fg_archive_verify_failures_total", {"result": "missing"}),
    ]:
        assert (name, frozenset(labels.items())) in found.samples, (name, labels)
    assert found.value("fg_certificates_expiring", within_days="15") == 1
    assert found.value("fg_certificates_expiring", within_days="7") == 0
    assert 9 * 86400 < found.value("fg_certificate_min_expires_in_seconds") <= 10 * 86400
