"""What webhook delivery tells observers (metrics), as plain Django signals.

Sent with ``send_robust``: an observer's bug never fails a delivery.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent after each delivery attempt: outcome (webhooks.delivery.Outcome, with its Attempt).
delivery_attempted = Signal()
