"""What a command needs to act: settings, the store, the info router, the engine, the enactor.

Everything is built from the configuration (`--cfg`, `--auth_data_path`, or
their defaults, announced on stderr as the original did) and closed in one
place. The store belongs to the thread that opened it; the lease renewer
opens its own connection through `open_store`.
"""
from __future__ import annotations

import dataclasses
import getpass
import random
import sys
from types import TracebackType

from occo.enactor.cleanpasses import CleanPasses
from occo.enactor.enactor import Enactor
from occo.infobroker.auth import AuthData
from occo.infobroker.broker import InfoRouter, load_providers
from occo.infobroker.store import Store, open_store
from occo.infraprocessor.engine import Engine, Progress
from occo.resourcehandler.guard import ResourceHandlers
from occo.util.config import Settings, load_settings


def load(cfg: str | None, auth_data_path: str | None = None) -> Settings:
    """The settings, saying on stderr which default files were picked."""
    settings = load_settings(cfg, auth_data_path)
    for found in (settings.config_file, settings.auth_file):
        if found.notice:
            print(found.notice, file=sys.stderr)
    return settings


def connect(settings: Settings) -> Store:
    """A new connection to the configured store of this OS user."""
    return open_store(dataclasses.asdict(settings.store), getpass.getuser())


class Session:
    """`with Session(settings) as session:` the parts of one command run; sessions whose
    passes take turns on the same infrastructures (a service's workers) share `clean_passes`
    so that recovery is skipped whichever made the last pass."""

    def __init__(self, settings: Settings, *, progress: Progress | None = None,
                 clean_passes: CleanPasses | None = None) -> None:
        self.settings = settings
        self.store = connect(settings)
        path = settings.auth_file.path
        self.auth_data = AuthData(path) if path else None
        self.handlers = ResourceHandlers(settings)
        rng = random.Random()
        self.router = InfoRouter(load_providers(store=self.store, auth_data=self.auth_data,
                                                rng=rng, resource_handlers=self.handlers))
        self.engine = Engine(self.store, self.router, self.handlers, settings=settings,
                             auth_data=self.auth_data, rng=rng, progress=progress)
        self.enactor = Enactor(self.store, self.engine, open_store=lambda: connect(settings),
                               clean_passes=clean_passes)

    def close(self) -> None:
        self.enactor.close()
        self.handlers.close()
        self.store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
