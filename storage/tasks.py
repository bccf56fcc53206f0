"""Thin tasks: load by id, call one service. The rows are the schedule (DESIGN.md §2)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from storage import archiving, scheduling, selectors, verification

logger = logging.getLogger("storage")


# A large file may take a while; the hard limit stays inside the claim's lease, so a row is
# never taken back from a worker that is still allowed to run.
# Sent by name (scheduling.ARCHIVE_TASK): the name is pinned here.
@shared_task(name="storage.tasks.archive_artifact", queue="archive", acks_late=True,
             ignore_result=True,
             time_limit=max(settings.FG_ARCHIVE_CLAIM_LEASE - 30, 60),
             soft_time_limit=max(settings.FG_ARCHIVE_CLAIM_LEASE - 60, 50))
def archive_artifact(artifact_id: int, claim_token: str = "") -> str:
    # Failures are classified by the service (the row is rescheduled with backoff); Celery
    # never retries this task itself, so no countdown outlives a worker.
    return archiving.artifact_archive(artifact_id=artifact_id, claim_token=claim_token)


# The on-commit fast path of a note's files (scheduling.ARCHIVE_MANY_TASK), one after the
# other. Each row is claimed when its turn comes, so its lease starts then and the hard limit
# above (counted from the task's start) still ends inside it; rows not reached when a limit
# stops the task stay due for the dispatcher.
@shared_task(name="storage.tasks.archive_artifacts", queue="archive", acks_late=True,
             ignore_result=True,
             time_limit=max(settings.FG_ARCHIVE_CLAIM_LEASE - 30, 60),
             soft_time_limit=max(settings.FG_ARCHIVE_CLAIM_LEASE - 60, 50))
def archive_artifacts(artifact_ids: list[int]) -> list[str]:
    return [archiving.artifact_archive(artifact_id=artifact_id, claim_token="")
            for artifact_id in artifact_ids]


@shared_task(queue="archive", ignore_result=True)
def archive_dispatch() -> int:
    return scheduling.archive_dispatch()


@shared_task(queue="archive", ignore_result=True, time_limit=3600, soft_time_limit=3500)
def archive_verify_sample() -> dict[str, int]:
    artifacts = list(selectors.artifacts_to_verify(limit=settings.FG_ARCHIVE_VERIFY_SAMPLE))
    counts = verification.archive_verify(artifacts=artifacts)
    # One line per run, for log-based metrics and alerts.
    logger.info("archive.verify checked=%s ok=%s mismatch=%s missing=%s error=%s",
                len(artifacts), counts["ok"], counts["mismatch"], counts["missing"],
                counts["error"])
    return counts
