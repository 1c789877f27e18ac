module github.com/seed-b311f21d/go-mimecastip/examples

go 1.25.0

require (
	github.com/emersion/go-smtp v0.25.1
	github.com/pires/go-proxyproto v0.15.0
	github.com/seed-b311f21d/go-mimecastip v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	github.com/gaissmai/bart v0.30.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
