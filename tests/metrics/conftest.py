"""Scraping /metrics the way Prometheus does, and reading the samples back."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families


@dataclass
class Scrape:
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    names: set[str]  # every sample name (fg_notes_total, fg_..._bucket, ...)

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a labelled counter not yet written (Prometheus's view)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def sum(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)


def parse(text: str) -> Scrape:
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
            names.add(sample.name)
    return Scrape(samples=samples, names=names)


def scrape(client: Client | None = None) -> Scrape:
    """GET /metrics from loopback (the test client's REMOTE_ADDR is 127.0.0.1)."""
    response = (client or Client()).get("/metrics")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.content.decode())


# The sandbox over HTTP and a company holding its tokens (tests/fiscal/conftest.py).
from tests.fiscal.conftest import empresa, upstream  # noqa: E402, F401
