"""The root filesystem of the base image, made from Debian's busybox-static package.

No registry is reachable, so images are made here. `apt-get download` fetches
the package into a cache folder without installing it on the host;
`dpkg-deb -x` unpacks it into a scratch folder, and the tarball gets
`/bin/busybox` plus a link for every applet it lists (`busybox --list-full`),
a root user and the usual empty folders. The tarball is written once, the
same bytes every time from the same package, and kept.
"""
from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

from .apt import apt_get
from .errors import DevError
from .proc import run

PACKAGE = "busybox-static"
TARBALL = "busybox.tar"
FOLDERS = {"bin": 0o755, "etc": 0o755, "home": 0o755, "root": 0o700, "sbin": 0o755,
           "tmp": 0o1777, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755, "var": 0o755}
FILES = {"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
         "etc/group": "root:x:0:\nnogroup:x:65534:\n"}
MTIME = 0       # the same bytes on every build


def base_tarball(cache: Path, images: Path) -> Path:
    """`images/busybox.tar`, built on first use from the package cached in `cache`."""
    target = images / TARBALL
    if target.is_file():
        return target
    package = _package(cache)
    with tempfile.TemporaryDirectory(prefix="occo-busybox-") as scratch:
        run(["dpkg-deb", "-x", package, scratch], what=f"unpacking {package.name}")
        busybox = Path(scratch, "bin", "busybox")
        applets = run([busybox, "--list-full"], what="listing the busybox applets",
                      capture=True).stdout.split()
        images.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{TARBALL}.{os.getpid()}")
        write_rootfs(partial, busybox.read_bytes(), applets)
        partial.replace(target)
    return target


def write_rootfs(path: Path, busybox: bytes, applets: list[str]) -> None:
    """A root filesystem tarball: the folders, the busybox binary and its applet links."""
    folders = dict(FOLDERS)
    for applet in applets:
        parent = os.path.dirname(applet)
        while parent and parent not in folders:
            folders[parent] = 0o755
            parent = os.path.dirname(parent)
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for folder in sorted(folders):
            tar.addfile(_entry(folder, tarfile.DIRTYPE, folders[folder]))
        tar.addfile(_entry("bin/busybox", tarfile.REGTYPE, 0o755, len(busybox)),
                    io.BytesIO(busybox))
        for applet in sorted(set(applets) - {"bin/busybox"}):
            link = _entry(applet, tarfile.SYMTYPE, 0o777)
            link.linkname = "/bin/busybox"
            tar.addfile(link)
        for name, text in sorted(FILES.items()):
            data = text.encode()
            tar.addfile(_entry(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))


def _entry(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, MTIME
    info.uname = info.gname = "root"
    return info


def _package(cache: Path) -> Path:
    """The cached .deb, downloaded first if there is none."""
    found = _cached(cache)
    if found is None:
        cache.mkdir(parents=True, exist_ok=True)
        apt_get(["download", PACKAGE], cwd=cache)
        found = _cached(cache)
    if found is None:
        raise DevError(f"apt-get download {PACKAGE} left no package in {cache}")
    return found


def _cached(cache: Path) -> Path | None:
    debs = sorted(cache.glob(f"{PACKAGE}_*.deb"), key=lambda path: path.stat().st_mtime)
    return debs[-1] if debs else None

