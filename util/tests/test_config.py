import os
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path
from unittest import mock

from occo.util.config import (PluginSettings, StoreSettings, find_auth_file, find_config_file,
                              load_settings, read_settings)
from occo.util.errors import ConfigurationError, SchemaError
from occo.util.limits import LoadLimits

TUTORIALS = Path(__file__).resolve().parents[2].parent / "shared" / "compat" / "occopus-tutorials"


class IsolatedEnvironment(unittest.TestCase):
    """Each test gets its own HOME, working directory and sys.prefix, and no OCCOPUS_* variables."""

    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name).resolve()
        self.home, self.cwd, self.prefix = (self.root / name for name in ("home", "work", "prefix"))
        for folder in (self.home, self.cwd, self.prefix):
            folder.mkdir()
        environ = {"HOME": str(self.home)}
        patcher = mock.patch.dict(os.environ, environ)
        patcher.start()
        self.addCleanup(patcher.stop)
        for name in ("OCCOPUS_CONFIG_PATH", "OCCOPUS_AUTH_DATA_PATH"):
            os.environ.pop(name, None)
        patcher = mock.patch.object(sys, "prefix", str(self.prefix))
        patcher.start()
        self.addCleanup(patcher.stop)
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.cwd)

    def write(self, path: Path, text: str = "") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path


class FindConfigFileTest(IsolatedEnvironment):
    def locations(self, name="occopus_config.yaml"):
        return [self.home / ".occopus" / name, self.cwd / name,
                self.prefix / "etc" / "occopus" / name]

    def test_without_any_file_there_is_none(self):
        found = find_config_file()
        self.assertIsNone(found.path)
        self.assertEqual(found.origin, "none")
        self.assertIsNone(found.notice)

    def test_default_locations_are_searched_in_order(self):
        locations = self.locations()
        for location in locations:
            self.write(location)
        for expected in locations:
            with self.subTest(expected=expected):
                found = find_config_file()
                self.assertEqual((found.path, found.origin), (expected, "default"))
                self.assertEqual(found.notice, f"Using default configuration file: '{expected}'")
                expected.unlink()

    def test_the_environment_variable_comes_before_the_defaults(self):
        for location in self.locations():
            self.write(location)
        chosen = self.write(self.root / "elsewhere" / "cfg.yaml")
        os.environ["OCCOPUS_CONFIG_PATH"] = str(chosen)
        found = find_config_file()
        self.assertEqual((found.path, found.origin, found.notice), (chosen, "environment", None))

    def test_an_empty_environment_variable_is_unset(self):
        os.environ["OCCOPUS_CONFIG_PATH"] = ""
        home_file = self.write(self.locations()[0])
        self.assertEqual(find_config_file().path, home_file)

    def test_an_environment_variable_naming_a_missing_file_is_an_error(self):
        self.write(self.locations()[0])
        os.environ["OCCOPUS_CONFIG_PATH"] = str(self.root / "missing.yaml")
        with self.assertRaises(ConfigurationError) as raised:
            find_config_file()
        self.assertIn("missing.yaml", str(raised.exception))
        self.assertIn("OCCOPUS_CONFIG_PATH", str(raised.exception))

    def test_the_option_comes_first(self):
        os.environ["OCCOPUS_CONFIG_PATH"] = str(self.write(self.root / "env.yaml"))
        chosen = self.write(self.root / "option.yaml")
        found = find_config_file(str(chosen))
        self.assertEqual((found.path, found.origin, found.notice), (chosen, "option", None))

    def test_an_absolute_option_is_used_as_given_not_under_sys_prefix(self):
        chosen = self.write(self.root / "abs" / "cfg.yaml")
        self.write(self.prefix / str(chosen).lstrip("/"))   # where the original would have looked
        self.assertEqual(find_config_file(str(chosen)).path, chosen)

    def test_a_relative_option_is_relative_to_the_working_directory(self):
        chosen = self.write(self.cwd / "sub" / "cfg.yaml")
        self.assertEqual(find_config_file("sub/cfg.yaml").path, chosen)

    def test_a_missing_option_file_is_an_error_even_when_defaults_exist(self):
        self.write(self.locations()[0])
        with self.assertRaises(ConfigurationError) as raised:
            find_config_file(str(self.root / "nope.yaml"))
        self.assertIn("Specified configuration file does not exist", str(raised.exception))
        self.assertIn("--cfg", raised.exception.hint)

    def test_the_auth_file_is_searched_the_same_way(self):
        self.assertIsNone(find_auth_file().path)
        home_file, cwd_file, prefix_file = self.locations("auth_data.yaml")
        self.write(prefix_file)
        self.assertEqual(find_auth_file().path, prefix_file)
        self.write(cwd_file)
        found = find_auth_file()
        self.assertEqual(found.path, cwd_file)
        self.assertEqual(found.notice, f"Using default authentication file: '{cwd_file}'")
        os.environ["OCCOPUS_AUTH_DATA_PATH"] = str(self.write(self.root / "a.yaml"))
        self.assertEqual(find_auth_file().origin, "environment")
        with self.assertRaises(ConfigurationError) as raised:
            find_auth_file(str(self.root / "missing.yaml"))
        self.assertIn("Specified authentication file does not exist", str(raised.exception))


class LoadSettingsTest(IsolatedEnvironment):
    def test_without_a_config_the_defaults_apply(self):
        settings = load_settings()
        self.assertEqual(settings.store, StoreSettings("sqlite", path=self.home / ".occopus" / "state.db"))
        self.assertFalse(settings.cmd_enabled)
        self.assertFalse(settings.dry_run)
        self.assertIsNone(settings.logging)
        self.assertEqual(dict(settings.plugins), {})
        self.assertEqual((settings.rest.host, settings.rest.port), ("127.0.0.1", 5000))
        self.assertIsNone(settings.config_file.path)
        self.assertIsNone(settings.auth_file.path)

    def test_it_reads_the_found_file_and_reports_both_files(self):
        config = self.write(self.home / ".occopus" / "occopus_config.yaml", "cmd_enabled: true\n")
        auth = self.write(self.cwd / "auth_data.yaml", "resource: []\n")
        settings = load_settings()
        self.assertTrue(settings.cmd_enabled)
        self.assertEqual((settings.config_file.path, settings.config_file.origin), (config, "default"))
        self.assertEqual((settings.auth_file.path, settings.auth_file.origin), (auth, "default"))

    def test_options_are_passed_to_the_search(self):
        config = self.write(self.root / "c.yaml", "dry_run: true\n")
        auth = self.write(self.root / "a.yaml")
        settings = load_settings(str(config), str(auth))
        self.assertTrue(settings.dry_run)
        self.assertEqual((settings.config_file.origin, settings.auth_file.path), ("option", auth))


class ReadSettingsTest(IsolatedEnvironment):
    def read(self, text):
        return read_settings(self.write(self.root / "conf" / "occopus_config.yaml", text))

    def problems(self, text):
        with self.assertRaises(SchemaError) as raised:
            self.read(text)
        return raised.exception.problems

    def test_an_empty_file_gives_the_defaults(self):
        settings = self.read("")
        self.assertEqual(settings.store.backend, "sqlite")
        self.assertFalse(settings.cmd_enabled)

    def test_the_tutorial_config_of_the_original_format_is_read(self):
        path = TUTORIALS / ".occopus" / "occopus_config.yaml"
        if not path.is_file():
            self.skipTest(f"the compatibility corpus is absent ({TUTORIALS})")
        settings = read_settings(path)
        self.assertEqual(settings.store, StoreSettings("redis", url="redis://localhost:6379/0"))
        self.assertEqual((settings.rest.host, settings.rest.port), ("127.0.0.1", 5000))
        self.assertFalse(settings.dry_run)
        self.assertEqual(dict(settings.plugins), {})
        self.assertEqual(settings.logging["version"], 1)
        self.assertIs(type(settings.logging["loggers"]), dict)
        self.assertEqual(settings.logging["loggers"]["occo"]["handlers"], ["console", "file"])

    def test_original_components_map_to_the_new_settings(self):
        settings = self.read("""\
            plugins: !python_import [occo.plugins.resourcehandler.ec2]
            components:
                uds: !UDS {protocol: redis, host: redis.example, port: 6380, db: 3,
                           altdbs: {node_def: 1, infra: 10}}
                rest: {host: 0.0.0.0, port: 8000}
                infobroker: !InfoRouter {sub_providers: [!SynchronizationProvider {}]}
                dry_run: true
            """)
        self.assertEqual(settings.store, StoreSettings("redis", url="redis://redis.example:6380/3"))
        self.assertEqual((settings.rest.host, settings.rest.port), ("0.0.0.0", 8000))
        self.assertTrue(settings.dry_run)
        self.assertEqual(dict(settings.plugins), {})

    def test_the_rest_service_settings_are_read_with_the_token_file_beside_the_config(self):
        settings = self.read("rest: {auth: none, token_file: tokens, interval: 2, workers: 8,\n"
                             "       max_body: 4096}\n")
        self.assertEqual((settings.rest.auth, settings.rest.interval, settings.rest.workers,
                          settings.rest.max_body), ("none", 2.0, 8, 4096))
        self.assertEqual(settings.rest.token_file, self.root / "conf" / "tokens")
        self.assertEqual(self.read("").rest.token_file.name, "rest-token")

    def test_bad_rest_service_settings_are_each_refused_with_their_line(self):
        problems = self.problems("rest:\n  auth: basic\n  interval: 0\n  workers: -1\n")
        self.assertEqual([(p.location.line, p.message) for p in problems],
                         [(2, "rest auth 'basic' is not known"),
                          (3, "'interval' in rest must be more than 0"),
                          (4, "'workers' in rest must be more than 0")])

    def test_the_ssh_settings_are_read_and_strict_by_default(self):
        settings = self.read("ssh: {host_keys: trust-first-use, parallel: 8, connect_timeout: 3}\n")
        self.assertEqual((settings.ssh.host_keys, settings.ssh.parallel,
                          settings.ssh.connect_timeout), ("trust-first-use", 8, 3.0))
        self.assertIsInstance(settings.ssh.connect_timeout, float)
        self.assertEqual(self.read("").ssh.host_keys, "strict")

    def test_bad_ssh_settings_are_each_refused_with_their_line(self):
        problems = self.problems("ssh:\n  host_keys: tofu\n  parallel: 0\n"
                                 "  connect_timeout: -1\n")
        self.assertEqual([(p.location.line, p.message) for p in problems],
                         [(2, "ssh host_keys 'tofu' is not known"),
                          (3, "'parallel' in ssh must be more than 0"),
                          (4, "'connect_timeout' in ssh must be more than 0")])
        self.assertIn("trust-first-use", problems[0].hint)

    def test_an_original_uds_other_than_redis_is_refused(self):
        [problem] = self.problems("components:\n  uds: !UDS {protocol: dict}\n")
        self.assertIn("protocol 'dict' is not supported", problem.message)
        self.assertEqual(problem.location.line, 2)

    def test_sqlite_paths_are_relative_to_the_config_file(self):
        settings = self.read("store: {backend: sqlite, path: data/state.db, prefix: 'x:'}\n")
        self.assertEqual(settings.store, StoreSettings("sqlite", path=self.root / "conf" / "data" / "state.db",
                                                       prefix="x:"))
        settings = self.read("store: {path: ~/s.db}\n")
        self.assertEqual(settings.store.path, self.home / "s.db")
        settings = self.read(f"store: {{path: {self.root}/abs.db}}\n")
        self.assertEqual(settings.store.path, self.root / "abs.db")

    def test_server_stores(self):
        cases = [
            ("store: {backend: redis}", StoreSettings("redis", url="redis://localhost:6379/0")),
            ("store: {backend: redis, host: r, port: 7000, db: 2, prefix: 'occo:'}",
             StoreSettings("redis", url="redis://r:7000/2", prefix="occo:")),
            ("store: {backend: redis, url: 'redis://:pw@r:1/0'}",
             StoreSettings("redis", url="redis://:pw@r:1/0")),
            ("store: {backend: mongodb}", StoreSettings("mongodb", url="mongodb://localhost:27017/occopus")),
            ("store: {backend: mongodb, host: m, db: state}", StoreSettings("mongodb", url="mongodb://m:27017/state")),
        ]
        for text, expected in cases:
            with self.subTest(text=text):
                self.assertEqual(self.read(text + "\n").store, expected)

    def test_the_store_repr_hides_a_password(self):
        store = self.read("store: {backend: redis, url: 'redis://u:s3cret@r:1/0'}\n").store
        self.assertNotIn("s3cret", repr(store))
        self.assertIn("redis://u:***@r:1/0", repr(store))

    def test_plugin_settings(self):
        settings = self.read("""\
            plugins:
                ec2: {concurrency: 4, rate_per_second: 2, poll_delay: 5}
                nova: {rate_per_second: 0.5}
                docker:
            """)
        self.assertEqual(settings.plugin("ec2").concurrency, 4)
        self.assertEqual(settings.plugin("ec2").rate_per_second, 2.0)
        self.assertEqual(dict(settings.plugin("ec2").options), {"poll_delay": 5})
        self.assertEqual((settings.plugin("nova").concurrency, settings.plugin("nova").rate_per_second),
                         (None, 0.5))
        self.assertEqual(settings.plugin("docker"), PluginSettings())
        self.assertEqual(settings.plugin("azure_vm"), PluginSettings())
        with self.assertRaises(TypeError):
            settings.plugins["ec2"].options["poll_delay"] = 1

    def test_cmd_is_off_unless_enabled(self):
        self.assertFalse(self.read("dry_run: false\n").cmd_enabled)
        self.assertFalse(self.read("cmd_enabled:\n").cmd_enabled)
        self.assertTrue(self.read("cmd_enabled: true\n").cmd_enabled)

    def test_every_problem_is_reported_at_once_with_its_position(self):
        problems = self.problems("""\
            cmd_enable: true
            store: {backend: sqllite}
            plugins:
                ec2: {concurrency: 0, rate_per_second: -1}
                nova: {concurrency: many}
            logging: [not, a, mapping]
            """)
        messages = [problem.message for problem in problems]
        self.assertEqual(len(problems), 6, messages)
        by_line = {problem.location.line: problem for problem in problems}
        self.assertIn("unknown key 'cmd_enable'", by_line[1].message)
        self.assertEqual(by_line[1].hint, "did you mean 'cmd_enabled'?")
        self.assertIn("unknown store backend 'sqllite'", by_line[2].message)
        self.assertEqual(by_line[2].hint, "did you mean 'sqlite'?")
        self.assertTrue(any("'concurrency' in plugins.ec2 must be at least 1" in m for m in messages))
        self.assertTrue(any("'rate_per_second' in plugins.ec2 must be more than 0" in m for m in messages))
        self.assertTrue(any("plugins.nova" in m and "whole number" in m for m in messages))
        self.assertIn("logging", by_line[6].message)
        for problem in problems:
            self.assertTrue(str(problem).startswith(str(self.root / "conf" / "occopus_config.yaml")))

    def test_store_keys_must_fit_the_backend(self):
        problems = self.problems("""\
            store:
                backend: redis
                path: state.db
                url: redis://r:1/0
                host: r
                db: zero
            """)
        messages = sorted(problem.message for problem in problems)
        self.assertEqual(len(messages), 3, messages)
        self.assertIn("'path' is not used by the redis store", messages)
        self.assertTrue(any("given twice: by 'url' and by 'host/db'" in m for m in messages))
        self.assertTrue(any("'db' of a redis store must be a database number" in m for m in messages))
        [problem] = self.problems("store: {backend: sqlite, url: 'redis://x'}\n")
        self.assertIn("'url' is not used by the sqlite store", problem.message)

    def test_a_setting_given_in_both_formats_is_refused(self):
        problems = self.problems("""\
            store: {backend: sqlite}
            dry_run: true
            components:
                uds: !UDS {protocol: redis}
                dry_run: false
            """)
        self.assertEqual(sorted(problem.location.line for problem in problems), [4, 5])
        self.assertIn("'store' is given twice", problems[0].message)

    def test_plugins_must_be_a_mapping_or_the_original_list(self):
        [problem] = self.problems("plugins: ec2\n")
        self.assertIn("'plugins' must map plugin types", problem.message)

    def test_a_file_that_is_not_a_mapping_is_refused(self):
        [problem] = self.problems("- a\n- b\n")
        self.assertIn("must be a mapping", problem.message)

    def test_the_loading_bounds_and_import_folders_are_settings(self):
        settings = self.read("yaml: {max_values: 5000000, max_bytes: 1000, "
                             "import_paths: [shared, /srv/templates]}\n")
        self.assertEqual(settings.yaml.max_values, 5_000_000)
        self.assertEqual(settings.yaml.max_bytes, 1000)
        self.assertEqual(settings.yaml.import_paths,
                         (self.root / "conf" / "shared", Path("/srv/templates")))
        self.assertEqual(self.read("").yaml, LoadLimits())

    def test_bounds_below_one_and_wrong_types_are_refused(self):
        problems = self.problems("yaml:\n  max_values: 0\n  import_paths: here\n")
        self.assertEqual(sorted(problem.location.line for problem in problems), [2, 3])
