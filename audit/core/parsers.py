"""Request body parsers: DRF's, with a JSON parser that refuses what Python's decoder cannot
take (a body nested thousands deep raises RecursionError, which DRF does not catch: a 500)."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
