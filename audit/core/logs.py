"""Logging filters: an ordinary refusal (a 403 or 404 answered on purpose) is one line in the
log, not a traceback; server errors keep theirs."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
