"""Safe Markdown: raw HTML is escaped, and links to javascript:, vbscript:, file: and data:
(except images) are dropped by markdown-it's link validation."""

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable("table")


def render_markdown(text: str) -> SafeString:
    return mark_safe(_md.render(text or ""))  # noqa: S308  (html disabled: output is escaped)
