"""Where the wheels come from: one private index or one wheelhouse folder, nothing else.

pip is run with no configuration file and without the caller's PIP_*
settings, so an index or find-links that the machine adds cannot supply a
package: what gets installed is what the named source holds. Only the
settings about reaching that source (certificates, proxy, timeouts) pass.
"""
import os
from dataclasses import dataclass
from pathlib import Path

from .proc import InstallError

KEPT_PIP_SETTINGS = ("PIP_CERT", "PIP_CLIENT_CERT", "PIP_TRUSTED_HOST", "PIP_PROXY",
                     "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES")


@dataclass(frozen=True)
class Source:
    """An index URL (its /simple/ page) or a folder of wheels."""

    index_url: str = ""
    wheelhouse: str = ""

    @classmethod
    def choose(cls, index_url: str | None, wheelhouse: str | None) -> "Source | None":
        """The source the options name; None when they name none."""
        if index_url and wheelhouse:
            raise InstallError("name one source: --index-url or --wheelhouse, not both")
        if wheelhouse:
            folder = Path(wheelhouse).expanduser().resolve()
            if not any(folder.glob("occo_api-*.whl")):
                raise InstallError(f"the wheelhouse {folder} has no occo_api wheel; name the folder "
                                   "that holds occo_api-*.whl")
            return cls(wheelhouse=str(folder))
        if index_url:
            return cls(index_url=index_url.rstrip("/").removesuffix("/simple") + "/simple/")
        return None

    @classmethod
    def from_state(cls, state: dict) -> "Source | None":
        """The source an earlier run recorded, if any."""
        source = cls(index_url=state.get("index_url", ""), wheelhouse=state.get("wheelhouse", ""))
        return source if source.index_url or source.wheelhouse else None

    def as_state(self) -> dict[str, str]:
        return {"index_url": self.index_url, "wheelhouse": self.wheelhouse}

    def pip_args(self) -> list[str]:
        if self.wheelhouse:
            return ["--no-index", "--find-links", self.wheelhouse]
        return ["--index-url", self.index_url]

    def __str__(self) -> str:
        if self.wheelhouse:
            return f"the wheelhouse {self.wheelhouse}"
        return f"the index {self.index_url}"


def pip_env() -> dict[str, str]:
    """The environment for pip: none of the machine's pip configuration but the kept settings."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PIP_") or key in KEPT_PIP_SETTINGS}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env
