#!/usr/bin/env bash
# Thin wrapper kept from the original layout: reset-env this component with occo-dev.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
exec ../occo-dev reset-env resource-handler "$@"
