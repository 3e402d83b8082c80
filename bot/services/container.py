"""Every service over one database and one catalog, built from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from bot.config import Settings
from bot.core.content import load_catalog
from bot.services.chats import ChatService
from bot.services.groups import GroupService
from bot.services.progress import ProgressService
from bot.services.push import PushService
from bot.services.study import Scheduling, StudyService
from bot.storage.db import open_database


@dataclass(frozen=True)
class Services:
    engine: Engine
    study: StudyService
    progress: ProgressService
    chats: ChatService
    pushes: PushService
    groups: GroupService

    def close(self) -> None:
        """Close the database's connections."""
        self.engine.dispose()


def open_services(settings: Settings) -> Services:
    """Load the content, open the database (migrating it) and build the services.

    Raises:
        ContentError: when the content cannot be used; StorageError: the database.
    """
    catalog = load_catalog(settings.content_dirs)
    engine, sessions = open_database(settings.database_url)
    study = StudyService(sessions, catalog, Scheduling.from_settings(settings))
    return Services(
        engine=engine,
        study=study,
        progress=ProgressService(sessions, catalog, study.scheduler),
        chats=ChatService(sessions),
        pushes=PushService(sessions, study, timedelta(seconds=settings.push_lease_seconds)),
        groups=GroupService(sessions, catalog, study.scheduler),
    )
