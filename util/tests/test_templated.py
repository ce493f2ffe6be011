import unittest

from occo.util.templated import is_template, port_number


class IsTemplateTest(unittest.TestCase):
    def test_text_holding_a_jinja_delimiter_is_a_template(self):
        for text in ("{{ variables.port }}", "http://{{ip}}/", "{% if x %}1{% endif %}",
                     "{# the web port #}80", "{{- ip -}}"):
            with self.subTest(text=text):
                self.assertTrue(is_template(text))

    def test_text_without_one_renders_to_itself_and_is_none(self):
        for value in ("8080", "{80}", "a { b } c", "", 8080, None, ["{{ x }}"]):
            with self.subTest(value=value):
                self.assertFalse(is_template(value))


class PortNumberTest(unittest.TestCase):
    def test_a_whole_number_or_its_digits_from_1_to_65535(self):
        for value, port in ((22, 22), ("8080", 8080), ("00080", 80), (65535, 65535), (1, 1)):
            with self.subTest(value=value):
                self.assertEqual(port_number(value), port)

    def test_anything_else_is_no_port(self):
        for value in (0, 65536, -1, "0", "65536", True, False, 80.0, "80.0", " 80", "80\n",
                      "+80", "8_0", "\u0668\u0660", "http", "", None, "0" * 5000, 10 ** 10):
            with self.subTest(value=value):
                self.assertIsNone(port_number(value))
