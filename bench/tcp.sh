#!/usr/bin/env bash
# Layer 4 throughput: one iperf3 stream directly, and through a fulcrum tcp
# frontend, alternating direct/fulcrum RUNS times; prints the medians and
# the ratio as a Markdown table. fulcrum is pinned to CPU 0, iperf3 (client
# and server) to CPU 1. Installs iperf3 from Debian if it is missing.
#
#   bench/tcp.sh [RUNS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SECS=${2:-5}

if ! command -v iperf3 >/dev/null; then
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=240 iperf3 >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The working tree, or the last commit when a change under way keeps the
# tree from building.
if ! go build -o "$work/fulcrum" ./cmd/fulcrum 2>"$work/build.log"; then
	echo "tcp.sh: the working tree does not build; benchmarking the last commit" >&2
	mkdir -p "$work/src"
	git archive HEAD | tar -x -C "$work/src"
	(cd "$work/src" && go build -o "$work/fulcrum" ./cmd/fulcrum)
fi
SPORT=25201
FPORT=25202
cat >"$work/bench.yaml" <<YAML
defaults: {mode: tcp, timeout_connect: 1s, timeout_client: 30s, timeout_server: 30s}
frontend:
  - name: bench
    bind: [{addr_port: 127.0.0.1:$FPORT}]
    use_backend: iperf
backend:
  - name: iperf
    servers: [{addr_port: 127.0.0.1:$SPORT}]
YAML

taskset -c 1 iperf3 -s -B 127.0.0.1 -p $SPORT >/dev/null 2>&1 &
pids+=($!)
taskset -c 0 "$work/fulcrum" run -c "$work/bench.yaml" --log-level warn &
pids+=($!)
sleep 1

# gbits PORT: one run's receiver throughput in Gbit/s.
gbits() {
	taskset -c 1 iperf3 -c 127.0.0.1 -p "$1" -t "$SECS" -f g | awk '/receiver/ {print $(NF-2)}'
}

direct=()
proxied=()
for i in $(seq "$RUNS"); do
	direct+=("$(gbits $SPORT)")
	proxied+=("$(gbits $FPORT)")
	echo "run $i: direct ${direct[-1]} Gbit/s, fulcrum ${proxied[-1]} Gbit/s" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "–" hi}'; }
md=$(median "${direct[@]}")
mp=$(median "${proxied[@]}")
echo
echo "| target | Gbit/s (median of $RUNS × ${SECS}s) | min–max | ratio to direct |"
echo "|---|---|---|---|"
echo "| direct | $md | $(range "${direct[@]}") | 1.00 |"
echo "| fulcrum (tcp mode, 1 core) | $mp | $(range "${proxied[@]}") | $(awk -v a="$mp" -v b="$md" 'BEGIN {printf "%.2f", a/b}') |"
