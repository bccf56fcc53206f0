"""A ServedFile as an HTTP answer: a redirect to the archive, or the bytes streamed."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse, HttpResponseRedirect

from storage.serving import ServedFile


def file_response(served: ServedFile) -> HttpResponse:
    if served.url is not None:
        response: HttpResponse = HttpResponseRedirect(served.url)
        # The URL is signed and short-lived: nobody should keep it.
        response["Cache-Control"] = "private, no-store"
        return response
    assert served.file is not None
    response = FileResponse(
        served.file, content_type=served.content_type or "application/octet-stream",
        filename=served.filename, as_attachment=False,
    )
    if served.size is not None:
        response["Content-Length"] = str(served.size)
    response["Cache-Control"] = "private, no-store"
    return response
