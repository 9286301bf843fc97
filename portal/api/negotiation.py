"""Content negotiation that answers an unknown ``?format=`` with 406, not 404.

DRF raises ``Http404`` when no renderer offers the requested format, which tells a client the
resource does not exist. The resource exists; only that representation does not, the same
situation as an unsatisfiable ``Accept`` header, which DRF already answers with 406.
"""

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation


class StrictFormatContentNegotiation(DefaultContentNegotiation):
    def filter_renderers(self, renderers, format):
        offered = [renderer for renderer in renderers if renderer.format == format]
        if not offered:
            formats = ", ".join(sorted({renderer.format for renderer in renderers}))
            raise exceptions.NotAcceptable(
                f"The format {format!r} is not offered here; use one of: {formats}."
            )
        return offered
