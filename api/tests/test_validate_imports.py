
from occo.api.validate import validate_file

from .support import FolderCase


class ImportProblemsTest(FolderCase):
    """An import that cannot be followed is one problem among the others of the file."""

    def test_a_missing_import_hides_no_other_problem(self):
        path = self.folder / "infra.yaml"
        path.write_text("infra_name: x\nnodes:\n"
                        "  - name: a\n    type: web\n"
                        "    variables: !yaml_import {url: 'file://missing.yaml'}\n"
                        "    scaling: {min: -1}\n")
        problems = validate_file(str(path))
        self.assertEqual(len(problems), 2, problems)
        self.assertTrue(problems[0].startswith(f"{path}:5:16: !yaml_import: file not found"))
        self.assertIn(f"{path}:6:20: scaling min of node 'a' cannot be negative", problems[1])

    def test_an_import_out_of_the_folder_is_reported_with_the_rest(self):
        path = self.folder / "nodes.yaml"
        path.write_text("'node_def:web':\n  - resource: {type: cloud}\n"
                        "    contextualisation:\n      type: cloudinit\n"
                        "      context_template: !text_import {url: 'file:///etc/passwd'}\n"
                        "    unknown_section: 1\n")
        problems = validate_file(str(path))
        self.assertIn("is outside the folders imports may read", problems[0])
        self.assertTrue(any("unknown_section" in problem for problem in problems[1:]), problems)
