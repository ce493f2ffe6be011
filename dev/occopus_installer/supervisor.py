"""--server --supervise: the REST service under a small supervisor where systemd does not run.

A container, or a machine booted with another init, has nothing to start the unit. With
--supervise the installer writes /opt/occopus/supervise.py and starts it as root, in a
session of its own, with the system's Python (not a release's, which an upgrade removes).
It does what the unit says: Redis first when nothing answers at 127.0.0.1:6379 (where the
configuration the installer writes points), then the service as `occopus` in /etc/occopus
with HOME=/var/lib/occopus, each started again when it exits, after a pause that doubles
up to 30 s while it keeps failing. SIGHUP restarts the service, on whatever release
`current` names by then; SIGTERM stops both, and a supervisor that dies takes them along
(setpriv --pdeathsig). The pids are in /run/occopus/; what the supervisor and the
programs write goes to /var/log/occopus/. Nothing starts it at boot: a later run of the
installer (or of deploy) starts it again.
"""
import os
import signal
import subprocess
import time
from pathlib import Path

from .layout import Layout
from .proc import InstallError
from .ui import Console

SUPERVISOR_FILE = Path("/opt/occopus/supervise.py")
RUN_DIR = Path("/run/occopus")
SUPERVISOR_PID = RUN_DIR / "supervisor.pid"
SERVICE_PID = RUN_DIR / "rest-service.pid"
LOG_DIR = Path("/var/log/occopus")
REDIS_COMMAND = ["redis-server", "/etc/redis/redis.conf", "--daemonize", "no"]
SWITCH_TIMEOUT = 60.0       # seconds for the supervisor to start, stop or restart the service

PROGRAM = '''\
# Written by install-occopus.py --server --supervise; run the installer again instead of
# editing this file. It runs the REST service (and Redis, when none answers at
# 127.0.0.1:6379) as the systemd unit would, where systemd does not run.
import os, signal, socket, subprocess, sys, time

SERVICE = {service!r}
REDIS = {redis!r}
USER, HOME, WORKDIR = {user!r}, {home!r}, {workdir!r}
RUN_DIR, LOG_DIR = {run_dir!r}, {log_dir!r}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LONGEST_PAUSE, STOP_TIMEOUT, STEADY = 30.0, 20.0, 60.0
asked = {{"restart": False, "stop": False}}


class Program:
    """One supervised program: started as its user, again after it exits, after a pause
    that doubles (up to LONGEST_PAUSE) while it keeps exiting within STEADY seconds."""

    def __init__(self, name, argv, user, home):
        self.name, self.argv, self.user, self.home = name, argv, user, home
        self.process, self.started, self.due, self.pause = None, 0.0, 0.0, 1.0

    def start(self):
        log = open(os.path.join(LOG_DIR, self.name + ".log"), "ab")
        env = {{"PATH": PATH, "HOME": self.home, "USER": self.user, "LOGNAME": self.user,
               "LANG": "C.UTF-8"}}
        command = ["setpriv", "--reuid=" + self.user, "--regid=" + self.user, "--init-groups",
                   "--no-new-privs", "--pdeathsig=TERM"] + self.argv
        self.process = subprocess.Popen(command, cwd=self.home if self.name == "redis"
                                        else WORKDIR, env=env, stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=log)
        log.close()
        self.started = time.monotonic()
        write_pid(self.name, self.process.pid)

    def exited(self):
        """Whether it ran and has exited; then it is due again after its pause."""
        if self.process is None or self.process.poll() is None:
            return False
        steady = time.monotonic() - self.started > STEADY
        self.pause = 1.0 if steady else min(self.pause * 2, LONGEST_PAUSE)
        self.process, self.due = None, time.monotonic() + self.pause
        return True

    def due_now(self):
        return self.process is None and time.monotonic() >= self.due

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        remove_pid(self.name)


def redis_answers():
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def write_pid(name, pid):
    path = os.path.join(RUN_DIR, name + ".pid")
    with open(path + ".new", "w") as out:
        out.write("%d\\n" % pid)
    os.replace(path + ".new", path)


def remove_pid(name):
    try:
        os.unlink(os.path.join(RUN_DIR, name + ".pid"))
    except OSError:
        pass


def stop_leftover(name, marker):
    """A program a killed supervisor left running, which would hold its port."""
    try:
        with open(os.path.join(RUN_DIR, name + ".pid")) as source:
            pid = int(source.read())
        with open("/proc/%d/cmdline" % pid, "rb") as source:
            if marker.encode() in source.read():
                os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass


def main():
    signal.signal(signal.SIGHUP, lambda *_: asked.update(restart=True))
    signal.signal(signal.SIGTERM, lambda *_: asked.update(stop=True))
    os.makedirs(RUN_DIR, exist_ok=True)
    stop_leftover("rest-service", "occopus-rest-service")
    write_pid("supervisor", os.getpid())
    service = Program("rest-service", SERVICE, USER, HOME)
    redis = Program("redis", REDIS, "redis", "/var/lib/redis") if REDIS else None
    while not asked["stop"]:
        if redis is not None:
            redis.exited()
            if redis.due_now() and not redis_answers():
                os.makedirs("/run/redis", exist_ok=True)
                subprocess.run(["chown", "redis:redis", "/run/redis"])
                redis.start()
                deadline = time.monotonic() + 10
                while (not redis_answers() and time.monotonic() < deadline
                       and redis.process.poll() is None):
                    time.sleep(0.1)
        if asked["restart"]:
            asked["restart"] = False
            service.stop()
            service.due, service.pause = 0.0, 1.0
        service.exited()
        if service.due_now():
            service.start()
        time.sleep(0.2)
    service.stop()
    if redis is not None:
        redis.stop()
    remove_pid("supervisor")


main()
'''


def supervisor_text(layout: Layout, redis: bool, user: str, home: Path, workdir: Path,
                    config: Path) -> str:
    service = [str(layout.command("occopus-rest-service")), "--cfg", str(config)]
    return PROGRAM.format(service=service, redis=REDIS_COMMAND if redis else None, user=user,
                          home=str(home), workdir=str(workdir), run_dir=str(RUN_DIR),
                          log_dir=str(LOG_DIR))


def running_pid(path: Path, marker: str) -> int | None:
    """The pid in `path` when that process runs and its command line holds `marker`."""
    try:
        pid = int(path.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if marker.encode() in command else None


def supervisor_pid() -> int | None:
    return running_pid(SUPERVISOR_PID, str(SUPERVISOR_FILE))


def supervise(text: str, python: str, restart: bool, console: Console) -> None:
    """Start the supervisor (again, when its program changed), or have it restart the
    service; return once the service it runs is a new process when one was asked for."""
    changed = not (SUPERVISOR_FILE.is_file() and SUPERVISOR_FILE.read_text() == text)
    if changed:
        SUPERVISOR_FILE.parent.mkdir(parents=True, exist_ok=True)
        SUPERVISOR_FILE.write_text(text)
        SUPERVISOR_FILE.chmod(0o644)
    pid = supervisor_pid()
    if pid is not None and changed:
        stop_supervisor(console)
        pid = None
    if pid is None:
        LOG_DIR.mkdir(mode=0o750, parents=True, exist_ok=True)
        with (LOG_DIR / "supervisor.log").open("ab") as log:
            subprocess.Popen([python, str(SUPERVISOR_FILE)], start_new_session=True, cwd="/",
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True)
        wait_for(lambda: supervisor_pid() is not None and service_pid() is not None,
                 "the supervisor to start the service")
        console.done(f"started {SUPERVISOR_FILE}, which runs the REST service")
    elif restart:
        old = service_pid()
        os.kill(pid, signal.SIGHUP)
        wait_for(lambda: service_pid() not in (None, old), "the supervisor to restart the "
                 "service")
        console.done("the supervisor restarted the REST service")


def service_pid() -> int | None:
    return running_pid(SERVICE_PID, "occopus-rest-service")


def stop_supervisor(console: Console) -> None:
    pid = supervisor_pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: supervisor_pid() is None, "the supervisor to stop")
    console.done("stopped the supervisor and the REST service")


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + SWITCH_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise InstallError(f"waited {SWITCH_TIMEOUT:.0f} s for {what}; see "
                               f"{LOG_DIR}/supervisor.log and {LOG_DIR}/rest-service.log")
        time.sleep(0.1)
