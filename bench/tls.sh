#!/usr/bin/env bash
# TLS termination side by side: fulcrum and HAProxy, each terminating TLS
# 1.3 with the same ECDSA P-256 certificate on one thread pinned to CPU 0,
# in front of one nginx backend (plain HTTP, 100-byte body) pinned to CPU 1
# with the load generator, h2load (1 thread). Both proxies run at once, on
# different ports; each run loads one of them, and within every scenario
# the two alternate (their order swaps from round to round).
#
#   https-h1   HTTPS keep-alive: h2load --h1 -c 64, 1 s warm-up, then SECS s
#   https-h2   HTTP/2 over TLS: h2load -c 64 -m 10, 1 s warm-up, then SECS s
#   full-hs    a new connection with a full TLS 1.3 handshake per request:
#              h2load --h1 -c 64 -H "Connection: close" against a second
#              listener of each proxy with session resumption off
#   resumed-hs the same against the first listener, resumption on: h2load
#              resumes the TLS session on each new connection (PSK + ECDHE,
#              no certificate signature)
#
#   bench/tls.sh [ROUNDS] [SECS]        defaults 3 and 5: about 2.5 minutes
#
# Writes bench/results/tls-YYYY-MM-DD.md (OUT_DIR moves it) and prints it.
# Uses 127.0.0.1 ports 25401-25406 (BASE_PORT moves them), stops only the
# processes it started (by PID, on exit too), and bounds every wait.
# Installs h2load (nghttp2-client), haproxy and nginx from Debian when
# missing. KEEP=1 keeps the temporary folder (configs, logs, raw outputs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
OUT_DIR=${OUT_DIR:-bench/results}
BASE_PORT=${BASE_PORT:-25400}
CONNS=64
STARTED=$(date +%s)
log() { printf '[%4ds] %s\n' $(($(date +%s) - STARTED)) "$*" >&2; }

need=()
for pair in h2load:nghttp2-client haproxy:haproxy nginx:nginx openssl:openssl curl:curl taskset:util-linux; do
	command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if ((${#need[@]})); then
	log "installing from Debian: ${need[*]}"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=240 "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/fulcrum-tlsbench.XXXXXX)
mkdir -p "$OUT_DIR" "$work/raw"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ ${KEEP:-0} == 1 ]]; then echo "bench/tls.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# wait_port PORT PID: up to 10 s for PORT to accept while PID lives.
wait_port() {
	for _ in $(seq 100); do
		kill -0 "$2" 2>/dev/null || return 1
		port_open "$1" && return 0
		sleep 0.1
	done
	return 1
}
# cpu_ticks PID: utime+stime of the whole process, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
TICKS=$(getconf CLK_TCK)

# Ports: the backend; per proxy a listener with session resumption (the
# keep-alive and resumed-handshake runs) and one without (full handshakes);
# HAProxy's stats socket.
BACKEND=$((BASE_PORT + 1))
declare -A PORT=([fulcrum]=$((BASE_PORT + 2)) [haproxy]=$((BASE_PORT + 3))) PID=()
declare -A FULLPORT=([fulcrum]=$((BASE_PORT + 4)) [haproxy]=$((BASE_PORT + 5)))
STATS=$((BASE_PORT + 6))
for p in $BACKEND "${PORT[@]}" "${FULLPORT[@]}" $STATS; do
	if port_open "$p"; then
		echo "bench/tls.sh: port $p on 127.0.0.1 is in use (set BASE_PORT)" >&2
		exit 1
	fi
done

# --- fulcrum: the working tree, or the last commit when it does not build ---
log "building fulcrum"
FULCRUM_VERSION="$(git describe --always --dirty 2>/dev/null || echo '?')"
if ! go build -o "$work/fulcrum" ./cmd/fulcrum 2>"$work/build.log"; then
	log "the working tree does not build; benchmarking the last commit"
	mkdir -p "$work/src"
	git archive HEAD | tar -x -C "$work/src"
	(cd "$work/src" && go build -o "$work/fulcrum" ./cmd/fulcrum)
	FULCRUM_VERSION="$(git rev-parse --short HEAD) (the last commit: the working tree did not build)"
fi

# --- the certificate: ECDSA P-256, self-signed -------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=bench.test -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" >"$work/combined.pem"

# --- the backend: nginx, one process, 100-byte body, CPU 1 --------------------
mkdir -p "$work/nginx"
BODY=$(printf 'fulcrum tls bench body %.0s' $(seq 5))
cat >"$work/nginx/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 16384; }
http {
	access_log off;
	keepalive_timeout 75s;
	keepalive_requests 100000000;
	client_body_temp_path $work/nginx;
	proxy_temp_path $work/nginx;
	fastcgi_temp_path $work/nginx;
	uwsgi_temp_path $work/nginx;
	scgi_temp_path $work/nginx;
	server {
		listen 127.0.0.1:$BACKEND backlog=4096;
		location = / { default_type text/plain; return 200 "${BODY:0:99}\n"; }
	}
}
EOF
taskset -c 1 nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" &
pids+=($!)
wait_port $BACKEND $! || { cat "$work/nginx/error.log" >&2; exit 1; }

# --- the two proxies: TLS 1.3 only, ALPN h2 and http/1.1, CPU 0 ---------------
# passive: {fall: 0}: fulcrum's passive check counts HTTP/2 streams that the
# client cancels (h2load closing its connections at the end of a run) as
# server failures and would eject the only server for 10 s, so that the
# next run measured 503s. HAProxy has no passive check here either.
cat >"$work/fulcrum.yaml" <<EOF
global: {threads: 1, timeout_shutdown: 1s, access_log: "off"}
defaults: {mode: http, timeout_connect: 5s, timeout_client: 30s, timeout_server: 30s}
frontend:
  - name: tls
    bind: [{addr_port: "127.0.0.1:${PORT[fulcrum]}"}]
    ssl: {cert: $work/cert.pem, key: $work/key.pem, versions: [TLSv1.3], alpn: [h2, http/1.1]}
    use_backend: web
  - name: tls_full
    bind: [{addr_port: "127.0.0.1:${FULLPORT[fulcrum]}"}]
    ssl: {cert: $work/cert.pem, key: $work/key.pem, versions: [TLSv1.3], alpn: [h2, http/1.1], session_tickets: false}
    use_backend: web
backend:
  - name: web
    passive: {fall: 0}
    servers: [{name: a, addr_port: "127.0.0.1:$BACKEND"}]
EOF
# The TLS 1.3 suites in Go's order, so both negotiate TLS_AES_128_GCM_SHA256
# (OpenSSL's default puts AES-256 first). tune.ssl.cachesize 0 and
# no-tls-tickets turn resumption off on the second listener.
cat >"$work/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn 4000
	tune.ssl.cachesize 0
	ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
	stats socket ipv4@127.0.0.1:$STATS level user
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	timeout http-keep-alive 30s
frontend tls
	bind 127.0.0.1:${PORT[haproxy]} ssl crt $work/combined.pem ssl-min-ver TLSv1.3 alpn h2,http/1.1
	bind 127.0.0.1:${FULLPORT[haproxy]} ssl crt $work/combined.pem ssl-min-ver TLSv1.3 alpn h2,http/1.1 no-tls-tickets
	default_backend web
backend web
	http-reuse always
	server a 127.0.0.1:$BACKEND
EOF
GOMAXPROCS=1 taskset -c 0 "$work/fulcrum" run -c "$work/fulcrum.yaml" --log-level warn >"$work/fulcrum.log" 2>&1 &
PID[fulcrum]=$!
pids+=($!)
taskset -c 0 haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
PID[haproxy]=$!
pids+=($!)
for t in fulcrum haproxy; do
	for p in "${PORT[$t]}" "${FULLPORT[$t]}"; do
		if ! wait_port "$p" "${PID[$t]}" || ! curl -sfk --max-time 3 -o /dev/null "https://127.0.0.1:$p/"; then
			tail -5 "$work/$t.log" >&2
			echo "bench/tls.sh: $t does not answer over TLS on $p" >&2
			exit 1
		fi
	done
done

# resumes PORT: "yes" when openssl s_client resumes a TLS 1.3 session from a
# ticket of an earlier connection (one request is made first, so that the
# ticket has arrived).
resumes() {
	local sess=$work/sess-$1.pem
	printf 'GET / HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n' |
		timeout 5 openssl s_client -connect "127.0.0.1:$1" -ign_eof -sess_out "$sess" >/dev/null 2>&1 || true
	if [[ -s $sess ]] && timeout 5 openssl s_client -connect "127.0.0.1:$1" -sess_in "$sess" </dev/null 2>/dev/null | grep -q '^Reused, TLSv1.3'; then
		echo yes
	else
		echo no
	fi
}
declare -A RESUMES=()
for t in fulcrum haproxy; do
	RESUMES[$t]="$(resumes "${PORT[$t]}") / $(resumes "${FULLPORT[$t]}")"
done
log "openssl s_client resumes (resumption listener / full-handshake listener): fulcrum ${RESUMES[fulcrum]}, HAProxy ${RESUMES[haproxy]}"

# haproxy_info FIELD: one field of HAProxy's "show info".
haproxy_info() {
	local out
	out=$(exec 3<>"/dev/tcp/127.0.0.1/$STATS" && echo "show info" >&3 && timeout 3 cat <&3) || true
	awk -F': ' -v f="$1" '$1 == f {print $2}' <<<"$out"
}

# h2load_args SCENARIO: the load of one run.
HS_N=$((CONNS * 40)) # replaced by the calibration below
h2load_args() {
	case $1 in
	https-h1) echo "--h1 -c $CONNS -D $SECS --warm-up-time 1" ;;
	https-h2) echo "-c $CONNS -m 10 -D $SECS --warm-up-time 1" ;;
	# h2load does not end a timed (-D) run whose server closes connections,
	# so these are counted: HS_N requests, each on a new connection.
	full-hs | resumed-hs) echo "--h1 -c $CONNS -n $HS_N -H Connection:close" ;;
	esac
}

# run T SCENARIO: one h2load run; appends "T SCENARIO req/s cpu% ok" to the
# results, ok being 0 when a request failed or was not answered 2xx.
run() {
	local t=$1 s=$2 port=${PORT[$1]} raw t0 t1 c0 c1 rps cpu ok=1 reuse=''
	[[ $s != full-hs ]] || port=${FULLPORT[$t]}
	raw=$work/raw/$t-$s-$r.txt
	c0=$(cpu_ticks "${PID[$t]}")
	t0=$(date +%s%N)
	# shellcheck disable=SC2046
	timeout $((SECS + 60)) taskset -c 1 h2load -t 1 $(h2load_args "$s") "https://127.0.0.1:$port/" >"$raw" 2>&1 &
	local hp=$!
	if [[ $t == haproxy && $s == *-hs ]]; then
		# HAProxy's instantaneous rates, read mid-run: the share of
		# handshakes that resumed a session.
		sleep 1
		reuse=$(haproxy_info SslFrontendSessionReuse_pct)
		echo "$s $reuse" >>"$work/reuse.txt"
	fi
	wait $hp || true
	t1=$(date +%s%N)
	c1=$(cpu_ticks "${PID[$t]}")
	rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' "$raw")
	# Every status 2xx (h2load may count one more 2xx than requests done,
	# a warm-up straggler), none failed.
	local all2xx
	all2xx=$(awk '/^status codes:/ {print ($3 > 0 && $5 + $7 + $9 == 0) ? 1 : 0}' "$raw")
	if [[ -z $rps || $all2xx != 1 ]] || ! grep -q ' 0 failed, 0 errored, 0 timeout' "$raw"; then
		ok=0
		log "$t $s: not every request answered 2xx:"
		grep -E '^(finished|requests|status)' "$raw" >&2 || tail -3 "$raw" >&2
	fi
	# The proxy's CPU over the whole run (warm-up included), in % of a core.
	cpu=$(awk -v c=$((c1 - c0)) -v hz="$TICKS" -v ns=$((t1 - t0)) 'BEGIN {printf "%.0f", 100 * c / hz / (ns / 1e9)}')
	# CPU per request, in µs: the CPU share over the run divided by the rate
	# (warm-up and measured period alike at a steady state).
	local us
	us=$(awk -v c="$cpu" -v r="${rps:-0}" 'BEGIN {printf "%.0f", (r > 0 ? c / 100 * 1e6 / r : 0)}')
	echo "$t $s ${rps:-0} $cpu $ok $us" >>"$work/results.txt"
	log "round $r: $t $s ${rps:-0} req/s, proxy CPU $cpu % ($us µs/request)${reuse:+, HAProxy session reuse $reuse %}"
}

# Calibration: HS_N so that a handshake run of the faster proxy lasts about
# SECS seconds (a multiple of the connection count), the same for both.
r=0
HS_N=$((CONNS * 20))
best=0
for t in fulcrum haproxy; do
	# shellcheck disable=SC2046
	timeout 60 taskset -c 1 h2load -t 1 $(h2load_args full-hs) "https://127.0.0.1:${FULLPORT[$t]}/" >"$work/raw/calibrate-$t.txt" 2>&1 || true
	rate=$(awk '/^finished in/ {gsub(",", "", $4); printf "%.0f", $4}' "$work/raw/calibrate-$t.txt")
	((${rate:-0} > best)) && best=$rate
done
HS_N=$(((best * SECS / CONNS + 1) * CONNS))
log "calibrated: $HS_N requests per handshake run (the faster proxy did $best full handshakes/s)"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$work/results.txt"
: >"$work/reuse.txt"
SCENARIOS=(https-h1 https-h2 full-hs resumed-hs)
for r in $(seq "$ROUNDS"); do
	for s in "${SCENARIOS[@]}"; do
		if ((r % 2)); then order=(fulcrum haproxy); else order=(haproxy fulcrum); fi
		for t in "${order[@]}"; do run "$t" "$s"; done
	done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
for t in fulcrum haproxy; do
	kill -0 "${PID[$t]}" 2>/dev/null || { echo "bench/tls.sh: $t died during the run" >&2; tail "$work/$t.log" >&2; exit 1; }
done

# --- the report -------------------------------------------------------------
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
range() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.0f–%.0f", lo, hi}'; }
col() { awk -v t="$1" -v s="$2" -v c="$3" '$1 == t && $2 == s {print $c}' "$work/results.txt"; }
negotiated() {
	sed -n 's/^TLS Protocol: \(\S*\)$/\1/p; s/^Cipher: \(\S*\)$/\1/p; s/^Server Temp Key: \(.*\)$/\1/p' "$work/raw/$1-https-h1-1.txt" | paste -sd' '
}
declare -A NAME=([https-h1]="HTTPS keep-alive, HTTP/1.1, 64 conns (req/s)"
	[https-h2]="HTTP/2 over TLS, 64 conns × 10 streams (req/s)"
	[full-hs]="full TLS 1.3 handshakes, one request each (handshakes/s)"
	[resumed-hs]="resumed TLS 1.3 handshakes, one request each (handshakes/s)")
bad=$(awk '$5 == 0' "$work/results.txt" | wc -l)
out=$OUT_DIR/tls-$(date +%F).md
{
	echo "# TLS termination: fulcrum and HAProxy, $(date +%F)"
	echo
	echo "\`bench/tls.sh $ROUNDS $SECS\`: $ROUNDS rounds; keep-alive runs last ${SECS} s after a 1 s warm-up, handshake runs $HS_N requests (calibrated to about ${SECS} s for the faster proxy); within each scenario the two proxies alternate, and their order swaps from round to round."
	echo
	# shellcheck disable=SC1091
	echo "Machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r). **The machine was shared** with other builds and tests while this ran (load average $LOAD_START at the start, $LOAD_END at the end): take differences under about 15 % as noise."
	echo
	echo "Versions: fulcrum $FULCRUM_VERSION ($(go version | awk '{print $3}')), HAProxy $(haproxy -v | awk 'NR==1 {print $3}') with $(haproxy -vv | sed -n 's/^Running on OpenSSL version : //p'), h2load $(h2load --version | awk '{print $2}'), nginx $(nginx -v 2>&1 | sed 's|.*nginx/||')."
	echo
	echo "Set-up: each proxy runs one thread (fulcrum \`threads: 1\`, HAProxy \`nbthread 1\`) pinned to CPU 0, TLS 1.3 only, ALPN h2 and http/1.1, the same self-signed ECDSA P-256 certificate, no logging, keep-alive to one nginx backend (plain HTTP, 100-byte body) that shares CPU 1 with h2load (1 thread). Negotiated (h2load): fulcrum $(negotiated fulcrum); HAProxy $(negotiated haproxy)."
	echo
	echo "| scenario | fulcrum median | min–max | HAProxy median | min–max | fulcrum / HAProxy | proxy CPU %, fulcrum / HAProxy | proxy CPU µs per request, fulcrum / HAProxy |"
	echo "|---|---|---|---|---|---|---|---|"
	for s in "${SCENARIOS[@]}"; do
		fm=$(col fulcrum "$s" 3 | median) hm=$(col haproxy "$s" 3 | median)
		printf '| %s | %.0f | %s | %.0f | %s | %s | %s / %s | %s / %s |\n' "${NAME[$s]}" "$fm" "$(col fulcrum "$s" 3 | range)" "$hm" \
			"$(col haproxy "$s" 3 | range)" "$(awk -v a="$fm" -v b="$hm" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')" \
			"$(col fulcrum "$s" 4 | median)" "$(col haproxy "$s" 4 | median)" "$(col fulcrum "$s" 6 | median)" "$(col haproxy "$s" 6 | median)"
	done
	echo
	if ((bad)); then
		echo "**$bad run(s) had requests that failed or were not answered 2xx**; their figures are in the table anyway (\`KEEP=1\` keeps the raw outputs)."
	else
		echo "Every request of every run was answered 2xx."
	fi
	echo
	echo "How handshakes are measured: h2load sends \`Connection: close\` on HTTP/1.1, so each answer ends its connection and h2load opens a new one for its next request, 64 connections at a time, until $HS_N requests are done; requests/s is then new TLS connections per second, each with one proxied request, the TCP set-up and the close included. h2load resumes the TLS session of its previous connection when the server allows it, so the *full* handshakes go to a second listener of each proxy with resumption off (fulcrum \`session_tickets: false\`; HAProxy \`no-tls-tickets\` and \`tune.ssl.cachesize 0\`): every connection then costs the proxy an X25519 key exchange and an ECDSA P-256 signature. The *resumed* ones go to the listeners with resumption on (PSK with X25519, no signature). Checked: openssl s_client resumes a session (listener with resumption / without): fulcrum ${RESUMES[fulcrum]}, HAProxy ${RESUMES[haproxy]}; HAProxy's own counters read mid-run gave session reuse of $(awk '$1 == "full-hs" {print $2 " %"}' "$work/reuse.txt" | paste -sd, | sed 's/,/, /g') in the full-handshake runs and $(awk '$1 == "resumed-hs" {print $2 " %"}' "$work/reuse.txt" | paste -sd, | sed 's/,/, /g') in the resumed ones."
	echo
	echo "Proxy CPU % is the proxy process's user+system time over the run (warm-up included) in % of one core: near 100 the proxy is the bottleneck; well below, the load generator and the backend sharing CPU 1 are (a TLS client spends more on a full handshake than the server: it verifies the ECDSA signature the server makes), and then the req/s ratio says little: compare the proxies' CPU per request instead (CPU share over the run ÷ rate, medians), which does not depend on who the bottleneck is. fulcrum's backend has \`passive: {fall: 0}\`: its passive check counts HTTP/2 streams that the client cancels as server failures (h2load cancels its in-flight streams when a run ends) and would eject the only server for 10 s, so that the next runs measured 503 answers."
} >"$out"
cat "$out"
log "wrote $out"
