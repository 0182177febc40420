#!/usr/bin/env bash
# Runs every check and test of fulcrum. Installs what it needs first (Debian
# packages for the real peers the tests talk to, and staticcheck), so it
# passes on a fresh machine with Go installed. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# Debian packages for real peers: curl and openssl (clients) and nginx (server).
need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
	$SUDO apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=240 "${need[@]}" >/dev/null
fi

GOBIN="$(go env GOPATH)/bin"
if ! [ -x "$GOBIN/staticcheck" ]; then
	log "installing staticcheck"
	go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

log "go vet"
go vet ./...

log "staticcheck"
"$GOBIN/staticcheck" ./...

log "go test -race"
go test -race -count=1 -timeout 15m ./...
