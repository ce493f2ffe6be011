"""The status page of `occopus-rest-service`, in a real browser: Debian's chromium, headless,
driven through chromium-driver (selenium), against the real service.

A node's health check is a `Gate` the test holds shut: the page, loaded while the
build runs, shows the node booting, then `ready` once the gate opens, from the
event stream alone (the page is never reloaded). A node type made of markup is
shown as text: nothing it says becomes an element or runs.

The browser is the machine's: `./occo-dev test` installs chromium and
chromium-driver as root (dev/occodev/hostpackages.py). Where they are missing the
tests fail saying so; they are never skipped. The driver's path is given, so
Selenium Manager is never asked to find (or download) anything.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import yaml

from .rest_support import RestCase, Service
from .support import DEADLINE, Gate, SimCloudCommandCase, wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = ("as root, `./occo-dev test api` installs them (dev/occodev/hostpackages.py), or "
           "`apt-get install -y --no-install-recommends chromium chromium-driver`")
BROWSER_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1000")

# markup as a node type: the page must show it as text
MARKUP = "x<img src=x onerror=window.__injected=1>"

SHOP = f"""\
infra_name: shop
nodes:
  - {{name: db, type: plain}}
  - {{name: app, type: gated}}
  - {{name: cache, type: '{MARKUP}'}}
dependencies:
  - [app, db]
  - [cache, db]
"""

# what the page shows, read in one call (no element goes stale between reads)
READ_PAGE = """
const rows = [...document.querySelectorAll('#nodes tbody tr')].map((row) => ({
  node: row.dataset.node, node_id: row.dataset.nodeId, state: row.dataset.state,
  addresses: row.querySelector('.addresses') ? row.querySelector('.addresses').textContent : ''}));
return {
  rows,
  boxes: [...document.querySelectorAll('#graph g.graph-node')].map((box) => ({
    node: box.dataset.node, title: box.querySelector('title').textContent})),
  arrows: [...document.querySelectorAll('#graph path.dependency')].map(
    (arrow) => [arrow.dataset.dependent, arrow.dataset.dependee]),
  events: [...document.querySelectorAll('#events li')].map((item) => item.dataset.event),
  infrastructures: [...document.querySelectorAll('#infrastructures button')].map(
    (button) => button.dataset.infra),
  token_form: !document.getElementById('token-form').hidden,
  token_error: document.getElementById('token-error').textContent,
  images: document.querySelectorAll('img').length,
  injected: window.__injected === undefined ? null : window.__injected,
  loaded: window.__loadedOnce === undefined ? null : window.__loadedOnce,
};
"""


def browser(case: Any) -> Any:
    """A headless chromium of the test's own (a fresh profile), quit at cleanup."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        raise AssertionError(f"the status page is tested in Debian's chromium and "
                             f"chromium-driver, and {', '.join(missing)} is missing: {INSTALL}")
    profile = tempfile.mkdtemp(prefix="chromium-", dir=case.scratch)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*BROWSER_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # the paths are given, so Selenium Manager is never run; were it run, offline
    with mock.patch.dict(os.environ, {"SE_OFFLINE": "true", "SE_AVOID_STATS": "true"}):
        driver = webdriver.Chrome(service=DriverService(str(CHROMEDRIVER)), options=options)
    case.addCleanup(driver.quit)
    return driver


class PageCase(RestCase, SimCloudCommandCase):
    """The service on simcloud; what a test builds there goes with the class's server."""

    def submit(self, service: Service, text: str) -> str:
        answer = service.post("/infrastructures/", content=text)
        self.assertIn(answer.status_code, (201, 202), answer.text)
        return answer.json()["infraid"]

    def anonymous(self, service: Service, path: str) -> httpx.Response:
        """A GET without the token."""
        return httpx.get(f"{service.url}{path}", timeout=DEADLINE, trust_env=False)


class StatusPageTest(PageCase):

    def read(self, driver: Any) -> dict[str, Any]:
        return driver.execute_script(READ_PAGE)

    def rows(self, driver: Any, node: str) -> list[dict[str, Any]]:
        return [row for row in self.read(driver)["rows"] if row["node"] == node]

    def test_a_node_turns_ready_on_the_page_as_it_boots(self) -> None:
        gate = Gate(self)
        self.import_definitions({"gated": gate.health_check()},
                                plain=self.cloud, gated=self.cloud, **{MARKUP: self.cloud})
        service = self.start_service()
        infra_id = self.submit(service, SHOP)
        driver = browser(self)
        driver.get(f"{service.url}/#token={service.token}")
        driver.execute_script("window.__loadedOnce = 'yes'")

        # the build runs: app has an instance, held booting by its health check
        booting = wait_until(lambda: [row for row in self.rows(driver, "app") if row["node_id"]],
                             lambda: f"the page shows app booting: {self.read(driver)}")
        self.assertNotEqual(booting[0]["state"], "ready", booting)
        shown = self.read(driver)
        self.assertEqual(shown["infrastructures"], [infra_id])
        self.assertNotIn("token=", driver.current_url)     # taken out of the address bar

        # the graph: a box a node, an arrow a dependency
        self.assertEqual(sorted(box["node"] for box in shown["boxes"]), ["app", "cache", "db"])
        self.assertEqual(sorted(shown["arrows"]), [["app", "db"], ["cache", "db"]])

        # markup in the description is shown as text, never parsed
        [cache_box] = [box for box in shown["boxes"] if box["node"] == "cache"]
        self.assertIn(MARKUP, cache_box["title"])
        self.assertEqual((shown["images"], shown["injected"]), (0, None))

        gate.open()
        ready = wait_until(lambda: [row for row in self.rows(driver, "app")
                                    if row["state"] == "ready"],
                           lambda: f"the page shows app ready: {self.read(driver)}")
        [row] = ready
        self.assertEqual(row["node_id"], booting[0]["node_id"])
        self.assertRegex(row["addresses"], r"^10\.\d+\.\d+\.\d+$")
        final = self.read(driver)
        self.assertEqual(final["loaded"], "yes", "the page was reloaded")
        self.assertTrue(final["events"], "the page shows the events")
        self.assertEqual((final["images"], final["injected"]), (0, None))
        # what the page shows is what the API says
        report = service.get(f"/infrastructures/{infra_id}").json()
        self.assertEqual(report["app"]["instances"][row["node_id"]]["state"], "ready")

    def test_it_asks_for_the_token_and_refuses_a_wrong_one(self) -> None:
        self.import_definitions(plain=self.cloud)
        service = self.start_service()
        driver = browser(self)
        driver.get(f"{service.url}/status")
        wait_until(lambda: self.read(driver)["token_form"], "the page asks for a token")
        self.enter_token(driver, "not-the-token")
        wait_until(lambda: self.read(driver)["token_error"],
                   lambda: f"the page says the token was refused: {self.read(driver)}")
        self.assertTrue(self.read(driver)["token_form"])
        self.assertIsNone(driver.execute_script(
            "return sessionStorage.getItem('occopus-rest-token')"))
        infra_id = self.submit(service, "infra_name: one\nnodes:\n  - {name: n, type: plain}\n")
        self.enter_token(driver, service.token)
        wait_until(lambda: self.read(driver)["infrastructures"] == [infra_id],
                   lambda: f"the page lists {infra_id}: {self.read(driver)}")
        self.assertFalse(self.read(driver)["token_form"])

    def enter_token(self, driver: Any, token: str) -> None:
        from selenium.webdriver.common.by import By
        field = driver.find_element(By.ID, "token-input")
        field.clear()
        field.send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()

    def test_without_authentication_no_token_is_asked(self) -> None:
        self.use_config()
        config = yaml.safe_load(self.cfg.read_text())
        config["rest"] = {"auth": "none"}
        self.cfg.write_text(yaml.safe_dump(config))
        self.import_definitions(plain=self.cloud)
        service = self.start_service(token=False)
        infra_id = self.submit(service, "infra_name: one\nnodes:\n  - {name: n, type: plain}\n")
        driver = browser(self)
        driver.get(service.url)
        wait_until(lambda: self.read(driver)["infrastructures"] == [infra_id],
                   lambda: f"the page lists {infra_id}: {self.read(driver)}")
        self.assertFalse(self.read(driver)["token_form"])


class PageRoutesTest(PageCase):
    """The page's routes over HTTP: the page without a token, the graph with one."""

    def test_the_page_and_its_files_need_no_token(self) -> None:
        service = self.start_service()
        for path in ("/", "/status"):
            page = self.anonymous(service, path)
            self.assertEqual(page.status_code, 200)
            self.assertTrue(page.headers["content-type"].startswith("text/html"))
            self.assertIn("script-src 'self'", page.headers["content-security-policy"])
            self.assertIn('src="static/page.js"', page.text)
        for name, kind in (("page.js", "text/javascript"), ("page.css", "text/css")):
            served = self.anonymous(service, f"/static/{name}")
            self.assertEqual(served.status_code, 200)
            self.assertTrue(served.headers["content-type"].startswith(kind))
        missing = service.get("/static/page.py")
        self.assertEqual(missing.status_code, 404)
        self.assertEqual(missing.json()["status_code"], 404)

    def test_the_graph_of_an_infrastructure(self) -> None:
        self.import_definitions(plain=self.cloud)
        service = self.start_service()
        text = ("infra_name: shop\nnodes:\n  - {name: db, type: plain}\n"
                "  - {name: app, type: plain, scaling: {min: 2, max: 4}}\n"
                "  - {name: web, type: plain}\n"
                "dependencies:\n  - [app, db]\n  - [web, app]\n  - [web, db]\n")
        infra_id = self.submit(service, text)      # the graph is there before the build
        graph = service.get(f"/infrastructures/{infra_id}/graph")
        self.assertEqual(graph.status_code, 200, graph.text)
        self.assertEqual(graph.json(), {
            "infra_id": infra_id, "name": "shop",
            "nodes": [{"name": "db", "type": "plain", "level": 0, "min": 1, "max": 1},
                      {"name": "app", "type": "plain", "level": 1, "min": 2, "max": 4},
                      {"name": "web", "type": "plain", "level": 2, "min": 1, "max": 1}],
            "dependencies": [["app", "db"], ["web", "app"], ["web", "db"]]})
        self.assertEqual(self.anonymous(service, f"/infrastructures/{infra_id}/graph").status_code,
                         401)
        unknown = service.get("/infrastructures/no-such-infrastructure/graph")
        self.assertEqual(unknown.status_code, 404)
        self.assertIn("no-such-infrastructure", unknown.json()["reason"])

    def test_the_openapi_document_has_the_graph_and_not_the_page(self) -> None:
        service = self.start_service()
        paths = service.get("/openapi.json").json()["paths"]
        self.assertIn("/infrastructures/{infra_id}/graph", paths)
        self.assertEqual({"/", "/status", "/static/{name}"} & set(paths), set())
        documented = paths["/infrastructures/{infra_id}/graph"]["get"]["responses"]
        self.assertTrue({"200", "401", "404"} <= set(documented), documented)
