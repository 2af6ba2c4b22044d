"""Request size limits: bodies over a configurable size are refused with 413
before anything parses them (issue #10, docs/security.md "Web security").

- Every request body is limited to ``REQUEST_MAX_BYTES`` (10 MiB by
  default); Django's own limit on what it reads into memory
  (``DATA_UPLOAD_MAX_MEMORY_SIZE``) is the same number.
- Routes that take uploads keep their own, larger limits: documents
  (``DOCUMENT_MAX_BYTES``), CSV imports (``IMPORT_MAX_BYTES``), each plus
  ``REQUEST_MAX_BYTES`` for the form's other fields and the multipart
  framing (the upload handler, documents.files.LimitedUploadHandler, still
  stops the file itself at its limit and names the field), and a raw email
  (``MAX_RAW_EMAIL_BYTES``: the body is the message). Provider webhooks
  (SendGrid, Mailgun, Twilio, Plivo) send small JSON or form posts and get
  the general limit.
- By ``Content-Length`` the request is answered before a byte of the body is
  read. A chunked body (``Transfer-Encoding: chunked``, no length) that the
  server hands over whole-stream (gunicorn sets ``wsgi.input_terminated``) is
  read up to the limit into a spooled temporary file and refused at the first
  byte over it; under the limit it becomes the request's body with its
  length, so Django parses it like any other (Django alone would read a
  body without ``Content-Length`` as empty).
- A body that passes these checks but whose in-memory part still trips
  Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (the text fields of a large
  upload form) raises ``RequestDataTooBig``, which Django answers 400: the
  ``handler400`` here (config.urls) answers 413 instead.

Answers: under ``/api/v1/`` JSON in the API's error shape,
``{"detail": [{"loc": ["body"], "msg": "...", "type": "too_large"}]}``
(the same as an upload over its own limit, so a client handles one 413);
elsewhere a short plain-text page.
"""
from __future__ import annotations

import re
import tempfile

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/v1/"
# (path pattern, the setting that limits its uploads, whether the other
# fields of a multipart form come on top of it)
UPLOAD_ROUTES = (
    (re.compile(r"^/api/v1/documents$"), "DOCUMENT_MAX_BYTES", True),
    (re.compile(r"^/(organizations|contacts|deals)/\d+/documents$"), "DOCUMENT_MAX_BYTES", True),
    (re.compile(r"^/api/v1/imports$"), "IMPORT_MAX_BYTES", True),
    (re.compile(r"^/imports/new$"), "IMPORT_MAX_BYTES", True),
    (re.compile(r"^/api/v1/emails/raw$"), "MAX_RAW_EMAIL_BYTES", False),
)
CHUNK = 64 * 1024
# A chunked body is kept in memory up to this size, then on disk.
SPOOL_IN_MEMORY = 1024 * 1024


def body_limit(path: str) -> tuple[int, str]:
    """The most bytes a request body to ``path`` may have, and the setting
    that says so (named in the 413)."""
    for pattern, setting, plus_fields in UPLOAD_ROUTES:
        if pattern.match(path):
            limit = getattr(settings, setting)
            return (limit + settings.REQUEST_MAX_BYTES if plus_fields else limit), setting
    return settings.REQUEST_MAX_BYTES, "REQUEST_MAX_BYTES"


def too_large(request: HttpRequest, limit: int, setting: str, size: int | None = None) -> HttpResponse:
    what = f"{size} bytes" if size is not None else "over the limit"
    message = f"The request body is {what}; at most {limit} bytes are accepted here ({setting})."
    if request.path_info.startswith(API_PREFIX):
        response = JsonResponse({"detail": [{"loc": ["body"], "msg": message, "type": "too_large"}]}, status=413)
    else:
        response = HttpResponse(f"413 Request body too large\n\n{message}\n", status=413, content_type="text/plain; charset=utf-8")
    # Answered before CommonMiddleware would add it: with a length the client
    # reads the answer without waiting for the connection to close (the
    # server may still be draining the body it was sent).
    response["Content-Length"] = str(len(response.content))
    return response


class RequestSizeLimitMiddleware:
    """Refuse a body over its route's limit with 413 before it is parsed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit, setting = body_limit(request.path_info)
        declared = request.META.get("CONTENT_LENGTH")
        if declared:
            try:
                size = int(declared)
            except ValueError:
                return HttpResponse("400 Bad Request: Content-Length is not a number\n", status=400, content_type="text/plain")
            if size > limit:
                return too_large(request, limit, setting, size)
        elif self._chunked(request) and not self._take_chunked_body(request, limit):
            return too_large(request, limit, setting)
        return self.get_response(request)

    @staticmethod
    def _chunked(request: HttpRequest) -> bool:
        return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and bool(request.META.get("wsgi.input_terminated"))

    @staticmethod
    def _take_chunked_body(request: HttpRequest, limit: int) -> bool:
        """Read the whole chunked body and make it the request's body; False
        (and nothing kept) at the first byte over ``limit``."""
        source = request.META["wsgi.input"]
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        size = 0
        while True:
            chunk = source.read(min(CHUNK, limit + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                spool.close()
                return False
            spool.write(chunk)
        spool.seek(0)
        request._stream = LimitedStream(spool, size)  # what WSGIRequest would have built with a Content-Length
        request.META["CONTENT_LENGTH"] = str(size)
        return True


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler400``: a body Django refused to read into memory
    (``RequestDataTooBig``) is a 413, not a 400; anything else is Django's
    usual 400 page."""
    if isinstance(exception, RequestDataTooBig):
        return too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "REQUEST_MAX_BYTES")
    return defaults.bad_request(request, exception)
