"""The OpenAPI document of occopus-rest-service, fetched from the running service, and a
property-based run of schemathesis against every operation it lists: no answer is a server
error (5xx), for requests that fit the document and for requests that do not, on ids that
name nothing and on a live simcloud infrastructure (its DELETE last; the event stream, which
does not end, and notify, which would call the URLs it is given, left out there).

The run is seeded (`derandomize`) and bounded (`EXAMPLES` per operation and mode), so it is
the same run each time and takes well under a minute.
"""
from __future__ import annotations

import signal

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from .rest_support import RestCase
from .support import DEADLINE, SimCloudCommandCase, wait_until

EXAMPLES = 15
MUTATING = {"post", "put", "patch", "delete"}
NOT_ON_A_LIVE_ONE = ("/events/stream", "/notify")
SHOP = """\
infra_name: shop
nodes:
  - {name: db, type: plain}
  - {name: app, type: plain, scaling: {min: 1, max: 3}}
dependencies:
  - [app, db]
"""


class OpenApiTest(RestCase, SimCloudCommandCase):

    def setUp(self) -> None:
        super().setUp()
        self.cfg = self.write("occopus_config.yaml",
                              "store: {backend: sqlite, path: state/state.db}\n"
                              "rest: {interval: 1, max_body: 65536}\n")
        self.state_db = self.work / "state" / "state.db"
        self.service = self.start_service()
        self.auth = {"Authorization": f"Bearer {self.service.token}"}

    def test_the_document_says_what_every_route_answers(self) -> None:
        answer = self.service.get("/openapi.json")
        self.assertEqual(answer.status_code, 200)
        document = answer.json()
        self.assertIn("ErrorBody", document["components"]["schemas"])
        self.assertIn("HTTPBearer", document["components"]["securitySchemes"])
        schemas = document["components"]["schemas"]
        error_fields = set(schemas["ErrorBody"]["properties"])
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                where = f"{method.upper()} {path}"
                answers = operation["responses"]
                if operation.get("security"):
                    self.assertIn("401", answers, where)
                if method in MUTATING and operation.get("security"):
                    self.assertIn("403", answers, where)
                if method in MUTATING:
                    self.assertIn("413", answers, where)
                for code, described in answers.items():
                    if code.startswith(("4", "5")):     # the error body, or one that adds to it
                        reference = described["content"]["application/json"]["schema"]["$ref"]
                        fields = set(schemas[reference.rsplit("/", 1)[1]]["properties"])
                        self.assertLessEqual(error_fields, fields, f"{where} {code}")
        submit = document["paths"]["/infrastructures/"]["post"]
        self.assertIn("application/x-yaml", submit["requestBody"]["content"])
        self.assertEqual(sorted(code for code in submit["responses"] if code.startswith("2")),
                         ["201"])

    def test_no_page_that_loads_scripts_from_elsewhere(self) -> None:
        """Swagger's and ReDoc's pages load their scripts from a CDN: not served; the
        document is."""
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            self.assertEqual(self.service.get(path).status_code, 404, path)
        self.assertEqual(self.service.get("/openapi.json").status_code, 200)

    def test_no_request_makes_a_server_error(self) -> None:
        schema = schemathesis.openapi.from_url(f"{self.service.url}/openapi.json",
                                               headers=self.auth, timeout=DEADLINE)
        operations = [result.ok() for result in schema.get_all_operations()]
        self.assertGreaterEqual(len(operations), 8)
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                with self.subTest(operation=operation.label, mode=mode.value):
                    self.run_operation(operation, mode)
        self.assertNotIn("internal error", self.service.running.stderr)

    def test_no_request_on_a_live_infrastructure_makes_a_server_error(self) -> None:
        self.import_definitions(plain=self.cloud)
        submitted = self.service.post("/infrastructures/", content=SHOP)
        self.assertEqual(submitted.status_code, 201, submitted.text)
        infra_id = submitted.json()["infraid"]
        schema = schemathesis.openapi.from_url(f"{self.service.url}/openapi.json",
                                               headers=self.auth, timeout=DEADLINE)
        operations = [result.ok() for result in schema.get_all_operations()
                      if not result.ok().path.endswith(NOT_ON_A_LIVE_ONE)]
        operations.sort(key=lambda operation: operation.method.lower() == "delete")
        for operation in operations:
            names = {parameter.name for parameter in operation.path_parameters}
            if "infra_id" not in names:
                continue
            fixed = [{"infra_id": infra_id}]
            if "node" in names:
                fixed.append({"infra_id": infra_id, "node": "app"})
            for path_parameters in fixed:
                with self.subTest(operation=operation.label, path=path_parameters):
                    self.run_operation(operation, GenerationMode.POSITIVE, path_parameters)
        wait_until(lambda: self.service.get(f"/infrastructures/{infra_id}").status_code == 404,
                   lambda: "the DELETEs destroy the infrastructure; the service's stderr:\n"
                           + self.service.running.stderr)
        self.service.running.process.send_signal(signal.SIGTERM)
        self.assertEqual(self.service.running.wait(), 0, self.service.running.stderr)
        self.assertNotIn("internal error", self.service.running.stderr)

    def run_operation(self, operation, mode: GenerationMode,
                      path_parameters: dict[str, str] | None = None) -> None:
        answered: list[int] = []

        @hypothesis.settings(max_examples=EXAMPLES, derandomize=True, database=None,
                             deadline=None, phases=[Phase.explicit, Phase.generate, Phase.shrink],
                             suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        def call(case) -> None:
            response = case.call(base_url=self.service.url, headers=self.auth, timeout=30)
            answered.append(response.status_code)
            self.assertLess(response.status_code, 500,
                            f"{case.method} {case.formatted_path}: {response.text[:500]}")
            case.validate_response(response, checks=[not_a_server_error], headers=self.auth)
        call()
        self.assertTrue(answered, f"{operation.label}: no request was made")
