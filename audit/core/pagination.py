from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Stable, index-friendly paging for tables with millions of rows (no OFFSET, no COUNT)."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
