#!/usr/bin/env bash
# A real Request Tracker 5 for the end-to-end tests: Debian's request-tracker5 with its SQLite backend
# and standalone server, queues Incidents/Faults and ticket custom fields AlertbridgeKey and Origin
# (initialdata). REST2 API at URL/REST/2.0, user root / password.
#   rt.sh start PORT HOME   a clean database, then the server; prints "URL PID"
#   rt.sh resume PORT HOME  the server again on the same database (after a stop: a desk outage)
#   rt.sh stop HOME
set -euo pipefail
cmd=$1; here=$(cd "$(dirname "$0")" && pwd)
server=/usr/share/request-tracker5/libexec/rt-server
db=/var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb
case "$cmd" in
  start|resume)
    port=$2; home=$3; mkdir -p "$home"
    [ -x "$server" ] || { echo "request-tracker5 is not installed (tests/e2e/apt-packages.txt)" >&2; exit 3; }
    if [ "$cmd" = start ]; then
      rm -f "$db"
      rt-setup-database-5 --action init --skip-create >/dev/null 2>&1
      rt-setup-database-5 --action insert --datafile "$here/initialdata" --skip-create >/dev/null 2>&1
    fi
    nohup "$server" --port "$port" >> "$home/rt-server.log" 2>&1 &
    echo $! > "$home/pid"
    for _ in $(seq 120); do
      curl -sf -u root:password "http://127.0.0.1:$port/REST/2.0/queues/all" >/dev/null && break
      kill -0 "$(cat "$home/pid")" 2>/dev/null || { echo "rt-server died; see $home/rt-server.log" >&2; exit 1; }
      sleep 0.25
    done
    echo "http://127.0.0.1:$port $(cat "$home/pid")"
    ;;
  stop)
    home=$2
    if [ -f "$home/pid" ]; then
      pid=$(cat "$home/pid")
      pkill -P "$pid" 2>/dev/null || true
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$home/pid"
    fi
    ;;
esac
