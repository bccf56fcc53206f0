#!/usr/bin/env bash
# Make sure the Postgres and Redis the tests use are up; start the local ones if they are not.
# Usage: ensure-services.sh [DATABASE_URL] [BROKER_URL]. Only loopback servers are started.
set -euo pipefail
db_url="${1:-postgres://postgres@127.0.0.1:5432/postgres}"
broker_url="${2:-redis://127.0.0.1:6379/0}"

port_open() {  # host port
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

wait_port() {  # name host port
  for _ in $(seq 1 30); do
    port_open "$2" "$3" && return 0
    sleep 1
  done
  echo "ensure-services: $1 on $2:$3 did not come up" >&2
  return 1
}

hostport() {  # url default-port -> "host port"
  local rest="${1#*://}"
  rest="${rest#*@}"
  rest="${rest%%/*}"
  local host="${rest%%:*}" port="${rest##*:}"
  [ "$host" = "$rest" ] && port="$2"
  echo "${host:-127.0.0.1} ${port:-$2}"
}

read -r pg_host pg_port <<<"$(hostport "$db_url" 5432)"
if ! port_open "$pg_host" "$pg_port"; then
  case "$pg_host" in
    127.0.0.1|localhost)
      echo "ensure-services: starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
      wait_port PostgreSQL "$pg_host" "$pg_port" ;;
    *) echo "ensure-services: PostgreSQL at $pg_host:$pg_port is not reachable" >&2; exit 1 ;;
  esac
fi

case "$broker_url" in
  redis://*)
    read -r rd_host rd_port <<<"$(hostport "$broker_url" 6379)"
    if ! port_open "$rd_host" "$rd_port"; then
      case "$rd_host" in
        127.0.0.1|localhost)
          echo "ensure-services: starting Redis"
          mkdir -p /var/lib/redis /var/log/redis
          redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$rd_port" --save "" \
            --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
          wait_port Redis "$rd_host" "$rd_port" ;;
        *) echo "ensure-services: Redis at $rd_host:$rd_port is not reachable" >&2; exit 1 ;;
      esac
    fi ;;
esac
echo "ensure-services: PostgreSQL $pg_host:$pg_port and broker are up"
