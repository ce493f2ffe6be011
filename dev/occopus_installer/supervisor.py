"""--server --supervise: the REST service under a small supervisor where systemd does not run.

A container, or a machine booted with another init, has nothing to start the unit. With
--supervise the installer writes /opt/occopus/supervise.py and starts it as root, in a
session of its own, with the system's Python (not a release's, which an upgrade removes).
It does what the unit says: Redis first when the configuration's local Redis does not
answer, then the service as `occopus` in /etc/occopus with HOME=/var/lib/occopus, each
started again when it exits, after a pause that doubles up to 30 s. SIGHUP restarts the
service, on whatever release `current` names by then; SIGTERM stops both. The pids are
in /run/occopus/; what the programs write goes to /var/log/occopus/. Nothing starts it at
boot: a later run of the installer (or of deploy) starts it again.
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
# editing this file. It runs the REST service (and Redis, when none answers) as the
# systemd unit would, where systemd does not run.
import os, signal, socket, subprocess, sys, time

SERVICE = {service!r}
REDIS = {redis!r}
USER, HOME, WORKDIR = {user!r}, {home!r}, {workdir!r}
RUN_DIR, LOG_DIR = {run_dir!r}, {log_dir!r}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LONGEST_PAUSE, STOP_TIMEOUT = 30.0, 20.0
asked = {{"restart": False, "stop": False}}


def redis_answers():
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def start(name, argv, user, home, workdir):
    log = open(os.path.join(LOG_DIR, name + ".log"), "ab")
    env = {{"PATH": PATH, "HOME": home, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8"}}
    command = ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups",
               "--no-new-privs"] + argv
    process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                               stdout=log, stderr=log)
    log.close()
    write(name, process.pid)
    return process


def write(name, pid):
    path = os.path.join(RUN_DIR, name + ".pid")
    with open(path + ".new", "w") as out:
        out.write("%d\\n" % pid)
    os.replace(path + ".new", path)


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main():
    os.makedirs(RUN_DIR, exist_ok=True)
    os.makedirs(LOG_DIR, mode=0o750, exist_ok=True)
    write("supervisor", os.getpid())
    signal.signal(signal.SIGHUP, lambda *_: asked.update(restart=True))
    signal.signal(signal.SIGTERM, lambda *_: asked.update(stop=True))
    redis, service = None, None
    pause, due = 1.0, 0.0
    while not asked["stop"]:
        if REDIS and redis is None and not redis_answers():
            os.makedirs("/run/redis", exist_ok=True)
            subprocess.run(["chown", "redis:redis", "/run/redis"])
            redis = start("redis", REDIS, "redis", "/var/lib/redis", "/var/lib/redis")
            deadline = time.monotonic() + 10
            while not redis_answers() and time.monotonic() < deadline and redis.poll() is None:
                time.sleep(0.1)
        if redis is not None and redis.poll() is not None:
            redis = None
        if asked["restart"]:
            if service is not None:
                stop(service)
            service, due, pause, asked["restart"] = None, 0.0, 1.0, False
        if service is None and time.monotonic() >= due:
            service, started = start("rest-service", SERVICE, USER, HOME, WORKDIR), time.monotonic()
        if service is not None and service.poll() is not None:
            pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, LONGEST_PAUSE)
            service, due = None, time.monotonic() + pause
        time.sleep(0.2)
    for process in (service, redis):
        if process is not None:
            stop(process)
    for name in ("rest-service", "supervisor"):
        try:
            os.unlink(os.path.join(RUN_DIR, name + ".pid"))
        except OSError:
            pass


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
        subprocess.Popen([python, str(SUPERVISOR_FILE)], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, close_fds=True)
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
                               f"{LOG_DIR}/rest-service.log")
        time.sleep(0.1)
