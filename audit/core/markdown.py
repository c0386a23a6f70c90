"""Safe Markdown: raw HTML is escaped, and links to javascript:, vbscript:, file: and data:
(except images) are dropped by markdown-it's link validation."""

import re

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable("table")

# Text that no Markdown rule can touch: no character that starts inline markup, an entity or
# raw HTML, and no line that could open a block (indent, list, heading, quote, rule, fence,
# table, setext underline). Such text renders as its paragraphs, escaped; most items' questions
# and many answers are plain, and the expert's item answer renders both every time.
_INLINE = re.compile(r"[\\`*_\[\]<>&|~\x00-\x09\x0b-\x1f\x7f\x85\u2028\u2029]")
_BLOCK_START = frozenset(" #>+-=0123456789")


def render_markdown(text: str) -> SafeString:
    return mark_safe(_plain(text or "") or _md.render(text or ""))  # noqa: S308  (html off)


def _plain(text: str) -> str | None:
    """What markdown-it renders for plain ``text``; None when the text may hold Markdown."""
    if not text or _INLINE.search(text):
        return None
    paragraphs = text.split("\n\n")
    for paragraph in paragraphs:
        for line in paragraph.split("\n"):
            if not line or line[0] in _BLOCK_START or line != line.strip():
                return None
    return "".join("<p>" + p.replace('"', "&quot;") + "</p>\n" for p in paragraphs)
