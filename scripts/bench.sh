#!/usr/bin/env bash
# bench.sh runs the comparisons docs/benchmarks.md reports, on loopback only:
# ../shared/bench/peers.sh (PostgreSQL direct, PgBouncer, pgpool-II's query
# cache and pgwarp side by side in one run) and pgwarp-bench (pgwarp against
# itself: policies, SCRAM, tracing, idle connections, dashboards with writes).
# It takes about 35 minutes on 2 CPUs; results go to $OUT (default
# bench-results/<date>), one file per run. Quote ratios, not absolute TPS:
# the machine is shared and noisy.
#
# Needs bin/pgwarp and bin/pgwarp-bench (make bench builds them), pgbench,
# and for the peers PgBouncer and pgpool-II (apt-get install pgbouncer
# pgpool2). Tracing runs need Jaeger (scripts/jaeger.sh builds it once).
set -uo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-../shared/bench/peers.sh}
OUT=${OUT:-bench-results/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
PW="$PWD/bin/pgwarp"
B=./bin/pgwarp-bench
cfg() { printf '%s\n' "$2" > "$OUT/$1.yaml"; echo "$OUT/$1.yaml"; }
step() { echo "== $1 ($(date -u +%H:%M:%S))"; }
proxy() { echo "$PW serve --listen 127.0.0.1:{LISTEN_PORT} --upstream {UPSTREAM_URL} --admin-http off --log-level warn $*"; }

if [ -x "$PEERS" ] || [ -f "$PEERS" ]; then
	step "peers: transaction mode, 16 clients"
	bash "$PEERS" --no-pgpool --repeat 3 --json "$OUT/tx16.json" --proxy-name pgwarp-tx \
		--proxy-cmd "$(proxy --pool-mode transaction --pool-size 16 --cache off)" > "$OUT/tx16.txt" 2>&1
	step "peers: transaction mode, 64 clients"
	bash "$PEERS" --no-pgpool --clients 64 --workloads select,prepared --json "$OUT/tx64.json" --proxy-name pgwarp-tx \
		--proxy-cmd "$(proxy --pool-mode transaction --pool-size 64 --cache off)" > "$OUT/tx64.txt" 2>&1
	step "peers: session mode"
	bash "$PEERS" --no-pgpool --repeat 3 --workloads select,prepared --json "$OUT/session.json" --proxy-name pgwarp-session \
		--proxy-cmd "$(proxy --pool-mode session --pool-size 16 --cache off)" > "$OUT/session.txt" 2>&1
	step "peers: bare TCP relays, the ceiling of each I/O model (goroutines as pgwarp, an epoll loop as PgBouncer)"
	for model in goroutines epoll; do
		bash "$PEERS" --no-pgpool --repeat 3 --workloads select --json "$OUT/relay-$model.json" --proxy-name "relay-$model" \
			--proxy-cmd "$PWD/bin/pgwarp-bench relay --model $model --listen 127.0.0.1:{LISTEN_PORT} --upstream {UPSTREAM_URL}" > "$OUT/relay-$model.txt" 2>&1
	done
	step "peers: cache (dashboards, beside pgpool-II's query cache)"
	bash "$PEERS" --workloads select,dash_point,dash_top20 --json "$OUT/cache.json" --proxy-name pgwarp-cache \
		--proxy-cmd "$(proxy --pool-mode transaction --pool-size 16 --cache on)" > "$OUT/cache.txt" 2>&1
else
	echo "peers.sh not found at $PEERS: skipping the peer comparisons" >&2
fi

off=$(cfg off 'cache: { enabled: false }')
step "dashboards with 10% writes, stale-read check, cache-hit latency"
$B mixed --config "$(cfg cache-on 'cache: { enabled: true }')" --rounds 3 > "$OUT/mixed.txt" 2>&1
$B mixed --config "$OUT/cache-on.yaml" --write upsert --rounds 3 > "$OUT/mixed-upsert.txt" 2>&1
step "policies enforced vs off"
$B ab --a-name policy-off --a-config "$(cfg policy-off $'cache: { enabled: false }\npolicy: { mode: "off" }')" \
	--b-name policy-enforce --b-config "$(cfg policy-on 'cache: { enabled: false }')" --rounds 3 > "$OUT/policy.txt" 2>&1
step "SCRAM vs trust, a connection per transaction"
BENCH_PW=benchpw $B ab --a-name trust --a-config "$(cfg trust $'cache: { enabled: false }\nauth: { method: trust }')" \
	--b-name scram --b-config "$(cfg scram $'cache: { enabled: false }\nauth: { method: scram-sha-256, users: [ { name: postgres, password_env: BENCH_PW } ] }')" \
	--connect --password benchpw --rounds 3 > "$OUT/scram.txt" 2>&1
step "tracing at sample ratio 1.0, exporting to a receiver that discards (pgwarp's own share)"
$B nullotlp --listen 127.0.0.1:14318 --save "$OUT/spans" > "$OUT/nullotlp.txt" 2>&1 &
NULLOTLP=$!
sleep 1
$B ab --a-name tracing-off --a-config "$off" --b-name tracing-1.0-discard \
	--b-config "$(cfg trace-null $'cache: { enabled: false }\ntelemetry: { enabled: true, otlp_endpoint: "127.0.0.1:14318", otlp_protocol: http/protobuf, sample_ratio: 1.0 }')" \
	--rounds 3 > "$OUT/tracing-discard.txt" 2>&1
kill "$NULLOTLP"; wait "$NULLOTLP" 2>/dev/null
if ./scripts/jaeger.sh start > "$OUT/jaeger.txt" 2>&1; then
	sleep 3
	step "tracing at sample ratio 1.0 and 0.01, exporting to Jaeger"
	$B ab --a-name tracing-off --a-config "$off" --b-name tracing-1.0 \
		--b-config "$(cfg trace-1 $'cache: { enabled: false }\ntelemetry: { enabled: true, otlp_endpoint: "127.0.0.1:4317", sample_ratio: 1.0 }')" \
		--rounds 3 > "$OUT/tracing-1.txt" 2>&1
	$B ab --a-name tracing-off --a-config "$off" --b-name tracing-0.01 \
		--b-config "$(cfg trace-001 $'cache: { enabled: false }\ntelemetry: { enabled: true, otlp_endpoint: "127.0.0.1:4317", sample_ratio: 0.01 }')" \
		--rounds 3 > "$OUT/tracing-001.txt" 2>&1
	step "tracing off while Jaeger ingests the spans of the discarding run (Jaeger's own share)"
	$B ab --a-name tracing-off --a-config "$off" --b-name tracing-off-jaeger-busy --b-config "$off" \
		--b-during "$B replay --dir '$OUT/spans' --url http://127.0.0.1:4318/v1/traces" \
		--rounds 3 > "$OUT/tracing-ceiling.txt" 2>&1
	./scripts/jaeger.sh stop >> "$OUT/jaeger.txt" 2>&1
else
	echo "Jaeger did not start (see $OUT/jaeger.txt): skipping the tracing runs" >&2
fi
rm -rf "$OUT/spans"
step "10,000 idle client connections"
$B idle --idle 10000 --active 16 --config "$off" > "$OUT/idle.txt" 2>&1
step "done: results in $OUT"
