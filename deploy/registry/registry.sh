#!/usr/bin/env bash
# Runs a real Confluent-compatible schema registry (Apicurio Registry, its /apis/ccompat/v7 API) on
# loopback, built from the artifacts Maven resolves out of Maven Central with deploy/registry/pom.xml.
# Schemas are kept in an H2 database file under .run/registry/data, so ids survive a restart: a
# Confluent-framed message names its writer schema by id, and an id that pointed elsewhere after a
# restart would decode old messages with the wrong schema.
#
#   deploy/registry/registry.sh install   build the registry into deploy/registry/lib (once)
#   deploy/registry/registry.sh up        start, wait until its API answers; reuse a running one
#   deploy/registry/registry.sh down      stop the registry this script started (by PID)
#   deploy/registry/registry.sh status    say whether it runs, and its URL
#   deploy/registry/registry.sh url       print the URL to put in OMNIJOURNEY_SCHEMA_REGISTRY_URL
#
# When OMNIJOURNEY_SCHEMA_REGISTRY_URL is set, `up` starts nothing and only checks that it answers:
# the user brought their own registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lib="$here/lib"
runner="$lib/build/schema-registry-1-runner.jar"
run="${OMNIJOURNEY_RUN_DIR:-$root/.run}/registry"
port="${OMNIJOURNEY_LOCAL_REGISTRY_PORT:-18081}"
api_path="/apis/ccompat/v7"
pidfile="$run/registry.pid"
name=registry
cmdline_marker="schema-registry-1-runner.jar"
# shellcheck source=../service-lib.sh
source "$here/../service-lib.sh"
ready_timeout="${OMNIJOURNEY_REGISTRY_READY_TIMEOUT:-90}"

api_answers() {  # host port path -> 0 when GET path answers 200 (plain bash: no curl needed)
  (
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf 'GET %s/subjects HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&3
    IFS= read -r -t 5 status <&3 || exit 1
    [[ "$status" == *" 200"* ]]
  ) 2>/dev/null
}

install() {
  local stamp="$lib/.complete"
  if [[ -f "$stamp" && -f "$runner" && "$stamp" -nt "$here/pom.xml" ]] \
     && [[ -z "$(find "$here/src" -newer "$stamp" -type f 2>/dev/null)" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || { log "Maven (mvn) is required to fetch the registry from Maven Central"; exit 1; }
  command -v java >/dev/null || { log "a JDK (java 17+) is required to build and run the registry"; exit 1; }
  log "building Apicurio Registry from Maven Central artifacts into $lib (a minute or two, once)"
  rm -rf "$lib"
  mkdir -p "$lib"
  mvn -q -B -f "$here/pom.xml" package -DskipTests > "$lib/build.log" 2>&1 \
    || { log "the build failed; last lines of $lib/build.log:"; tail -n 40 "$lib/build.log" >&2; exit 1; }
  [[ -f "$runner" ]] || { log "the build made no $runner"; exit 1; }
  touch "$stamp"
}

up() {
  if [[ -n "${OMNIJOURNEY_SCHEMA_REGISTRY_URL:-}" ]]; then
    local url="${OMNIJOURNEY_SCHEMA_REGISTRY_URL%/}" rest hostport path
    rest="${url#*://}"; hostport="${rest%%/*}"; path=""
    [[ "$rest" == */* ]] && path="/${rest#*/}"
    [[ "$hostport" == *:* ]] || hostport="$hostport:$([[ "$url" == https://* ]] && echo 443 || echo 80)"
    # plain HTTP: ask its API; HTTPS (no TLS in bash): that the port accepts connections must do
    if { [[ "$url" == https://* ]] && port_open "${hostport%:*}" "${hostport##*:}"; } \
       || { [[ "$url" != https://* ]] && api_answers "${hostport%:*}" "${hostport##*:}" "$path"; }; then
      log "using the registry at $url (OMNIJOURNEY_SCHEMA_REGISTRY_URL is set); starting none"; return 0
    fi
    log "OMNIJOURNEY_SCHEMA_REGISTRY_URL=$url does not answer GET $path/subjects"; exit 1
  fi
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid) at $(url)"; return 0
  fi
  if port_open 127.0.0.1 "$port"; then
    log "port $port is taken by a process this script did not start; stop it or set OMNIJOURNEY_LOCAL_REGISTRY_PORT"; exit 1
  fi
  install
  mkdir -p "$run/data" "$run/logs"
  local started
  started=$(date +%s%3N)
  # setsid: the registry outlives the make target that started it, and is stopped by PID.
  # A local registry holds a few dozen schemas on a shared 2-core box: SerialGC, a small heap, and
  # the quick (C1) JIT only, which starts it in about half the time and 30% less memory.
  setsid java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" \
    -Dquarkus.datasource.jdbc.url="jdbc:h2:file:$run/data/registry" \
    -Dregistry.ccompat.legacy-id-mode.enabled=false \
    -jar "$runner" > "$run/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local deadline=$(( $(date +%s) + ready_timeout ))
  until api_answers 127.0.0.1 "$port" "$api_path"; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "the registry exited during start-up; last lines of its log:"
      tail -n 30 "$run/logs/stdout.log" >&2 2>/dev/null || true
      rm -f "$pidfile"; exit 1
    fi
    if (( $(date +%s) > deadline )); then
      log "not ready after ${ready_timeout}s; see $run/logs/stdout.log"; exit 1
    fi
    sleep 0.2
  done
  log "ready at $(url) (pid $(cat "$pidfile"), started in $(( $(date +%s%3N) - started )) ms)"
}

url() { echo "http://127.0.0.1:$port$api_path"; }

status() {
  local pid
  if pid="$(running_pid)"; then echo "registry: running (pid $pid) at $(url)"; else echo "registry: not running"; return 1; fi
}

case "${1:-}" in
  install) install ;;
  up) up ;;
  down) down ;;
  status) status ;;
  url) url ;;
  *) echo "usage: $0 install|up|down|status|url" >&2; exit 2 ;;
esac
