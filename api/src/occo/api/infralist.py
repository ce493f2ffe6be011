"""~/.occopus/infralist.yaml: the infrastructure ids this OS user built, as the original kept them.

The store is the source of truth (`occopus-maintain -l` lists it); this file
is kept for the scripts of existing users that read it. Changes are made
under an exclusive `flock` and written to a temporary file that replaces the
list in one rename, so two commands never lose each other's ids and a crash
never leaves half a file. The list and its lock file are 0600 in a 0700
folder (`occo.util.private`).
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from occo.util.errors import OccoError
from occo.util.private import open_private, private_folder

DEFAULT_PATH = Path("~/.occopus/infralist.yaml")


class Infralist:
    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path or os.environ.get("OCCOPUS_INFRALIST") or DEFAULT_PATH).expanduser()

    def ids(self) -> list[str]:
        try:
            loaded = yaml.safe_load(self.path.read_text())
        except FileNotFoundError:
            return []
        except yaml.YAMLError:
            return []      # unreadable: rewritten whole by the next change
        return [str(item) for item in loaded] if isinstance(loaded, list) else []

    def add(self, infra_id: str) -> None:
        self._change(lambda ids: ids if infra_id in ids else [*ids, infra_id])

    def remove(self, infra_id: str) -> None:
        self._change(lambda ids: [item for item in ids if item != infra_id])

    def _change(self, change: Callable[[list[str]], list[str]]) -> None:
        with self._locked():
            ids = self.ids()
            new = change(ids)
            if new != ids:
                self._write(new)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        private_folder(self.path.parent)
        with os.fdopen(open_private(self.path.with_name(self.path.name + ".lock")), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _write(self, ids: list[str]) -> None:
        try:
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".infralist-")
        except OSError as error:
            raise not_written(self.path, error) from None
        try:
            with os.fdopen(handle, "w") as stream:     # mkstemp's file is 0600
                yaml.safe_dump(ids, stream, default_flow_style=False)
            os.replace(temporary, self.path)
        except BaseException as error:
            os.unlink(temporary)
            if isinstance(error, OSError):
                raise not_written(self.path, error) from None
            raise


def not_written(path: Path, error: OSError) -> OccoError:
    return OccoError(f"cannot update {path}: {error.strerror}; it is left as it was",
                     hint="free some space on its disk (or check its folder's permissions); "
                          "`occopus-maintain -l` lists the infrastructures from the store")
