"""The world the stand-in simulates: users, chats, messages, the bot's calls, button presses.

Plain data: the server (``server.py``) changes it as the bot calls methods, the driver
(``driver.py``) as the users act, and tests read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

JSON = dict[str, Any]

MEMBER_STATUSES: Final = frozenset(
    {"creator", "administrator", "member", "restricted", "left", "kicked"}
)


@dataclass(frozen=True, slots=True)
class User:
    """A Telegram user (or the bot itself, with ``is_bot=True``)."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_api(self) -> JSON:
        """The Bot API ``User`` object."""
        data: JSON = {
            "id": self.id,
            "is_bot": self.is_bot,
            "first_name": self.first_name,
        }
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat the stand-in knows: ``private`` (id = the user's id) or a group (id < 0)."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    def to_api(self) -> JSON:
        """The Bot API ``Chat`` object."""
        data: JSON = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data


@dataclass(frozen=True, slots=True)
class Upload:
    """A file uploaded in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class MessageVersion:
    """An earlier state of a message, kept in :attr:`StoredMessage.history` on each edit."""

    text: str | None
    entities: list[JSON]
    raw_text: str | None
    parse_mode: str | None
    caption: str | None
    reply_markup: JSON | None
    edit_date: int | None


@dataclass(slots=True, eq=False)
class StoredMessage:
    """The current state of one message, as the users in the chat see it.

    ``text``/``caption`` are the plain text after entity parsing (what Telegram stores and
    returns); ``raw_text``/``raw_caption`` are what the bot sent, with ``parse_mode``.
    """

    message_id: int
    chat: Chat
    sender: User
    date: int
    outgoing: bool  # sent by the bot
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    raw_text: str | None = None
    parse_mode: str | None = None
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    raw_caption: str | None = None
    photo: list[JSON] | None = None
    document: JSON | None = None
    poll: PollState | None = None
    reply_markup: JSON | None = None
    reply_to: StoredMessage | None = None
    edit_date: int | None = None
    history: list[MessageVersion] = field(default_factory=list)
    edit_count: int = 0
    deleted: bool = False

    @property
    def kind(self) -> str:
        """``text``, ``photo``, ``document`` or ``poll``."""
        if self.photo is not None:
            return "photo"
        if self.poll is not None:
            return "poll"
        if self.document is not None:
            return "document"
        return "text"

    @property
    def keyboard(self) -> list[list[JSON]]:
        """The inline keyboard rows (button dicts); empty when there is none."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def button_texts(self) -> list[list[str]]:
        """The inline keyboard as rows of button labels."""
        return [[str(button.get("text", "")) for button in row] for row in self.keyboard]

    def button(self, label: str) -> JSON:
        """The inline button whose text is ``label``, or else the one button whose text starts
        with it once a leading mark is dropped ("2 · Partial" finds "👉 2 · Partial · 2 days");
        KeyError when there is none (or several)."""
        buttons = [button for row in self.keyboard for button in row]
        for button in buttons:
            if button.get("text") == label:
                return button
        starting = [b for b in buttons if _unmarked(str(b.get("text", ""))).startswith(label)]
        if len(starting) == 1:
            return starting[0]
        raise KeyError(f"no button {label!r} in message {self.message_id}: {self.button_texts}")

    def callback_data(self, label: str) -> str:
        """The callback_data of the inline button labelled ``label``."""
        return str(self.button(label)["callback_data"])

    def label_for(self, data: str) -> str | None:
        """The label of the inline button carrying callback ``data``, if any."""
        for row in self.keyboard:
            for button in row:
                if button.get("callback_data") == data:
                    return str(button.get("text", ""))
        return None

    def snapshot(self) -> MessageVersion:
        return MessageVersion(
            text=self.text,
            entities=self.entities,
            raw_text=self.raw_text,
            parse_mode=self.parse_mode,
            caption=self.caption,
            reply_markup=self.reply_markup,
            edit_date=self.edit_date,
        )

    def to_api(self, *, with_reply: bool = True) -> JSON:
        """The Bot API ``Message`` object for the current state."""
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.photo is not None:
            data["photo"] = self.photo
        if self.document is not None:
            data["document"] = self.document
        if self.poll is not None:
            data["poll"] = self.poll.to_api()
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        return data


@dataclass(slots=True, eq=False)
class PollState:
    """A poll the bot sent, and every vote cast in it (the users' current choices)."""

    id: str
    chat_id: int
    message_id: int
    question: str
    options: list[str]
    type: str  # "regular" or "quiz"
    is_anonymous: bool
    allows_multiple_answers: bool
    allows_revoting: bool
    correct_option_ids: list[int] = field(default_factory=list)
    explanation: str | None = None
    explanation_entities: list[JSON] = field(default_factory=list)
    question_entities: list[JSON] = field(default_factory=list)
    is_closed: bool = False
    votes: dict[int, list[int]] = field(default_factory=dict)  # user id -> option ids

    def to_api(self) -> JSON:
        """The Bot API ``Poll`` object as its sender (the bot) sees it: with the answer."""
        counts = [0] * len(self.options)
        for chosen in self.votes.values():
            for option in chosen:
                counts[option] += 1
        data: JSON = {
            "id": self.id,
            "question": self.question,
            "options": [
                {"text": text, "voter_count": count, "persistent_id": str(k)}
                for k, (text, count) in enumerate(zip(self.options, counts, strict=True))
            ],
            "total_voter_count": sum(1 for chosen in self.votes.values() if chosen),
            "is_closed": self.is_closed,
            "is_anonymous": self.is_anonymous,
            "type": self.type,
            "allows_multiple_answers": self.allows_multiple_answers,
            "allows_revoting": self.allows_revoting,
            "members_only": False,
        }
        if self.question_entities:
            data["question_entities"] = self.question_entities
        if self.type == "quiz":
            data["correct_option_ids"] = list(self.correct_option_ids)
            if self.explanation:
                data["explanation"] = self.explanation
                if self.explanation_entities:
                    data["explanation_entities"] = self.explanation_entities
        return data


@dataclass(slots=True)
class Call:
    """One request the bot made: canonical method name, parameters, answer, timing."""

    method: str
    params: JSON
    status: int
    response: JSON
    ts: float  # time.monotonic() on arrival
    duration: float

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        return self.response.get("description")

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


@dataclass(slots=True)
class CallbackQuery:
    """A button press the stand-in sent, and the bot's answer to it once answered."""

    id: str
    update_id: int
    user: User
    chat_id: int
    message_id: int
    data: str
    label: str | None
    created: float  # time.monotonic()
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int | None = None


class Press(NamedTuple):
    """What :meth:`BotApiStandIn.press` enqueued."""

    update_id: int
    query_id: str


@dataclass(slots=True)
class ChatState:
    """One chat: its messages, the bot's in order, and the events a transcript shows."""

    chat: Chat
    chat_instance: str
    next_message_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    bot_messages: list[StoredMessage] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    last_action: str | None = None


def as_chat_id(chat: Chat | int) -> int:
    return chat.id if isinstance(chat, Chat) else int(chat)


_RESTRICTED_FLAGS: Final = (
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_send_messages",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_manage_topics",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_edit_tag",
)


def member_json(status: str, user: JSON) -> JSON:
    """A ``ChatMember`` object with every field python-telegram-bot requires."""
    if status == "creator":
        return {"status": status, "user": user, "is_anonymous": False}
    if status == "administrator":
        return {
            "status": status,
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_pin_messages": True,
        }
    if status == "restricted":
        data: JSON = {
            "status": status,
            "user": user,
            "is_member": True,
            "until_date": 0,
        }
        data.update(dict.fromkeys(_RESTRICTED_FLAGS, False))
        return data
    if status == "kicked":
        return {"status": status, "user": user, "until_date": 0}
    return {"status": status, "user": user}


def transcript_lines(message: StoredMessage) -> list[str]:
    """Transcript lines of one bot message in its current state."""
    if message.kind == "photo":
        body = "[photo]" + (f" {message.caption}" if message.caption else "")
    elif message.kind == "document":
        name = (message.document or {}).get("file_name", "document")
        body = f"[document: {name}]" + (f" {message.caption}" if message.caption else "")
    elif message.poll is not None:
        poll = message.poll
        counts = poll.to_api()["options"]
        body = "\n".join(
            [f"[{poll.type} poll] {poll.question}"]
            + [
                f"( {o['text']} ){' ✓' if k in poll.correct_option_ids else ''} · "
                f"{o['voter_count']}"
                for k, o in enumerate(counts)
            ]
        )
    else:
        body = message.text or ""
    lines = body.split("\n")
    for row in message.keyboard:
        lines.append(" ".join(f"[ {button.get('text', '')} ]" for button in row))
    markup = message.reply_markup or {}
    for row in markup.get("keyboard", []) if isinstance(markup, dict) else []:
        labels = (b.get("text", "") if isinstance(b, dict) else str(b) for b in row)
        lines.append(" ".join(f"{{ {label} }}" for label in labels))
    return lines


def _unmarked(label: str) -> str:
    """A button label without a leading emoji mark ("👉 ", "✓ ")."""
    head, _, rest = label.partition(" ")
    return rest if rest and not any(c.isalnum() for c in head) else label
