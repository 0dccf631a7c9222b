"""Posts never make a reader's browser fetch from another site (no third-party requests)."""

from __future__ import annotations

import pytest

from forum.content.markdown import render


@pytest.mark.parametrize(
    ("raw", "link"),
    [
        ("![a cat](https://tracker.example/cat.png)", "https://tracker.example/cat.png"),
        ("![a cat](http://tracker.example/cat.png)", "http://tracker.example/cat.png"),
        ("![a cat](//tracker.example/cat.png)", "//tracker.example/cat.png"),
    ],
)
def test_a_remote_markdown_image_becomes_a_link(raw: str, link: str) -> None:
    html = render(raw)
    assert "<img" not in html
    assert f'<a href="{link}"' in html and ">a cat</a>" in html


@pytest.mark.parametrize(
    "raw",
    [
        '<img src="https://tracker.example/pixel.gif" alt="x">',
        '<img src="//tracker.example/pixel.gif">',
        '<img src="/\\tracker.example/pixel.gif">',
        '<img src=" https://tracker.example/pixel.gif">',
        "<p><img src=https://tracker.example/p.gif></p>",
    ],
)
def test_an_html_image_from_another_site_loses_its_source(raw: str) -> None:
    html = render(raw)
    assert "tracker.example" not in html
    assert "src=" not in html


def test_images_on_this_site_stay_embedded() -> None:
    assert render("![me](/user_avatar/alice/90.png)") == (
        '<p><img src="/user_avatar/alice/90.png" alt="me"></p>'
    )
    assert render('<img src="/letter_avatar/a/90.svg" alt="a">') == (
        '<img src="/letter_avatar/a/90.svg" alt="a">'
    )
