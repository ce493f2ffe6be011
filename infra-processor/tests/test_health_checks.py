import contextlib
import os
import stat
import tempfile
import threading
import unittest

from occo.infraprocessor.health import HealthChecker, HealthTarget, Pinger, PingMethod
from occo.infraprocessor.health.checks import MysqlDb, check_mysql, check_port, check_url
from occo.infraprocessor.schemas import HEALTH_CHECK
from occo.util.schema import Problems, check

from .test_health_fixtures import (HttpServer, icmp_pinger, mysql_account, open_port,
                                   refusing_port, silent_port)

HOST = "127.0.0.1"


class PortCheckTest(unittest.TestCase):
    def test_an_open_port_passes(self):
        with open_port() as port:
            result = check_port(HOST, port, 5)
        self.assertTrue(result.passed)
        self.assertEqual(result.target, f"{HOST}:{port}")

    def test_a_closed_port_fails_saying_it_refused(self):
        with refusing_port() as port:
            result = check_port(HOST, port, 5)
        self.assertFalse(result.passed)
        self.assertEqual(result.reason, "connection refused")

    def test_a_port_that_never_answers_fails_after_the_timeout(self):
        with silent_port() as port:
            result = check_port(HOST, port, 0.3)
        self.assertFalse(result.passed)
        self.assertEqual(result.reason, "no answer within 0.3 s")


class UrlCheckTest(unittest.TestCase):
    def test_2xx_and_a_redirect_to_2xx_pass(self):
        with HttpServer() as server:
            for path in ("/ok", "/moved"):
                with self.subTest(path=path):
                    self.assertTrue(check_url(server.url(path), 5).passed)
            self.assertEqual(server.paths, ["/ok", "/moved", "/ok"])

    def test_5xx_fails_with_the_status_also_behind_a_redirect(self):
        with HttpServer() as server:
            for path in ("/broken", "/moved-broken"):
                with self.subTest(path=path):
                    result = check_url(server.url(path), 5)
                    self.assertFalse(result.passed)
                    self.assertEqual(result.reason, "HTTP 500")

    def test_a_refused_connection_fails_with_the_error(self):
        with refusing_port() as port:
            result = check_url(f"http://{HOST}:{port}/", 5)
        self.assertFalse(result.passed)
        self.assertIn("ConnectError", result.reason)

    def test_a_password_in_the_url_is_not_shown(self):
        with refusing_port() as port:
            result = check_url(f"http://admin:hunter2@{HOST}:{port}/", 5)
        self.assertNotIn("hunter2", str(result))


class MysqlCheckTest(unittest.TestCase):
    def test_the_right_password_passes_and_a_wrong_one_fails(self):
        with mysql_account() as (host, database, user, password):
            good = check_mysql(host, MysqlDb(database, user, password), 5)
            bad = check_mysql(host, MysqlDb(database, user, password + "x"), 5)
        self.assertTrue(good.passed, good.reason)
        self.assertFalse(bad.passed)
        self.assertIn("MySQL error 1045", bad.reason)
        self.assertNotIn(password, str(bad))
        self.assertEqual(bad.target, f"{database} as {user} at {host}:3306")

    def test_a_port_without_a_server_fails(self):
        with refusing_port() as port:
            result = check_mysql(HOST, MysqlDb("db", "u", "p", port), 5)
        self.assertFalse(result.passed)
        self.assertIn("MySQL error 2003", result.reason)


class PingTest(unittest.TestCase):
    def test_icmp_is_used_where_this_host_allows_it(self):
        pinger = icmp_pinger()
        result = pinger.ping(HOST)
        self.assertTrue(result.passed, result)
        self.assertEqual(result.method, str(pinger.method))

    def test_without_icmp_the_first_port_is_connected_to(self):
        with open_port() as port:
            result = Pinger(icmp=False).ping(HOST, [port, 1])
        self.assertTrue(result.passed)
        self.assertEqual(result.method, f"tcp connect to port {port}")

    def test_a_refusing_port_proves_the_host_answers(self):
        with refusing_port() as port:
            result = Pinger(icmp=False).ping(HOST, [port])
        self.assertTrue(result.passed)
        self.assertIn("refused", result.reason)

    def test_a_host_that_does_not_answer_fails(self):
        with silent_port() as port:
            result = Pinger(icmp=False).ping(HOST, [port], timeout=0.3)
        self.assertFalse(result.passed)
        self.assertEqual(result.reason, "no answer within 0.3 s")

    def test_without_ports_the_fallback_is_ssh(self):
        self.assertEqual(Pinger(icmp=False).ping(HOST).method, "tcp connect to port 22")

    def test_a_ping_binary_that_works_is_used(self):
        with fake_ping(exit_code=0) as (binary, calls):
            pinger = Pinger(binary=binary)
            result = pinger.ping("127.0.0.2", timeout=2)
            self.assertIs(pinger.method, PingMethod.BINARY)
            self.assertTrue(result.passed)
            with open(calls) as recorded:
                self.assertEqual(recorded.read().splitlines(),
                                 ["-c 1 -W 1 127.0.0.1", "-c 1 -W 2 127.0.0.2"])

    def test_a_ping_binary_that_is_not_allowed_is_passed_over(self):
        with fake_ping(exit_code=2) as (binary, _):
            self.assertIsNot(Pinger(binary=binary).method, PingMethod.BINARY)


@contextlib.contextmanager
def fake_ping(exit_code):
    """A `ping` stand-in that records its arguments and exits with `exit_code`."""
    with tempfile.TemporaryDirectory() as folder:
        binary, calls = os.path.join(folder, "ping"), os.path.join(folder, "calls")
        with open(binary, "w") as script:
            script.write(f'#!/bin/sh\necho "$@" >> {calls}\nexit {exit_code}\n')
        os.chmod(binary, stat.S_IRWXU)
        yield binary, calls


class HealthCheckerTest(unittest.TestCase):
    def setUp(self):
        self.checker = HealthChecker(pinger=Pinger(icmp=False), timeout=5)

    def test_every_check_runs_in_order_and_the_node_is_ready(self):
        # the node is the address the test process's MariaDB listens at
        with mysql_account() as (node, db, user, pw), HttpServer(host=node) as server, \
                open_port(node) as port:
            report = self.checker.check(HealthTarget("n1", node, {
                "ports": [port], "urls": [f"http://{{{{ip}}}}:{server.port}/moved"],
                "mysqldbs": [{"name": db, "user": "{{ variables.user }}",
                              "pass": "{{ variables.password }}"}]},
                variables={"user": user, "password": pw}))
        self.assertTrue(report.ready, report)
        self.assertEqual([r.check for r in report.results], ["ping", "port", "url", "mysqldb"])
        self.assertEqual(report.results[2].target, f"http://{node}:{server.port}/moved")
        self.assertIsNone(report.failure)

    def test_checking_stops_at_the_first_failure_which_the_report_names(self):
        with HttpServer() as server, refusing_port() as closed:
            report = self.checker.check(HealthTarget("n1", HOST, {
                "ping": False, "ports": [closed], "urls": [server.url("/ok")]}))
        self.assertFalse(report.ready)
        self.assertEqual([r.check for r in report.results], ["port"])
        self.assertEqual(report.failure.reason, "connection refused")
        self.assertEqual(str(report), f"pending: port {HOST}:{closed}: failed: connection refused")
        self.assertEqual(server.paths, [])

    def test_a_failing_url_after_passing_ports(self):
        with HttpServer() as server, open_port() as port:
            report = self.checker.check(HealthTarget("n1", HOST, {
                "ports": [port], "urls": [server.url("/ok"), server.url("/broken")]}))
        self.assertEqual([(r.check, r.passed) for r in report.results],
                         [("ping", True), ("port", True), ("url", True), ("url", False)])
        self.assertEqual(report.failure.reason, "HTTP 500")

    def test_a_wrong_database_password_fails_the_node(self):
        with mysql_account() as (node, db, user, password):
            report = self.checker.check(HealthTarget("n1", node, {
                "ping": False, "mysqldbs": [{"name": db, "user": user, "pass": "wrong"}]}))
        self.assertFalse(report.ready)
        self.assertIn("1045", report.failure.reason)

    def test_a_template_error_fails_the_check_and_hides_a_secret_template(self):
        cases = [({"urls": ["http://{{ nosuch }}/"]}, "'nosuch' is undefined"),
                 ({"mysqldbs": [{"name": "d", "user": "u", "pass": "{{ s3cret"}]},
                  "cannot render pass")]
        for section, reason in cases:
            with self.subTest(section=section):
                report = self.checker.check(HealthTarget("n1", HOST, {"ping": False, **section}))
                self.assertIn(reason, report.failure.reason)
                self.assertNotIn("s3cret", str(report.to_dict()))

    def test_bad_entries_fail_with_a_reason(self):
        cases = [({"ports": ["http"]}, "not a port number"),
                 ({"mysqldbs": [{"name": "d"}]}, "user missing"),
                 ({"mysqldbs": ["d"]}, "not a mapping of name, user and pass")]
        for section, reason in cases:
            with self.subTest(section=section):
                report = self.checker.check(HealthTarget("n1", HOST, {"ping": False, **section}))
                self.assertEqual(report.failure.reason, reason)

    def test_bad_entries_can_never_pass(self):
        for section in ({"ports": ["http"]}, {"ports": [70000]}, {"mysqldbs": ["d"]},
                        {"urls": ["http://{{ nosuch }}/"]}, {"urls": ["no-scheme.example/x"]}):
            with self.subTest(section=section):
                report = self.checker.check(HealthTarget("n1", HOST, {"ping": False, **section}))
                self.assertTrue(report.hopeless, report)

    def test_a_failing_probe_may_still_pass_later(self):
        with refusing_port() as closed:
            report = self.checker.check(HealthTarget("n1", HOST, {"ping": False,
                                                                  "ports": [closed]}))
        self.assertFalse(report.ready)
        self.assertFalse(report.hopeless)

    def test_a_port_given_as_a_template_is_rendered(self):
        with open_port() as port:
            report = self.checker.check(HealthTarget(
                "n1", HOST, {"ping": False, "ports": ["{{ variables.port }}"]},
                variables={"port": port}))
        self.assertTrue(report.ready, report)
        self.assertEqual(report.results[0].target, f"{HOST}:{port}")

    def test_a_port_template_that_renders_to_no_port_fails_before_any_probe(self):
        with refusing_port() as closed:
            report = self.checker.check(HealthTarget(
                "n1", HOST, {"ports": [closed, "{{ variables.port }}"]},
                variables={"port": "http"}))
        self.assertEqual([r.check for r in report.results], ["port"])   # not even a ping
        self.assertTrue(report.hopeless)
        self.assertEqual(report.failure.reason,
                         "not a port number: '{{ variables.port }}' renders to 'http'")

    def test_a_node_without_an_address_is_not_ready(self):
        report = self.checker.check(HealthTarget("n1", None, {}))
        self.assertEqual(report.failure.reason, "the node has no address yet")

    def test_nothing_to_check_but_a_ping_that_is_off_is_ready(self):
        self.assertTrue(self.checker.check(HealthTarget("n1", HOST, {"ping": False})).ready)

    def test_the_target_hides_its_section_and_defaults_its_timeout(self):
        target = HealthTarget("n1", HOST, {"mysqldbs": [{"name": "d", "user": "u", "pass": "pw"}]})
        self.assertNotIn("pw", repr(target))
        self.assertEqual(target.timeout, 600.0)
        self.assertTrue(target.section["ping"])


class PortAgreementTest(unittest.TestCase):
    """occopus-validate and occopus-import check a port before any node exists; the health
    check reads it from what a node renders. They must agree on what a port is."""

    def test_a_port_is_usable_exactly_when_validation_accepts_it(self):
        checker = HealthChecker(pinger=Pinger(icmp=False), timeout=5)
        with refusing_port() as port:
            values = [port, str(port), "{{ variables.port }}", f"{{# web #}}{port}",
                      f"{{% if true %}}{port}{{% endif %}}", float(port), f" {port}", f"+{port}",
                      f"{port}.0", "http", 0, 70000, True, None, "{80}"]
            for value in values:
                with self.subTest(value=value):
                    problems = Problems()
                    check({"ports": [value]}, HEALTH_CHECK, "health_check", problems)
                    report = checker.check(HealthTarget("n1", HOST, {"ping": False,
                                                                     "ports": [value]},
                                                        variables={"port": port}))
                    # usable: probed (and refused), not refused before any probe
                    self.assertEqual(not problems, not report.hopeless, (problems, report))


class ThreadRecordingChecker(HealthChecker):
    """The real checker, noting which threads checked."""

    def __init__(self, **options):
        super().__init__(**options)
        self.threads = set()

    def check(self, target):
        self.threads.add(threading.get_ident())
        return super().check(target)


class ManyNodesTest(unittest.TestCase):
    def test_many_nodes_are_checked_concurrently_by_at_most_max_workers_threads(self):
        workers = 4
        checker = ThreadRecordingChecker(timeout=30, max_workers=workers)
        with HttpServer(together=workers) as server:
            targets = [HealthTarget(f"n{i}", HOST, {"ping": False,
                                                    "urls": [server.url("/together")]})
                       for i in range(3 * workers)]
            reports = checker.check_many(targets)
        # each request is answered only once `workers` of them are in at the same time
        self.assertTrue(all(report.ready for report in reports),
                        [str(report) for report in reports])
        self.assertEqual([report.node_id for report in reports], [t.node_id for t in targets])
        self.assertEqual(len(checker.threads), workers)
        self.assertNotIn(threading.get_ident(), checker.threads)

    def test_no_nodes_no_reports(self):
        self.assertEqual(HealthChecker().check_many([]), [])


if __name__ == "__main__":
    unittest.main()
