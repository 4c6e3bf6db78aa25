#!/usr/bin/env bash
# A real Zabbix 6.0 for the end-to-end tests: Debian's zabbix-server-pgsql on its own PostgreSQL
# cluster (a fresh one on every start) and the PHP frontend, whose JSON-RPC API is served by
# `php -S` (no Apache). Everything listens on 127.0.0.1 only; nothing under /etc is touched (the
# frontend is copied into HOME and reads its DB config from there). Log in as Admin / zabbix.
#   zabbix.sh start HOME WEB_PORT SERVER_PORT PG_PORT     (SERVER_PORT: 1024-32767)
#       prints one line: "FRONTEND_URL SERVER_PORT SERVER_CONF" (the API is FRONTEND_URL/api_jsonrpc.php;
#       trapper values go to 127.0.0.1:SERVER_PORT; `zabbix_server -c SERVER_CONF -R config_cache_reload`)
#   zabbix.sh stop HOME
# HOME must be an absolute path whose parents are all world-searchable (mode o+x): as root,
# PostgreSQL runs as user postgres and zabbix_server drops to user zabbix. Not root: both run as you.
# Packages: tests/e2e/apt-packages.txt (zabbix-server-pgsql, zabbix-frontend-php, php8.2-cgi, php-* ...).
set -euo pipefail

cmd=${1:-}
here=$(cd "$(dirname "$0")" && pwd)
SQL_DIR=/usr/share/zabbix-server-pgsql
FRONTEND=/usr/share/zabbix
SERVER=/usr/sbin/zabbix_server

die() { echo "zabbix.sh: $*" >&2; exit 1; }

pgbin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return 0; }; done
    command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
    return 1
}

as_pg() {  # run as the PostgreSQL owner: postgres when we are root (initdb refuses root), else us
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_pid() {  # stop_pid PIDFILE PATTERN TIMEOUT_S: TERM, then KILL, only if the cmdline still matches
    local f=$1 pat=$2 t=$3 pid
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -- "$pat" >/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq $((t * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

stop_all() {
    local home=$1 bin
    stop_pid "$home/run/php.pid" "php" 10
    stop_pid "$home/run/zabbix_server.fgpid" zabbix_server 30
    if [ -f "$home/pg/data/postmaster.pid" ] && bin=$(pgbin); then
        as_pg "$bin/pg_ctl" -D "$home/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}

case "$cmd" in
  start)
    [ $# -eq 5 ] || die "usage: zabbix.sh start HOME WEB_PORT SERVER_PORT PG_PORT"
    home=$2; web_port=$3; server_port=$4; pg_port=$5
    case "$home" in /*) ;; *) die "HOME must be an absolute path, not $home" ;; esac
    [ "$server_port" -ge 1024 ] && [ "$server_port" -le 32767 ] || die "SERVER_PORT must be 1024-32767 (zabbix_server's ListenPort range), not $server_port"
    [ -x "$SERVER" ] && [ -f "$SQL_DIR/schema.sql.gz" ] || die "zabbix-server-pgsql is not installed (tests/e2e/apt-packages.txt)"
    [ -f "$FRONTEND/api_jsonrpc.php" ] || die "zabbix-frontend-php is not installed (tests/e2e/apt-packages.txt)"
    command -v php >/dev/null 2>&1 || die "php-cli is not installed (tests/e2e/apt-packages.txt)"
    php -m 2>/dev/null | grep -x pgsql >/dev/null || die "php-pgsql is not installed (tests/e2e/apt-packages.txt)"
    bin=$(pgbin) || die "no PostgreSQL server binaries (initdb) found"
    t0=$(date +%s.%N)
    mkdir -p "$home"
    stop_all "$home"
    rm -rf "$home/pg" "$home/run" "$home/log" "$home/frontend"
    mkdir -p "$home/pg" "$home/run" "$home/log"
    if [ "$(id -u)" -eq 0 ]; then
        d=$home
        while [ "$d" != / ]; do
            [ "$(( 0$(stat -c %a "$d") & 1 ))" -eq 1 ] || die "$d is not world-searchable (chmod o+x): postgres and zabbix cannot reach $home"
            d=$(dirname "$d")
        done
        chown postgres:postgres "$home/pg"
        chown zabbix:zabbix "$home/run" "$home/log"  # zabbix_server writes its log, pid and sockets here
    fi

    # PostgreSQL: a throw-away cluster, no durability needed.
    as_pg "$bin/initdb" -D "$home/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        > "$home/log/initdb.log" 2>&1 || { cat "$home/log/initdb.log" >&2; die "initdb failed"; }
    as_pg "$bin/pg_ctl" -D "$home/pg/data" -l "$home/pg/postgres.log" -w -o \
        "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$home/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start > /dev/null || { cat "$home/pg/postgres.log" >&2; die "PostgreSQL did not start"; }
    psql=("$bin/psql" -h 127.0.0.1 -p "$pg_port" -X -q -v ON_ERROR_STOP=1)
    "${psql[@]}" -U postgres -c "CREATE ROLE zabbix LOGIN" \
        -c "CREATE DATABASE zabbix_e2e OWNER zabbix ENCODING 'UTF8' TEMPLATE template0" >/dev/null
    for f in schema images data; do
        zcat "$SQL_DIR/$f.sql.gz" | "${psql[@]}" -1 -U zabbix -d zabbix_e2e > "$home/log/import_$f.log" 2>&1 \
            || { tail -20 "$home/log/import_$f.log" >&2; die "importing $f.sql.gz failed"; }
    done

    # zabbix_server: only the processes the tests need, short cache refresh.
    sed -e "s|@HOME@|$home|g" -e "s|@SERVER_PORT@|$server_port|g" -e "s|@PG_PORT@|$pg_port|g" \
        "$here/zabbix_server.conf.in" > "$home/zabbix_server.conf"
    chmod 644 "$home/zabbix_server.conf"
    # Webhooks go to 127.0.0.1: keep any *_proxy of the caller away from the server's libcurl.
    env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
        nohup "$SERVER" -f -c "$home/zabbix_server.conf" > "$home/log/zabbix_server.stdout" 2>&1 &
    echo $! > "$home/run/zabbix_server.fgpid"

    # Frontend: a private copy whose config file path points into HOME (Debian hard-codes /etc/zabbix).
    cp -a "$FRONTEND" "$home/frontend"
    sed -i "s|const CONFIG_FILE_PATH = '[^']*';|const CONFIG_FILE_PATH = '$home/zabbix.conf.php';|" \
        "$home/frontend/include/classes/core/CConfigFile.php"
    grep -q "$home/zabbix.conf.php" "$home/frontend/include/classes/core/CConfigFile.php" \
        || die "could not point the frontend's CConfigFile at $home/zabbix.conf.php"
    sed -e "s|@SERVER_PORT@|$server_port|g" -e "s|@PG_PORT@|$pg_port|g" \
        "$here/zabbix.conf.php.in" > "$home/zabbix.conf.php"
    # One php process (no PHP_CLI_SERVER_WORKERS: its workers would outlive the master).
    nohup php -d memory_limit=256M -d post_max_size=16M -d max_execution_time=300 -d max_input_time=300 \
        -d date.timezone=UTC -d session.save_path="$home/run" \
        -S "127.0.0.1:$web_port" -t "$home/frontend" > "$home/log/php.log" 2>&1 &
    echo $! > "$home/run/php.pid"

    # Ready: the server's trapper and alerters are up, and the API answers.
    zpid=$(cat "$home/run/zabbix_server.fgpid")
    for _ in $(seq 600); do
        grep -q 'started \[trapper #1\]' "$home/log/zabbix_server.log" 2>/dev/null \
            && grep -q 'started \[alerter #1\]' "$home/log/zabbix_server.log" && break
        kill -0 "$zpid" 2>/dev/null || { cat "$home/log/zabbix_server.stdout" "$home/log/zabbix_server.log" >&2 || true; die "zabbix_server exited"; }
        sleep 0.1
    done
    grep -q 'started \[trapper #1\]' "$home/log/zabbix_server.log" || die "zabbix_server not ready after 60 s; see $home/log"
    version=
    for _ in $(seq 100); do
        version=$(curl -s --noproxy '*' -m 5 -X POST -H 'Content-Type: application/json-rpc' \
            -d '{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}' \
            "http://127.0.0.1:$web_port/api_jsonrpc.php" 2>/dev/null | sed -n 's/.*"result":"\([^"]*\)".*/\1/p') || true
        [ -n "$version" ] && break
        sleep 0.1
    done
    [ -n "$version" ] || { tail -20 "$home/log/php.log" >&2; die "the frontend API does not answer on 127.0.0.1:$web_port"; }
    echo "zabbix.sh: Zabbix $version up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s" >&2
    echo "http://127.0.0.1:$web_port $server_port $home/zabbix_server.conf"
    ;;
  stop)
    [ $# -eq 2 ] || die "usage: zabbix.sh stop HOME"
    stop_all "$2"
    ;;
  *)
    die "usage: zabbix.sh start HOME WEB_PORT SERVER_PORT PG_PORT | stop HOME"
    ;;
esac
