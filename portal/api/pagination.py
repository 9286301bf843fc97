"""Pagination shared by every list endpoint."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class StandardPagination(PageNumberPagination):
    """Page-number pages; a ``page_size`` that is not a positive whole number is a 400.

    DRF quietly falls back to the default size for junk, which hides a client bug. Absent or
    empty means the default, and sizes above the maximum are capped, as documented.
    """

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if not raw:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Enter a whole number of at least 1 (at most {self.max_page_size} "
                        "are returned)."
                    ]
                }
            )
        return min(size, self.max_page_size)
