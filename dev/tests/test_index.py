import json
import socket
import stat
import urllib.request

from occodev import index
from occodev.errors import DevError

from .support import TempRepoCase


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class IndexServerTest(TempRepoCase):
    def setUp(self):
        super().setUp()
        self.repo_ = self.repo({"util": []})
        self.addCleanup(index.stop, self.repo_)

    def test_serve_status_stop_with_a_real_pypiserver(self):
        port = free_port()
        state = index.serve(self.repo_, port)
        self.assertEqual(state["url"], f"http://127.0.0.1:{port}/")
        with urllib.request.urlopen(state["url"] + "simple/", timeout=5) as page:
            self.assertEqual(page.status, 200)
        self.assertEqual(index.status(self.repo_)["pid"], state["pid"])
        paths = index.IndexPaths.of(self.repo_)
        self.assertEqual(stat.S_IMODE(paths.credentials.stat().st_mode), 0o600)
        login = index.credentials(paths)
        self.assertIn(login.username, paths.htpasswd.read_text())
        self.assertEqual(index.stop(self.repo_)["pid"], state["pid"])
        self.assertIsNone(index.status(self.repo_))
        self.assertIsNone(index.stop(self.repo_))

    def test_unknown_projects_are_not_sent_to_the_public_index(self):
        state = index.serve(self.repo_, free_port())
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(state["url"] + "simple/requests/", timeout=5)
        self.assertEqual(caught.exception.code, 404)

    def test_a_taken_port_is_a_clear_error(self):
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            with self.assertRaises(DevError) as caught:
                index.serve(self.repo_, port)
        self.assertIn(f"port {port} on 127.0.0.1 is taken", str(caught.exception))

    def test_a_second_serve_names_the_running_one(self):
        state = index.serve(self.repo_, free_port())
        with self.assertRaises(DevError) as caught:
            index.serve(self.repo_, free_port())
        self.assertIn(f"already running at {state['url']}", str(caught.exception))

    def test_a_stale_state_file_is_not_taken_for_a_server(self):
        paths = index.IndexPaths.of(self.repo_)
        paths.home.mkdir(parents=True)
        paths.state.write_text(json.dumps({"pid": 999999999, "url": "http://x/"}))
        self.assertIsNone(index.status(self.repo_))
        self.assertFalse(paths.state.exists())
