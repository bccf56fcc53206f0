"""Celery queue depth as the broker counts it, on Redis and on the embedded filesystem broker;
a broker that does not answer is a value in the scrape, not a failed scrape."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from kombu import Connection, Exchange, Producer, Queue

from tests.metrics.conftest import scrape

pytestmark = pytest.mark.django_db


def publish(count: int, queue: str) -> None:
    with Connection(django_settings.CELERY_BROKER_URL,
                    transport_options=django_settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
        target = Queue(queue, Exchange(queue), routing_key=queue)
        producer = Producer(conn.default_channel)
        for i in range(count):
            producer.publish({"n": i}, exchange=target.exchange, routing_key=queue,
                             declare=[target], serializer="json")


def purge(queue: str) -> None:
    with Connection(django_settings.CELERY_BROKER_URL,
                    transport_options=django_settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
        conn.default_channel.queue_purge(queue)


def test_redis_queue_depth_per_queue() -> None:
    assert django_settings.CELERY_BROKER_URL.startswith("redis://")
    purge("archive")
    purge("webhooks")
    publish(3, "archive")
    try:
        found = scrape()
        assert found.value("fg_celery_broker_up") == 1
        assert found.value("fg_celery_queue_depth", queue="archive") == 3
        assert found.value("fg_celery_queue_depth", queue="webhooks") == 0
        assert {labels for name, labels in found.samples if name == "fg_celery_queue_depth"} == {
            frozenset({("queue", q)}) for q in ("default", "submit", "sync", "webhooks",
                                                "archive")
        }
    finally:
        purge("archive")


def test_filesystem_broker_queue_depth(settings, tmp_path: Path) -> None:
    folder = tmp_path / "broker"
    (folder / "queue").mkdir(parents=True)
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
    }
    publish(2, "sync")
    found = scrape()
    assert found.value("fg_celery_broker_up") == 1
    assert found.value("fg_celery_queue_depth", queue="sync") == 2
    assert found.value("fg_celery_queue_depth", queue="submit") == 0


def test_a_broker_down_is_reported_and_the_rest_is_still_served(settings) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    found = scrape()
    assert found.value("fg_celery_broker_up") == 0
    assert not [name for name, _ in found.samples if name == "fg_celery_queue_depth"]
    assert "fg_pending_notes" in found.names
