"""``reverse`` for the hot paths: a route's URL is reversed once per process (per URLconf and
script prefix) with placeholders, then filled in by string formatting. Django's ``reverse``
walks the resolver's candidates and quotes every value on each call (about 0.1 ms; the expert's
item answer needs several). Only values made of characters that ``reverse`` leaves unquoted
(UUIDs, signed tokens) are filled in; anything else goes through ``reverse`` itself, so the
result is always what ``reverse`` gives."""

import functools
import re
import uuid

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

# What reverse() leaves as it is (unreserved characters plus the ones it keeps: ':', '@', '~').
_PLAIN = re.compile(r"[A-Za-z0-9._~:@-]+")


def url_for(viewname: str, **kwargs) -> str:
    """``reverse(viewname, kwargs=kwargs)``, from a per-process template."""
    values = {name: str(value) for name, value in kwargs.items()}
    if not all(_PLAIN.fullmatch(v) for v in values.values()):
        return reverse(viewname, kwargs=kwargs)
    kinds = tuple(sorted((name, _is_uuid(value)) for name, value in values.items()))
    # The language too: a route under i18n_patterns has the active one in its prefix.
    template = _template(viewname, kinds, get_script_prefix(), get_urlconf(), get_language())
    if template is None:
        return reverse(viewname, kwargs=kwargs)
    return template.format_map(values)


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@functools.lru_cache(maxsize=256)
def _template(viewname: str, kinds: tuple, prefix: str, urlconf, language) -> str | None:
    """The route's URL with ``{name}`` where each value goes, or None when the placeholders do
    not reverse (a converter that takes neither a UUID nor plain text) or are not found once."""
    placeholders = {
        name: str(uuid.UUID(int=n + 1)) if is_uuid else f"zq{n}placeholderzq"
        for n, (name, is_uuid) in enumerate(kinds)
    }
    try:
        url = reverse(viewname, kwargs=placeholders, urlconf=urlconf)
    except Exception:  # NoReverseMatch, or a converter refused a placeholder: use reverse
        return None
    url = url.replace("{", "{{").replace("}", "}}")
    for name, placeholder in placeholders.items():
        if url.count(placeholder) != 1:
            return None
        url = url.replace(placeholder, "{" + name + "}")
    return url
