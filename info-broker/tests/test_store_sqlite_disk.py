"""The SQLite store on a full disk and on a read-only one: one-line errors with the right hint,
nothing half-written. A real small tmpfs is mounted (root only; skipped elsewhere)."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

from occo.infobroker.store.base import StoreError
from occo.infobroker.store.sqlite import SqliteStore
from occo.util.errors import OccoError


def mount_tmpfs(case: unittest.TestCase, size: str) -> Path:
    """A fresh tmpfs of `size` for the test, unmounted after it."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        case.skipTest("mounting a tmpfs needs root")
    scratch = tempfile.TemporaryDirectory(prefix="occo-disk-")
    case.addCleanup(scratch.cleanup)
    point = Path(scratch.name) / "disk"
    point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                              str(point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        case.skipTest(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    case.addCleanup(subprocess.run, ["umount", "-l", str(point)], check=False)
    return point


def fill(folder: Path) -> None:
    """Write until the disk is full."""
    with open(folder / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass


class FullDiskTest(unittest.TestCase):
    def test_a_write_on_a_full_disk_is_refused_whole_with_a_disk_space_hint(self):
        disk = mount_tmpfs(self, "2m")
        store = SqliteStore(disk / "occopus" / "state.db", "alice")
        self.addCleanup(store.close)
        store.add_infrastructure("infra", {})
        store.put_instances("infra", [("web", "kept", {"n": 0})])
        fill(disk)
        records = [("web", f"node-{index}", {"blob": "x" * 4000}) for index in range(200)]
        with self.assertRaises(StoreError) as caught:
            store.put_instances("infra", records)
        message = str(caught.exception)
        self.assertIn("database or disk is full", message)
        self.assertIn("the instance records not stored", message)
        self.assertIn("the disk holding the file is full", message)
        self.assertIn("nothing is half-written", message)
        (disk / "filler").unlink()
        self.assertEqual(store.get_instances("infra"), {"web": {"kept": {"n": 0}}})


class ReadOnlyTest(unittest.TestCase):
    def test_a_store_on_a_read_only_mount_gets_a_read_only_hint(self):
        disk = mount_tmpfs(self, "4m")
        path = disk / "occopus" / "state.db"
        store = SqliteStore(path, "alice")
        store.add_infrastructure("infra", {})
        store.close()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        with self.assertRaises(StoreError) as caught:
            SqliteStore(path, "alice").add_infrastructure("other", {})
        message = str(caught.exception)
        self.assertIn("read-only", message)
        self.assertNotIn("disk has space", message)
        self.assertNotIn("is full", message)


class PrivateFilesTest(unittest.TestCase):
    def test_the_store_its_wal_and_shm_are_0600_in_a_0700_folder_whatever_the_umask(self):
        scratch = tempfile.TemporaryDirectory(prefix="occo-private-")
        self.addCleanup(scratch.cleanup)
        path = Path(scratch.name) / "home" / ".occopus" / "state.db"
        old = os.umask(0)
        try:
            store = SqliteStore(path, "alice")
            store.add_infrastructure("infra", {})
        finally:
            os.umask(old)
        self.addCleanup(store.close)
        files = sorted(path.parent.iterdir())
        self.assertEqual([file.name for file in files],
                         ["state.db", "state.db-shm", "state.db-wal"])
        for file in files:
            self.assertEqual(stat.S_IMODE(file.stat().st_mode), 0o600, file.name)
        self.assertEqual(stat.S_IMODE(path.parent.stat().st_mode), 0o700)

    def test_an_existing_world_readable_store_is_made_private(self):
        scratch = tempfile.TemporaryDirectory(prefix="occo-private-")
        self.addCleanup(scratch.cleanup)
        folder = Path(scratch.name) / "store"
        folder.mkdir(mode=0o755)
        path = folder / "state.db"
        SqliteStore(path, "alice").close()
        os.chmod(path, 0o644)
        SqliteStore(path, "alice").close()
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)

    def test_a_symlink_in_place_of_the_store_is_refused(self):
        scratch = tempfile.TemporaryDirectory(prefix="occo-private-")
        self.addCleanup(scratch.cleanup)
        victim = Path(scratch.name) / "victim"
        victim.write_text("precious")
        path = Path(scratch.name) / "state.db"
        path.symlink_to(victim)
        with self.assertRaises(OccoError) as caught:
            SqliteStore(path, "alice")
        self.assertIn("is a symlink", str(caught.exception))
        self.assertEqual(victim.read_text(), "precious")


if __name__ == "__main__":
    unittest.main()


class OpeningBesideAConnectionTest(unittest.TestCase):
    """A second connection opened in a process must not take the first one's locks away
    (closing any descriptor of a file drops the process's POSIX locks on it)."""

    def test_a_write_transaction_keeps_its_lock_when_another_connection_opens(self):
        scratch = tempfile.TemporaryDirectory(prefix="occo-locks-")
        self.addCleanup(scratch.cleanup)
        path = Path(scratch.name) / "state.db"
        first = SqliteStore(path, "alice")
        self.addCleanup(first.close)
        first._db.execute("BEGIN IMMEDIATE")          # holds the write lock
        self.addCleanup(first._db.execute, "ROLLBACK")
        # opened meanwhile, here, without waiting for the write lock: the file is up to date
        second = SqliteStore(path, "alice", busy_timeout=0.2)
        self.addCleanup(second.close)
        self.assertEqual(second.list_infrastructures(), [])
        writer = subprocess.run(
            [sys.executable, "-c", "import sqlite3, sys\n"
             "db = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
             "try:\n    db.execute('BEGIN IMMEDIATE')\nexcept sqlite3.OperationalError as e:\n"
             "    print(e)\nelse:\n    print('granted')\n", str(path)],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(writer.stdout.strip(), "database is locked", writer.stderr)

    def test_connections_opening_a_new_store_at_once_all_open(self):
        scratch = tempfile.TemporaryDirectory(prefix="occo-locks-")
        self.addCleanup(scratch.cleanup)
        failures = []

        def open_and_read(path):
            try:
                store = SqliteStore(path, "alice")
                store.list_infrastructures()
                store.close()
            except OccoError as error:
                failures.append(error.message)
        for trial in range(20):
            path = Path(scratch.name) / f"state-{trial}.db"
            barrier = threading.Barrier(6)
            threads = [threading.Thread(target=lambda: (barrier.wait(), open_and_read(path)))
                       for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        self.assertEqual(failures, [])
