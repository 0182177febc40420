#!/usr/bin/env bash
# Writes cmd/fulcrum/default.pgo, the profile that guides the compiler's
# optimisations (inlining, devirtualisation) of the fulcrum binary: CPU
# profiles of the daemon's benchmarks (HTTP/1.1 keep-alive, connection
# per request, HTTP/2 cleartext, tcp mode), merged. go build uses it on
# its own (-pgo=auto). Run it again when the hot paths change.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/daemon.test" ./internal/daemon
profiles=()
for b in HTTPKeepAlive HTTPConnPerRequest H2C TCPThroughput; do
	(cd internal/daemon && "$tmp/daemon.test" -test.run '^$' -test.bench "^Benchmark$b\$" \
		-test.benchtime 5s -test.cpuprofile "$tmp/$b.pprof" >/dev/null)
	profiles+=("$tmp/$b.pprof")
done
go tool pprof -proto "$tmp/daemon.test" "${profiles[@]}" >"$tmp/merged.pgo"
mv "$tmp/merged.pgo" cmd/fulcrum/default.pgo
echo "wrote cmd/fulcrum/default.pgo ($(wc -c <cmd/fulcrum/default.pgo) bytes)"
