"""Rebuilds the invoice fonts: DejaVu Sans (regular and bold) cut down to the characters invoices print.

Run from the repository root: `.venv/bin/python billing/fonts/build_fonts.py [DejaVu directory]`.

Why: WeasyPrint subsets every font it embeds with fontTools; on the full
DejaVu Sans (760 KB, large layout tables) that is ~90 % of a one-page
invoice's 0.18 s. These cuts keep ~400 glyphs (Latin, French punctuation,
€) and no layout, hinting or math tables, so the per-PDF subsetting is cheap.
Kerning is dropped too: it costs ~15 ms per PDF for little visible gain.
Licence: Bitstream Vera / DejaVu (see LICENSE): modified copies must not be
named "Bitstream" or "Vera"; these are named "DejaVu Sans Invoice".
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path("/usr/share/fonts/truetype/dejavu")
FAMILY = "DejaVu Sans Invoice"
FONTS = {"DejaVuSans.ttf": ("InvoiceSans-Regular.ttf", "Book"), "DejaVuSans-Bold.ttf": ("InvoiceSans-Bold.ttf", "Bold")}

# Unicode ranges kept: Latin (ASCII, Latin-1, Latin Extended-A, Romanian comma letters), spacing
# modifiers, spaces and punctuation French typography uses (no-break and narrow no-break spaces,
# dashes, quotes, ellipsis), €, №, ™, arrows, minus and comparison signs, check boxes.
RANGES = (
    (0x0020, 0x007E),
    (0x00A0, 0x00FF),
    (0x0100, 0x017F),
    (0x0192, 0x0192),
    (0x0218, 0x021B),
    (0x02C6, 0x02DD),
    (0x2002, 0x200B),
    (0x2010, 0x2027),
    (0x202F, 0x2030),
    (0x2039, 0x203A),
    (0x2044, 0x2044),
    (0x20AC, 0x20AC),
    (0x2116, 0x2116),
    (0x2122, 0x2122),
    (0x2190, 0x2193),
    (0x2212, 0x2212),
    (0x2260, 0x2265),
    (0x25A0, 0x25A1),
    (0x2713, 0x2713),
)


def codepoints() -> list[int]:
    return [code for first, last in RANGES for code in range(first, last + 1)]


def build(source: Path, target: Path, style: str) -> None:
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.drop_tables += ["FFTM", "MATH", "GSUB", "GPOS", "GDEF", "gasp", "kern"]
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # copyright, names, version, licence
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints())
    subsetter.subset(font)
    postscript = FAMILY.replace(" ", "") + "-" + style
    for record in font["name"].names:
        if record.nameID in (1, 16):
            record.string = FAMILY
        elif record.nameID == 3:
            record.string = f"{postscript} (subset of DejaVu Sans {font['head'].fontRevision:.2f})"
        elif record.nameID == 4:
            record.string = f"{FAMILY} {style}" if style != "Book" else FAMILY
        elif record.nameID == 6:
            record.string = postscript
    font.save(target)


def main(argv: list[str]) -> int:
    source_dir = Path(argv[0]) if argv else SOURCE_DIR
    for source, (target, style) in FONTS.items():
        build(source_dir / source, HERE / target, style)
        print(f"{target}: {(HERE / target).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
