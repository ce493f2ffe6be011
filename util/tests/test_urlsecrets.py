"""URL passwords in the sections the engine connects with are refused, never quoted."""
import unittest

from occo.util.redact import has_url_password, url_password_paths
from occo.util.schema import Problems
from occo.util.urlsecrets import CredentialsInDescription, check_url_passwords, refuse_url_passwords
from occo.util.yamlload import load_text

SECRET = "hunter2-very-secret"


class UrlPasswordTest(unittest.TestCase):
    def test_what_counts_as_a_url_password(self):
        self.assertTrue(has_url_password(f"https://admin:{SECRET}@host/"))
        self.assertFalse(has_url_password("https://admin@host/"))
        self.assertFalse(has_url_password("https://host:8443/path"))
        self.assertFalse(has_url_password(8080))
        self.assertEqual(url_password_paths({"a": [1, f"x redis://u:{SECRET}@h"], "b": "ok"}),
                         [("a", 1)])

    def test_each_is_a_problem_at_its_place_that_never_quotes_it(self):
        data = load_text(f"type: simcloud\nendpoint: 'https://admin:{SECRET}@cloud/'\n"
                         f"extra: [ok, 'amqp://u:{SECRET}@q']\n", source="nodes.yaml")
        problems = Problems()
        check_url_passwords(data, "resource section of 'node_def:web'[0]", problems)
        self.assertEqual([str(problem.location) for problem in problems],
                         ["nodes.yaml:2:11", "nodes.yaml:3:13"])
        self.assertIn("'endpoint' in the resource section", problems[0].message)
        self.assertIn("auth_data.yaml", problems[0].hint)
        self.assertNotIn(SECRET, "".join(map(str, problems)))

    def test_a_rendered_section_with_one_is_refused(self):
        with self.assertRaises(CredentialsInDescription) as caught:
            refuse_url_passwords({"endpoint": f"https://a:{SECRET}@h/"}, "resource section")
        self.assertNotIn(SECRET, str(caught.exception))
        refuse_url_passwords({"endpoint": "https://h/"}, "resource section")


if __name__ == "__main__":
    unittest.main()
