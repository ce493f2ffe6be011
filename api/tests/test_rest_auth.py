"""occopus-rest-service's tokens and addresses, over real HTTP: the token file made on first start
(0600, said where, never printed), 401 with `WWW-Authenticate: Bearer`, 403 for a read-only
token on a route that changes something, and no listening beyond loopback without a token.
"""
from __future__ import annotations

import signal
import stat

from .rest_support import RestCase

SHOP = "infra_name: shop\nnodes:\n  - {name: db, type: plain}\n"


class TokenTest(RestCase):

    def stop(self, service) -> str:
        """SIGTERM: the service must exit 0; its stderr."""
        service.running.process.send_signal(signal.SIGTERM)
        self.assertEqual(service.running.wait(), 0, service.running.stderr)
        return service.running.stderr

    def test_the_token_file_is_made_on_first_start_private_and_never_printed(self) -> None:
        service = self.start_service()
        path = self.token_file()
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(path.parent.stat().st_mode), 0o700)
        token = self.token()
        self.assertGreaterEqual(len(token), 40)          # token_urlsafe(32)
        self.assertIn(f"made a token for the REST API in {path}", service.running.stderr)
        # no token: 401 with the challenge; a wrong one: 401; the right one: 200
        bare = service.client.get("/infrastructures/", headers={"Authorization": ""})
        self.assertEqual(bare.status_code, 401)
        self.assertTrue(bare.headers["WWW-Authenticate"].startswith("Bearer"))
        self.assertEqual((bare.json()["status_code"], bare.json()["problems"]), (401, []))
        wrong = service.get("/infrastructures/", headers={"Authorization": "Bearer x" + token})
        self.assertEqual(wrong.status_code, 401)
        self.assertTrue(wrong.headers["WWW-Authenticate"].startswith("Bearer"))
        basic = service.get("/infrastructures/", headers={"Authorization": f"Basic {token}"})
        self.assertEqual(basic.status_code, 401)
        self.assertEqual(service.get("/infrastructures/").status_code, 200)
        stderr = self.stop(service)
        self.assertNotIn(token, stderr + service.running.stdout)
        self.assertNotIn("Traceback", stderr)
        # the next start keeps the token, and says nothing of making one
        again = self.start_service()
        self.assertEqual(self.token(), token)
        self.assertNotIn("made a token", again.running.stderr)
        self.assertEqual(again.get("/infrastructures/").status_code, 200)
        self.assertNotIn(token, self.stop(again))

    def test_a_read_only_token_reads_and_changes_nothing(self) -> None:
        self.token_file().parent.mkdir(mode=0o700)
        self.token_file().write_text("writer-token-1234567890\n\n# the dashboards'\n"
                                     "reader-token-1234567890 read\n")
        service = self.start_service()
        self.assertEqual(self.token(), "writer-token-1234567890")
        reader = {"Authorization": "Bearer reader-token-1234567890"}
        self.assertEqual(service.get("/infrastructures/", headers=reader).status_code, 200)
        self.assertEqual(service.get("/infrastructures/none/cost",
                                     headers=reader).status_code, 404)
        for method, path in [("POST", "/infrastructures/"), ("DELETE", "/infrastructures/x"),
                             ("POST", "/infrastructures/x/attach"),
                             ("POST", "/infrastructures/x/detach")]:
            refused = service.request(method, path, headers=reader, content=SHOP)
            self.assertEqual(refused.status_code, 403, (method, path, refused.text))
            self.assertEqual(refused.json()["status_code"], 403)
        # the writer's token goes through to the route (which finds no node type imported)
        self.assertEqual(service.post("/infrastructures/", content=SHOP).status_code, 400)
        # the file was already private: left as it was written
        self.assertEqual(stat.S_IMODE(self.token_file().stat().st_mode), 0o600)

    def test_a_malformed_token_file_is_an_error_that_never_quotes_it(self) -> None:
        self.token_file().parent.mkdir(mode=0o700)
        self.token_file().write_text("good-token-1234567890\nsecret-token-1234567890 write\n")
        failed = self.run_command("occopus-rest-service", "--port", "0", code=1)
        self.assertIn(f"{self.token_file()}:2: a token line is a token", failed.stderr)
        self.assertNotIn("secret-token", failed.stderr)

    def test_no_token_is_needed_with_auth_none_on_loopback(self) -> None:
        self.use_rest_config("auth: none")
        service = self.start_service(token=False)
        self.assertEqual(service.get("/infrastructures/").status_code, 200)
        self.assertEqual(service.post("/infrastructures/", content="").status_code, 400)
        self.assertFalse(self.token_file().exists())

    def test_no_address_beyond_loopback_without_a_token(self) -> None:
        self.use_rest_config("auth: none")
        for host in ("0.0.0.0", "::"):
            refused = self.run_command("occopus-rest-service", "--host", host, "--port", "0",
                                       code=1)
            self.assertIn(f"occopus-rest-service: error: refusing to listen on {host} without "
                          "authentication", refused.stderr)
            self.assertNotIn("serving on", refused.stderr)
        # a token file without a token is no better
        self.use_rest_config("auth: token")
        self.token_file().parent.mkdir(mode=0o700)
        self.token_file().write_text("# no token yet\n")
        refused = self.run_command("occopus-rest-service", "--host", "0.0.0.0", "--port", "0",
                                   code=1)
        self.assertIn(f"refusing to listen on 0.0.0.0: the token file {self.token_file()} holds "
                      "no token", refused.stderr)
        # on loopback it serves, saying that every request will be refused
        service = self.start_service(token=False)
        self.assertIn("holds no token: every request will be refused", service.running.stderr)
        self.assertEqual(service.get("/infrastructures/").status_code, 401)

    def test_a_port_in_use_is_an_error_line(self) -> None:
        first = self.start_service()
        port = first.url.rsplit(":", 1)[1]
        failed = self.run_command("occopus-rest-service", "--port", port, code=1)
        self.assertIn(f"occopus-rest-service: error: cannot listen on 127.0.0.1 port {port}",
                      failed.stderr)

    def use_rest_config(self, rest: str) -> None:
        """A config file of the test's own (the store next to it) with a `rest:` section."""
        self.cfg = self.write("occopus_config.yaml", "store:\n  backend: sqlite\n"
                              f"  path: state/state.db\nrest: {{{rest}}}\n")
        self.state_db = self.work / "state" / "state.db"
