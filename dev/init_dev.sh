#!/usr/bin/env bash
# Set up a development checkout of the Occopus master repository: every
# component (a submodule) on the branch .gitmodules names for it, moved forward
# to that branch's newest commit, ready to commit to. A local branch that has
# diverged stops the script rather than losing commits. Then: vagrant up, or
# ./occo-dev reset-env COMP. (occo-dev split writes this file into the master
# repository; run it again to update.)
# shellcheck disable=SC2016  # git submodule foreach expands $name and $toplevel itself
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
git submodule update --init --remote
git submodule foreach --quiet '
    branch="$(git config -f "$toplevel/.gitmodules" "submodule.$name.branch")"
    git checkout --quiet "$branch"
    git merge --quiet --ff-only "origin/$branch"'
git submodule foreach --quiet \
    'echo "$name: $(git rev-parse --abbrev-ref HEAD) at $(git rev-parse --short HEAD)"'
