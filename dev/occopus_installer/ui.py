"""What the installer prints: plain lines, with colour and a spinner only on a terminal."""
import contextlib
import itertools
import os
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

GREEN, YELLOW, RED, BOLD = "32", "33", "31", "1"


class Console:
    """Lines on one stream, decorated only when that stream is a terminal.

    A log file or a pipe gets the same words without escape codes; NO_COLOR
    and TERM=dumb turn the decoration off on a terminal too.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.fancy = (self.stream.isatty() and not os.environ.get("NO_COLOR")
                      and os.environ.get("TERM") != "dumb")

    def paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.fancy else text

    def say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def done(self, text: str) -> None:
        self.say(f"{self.paint(GREEN, 'ok')}    {text}")

    def warn(self, text: str) -> None:
        self.say(f"{self.paint(YELLOW, 'note')}  {text}")

    def failed(self, text: str) -> None:
        self.say(f"{self.paint(RED, 'FAIL')}  {text}")

    @contextlib.contextmanager
    def working(self, text: str) -> Iterator[None]:
        """Show `text` while a slow step runs: a spinner on a terminal, one line elsewhere."""
        if not self.fancy:
            self.say(f"...   {text}")
            yield
            return
        stop = threading.Event()
        thread = threading.Thread(target=self._spin, args=(text, stop), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _spin(self, text: str, stop: threading.Event) -> None:
        for frame in itertools.cycle("|/-\\"):
            self.stream.write(f"\r{self.paint(BOLD, frame)}     {text}")
            self.stream.flush()
            if stop.wait(0.1):
                break
        self.stream.write("\r\033[K")
        self.stream.flush()
