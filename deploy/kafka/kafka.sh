#!/usr/bin/env bash
# Runs a real single-node Apache Kafka broker (KRaft, combined broker+controller) on loopback,
# from the artifacts Maven resolves out of Maven Central with deploy/kafka/pom.xml.
#
#   deploy/kafka/kafka.sh install   resolve the broker's jars into deploy/kafka/lib (once)
#   deploy/kafka/kafka.sh up        format storage (once), start, wait until ready; reuse a running one
#   deploy/kafka/kafka.sh down      stop the broker this script started (by PID)
#   deploy/kafka/kafka.sh status    say whether it runs
#
# OMNIJOURNEY_LOCAL_KAFKA_SASL_PORT adds a SASL_PLAINTEXT listener (mechanisms PLAIN and
# SCRAM-SHA-256/512) for one user, OMNIJOURNEY_LOCAL_KAFKA_SASL_USERNAME / _PASSWORD (default
# omnijourney / omnijourney-dev-secret): a local stand-in for a secured cluster, to try the
# OMNIJOURNEY_KAFKA_SECURITY_PROTOCOL / _SASL_* settings against.
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
sasl_port="${OMNIJOURNEY_LOCAL_KAFKA_SASL_PORT:-}"
sasl_user="${OMNIJOURNEY_LOCAL_KAFKA_SASL_USERNAME:-omnijourney}"
sasl_password="${OMNIJOURNEY_LOCAL_KAFKA_SASL_PASSWORD:-omnijourney-dev-secret}"
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
  local listeners="PLAINTEXT://127.0.0.1:$port" protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [[ -n "$sasl_port" ]]; then
    listeners="$listeners,SASL_PLAINTEXT://127.0.0.1:$sasl_port"
    protocols="$protocols,SASL_PLAINTEXT:SASL_PLAINTEXT"
  fi
  cat > "$run/server.properties" <<EOF
process.roles=broker,controller
node.id=1
listeners=$listeners,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
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
  if [[ -n "$sasl_port" ]]; then
    # PLAIN checks the user in the JAAS line; SCRAM users are stored in the cluster metadata by
    # `StorageTool format --add-scram` (see up), so both mechanisms accept the same user.
    cat >> "$run/server.properties" <<EOF
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$sasl_user="$sasl_password";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
EOF
  fi
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
    local scram=()
    if [[ -n "$sasl_port" ]]; then
      scram=(--add-scram "SCRAM-SHA-256=[name=$sasl_user,password=$sasl_password]"
             --add-scram "SCRAM-SHA-512=[name=$sasl_user,password=$sasl_password]")
    fi
    "${java_cmd[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" \
      -c "$run/server.properties" "${scram[@]}" > "$run/logs/format.log" 2>&1 \
      || { log "formatting storage failed:"; cat "$run/logs/format.log" >&2; exit 1; }
  fi
  local started
  started=$(date +%s%3N)
  # Readiness is read from server.log: a restart must not find the previous run's "started" line.
  if [[ -f "$run/logs/server.log" ]]; then mv -f "$run/logs/server.log" "$run/logs/server.log.previous"; fi
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
