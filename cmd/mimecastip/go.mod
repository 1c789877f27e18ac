module github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip

go 1.25.0

require (
	blitiri.com.ar/go/spf v1.6.0
	github.com/d--j/go-milter v0.10.2
	github.com/klauspost/compress v1.20.4
	github.com/miekg/dns v1.1.73
	github.com/seed-b311f21d/go-mimecastip v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	github.com/ulikunitz/xz v0.5.17
)

require (
	github.com/emersion/go-message v0.18.2 // indirect
	github.com/gaissmai/bart v0.30.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.40.0 // indirect
)
