"""The API's JSON parser: bounded in size and in nesting, so no body can cost a 500.

Deliberately not a JSONParser subclass: DRF reads ``request.body`` for those, where Django
refuses an oversized body with a bare HTML 400 before any API error handling runs.
"""

import io

from django.conf import settings
from rest_framework.parsers import BaseParser, JSONParser

from portal.exceptions import InvalidInput, PayloadTooLarge

TOO_DEEP_MESSAGE = "The JSON body is nested too deeply."


class BoundedJSONParser(BaseParser):
    """JSON bodies up to ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (larger: 413) and no deeper than the
    interpreter can decode (deeper: 400; a few KB of brackets used to be a RecursionError)."""

    media_type = JSONParser.media_type

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise PayloadTooLarge({"detail": [f"The request body is larger than {limit:,} bytes."]})
        try:
            return JSONParser().parse(io.BytesIO(data), media_type, parser_context)
        except RecursionError:
            raise InvalidInput({"detail": [TOO_DEEP_MESSAGE]}) from None
