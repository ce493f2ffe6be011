#!/usr/bin/env python3
"""Hostile input: generated bombs run through the real commands, each with its time and peak
memory.

Run from the repository root with the api environment (it has every command):

    env/api/bin/python bench/hostile.py [NAME...]

Each bomb is a set of files written to a scratch folder, a HOME of its own,
and one command (occopus-validate, -import, -build, -scale) run in a
subprocess. The target: each bomb is refused (exit code 1, an error and no
traceback) within 2 s of wall time and 200 MB of peak resident memory.

So that a bomb that is not refused cannot hurt the machine, the command runs
under hard limits: 1.5 GB of address space, 20 s of CPU, 64 MB per file it
writes, and it is killed (its whole process group) after 30 s of wall time.
Peak memory is the child's own (`wait4`), never this script's. Figures are
printed, never asserted; a build that a bomb let through is destroyed after.
"""
from __future__ import annotations

import getpass
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "env" / "api" / "bin"
TARGETS = {"seconds": 2.0, "peak_mb": 200.0}
# the hard limits of a bomb's command: far above the targets, far below harm
ADDRESS_SPACE = 1536 * 1024 * 1024
CPU_SECONDS = 20
FILE_BYTES = 64 * 1024 * 1024
WALL_SECONDS = 30.0

LOCAL_NODE = """\
'node_def:plain':
  - resource: {type: local}
    contextualisation:
      type: cloudinit
      context_template: |
        #cloud-config
        runcmd:
          - echo %s
    health_check: {ping: false}
"""
INFRA = """\
infra_name: bomb
nodes:
  - {name: app, type: plain%s}
"""


@dataclass
class Bomb:
    """Files to write (name -> text, or a writer for big ones), what to run before (not
    measured), and the command measured, its arguments relative to the scratch folder."""

    name: str
    files: dict[str, str | Callable[[Path], None]]
    command: list[str]
    setup: list[list[str]] = field(default_factory=list)
    prepare: Callable[[Path, Path], list[str]] | None = None   # (work, home) -> extra args


def alias_bomb(depth: int = 12, width: int = 10) -> str:
    """The billion laughs: each level a list of `width` aliases of the one before."""
    lines = ["infra_name: bomb", "nodes:", "  - {name: app, type: plain}", "variables:",
             "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, depth):
        refs = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"  l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def template_alias_bomb(depth: int = 40) -> str:
    """The billion laughs in template text: each variable the one before, twice."""
    sets = "".join(f"{{% set s{i} = s{i - 1} ~ s{i - 1} %}}" for i in range(1, depth))
    return LOCAL_NODE % ("{% set s0 = 'lol' %}" + sets + "{{ s" + str(depth - 1) + " }}")


def deep_nesting(levels: int = 100_000) -> str:
    return ("infra_name: bomb\nnodes:\n  - {name: app, type: plain}\nvariables:\n  deep: "
            + "[" * levels + "]" * levels + "\n")


def write_huge_scalar(path: Path, megabytes: int = 24) -> None:
    """One scalar of `megabytes` on one line: past the loader's size bound, kept on disk
    only for the run."""
    with path.open("w") as out:
        out.write("infra_name: bomb\nnodes:\n  - {name: app, type: plain}\nvariables:\n  big: ")
        chunk = "x" * (1024 * 1024)
        for _ in range(megabytes):
            out.write(chunk)
        out.write("\n")


def stored_infrastructure(work: Path, home: Path) -> list[str]:
    """An infrastructure stored (not built) in the bomb's HOME: the -i of occopus-scale."""
    import yaml

    from occo.compiler import compile_description
    from occo.infobroker.store import open_store

    static = compile_description(yaml.safe_load(INFRA % ", scaling: {min: 1, max: 5}"))
    store = open_store({"backend": "sqlite", "path": str(home / ".occopus" / "state.db")},
                       getpass.getuser())
    try:
        store.add_infrastructure(static.infra_id, static.to_dict())
    finally:
        store.close()
    return ["-i", static.infra_id]


IMPORT = [["occopus-import", "nodes.yaml"]]
BOMBS = [
    Bomb("yaml alias bomb in variables (validate)", {"infra.yaml": alias_bomb()},
         ["occopus-validate", "infra.yaml"]),
    Bomb("yaml alias bomb in variables (build --dry-run)",
         {"infra.yaml": alias_bomb(), "nodes.yaml": LOCAL_NODE % "hello"},
         ["occopus-build", "--dry-run", "infra.yaml"], IMPORT),
    Bomb("yaml alias bomb in node definitions (import)",
         {"nodes.yaml": LOCAL_NODE % "hello" + alias_bomb().split("variables:\n")[1]
          .replace("  l", "l")},
         ["occopus-import", "nodes.yaml"]),
    Bomb("alias bomb in template text (build)",
         {"infra.yaml": INFRA % "", "nodes.yaml": template_alias_bomb()},
         ["occopus-build", "infra.yaml"], IMPORT),
    Bomb("deep nesting, 100k levels (validate)", {"infra.yaml": deep_nesting()},
         ["occopus-validate", "infra.yaml"]),
    Bomb("huge scalar, 24 MB line (validate)", {"infra.yaml": write_huge_scalar},
         ["occopus-validate", "infra.yaml"]),
    Bomb("template {{ 'x' * 2000000000 }} (build)",
         {"infra.yaml": INFRA % "", "nodes.yaml": LOCAL_NODE % "{{ 'x' * 2000000000 }}"},
         ["occopus-build", "infra.yaml"], IMPORT),
    Bomb("template {{ range(10**9)|list }} (build)",
         {"infra.yaml": INFRA % "", "nodes.yaml": LOCAL_NODE % "{{ range(10**9)|list }}"},
         ["occopus-build", "infra.yaml"], IMPORT),
    Bomb("template {{ 9 ** (9 ** 9) }} (build)",
         {"infra.yaml": INFRA % "", "nodes.yaml": LOCAL_NODE % "{{ 9 ** (9 ** 9) }}"},
         ["occopus-build", "infra.yaml"], IMPORT),
    Bomb("template nested range(100000) loops (build)",
         {"infra.yaml": INFRA % "", "nodes.yaml": LOCAL_NODE % (
             "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")},
         ["occopus-build", "infra.yaml"], IMPORT),
    Bomb("template ('{0}' * 1000).format(big) (build)",
         {"infra.yaml": INFRA % "", "nodes.yaml": LOCAL_NODE % (
             "{{ ('{0}' * 1000).format('x' * 1000000) }}")},
         ["occopus-build", "infra.yaml"], IMPORT),
    Bomb("template searching a 16 MB string in a loop (build)",
         {"infra.yaml": INFRA % "", "nodes.yaml": LOCAL_NODE % (
             "{% set big = 'x' * 16000000 %}{% for i in range(100000) %}"
             "{% if 'y' in big %}{% endif %}{% endfor %}")},
         ["occopus-build", "infra.yaml"], IMPORT),
    Bomb("scaling.min: 1000000000 (build --dry-run)",
         {"infra.yaml": INFRA % ", scaling: {min: 1000000000}",
          "nodes.yaml": LOCAL_NODE % "hello"},
         ["occopus-build", "--dry-run", "infra.yaml"], IMPORT),
    Bomb("scaling.min: 1000000000 (validate)",
         {"infra.yaml": INFRA % ", scaling: {min: 1000000000}"},
         ["occopus-validate", "infra.yaml"]),
    Bomb("occopus-scale -c 1000000", {},
         ["occopus-scale", "-n", "app", "-c", "1000000"], prepare=stored_infrastructure),
]


@dataclass
class Outcome:
    seconds: float
    peak_mb: float
    exit_code: int | None          # None: killed by a signal
    signal: int | None
    stderr: str

    @property
    def refused(self) -> bool:
        """Exit code 1 with an error and no traceback: the bomb was seen and turned down."""
        return (self.exit_code == 1 and "Traceback" not in self.stderr
                and "internal error" not in self.stderr)

    @property
    def passed(self) -> bool:
        return (self.refused and self.seconds < TARGETS["seconds"]
                and self.peak_mb < TARGETS["peak_mb"])

    @property
    def how(self) -> str:
        if self.signal is not None:
            return f"killed ({signal.Signals(self.signal).name})"
        return f"exit {self.exit_code}" + (", refused" if self.refused else "")


def _limit_child() -> None:
    """In the child, before exec: its own process group and the hard limits."""
    os.setpgrp()
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))


def run_limited(argv: list[str], work: Path, env: dict[str, str]) -> Outcome:
    """Run a command under the limits; its wall time and its own peak resident memory."""
    stderr_path = work / "output.txt"     # stdout and stderr: validate reports on stdout
    with stderr_path.open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                 stdout=err, stderr=err,
                                 preexec_fn=_limit_child)
        watchdog = threading.Timer(WALL_SECONDS, _kill_group, (child.pid,))
        watchdog.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            watchdog.cancel()
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    killed = -child.returncode if child.returncode < 0 else None
    return Outcome(seconds, usage.ru_maxrss / 1024, None if killed else child.returncode, killed,
                   stderr_path.read_text(errors="replace"))


def _kill_group(pgid: int) -> None:
    """The watchdog: the command (not yet reaped, so its id is still its own) and its group."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_bomb(bomb: Bomb) -> Outcome:
    scratch = Path(tempfile.mkdtemp(prefix="occo-hostile-"))
    try:
        work, home = scratch / "work", scratch / "home"
        work.mkdir()
        home.mkdir()
        claims = scratch / "claims"
        claims.mkdir(mode=0o700)
        env = {key: value for key, value in os.environ.items() if not key.startswith("OCCOPUS_")}
        env.update(HOME=str(home), OCCOPUS_LOG_DIR=str(scratch / "crash"),
                   OCCOPUS_LOOPBACK_CLAIMS=str(claims))
        for name, content in bomb.files.items():
            if callable(content):
                content(work / name)
            else:
                (work / name).write_text(content)
        for step in bomb.setup:
            subprocess.run([str(BIN / step[0]), *step[1:]], cwd=work, env=env, check=True,
                           capture_output=True, timeout=120)
        extra = bomb.prepare(work, home) if bomb.prepare else []
        outcome = run_limited([str(BIN / bomb.command[0]), *extra, *bomb.command[1:]],
                              work, env)
        _destroy_what_was_built(work, home, env)
        return outcome
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _destroy_what_was_built(work: Path, home: Path, env: dict[str, str]) -> None:
    """A bomb let through may have built nodes (local processes): destroy them."""
    listed = subprocess.run([str(BIN / "occopus-maintain"), "-l", "--json"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=120)
    try:
        infra_ids = json.loads(listed.stdout) if listed.returncode == 0 else []
    except ValueError:
        infra_ids = []
    for infra_id in infra_ids:
        subprocess.run([str(BIN / "occopus-destroy"), "-i", str(infra_id)], cwd=work, env=env,
                       capture_output=True, timeout=300)


def main(names: list[str]) -> None:
    chosen = [bomb for bomb in BOMBS if not names or any(n in bomb.name for n in names)]
    print(f"hostile input: {len(chosen)} bombs; target: each refused within "
          f"{TARGETS['seconds']:.0f} s and {TARGETS['peak_mb']:.0f} MB "
          f"(hard limits: {ADDRESS_SPACE >> 20} MB address space, {CPU_SECONDS} s CPU, "
          f"{WALL_SECONDS:.0f} s wall)")
    print(f"  {'bomb':<48} {'time':>7} {'peak':>8}  {'outcome':<20} verdict")
    passed = 0
    for bomb in chosen:
        outcome = run_bomb(bomb)
        passed += outcome.passed
        print(f"  {bomb.name:<48} {outcome.seconds:6.2f}s {outcome.peak_mb:6.0f}MB  "
              f"{outcome.how:<20} {'PASS' if outcome.passed else 'MISS'}")
        said = [line for line in outcome.stderr.splitlines() if line.strip()]
        errors = [line for line in said if "error" in line.lower()] or [
            line for line in said if any(word in line for word in ("cannot", "more than"))]
        if said:
            print(f"      {(errors or said)[0].strip()[:150]}")
    print(f"  {passed} of {len(chosen)} met the target")


if __name__ == "__main__":
    main(sys.argv[1:])
