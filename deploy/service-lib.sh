# Shared by deploy/kafka/kafka.sh and deploy/registry/registry.sh: one way to find, probe and stop
# a Java service this project started. Callers set $name, $pidfile and $cmdline_marker first.

log() { printf '%s: %s\n' "$name" "$*" >&2; }

port_open() {  # host port -> 0 when something accepts TCP connections there
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

running_pid() {  # prints the PID from $pidfile when that process is ours and alive
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null && grep -q "$cmdline_marker" "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

down() {  # SIGTERM, wait up to 30 s, then SIGKILL
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile"; log "not running"; return 0
  fi
  kill "$pid"
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped (pid $pid)"; return 0; }
    sleep 0.2
  done
  log "pid $pid did not stop in 30s; killing it"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}
