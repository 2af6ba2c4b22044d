"""Answering hot endpoints without re-validating what we just built.

Ninja validates every response against its declared schema; for a
1,000-item batch answer or a 50-item timeline page that costs more than the
database work (measured in docs/benchmarks.md). Endpoints that assemble
their answer from typed rows return it through ``json_response`` instead;
the declared schema still documents it, and the schemathesis test checks
that what is sent conforms.
"""
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse


def json_response(data, status: int = 200) -> HttpResponse:
    # DjangoJSONEncoder is what ninja's renderer uses, so the bytes are the
    # same as the validated path's.
    return HttpResponse(DjangoJSONEncoder(separators=(", ", ": ")).encode(data), status=status, content_type="application/json; charset=utf-8")
