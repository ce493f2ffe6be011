import hashlib

from occodev.errors import DevError
from occodev.package import own_wheel_name, wheelhouse
from occodev.upload import HREF, files_to_publish, normalize_index_url, plan_upload

from .support import TempRepoCase


class UploadPlanTest(TempRepoCase):
    def wheel(self, name, content):
        path = self.root / name
        path.write_bytes(content)
        return path

    def test_new_files_upload_identical_ones_skip_different_ones_conflict(self):
        new = self.wheel("a-1.0-py3-none-any.whl", b"a")
        same = self.wheel("b-1.0-py3-none-any.whl", b"b")
        other = self.wheel("c-1.0-py3-none-any.whl", b"c")
        listing = {same.name: hashlib.sha256(b"b").hexdigest(),
                   other.name: hashlib.sha256(b"not c").hexdigest()}
        plan = plan_upload([new, same, other], listing)
        self.assertEqual(plan.upload, [new])
        self.assertEqual(plan.skip, [same])
        self.assertEqual(len(plan.conflicts), 1)
        self.assertIn("c-1.0-py3-none-any.whl", plan.conflicts[0])

    def test_index_url_is_normalised_to_its_upload_root(self):
        for given in ("http://h:1", "http://h:1/", "http://h:1/simple", "http://h:1/simple/"):
            self.assertEqual(normalize_index_url(given), "http://h:1/")

    def test_pypiserver_links_give_names_and_hashes(self):
        page = ('<a href="/packages/occo_util-0.1.0-py3-none-any.whl#sha256=' + "a" * 64
                + '">occo_util-0.1.0-py3-none-any.whl</a>')
        self.assertEqual(HREF.findall(page), [("occo_util-0.1.0-py3-none-any.whl", "a" * 64)])


class FilesToPublishTest(TempRepoCase):
    def test_dependencies_first_then_own_wheel_each_file_once(self):
        repo = self.repo({"util": [], "api": ["util"]})
        util, api = repo.components["util"], repo.components["api"]
        for component, extra in ((util, ["dep-1.0-py3-none-any.whl"]),
                                 (api, ["dep-1.0-py3-none-any.whl", own_wheel_name(util)])):
            wheelhouse(component).mkdir()
            for name in [own_wheel_name(component), *extra]:
                (wheelhouse(component) / name).write_bytes(b"x")
        names = [p.name for p in files_to_publish([util, api])]
        self.assertEqual(names, ["dep-1.0-py3-none-any.whl", own_wheel_name(util), own_wheel_name(api)])

    def test_a_missing_wheelhouse_says_to_package_first(self):
        repo = self.repo({"util": []})
        with self.assertRaises(DevError) as caught:
            files_to_publish([repo.components["util"]])
        self.assertIn("run ./occo-dev package util first", str(caught.exception))
