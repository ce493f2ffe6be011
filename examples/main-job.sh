#!/usr/bin/env bash
# The main job: build every component, publish the wheels to the private
# index, install the occopus-* commands from that index alone, then use them on
# the embedded default store (~/.occopus/state.db): build the three-tier
# example (real processes on 127.0.1.x), show its nodes and addresses, ask the
# front for a page, scale the app tier from 2 to 3, and destroy it all.
# Re-runnable; the index keeps running afterwards (./occo-dev index stop).
#   OCCO_INDEX_PORT   port of the private index (default 8080)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port="${OCCO_INDEX_PORT:-8080}"

step() { printf '\n== %s\n' "$*"; }

step "package, publish and install"
./occo-dev package --all
./occo-dev index status >/dev/null 2>&1 || ./occo-dev index serve --port "$port"
./occo-dev upload --all
./occo-dev install            # from the running index, no other index
bin=env/occopus/bin
scratch=$(mktemp -d)
infra_id=""
cleanup() {
    if [[ -n "$infra_id" ]]; then "$bin/occopus-destroy" -i "$infra_id" >/dev/null || true; fi
    rm -rf "$scratch"
}
trap cleanup EXIT

step "import the node definitions"
"$bin/occopus-import" examples/three-tier/nodes/node_definitions.yaml

step "build examples/three-tier (progress on stderr, the node table on stdout)"
"$bin/occopus-build" examples/three-tier/infra.yaml | tee "$scratch/build.out"
infra_id=$(tail -n 1 "$scratch/build.out")

step "ask the front for a page, twice (it balances over the app servers)"
"$bin/occopus-maintain" -i "$infra_id" -r -f front -o "$scratch/front" >/dev/null
front=$(cut -d' ' -f1 "$scratch/front")
for _ in 1 2; do
    "$bin/python" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode().strip())' "http://$front:8000/"
done

step "scale the app tier up by one, and converge"
"$bin/occopus-scale" -i "$infra_id" -n app -c 1
"$bin/occopus-maintain" -i "$infra_id"

step "destroy it"
"$bin/occopus-destroy" -i "$infra_id"
infra_id=""
echo "main job done: built, scaled and destroyed with the commands installed from $(./occo-dev index status)"
