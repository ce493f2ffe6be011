"""Finding and reading `occopus_config.yaml`, and finding `auth_data.yaml`.

Both files are looked for in the same order, the first that exists wins:
the command-line option (`--cfg`, `--auth_data_path`: a missing file is an
error), the environment variable (`OCCOPUS_CONFIG_PATH`,
`OCCOPUS_AUTH_DATA_PATH`: set, it must name an existing file), then
`~/.occopus/`, the working directory and `<sys.prefix>/etc/occopus/`. Paths
are used as given: unlike the original, an absolute `--cfg` is not put under
`sys.prefix`.

Neither file is required. Without a configuration the defaults apply (an
embedded sqlite store in `~/.occopus/state.db`); without an auth file no
credentials are known. Nothing is printed here: each found file says where it
came from (`FoundFile`), and the commands print its `notice` on stderr, as the
original did for a file found at a default location.

Configurations of the original format keep working: its `!ClassName` tags
are read as plain values, `components.uds` (redis) becomes the store,
`components.rest` and `components.dry_run` are read, and the rest of
`components` and the `plugins: !python_import` list are ignored (plugins are
found through entry points now).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from .errors import ConfigurationError, SchemaError, SourceLocation
from .limits import InstanceLimits, LoadLimits
from .redact import redact_url
from .schema import Field, Problems, Schema, check, did_you_mean
from .yamlload import key_location, load_file, location_of, to_plain

CONFIG_FILE = "occopus_config.yaml"
AUTH_FILE = "auth_data.yaml"
BACKENDS = ("sqlite", "redis", "mongodb")
_SERVER_KEYS = ("host", "port", "db")
SERVER_DEFAULTS = {"redis": ("localhost", 6379, 0), "mongodb": ("localhost", 27017, "occopus")}

Origin = Literal["option", "environment", "default", "none"]


@dataclass(frozen=True)
class FoundFile:
    """Which file was picked and why, so that the caller can tell the user."""

    what: str                   # "configuration file", "authentication file"
    path: Path | None = None
    origin: Origin = "none"

    @property
    def notice(self) -> str | None:
        """What to print on stderr: only a file found at a default location is announced."""
        if self.origin != "default":
            return None
        return f"Using default {self.what}: '{self.path}'"


@dataclass(frozen=True)
class _Search:
    what: str
    option: str
    variable: str
    filename: str

    def defaults(self) -> list[Path]:
        return [Path.home() / ".occopus" / self.filename, Path.cwd() / self.filename,
                Path(sys.prefix) / "etc" / "occopus" / self.filename]


CONFIG_SEARCH = _Search("configuration file", "--cfg", "OCCOPUS_CONFIG_PATH", CONFIG_FILE)
AUTH_SEARCH = _Search("authentication file", "--auth_data_path", "OCCOPUS_AUTH_DATA_PATH",
                      AUTH_FILE)


def _find(search: _Search, explicit: str | os.PathLike | None) -> FoundFile:
    from_env = os.environ.get(search.variable)
    for given, origin, source in ((explicit, "option", search.option),
                                  (from_env or None, "environment", search.variable)):
        if given is None:
            continue
        path = Path(given).expanduser().absolute()
        if not path.is_file():
            raise ConfigurationError(f"Specified {search.what} does not exist: '{path}'",
                                     hint=f"check the path given by {source}")
        return FoundFile(search.what, path, origin)
    for candidate in search.defaults():
        if candidate.is_file():
            return FoundFile(search.what, candidate, "default")
    return FoundFile(search.what)


def find_config_file(explicit: str | os.PathLike | None = None) -> FoundFile:
    """The configuration file to read (`path` None: there is none, use the defaults)."""
    return _find(CONFIG_SEARCH, explicit)


def find_auth_file(explicit: str | os.PathLike | None = None) -> FoundFile:
    """The authentication file to read (`path` None: there is none)."""
    return _find(AUTH_SEARCH, explicit)


# --- the settings -----------------------------------------------------------

@dataclass(frozen=True)
class StoreSettings:
    """Where the state of infrastructures is kept; the store backends open it."""

    backend: str                  # one of BACKENDS
    path: Path | None = None      # sqlite: the database file
    url: str | None = None        # redis, mongodb: the server (host/port/db are folded in)
    prefix: str | None = None     # put before every key; None: the backend's default

    def __repr__(self) -> str:
        url = redact_url(self.url) if self.url else None
        return (f"StoreSettings(backend={self.backend!r}, path={self.path!r}, url={url!r}, "
                f"prefix={self.prefix!r})")


def default_store() -> StoreSettings:
    """The embedded store used when no configuration names one."""
    return StoreSettings("sqlite", path=Path.home() / ".occopus" / "state.db")


@dataclass(frozen=True)
class PluginSettings:
    """Limits and options of one plugin type (`ec2`, `nova`, `chef`, ...)."""

    concurrency: int | None = None          # at most this many calls at once
    rate_per_second: float | None = None    # at most this many calls a second
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def default_token_file() -> Path:
    return Path.home() / ".occopus" / "rest-token"


@dataclass(frozen=True)
class RestSettings:
    """The REST service: where it listens unless told otherwise on its command line, who may
    call it, and how it maintains the infrastructures attached to it."""

    host: str = "127.0.0.1"
    port: int = 5000
    auth: str = "token"             # "token": bearer tokens; "none": loopback only
    token_file: Path = field(default_factory=default_token_file)
    interval: float = 10.0          # seconds between two passes of an attached infrastructure
    workers: int = 4                # passes run at once by one service process
    max_body: int = 1024 * 1024     # bytes a request body may have (413 above)


@dataclass(frozen=True)
class SshSettings:
    """How Occopus reaches nodes over SSH (`occopus-run`, config managers)."""

    host_keys: str = "strict"       # or "trust-first-use": record a host's first key
    parallel: int = 32              # connections at once
    connect_timeout: float = 10.0   # seconds for one connection attempt


@dataclass(frozen=True)
class Settings:
    """Everything read from the configuration file, with defaults filled in."""

    store: StoreSettings = field(default_factory=default_store)
    plugins: Mapping[str, PluginSettings] = field(default_factory=lambda: MappingProxyType({}))
    cmd_enabled: bool = False           # may templates run commands on this host with cmd()?
    dry_run: bool = False
    rest: RestSettings = RestSettings()
    ssh: SshSettings = SshSettings()
    limits: InstanceLimits = InstanceLimits()
    logging: dict | None = None         # a logging.config.dictConfig mapping
    yaml: LoadLimits = LoadLimits()     # bounds on loading a YAML file, and import folders
    config_file: FoundFile = FoundFile(CONFIG_SEARCH.what)
    auth_file: FoundFile = FoundFile(AUTH_SEARCH.what)

    def plugin(self, plugin_type: str) -> PluginSettings:
        """The settings of a plugin type; no limits when the file gives none."""
        return self.plugins.get(plugin_type, PluginSettings())


# --- the file's schema ------------------------------------------------------
# A key written with no value (`port:`) counts as absent, as the checker reads it.

STORE = Schema("store", {
    "backend": Field("str", doc="sqlite (a local file, the default), redis or mongodb"),
    "path": Field("str", doc="sqlite: the database file, relative to this file's folder "
                             "(default ~/.occopus/state.db)"),
    "url": Field("str", doc="redis, mongodb: the server, e.g. redis://localhost:6379/0"),
    "host": Field("str", doc="redis, mongodb: the server's host, instead of url"),
    "port": Field("int", doc="redis, mongodb: the server's port, instead of url"),
    "db": Field("scalar", doc="redis: the database number; mongodb: the database name"),
    "prefix": Field("str", doc="put before every key, to share a server with others"),
}, doc="where Occopus keeps the state of infrastructures")

PLUGIN = Schema("plugin settings", {
    "concurrency": Field("int", doc="at most this many calls to the plugin at once"),
    "rate_per_second": Field("number", doc="at most this many calls to the plugin a second"),
}, open=True, doc="other keys are options for the plugin itself")

LIMITS = Schema("limits", {
    "node_instances": Field("int", doc="the largest scaling min or max a node may have "
                                       f"(default {InstanceLimits.node_instances:,})"),
    "infrastructure_instances": Field("int", doc="the largest sum of the scaling mins of an "
                                                 "infrastructure's nodes (default "
                                                 f"{InstanceLimits.infrastructure_instances:,})"),
}, doc="bounds on the instances a description may ask for")

REST = Schema("rest", {
    "host": Field("str", doc="the address the REST service listens on"),
    "port": Field("int", doc="the port the REST service listens on"),
    "auth": Field("str", doc="token (bearer tokens, the default) or none (no authentication: "
                             "the service then listens only on a loopback address)"),
    "token_file": Field("str", doc="the file of the tokens the service accepts, a line each "
                                   "(default ~/.occopus/rest-token, made on first start); "
                                   "relative to this file"),
    "interval": Field("number", doc="seconds between two passes of an attached infrastructure "
                                    "(default 10)"),
    "workers": Field("int", doc="passes one service process runs at once (default 4)"),
    "max_body": Field("int", doc="the most bytes a request body may have (default 1 MiB)"),
})

SSH = Schema("ssh", {
    "host_keys": Field("str", doc="strict (the default: a host must be in the infrastructure's "
                                  "~/.occopus/known_hosts/<id> file) or trust-first-use (a "
                                  "host's first key is recorded, then required)"),
    "parallel": Field("int", doc="SSH connections at once (default 32)"),
    "connect_timeout": Field("number", doc="seconds one SSH connection attempt may take "
                                           "(default 10)"),
}, doc="how Occopus reaches nodes over SSH")

LEGACY_UDS = Schema("components.uds", {
    "protocol": Field("str", required=True, doc="only redis is supported"),
    "host": Field("str"),
    "port": Field("scalar"),
    "db": Field("int"),
    "altdbs": Field("mapping", doc="ignored: the store keeps all its keys in one database"),
})

_IGNORED = "ignored: plugins are found through entry points"
LEGACY_COMPONENTS = Schema("components", {
    "uds": Field("mapping", schema=LEGACY_UDS, doc="the original's state store (redis)"),
    "rest": Field("mapping", schema=REST),
    "dry_run": Field("bool"),
    **{name: Field(doc=_IGNORED)
       for name in ("resourcehandler", "configmanager", "infobroker", "eventlog")},
}, open=True, doc="the original format; only uds, rest and dry_run are read")

YAML = Schema("yaml", {
    "max_bytes": Field("int", doc="the most bytes read for one file and its imports "
                                  "(default 16 MiB)"),
    "max_values": Field("int", doc="the most values one file holds with its imports, an alias "
                                   "counting as a copy of its anchor (default 1,000,000)"),
    "import_paths": Field("list", items="str",
                          doc="folders that !yaml_import and !text_import may read besides the "
                              "importing file's own folder tree; relative to this file"),
}, doc="bounds on loading YAML files, and where their imports may read")

CONFIG = Schema(CONFIG_FILE, {
    "store": Field("mapping", schema=STORE),
    "plugins": Field("any", doc="settings per plugin type: concurrency, rate_per_second, "
                                "options; the original's !python_import list is ignored"),
    "cmd_enabled": Field("bool", doc="let the cmd() template function run commands on the "
                                     "Occopus host (default false)"),
    "dry_run": Field("bool", doc="log cloud calls instead of making them"),
    "rest": Field("mapping", schema=REST),
    "ssh": Field("mapping", schema=SSH),
    "logging": Field("mapping", doc="a logging.config.dictConfig mapping"),
    "limits": Field("mapping", schema=LIMITS),
    "yaml": Field("mapping", schema=YAML),
    "components": Field("mapping", schema=LEGACY_COMPONENTS),
})

# settings that an original-format file gives under `components`
_LEGACY_NAMES = {"store": "uds", "rest": "rest", "dry_run": "dry_run"}


def load_settings(cfg: str | os.PathLike | None = None,
                  auth_data_path: str | os.PathLike | None = None) -> Settings:
    """Find and read the configuration, and find the auth file (see the module's doc)."""
    config_file = find_config_file(cfg)
    auth_file = find_auth_file(auth_data_path)
    settings = read_settings(config_file.path) if config_file.path else Settings()
    return replace(settings, config_file=config_file, auth_file=auth_file)


def read_settings(path: str | os.PathLike) -> Settings:
    """Read one configuration file; `SchemaError` lists every problem in it at once."""
    path = Path(path).absolute()
    return settings_of(load_file(path, lenient_tags=True), path)


def settings_of(data: Any, path: str | os.PathLike) -> Settings:
    """The settings of a configuration file's data, loaded with lenient tags (a checker that
    has loaded the file need not read it again); `SchemaError` lists every problem."""
    path = Path(path).absolute()
    data = {} if data is None else data
    problems = Problems()
    check(data, CONFIG, path.name, problems)
    if isinstance(data, dict):
        _check_rules(data, _section(data, "components"), problems)
    if problems:
        raise SchemaError(list(problems))
    return _build(data, _section(data, "components"), path)


def _given(section: Mapping, key: str, default: Any = None) -> Any:
    """The value of a key, or `default` when it is absent or written without a value."""
    value = section.get(key)
    return default if value is None else value


def _section(data: Mapping, key: str) -> dict:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


# --- rules beyond the schema: checked before anything is built ---------------

def _check_rules(data: dict, components: dict, problems: Problems) -> None:
    for name, legacy in _LEGACY_NAMES.items():
        if _given(data, name) is not None and _given(components, legacy) is not None:
            problems.add(f"'{name}' is given twice: as '{name}' and as 'components.{legacy}'",
                         key_location(components, legacy), f"keep '{name}' only")
    _check_store(_section(data, "store"), problems)
    protocol = _given(_section(components, "uds"), "protocol", "redis")
    if protocol != "redis":
        problems.add(f"components.uds protocol {protocol!r} is not supported",
                     location_of(components["uds"], "protocol"),
                     "write 'store: {backend: sqlite}' for a store without a server")
    _check_plugins(data.get("plugins"), location_of(data, "plugins"), problems)
    yaml_section = _section(data, "yaml")
    for key in ("max_bytes", "max_values"):
        value = _given(yaml_section, key, 1)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            problems.add(f"'{key}' in yaml must be at least 1", location_of(yaml_section, key))
    limits = _section(data, "limits")
    for key in LIMITS.fields:
        value = _given(limits, key, 1)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            problems.add(f"'{key}' in limits must be at least 1", location_of(limits, key))
    _check_rest(_section(data, "rest") or _section(components, "rest"), problems)
    _check_ssh(_section(data, "ssh"), problems)


def _check_ssh(section: dict, problems: Problems) -> None:
    host_keys = _given(section, "host_keys", "strict")
    if host_keys not in ("strict", "trust-first-use"):
        problems.add(f"ssh host_keys {host_keys!r} is not known", location_of(section, "host_keys"),
                     "write 'strict' or 'trust-first-use'")
    _check_positive(section, "ssh", ("parallel", "connect_timeout"), problems)


def _check_positive(section: dict, name: str, keys: tuple[str, ...], problems: Problems) -> None:
    """Each of `keys` given in `section` must be a number above 0 (the schema checks kinds)."""
    for key in keys:
        value = _given(section, key, 1)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not value > 0:
            problems.add(f"'{key}' in {name} must be more than 0", location_of(section, key))


def _check_rest(section: dict, problems: Problems) -> None:
    auth = _given(section, "auth", "token")
    if auth not in ("token", "none"):
        problems.add(f"rest auth {auth!r} is not known", location_of(section, "auth"),
                     "write 'token' (bearer tokens) or 'none' (loopback only)")
    _check_positive(section, "rest", ("interval", "workers", "max_body"), problems)


def _check_store(section: dict, problems: Problems) -> None:
    backend = _given(section, "backend", "sqlite")
    if backend not in BACKENDS:
        if isinstance(backend, str):
            problems.add(f"unknown store backend {backend!r}", location_of(section, "backend"),
                         did_you_mean(backend, BACKENDS) or f"use one of: {', '.join(BACKENDS)}")
        return
    server_keys = [key for key in _SERVER_KEYS if _given(section, key) is not None]
    for key in (["url", *server_keys] if backend == "sqlite" else ["path"]):
        if _given(section, key) is not None:
            problems.add(f"'{key}' is not used by the {backend} store", key_location(section, key),
                         "sqlite takes 'path'; redis and mongodb take 'url' or 'host'/'port'/'db'")
    if backend != "sqlite" and _given(section, "url") is not None and server_keys:
        problems.add(f"the {backend} server is given twice: by 'url' and by "
                     f"'{'/'.join(server_keys)}'", key_location(section, "url"),
                     "give either 'url' or 'host'/'port'/'db'")
    db = _given(section, "db", 0)
    if backend == "redis" and (isinstance(db, bool) or not isinstance(db, int)):
        problems.add("'db' of a redis store must be a database number", location_of(section, "db"))


def _check_plugins(section: Any, where: SourceLocation | None, problems: Problems) -> None:
    if section is None or isinstance(section, list):    # none, or the original's !python_import
        return
    if not isinstance(section, dict):
        problems.add("'plugins' must map plugin types to their settings", where,
                     "write e.g. plugins: {ec2: {concurrency: 4}}")
        return
    for plugin_type, values in section.items():
        label = f"plugins.{plugin_type}"
        if values is None:
            continue
        check(values, PLUGIN, label, problems, location_of(section, plugin_type))
        if not isinstance(values, dict):
            continue
        concurrency = _given(values, "concurrency", 1)
        if isinstance(concurrency, int) and concurrency < 1:
            problems.add(f"'concurrency' in {label} must be at least 1",
                         location_of(values, "concurrency"))
        rate = _given(values, "rate_per_second", 1)
        if isinstance(rate, (int, float)) and rate <= 0:
            problems.add(f"'rate_per_second' in {label} must be more than 0",
                         location_of(values, "rate_per_second"))


# --- building the settings from a checked file ---------------------------------

def _build(data: dict, components: dict, path: Path) -> Settings:
    logging = _given(data, "logging")
    plugins = _given(data, "plugins")
    return Settings(
        store=_build_store(data, components, path.parent),
        plugins=MappingProxyType({plugin_type: _build_plugin(values or {})
                                  for plugin_type, values in plugins.items()}
                                 if isinstance(plugins, dict) else {}),
        cmd_enabled=_given(data, "cmd_enabled", False),
        dry_run=_given(data, "dry_run", _given(components, "dry_run", False)),
        rest=_build_rest(_given(data, "rest", _section(components, "rest")), path.parent),
        ssh=SshSettings(**{key: float(value) if key == "connect_timeout" else value
                           for key, value in _section(data, "ssh").items()
                           if value is not None}),
        logging=to_plain(logging) if logging is not None else None,
        yaml=_build_load_limits(_section(data, "yaml"), path.parent),
        limits=InstanceLimits(**{key: value for key, value in _section(data, "limits").items()
                                 if value is not None}),
        config_file=FoundFile(CONFIG_SEARCH.what, path, "option"))


def _build_rest(section: dict, base: Path) -> RestSettings:
    given = {key: value for key, value in section.items() if value is not None}
    if "token_file" in given:
        given["token_file"] = base / Path(given["token_file"]).expanduser()
    if "interval" in given:
        given["interval"] = float(given["interval"])
    return RestSettings(**given)


def _build_store(data: dict, components: dict, base: Path) -> StoreSettings:
    if _given(data, "store") is None and _given(components, "uds") is not None:
        return _server_store("redis", components["uds"], None)
    section = _section(data, "store")
    backend = _given(section, "backend", "sqlite")
    prefix = _given(section, "prefix")
    if backend == "sqlite":
        path = (base / Path(section["path"]).expanduser() if _given(section, "path")
                else default_store().path)
        return StoreSettings("sqlite", path=path, prefix=prefix)
    if _given(section, "url") is not None:
        return StoreSettings(backend, url=section["url"], prefix=prefix)
    return _server_store(backend, section, prefix)


def _server_store(backend: str, given: Mapping, prefix: str | None) -> StoreSettings:
    """A server store with its host/port/db folded into one URL."""
    host, port, db = (_given(given, key, default)
                      for key, default in zip(_SERVER_KEYS, SERVER_DEFAULTS[backend]))
    return StoreSettings(backend, url=f"{backend}://{host}:{port}/{db}", prefix=prefix)


def _build_load_limits(section: dict, base: Path) -> LoadLimits:
    defaults = LoadLimits()
    return LoadLimits(
        max_bytes=_given(section, "max_bytes", defaults.max_bytes),
        max_values=_given(section, "max_values", defaults.max_values),
        import_paths=tuple(base / Path(folder).expanduser()
                           for folder in _given(section, "import_paths", ())))


def _build_plugin(values: dict) -> PluginSettings:
    rate = _given(values, "rate_per_second")
    options = {key: value for key, value in values.items() if key not in PLUGIN.fields}
    return PluginSettings(_given(values, "concurrency"), None if rate is None else float(rate),
                          MappingProxyType(to_plain(options)))
