#!/usr/bin/env bash
# jaeger.sh builds and runs a loopback-only Jaeger (v2, the OpenTelemetry
# Collector based cmd/jaeger, in-memory storage) to look at pgwarp's traces.
# See docs/observability.md.
#
#   scripts/jaeger.sh build   install Jaeger from the Go module proxy into the cache (once)
#   scripts/jaeger.sh start   build if needed, then run it in the background
#   scripts/jaeger.sh stop    stop the Jaeger that "start" started
#   scripts/jaeger.sh path    print the binary's path
#
# Environment:
#   PGWARP_JAEGER_DIR  cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/pgwarp/jaeger-v1.76.0)
#   PGWARP_JAEGER_UI   a built jaeger-ui directory to serve on :16686; the Go
#                      module ships only a placeholder page (the HTTP API works)
#
# "start" listens on 127.0.0.1 only: OTLP gRPC 4317, OTLP HTTP 4318, query
# UI/API 16686 and query gRPC 16685. Its config, log and pid file live in
# $PGWARP_JAEGER_DIR/run, outside the repository.
set -euo pipefail

JAEGER_VERSION="v1.76.0"
CACHE_DIR="${PGWARP_JAEGER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgwarp/jaeger-${JAEGER_VERSION}}"
BIN="$CACHE_DIR/jaeger"
RUN_DIR="$CACHE_DIR/run"
PID_FILE="$RUN_DIR/jaeger.pid"
LOG_FILE="$RUN_DIR/jaeger.log"
CONFIG_FILE="$RUN_DIR/config.yaml"
QUERY_URL="http://127.0.0.1:16686"

build() {
	if [ -x "$BIN" ]; then
		return 0
	fi
	mkdir -p "$CACHE_DIR"
	echo "jaeger: building github.com/jaegertracing/jaeger/cmd/jaeger@${JAEGER_VERSION} into $CACHE_DIR (about 10 CPU-minutes, once)" >&2
	# "go install module/cmd@version" refuses a module whose go.mod has
	# replace directives, and Jaeger's has one. So fetch the module's source
	# through the Go module proxy and install from inside it, where its own
	# go.mod (and go.sum) apply.
	local src
	src="$(cd / && go mod download -json "github.com/jaegertracing/jaeger@${JAEGER_VERSION}" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
	if [ -z "$src" ] || [ ! -d "$src/cmd/jaeger" ]; then
		echo "jaeger: go mod download did not yield the module source" >&2
		exit 1
	fi
	(cd "$src" && GOBIN="$CACHE_DIR" GOFLAGS=-mod=readonly nice -n 10 go install ./cmd/jaeger)
	echo "jaeger: built $BIN" >&2
}

running_pid() {
	local pid
	[ -f "$PID_FILE" ] || return 1
	pid="$(cat "$PID_FILE")"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(readlink "/proc/$pid/exe" 2>/dev/null || echo "$BIN")" = "$BIN" ] || return 1
	echo "$pid"
}

write_config() {
	local ui=""
	if [ -n "${PGWARP_JAEGER_UI:-}" ]; then
		ui="    ui:
      assets_path: ${PGWARP_JAEGER_UI}"
	fi
	cat >"$CONFIG_FILE" <<EOF
# Written by scripts/jaeger.sh: loopback only, in-memory storage.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:16686
    grpc:
      endpoint: 127.0.0.1:16685
${ui}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
      http:
        endpoint: 127.0.0.1:4318
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

start() {
	build
	local pid
	if pid="$(running_pid)"; then
		echo "jaeger: already running (pid $pid), UI/API $QUERY_URL"
		return 0
	fi
	mkdir -p "$RUN_DIR"
	write_config
	nohup "$BIN" --config "$CONFIG_FILE" >"$LOG_FILE" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$PID_FILE"
	for _ in $(seq 1 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "jaeger: exited during startup (a port in 4317 4318 16685 16686 busy?); log $LOG_FILE:" >&2
			tail -n 20 "$LOG_FILE" >&2
			rm -f "$PID_FILE"
			exit 1
		fi
		if grep -q "Everything is ready" "$LOG_FILE" 2>/dev/null; then
			echo "jaeger: running (pid $pid): OTLP grpc 127.0.0.1:4317, http 127.0.0.1:4318, UI/API $QUERY_URL, log $LOG_FILE"
			return 0
		fi
		sleep 0.2
	done
	echo "jaeger: not ready after 20s; log $LOG_FILE" >&2
	exit 1
}

stop() {
	local pid
	if ! pid="$(running_pid)"; then
		rm -f "$PID_FILE"
		echo "jaeger: not running"
		return 0
	fi
	kill "$pid"
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
	fi
	rm -f "$PID_FILE"
	echo "jaeger: stopped (pid $pid)"
}

case "${1:-}" in
build) build ;;
start) start ;;
stop) stop ;;
path) echo "$BIN" ;;
*)
	echo "usage: $0 build|start|stop|path" >&2
	exit 2
	;;
esac
