module github.com/fulcrum-lb/fulcrum

go 1.26.8

require (
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/image v0.47.0
)

require (
	github.com/expr-lang/expr v1.17.8
	golang.org/x/net v0.62.0
)

require golang.org/x/text v0.43.0 // indirect
