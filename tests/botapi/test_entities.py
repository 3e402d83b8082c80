"""Formatted text: tdlib's HTML parser, its error texts, UTF-16 lengths, strict ampersands."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession

from tests.botapi import BotApiStandIn, HtmlParseError, parse_html, utf16_len
from tests.botapi.conftest import call


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("plain", "plain", []),
        (
            "<strong>a</strong><em>b</em><ins>c</ins><del>d</del>",
            "abcd",
            ["bold", "italic", "underline", "strikethrough"],
        ),
        (
            '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
            "st",
            ["spoiler", "spoiler"],
        ),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1", ["pre"]),
        ("<pre>p</pre><code>c</code>", "pc", ["pre", "code"]),
        (
            "<blockquote>q</blockquote><blockquote expandable>r</blockquote>",
            "qr",
            ["blockquote", "expandable_blockquote"],
        ),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", ["custom_emoji"]),
        ('<a href="tg://user?id=42">you</a>', "you", ["text_mention"]),
        ("&#60;&#x3E;&quot;&#128578;", '<>"🙂', []),
        ("<B>caps</B>", "caps", ["bold"]),
        ("1 > 0", "1 > 0", []),
    ],
)
def test_parse_html_accepts_telegram_html(html: str, text: str, entities: list[str]) -> None:
    parsed, found = parse_html(html)
    assert parsed == text
    assert [e["type"] for e in found] == entities


def test_parse_html_entity_details() -> None:
    _, entities = parse_html('<pre><code class="language-python">x</code></pre>')
    assert entities == [{"type": "pre", "offset": 0, "length": 1, "language": "python"}]
    _, entities = parse_html("<i><b> </b> <code> </code></i>")
    assert entities == [
        {"type": "italic", "offset": 0, "length": 3},
        {"type": "bold", "offset": 0, "length": 1},
        {"type": "code", "offset": 2, "length": 1},
    ]
    assert utf16_len("🏟 🏟") == 5


@pytest.mark.parametrize(
    ("html", "error"),
    [
        # tdlib's own test cases (td/test/message_entities.cpp).
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        (
            "🏟 🏟&lt;<i    aba>",
            'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13',
        ),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (
            "🏟 🏟&lt;<i>a</em   >",
            'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        ),
        (
            "&#xDFDF;",
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units",
        ),
        # Tags and nesting.
        ("<b>bold", "Can't find end tag corresponding to start tag b"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<tg-emoji emoji-id="x">y</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("x <", "Unclosed start tag at byte offset 2"),
    ],
)
def test_parse_html_rejects_like_telegram(html: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(html, strict=False)
    assert str(caught.value) == error


def test_strict_ampersand_and_named_entities() -> None:
    for html in ("Q&A", "&nbsp;", "&lt", "&#X41;", '<a href="https://x.org/?a=1&b=2">x</a>'):
        with pytest.raises(HtmlParseError, match=r'(?i)Character "&"'):
            parse_html(html)
    # Telegram itself keeps those as literal text.
    assert parse_html("Q&A &nbsp; &lt", strict=False)[0] == "Q&A &nbsp; <"
    assert parse_html("Q&amp;A")[0] == "Q&A"


async def test_lenient_html_mode(http: ClientSession) -> None:
    async with BotApiStandIn(strict_html=False) as api:
        chat = api.private_chat(api.user(1, "A"))
        status, body = await call(
            http, api, "sendMessage", chat_id=chat.id, text="Q&A", parse_mode="HTML"
        )
        assert status == 200 and body["result"]["text"] == "Q&A"
