"""The batch CSV body parser: never reads more than the upload limit (413 beyond it). JSON
bodies go through the API's default parser, ``portal.api.parsers.BoundedJSONParser``."""

from django.conf import settings
from rest_framework.parsers import BaseParser

from predictions import rules

CSV_MEDIA_TYPE = "text/csv"


class CsvBodyParser(BaseParser):
    """A raw ``text/csv`` request body, read up to the batch upload limit (never unbounded)."""

    media_type = CSV_MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        data = stream.read(settings.BATCH_UPLOAD_MAX_BYTES + 1)
        rules.batch_upload_size_check(size=len(data))
        return data
