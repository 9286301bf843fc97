"""Request body parsers that never read more than the configured limits (413 beyond them)."""

import io

from django.conf import settings
from rest_framework.parsers import BaseParser, JSONParser

from portal.exceptions import PayloadTooLarge
from predictions import rules

CSV_MEDIA_TYPE = "text/csv"


class BoundedJSONParser(BaseParser):
    """JSON bodies up to ``DATA_UPLOAD_MAX_MEMORY_SIZE``; larger ones are a JSON 413.

    Deliberately not a JSONParser subclass: DRF reads ``request.body`` for those, where Django
    refuses an oversized body with a bare HTML 400 before any API error handling runs.
    """

    media_type = JSONParser.media_type

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise PayloadTooLarge({"detail": [f"The request body is larger than {limit:,} bytes."]})
        return JSONParser().parse(io.BytesIO(data), media_type, parser_context)


class CsvBodyParser(BaseParser):
    """A raw ``text/csv`` request body, read up to the batch upload limit (never unbounded)."""

    media_type = CSV_MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        data = stream.read(settings.BATCH_UPLOAD_MAX_BYTES + 1)
        rules.batch_upload_size_check(size=len(data))
        return data
