"""Bearer tokens of the REST service: who may call it, and who may only read.

With `rest: {auth: token}` (the default) every route needs
`Authorization: Bearer TOKEN` with a token of the token file
(`rest.token_file`, default `~/.occopus/rest-token`): one token a line, a line
`TOKEN read` for a token that may only read (403 on a route that changes
something); blank lines and `#` comments are skipped. On first start the file
is made (0600, in a 0700 folder: `occo.util.private`) with one new token, and
the service says on stderr where it is; no token is ever printed or logged.
Tokens are compared in constant time, each one of them, so an answer's timing
tells nothing about how much of a guess was right. The file is read at start:
restart the service after changing it.

With `auth: none` nothing is checked, and the service listens only on a
loopback address (`server`).
"""
from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from occo.util.config import RestSettings
from occo.util.errors import ConfigurationError, SourceLocation
from occo.util.private import create_private, open_private, private_folder

from .errors import RestError

READ_ONLY_MARK = "read"
MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Token:
    secret: str = ""
    read_only: bool = False

    def __repr__(self) -> str:       # never shown, even in a traceback's locals
        return f"Token(read_only={self.read_only})"


class Tokens:
    """The tokens the service accepts; `required` is false with `auth: none`."""

    def __init__(self, tokens: Sequence[Token] = (), *, required: bool = True,
                 path: Path | None = None) -> None:
        self._tokens = tuple(tokens)
        self.required = required
        self.path = path

    @classmethod
    def none(cls) -> Tokens:
        """No authentication (`auth: none`)."""
        return cls(required=False)

    @classmethod
    def load(cls, settings: RestSettings, say: Callable[[str], None]) -> Tokens:
        """The tokens `settings` asks for: the token file's, made with one new token when it
        is missing (`say` tells where, never the token)."""
        if settings.auth == "none":
            return cls.none()
        path = Path(settings.token_file).expanduser()
        if _make(path):
            say(f"made a token for the REST API in {path} (send it as 'Authorization: "
                "Bearer TOKEN'; add a line 'TOKEN read' there for a read-only token)")
        tokens = cls(parse(_read(path), str(path)), path=path)
        if tokens.empty:
            say(f"warning: {path} holds no token: every request will be refused (401)")
        return tokens

    @property
    def empty(self) -> bool:
        return not self._tokens

    def match(self, presented: str) -> Token | None:
        """The token `presented` is, compared with every token in constant time."""
        given = presented.encode()
        found = None
        for token in self._tokens:
            if hmac.compare_digest(given, token.secret.encode()):
                found = token
        return found


def parse(text: str, source: str) -> list[Token]:
    """The tokens of a token file's text; a malformed line is an error naming its line (and
    never quoting it: it may hold a token)."""
    tokens = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) == 1 or (len(words) == 2 and words[1] == READ_ONLY_MARK):
            tokens.append(Token(words[0], read_only=len(words) == 2))
            continue
        raise ConfigurationError("a token line is a token, optionally followed by 'read'",
                                 location=SourceLocation(source, number),
                                 hint="write one token a line: 'TOKEN' or 'TOKEN read'")
    return tokens


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _make(path: Path) -> bool:
    """Make the token file with a new token unless it exists; whether it was made."""
    private_folder(path.parent)
    try:
        fd = create_private(path)
    except FileExistsError:
        return False
    except OSError as error:
        raise ConfigurationError(f"cannot create the token file {path}: {error.strerror}",
                                 hint="give rest: {token_file: PATH} a folder of yours") from None
    with os.fdopen(fd, "w") as stream:
        stream.write(new_token() + "\n")
    return True


def _read(path: Path) -> str:
    fd = open_private(path, os.O_RDONLY)        # a regular file of ours, made 0600 if it was not
    with os.fdopen(fd, "rb") as stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ConfigurationError(f"the token file {path} is larger than {MAX_FILE_BYTES:,} "
                                 "bytes", hint="keep one token a line")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise ConfigurationError(f"the token file {path} is not UTF-8 text",
                                 hint="keep one token a line") from None


# --- the dependencies of the routes --------------------------------------------------

def _check(request: Request, credentials: HTTPAuthorizationCredentials | None,
           *, write: bool) -> None:
    tokens: Tokens = request.app.state.service.tokens
    if not tokens.required:
        return
    if credentials is None:
        raise RestError(401, "a bearer token is needed", headers={"WWW-Authenticate": "Bearer"},
                        hint="send 'Authorization: Bearer TOKEN' with a token of the service's "
                             "token file")
    token = tokens.match(credentials.credentials)
    if token is None:
        raise RestError(401, "the token is not one the service accepts",
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                        hint="use a token of the service's token file")
    if write and token.read_only:
        raise RestError(403, "a read-only token cannot change anything",
                        hint="use a token without 'read' after it in the token file")


class TokenCheck(HTTPBearer):
    """A route's check of its bearer token, and the bearer scheme of the route in the OpenAPI
    document: one dependency, not a check depending on the scheme (FastAPI solves each level
    on every request). A coroutine: a plain function dependency would run in a worker
    thread, a hop for a request that compares bytes."""

    def __init__(self, *, write: bool) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer",
                         description="a token of the service's token file (rest.token_file)")
        self.write = write

    async def __call__(self, request: Request) -> None:    # type: ignore[override]
        _check(request, await super().__call__(request), write=self.write)


require_reader = TokenCheck(write=False)
"""Any valid token (401 without one)."""

require_writer = TokenCheck(write=True)
"""A token that may change things (401 without a valid one, 403 for a read-only one)."""
