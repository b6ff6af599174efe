"""The visualization page shows what the code produces today."""

import re
from pathlib import Path

from glassgrad.models.graphs import logistic_unit
from glassgrad.viz import explain, to_text

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGE = DOCS / "visualization.md"


def text_block_after(marker_or_heading: str, page: str) -> str:
    rest = page.split(marker_or_heading, 1)[1]
    return re.search(r"```text\n(.*?)\n```", rest, re.S).group(1)


def test_explain_and_listing_on_the_page_are_current():
    page = PAGE.read_text(encoding="utf-8")
    u = logistic_unit()
    want = f"{explain(u.w, u.loss)}\n\n{explain(u.b, u.loss)}"
    assert text_block_after("<!-- explain-logistic -->", page) == want
    assert text_block_after("## The text listing", page) == to_text(u.loss)


def test_every_picture_on_the_page_exists():
    page = PAGE.read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page)
    assert len(images) == 8
    for image in images:
        assert (DOCS / image).is_file(), image
