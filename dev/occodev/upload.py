"""Publishing wheelhouses to a wheel index with twine.

Re-runnable: a file the index already has with the same sha256 is skipped; a
file of the same name with other content is refused before anything is
uploaded, never overwritten. Wheelhouses go in topological order, and within
one, the dependencies before the component's own wheel.
"""
from __future__ import annotations

import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from . import proc
from .errors import DevError
from .fsutil import sha256_file
from .index import Credentials
from .package import own_wheel_name, wheelhouse
from .repo import Component

HREF = re.compile(r'href="[^"]*/([^/"#]+)#sha256=([0-9a-f]{64})"')


@dataclass
class UploadPlan:
    upload: list[Path] = field(default_factory=list)
    skip: list[Path] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def normalize_index_url(url: str) -> str:
    """The upload root of an index given as its root or its /simple/ page."""
    url = url.rstrip("/")
    return url.removesuffix("/simple") + "/"


def files_to_publish(components: list[Component]) -> list[Path]:
    """Each wheel once, in the order the components were given."""
    seen: dict[str, Path] = {}
    for component in components:
        house = wheelhouse(component)
        own = house / own_wheel_name(component)
        if not own.is_file():
            raise DevError(f"{component.folder} has no wheelhouse with {own.name}; "
                           f"run ./occo-dev package {component.folder} first")
        for path in sorted(house.glob("*.whl"), key=lambda p: (p == own, p.name)):
            seen.setdefault(path.name, path)
    return list(seen.values())


def index_listing(url: str, projects: set[str]) -> dict[str, str]:
    """File name -> sha256 of what the index holds for these projects."""
    listing = {}
    for project in sorted(projects):
        page = f"{url}simple/{project}/"
        try:
            with urllib.request.urlopen(page, timeout=10) as response:
                listing.update(HREF.findall(response.read().decode()))
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise DevError(f"the index answered {error.code} for {page}") from None
        except (urllib.error.URLError, OSError) as error:
            raise DevError(f"the index at {url} is not reachable ({_reason(error)}); start it "
                           "with ./occo-dev index serve or check --index") from None
    return listing


def _reason(error: Exception) -> str:
    return str(getattr(error, "reason", error))


def plan_upload(files: list[Path], listing: dict[str, str]) -> UploadPlan:
    plan = UploadPlan()
    for path in files:
        remote = listing.get(path.name)
        if remote is None:
            plan.upload.append(path)
        elif remote == sha256_file(path):
            plan.skip.append(path)
        else:
            plan.conflicts.append(f"{path.name} (index sha256 {remote[:12]}…, "
                                  f"local {sha256_file(path)[:12]}…)")
    return plan


def upload(components: list[Component], url: str, login: Credentials,
           all_components: list[Component], report: Callable[[str], None] = print) -> UploadPlan:
    url = normalize_index_url(url)
    files = files_to_publish(components)
    projects = {canonicalize_name(parse_wheel_filename(p.name)[0]) for p in files}
    plan = plan_upload(files, index_listing(url, projects))
    if plan.conflicts:
        raise DevError("refusing to overwrite files the index holds with other content: "
                       + "; ".join(plan.conflicts)
                       + ". Bump the component's version instead of re-publishing it.")
    our_names = {own_wheel_name(c) for c in all_components}
    ours = [p for p in plan.upload if p.name in our_names]
    if ours:
        proc.run([sys.executable, "-m", "twine", "check", "--strict", *ours], what="twine check")
    if plan.upload:
        env = dict(os.environ, TWINE_USERNAME=login.username, TWINE_PASSWORD=login.password,
                   TWINE_NON_INTERACTIVE="1")
        try:
            proc.run([sys.executable, "-m", "twine", "upload", "--disable-progress-bar",
                      "--repository-url", url, *plan.upload], env=env, what="twine upload")
        except DevError as error:
            raise DevError(_explain_twine_failure(str(error), url)) from None
    report(f"uploaded {len(plan.upload)} file(s), skipped {len(plan.skip)} already on {url}")
    return plan


def _explain_twine_failure(message: str, url: str) -> str:
    if "403" in message or "401" in message:
        return (f"the index at {url} refused the upload credentials; use the ones in "
                "env/index/credentials.json (the default) or set OCCO_INDEX_USER and "
                "OCCO_INDEX_PASSWORD")
    if "Connection refused" in message or "ConnectionError" in message:
        return f"the index at {url} is not reachable; start it with ./occo-dev index serve"
    return message
