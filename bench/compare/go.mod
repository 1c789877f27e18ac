module github.com/seed-b311f21d/go-mimecastip/bench/compare

go 1.25.0

require (
	github.com/gaissmai/bart v0.30.0
	github.com/seed-b311f21d/go-mimecastip v0.0.0-00010101000000-000000000000
	go4.org/netipx v0.0.0-20260823151212-3075585bcbeb
)
