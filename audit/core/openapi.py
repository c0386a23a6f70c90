"""Shared OpenAPI descriptions of answers that several APIs give."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse

# A refusal, as DRF and our services give it: a service's reason under "detail", or the
# serializer's errors by field (a list of messages; nested by index or key for lists and
# objects, e.g. {"methods": {"0": ["..."]}}).
VALIDATION_ERRORS = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {},
}

REFUSED = "Refused: the reason under `detail`, or the errors by field."
BAD_REQUEST = OpenApiResponse(VALIDATION_ERRORS, description=REFUSED)

DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}}

# What any operation may answer besides what it documents itself: DRF's authentication and
# permission refusals, and 404 for what one may not see (objects are hidden, not forbidden).
COMMON_ANSWERS = {
    "401": "Not signed in: no session and no valid token.",
    "403": "Signed in, but this needs a permission you lack.",
    "404": "No such object, or none that you may see.",
}


def add_common_answers(result, generator, request, public):
    """drf-spectacular post-processing hook: documents the refusals every operation may give
    (401, 403, 404; 400 where the request changes something or takes input; 429 on writes,
    which are rate-limited), so clients
    and the schemathesis fuzz test know them. Answers an operation documents itself stay."""
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            answers = operation.setdefault("responses", {})
            for code, text in COMMON_ANSWERS.items():
                answers.setdefault(
                    code, {"content": {"application/json": {"schema": DETAIL}}, "description": text}
                )
            queries = any(p.get("in") == "query" for p in operation.get("parameters", []))
            if method != "get":
                answers.setdefault(
                    "429",
                    {
                        "content": {"application/json": {"schema": DETAIL}},
                        "description": "Too many writes: wait the Retry-After seconds.",
                    },
                )
            if method != "get" or "requestBody" in operation or queries:
                answers.setdefault(
                    "400",
                    {
                        "content": {"application/json": {"schema": VALIDATION_ERRORS}},
                        "description": REFUSED,
                    },
                )
    return result


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describes audit.core's API tokens in the schema (Swagger UI's "Authorize" button)."""

    target_class = "audit.core.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API token from /api/tokens/, sent as "Token <key>".',
        }
