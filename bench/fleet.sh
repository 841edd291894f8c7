#!/usr/bin/env bash
# Launcher of bench/fleet.mjs: one open file per device is more than the default limit allows, so raise it first.
set -euo pipefail
want="${FLEET_FILES:-200000}"
if ! ulimit -n "$want" 2>/dev/null; then
  # Without CAP_SYS_RESOURCE (a container) the hard limit is the ceiling: the bench sizes its fleet to it and says so.
  echo "bench/fleet: cannot raise the open-file limit to $want (hard limit $(ulimit -Hn)); using $(ulimit -Hn)"
  ulimit -n "$(ulimit -Hn)"
fi
exec node --expose-gc --max-old-space-size=8192 "$(dirname "$0")/fleet.mjs" "$@"
