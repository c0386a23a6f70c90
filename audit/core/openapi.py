"""Shared OpenAPI descriptions of answers that several APIs give."""

from drf_spectacular.utils import OpenApiResponse

# A refusal, as DRF and our services give it: a service's reason under "detail", or the
# serializer's errors by field (a list of messages; nested by index or key for lists and
# objects, e.g. {"methods": {"0": ["..."]}}).
VALIDATION_ERRORS = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {},
}

BAD_REQUEST = OpenApiResponse(
    VALIDATION_ERRORS,
    description="Refused: the reason under `detail`, or the errors by field.",
)
