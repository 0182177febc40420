#!/usr/bin/env bash
# Side-by-side benchmark of fulcrum and its peers, every scenario in one run:
# direct, nginx, HAProxy, Caddy and fulcrum (http mode when this build has
# it, and tcp mode) in front of two nginx backends and an iperf3 server on
# loopback. Every proxy runs one worker/thread pinned to CPU 0; the backends
# and the load generators (wrk, h2load, hsload, iperf3) are pinned to CPU 1.
#
#   bench/run.sh             3 rounds, 5 s keep-alive runs, 4 s other runs (~11 min)
#   QUICK=1 bench/run.sh     1 round of 2 s runs, fewer idle connections (~2 min smoke run)
#
# Scenarios, in the order of a round (SCENARIOS="..." runs some of them):
#   idle                     idle keep-alive connections: proxy RSS per connection
#   ka64 ka256 close32 1m    HTTP/1.1 with wrk: keep-alive at 64 and 256
#                            connections, a new connection per request, 1 MiB bodies
#   https h2                 TLS 1.3 with h2load: HTTPS keep-alive, HTTP/2 (10
#                            streams per connection)
#   fullhs resumehs          TLS 1.3 with bench/cmd/hsload: full and resumed
#                            handshakes, one request each
#   tcp                      one iperf3 stream through each proxy in tcp mode
#
# Writes bench/results/NAME.{md,png,tsv} (NAME is the date, YYYY-MM-DD) and
# prints the tables. Environment:
#   ROUNDS, KA_SECS, SECS  round count, keep-alive run length, other run length
#   IDLE_CONNS (10000)     idle connections of the memory scenario
#   IDLE_CONNS_TCP (3000)  the same for fulcrum tcp, which holds a backend
#                          connection (and at times splice pipes) per client
#                          connection, under a 20000-fd limit
#   SCENARIOS              a subset of the scenarios above (default: all)
#   RESULT_NAME            the result files' name (default: the date)
#   OUT_DIR (bench/results), BASE_PORT (25310)  where results and ports go
#   MAX_SECS (840)         no round starts that would end after this
#   KEEP=1                 keep the temporary folder (configs, logs, raw outputs)
# Installs what it needs from Debian when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
	ROUNDS=${ROUNDS:-1} KA_SECS=${KA_SECS:-2} SECS=${SECS:-2}
	IDLE_CONNS=${IDLE_CONNS:-2000} IDLE_CONNS_TCP=${IDLE_CONNS_TCP:-1000}
else
	ROUNDS=${ROUNDS:-3} KA_SECS=${KA_SECS:-5} SECS=${SECS:-4}
	IDLE_CONNS=${IDLE_CONNS:-10000} IDLE_CONNS_TCP=${IDLE_CONNS_TCP:-3000}
fi
ALL_SCENARIOS=(idle ka64 ka256 close32 1m https h2 fullhs resumehs tcp)
read -r -a SCENARIOS <<<"${SCENARIOS:-${ALL_SCENARIOS[*]}}"
OUT_DIR=${OUT_DIR:-bench/results}
BASE_PORT=${BASE_PORT:-25310}
MAX_SECS=${MAX_SECS:-840}
DATE=$(date +%F)
RESULT_NAME=${RESULT_NAME:-$DATE}
STARTED=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() { printf '[%4ds] %s\n' $(($(date +%s) - STARTED)) "$*" >&2; }

for s in "${SCENARIOS[@]}"; do
	if [[ " ${ALL_SCENARIOS[*]} " != *" $s "* ]]; then
		echo "bench/run.sh: unknown scenario $s (known: ${ALL_SCENARIOS[*]})" >&2
		exit 2
	fi
done
selected() { [[ " ${SCENARIOS[*]} " == *" $1 "* ]]; }

# --- 1. what it needs from Debian --------------------------------------------
# nginx_stream_module: the stream module's file when this nginx loads it
# as a dynamic module, "static" when it is built in, empty when it has none.
nginx_stream_module() {
	local v
	v=$(nginx -V 2>&1)
	if grep -Eq -- '--with-stream( |$)' <<<"$v"; then
		echo static
	elif grep -q -- '--with-stream=dynamic' <<<"$v"; then
		echo "$(sed -n 's/.*--modules-path=\([^ ]*\).*/\1/p' <<<"$v")/ngx_stream_module.so"
	fi
}

install_missing() {
	local need=() maybe=() pair cmd pkg cand mod
	for pair in nginx:nginx haproxy:haproxy wrk:wrk h2load:nghttp2-client iperf3:iperf3 \
		curl:curl openssl:openssl taskset:util-linux; do
		cmd=${pair%%:*} pkg=${pair#*:}
		command -v "$cmd" >/dev/null || need+=("$pkg")
	done
	# Caddy, and nginx's stream module, only where Debian has them.
	command -v caddy >/dev/null || maybe+=(caddy)
	if command -v nginx >/dev/null; then
		mod=$(nginx_stream_module)
		[[ -z $mod || $mod == static || -f $mod ]] || maybe+=(libnginx-mod-stream)
	else
		maybe+=(libnginx-mod-stream)
	fi
	((${#need[@]} + ${#maybe[@]})) || return 0
	log "installing from Debian: ${need[*]} ${maybe[*]}"
	apt-get update -q >/dev/null
	for pkg in "${maybe[@]}"; do
		cand=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
		if [[ -n $cand && $cand != "(none)" ]]; then
			need+=("$pkg")
		else
			log "Debian has no $pkg package here: left out"
		fi
	done
	((${#need[@]})) || return 0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=240 "${need[@]}" >/dev/null
}
install_missing

work=$(mktemp -d /tmp/fulcrum-bench.XXXXXX)
mkdir -p "$work/raw" "$OUT_DIR"
pids=()     # every process this script started, killed by PID on exit
declare -A PID=() NA=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "bench/run.sh: kept the configs, logs and raw outputs in $work" >&2
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

# probe URL: one request must answer 200 (any certificate).
probe() { curl -sfk -o /dev/null --max-time 3 "$1"; }

# cpu_ticks PID: utime+stime of the whole process, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }

# --- ports, targets and the binaries ----------------------------------------
# Per target: PORT plain HTTP, TLSPORT TLS with session resumption (HTTPS,
# HTTP/2, resumed handshakes), FULLPORT TLS without (full handshakes),
# TCPPORT tcp mode in front of iperf3.
BACK_A=$((BASE_PORT + 1)) BACK_B=$((BASE_PORT + 2)) IPERF=$((BASE_PORT + 3))
declare -A PORT=([direct]=$BACK_A [nginx]=$((BASE_PORT + 10)) [haproxy]=$((BASE_PORT + 11))
	[caddy]=$((BASE_PORT + 12)) [fulcrum-http]=$((BASE_PORT + 13)) [fulcrum-tcp]=$((BASE_PORT + 14)))
declare -A TLSPORT=([nginx]=$((BASE_PORT + 20)) [haproxy]=$((BASE_PORT + 21))
	[caddy]=$((BASE_PORT + 22)) [fulcrum-http]=$((BASE_PORT + 23)))
declare -A FULLPORT=([nginx]=$((BASE_PORT + 30)) [haproxy]=$((BASE_PORT + 31))
	[caddy]=$((BASE_PORT + 32)) [fulcrum-http]=$((BASE_PORT + 33)))
declare -A TCPPORT=([direct]=$IPERF [nginx]=$((BASE_PORT + 40)) [haproxy]=$((BASE_PORT + 41))
	[fulcrum-tcp]=$((BASE_PORT + 44)))
for p in $BACK_A $BACK_B $IPERF "${PORT[@]}" "${TLSPORT[@]}" "${FULLPORT[@]}" "${TCPPORT[@]}"; do
	if port_open "$p"; then
		echo "bench/run.sh: port $p on 127.0.0.1 is already in use (set BASE_PORT)" >&2
		exit 1
	fi
done

ALL_TARGETS=(direct nginx haproxy caddy fulcrum-http fulcrum-tcp)
HTTP_TARGETS="direct nginx haproxy caddy fulcrum-http fulcrum-tcp"
TLS_TARGETS="nginx haproxy caddy fulcrum-http"
declare -A SC_TARGETS=([idle]="nginx haproxy caddy fulcrum-http fulcrum-tcp"
	[ka64]=$HTTP_TARGETS [ka256]=$HTTP_TARGETS [close32]=$HTTP_TARGETS [1m]=$HTTP_TARGETS
	[https]=$TLS_TARGETS [h2]=$TLS_TARGETS [fullhs]=$TLS_TARGETS [resumehs]=$TLS_TARGETS
	[tcp]="direct nginx haproxy fulcrum-tcp")
# Targets not measured in one scenario, and why (NA is for all scenarios).
declare -A SNA=([tcp/caddy]="Caddy has no layer 4 proxy (that is the caddy-l4 plugin, not in Debian's caddy)")
NGINX_STREAM=$(nginx_stream_module)
if [[ -z $NGINX_STREAM || ($NGINX_STREAM != static && ! -f $NGINX_STREAM) ]]; then
	SNA[tcp/nginx]="this nginx has no stream module (Debian: libnginx-mod-stream)"
fi

log "building fulcrum and the helpers"
bin=$work/bin
mkdir -p "$bin"
go build -o "$bin/report" ./bench/cmd/report
go build -o "$bin/idleconns" ./bench/cmd/idleconns
go build -o "$bin/hsload" ./bench/cmd/hsload
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

# The certificate every TLS listener serves: ECDSA P-256, self-signed.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=bench.test -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" >"$work/combined.pem"
# The TLS 1.3 suites in Go's order, for nginx and HAProxy (OpenSSL's default
# puts AES-256 first), so that every proxy negotiates TLS_AES_128_GCM_SHA256.
SUITES=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256

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
	PID[$1]=$!
	wait_port "$2" $! || { cat "$d/error.log" >&2; echo "backend $1 did not start" >&2; exit 1; }
}
log "starting the backends on 127.0.0.1:$BACK_A and :$BACK_B, iperf3 on :$IPERF"
start_backend backend-a "$BACK_A"
start_backend backend-b "$BACK_B"
if ! probe "http://127.0.0.1:$BACK_A/" || ! probe "http://127.0.0.1:$BACK_B/1m.bin"; then
	echo "the backends do not answer" >&2
	exit 1
fi
taskset -c 1 iperf3 -s -B 127.0.0.1 -p "$IPERF" >"$work/iperf3-server.log" 2>&1 &
pids+=($!)
PID[iperf3-server]=$!
wait_port "$IPERF" $! || { cat "$work/iperf3-server.log" >&2; exit 1; }

# --- 3. the proxies ---------------------------------------------------------
write_configs() {
	local d=$work/nginx-proxy location
	mkdir -p "$d/tmp"
	location='location / {
			proxy_pass http://be;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_set_header X-Forwarded-Host $http_host;
			proxy_set_header X-Request-ID $request_id;
			proxy_max_temp_file_size 0;
		}'
	{
		case $NGINX_STREAM in
		static | '') ;;
		*) [[ ! -f $NGINX_STREAM ]] || echo "load_module $NGINX_STREAM;" ;;
		esac
		nginx_common "$d"
		echo "http {"
		nginx_http_common "$d"
		cat <<EOF
	ssl_certificate $work/cert.pem;
	ssl_certificate_key $work/key.pem;
	ssl_protocols TLSv1.3;
	ssl_conf_command Ciphersuites $SUITES;
	upstream be {
		server 127.0.0.1:$BACK_A;
		server 127.0.0.1:$BACK_B;
		keepalive 64;
		keepalive_requests 100000000;
	}
	server {
		listen 127.0.0.1:${PORT[nginx]} backlog=4096;
		$location
	}
	server {
		listen 127.0.0.1:${TLSPORT[nginx]} ssl http2 backlog=4096;
		$location
	}
	# Full handshakes: no session tickets, no session cache.
	server {
		listen 127.0.0.1:${FULLPORT[nginx]} ssl http2 backlog=4096;
		ssl_session_tickets off;
		ssl_session_cache off;
		$location
	}
}
EOF
		[[ -n ${SNA[tcp/nginx]:-} ]] || cat <<EOF
stream {
	server {
		listen 127.0.0.1:${TCPPORT[nginx]};
		proxy_pass 127.0.0.1:$IPERF;
	}
}
EOF
	} >"$d/nginx.conf"

	# tune.ssl.cachesize 0 and no-tls-tickets turn resumption off on the
	# full-handshake listener; the other resumes with tickets.
	cat >"$work/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn 12000
	# 12000 connections would need 24000 fds in the worst case; the hard
	# limit here is 20000, which the idle scenario's 10000 fit in.
	ulimit-n 20000
	no strict-limits
	tune.ssl.cachesize 0
	ssl-default-bind-ciphersuites $SUITES
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	timeout http-keep-alive 30s
frontend bench
	bind 127.0.0.1:${PORT[haproxy]}
	bind 127.0.0.1:${TLSPORT[haproxy]} ssl crt $work/combined.pem ssl-min-ver TLSv1.3 alpn h2,http/1.1
	bind 127.0.0.1:${FULLPORT[haproxy]} ssl crt $work/combined.pem ssl-min-ver TLSv1.3 alpn h2,http/1.1 no-tls-tickets
	# The request headers fulcrum adds by default, as in every proxy here.
	option forwardfor
	http-request set-header X-Forwarded-Proto https if { ssl_fc }
	http-request set-header X-Forwarded-Proto http unless { ssl_fc }
	http-request set-header X-Forwarded-Host %[req.hdr(host)]
	unique-id-format %{+X}o%ci%cp%Ts%rt%pid
	unique-id-header X-Request-ID
	default_backend web
backend web
	balance roundrobin
	http-reuse always
	server a 127.0.0.1:$BACK_A
	server b 127.0.0.1:$BACK_B
frontend tcp
	mode tcp
	bind 127.0.0.1:${TCPPORT[haproxy]}
	default_backend iperf
backend iperf
	mode tcp
	server iperf 127.0.0.1:$IPERF
EOF

	# Caddy: HTTP/3 off (h2load does not speak it); its session tickets
	# are a setting of the whole TLS app, so the full-handshake listener is
	# a second Caddy process with tickets off.
	mkdir -p "$work/caddy" "$work/caddy-full"
	local transport="transport http {
			keepalive 75s
			keepalive_idle_conns 64
			keepalive_idle_conns_per_host 64
		}"
	cat >"$work/caddy/Caddyfile" <<EOF
{
	admin off
	auto_https off
	servers {
		protocols h1 h2
	}
}
http://127.0.0.1:${PORT[caddy]} {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$BACK_A 127.0.0.1:$BACK_B {
		lb_policy round_robin
		header_up X-Request-ID {http.request.uuid}
		$transport
	}
}
https://:${TLSPORT[caddy]} {
	bind 127.0.0.1
	tls $work/cert.pem $work/key.pem {
		protocols tls1.3
	}
	reverse_proxy 127.0.0.1:$BACK_A 127.0.0.1:$BACK_B {
		lb_policy round_robin
		header_up X-Request-ID {http.request.uuid}
		$transport
	}
}
EOF
	cat >"$work/caddy-full/caddy.json" <<EOF
{
	"admin": {"disabled": true},
	"apps": {
		"http": {"servers": {"full": {
			"listen": ["127.0.0.1:${FULLPORT[caddy]}"],
			"protocols": ["h1", "h2"],
			"automatic_https": {"disable": true},
			"tls_connection_policies": [{"certificate_selection": {"any_tag": ["bench"]}, "protocol_min": "tls1.3"}],
			"routes": [{"handle": [{
				"handler": "reverse_proxy",
				"load_balancing": {"selection_policy": {"policy": "round_robin"}},
				"headers": {"request": {"set": {"X-Request-ID": ["{http.request.uuid}"]}}},
				"transport": {"protocol": "http", "keep_alive": {"max_idle_conns": 64, "max_idle_conns_per_host": 64}},
				"upstreams": [{"dial": "127.0.0.1:$BACK_A"}, {"dial": "127.0.0.1:$BACK_B"}]
			}]}]
		}}},
		"tls": {
			"session_tickets": {"disabled": true},
			"certificates": {"load_files": [{"certificate": "$work/cert.pem", "key": "$work/key.pem", "tags": ["bench"]}]}
		}
	}
}
EOF

	# Like the other proxies, fulcrum http runs without an access log; its
	# other defaults stay (request IDs, X-Forwarded-*, up to 1024 idle
	# connections per server).
	local tls="versions: [TLSv1.3], alpn: [h2, http/1.1]"
	cat >"$work/fulcrum-http.yaml" <<EOF
global: {threads: 1, timeout_shutdown: 1s, access_log: "off"}
defaults: {mode: http, timeout_connect: 5s, timeout_client: 30s, timeout_server: 30s}
frontend:
  - name: bench
    bind: [{addr_port: "127.0.0.1:${PORT[fulcrum-http]}"}]
    use_backend: web
  - name: tls
    bind: [{addr_port: "127.0.0.1:${TLSPORT[fulcrum-http]}"}]
    ssl: {cert: $work/cert.pem, key: $work/key.pem, $tls}
    use_backend: web
  - name: tls_full
    bind: [{addr_port: "127.0.0.1:${FULLPORT[fulcrum-http]}"}]
    ssl: {cert: $work/cert.pem, key: $work/key.pem, $tls, session_tickets: false}
    use_backend: web
backend:
  - name: web
    balance: roundrobin
    servers:
      - {name: a, addr_port: "127.0.0.1:$BACK_A"}
      - {name: b, addr_port: "127.0.0.1:$BACK_B"}
EOF
	cat >"$work/fulcrum-tcp.yaml" <<EOF
global: {threads: 1, timeout_shutdown: 1s}
defaults: {mode: tcp, timeout_connect: 5s, timeout_client: 30s, timeout_server: 30s}
frontend:
  - name: bench
    bind: [{addr_port: "127.0.0.1:${PORT[fulcrum-tcp]}"}]
    use_backend: web
  - name: iperf
    bind: [{addr_port: "127.0.0.1:${TCPPORT[fulcrum-tcp]}"}]
    use_backend: iperf
backend:
  - name: web
    balance: roundrobin
    servers:
      - {name: a, addr_port: "127.0.0.1:$BACK_A"}
      - {name: b, addr_port: "127.0.0.1:$BACK_B"}
  - name: iperf
    servers: [{name: iperf, addr_port: "127.0.0.1:$IPERF"}]
EOF
}
write_configs

# ready T PID: every listener of proxy T accepts, and answers 200 over HTTP
# and HTTPS.
ready() {
	local t=$1 pid=$2 p
	if [[ $t == caddy-full ]]; then
		wait_port "${FULLPORT[caddy]}" "$pid" && probe "https://127.0.0.1:${FULLPORT[caddy]}/"
		return
	fi
	wait_port "${PORT[$t]}" "$pid" && probe "http://127.0.0.1:${PORT[$t]}/" || return 1
	for p in ${TLSPORT[$t]:-} ${FULLPORT[$t]:-}; do
		[[ $t == caddy && $p == "${FULLPORT[caddy]}" ]] && continue
		wait_port "$p" "$pid" && probe "https://127.0.0.1:$p/" || return 1
	done
	if [[ -n ${TCPPORT[$t]:-} && -z ${SNA[tcp/$t]:-} ]]; then
		wait_port "${TCPPORT[$t]}" "$pid" || return 1
	fi
}

# start_target T: starts the proxy T pinned to CPU 0 and sets PID[T]; fails
# with its log on stderr when it does not come up and answer.
start_target() {
	local t=$1 log=$work/$1.log p
	case $t in
	nginx) taskset -c 0 nginx -p "$work/nginx-proxy" -e "$work/nginx-proxy/error.log" -c "$work/nginx-proxy/nginx.conf" >"$log" 2>&1 & ;;
	haproxy) taskset -c 0 haproxy -db -f "$work/haproxy.cfg" >"$log" 2>&1 & ;;
	caddy) GOMAXPROCS=1 XDG_CONFIG_HOME=$work/caddy XDG_DATA_HOME=$work/caddy HOME=$work/caddy \
		taskset -c 0 caddy run --config "$work/caddy/Caddyfile" --adapter caddyfile >"$log" 2>&1 & ;;
	caddy-full) GOMAXPROCS=1 XDG_CONFIG_HOME=$work/caddy-full XDG_DATA_HOME=$work/caddy-full HOME=$work/caddy-full \
		taskset -c 0 caddy run --config "$work/caddy-full/caddy.json" >"$log" 2>&1 & ;;
	fulcrum-http | fulcrum-tcp) GOMAXPROCS=1 taskset -c 0 "$bin/fulcrum" run -c "$work/$t.yaml" --log-level warn >"$log" 2>&1 & ;;
	esac
	p=$!
	pids+=("$p")
	PID[$t]=$p
	ready "$t" "$p" && return 0
	stop "$p"
	unset "PID[$t]"
	if [[ $t == nginx ]]; then log=$work/nginx-proxy/error.log; fi
	tail -5 "$log" >&2
	return 1
}

# Which proxies the selected scenarios need.
PROXIES=()
for t in "${ALL_TARGETS[@]:1}"; do
	[[ -z ${NA[$t]:-} ]] || continue
	for s in "${SCENARIOS[@]}"; do
		if [[ " ${SC_TARGETS[$s]} " == *" $t "* && -z ${SNA[$s/$t]:-} ]]; then
			PROXIES+=("$t")
			break
		fi
	done
done

# fulcrum http is tried once: this build may not have http mode yet.
if [[ " ${PROXIES[*]} " == *" fulcrum-http "* ]]; then
	if start_target fulcrum-http 2>/dev/null; then
		stop "${PID[fulcrum-http]}"
		log "fulcrum http mode works: measuring it"
	else
		if grep -qi "not supported" "$work/fulcrum-http.log"; then
			NA[fulcrum-http]="this build refuses mode http: $(grep -io 'mode http is not supported[^"]*' "$work/fulcrum-http.log" | head -1)"
		else
			NA[fulcrum-http]="fulcrum run with an http frontend did not answer: $(tail -c 300 "$work/fulcrum-http.log" | tr '\n' ' ')"
		fi
		log "fulcrum http: n/a (${NA[fulcrum-http]})"
		mapfile -t PROXIES < <(printf '%s\n' "${PROXIES[@]}" | grep -vx fulcrum-http)
	fi
fi
# The full-handshake listener of Caddy is a process of its own.
if selected fullhs && [[ " ${PROXIES[*]} " == *" caddy "* ]]; then PROXIES+=(caddy-full); fi

# targets_of SCENARIO UP...: the targets of the scenario among those up.
targets_of() {
	local s=$1 t
	shift
	for t in ${SC_TARGETS[$s]}; do
		[[ -n ${SNA[$s/$t]:-} ]] && continue
		[[ " $* " == *" $t "* ]] && echo "$t"
	done
}

# --- machine and settings ---------------------------------------------------
machine=$work/machine.md
{
	echo "$DATE. $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), $(go version | awk '{print $3}')."
	echo
	echo "Versions: nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), HAProxy $(haproxy -v | awk 'NR==1 {print $3}') with $(haproxy -vv | sed -n 's/^Running on OpenSSL version : //p'), Caddy $(command -v caddy >/dev/null && caddy version | awk '{print $1}' || echo 'not installed'), fulcrum $FULCRUM_VERSION; wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}'), h2load $(h2load --version | awk '{print $2}'), iperf3 $(iperf3 --version | awk 'NR==1 {print $2}')."
	echo
	if [[ $QUICK == 1 ]]; then
		echo "**QUICK smoke run**: $ROUNDS round(s), ${KA_SECS} s keep-alive runs and ${SECS} s other runs, $IDLE_CONNS idle connections; single figures, not medians of several rounds."
	else
		echo "$ROUNDS rounds; ${KA_SECS} s HTTP/1.1 keep-alive runs, ${SECS} s runs for the other scenarios."
	fi
	echo "Every proxy runs one worker/thread (nginx worker_processes 1 without a master, HAProxy nbthread 1, Caddy and fulcrum GOMAXPROCS=1), pinned with taskset to CPU 0; the two nginx backends, the iperf3 server and the load generator (wrk, h2load, hsload or iperf3, one thread) share CPU 1. direct is the load generator against backend A (or the iperf3 server) on CPU 1."
} >"$machine"

# estimate_round: seconds a round should take: the runs, starting the
# proxies and the memory scenario.
estimate_round() {
	local s n total=$((${#PROXIES[@]} + 6))
	for s in "${SCENARIOS[@]}"; do
		n=$(targets_of "$s" direct "${PROXIES[@]}" | wc -l)
		case $s in
		idle) total=$((total + n * (1 + IDLE_CONNS / 1500))) ;;
		ka64 | ka256) total=$((total + n * KA_SECS)) ;;
		*) total=$((total + n * SECS)) ;;
		esac
	done
	echo "$total"
}
round_est=$(estimate_round)
log "scenarios: ${SCENARIOS[*]}; proxies: ${PROXIES[*]}; $ROUNDS round(s) of about $round_est s"

# --- 4. the runs ------------------------------------------------------------
tsv=$work/results.tsv
printf 'round\tscenario\ttarget\trps\tp50_us\tp99_us\tmibps\trequests\terrors\tcpu_ticks\tconns\tfailed\trss_before_kb\trss_after_kb\tfds_before\tfds_after\n' >"$tsv"
CLK=$(getconf CLK_TCK)

# measure ROUND SCENARIO TARGET TOOL COMMAND...: runs the load generator
# COMMAND (pinned to CPU 1, bounded), reads the proxy's CPU around it and
# appends the figures TOOL's parser finds to the TSV.
measure() {
	local r=$1 sc=$2 t=$3 tool=$4
	shift 4
	local raw=$work/raw/$r-$sc-$t.txt pid='' t0='' t1='' ticks=- m
	case $t/$sc in
	direct/*) ;;
	caddy/fullhs) pid=${PID[caddy-full]:-} ;;
	*) pid=${PID[$t]:-} ;;
	esac
	[[ -n $pid ]] && t0=$(cpu_ticks "$pid")
	timeout $((4 * SECS + 4 * KA_SECS + 30)) taskset -c 1 "$@" >"$raw" 2>"$raw.stderr" || true
	[[ -n $pid ]] && t1=$(cpu_ticks "$pid")
	[[ -n $t0 && -n $t1 ]] && ticks=$((t1 - t0))
	if m=$("$bin/report" "$tool" "$raw" 2>"$raw.err"); then
		log "round $r $sc $t: $(awk -F'\t' -v sc="$sc" -v ticks="$ticks" -v clk="$CLK" '{
			if (sc == "1m") printf "%.0f MiB/s", $4
			else if (sc == "tcp") printf "%.1f Gbit/s", $4 * 1048576 * 8 / 1e9
			else printf "%.0f req/s", $1
			if ($3 != "-") printf ", p99 %.0f µs", $3
			printf ", errors %d", $6
			if (ticks != "-" && $5 > 0) printf ", proxy CPU %.1f µs/%s", ticks / clk * 1e6 / $5, (sc == "tcp" ? "MiB" : "request")
		}' <<<"$m")"
	else
		log "round $r $sc $t: no result: $(cat "$raw.err") $(head -c 200 "$raw.stderr" | tr '\n' ' ')"
		m=$'-\t-\t-\t-\t-\t-'
	fi
	printf '%s\t%s\t%s\t%s\t%s\t-\t-\t-\t-\t-\t-\n' "$r" "$sc" "$t" "$m" "$ticks" >>"$tsv"
}

# run ROUND SCENARIO TARGET: one measured run.
run() {
	local r=$1 sc=$2 t=$3 url=http://127.0.0.1:${PORT[$3]}
	local tls=https://127.0.0.1:${TLSPORT[$t]:-0}/ full=127.0.0.1:${FULLPORT[$t]:-0}
	case $sc in
	ka64) measure "$r" "$sc" "$t" wrk wrk -t1 -c64 -d"${KA_SECS}s" --latency "$url/" ;;
	ka256) measure "$r" "$sc" "$t" wrk wrk -t1 -c256 -d"${KA_SECS}s" --latency "$url/" ;;
	close32) measure "$r" "$sc" "$t" wrk wrk -t1 -c32 -d"${SECS}s" --latency -H "Connection: close" "$url/" ;;
	1m) measure "$r" "$sc" "$t" wrk wrk -t1 -c16 -d"${SECS}s" --latency "$url/1m.bin" ;;
	https) measure "$r" "$sc" "$t" h2load h2load -t1 --h1 -c64 -D "$SECS" "$tls" ;;
	h2) measure "$r" "$sc" "$t" h2load h2load -t1 -c64 -m10 -D "$SECS" "$tls" ;;
	fullhs) measure "$r" "$sc" "$t" hsload "$bin/hsload" -c 64 -d "${SECS}s" -addr "$full" ;;
	resumehs) measure "$r" "$sc" "$t" hsload "$bin/hsload" -c 64 -d "${SECS}s" -resume -addr "127.0.0.1:${TLSPORT[$t]:-0}" ;;
	tcp) measure "$r" "$sc" "$t" iperf3 iperf3 -c 127.0.0.1 -p "${TCPPORT[$t]}" -t "$SECS" -J ;;
	esac
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

# busy_ticks: CPU time spent on the whole machine (all but idle, iowait and
# steal), in clock ticks.
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
# own_ticks: CPU time of this script and everything it started: the
# processes it has waited for (cutime, cstime) and those still running.
own_ticks() {
	local p sum
	sum=$(sed 's/^.*) //' /proc/$$/stat | awk '{print $12 + $13 + $14 + $15}')
	for p in "${PID[@]}"; do sum=$((sum + $(cpu_ticks "$p" || echo 0))); done
	echo "$sum"
}

BUSY0=$(busy_ticks) OWN0=$(own_ticks) T0=$(date +%s)
LOAD_MAX=0
declare -A RESUMES=()
round_secs=$round_est
for r in $(seq "$ROUNDS"); do
	if ((r > 1 && $(date +%s) - STARTED + round_secs > MAX_SECS)); then
		log "round $r would end past MAX_SECS=$MAX_SECS s: stopping after $((r - 1)) round(s)"
		break
	fi
	round_start=$(date +%s)
	# Fresh proxies every round, so that the memory scenario sees a process
	# that has not served a load yet.
	up=()
	for t in "${PROXIES[@]}"; do
		if start_target "$t"; then
			up+=("$t")
		else
			log "round $r: $t did not start; it is left out of this round"
		fi
	done
	for s in "${SCENARIOS[@]}"; do
		mapfile -t ts < <(targets_of "$s" direct "${up[@]}")
		[[ $s == fullhs && " ${up[*]} " != *" caddy-full "* ]] && mapfile -t ts < <(printf '%s\n' "${ts[@]}" | grep -vx caddy)
		((${#ts[@]})) || continue
		case $s in
		idle)
			for t in "${ts[@]}"; do run_idle "$r" "$t"; done
			continue
			;;
		ka64) # warm-up, not recorded
			for t in "${ts[@]}"; do
				timeout 20 taskset -c 1 wrk -t1 -c64 -d1s "http://127.0.0.1:${PORT[$t]}/" >/dev/null 2>&1 || true
			done
			;;
		https | fullhs | resumehs)
			if ((r == 1)) && [[ -z ${RESUMES_CHECKED:-} ]]; then
				RESUMES_CHECKED=1
				for t in "${ts[@]}"; do
					RESUMES[$t]="$(resumes "${TLSPORT[$t]}") / $(resumes "${FULLPORT[$t]}")"
				done
				log "openssl s_client resumes a session (resumption listener / full-handshake listener): $(for t in "${ts[@]}"; do printf '%s %s; ' "$t" "${RESUMES[$t]}"; done)"
			fi
			;;
		esac
		for t in "${ts[@]}"; do run "$r" "$s" "$t"; done
		load=$(cut -d' ' -f1 /proc/loadavg)
		LOAD_MAX=$(awk -v a="$load" -v b="$LOAD_MAX" 'BEGIN {print (a > b ? a : b)}')
	done
	for t in "${up[@]}"; do
		stop "${PID[$t]}"
		unset "PID[$t]"
	done
	round_secs=$(($(date +%s) - round_start))
	log "round $r took $round_secs s"
done
BUSY1=$(busy_ticks) OWN1=$(own_ticks) T1=$(date +%s)
for p in "${!PID[@]}"; do
	kill -0 "${PID[$p]}" 2>/dev/null || { echo "bench/run.sh: $p died during the run" >&2; exit 1; }
done

# --- 5. the report ----------------------------------------------------------
# What else ran on the machine: the CPU time of everything but this
# benchmark, in % of all cores over the rounds.
others=$(awk -v b=$((BUSY1 - BUSY0)) -v o=$((OWN1 - OWN0)) -v s=$((T1 - T0)) -v clk="$CLK" -v n="$(nproc)" \
	'BEGIN {x = (b - o) / clk / (s > 0 ? s : 1) / n * 100; printf "%.0f", (x < 0 ? 0 : x)}')
{
	echo "Load average when the run started: $LOAD_START; highest 1-minute load seen after a scenario: $LOAD_MAX; when it ended: $(cut -d' ' -f1-3 /proc/loadavg) (the benchmark itself keeps two or three tasks runnable)."
	if ((others >= 10)); then
		echo "**The machine was shared**: processes other than the benchmark's used about $others % of its $(nproc) cores while it ran: the figures are noisier than on a quiet machine, and the min–max ranges show how much."
	elif awk -v l="${LOAD_START%% *}" 'BEGIN {exit !(l >= 1)}'; then
		echo "Processes other than the benchmark's used about $others % of the $(nproc) cores while it ran; the load average at the start comes from work that ended before it. On a virtual machine, neighbours the guest cannot see can still slow it: the min–max ranges show how much the figures moved."
	else
		echo "Processes other than the benchmark's used about $others % of the $(nproc) cores while it ran."
	fi
	if selected https || selected h2 || selected fullhs || selected resumehs; then
		echo
		negotiated=$(for t in $TLS_TARGETS; do
			f=$work/raw/1-https-$t.txt
			[[ ! -f $f ]] || printf '%s %s; ' "$t" "$(sed -n 's/^TLS Protocol: \(\S*\)$/\1/p; s/^Cipher: \(\S*\)$/\1/p; s/^Server Temp Key: \(.*\)$/\1/p' "$f" | paste -sd' ')"
		done)
		echo "TLS: TLS 1.3 only, ALPN h2 and http/1.1, one self-signed ECDSA P-256 certificate; nginx and HAProxy are given Go's TLS 1.3 suite order.${negotiated:+ Negotiated (h2load, HTTPS keep-alive, round 1): ${negotiated%; }.}"
		echo "Full handshakes go to a listener of each proxy with resumption off (nginx \`ssl_session_tickets off\` and \`ssl_session_cache off\`; HAProxy \`no-tls-tickets\` and \`tune.ssl.cachesize 0\`; a second Caddy process with \`session_tickets\` disabled; fulcrum \`session_tickets: false\`), resumed ones to the listener with tickets on. The handshakes are made by bench/cmd/hsload, 64 connections at a time, each with one request (Connection: close): h2load's OpenSSL 3.0 client spends about 0.85 ms of CPU per full handshake here, more than the proxies do, so it cannot keep one of them busy; Go's client spends about 0.4 ms. hsload offers X25519 only (as h2load does), verifies the server's handshake signature, and with -resume offers the ticket of the worker's previous connection, counting as an error a handshake that was not resumed. Checked with openssl s_client, session resumed on the listener with resumption / without: $(for t in $TLS_TARGETS; do [[ -z ${RESUMES[$t]:-} ]] || printf '%s %s; ' "$t" "${RESUMES[$t]}"; done)"
	fi
} >>"$machine"

na_args=()
for t in "${!NA[@]}"; do na_args+=(-na "$t=${NA[$t]}"); done
for k in "${!SNA[@]}"; do selected "${k%%/*}" && na_args+=(-na "$k=${SNA[$k]}"); done
cp "$tsv" "$OUT_DIR/$RESULT_NAME.tsv"
echo
"$bin/report" table -in "$tsv" -machine "$machine" -clk "$CLK" \
	-title "fulcrum benchmark, $RESULT_NAME$([[ $QUICK == 1 ]] && echo ' (QUICK)')" \
	-md "$OUT_DIR/$RESULT_NAME.md" -png "$OUT_DIR/$RESULT_NAME.png" "${na_args[@]}"
log "wrote $OUT_DIR/$RESULT_NAME.md, .png and .tsv in $(($(date +%s) - STARTED)) s"
