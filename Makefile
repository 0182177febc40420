.PHONY: build test demo bench

build:
	go build -o fulcrum ./cmd/fulcrum

test:
	scripts/test.sh

demo:
	go run ./cmd/fulcrum demo

bench:
	bench/run.sh
