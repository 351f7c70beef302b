"""The Markdown firms write their pages in: rendered, and nothing executable or styled gets through."""

from __future__ import annotations

from django.template import Context, Template

from core.markup import plain_excerpt, render_markdown


def test_markdown_is_rendered_with_headings_below_the_page_title() -> None:
    html = render_markdown("# Qui sommes-nous\n\nUn **médiateur** *indépendant*.\n\n- gratuit\n- confidentiel")
    assert "<h2>Qui sommes-nous</h2>" in html
    assert "<strong>médiateur</strong>" in html and "<em>indépendant</em>" in html
    assert "<ul>" in html and "<li>gratuit</li>" in html
    assert "<h1>" not in html


def test_sections_written_with_two_hashes_are_h2_too_and_no_level_is_skipped() -> None:
    html = render_markdown("## Délais\n\ntexte\n\n#### Détail\n\n### Recevabilité")
    assert "<h2>Délais</h2>" in html and "<h4>Détail</h4>" in html and "<h3>Recevabilité</h3>" in html
    assert "<h1>" not in html


def test_scripts_styles_images_and_event_handlers_are_removed() -> None:
    html = render_markdown(
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        '<p style="color:red" onclick="alert(3)">texte</p>\n\n<iframe src="https://example.org"></iframe>'
    )
    for forbidden in ("<script", "alert(1)", "<img", "onerror", "style=", "onclick", "<iframe"):
        assert forbidden not in html, forbidden
    assert "texte" in html


def test_only_web_and_mail_links_survive_and_they_do_not_pass_on_the_referrer() -> None:
    html = render_markdown("[site](https://example.org) [écrire](mailto:a@example.org) [piège](javascript:alert(1))")
    assert 'href="https://example.org"' in html and 'href="mailto:a@example.org"' in html
    assert "javascript:" not in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_tables_render() -> None:
    html = render_markdown("| Délai | Jours |\n|---|---|\n| Recevabilité | 21 |")
    assert "<table>" in html and "<td>Recevabilité</td>" in html


def test_template_filter_escapes_nothing_twice_and_empty_is_empty() -> None:
    rendered = Template("{% load markup %}{{ text|markdown }}").render(Context({"text": "L'« avis » & co"}))
    assert "L’« avis » &amp; co" in rendered or "L'« avis » &amp; co" in rendered
    assert str(render_markdown("")) == ""


def test_plain_excerpt_drops_markup_and_cuts_on_a_word() -> None:
    assert plain_excerpt("**Gras** et [lien](https://example.org)") == "Gras et lien"
    excerpt = plain_excerpt("mot " * 100, length=30)
    assert excerpt.endswith("…") and len(excerpt) <= 30 and not excerpt.endswith(" …")
