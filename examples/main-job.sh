#!/usr/bin/env bash
# The main job, for now: build every component, publish the wheels to the
# private index, install the occopus-* commands from that index alone, and run
# them. Re-runnable; the index keeps running afterwards (./occo-dev index stop).
#   OCCO_INDEX_PORT   port of the private index (default 8080)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port="${OCCO_INDEX_PORT:-8080}"

./occo-dev package --all
./occo-dev index status >/dev/null 2>&1 || ./occo-dev index serve --port "$port"
./occo-dev upload --all
./occo-dev install            # from the running index, no other index
for command in env/occopus/bin/occopus-*; do
    "$command" --help | head -n 1
done
echo "The occopus-* commands are installed in env/occopus/bin from $(./occo-dev index status)"
