"""The command line of install-occopus.py."""
import argparse
import os
import sys

from .actions import check, install, rollback, uninstall, upgrade
from .layout import Layout
from .pins import VERSION
from .proc import InstallError
from .request import Request
from .source import Source
from .ui import Console


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="install-occopus.py",
        description=f"Install the occopus-* commands (occo-api {VERSION}) into their own "
                    "environment, from a private index or a wheelhouse.",
        epilog="Without --server: releases in ~/.local/share/occopus, links in ~/.local/bin. "
               "With --server (as root): releases in /opt/occopus, links in /usr/local/bin, the "
               "occopus user, /etc/occopus and the occopus-rest-service systemd unit.")
    parser.add_argument("--index-url", metavar="URL",
                        help="the private index (default: $OCCOPUS_INDEX_URL)")
    parser.add_argument("--wheelhouse", metavar="DIR", help="a folder of wheels, for offline installs")
    parser.add_argument("--occopus-version", metavar="VERSION",
                        help=f"the occo-api release (default: $OCCOPUS_VERSION, else {VERSION} "
                             "with every requirement hash-checked)")
    parser.add_argument("--python", metavar="PATH",
                        help="the interpreter of the environment (default: this one if new enough)")
    parser.add_argument("--server", action="store_true",
                        help="install for the system, with a systemd unit for the REST service")
    parser.add_argument("--restart", action="store_true",
                        help="with --server: restart the REST service even when nothing changed "
                             "(after editing /etc/occopus), and wait for it to answer")
    parser.add_argument("--supervise", action="store_true",
                        help="with --server where systemd does not run: run the REST service "
                             "under a small supervisor (kept for later runs)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--force", action="store_true",
                        help="reinstall the installed version, even over links not ours")
    action.add_argument("--upgrade", action="store_true",
                        help="move to the newest release of the source (or --occopus-version), "
                             "keeping the current one for --rollback")
    action.add_argument("--rollback", action="store_true",
                        help="go back to the release the last install or upgrade replaced")
    action.add_argument("--uninstall", action="store_true", help="remove the installation")
    action.add_argument("--check", action="store_true",
                        help="report what is installed and whether it works")
    return parser


def make_request(args: argparse.Namespace) -> Request:
    index_url = args.index_url or (None if args.wheelhouse else os.environ.get("OCCOPUS_INDEX_URL"))
    given = args.occopus_version or os.environ.get("OCCOPUS_VERSION")
    return Request(source=Source.choose(index_url, args.wheelhouse), version=given or VERSION,
                   version_given=bool(given), python=args.python,
                   current_python=sys.executable, force=args.force,
                   restart=args.restart, supervise=args.supervise)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for option in ("supervise", "restart"):
        if getattr(args, option) and not args.server:
            parser.error(f"--{option} goes with --server")
    console = Console()
    layout = Layout.system() if args.server else Layout.user()
    try:
        if args.check:
            return check(layout, console)
        if args.uninstall:
            return uninstall(layout, console)
        if args.rollback:
            return rollback(layout, console)
        request = make_request(args)
        return (upgrade if args.upgrade else install)(layout, request, console)
    except InstallError as error:
        print(f"install-occopus: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("install-occopus: interrupted", file=sys.stderr)
        return 130
