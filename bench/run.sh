#!/usr/bin/env bash
# Side-by-side HTTP benchmark: direct, nginx, HAProxy, Caddy, fulcrum (http
# mode when this build has it, and tcp mode as a lower bound) in front of two
# nginx backends on loopback. Every proxy runs one worker/thread pinned to
# CPU 0; the backends and the load generator are pinned to CPU 1.
#
#   bench/run.sh             3 rounds: 10 s keep-alive runs, 5 s other runs (~11 min)
#   QUICK=1 bench/run.sh     1 round of 3 s runs (~1.5 min smoke run)
#
# Writes bench/results/YYYY-MM-DD.{md,png,tsv} and prints the tables.
# Environment:
#   ROUNDS, KA_SECS, SECS  round count, keep-alive run length, other run length
#   IDLE_CONNS (10000)     idle connections of the memory scenario
#   IDLE_CONNS_TCP (3000)  the same for fulcrum tcp, which holds a backend
#                          connection and two splice pipes (6 fds) per client
#                          connection, under a 20000-fd limit
#   OUT_DIR (bench/results), BASE_PORT (25310)  where results and ports go
#   MAX_SECS (840)         no round starts that would end after this
#   KEEP=1                 keep the temporary folder (configs, logs, raw wrk output)
# Installs what it needs from Debian when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
	ROUNDS=${ROUNDS:-1} KA_SECS=${KA_SECS:-3} SECS=${SECS:-3}
else
	ROUNDS=${ROUNDS:-3} KA_SECS=${KA_SECS:-10} SECS=${SECS:-5}
fi
IDLE_CONNS=${IDLE_CONNS:-10000}
IDLE_CONNS_TCP=${IDLE_CONNS_TCP:-3000}
OUT_DIR=${OUT_DIR:-bench/results}
BASE_PORT=${BASE_PORT:-25310}
MAX_SECS=${MAX_SECS:-840}
DATE=$(date +%F)
STARTED=$(date +%s)

log() { printf '[%4ds] %s\n' $(($(date +%s) - STARTED)) "$*" >&2; }

# --- 1. what it needs from Debian --------------------------------------------
install_missing() {
	local need=() pair cmd pkg
	for pair in nginx:nginx haproxy:haproxy wrk:wrk h2load:nghttp2-client iperf3:iperf3 curl:curl taskset:util-linux; do
		cmd=${pair%%:*} pkg=${pair#*:}
		command -v "$cmd" >/dev/null || need+=("$pkg")
	done
	local want_caddy=0 cand
	command -v caddy >/dev/null || want_caddy=1
	((${#need[@]} + want_caddy)) || return 0
	log "installing from Debian: ${need[*]}$( ((want_caddy)) && echo ' caddy (if Debian has it)')"
	apt-get update -q >/dev/null
	if ((want_caddy)); then
		cand=$(apt-cache policy caddy 2>/dev/null | awk '/Candidate:/ {print $2}')
		if [[ -n $cand && $cand != "(none)" ]]; then
			need+=(caddy)
		else
			log "Debian has no caddy package here: Caddy is left out"
		fi
	fi
	((${#need[@]})) || return 0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=240 "${need[@]}" >/dev/null
}
install_missing

work=$(mktemp -d /tmp/fulcrum-bench.XXXXXX)
mkdir -p "$work/raw" "$OUT_DIR"
pids=()     # every process this script started, killed by PID on exit
declare -A PID=() PORT=() NA=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "bench/run.sh: kept the configs, logs and raw wrk outputs in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID: TERM, up to 5 s, then KILL.
stop() {
	local p=$1
	kill "$p" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

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

# probe PORT PATH: one request must answer 200.
probe() { curl -sf -o /dev/null --max-time 3 "http://127.0.0.1:$1$2"; }

# cpu_ticks PID: utime+stime of the whole process, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }

# --- ports and the binaries -------------------------------------------------
BACK_A=$((BASE_PORT + 1)) BACK_B=$((BASE_PORT + 2))
PORT[direct]=$BACK_A
PORT[nginx]=$((BASE_PORT + 10))
PORT[haproxy]=$((BASE_PORT + 11))
PORT[caddy]=$((BASE_PORT + 12))
PORT[fulcrum-http]=$((BASE_PORT + 13))
PORT[fulcrum-tcp]=$((BASE_PORT + 14))
ALL_TARGETS=(direct nginx haproxy caddy fulcrum-http fulcrum-tcp)
for p in $BACK_A $BACK_B "${PORT[@]}"; do
	if port_open "$p"; then
		echo "bench/run.sh: port $p on 127.0.0.1 is already in use (set BASE_PORT)" >&2
		exit 1
	fi
done

log "building fulcrum and the helpers"
bin=$work/bin
mkdir -p "$bin"
go build -o "$bin/report" ./bench/cmd/report
go build -o "$bin/idleconns" ./bench/cmd/idleconns
# The working tree first; when a change under way keeps it from building,
# the last commit.
FULCRUM_VERSION="$(git describe --always --dirty 2>/dev/null || echo '?')"
if ! go build -o "$bin/fulcrum" ./cmd/fulcrum 2>"$work/fulcrum-build.log"; then
	log "fulcrum does not build from the working tree: building the last commit instead"
	sed 's/^/    /' "$work/fulcrum-build.log" | head -5 >&2
	mkdir -p "$work/src"
	git archive HEAD | tar -x -C "$work/src"
	if (cd "$work/src" && go build -o "$bin/fulcrum" ./cmd/fulcrum) 2>"$work/fulcrum-build-head.log"; then
		FULCRUM_VERSION="$(git rev-parse --short HEAD) (the last commit: the working tree did not build)"
	else
		NA[fulcrum-http]="neither the working tree nor the last commit builds: $(head -c 300 "$work/fulcrum-build-head.log" | tr '\n' ' ')"
		NA[fulcrum-tcp]=${NA[fulcrum-http]}
	fi
fi
command -v caddy >/dev/null || NA[caddy]="no caddy package on this machine"

# --- 2. the backends --------------------------------------------------------
# nginx_common: the parts every nginx here shares; one process, no master.
nginx_common() {
	cat <<EOF
master_process off;
daemon off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 16384; }
EOF
}
nginx_http_common() {
	cat <<EOF
	access_log off;
	keepalive_timeout 75s;
	keepalive_requests 100000000;
	client_body_temp_path $1/tmp;
	proxy_temp_path $1/tmp;
	fastcgi_temp_path $1/tmp;
	uwsgi_temp_path $1/tmp;
	scgi_temp_path $1/tmp;
EOF
}

BODY=$(printf 'fulcrum bench body %.0s' $(seq 6)) # cut to 99 bytes + "\n" below
start_backend() { # NAME PORT
	local d=$work/$1
	mkdir -p "$d/www" "$d/tmp"
	head -c $((1 << 20)) /dev/zero >"$d/www/1m.bin"
	{
		nginx_common "$d"
		echo "http {"
		nginx_http_common "$d"
		cat <<EOF
	sendfile on;
	tcp_nopush on;
	server {
		listen 127.0.0.1:$2 backlog=4096;
		location = / { default_type text/plain; return 200 "${BODY:0:99}\n"; }
		location = /1m.bin { root $d/www; default_type application/octet-stream; }
	}
}
EOF
	} >"$d/nginx.conf"
	taskset -c 1 nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" &
	pids+=($!)
	wait_port "$2" $! || { cat "$d/error.log" >&2; echo "backend $1 did not start" >&2; exit 1; }
}
log "starting the backends on 127.0.0.1:$BACK_A and :$BACK_B"
start_backend backend-a "$BACK_A"
start_backend backend-b "$BACK_B"
if ! probe "$BACK_A" / || ! probe "$BACK_B" /1m.bin; then
	echo "the backends do not answer" >&2
	exit 1
fi

# --- 3. the proxies ---------------------------------------------------------
write_configs() {
	local d=$work/nginx-proxy
	mkdir -p "$d/tmp"
	{
		nginx_common "$d"
		echo "http {"
		nginx_http_common "$d"
		cat <<EOF
	upstream be {
		server 127.0.0.1:$BACK_A;
		server 127.0.0.1:$BACK_B;
		keepalive 64;
		keepalive_requests 100000000;
	}
	server {
		listen 127.0.0.1:${PORT[nginx]} backlog=4096;
		location / {
			proxy_pass http://be;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_max_temp_file_size 0;
		}
	}
}
EOF
	} >"$d/nginx.conf"

	cat >"$work/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn 12000
	# 12000 connections would need 24000 fds in the worst case; the hard
	# limit here is 20000, which the idle scenario's 10000 fit in.
	ulimit-n 20000
	no strict-limits
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	timeout http-keep-alive 30s
frontend bench
	bind 127.0.0.1:${PORT[haproxy]}
	default_backend web
backend web
	balance roundrobin
	http-reuse always
	server a 127.0.0.1:$BACK_A
	server b 127.0.0.1:$BACK_B
EOF

	mkdir -p "$work/caddy"
	cat >"$work/caddy/Caddyfile" <<EOF
{
	admin off
	auto_https off
}
http://127.0.0.1:${PORT[caddy]} {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$BACK_A 127.0.0.1:$BACK_B {
		lb_policy round_robin
		transport http {
			keepalive 75s
			keepalive_idle_conns 64
			keepalive_idle_conns_per_host 64
		}
	}
}
EOF

	# Like the other proxies, fulcrum http runs without an access log; its
	# other defaults stay (request IDs, X-Forwarded-*, 64 idle connections
	# per server).
	local mode extra
	for mode in http tcp; do
		extra=''
		[[ $mode == tcp ]] || extra=', access_log: "off"'
		cat >"$work/fulcrum-$mode.yaml" <<EOF
global: {threads: 1, timeout_shutdown: 1s$extra}
defaults: {mode: $mode, timeout_connect: 5s, timeout_client: 30s, timeout_server: 30s}
frontend:
  - name: bench
    bind: [{addr_port: "127.0.0.1:${PORT[fulcrum-$mode]}"}]
    use_backend: web
backend:
  - name: web
    balance: roundrobin
    servers:
      - {name: a, addr_port: "127.0.0.1:$BACK_A"}
      - {name: b, addr_port: "127.0.0.1:$BACK_B"}
EOF
	done
}
write_configs

# start_target T: starts the proxy T pinned to CPU 0 and sets PID[T]; fails
# with its log on stderr when it does not come up and answer.
start_target() {
	local t=$1 log=$work/$1.log p
	case $t in
	direct) return 0 ;;
	nginx) taskset -c 0 nginx -p "$work/nginx-proxy" -e "$work/nginx-proxy/error.log" -c "$work/nginx-proxy/nginx.conf" >"$log" 2>&1 & ;;
	haproxy) taskset -c 0 haproxy -db -f "$work/haproxy.cfg" >"$log" 2>&1 & ;;
	caddy) GOMAXPROCS=1 XDG_CONFIG_HOME=$work/caddy XDG_DATA_HOME=$work/caddy HOME=$work/caddy \
		taskset -c 0 caddy run --config "$work/caddy/Caddyfile" --adapter caddyfile >"$log" 2>&1 & ;;
	fulcrum-http | fulcrum-tcp) GOMAXPROCS=1 taskset -c 0 "$bin/fulcrum" run -c "$work/$t.yaml" --log-level warn >"$log" 2>&1 & ;;
	esac
	p=$!
	pids+=("$p")
	PID[$t]=$p
	if wait_port "${PORT[$t]}" "$p" && probe "${PORT[$t]}" /; then
		return 0
	fi
	stop "$p"
	unset "PID[$t]"
	if [[ $t == nginx ]]; then log=$work/nginx-proxy/error.log; fi
	tail -5 "$log" >&2
	return 1
}

# fulcrum http is tried once: this build may not have http mode yet.
if [[ -z ${NA[fulcrum-http]:-} ]]; then
	if start_target fulcrum-http 2>/dev/null; then
		stop "${PID[fulcrum-http]}"
		log "fulcrum http mode works: measuring it"
	elif grep -qi "not supported" "$work/fulcrum-http.log"; then
		NA[fulcrum-http]="this build refuses mode http: $(grep -io 'mode http is not supported[^"]*' "$work/fulcrum-http.log" | head -1)"
		log "fulcrum http: n/a (${NA[fulcrum-http]})"
	else
		NA[fulcrum-http]="fulcrum run with an http frontend did not answer: $(tail -c 300 "$work/fulcrum-http.log" | tr '\n' ' ')"
		log "fulcrum http: n/a (${NA[fulcrum-http]})"
	fi
fi

TARGETS=()
for t in "${ALL_TARGETS[@]}"; do
	[[ -n ${NA[$t]:-} ]] || TARGETS+=("$t")
done
PROXIES=("${TARGETS[@]:1}")

# --- machine and settings ---------------------------------------------------
machine=$work/machine.md
{
	echo "$DATE. $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), $(go version | awk '{print $3}')."
	echo
	echo "Versions: nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), HAProxy $(haproxy -v | awk 'NR==1 {print $3}'), Caddy $(command -v caddy >/dev/null && caddy version | awk '{print $1}' || echo 'not installed'), wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}'), fulcrum $FULCRUM_VERSION."
	echo
	if [[ $QUICK == 1 ]]; then
		echo "**QUICK smoke run**: $ROUNDS round(s), ${KA_SECS} s keep-alive runs and ${SECS} s other runs; single figures, not medians of several rounds."
	else
		echo "$ROUNDS rounds; ${KA_SECS} s keep-alive runs, ${SECS} s runs for the other scenarios."
	fi
	echo "Every proxy runs one worker/thread (nginx worker_processes 1 without a master, HAProxy nbthread 1, Caddy and fulcrum GOMAXPROCS=1), pinned with taskset to CPU 0; the two nginx backends and wrk (1 thread) share CPU 1. direct is wrk against one backend on CPU 1."
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	echo "Load average when the run started: $load."
} >"$machine"

round_est=$((${#TARGETS[@]} * (2 * KA_SECS + 2 * SECS + 4) + ${#PROXIES[@]} * 6))
est=$((ROUNDS * round_est))
log "targets: ${TARGETS[*]}; $ROUNDS round(s); about $((est / 60)) min $((est % 60)) s to go"

# --- 4. scenarios -----------------------------------------------------------
tsv=$work/results.tsv
printf 'round\tscenario\ttarget\trps\tp50_us\tp99_us\tmibps\trequests\terrors\tcpu_ticks\tconns\tfailed\trss_before_kb\trss_after_kb\tfds_before\tfds_after\n' >"$tsv"

# run_wrk ROUND SCENARIO TARGET CONNS SECS PATH [WRK ARGS...]
run_wrk() {
	local r=$1 sc=$2 t=$3 c=$4 d=$5 path=$6
	shift 6
	local raw=$work/raw/$r-$sc-$t.txt pid=${PID[$t]:-} t0='' t1='' ticks=- m
	[[ -n $pid ]] && t0=$(cpu_ticks "$pid")
	timeout $((d + 30)) taskset -c 1 wrk -t1 -c"$c" -d"${d}s" --latency "$@" "http://127.0.0.1:${PORT[$t]}$path" >"$raw" 2>&1 || true
	[[ -n $pid ]] && t1=$(cpu_ticks "$pid")
	[[ -n $t0 && -n $t1 ]] && ticks=$((t1 - t0))
	if m=$("$bin/report" wrk "$raw" 2>"$raw.err"); then
		log "round $r $sc $t: $(awk -F'\t' -v sc="$sc" '{ if (sc == "1m") printf "%.0f MiB/s", $4; else printf "%.0f req/s", $1; printf ", p99 %.0f µs, errors %d", $3, $6 }' <<<"$m")"
	else
		log "round $r $sc $t: no result: $(cat "$raw.err") $(head -c 200 "$raw" | tr '\n' ' ')"
		m=$'-\t-\t-\t-\t-\t-'
	fi
	printf '%s\t%s\t%s\t%s\t%s\t-\t-\t-\t-\t-\t-\n' "$r" "$sc" "$t" "$m" "$ticks" >>"$tsv"
}

# run_idle ROUND TARGET: RSS of the proxy around N idle keep-alive connections.
run_idle() {
	local r=$1 t=$2 n=$IDLE_CONNS out
	[[ $t == fulcrum-tcp ]] && n=$IDLE_CONNS_TCP
	if out=$(timeout 120 taskset -c 1 "$bin/idleconns" -addr "127.0.0.1:${PORT[$t]}" -n "$n" -pid "${PID[$t]}" 2>"$work/idle.err"); then
		local conns failed before after fds0 fds1
		read -r conns failed before after fds0 fds1 <<<"$out"
		log "round $r idle $t: $conns connections, RSS $before → $after KiB, $fds0 → $fds1 fds ($(awk -v a="$after" -v b="$before" -v n="$conns" 'BEGIN {printf "%.1f", (a-b)/n}') KiB each)"
		printf '%s\tidle\t%s\t-\t-\t-\t-\t-\t-\t-\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$t" "$conns" "$failed" "$before" "$after" "$fds0" "$fds1" >>"$tsv"
	else
		log "round $r idle $t: failed: $(tail -c 300 "$work/idle.err")"
		printf '%s\tidle\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n' "$r" "$t" >>"$tsv"
	fi
	[[ ! -s $work/idle.err ]] || sed 's/^/    /' "$work/idle.err" >&2
	sleep 1 # let the proxy close them
}

for r in $(seq "$ROUNDS"); do
	if ((r > 1 && $(date +%s) - STARTED + round_est > MAX_SECS)); then
		log "round $r would end past MAX_SECS=$MAX_SECS s: stopping after $((r - 1)) round(s)"
		break
	fi
	# Fresh proxies every round, so that the memory scenario sees a process
	# that has not served a load yet.
	up=(direct)
	for t in "${PROXIES[@]}"; do
		if start_target "$t"; then
			up+=("$t")
		else
			log "round $r: $t did not start; it is left out of this round"
		fi
	done
	for t in "${up[@]:1}"; do run_idle "$r" "$t"; done
	for t in "${up[@]}"; do # warm-up, not recorded
		timeout 20 taskset -c 1 wrk -t1 -c64 -d1s "http://127.0.0.1:${PORT[$t]}/" >/dev/null 2>&1 || true
	done
	for t in "${up[@]}"; do run_wrk "$r" ka64 "$t" 64 "$KA_SECS" /; done
	for t in "${up[@]}"; do run_wrk "$r" ka256 "$t" 256 "$KA_SECS" /; done
	for t in "${up[@]}"; do run_wrk "$r" close32 "$t" 32 "$SECS" / -H "Connection: close"; done
	for t in "${up[@]}"; do run_wrk "$r" 1m "$t" 16 "$SECS" /1m.bin; done
	for t in "${up[@]:1}"; do
		stop "${PID[$t]}"
		unset "PID[$t]"
	done
done

# --- 5. the report ----------------------------------------------------------
echo "Load average when it ended: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes the figures noisier)." >>"$machine"
na_args=()
for t in "${ALL_TARGETS[@]}"; do
	[[ -z ${NA[$t]:-} ]] || na_args+=(-na "$t=${NA[$t]}")
done
cp "$tsv" "$OUT_DIR/$DATE.tsv"
echo
"$bin/report" table -in "$tsv" -machine "$machine" -clk "$(getconf CLK_TCK)" \
	-title "fulcrum HTTP benchmark, $DATE$([[ $QUICK == 1 ]] && echo ' (QUICK)')" \
	-md "$OUT_DIR/$DATE.md" -png "$OUT_DIR/$DATE.png" "${na_args[@]}"
log "wrote $OUT_DIR/$DATE.md, $OUT_DIR/$DATE.png and $OUT_DIR/$DATE.tsv"
