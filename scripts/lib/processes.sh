# Process helpers shared by scripts/dev.sh and scripts/e2e.sh (source this file).
# Every long-running child is started with setsid, so it leads its own process group and
# its whole tree (yarn, backstage-cli, backend, dev server; or node and the control plane)
# can be stopped at once.

# port_in_use <port>: true when something listens on localhost:<port>.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null || (exec 3<>"/dev/tcp/::1/$1") 2>/dev/null
}

# require_free_ports <port>...: fails naming the first port in use and what holds it.
require_free_ports() {
  local port
  for port in "$@"; do
    if port_in_use "$port"; then
      echo "$(basename "$0"): ERROR: port $port is already in use (another ./scripts/dev.sh?). Stop it and re-run." >&2
      command -v ss >/dev/null && ss -ltnp "sport = :$port" >&2 || true
      return 1
    fi
  done
}

# stop_group <pgid> <what> [leader-only]: TERM to the group (or, with leader-only, to its
# leader, which then stops its own children), then KILL to the group after
# $STOP_WAIT_SECONDS (default 20).
stop_group() {
  local pgid=$1 waits=$((${STOP_WAIT_SECONDS:-20} * 2))
  kill -0 -- "-$pgid" 2>/dev/null || return 0
  echo "$(basename "$0"): stopping $2 (process group $pgid)" >&2
  if [ -n "${3:-}" ]; then
    kill -TERM "$pgid" 2>/dev/null || true
  else
    kill -TERM -- "-$pgid" 2>/dev/null || true
  fi
  for _ in $(seq 1 "$waits"); do
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
}
