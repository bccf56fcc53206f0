"""What the archive tells observers (metrics), as plain Django signals.

Sent with ``send_robust``: an observer's bug never fails the archive's work.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent after each verification run: counts {"ok", "mismatch", "missing", "error": int}.
archive_verified = Signal()
