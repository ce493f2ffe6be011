#!/usr/bin/env bash
# Provision a development machine for Occopus: the Vagrant VM (Ubuntu LTS), or
# a Debian machine such as CI's. Safe to run again: a second run changes
# nothing and ends with "nothing changed".
#   1. system packages: python3-venv, python3-dev, build-essential, git, redis-server
#   2. env/<comp> for every component, unless it is current (occo-dev reset-env)
#   3. Redis: the distribution's service where systemd runs; elsewhere (a
#      container, CI) a redis-server of its own on 127.0.0.1:$OCCO_REDIS_PORT
#      (default 6379), without persistence, its pid and log in env/redis
# Usage: dev/provision.sh [CHECKOUT]   (default: the checkout holding this script)
# apt-get and systemctl run through sudo unless the script runs as root.
set -euo pipefail

root="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
redis_port="${OCCO_REDIS_PORT:-6379}"
packages=(python3-venv python3-dev build-essential git redis-server)
changed=()

say() { printf 'provision: %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
redis_answers() { redis-cli -p "$redis_port" ping 2>/dev/null | grep -qx PONG; }

install_packages() {
    local missing=() package
    for package in "${packages[@]}"; do
        if ! dpkg-query --show --showformat='${db:Status-Status}' "$package" 2>/dev/null \
                | grep -qx installed; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "system packages: all installed"
        return
    fi
    say "system packages: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
    changed+=(packages)
}

reset_envs() {
    local output line
    output="$(cd "$root" && ./occo-dev reset-env --all --if-stale)"
    while IFS= read -r line; do
        say "$line"
    done <<<"$output"
    if grep -q ' is ready;' <<<"$output"; then
        changed+=(environments)
    fi
}

start_redis() {
    if [ -d /run/systemd/system ]; then
        if systemctl is-active --quiet redis-server; then
            say "redis: the redis-server service is running"
            return
        fi
        as_root systemctl enable --now redis-server
        say "redis: started the redis-server service"
        changed+=(redis)
        return
    fi
    if redis_answers; then
        say "redis: answering on 127.0.0.1:$redis_port"
        return
    fi
    local data="$root/env/redis"
    mkdir -p "$data"
    redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --dir "$data" \
        --pidfile "$data/redis.pid" --logfile "$data/redis.log" --save '' --appendonly no
    for _ in $(seq 100); do
        redis_answers && break
        sleep 0.1
    done
    if ! redis_answers; then
        say "redis: did not answer on 127.0.0.1:$redis_port; see $data/redis.log" >&2
        exit 1
    fi
    say "redis: started on 127.0.0.1:$redis_port (no systemd here; pid and log in $data)"
    changed+=(redis)
}

install_packages
reset_envs
start_redis
if [ "${#changed[@]}" -eq 0 ]; then
    say "done: nothing changed"
else
    say "done: changed ${changed[*]}"
fi
