"""Property: whatever the text, loading, checking and compiling it raises no exception
but the project's own errors. A short seeded run here; bench/fuzz.py runs longer."""
import unittest

from hypothesis import HealthCheck, given, settings

from .fuzzing import documents, mutated_documents, raw_texts, run_pipeline

SHORT = settings(derandomize=True, max_examples=150, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class FuzzTest(unittest.TestCase):
    @SHORT
    @given(documents)
    def test_generated_documents_raise_only_occopus_errors(self, text):
        run_pipeline(text)

    @SHORT
    @given(mutated_documents)
    def test_mutated_documents_raise_only_occopus_errors(self, text):
        run_pipeline(text)

    @SHORT
    @given(raw_texts)
    def test_any_text_raises_only_occopus_errors(self, text):
        run_pipeline(text)
