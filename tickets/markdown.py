"""Markdown of descriptions and comments to safe HTML: markdown-it-py parses (CommonMark,
raw HTML off, plus tables and strikethrough), nh3 keeps only harmless tags and attributes.
Pure: text in, HTML text out."""

import re

import nh3
from markdown_it import MarkdownIt

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
    ["table", "strikethrough"]
)
_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "s", "span", "strong", "table", "tbody", "td", "th", "thead", "tr",
    "ul",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "span": {"class"}, "code": {"class"}}
_MENTION = re.compile(r"(?<![\w@/])@([\w.+-]*\w)")


def render(text: str, *, known_usernames: frozenset[str] = frozenset()) -> str:
    """Safe HTML of `text`. Mentions of `known_usernames` are marked for styling."""
    html = _PARSER.render(text or "")
    if known_usernames:
        html = _MENTION.sub(
            lambda m: (
                f'<span class="mention">@{m.group(1)}</span>'
                if m.group(1) in known_usernames
                else m.group(0)
            ),
            html,
        )
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
