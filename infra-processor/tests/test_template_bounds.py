"""Templates cannot make huge values: each growing operation is refused before it runs.

Every case would take gigabytes unbounded; refused, it costs nothing, so a
test that regresses fails by running out of memory or time, not silently.
"""
import resource
import unittest
from concurrent.futures import ThreadPoolExecutor

from occo.infraprocessor.bounds import MAX_MADE, MAX_OUTPUT, TemplateTooLarge
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

# sizes that come from the arguments of a format, a width nested in a spec or given by `*`,
# and values that grow a little each round of a loop; each makes 20 M characters or more
BIG = "{% set big = 'x' * 20000 %}"
GROWING = [
    "{{ '{0:{1}}'.format('a', 20000000) }}",
    "{{ '{0:>{1}}'.format('a', 20000000) }}",
    "{{ '{0:{1[0]}}'.format('a', [20000000]) }}",
    "{{ '%*s' % (20000000, 'a') }}",
    "{{ '%.*f' % (20000000, 1.5) }}",
    "{{ '%*s'|format(20000000, 'a') }}",
    BIG + "{{ ('{0}' * 1000).format(big) }}",
    BIG + "{{ ('{}' * 1000).format(*([big] * 1000)) }}",
    BIG + "{{ ('%s' * 1000) % ((big,) * 1000) }}",
    BIG + "{{ ('%s' * 1000)|format(*((big,) * 1000)) }}",
    BIG + "{{ ('{a}' * 1000).format_map({'a': big}) }}",
    BIG + "{{ ('%(a)s' * 1000) % {'a': big} }}",
    "{% set big = 'x' * 8000000 %}{{ '{0}{0}{0}'.format(big) }}",
    "{% set big = 'x' * 8000000 %}{{ '{0!r}{0!s}{0!a}'.format(big) }}",
    # the text of a list counts its items' text
    "{% set big = 'x' * 2000000 %}{{ [big] * 16 }}",
    "{% set big = 'x' * 2000000 %}{{ ([big] * 16) ~ '' }}",
    "{% set big = 'x' * 2000000 %}{{ ([big] * 16)|string|length }}",
    "{% set big = 'x' * 2000000 %}{{ [[big] * 4] * 4 }}",
    "{% set big = 'x' * 2000000 %}{{ ([[big] * 4] * 4)|join|length }}",
    "{% set big = 'x' * 2000000 %}{% set l = [big, big, big, big] %}"
    "{{ '%s' % ([l, l, l, l],) }}",
    "{{ ('a' * 1000).translate({97: 'b' * 20000}) }}",
]

# each round of a loop makes a value within the bounds, all of them together are beyond
ROUNDS = "{% for i in range(100000) %}"
BIG = "{% set big = 'x' * 1000 %}"
ACCUMULATED = [
    BIG + "{% set l = [] %}" + ROUNDS + "{% set _ = l.append(big ~ i) %}{% endfor %}"
    "{{ l|length }}",
    BIG + "{% set l = [] %}" + ROUNDS + "{% set _ = l.append(big) %}{% endfor %}{{ l|length }}",
    BIG + "{% set l = [] %}" + ROUNDS + "{% set _ = l.insert(0, big) %}{% endfor %}"
    "{{ l|length }}",
    BIG + "{% set l = [] %}" + ROUNDS + "{% set _ = l.extend([big]) %}{% endfor %}"
    "{{ l|length }}",
    BIG + "{% set d = {} %}" + ROUNDS + "{% set _ = d.update({i: big}) %}{% endfor %}"
    "{{ d|length }}",
    BIG + "{% set d = {} %}" + ROUNDS + "{% set _ = d.setdefault(i, big) %}{% endfor %}"
    "{{ d|length }}",
    BIG + "{% set ns = namespace(l=[]) %}" + ROUNDS + "{% set ns.l = ns.l + [big] %}{% endfor %}"
    "{{ ns.l|length }}",
    "{{ range(100000)|map('center', 1000)|list|length }}",
    "{{ range(50000)|map('string')|map('center', 2000)|join|length }}",
    BIG + "{% set x %}" + ROUNDS + "{{ big }}{% endfor %}{% endset %}{{ x|length }}",
    "{% set x %}" + ROUNDS + "x" * 1000 + "{% endfor %}{% endset %}{{ x|length }}",
    "{% macro m() %}" + "x" * 1000 + "{% endmacro %}{% set l = [] %}" + ROUNDS
    + "{% set _ = l.append(m()) %}{% endfor %}{{ l|length }}",
]

# loops and calls that make nothing but take hours
ENDLESS = [
    ROUNDS + "{% for j in range(100000) %}{% endfor %}{% endfor %}",
    ROUNDS + "{% for c in 'x' * 100000 %}{% endfor %}{% endfor %}",
    ROUNDS + "{% for j in range(100000)|map('abs') %}{% endfor %}{% endfor %}",
    ROUNDS + "{% set _ = range(100000)|list %}{% endfor %}",
    "{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(60) }}",
    "{% for n in [1] recursive %}{{ loop(range(100000)) if loop.depth < 3 }}{% endfor %}",
]

# each round reads a large value and makes little or nothing: only the reading is counted
BIG = "{% set big = 'x' * 16000000 %}"
READING = [
    BIG + ROUNDS + "{% if 'y' in big %}{% endif %}{% endfor %}",
    BIG + ROUNDS + "{% if big == big ~ '' %}{% endif %}{% endfor %}",
    BIG + ROUNDS + "{% if 'y' is in big %}{% endif %}{% endfor %}",
    BIG + ROUNDS + "{% set _ = big.count('y') %}{% endfor %}",
    BIG + ROUNDS + "{% set _ = big.find('y') %}{% endfor %}",
    BIG + ROUNDS + "{% set _ = big[1:] %}{% endfor %}",
    "{% set items = range(100000)|list %}" + ROUNDS + "{% if -1 in items %}{% endif %}{% endfor %}",
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
            self.assertRegex(caught.exception.message, "a template may (make|run)")

    def test_sizes_from_arguments_and_nested_widths_are_counted(self):
        self._refused(GROWING, "a template may make")

    def test_what_a_rendering_makes_in_all_is_bounded(self):
        self._refused(ACCUMULATED, "a template may make")

    def test_the_rounds_and_calls_of_a_rendering_are_bounded(self):
        self._refused(ENDLESS, "loop rounds and calls")

    def test_what_a_rendering_reads_is_bounded(self):
        self._refused(READING, "a template may (run|make)")

    def test_reading_small_values_is_not_held_back(self):
        self.assertEqual(render("{% if 'b' in 'abc' and [1] == [1] and 'abc'[1:] == 'bc' %}"
                                "{{ 'abc'.find('c') }}{{ 'abc'[::-1] }}{% endif %}", {}, source="t"),
                         "2cba")

    def _refused(self, templates, message):
        for template in templates:
            with self.subTest(template):
                with self.assertRaises(TemplateTooLarge) as caught:
                    render(template, {}, source="node_def:web[0] contextualisation")
                self.assertEqual(str(caught.exception.location),
                                 "node_def:web[0] contextualisation:1")
                self.assertRegex(caught.exception.message, message)

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


# makes about 40 Mi characters: within the budget of one rendering, not of two
MAKES_40_MI = ("{% set l = [] %}{% for i in range(20) %}{% set _ = l.append('x' * 1000000) %}"
               "{% endfor %}{{ l|length }}")


class RenderingBudgetTest(unittest.TestCase):
    def test_each_rendering_has_a_budget_of_its_own(self):
        self.assertLess(40_000_000, MAX_MADE)
        self.assertEqual([render(MAKES_40_MI, {}, source="t") for _ in range(2)], ["20", "20"])
        with ThreadPoolExecutor(2) as pool:
            rendered = list(pool.map(lambda _: render(MAKES_40_MI, {}, source="t"), range(4)))
        self.assertEqual(rendered, ["20"] * 4)

    def test_the_error_names_the_line_of_the_operation(self):
        template = ("{% set l = [] %}\n{% for i in range(100000) %}\n"
                    "{% set _ = l.append('x' * 1000 ~ i) %}\n{% endfor %}")
        with self.assertRaises(TemplateTooLarge) as caught:
            render(template, {}, source="node_def:web[0] contextualisation")
        self.assertEqual(str(caught.exception.location), "node_def:web[0] contextualisation:3")

    def test_a_filter_or_method_given_an_iterator_still_gets_its_items(self):
        self.assertEqual(render("{{ range(3)|map('string')|join(',') }} "
                                "{{ '-'.join(range(3)|map('string')) }} "
                                "{{ range(3)|map('string')|list|length }}", {}, source="t"),
                         "0,1,2 0-1-2 3")

    def test_ordinary_formats_loops_and_macros_still_work(self):
        cases = {
            "{{ '{0}-{1:>4}|{2:{3}}'.format('a', 7, 'b', 3) }}|{{ '%-3s|%*d' % ('x', 4, 5) }}"
            "|{{ '%(a)s!'|format(a=1) }}|{{ '{a}'.format_map({'a': 2}) }}":
                "a-   7|b  |x  |   5|1!|2",
            "{% set l = [] %}{% for i in range(3) %}{% set _ = l.append(i ~ 'x') %}{% endfor %}"
            "{% set _ = l.insert(0, 'y') %}{% set _ = l.extend(['z']) %}{{ l }}":
                "['y', '0x', '1x', '2x', 'z']",
            "{% set d = {} %}{% set _ = d.update({'a': 1}) %}{% set _ = d.setdefault('b', 2) %}"
            "{{ d }}": "{'a': 1, 'b': 2}",
            "{% macro m(n) %}<{{ n }}>{% endmacro %}{% set x %}{% for i in range(3) %}{{ m(i) }}"
            "{% endfor %}{% endset %}{{ x }}": "<0><1><2>",
            "{% for n in [[1, [2]], 3] recursive %}{% if n is iterable %}{{ loop(n) }}"
            "{% else %}{{ n }}{% endif %}{% endfor %}": "123",
            "{% for i in range(4) if i is odd %}{{ loop.index }}/{{ loop.length }}:{{ i }} "
            "{% endfor %}": "1/2:1 2/2:3 ",
            "{{ [[1], [2]]|sum(start=[]) }} {{ 'ab'|list }} {{ 'ab'.translate({97: 'zz'}) }}":
                "[1, 2] ['a', 'b'] zzb",
            "{% for i in range(2) %}{% autoescape true %}{{ '<' }}{% endautoescape %}{% endfor %}":
                "&lt;&lt;",
        }
        for template, text in cases.items():
            with self.subTest(template):
                self.assertEqual(render(template, {}, source="t"), text)


if __name__ == "__main__":
    unittest.main()
