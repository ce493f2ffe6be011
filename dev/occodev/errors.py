"""The one error type occo-dev reports to its user.

A `DevError` is an expected failure (bad input, a server that is down, a
command that failed): the CLI prints its message as one line and exits with
its code. Anything else is a bug and keeps its traceback.
"""


class DevError(Exception):
    """An expected failure, shown to the user as one line."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
