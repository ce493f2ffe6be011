"""The occo-dev command line: one small function per subcommand."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import (bump, debianimage, deploy, docker, doctor, guestproxy, hostpackages, hosts,
               imports, index, installer, tested, testrun, upload, vagrant, venvs)
from .errors import DevError
from .graph import build_graph, check_sibling_pins
from .lock import Lock, run_lock
from .package import Packager
from .repo import Repo
from .split import Splitter

TOOL_SUITES = ("tool", "integration")


def _root() -> Path:
    """The checkout: OCCO_DEV_ROOT, or the current folder (commands that need no components
    use it without loading them)."""
    return Path(os.environ.get("OCCO_DEV_ROOT", Path.cwd()))


def _repo() -> Repo:
    return Repo.load(_root())


def _selected(repo: Repo, args: argparse.Namespace):
    if getattr(args, "all", False) or not args.components:
        if not getattr(args, "all", False):
            raise DevError(f"name the components to {args.command}, or use --all", 2)
        return list(repo.components.values())
    return repo.select(args.components)


def cmd_order(args: argparse.Namespace) -> int:
    graph = build_graph(_repo())
    if args.json:
        print(json.dumps(graph.as_json(), indent=2))
    else:
        print("\n".join(graph.order))
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    repo = _repo()
    changed = run_lock(repo, build_graph(repo), upgrade=args.upgrade)
    for path in changed:
        print(f"wrote {path.relative_to(repo.root)}")
    if not changed:
        print("lock is up to date; no file changed")
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    repo = _repo()
    graph = build_graph(repo)
    components = _selected(repo, args)
    Packager(repo, graph, Lock.read(repo), jobs=args.jobs).run(components, force=args.force)
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    repo = _repo()
    if args.action == "serve":
        state = index.serve(repo, args.port, Path(args.dir) if args.dir else None, args.host)
        print(f"index serving {state['packages']} at {state['url']} (pid {state['pid']}, "
              f"log {state['log']})")
        print(f"install from it with: pip install --index-url {state['url']}simple/ occo-api")
        return 0
    if args.action == "stop":
        state = index.stop(repo)
        print(f"index at {state['url']} stopped" if state else "index is not running")
        return 0
    state = index.status(repo)
    if not state:
        print("index is not running; start it with ./occo-dev index serve")
        return 1
    print(f"index running at {state['url']} (pid {state['pid']}), "
          f"{state['files']} file(s) in {state['packages']}")
    return 0


def cmd_docker(args: argparse.Namespace) -> int:
    root = _root()
    if args.action == "start":
        state = docker.start(root, tcp=args.tcp)
        if args.json:
            print(json.dumps(state, indent=1))
        else:
            endpoints = state["endpoints"]
            print(f"docker engine running (pid {state['pid']}, version {state['version']}) at "
                  f"{' and '.join(endpoints.values())}; base image {state['base_image']}")
            print(f"point a docker resource at it with: endpoint: {endpoints['unix']}")
        return 0
    if args.action == "stop":
        guestproxy.stop(root)       # it listens on the engine's bridge, which goes away
        state = docker.stop(root)
        if args.json:
            print(json.dumps({"stopped": state is not None, **(state or {})}, indent=1))
        else:
            print(f"docker engine (pid {state['pid']}) stopped" if state
                  else "docker engine is not running")
        return 0
    if args.action == "image":
        image = debianimage.ensure(root)
        if args.json:
            print(json.dumps({"image": debianimage.IMAGE, "id": image}, indent=1))
        else:
            print(f"docker image {debianimage.IMAGE} ({image}) is in the engine; run it with "
                  "OCCOPUS_AUTHORIZED_KEY set to a public key, then ssh root@ADDRESS")
        return 0
    state = docker.status(root)
    if args.json:
        print(json.dumps(state, indent=1))
    elif state["running"]:
        endpoints = state["endpoints"]
        print(f"docker engine running (pid {state['pid']}, version {state['version']}, "
              f"API {state['api_version']}) at {' and '.join(endpoints.values())}")
    else:
        print("docker engine is not running; start it with ./occo-dev docker start")
    return 0 if state["running"] else 1


def cmd_vagrant(args: argparse.Namespace) -> int:
    return vagrant.run(_root(), args.vagrant_args)


def cmd_hosts(args: argparse.Namespace) -> int:
    root = _root()
    if args.action == "up":
        state = hosts.up(root, args.count)
        if args.json:
            print(json.dumps(state.to_json(), indent=1))
        else:
            first, last = state.hosts[0], state.hosts[-1]
            print(f"{len(state.hosts)} test host(s) accept SSH as {state.user} with the key "
                  f"{state.key}: {first.address} ({first.name}) to {last.address} "
                  f"({last.name}), on {state.network}")
        return 0
    if args.action == "down":
        removed = hosts.down(root)
        if args.json:
            print(json.dumps({"removed": removed}))
        else:
            print(f"{removed} test host(s) removed" if removed else "no test hosts are up")
        return 0
    state = hosts.status(root)
    if args.json:
        print(json.dumps(state.to_json() if state else {"hosts": []}, indent=1))
    elif state:
        print(f"{len(state.hosts)} test host(s) up on {state.network}:")
        for host in state.hosts:
            print(f"  {host.name}  {host.address}")
    else:
        print("no test hosts are up; make them with ./occo-dev hosts up N")
    return 0 if state else 1


def cmd_upload(args: argparse.Namespace) -> int:
    repo = _repo()
    graph = build_graph(repo)
    components = [repo.components[name] for name in graph.sort(
        [c.folder for c in _selected(repo, args)])]
    url = args.index or index.default_url(repo)
    login = index.credentials(index.IndexPaths.of(repo))
    upload.upload(components, url, login, list(repo.components.values()))
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    repo = _repo()
    graph = build_graph(repo)
    names = args.components or [*graph.order, *TOOL_SUITES]
    tool_suites = [n for n in names if n in TOOL_SUITES]
    components = repo.select([n for n in names if n not in TOOL_SUITES])
    suites = []
    lock = Lock.read(repo) if components else None
    ordered = [repo.components[n] for n in graph.sort([c.folder for c in components])]
    stale = [c for c in ordered if not venvs.env_is_current(repo, graph, c)]
    if stale:
        print(f"== (re)creating env/ for {', '.join(c.folder for c in stale)}", flush=True)
    for component, _ in venvs.reset_envs(repo, graph, lock, stale):
        print(f"== env/{component.folder} is ready", flush=True)
    for component in ordered:
        suites.append(testrun.Suite(component.folder, venvs.env_python(
            venvs.env_path(repo, component.folder)), component.path))
    dev_python = Path(sys.executable)
    if "tool" in tool_suites:
        suites.append(testrun.Suite("tool", dev_python, repo.root / "dev"))
    if "integration" in tool_suites:
        suites.append(testrun.Suite("integration", dev_python, repo.root))
    hostpackages.ensure([component.folder for component in components])
    before = tested.Tested.of(repo)
    engine_was_running = docker.running_state(docker.EnginePaths.of(repo.root)) is not None
    try:
        total = testrun.run_suites(suites, verbose=args.verbose)
    finally:        # the tests start the Docker engine as they need it; leave none behind
        if not engine_was_running:
            docker.stop(repo.root)
    if total.total and not total.failed and not args.components:
        _record_tested(repo, before)
    print(total.line())
    if total.total == 0:
        raise DevError("no test ran; a test run that runs nothing is an error")
    return 1 if total.failed else 0


def _record_tested(repo: Repo, before: tested.Tested) -> None:
    """What a green run tested, for deploy; never in the way of the closing count line."""
    try:
        path = tested.record(repo, before)
    except OSError as error:
        print(f"occo-dev: could not record the tested versions: {error}", file=sys.stderr)
        return
    if path is None:
        print("occo-dev: the checkout changed while the tests ran; nothing recorded as tested",
              file=sys.stderr)
    else:
        print(f"recorded the tested versions in {path.relative_to(repo.root)}; ./occo-dev "
              "deploy installs them")


def cmd_reset_env(args: argparse.Namespace) -> int:
    repo = _repo()
    graph = build_graph(repo)
    lock = Lock.read(repo)
    wanted = []
    for component in _selected(repo, args):
        if args.if_stale and venvs.env_is_current(repo, graph, component):
            print(f"env/{component.folder} is current; left as it is")
        else:
            wanted.append(component)
    for component, venv in venvs.reset_envs(repo, graph, lock, wanted):
        print(f"env/{component.folder} is ready; activate it with: source {venv}/bin/activate",
              flush=True)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    repo = _repo()
    lines, mixed = doctor.report(repo, build_graph(repo))
    print("\n".join(lines))
    if mixed:
        raise DevError(f"{mixed} environment(s) mix editable and wheel installs; run the "
                       "repair command printed for each")
    return 0


def cmd_bump(args: argparse.Namespace) -> int:
    repo = _repo()
    [component] = repo.select([args.component])
    releases, written = bump.bump(repo, build_graph(repo), component.folder, args.part)
    for release in releases:
        print(f"{release.component.folder}: {release.component.version} -> {release.new}")
    for path in written:
        print(f"wrote {path.relative_to(repo.root)}")
    print("next: ./occo-dev package --all && ./occo-dev upload --all")
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    Splitter(_repo(), Path(args.outdir).resolve(), args.branch).run()
    return 0


def cmd_bundle_installer(args: argparse.Namespace) -> int:
    repo = _repo()
    graph = build_graph(repo)
    lock = Lock.read(repo)
    Packager(repo, graph, lock).run([repo.components[installer.API]])
    path = installer.bundle(repo, graph, lock)
    print(f"wrote {path.relative_to(repo.root)}; run it with: python3 {path.relative_to(repo.root)} "
          "--index-url URL (or --wheelhouse DIR)")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    repo = _repo()
    what = deploy.plan(repo, args.version, args.force, args.ssh_config, args.auth_data)
    for difference in what.untested:
        print(f"occo-dev: deploying UNTESTED (--force): {difference}", file=sys.stderr)
    print(f"deploying occo-api {what.version} to {len(set(args.hosts))} host(s); each host's "
          f"log is in {what.logs.relative_to(repo.root)}/", flush=True)
    results = deploy.deploy(what, args.hosts, args.jobs,
                            report=lambda line: print(line, flush=True))
    failed = sum(1 for result in results if result.problem)
    changed = sum(1 for result in results if not result.problem and result.before != result.after)
    print(f"{len(results)} host(s): {changed} changed, {len(results) - changed - failed} "
          f"unchanged, {failed} failed")
    return 1 if failed else 0


def cmd_install(args: argparse.Namespace) -> int:
    repo = _repo()
    wheelhouse = Path(args.wheelhouse).resolve() if args.wheelhouse else None
    index_url = args.index
    if wheelhouse is None and index_url is None:
        state = index.running_state(index.IndexPaths.of(repo))
        if state:
            index_url = state["url"]
        else:
            wheelhouse = repo.root / "api" / "wheelhouse"
    venv = venvs.install_commands(repo, index_url, wheelhouse)
    print(f"installed occo-api from {wheelhouse or index_url} into {venv}; "
          f"the commands are in {venv}/bin")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    repo = _repo()
    build_graph(repo)
    check_sibling_pins(repo)
    violations = imports.check_repo(repo)
    for violation in violations:
        print(violation)
    if violations:
        raise DevError(f"{len(violations)} import boundary violation(s)")
    print(f"ok: {len(repo.components)} components, dependencies acyclic, pins consistent, "
          "imports within declared dependencies")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="occo-dev", description=__doc__)
    sub = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    order = sub.add_parser("order", help="print the build order")
    order.add_argument("--json", action="store_true", help="levels and edges as JSON")
    order.set_defaults(func=cmd_order)

    lock = sub.add_parser("lock", help="lock third-party requirements for all components")
    lock.add_argument("--upgrade", action="store_true", help="move every pin to its newest release")
    lock.set_defaults(func=cmd_lock)

    for name, func, text in (("package", cmd_package, "build wheelhouses"),
                             ("upload", cmd_upload, "publish wheelhouses to the index")):
        command = sub.add_parser(name, help=text)
        command.add_argument("components", nargs="*", metavar="COMP")
        command.add_argument("--all", action="store_true", help="every component")
        command.set_defaults(func=func)
    sub.choices["package"].add_argument("--force", action="store_true",
                                        help="rebuild even when up to date")
    sub.choices["package"].add_argument("--jobs", type=int, default=None,
                                        help="components of one level built at once")
    sub.choices["upload"].add_argument("--index", metavar="URL",
                                       help="index URL (default: the one index serve runs)")

    index_cmd = sub.add_parser("index", help="run the private wheel index")
    index_cmd.add_argument("action", choices=("serve", "stop", "status"))
    index_cmd.add_argument("--port", type=int, default=index.DEFAULT_PORT)
    index_cmd.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (0.0.0.0 inside the dev VM)")
    index_cmd.add_argument("--dir", help="folder of the packages (default env/index/packages)")
    index_cmd.set_defaults(func=cmd_index)

    docker_cmd = sub.add_parser("docker", help="run a Docker engine for the examples and tests")
    docker_cmd.add_argument("action", choices=("start", "stop", "status", "image"),
                            help=f"image: make {debianimage.IMAGE} in the running engine")
    docker_cmd.add_argument("--json", action="store_true", help="answer in JSON")
    docker_cmd.add_argument("--tcp", action="store_true",
                            help="start: also listen on a 127.0.0.1 port (no TLS: any local "
                                 "user who reaches it is root)")
    docker_cmd.set_defaults(func=cmd_docker)

    vagrant_cmd = sub.add_parser("vagrant", help="run vagrant with the docker provider on this "
                                                 "checkout's engine (the development VM)")
    vagrant_cmd.add_argument("vagrant_args", nargs=argparse.REMAINDER, metavar="ARGS",
                             help="vagrant's own command and options, e.g. up, ssh, destroy -f")
    vagrant_cmd.set_defaults(func=cmd_vagrant)

    hosts_cmd = sub.add_parser("hosts", help="test hosts reached over SSH: network namespaces "
                                             "with an sshd each (root)")
    hosts_cmd.add_argument("action", choices=("up", "down", "status"))
    hosts_cmd.add_argument("count", nargs="?", type=int, default=1,
                           help="up: how many hosts (default 1)")
    hosts_cmd.add_argument("--json", action="store_true", help="answer in JSON")
    hosts_cmd.set_defaults(func=cmd_hosts)

    test = sub.add_parser("test", help="run the tests and print 'N passed, N failed'")
    test.add_argument("components", nargs="*", metavar="COMP",
                      help="components, or 'tool' and 'integration' (default: everything)")
    test.add_argument("-v", "--verbose", action="store_true")
    test.set_defaults(func=cmd_test)

    reset = sub.add_parser("reset-env", help="recreate env/COMP for developing COMP")
    reset.add_argument("components", nargs="*", metavar="COMP")
    reset.add_argument("--all", action="store_true", help="every component")
    reset.add_argument("--if-stale", action="store_true",
                       help="leave an environment that is current as it is")
    reset.set_defaults(func=cmd_reset_env)

    install = sub.add_parser("install", help="install the occopus-* commands into env/occopus")
    source = install.add_mutually_exclusive_group()
    source.add_argument("--index", metavar="URL")
    source.add_argument("--wheelhouse", metavar="DIR")
    install.set_defaults(func=cmd_install)

    check = sub.add_parser("check", help="check dependencies, pins and import boundaries")
    check.set_defaults(func=cmd_check)

    doctor_cmd = sub.add_parser("doctor", help="the Occopus environments here and their install modes")
    doctor_cmd.set_defaults(func=cmd_doctor)

    bump_cmd = sub.add_parser("bump", help="release a component: its version, its dependents' "
                                           "pins and versions, a CHANGELOG line")
    bump_cmd.add_argument("component", metavar="COMP")
    bump_cmd.add_argument("part", choices=bump.PARTS)
    bump_cmd.set_defaults(func=cmd_bump)

    split = sub.add_parser("split", help="export the components as repositories with history, "
                                         "and a master repository with them as submodules")
    split.add_argument("outdir", metavar="OUTDIR")
    split.add_argument("--branch", default="devel", help="the branch to publish (default devel)")
    split.set_defaults(func=cmd_split)

    bundle_cmd = sub.add_parser("bundle-installer",
                                help=f"write {installer.OUTPUT}, the single-file installer")
    bundle_cmd.set_defaults(func=cmd_bundle_installer)

    deploy_cmd = sub.add_parser("deploy", help="install the REST service and the commands on "
                                               "servers over SSH, from the private index")
    deploy_cmd.add_argument("hosts", nargs="+", metavar="HOST",
                            help="[user@]host as ssh takes it (root, or a user with sudo)")
    deploy_cmd.add_argument("--version", help="the occo-api release (default: this checkout's)")
    deploy_cmd.add_argument("--force", action="store_true",
                            help="deploy even what the last green test run did not test")
    deploy_cmd.add_argument("--ssh-config", type=Path, metavar="FILE",
                            help="ssh's configuration file (default: yours)")
    deploy_cmd.add_argument("--auth-data", type=Path, metavar="FILE",
                            help=f"cloud credentials to put in {deploy.AUTH_DATA} (0640, group "
                                 "occopus)")
    deploy_cmd.add_argument("--jobs", type=int, default=10, metavar="N",
                            help="hosts deployed at once (default 10)")
    deploy_cmd.set_defaults(func=cmd_deploy)
    return main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["vagrant"] and argv[1:]:      # Vagrant's own options are not ours to parse
        args = argparse.Namespace(func=cmd_vagrant, vagrant_args=argv[1:])
    else:
        args = parser().parse_args(argv)
    try:
        return args.func(args)
    except DevError as error:
        print(f"occo-dev: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("occo-dev: interrupted", file=sys.stderr)
        return 130
