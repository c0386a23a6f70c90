"""Form helpers shared by the pages."""

from django.core.exceptions import ValidationError


def add_validation_errors(form, exc: ValidationError) -> None:
    """Put a service's ``ValidationError`` on ``form``: errors naming one of the form's fields go
    to that field, the rest (and errors naming no field) to the form as a whole. Django's own
    ``add_error(None, exc)`` refuses field names the form does not have."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages in errors.items():
        form.add_error(field if field in form.fields else None, messages)
