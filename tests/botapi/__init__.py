"""A local stand-in for the Telegram Bot API, for end-to-end tests and benchmarks.

The real bot (a python-telegram-bot ``Application``, or the ``studybot bot`` process) is
pointed at it with ``TELEGRAM_BASE_URL=<stand-in>.base_url``; requests then arrive at
``/bot<TOKEN>/<method>`` exactly as they would at ``api.telegram.org``. The stand-in answers
with the real Bot API JSON shapes and error descriptions, keeps the state a user would see
(messages, their edits, inline keyboards, callback answers), and lets a test play the users
(``driver.py`` shows how).

Semantics follow Telegram (tdlib and telegram-bot-api) where it matters for a bot:

* requests may be form-encoded, multipart (uploads) or JSON; method names are case-insensitive;
* ``parse_mode=HTML`` is parsed like tdlib's ``parse_html`` (same tags, attributes and error
  texts), text length is counted in UTF-16 code units after parsing, and leading/trailing
  whitespace is trimmed; with ``strict_html=True`` (the default) a bare ``&`` that does not
  start ``&lt; &gt; &amp; &quot; &#NNN; &#xHHH;`` is rejected as well, which Telegram itself
  tolerates, so that unescaped text is caught in tests; ``Markdown``/``MarkdownV2`` text is
  stored unparsed;
* ``editMessageText``/``editMessageCaption`` without ``reply_markup`` remove the inline keyboard,
  like Telegram; editing to identical content answers "message is not modified";
* ``getUpdates`` confirms with ``offset``, long-polls for ``timeout`` seconds, honours ``limit``
  and ``allowed_updates`` (applied when updates are created, as Telegram does), answers 409
  while a webhook is set, and a newer ``getUpdates`` ends a pending one with 409;
* ``sendPoll`` checks what Telegram checks (a question of 1-300 characters, 2-12 options of
  1-100, a quiz's ``correct_option_ids`` (or the older ``correct_option_id``), an explanation
  of at most 200 characters and 2 line feeds); users vote with ``answer_poll`` and
  ``retract_vote``, which create a ``poll_answer`` update and, as for the bot's own polls, a
  ``poll`` update, and refuse what a Telegram app would not let a user do (a second vote in a
  quiz) unless ``strict=False``.

Only the methods listed in ``BotApiServer.METHODS`` are implemented; any other method answers
404 "Not Found".

The modules, one concern each:

* ``state``: users, chats, messages, recorded calls, button presses (plain data);
* ``entities``: formatted text (UTF-16 lengths, tdlib's HTML parser, trimming, commands);
* ``errors``: error answers and Telegram's descriptions;
* ``params``: reading a request's parameters, validating ``reply_markup``;
* ``updates``: the update queue behind ``getUpdates`` and webhooks;
* ``limits``: flood limits and injected failures;
* ``server``: the aiohttp server and the Bot API methods (:class:`BotApiServer`);
* ``driver``: what tests do: act as users, inspect, wait (:class:`BotApiStandIn`).
"""

from tests.botapi.driver import BotApiStandIn
from tests.botapi.entities import HtmlParseError, parse_html, strip_html, trim_formatted, utf16_len
from tests.botapi.errors import (
    CONFLICT_OTHER_POLL,
    CONFLICT_WEBHOOK,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiError,
)
from tests.botapi.limits import SENDING_METHODS, RateLimits
from tests.botapi.server import DEFAULT_TOKEN, BotApiServer
from tests.botapi.state import (
    Call,
    CallbackQuery,
    Chat,
    MessageVersion,
    PollState,
    Press,
    StoredMessage,
    Upload,
    User,
)
from tests.botapi.updates import DEFAULT_ALLOWED_UPDATES

__all__ = [
    "CONFLICT_OTHER_POLL",
    "CONFLICT_WEBHOOK",
    "DEFAULT_ALLOWED_UPDATES",
    "DEFAULT_TOKEN",
    "NOT_MODIFIED",
    "QUERY_TOO_OLD",
    "SENDING_METHODS",
    "ApiError",
    "BotApiServer",
    "BotApiStandIn",
    "Call",
    "CallbackQuery",
    "Chat",
    "HtmlParseError",
    "MessageVersion",
    "PollState",
    "Press",
    "RateLimits",
    "StoredMessage",
    "Upload",
    "User",
    "parse_html",
    "strip_html",
    "trim_formatted",
    "utf16_len",
]
