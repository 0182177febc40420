#!/usr/bin/env bash
# TLS termination alone: the HTTPS keep-alive, HTTP/2 over TLS, full and
# resumed handshake scenarios of bench/run.sh (nginx, HAProxy, Caddy and
# fulcrum, each terminating TLS 1.3 with one ECDSA P-256 certificate),
# written to bench/results/tls-YYYY-MM-DD.{md,png,tsv}. bench/run.sh runs
# them too, with every other scenario.
#
#   bench/tls.sh [ROUNDS] [SECS]        defaults 3 and 3: about 3 minutes
#
# The environment of bench/run.sh applies (OUT_DIR, BASE_PORT, KEEP, ...).
set -euo pipefail
ROUNDS=${1:-${ROUNDS:-3}} SECS=${2:-${SECS:-3}} SCENARIOS="https h2 fullhs resumehs" \
	RESULT_NAME=${RESULT_NAME:-tls-$(date +%F)} exec "$(dirname "$0")/run.sh"
