#!/usr/bin/env bash
# Layer 4 throughput alone: the tcp scenario of bench/run.sh, one iperf3
# stream directly and through nginx (stream), HAProxy (mode tcp) and fulcrum
# (tcp mode), written to bench/results/tcp-YYYY-MM-DD.{md,png,tsv}.
# bench/run.sh runs it too, with every other scenario.
#
#   bench/tcp.sh [ROUNDS] [SECS]        defaults 3 and 3: under a minute
#
# The environment of bench/run.sh applies (OUT_DIR, BASE_PORT, KEEP, ...).
set -euo pipefail
ROUNDS=${1:-${ROUNDS:-3}} SECS=${2:-${SECS:-3}} SCENARIOS=tcp \
	RESULT_NAME=${RESULT_NAME:-tcp-$(date +%F)} exec "$(dirname "$0")/run.sh"
