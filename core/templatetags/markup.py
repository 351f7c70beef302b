"""`{% load markup %}{{ page.body|markdown }}`: a firm's Markdown text as sanitised HTML (core.markup)."""

from django import template
from django.utils.safestring import SafeString

from core.markup import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(str(text or ""))
