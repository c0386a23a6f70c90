"""Every route of the site, found by walking the URL configuration, and the request a role makes
to it. The permission matrix test (test_permission_matrix.py) holds what each role must get."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", the key of the permission table
    pattern: str  # the route as written, for messages
    methods: tuple[str, ...]  # the HTTP methods its view answers, lower case


def _view_methods(callback) -> tuple[str, ...]:
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    actions = getattr(callback, "actions", None)  # a DRF viewset route: {"get": "list", ...}
    if actions:
        return tuple(sorted(actions))
    if view is None:
        return ("get", "post")  # a function view: try both
    return tuple(m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m))


def site_routes() -> list[Route]:
    """Every named route outside the admin (the admin is checked through its registry), with
    DRF's format-suffix duplicates and API roots folded into one entry each."""
    found: dict[str, Route] = {}

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                inner = namespace
                if p.namespace:
                    inner = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p.url_patterns, prefix + str(p.pattern), inner)
            elif isinstance(p, URLPattern):
                name = p.name or f"<unnamed {prefix}{p.pattern}>"
                key = f"{namespace}:{name}" if namespace else name
                if key not in found:
                    found[key] = Route(key, prefix + str(p.pattern), _view_methods(p.callback))

    walk(get_resolver().url_patterns, "", None)
    return sorted(found.values(), key=lambda r: r.name)
