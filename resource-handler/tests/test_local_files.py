"""The file helpers: atomic replacement, log tails, and removing what a node made read-only."""
from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
import unittest
from pathlib import Path

from occo.resourcehandler.local.files import remove_tree, tail, write_atomically


def unprivileged_ids() -> tuple[int, int]:
    """The uid and gid of `nobody`, whose file permissions are not bypassed as root's are."""
    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return user.pw_uid, user.pw_gid


class FilesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.top = Path(tempfile.mkdtemp(prefix="occo-local-files-"))
        self.addCleanup(shutil.rmtree, self.top, ignore_errors=True)

    def test_a_write_replaces_the_file_whole_with_its_mode(self) -> None:
        path = self.top / "registry.json"
        path.write_text("old")
        write_atomically(path, b"new", mode=0o640)
        self.assertEqual(path.read_text(), "new")
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o640)
        self.assertEqual(os.listdir(self.top), ["registry.json"], "no temporary file is left")

    def test_a_tail_is_the_last_lines_within_the_limit(self) -> None:
        log = self.top / "node.log"
        log.write_text("".join(f"line {number}\n" for number in range(100)))
        self.assertEqual(tail(log, 2), "line 98\nline 99")
        self.assertTrue(tail(log, 100, limit=30).endswith("line 99"))
        self.assertLessEqual(len(tail(log, 100, limit=30)), 30)
        self.assertEqual(tail(self.top / "missing.log", 5), "")

    def test_folders_a_node_made_read_only_are_removed_too(self) -> None:
        node = self.top / "node"
        (node / "locked" / "deeper").mkdir(parents=True)
        (node / "locked" / "deeper" / "file").write_text("x")
        (node / "unreadable").mkdir()
        (node / "unreadable" / "file").write_text("x")
        as_root = os.geteuid() == 0
        uid, gid = unprivileged_ids() if as_root else (os.getuid(), os.getgid())
        for folder, _folders, files in os.walk(self.top):
            for name in [folder, *(os.path.join(folder, file) for file in files)]:
                os.chown(name, uid, gid)
        for folder, mode in (("locked/deeper", 0o500), ("locked", 0o500), ("unreadable", 0)):
            os.chmod(node / folder, mode)

        # in a child that is not root, whose permissions the kernel does check
        child = os.fork()
        if child == 0:
            try:
                if as_root:
                    os.setgid(gid)
                    os.setuid(uid)
                remove_tree(node)
                os._exit(1 if node.exists() else 0)
            except BaseException:
                os._exit(2)
        _, status = os.waitpid(child, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertFalse(node.exists())
