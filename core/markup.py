"""The Markdown firms write their public pages in, rendered to safe HTML.

Markdown (the `markdown` library) then sanitised with `nh3` (an allow-list:
no script, style, image, iframe or attribute other than a link's href and
title). The body's top heading becomes h2: the page's own title is its h1. Links get
`rel="noopener noreferrer nofollow"`; only http, https and mailto links
survive.
"""

from __future__ import annotations

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "blockquote", "code", "pre",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _shift_headings(html: str) -> str:
    """The body's top heading level becomes h2, the others follow: one h1 per page, no level skipped.

    A firm writes `# Section` or `## Section` for its sections; either way they
    come right after the page's own h1.
    """
    used = [level for level in range(1, 7) if f"<h{level}>" in html]
    if not used:
        return html
    shift = 2 - used[0]
    levels = range(6, 0, -1) if shift > 0 else range(1, 7)
    for level in levels:
        target = min(6, max(2, level + shift))
        if target != level:
            html = html.replace(f"<h{level}>", f"<h{target}>").replace(f"</h{level}>", f"</h{target}>")
    return html


def render_markdown(text: str) -> SafeString:
    """`text` (Markdown) as sanitised HTML, safe to put in a template."""
    html = markdown.markdown(text or "", extensions=["sane_lists", "tables"], output_format="html")
    clean = nh3.clean(
        _shift_headings(html),
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 with an allow-list just above


def plain_excerpt(text: str, length: int = 160) -> str:
    """The first words of `text` (Markdown) without markup, for a meta description or a list."""
    plain = nh3.clean(markdown.markdown(text or ""), tags=set()).replace("\n", " ")
    plain = " ".join(plain.split())
    if len(plain) <= length:
        return plain
    return plain[: length - 1].rsplit(" ", 1)[0] + "…"
