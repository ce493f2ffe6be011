"""`occopus/debian:bookworm`, a Debian image of the engine's own: a fresh machine with sshd.

No registry is reachable, so the image is made here: `debootstrap` (minbase, with sshd,
sudo, python3 and its venv module) into a scratch folder next to the engine's cache,
trimmed, packed into a tarball and imported (`docker import`). The tarball is kept in
the cache under a name made from everything that goes into it (suite, packages,
mirror, architecture, the files added, a format version), so only a change of those
builds again (about a minute); an engine without the image imports it in seconds.

No host keys are baked in: every container makes its own when it starts
(`/usr/local/sbin/occopus-boot`), makes the login user `OCCOPUS_LOGIN` when it is
not root, installs the public key given in `OCCOPUS_AUTHORIZED_KEY` for it while it
has none, and runs sshd in the foreground.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .apt import apt_get
from .docker import UNAVAILABLE, EnginePaths, running_state
from .docker_api import API_VERSION, EngineAPI
from .errors import DevError
from .fsutil import locked, unmount_below

IMAGE = "occopus/debian:bookworm"
SUITE = "bookworm"
# a server as docs/installation.md asks for one: sshd, python3 with venv, and Redis for
# install-occopus.py --server (installed, not running: there is no init to start it)
PACKAGES = ("openssh-server", "sudo", "python3", "python3-venv", "ca-certificates",
            "redis-server")
MIRROR = "http://deb.debian.org/debian"     # the one this machine's apt sources name
MIRROR_VARIABLE = "OCCO_DEBIAN_MIRROR"      # another mirror, for a machine that needs one
FORMAT = 1          # raise when the build changes in a way the other inputs do not show
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
LOG_LINES = 15      # of debootstrap's log, shown when it fails

BOOT = "/usr/local/sbin/occopus-boot"
BOOT_SCRIPT = """#!/bin/sh
# occopus/debian's command: host keys of this container's own; the login user
# OCCOPUS_LOGIN (default root), made at the first start when missing, with the uid
# OCCOPUS_LOGIN_UID when given and sudo without a password; the public key(s) in
# OCCOPUS_AUTHORIZED_KEY given to it while it has none (a key put in place later,
# as Vagrant does, stays after a restart); then sshd in the foreground.
set -eu
ssh-keygen -A
mkdir -p /run/sshd
login="${OCCOPUS_LOGIN:-root}"
if ! id "$login" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash \\
        ${OCCOPUS_LOGIN_UID:+--uid "$OCCOPUS_LOGIN_UID" --non-unique} "$login"
    printf '%s ALL=(ALL) NOPASSWD:ALL\\n' "$login" > "/etc/sudoers.d/$login"
    chmod 0440 "/etc/sudoers.d/$login"
fi
home="$(getent passwd "$login" | cut -d: -f6)"
if [ -n "${OCCOPUS_AUTHORIZED_KEY:-}" ] && [ ! -s "$home/.ssh/authorized_keys" ]; then (
    umask 077
    mkdir -p "$home/.ssh"
    chmod 0700 "$home/.ssh"
    printf '%s\\n' "$OCCOPUS_AUTHORIZED_KEY" > "$home/.ssh/authorized_keys"
    chmod 0600 "$home/.ssh/authorized_keys"
    chown -R "$login:" "$home/.ssh"
) fi
exec /usr/sbin/sshd -D -e
"""
SSHD_CONFIG = """# occopus/debian: root logs in with a key, nobody with a password
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
"""
# containers lack CAP_AUDIT_CONTROL, so writing the login uid fails: it may, not must, work
PAM_LOGINUID = (r"^session\s+required\s+pam_loginuid\.so", "session optional pam_loginuid.so")
FILES = {BOOT: (BOOT_SCRIPT, 0o755), "/etc/ssh/sshd_config.d/occopus.conf": (SSHD_CONFIG, 0o644)}
CHANGES = [f'CMD ["{BOOT}"]', "EXPOSE 22/tcp"]
LABEL = "org.occopus.rootfs"        # the image's cache key: an image of older inputs is replaced
# what a container needs of these is made again by the package manager or at start
TRIMMED = ("var/lib/apt/lists", "var/cache/apt/archives", "usr/share/doc", "usr/share/man",
           "usr/share/info", "var/log/apt")


def ensure(root: Path) -> str:
    """The id of `IMAGE` on the checkout's running engine, imported (and built) only when the
    engine lacks this build of it: later tests and boxes start from it as a fresh machine."""
    paths = EnginePaths.of(root)
    api = _engine(paths)
    key = cache_key()
    paths.cache.mkdir(parents=True, exist_ok=True)
    with locked(paths.cache / "debian.lock"):
        found = _image(api)
        if found is not None and ((found.get("Config") or {}).get("Labels") or {}).get(
                LABEL) == key:
            return str(found["Id"])
        tarball = rootfs_tarball(paths.cache)
        api.import_tarball(tarball, IMAGE, [*CHANGES, f"LABEL {LABEL}={key}"])
        made = _image(api)
    if made is None:
        raise DevError(f"the engine imported {tarball} but has no image {IMAGE}")
    return str(made["Id"])


def cache_key(mirror: str | None = None) -> str:
    """16 hex digits naming the root filesystem built from these inputs (and no other)."""
    inputs = {"format": FORMAT, "suite": SUITE, "packages": sorted(PACKAGES),
              "mirror": mirror or archive_mirror(), "arch": platform.machine(), "files": FILES,
              "trimmed": TRIMMED, "pam_loginuid": PAM_LOGINUID}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def cached_tarball(cache: Path) -> Path:
    """Where the root filesystem of the current inputs is kept in `cache` (it may not be yet)."""
    return cache / f"debian-{SUITE}-{cache_key()}.tar"


def rootfs_tarball(cache: Path) -> Path:
    """The cached root filesystem tarball, built first when there is none (root only)."""
    target = cached_tarball(cache)
    if not target.is_file():
        _build(target)
    for stale in cache.glob(f"debian-{SUITE}-*.tar"):      # older inputs' builds
        if stale != target:
            stale.unlink(missing_ok=True)
    return target


def _build(target: Path) -> None:
    """debootstrap, the image's own files and trimming in a scratch folder beside `target`,
    packed and renamed to `target`: never a half-written tarball under its name."""
    if os.geteuid() != 0:
        raise DevError(f"building {IMAGE} needs root (debootstrap); run ./occo-dev docker "
                       "image as root", UNAVAILABLE)
    _install_debootstrap()
    scratch = target.with_name(f".debian-build.{os.getpid()}")
    _remove(scratch)
    scratch.mkdir(parents=True)
    try:
        system = scratch / "root"
        _debootstrap(system, target.with_name("debootstrap.log"))
        _finish(system)
        partial = scratch / "rootfs.tar"
        _pack(system, partial)
        partial.replace(target)
    finally:
        _remove(scratch)


def _engine(paths: EnginePaths) -> EngineAPI:
    """The running engine's API; a clear refusal when it does not run."""
    if running_state(paths) is None:
        raise DevError(f"the Docker engine of this checkout is not running, so {IMAGE} cannot "
                       "be made in it; start it with ./occo-dev docker start")
    api = EngineAPI(paths.socket)
    if not api.ping():
        raise DevError(f"the engine does not answer on {paths.socket}; restart it with "
                       "./occo-dev docker stop && ./occo-dev docker start")
    return api


def _image(api: EngineAPI) -> dict | None:
    status, body = api.request("GET", f"/v{API_VERSION}/images/{IMAGE}/json")
    if status == 404:
        return None
    if status != 200:
        raise DevError(f"the engine answered {status} when asked for image {IMAGE}: "
                       f"{body.decode(errors='replace').strip()[:200]}")
    return json.loads(body)


def archive_mirror() -> str:
    return os.environ.get(MIRROR_VARIABLE) or MIRROR


def _install_debootstrap() -> None:
    missing = [] if shutil.which("debootstrap", path=_search_path()) else ["debootstrap"]
    if not KEYRING.is_file():       # Debian's own keys, which an Ubuntu machine may lack
        missing.append("debian-archive-keyring")
    if missing:
        print(f"occo-dev: installing {' and '.join(missing)} with apt-get", file=sys.stderr,
              flush=True)
        apt_get(["install", "-y", "--no-install-recommends", *missing], exit_code=UNAVAILABLE)


def _search_path() -> str:
    return f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"


def _debootstrap(system: Path, log: Path) -> None:
    """A minimal Debian with `PACKAGES` in `system`; its output goes to `log`."""
    mirror = archive_mirror()
    print(f"occo-dev: building {IMAGE}: debootstrap {SUITE} from {mirror} (about a minute; "
          f"log {log})", file=sys.stderr, flush=True)
    command = [shutil.which("debootstrap", path=_search_path()) or "debootstrap",
               "--variant=minbase", f"--include={','.join(PACKAGES)}", f"--keyring={KEYRING}",
               SUITE, str(system), mirror]
    with log.open("w") as output:
        output.write(f"$ {' '.join(command)}\n")
        output.flush()
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT,
                                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    _unmount_below(system)          # what a failed run may leave mounted (proc, sys)
    if result.returncode == 0:
        return
    inner = system / "debootstrap" / "debootstrap.log"      # the failed step's own words
    if inner.is_file():
        with log.open("a") as output:
            output.write(f"--- {inner.name} ---\n{inner.read_text(errors='replace')}")
    tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-LOG_LINES:])
    raise DevError(f"debootstrap of {SUITE} from {mirror} failed (exit {result.returncode}); "
                   f"its last lines (log {log}):\n{tail}")


def _finish(system: Path) -> None:
    """From a debootstrapped folder to the image's file system: its own files, no host keys,
    no caches or documentation, apt's sources kept."""
    for key in (system / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    for name, (text, mode) in FILES.items():
        path = system / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
    pam = system / "etc" / "pam.d" / "sshd"
    pattern, replacement = PAM_LOGINUID
    pam.write_text(re.sub(pattern, replacement, pam.read_text(), flags=re.MULTILINE))
    (system / "run" / "sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    for folder in TRIMMED:
        _empty(system / folder, keep={"partial", "lock"})
    for cache in [*(system / "var" / "cache" / "apt").glob("*.bin"),
                  *(system / "var" / "cache" / "debconf").glob("*-old")]:
        cache.unlink()
    for entry in (system / "usr" / "share" / "locale").glob("*"):
        if entry.is_dir() and not entry.is_symlink():       # translations; locale.alias stays
            shutil.rmtree(entry)
    for entry in (system / "dev").glob("*"):    # the engine gives each container its own /dev
        _remove(entry)
    machine_id = system / "etc" / "machine-id"
    if machine_id.is_file():
        machine_id.write_text("")       # each container is a machine of its own


def _pack(system: Path, tarball: Path) -> None:
    result = subprocess.run(["tar", "--numeric-owner", "-C", str(system), "-cf", str(tarball),
                             "."], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise DevError(f"packing {system} into {tarball} failed: {result.stdout.strip()}")


def _empty(folder: Path, keep: set[str]) -> None:
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.name not in keep:
                _remove(entry)


def _remove(path: Path) -> None:
    """Remove a file or folder, never reaching through a mount (debootstrap mounts /proc and
    /sys inside the folder it fills)."""
    if path.is_dir() and not path.is_symlink():
        _unmount_below(path)
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _unmount_below(folder: Path) -> None:
    """Unmount everything mounted at or inside `folder`, deepest first; refuse to go on if
    any stays."""
    left = unmount_below([folder.resolve()])
    if left:
        raise DevError(f"cannot unmount {', '.join(sorted(left))}; unmount them as root, then "
                       f"remove {folder}")
