"""The counters and histograms, written by whichever process does the work (web or worker).

Gauges are not here: what is pending, stuck or backlogged is read from Postgres at scrape time
(metrics/collectors.py), so it is right however many processes run and whichever of them died.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from fiscal.models import NoteStatus
from metrics import multiprocess
from tenants.models import DocType

multiprocess.install()  # before the first metric is created

notes = Counter(
    "fg_notes", "Notes entering a status (processando_autorizacao on acceptance).",
    ["doc_type", "status"],
)
focus_requests = Counter(
    "fg_focus_requests", "Requests to Focus NFe by endpoint template and HTTP code (or error).",
    ["endpoint", "code"],
)
focus_request_seconds = Histogram(
    "fg_focus_request_seconds", "Duration of requests to Focus NFe.", ["endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
focus_budget_waits = Counter(
    "fg_focus_budget_waits",
    "Calls told to wait by the shared Focus request budget (urgent: submits, hook syncs).",
    ["urgent"],
)
webhook_deliveries = Counter(
    "fg_webhook_deliveries", "Webhook delivery attempts by outcome.", ["outcome"],
)
webhook_delivery_lag_seconds = Histogram(
    "fg_webhook_delivery_lag_seconds",
    "From the event's creation to the receiver's 2xx (retries included).",
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0),
)
archive_verify_failures = Counter(
    "fg_archive_verify_failures",
    "Archived files that failed a verification (mismatch, missing) or could not be read.",
    ["result"],
)

# Every series of a closed vocabulary exists from the start at 0, so that rate() and the
# failure-ratio alert see the first increment (a series born at 1 hides it).
for _doc_type in DocType.values:
    for _status in NoteStatus.values:
        notes.labels(_doc_type, _status)
for _outcome in ("succeeded", "retry", "failed", "paused"):
    webhook_deliveries.labels(_outcome)
for _urgent in ("true", "false"):
    focus_budget_waits.labels(_urgent)
for _result in ("mismatch", "missing", "error"):
    archive_verify_failures.labels(_result)
