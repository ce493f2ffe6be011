"""Data-driven test cases: one YAML file per case under tests/cases/<unit>/.

A case file holds `input` (the YAML under test, as text, loaded as
`input.yaml`) and either `errors` (every problem expected, as
"line:column: message", in order) or `expect` (a subset of the result that
must match). Each file becomes one test method, named after the file.
"""
from __future__ import annotations

import unittest
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from occo.util.errors import SchemaError
from occo.util.yamlload import load_text

CASES = Path(__file__).parent / "cases"


def assert_subset(test: unittest.TestCase, expected: Any, actual: Any, path: str = "") -> None:
    if isinstance(expected, dict):
        test.assertIsInstance(actual, dict, path)
        for key, value in expected.items():
            test.assertIn(key, actual, f"{path}.{key}")
            assert_subset(test, value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        test.assertIsInstance(actual, list, path)
        test.assertEqual(len(actual), len(expected), path)
        for index, (want, have) in enumerate(zip(expected, actual)):
            assert_subset(test, want, have, f"{path}[{index}]")
    else:
        test.assertEqual(actual, expected, path)


def problem_lines(error: SchemaError) -> list[str]:
    return [f"{p.location.line}:{p.location.column}: {p.message}" if p.location and p.location.line
            else p.message for p in error.problems]


def case_tests(unit: str, run: Callable[[Any], Any], result_view: Callable[[Any], Any]):
    """A TestCase class with a method per case file of `unit`."""

    def make(path: Path):
        case = yaml.safe_load(path.read_text())

        def test(self: unittest.TestCase) -> None:
            data = load_text(case["input"], source="input.yaml")
            if "errors" in case:
                with self.assertRaises(SchemaError) as caught:
                    run(data)
                self.assertEqual(problem_lines(caught.exception), case["errors"])
                for hint in case.get("hints", []):
                    self.assertIn(hint, str(caught.exception))
            else:
                assert_subset(self, case["expect"], result_view(run(data)))
        test.__doc__ = case.get("doc")
        return test

    methods = {f"test_{path.stem}": make(path) for path in sorted((CASES / unit).glob("*.yaml"))}
    if not methods:
        raise RuntimeError(f"no case files in {CASES / unit}")
    return type(f"{unit.title()}Cases", (unittest.TestCase,), methods)
