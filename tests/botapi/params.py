"""A request's parameters, as telegram-bot-api reads them.

From the query string and a JSON, form or multipart body; form values typed as a JSON body
would carry them; ``reply_markup`` validated with telegram-bot-api's error descriptions.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, Final

from aiohttp import BodyPartReader, hdrs, web

from tests.botapi.errors import bad
from tests.botapi.state import JSON, Upload

MAX_CALLBACK_DATA_BYTES: Final = 64

_BUTTON_ACTIONS: Final = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_INT_FIELDS: Final = frozenset(
    {
        "message_id",
        "user_id",
        "offset",
        "limit",
        "cache_time",
        "reply_to_message_id",
        "message_thread_id",
        "max_connections",
        "correct_option_id",
        "open_period",
    }
)
_FLOAT_FIELDS: Final = frozenset({"timeout"})
_BOOL_FIELDS: Final = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "has_spoiler",
        "allow_sending_without_reply",
        "show_caption_above_media",
        "disable_content_type_detection",
        "is_anonymous",
        "allows_multiple_answers",
        "allows_revoting",
        "is_closed",
    }
)
#: Form fields that carry JSON, with the name telegram-bot-api's error gives each.
JSON_FIELDS: Final = {
    "reply_markup": "reply keyboard markup",
    "entities": "entities",
    "caption_entities": "caption entities",
    "allowed_updates": "allowed_updates",
    "commands": "commands",
    "scope": "scope",
    "link_preview_options": "link preview options",
    "reply_parameters": "reply parameters",
    "options": "options",
    "correct_option_ids": "correct option ids",
    "question_entities": "question entities",
    "explanation_entities": "explanation entities",
    "text_entities": "text entities",
}


async def read_params(request: web.BaseRequest) -> JSON:
    """The request's parameters: query string, then a JSON, form or multipart body."""
    params: JSON = dict(request.query) if request.query_string else {}
    if not request.body_exists:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise bad("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad("can't parse JSON object")
        params.update(body)
    elif content_type.startswith("multipart/"):
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                data = await part.read()
                params[part.name] = Upload(
                    part.filename, part.headers.get(hdrs.CONTENT_TYPE), bytes(data)
                )
            else:
                params[part.name] = await part.text()
    else:
        form = await request.post()
        for key, value in form.items():
            params[key] = value if isinstance(value, str) else str(value)
    return params


def normalize(params: JSON) -> None:
    """Turn form strings into the types a JSON body would carry (in place)."""
    for key, value in params.items():
        if not isinstance(value, str):
            continue
        if key == "chat_id":
            if re.fullmatch(r"-?\d+", value):
                params[key] = int(value)
        elif key in _INT_FIELDS:
            try:
                params[key] = int(value)
            except ValueError:
                raise bad(f'field "{key}" must be a valid Number') from None
        elif key in _FLOAT_FIELDS:
            try:
                params[key] = float(value)
            except ValueError:
                raise bad(f'field "{key}" must be a valid Number') from None
        elif key in _BOOL_FIELDS:
            params[key] = value.strip().lower() in ("true", "1")
        elif key in JSON_FIELDS:
            try:
                params[key] = json.loads(value)
            except ValueError:
                raise bad(f"can't parse {JSON_FIELDS[key]} JSON object") from None


def scope_key(scope: Any) -> str:
    """A ``BotCommandScope`` as a dictionary key (the default scope when none is given)."""
    if not scope:
        scope = {"type": "default"}
    if isinstance(scope, dict) and "chat_id" in scope:
        with contextlib.suppress(TypeError, ValueError):
            scope = {**scope, "chat_id": int(scope["chat_id"])}
    return json.dumps(scope, sort_keys=True)


def check_markup(markup: Any) -> JSON | None:
    """Validate reply_markup like telegram-bot-api; an empty inline keyboard means none."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise bad(
                        "can't parse inline keyboard button: InlineKeyboardButton should be "
                        "an Object"
                    )
                if not isinstance(button.get("text"), str):
                    raise bad(
                        'can\'t parse inline keyboard button: Field "text" must be of type String'
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not (
                        1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise bad("BUTTON_DATA_INVALID")
                elif not any(key in button for key in _BUTTON_ACTIONS):
                    raise bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
        if not any(rows):
            return None
        return markup
    if any(key in markup for key in ("keyboard", "remove_keyboard", "force_reply")):
        return markup
    raise bad("can't parse reply keyboard markup JSON object")
