from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from core.wsgi_body import ChunkedBodyMiddleware  # noqa: E402 - needs the settings loaded

# Chunked request bodies read (bounded) instead of taken as empty; see core/wsgi_body.py.
application = ChunkedBodyMiddleware(application)
