"""Certificate validity: warnings at 30, 15, 7, 1 days and at expiry, once each; emission
refused with Focus's certificado_vencido once expired."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from fiscal.models import Note
from tenants.models import Empresa
from tests.conftest import Actor
from tests.sandbox.helpers import nfe_payload
from webhooks.certificates import certificate_notices_publish
from webhooks.models import CertificateNotice, Delivery, Event, EventType


def _expiring(make_empresa, actor: Actor, *, in_days: float) -> Empresa:
    empresa = make_empresa(actor.tenant)
    empresa.certificado_valido_ate = timezone.now() + timedelta(days=in_days)
    empresa.save(update_fields=["certificado_valido_ate"])
    return empresa


def _events(tenant) -> list[tuple[str, int]]:
    return [(e.type, e.data["days_left"])
            for e in Event.objects.filter(tenant=tenant).order_by("sequence")]


def test_each_threshold_is_published_once(actor: Actor, other: Actor, make_empresa) -> None:
    empresa = _expiring(make_empresa, actor, in_days=40)
    theirs = _expiring(make_empresa, other, in_days=400)
    ate = empresa.certificado_valido_ate
    now = timezone.now()
    assert certificate_notices_publish(now=now) == 0

    for days_before, expected in ((29, 30), (14, 15), (6, 7), (0.5, 1), (-1, 0)):
        moment = ate - timedelta(days=days_before)
        assert certificate_notices_publish(now=moment) == 1
        assert certificate_notices_publish(now=moment) == 0  # idempotent: nothing re-sent
        assert _events(actor.tenant)[-1] == (
            EventType.CERTIFICATE_EXPIRED if expected == 0 else EventType.CERTIFICATE_EXPIRING,
            expected,
        )
    assert _events(actor.tenant) == [
        ("empresa.certificate_expiring", 30), ("empresa.certificate_expiring", 15),
        ("empresa.certificate_expiring", 7), ("empresa.certificate_expiring", 1),
        ("empresa.certificate_expired", 0),
    ]
    event = Event.objects.filter(tenant=actor.tenant).last()
    assert event.empresa_id == empresa.pk
    assert event.data["cnpj"] == empresa.cnpj
    assert CertificateNotice.objects.filter(empresa=empresa).count() == 5
    assert _events(other.tenant) == []  # the other tenant's company is far from expiry
    assert CertificateNotice.objects.filter(empresa=theirs).count() == 0


def test_a_certificate_learned_late_gets_only_the_tightest_warning(actor: Actor,
                                                                   make_empresa) -> None:
    _expiring(make_empresa, actor, in_days=5)
    assert certificate_notices_publish() == 1
    assert _events(actor.tenant) == [("empresa.certificate_expiring", 7)]


def test_a_renewed_certificate_starts_its_warnings_over(actor: Actor, make_empresa) -> None:
    empresa = _expiring(make_empresa, actor, in_days=3)
    assert certificate_notices_publish() == 1
    empresa.certificado_valido_ate = timezone.now() + timedelta(days=20)
    empresa.save(update_fields=["certificado_valido_ate"])
    assert certificate_notices_publish() == 1
    assert _events(actor.tenant) == [("empresa.certificate_expiring", 7),
                                     ("empresa.certificate_expiring", 30)]


def test_a_subscribed_endpoint_gets_a_delivery(actor: Actor, other: Actor, make_empresa,
                                               settings) -> None:
    settings.FG_WEBHOOKS_ALLOW_LOOPBACK = True
    response = actor.client.post("/api/v1/webhook-endpoints", {
        "url": "http://127.0.0.1:9/certs",
        "event_types": ["empresa.certificate_expiring", "empresa.certificate_expired"],
    }, format="json")
    assert response.status_code == 201, response.json()
    _expiring(make_empresa, actor, in_days=10)
    _expiring(make_empresa, other, in_days=10)
    assert certificate_notices_publish() == 2
    [delivery] = Delivery.objects.filter(endpoint__tenant=actor.tenant)
    assert delivery.event.type == "empresa.certificate_expiring"
    assert delivery.event.data["days_left"] == 15


def test_emission_is_refused_with_focus_error_once_expired(actor: Actor, other: Actor,
                                                          make_empresa) -> None:
    empresa = _expiring(make_empresa, actor, in_days=-0.01)
    response = actor.client.post("/v2/nfe?ref=vencido-1", nfe_payload(cnpj=empresa.cnpj),
                                 format="json")
    assert response.status_code == 400
    assert response.json() == {"codigo": "certificado_vencido",
                               "mensagem": "O certificado do emitente está vencido"}
    assert Note.objects.count() == 0

    inut = actor.client.post("/v2/nfe/inutilizacao", {
        "cnpj": empresa.cnpj, "serie": "1", "numero_inicial": "10", "numero_final": "12",
        "justificativa": "Numeração pulada por falha no sistema de emissão",
    }, format="json")
    assert inut.status_code == 400
    assert inut.json()["codigo"] == "certificado_vencido"
