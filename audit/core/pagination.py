from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination

# The id column is a signed 64-bit integer: a position outside it can only be crafted.
MAX_ID = 2**63 - 1


class IdCursorPagination(CursorPagination):
    """Stable, index-friendly paging for tables with millions of rows (no OFFSET, no COUNT)."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        """A cursor is ours only if it decodes to an id in range; anything else (edited by hand,
        truncated, crafted) answers 400 instead of reaching the database."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": ["Invalid cursor."]}) from None
        if cursor is None or cursor.position is None:
            return cursor
        try:
            position = int(cursor.position)
        except (TypeError, ValueError):
            raise ValidationError({"cursor": ["Invalid cursor."]}) from None
        if not 0 <= position <= MAX_ID:
            raise ValidationError({"cursor": ["Invalid cursor."]})
        return Cursor(offset=cursor.offset, reverse=cursor.reverse, position=str(position))
