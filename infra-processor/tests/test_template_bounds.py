"""Templates cannot make huge values: each growing operation is refused before it runs.

Every case would take gigabytes unbounded; refused, it costs nothing, so a
test that regresses fails by running out of memory or time, not silently.
"""
import resource
import unittest

from occo.infraprocessor.bounds import MAX_OUTPUT, TemplateTooLarge
from occo.infraprocessor.templates import render, render_data

HUGE = [
    "{{ 'x' * 2000000000 }}",
    "{{ 2000000000 * 'x' }}",
    "{{ ['x'] * 2000000000 }}",
    "{{ 7 ** 2000000000 }}",
    "{{ '%2000000000s' % 'x' }}",
    "{{ '{:>2000000000}'.format('x') }}",
    "{{ 'x'.center(2000000000) }}",
    "{{ 'x'.ljust(2000000000) }}",
    "{{ 'x'.zfill(2000000000) }}",
    "{{ ('\\t' * 1000).expandtabs(2000000) }}",
    "{{ 'x'|center(2000000000) }}",
    "{{ ('a\\n' * 1000)|indent(2000000) }}",
    "{{ '%2000000000s'|format('x') }}",
    "{{ ('a' * 100000)|replace('a', 'b' * 1000) }}",
    "{{ ('a' * 100000).replace('a', 'b' * 1000) }}",
    "{{ lipsum(2000000000) }}",
    "{{ [1]|batch(2000000000, 0)|list }}",
    "{% set ns = namespace(s='x' * 1000000) %}"
    "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(s='x' * 1000000) %}"
    "{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(l=[0] * 1000000) %}"
    "{% for i in range(40) %}{% set _ = ns.l.extend(ns.l) %}{% endfor %}{{ ns.l|length }}",
    "{% set ns = namespace(l=['x' * 1000000] * 40) %}{{ ns.l|join(',') }}",
    "{% set ns = namespace(l=['x' * 1000000] * 40) %}{{ ''.join(ns.l) }}",
]


class TemplateBoundsTest(unittest.TestCase):
    def setUp(self):
        # a refused case must never build its value: 2 GiB more address space than now is
        # far below what any of them needs, so one that is built fails with MemoryError
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        self.addCleanup(resource.setrlimit, resource.RLIMIT_AS, (soft, hard))
        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + (2 << 30), hard))

    def test_each_growing_operation_is_refused_before_it_runs(self):
        for template in HUGE:
            with self.subTest(template), self.assertRaises(TemplateTooLarge) as caught:
                render(template, {}, source="node_def:web[0] contextualisation")
            self.assertEqual(str(caught.exception.location),
                             "node_def:web[0] contextualisation:1")
            self.assertIn("a template may make", caught.exception.message)

    def test_the_rendered_text_of_a_template_is_bounded(self):
        template = ("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}")
        with self.assertRaises(TemplateTooLarge) as caught:
            render(template, {}, source="node_def:web[0] contextualisation")
        self.assertIn(f"more than {MAX_OUTPUT:,} characters", caught.exception.message)

    def test_a_value_of_a_section_names_its_path(self):
        with self.assertRaises(TemplateTooLarge) as caught:
            render_data({"resource": {"name": "{{ 'x' * 2000000000 }}"}}, {}, source="node_def:web[0]")
        self.assertEqual(str(caught.exception.location), "node_def:web[0].resource.name:1")

    def test_ordinary_uses_of_the_same_operations_still_work(self):
        self.assertEqual(render("{{ '-' * 3 }}{{ [1] * 2 }}{{ 2 ** 10 }}{{ '%5s' % 'x' }}", {},
                                source="t"), "---[1, 1]1024    x")
        self.assertEqual(render("{{ 'a' ~ 1 ~ 'b' }} {{ 'x'|center(5) }}|{{ ['a', 'b']|join(',') }}"
                                " {{ 'ab'|replace('a', 'c') }} {{ '{:>3}'.format(7) }}", {},
                                source="t"), "a1b   x  |a,b cb   7")
        self.assertEqual(render("{{ 'a\nb'|indent(2, true) }}", {}, source="t"), "  a\n  b")


if __name__ == "__main__":
    unittest.main()
