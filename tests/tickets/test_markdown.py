"""Markdown of descriptions and comments comes out as safe HTML; mentions are found once."""

from tickets.formatting import mentioned_usernames
from tickets.markdown import render


def test_markdown_renders_emphasis_lists_and_tables():
    html = render("**bold** and *it*\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert "<li>one</li>" in html and "<td>2</td>" in html


def test_raw_html_and_script_links_never_reach_the_page():
    html = render("<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))")
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html


def test_links_are_kept_with_safe_rel():
    html = render("[docs](https://example.com/a)")
    assert 'href="https://example.com/a"' in html and "noopener" in html


def test_only_known_people_are_marked_as_mentions():
    html = render("thanks @ana and @bob, mail ana@example.com", known_usernames=frozenset({"ana"}))
    assert '<span class="mention">@ana</span>' in html
    assert "@bob" in html and '<span class="mention">@bob' not in html
    assert "ana@example.com" in html


def test_mentions_are_found_in_order_once_and_not_in_email_addresses():
    text = "@maya and @mo.h, again @maya; write to lead@lab.org."
    assert mentioned_usernames(text) == ["maya", "mo.h"]
