#!/usr/bin/env bash
# Runs a real single-node Apache Kafka broker (KRaft, combined broker+controller) on loopback,
# from the artifacts Maven resolves out of Maven Central with deploy/kafka/pom.xml.
#
#   deploy/kafka/kafka.sh install   resolve the broker's jars into deploy/kafka/lib (once)
#   deploy/kafka/kafka.sh up        format storage (once), start, wait until ready; reuse a running one
#   deploy/kafka/kafka.sh down      stop the broker this script started (by PID)
#   deploy/kafka/kafka.sh status    say whether it runs
#
# When OMNIJOURNEY_KAFKA_BROKERS names a broker, `up` starts nothing and only checks that it answers:
# the user brought their own Kafka.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lib="$here/lib"
run="${OMNIJOURNEY_RUN_DIR:-$root/.run}/kafka"
port="${OMNIJOURNEY_LOCAL_KAFKA_PORT:-19092}"
controller_port="${OMNIJOURNEY_LOCAL_KAFKA_CONTROLLER_PORT:-19093}"
pidfile="$run/kafka.pid"
name=kafka
cmdline_marker="kafka.Kafka"
# shellcheck source=../service-lib.sh
source "$here/../service-lib.sh"
ready_timeout="${OMNIJOURNEY_KAFKA_READY_TIMEOUT:-90}"

install() {
  if [[ -f "$lib/.complete" && "$lib/.complete" -nt "$here/pom.xml" ]]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is required to fetch the broker from Maven Central"; exit 1; }
  command -v java >/dev/null || { log "a JDK (java 17+) is required to run the broker"; exit 1; }
  log "resolving Apache Kafka from Maven Central into $lib"
  rm -rf "$lib"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$lib" >&2
  touch "$lib/.complete"
}

write_config() {
  mkdir -p "$run/data" "$run/logs"
  cat > "$run/server.properties" <<EOF
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
log.dirs=$run/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
message.max.bytes=2097152
log.retention.hours=168
EOF
}

java_cmd=()
set_java_cmd() {  # an array, so the classpath wildcard reaches the JVM unexpanded
  java_cmd=(java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$here/log4j2.xml" "-Dkafka.logs.dir=$run/logs"
    -cp "$lib/*")
}

up() {
  if [[ -n "${OMNIJOURNEY_KAFKA_BROKERS:-}" ]]; then
    local first="${OMNIJOURNEY_KAFKA_BROKERS%%,*}"
    if port_open "${first%:*}" "${first##*:}"; then
      log "using the broker at $OMNIJOURNEY_KAFKA_BROKERS (OMNIJOURNEY_KAFKA_BROKERS is set); starting none"
      return 0
    fi
    log "OMNIJOURNEY_KAFKA_BROKERS=$OMNIJOURNEY_KAFKA_BROKERS does not answer"; exit 1
  fi
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid) on 127.0.0.1:$port"; return 0
  fi
  if port_open 127.0.0.1 "$port"; then
    log "port $port is taken by a process this script did not start; stop it or set OMNIJOURNEY_LOCAL_KAFKA_PORT"; exit 1
  fi
  install
  write_config
  set_java_cmd
  if [[ ! -f "$run/data/meta.properties" ]]; then
    local cluster_id
    cluster_id="$("${java_cmd[@]}" kafka.tools.StorageTool random-uuid)"
    "${java_cmd[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" \
      -c "$run/server.properties" > "$run/logs/format.log" 2>&1 \
      || { log "formatting storage failed:"; cat "$run/logs/format.log" >&2; exit 1; }
  fi
  local started
  started=$(date +%s%3N)
  # setsid: the broker outlives the make target that started it, and is stopped by PID.
  setsid "${java_cmd[@]}" kafka.Kafka "$run/server.properties" > "$run/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local deadline=$(( $(date +%s) + ready_timeout ))
  until grep -q 'Kafka Server started' "$run/logs/server.log" 2>/dev/null && port_open 127.0.0.1 "$port"; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "the broker exited during start-up; last lines of its logs:"
      tail -n 30 "$run/logs/stdout.log" "$run/logs/server.log" >&2 2>/dev/null || true
      rm -f "$pidfile"; exit 1
    fi
    if (( $(date +%s) > deadline )); then
      log "not ready after ${ready_timeout}s; see $run/logs/server.log"; exit 1
    fi
    sleep 0.2
  done
  log "ready on 127.0.0.1:$port (pid $(cat "$pidfile"), started in $(( $(date +%s%3N) - started )) ms)"
}

status() {
  local pid
  if pid="$(running_pid)"; then echo "kafka: running (pid $pid) on 127.0.0.1:$port"; else echo "kafka: not running"; return 1; fi
}

case "${1:-}" in
  install) install ;;
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
