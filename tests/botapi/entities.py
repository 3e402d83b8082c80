"""Formatted text as Telegram sees it: UTF-16 lengths, tdlib-compatible HTML, trimming, commands."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from tests.botapi.state import JSON


class HtmlParseError(ValueError):
    """``parse_mode=HTML`` text that Telegram would reject; the message is tdlib's."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts in."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


_HTML_SPECIAL = re.compile(r"[<&]")
_HTML_TAGS: Final = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_SPACE: Final = frozenset(" \t\r\n\v\0")  # tdlib's is_space(), '\0' ends the text
_NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_DIGITS: Final = frozenset("0123456789")
_ALPHA: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_TOKEN: Final = frozenset(_ALPHA | _DIGITS | {".", "-"})
_SIMPLE_TAG_TYPES: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
# tdlib's MessageEntity::get_type_priority, the tie-breaker of sort_entities().
_ENTITY_PRIORITY: Final = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_TG_USER_LINK = re.compile(r"^tg://user\?id=(\d+)$", re.I)
_TRIM_CHARS: Final = " \t\r\n"


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_html_entity(s: str, pos: int, strict: bool) -> tuple[str, int] | None:
    """tdlib's decode_html_entity on ``s`` (NUL-terminated) at ``s[pos] == '&'``.

    Returns the decoded character and the position after the entity, or None when the text
    there is not an entity (tdlib then keeps the '&' as a literal character). In strict mode
    the terminating ';' is required.
    """
    end = pos + 1
    code = 0
    if s[end] == "#":
        end += 1
        if s[end] == "x":
            end += 1
            start = end
            while s[end] in _HEX:
                end += 1
            code = int(s[start:end], 16) if end > start else 0
        else:
            start = end
            while s[end] in _DIGITS:
                end += 1
            code = int(s[start:end]) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
    else:
        start = end
        while s[end] in _ALPHA:
            end += 1
        named = _NAMED_ENTITIES.get(s[start:end])
        if named is None:
            return None
        code = ord(named)
    if s[end] == ";":
        end += 1
    elif strict:
        return None
    return chr(code), end


def _checked_link(url: str) -> str:
    """An approximation of tdlib's LinkManager::get_checked_link: '' when not a usable link."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return ""
    if "://" not in url and not url.lower().startswith(("tg:", "mailto:")):
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https", "ftp"):
        if not parts.netloc or ("." not in parts.netloc and parts.netloc != "localhost"):
            return ""
        if not parts.path:
            url = urlunsplit(parts._replace(path="/"))
    return url


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the parsed text
    chunk: int  # index into the output chunks where the tag's content starts
    expandable: bool = False


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into plain text and Bot API ``MessageEntity`` dicts.

    A port of tdlib's ``parse_html``: the same tags and attributes, the same error messages
    (raised as :class:`HtmlParseError`), offsets and lengths in UTF-16 code units, entities
    sorted like tdlib. ``strict`` additionally rejects a bare ``&``, unknown named entities
    and entities without ``;`` (Telegram keeps those as literal text).
    """
    if "<" not in text and "&" not in text:
        return text, []
    s = text + "\0"
    n = len(text)
    out: list[str] = []
    utf16 = 0
    raw_entities: list[list[Any]] = []  # [type, offset, length, extra dict]
    stack: list[_OpenTag] = []
    i = 0
    while i < n:
        match = _HTML_SPECIAL.search(text, i)
        j = match.start() if match else n
        if j > i:
            chunk = text[i:j]
            out.append(chunk)
            utf16 += utf16_len(chunk)
            i = j
            if i >= n:
                break
        if text[i] == "&":
            decoded = _decode_html_entity(s, i, strict)
            if decoded is not None:
                char, i = decoded
                if 0xD800 <= ord(char) <= 0xDFFF:
                    raise HtmlParseError(
                        "Text contains invalid Unicode characters after decoding HTML entities, "
                        "check for unmatched surrogate code units"
                    )
                out.append(char)
                utf16 += 2 if ord(char) > 0xFFFF else 1
                continue
            if strict:
                raise HtmlParseError(
                    f'Character "&" at byte offset {_byte_offset(text, i)} must be escaped as '
                    '"&amp;" (the only named entities are &lt; &gt; &amp; &quot;)'
                )
            out.append("&")
            utf16 += 1
            i += 1
            continue

        begin = i
        i += 1
        if s[i] != "/":
            # A start tag.
            while s[i] not in _HTML_SPACE and s[i] != ">":
                i += 1
            if i >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            tag = s[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise HtmlParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            argument = ""
            expandable = False
            while s[i] != ">":
                while i < n and s[i] in _HTML_SPACE:
                    i += 1
                if s[i] == ">":
                    break
                attr_begin = i
                while s[i] not in _HTML_SPACE and s[i] != "=" and s[i] != ">":
                    i += 1
                attr_name = s[attr_begin:i]
                if not attr_name:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(text, begin)}"
                    )
                while i < n and s[i] in _HTML_SPACE:
                    i += 1
                if s[i] != "=":
                    if tag == "blockquote" and attr_name == "expandable":
                        expandable = True
                        if i >= n:
                            raise HtmlParseError(
                                f'Unclosed start tag "{tag}" at byte offset '
                                f"{_byte_offset(text, begin)}"
                            )
                        continue
                    raise HtmlParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                i += 1
                while i < n and s[i] in _HTML_SPACE:
                    i += 1
                if i >= n:
                    raise HtmlParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                if s[i] != "'" and s[i] != '"':
                    token_begin = i
                    while s[i] in _NAME_TOKEN:
                        i += 1
                    value = s[token_begin:i].lower()
                    if s[i] not in _HTML_SPACE and s[i] != ">":
                        raise HtmlParseError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = s[i]
                    i += 1
                    value_chars: list[str] = []
                    while i < n and s[i] != quote:
                        if s[i] == "&":
                            decoded = _decode_html_entity(s, i, strict)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i = decoded[1]
                                continue
                            if strict:
                                raise HtmlParseError(
                                    f'Character "&" at byte offset {_byte_offset(text, i)} must '
                                    'be escaped as "&amp;"'
                                )
                        value_chars.append(s[i])
                        i += 1
                    if s[i] == quote and i < n:
                        i += 1
                    value = "".join(value_chars)
                if i >= n:
                    raise HtmlParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                if tag == "a" and attr_name == "href":
                    argument = value
                elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attr_name == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attr_name == "expandable":
                    expandable = True
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(
                    'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            stack.append(_OpenTag(tag, argument, utf16, len(out), expandable))
            i += 1  # past '>'
            continue

        # An end tag.
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        while s[i] not in _HTML_SPACE and s[i] != ">":
            i += 1
        end_name = s[begin + 2 : i].lower()
        while i < n and s[i] in _HTML_SPACE:
            i += 1
        if s[i] != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        opened = stack[-1]
        if end_name and end_name != opened.name:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{opened.name}>", found "</{end_name}>"'
            )
        if utf16 > opened.offset:
            _close_entity(opened, utf16 - opened.offset, out, raw_entities)
        stack.pop()
        i += 1  # past '>'

    if stack:
        raise HtmlParseError(f"Can't find end tag corresponding to start tag {stack[-1].name}")
    entities: list[JSON] = []
    for kind, offset, length, extra in raw_entities:
        if kind == "code":
            extra.pop("language", None)
        entity: JSON = {"type": kind, "offset": offset, "length": length}
        entity.update(extra)
        entities.append(entity)
    entities.sort(key=lambda e: (e["offset"], -e["length"], _ENTITY_PRIORITY.get(e["type"], 50)))
    return "".join(out), entities


def _close_entity(opened: _OpenTag, length: int, out: list[str], entities: list[list[Any]]) -> None:
    """Turn a closed tag into an entity, merging <pre><code class=...> like tdlib."""
    tag, offset, argument = opened.name, opened.offset, opened.argument
    simple = _SIMPLE_TAG_TYPES.get(tag)
    if simple is not None:
        entities.append([simple, offset, length, {}])
    elif tag == "tg-emoji":
        if not argument.isdigit() or int(argument) == 0 or int(argument) >= 2**63:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entities.append(["custom_emoji", offset, length, {"custom_emoji_id": argument}])
    elif tag == "a":
        url = argument or "".join(out[opened.chunk :])
        user_link = _TG_USER_LINK.match(url.strip())
        if user_link:
            user = {
                "id": int(user_link.group(1)),
                "is_bot": False,
                "first_name": "User",
            }
            entities.append(["text_mention", offset, length, {"user": user}])
        else:
            url = _checked_link(url)
            if url:
                entities.append(["text_link", offset, length, {"url": url}])
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last[0] == "code"
            and last[1] == offset
            and last[2] == length
            and last[3].get("language")
        ):
            last[0] = "pre"
        else:
            entities.append(["pre", offset, length, {}])
    elif tag == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last[0] == "pre"
            and last[1] == offset
            and last[2] == length
            and argument
        ):
            last[3]["language"] = argument
        else:
            entities.append(["code", offset, length, {"language": argument} if argument else {}])
    elif tag == "blockquote":
        kind = "expandable_blockquote" if opened.expandable else "blockquote"
        entities.append([kind, offset, length, {}])


def trim_formatted(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip leading/trailing whitespace as Telegram does, shifting and clipping entities."""
    stripped = text.strip(_TRIM_CHARS)
    if len(stripped) == len(text):
        return text, entities
    left = len(text) - len(text.lstrip(_TRIM_CHARS))
    total = utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(int(entity.get("offset", 0)) - left, 0)
        end = min(int(entity.get("offset", 0)) + int(entity.get("length", 0)) - left, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def strip_html(text: str) -> str:
    """Plain text of Telegram HTML (lenient: never raises); handy for assertions."""
    try:
        return parse_html(text, strict=False)[0]
    except HtmlParseError:
        return re.sub(r"<[^>]*>", "", text)


_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def command_length(text: str) -> int:
    """UTF-16 length of a bot command at the start of ``text`` (tdlib's rules), else 0."""
    match = _COMMAND.match(text)
    if not match:
        return 0
    end = match.end()
    if end < len(text):
        following = text[end]
        if following.isalnum() or following in "_/<>@":
            return 0
    return end


def valid_entity(entity: Any) -> bool:
    return (
        isinstance(entity, dict)
        and isinstance(entity.get("type"), str)
        and isinstance(entity.get("offset"), int)
        and isinstance(entity.get("length"), int)
    )
