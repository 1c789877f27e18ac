// Package bench holds the end-to-end benchmarks of go-mimecastip: the
// package-level lookups of package mimecastip over the embedded dataset,
// on pre-built streams of 2^20 addresses (cycled by index, so the branch
// predictor cannot learn one repeated address), plus the cost of building
// a Classifier and of parsing the embedded data file.
//
// Run them with:
//
//	go test ./bench -run '^$' -bench . -benchmem -count 10 > new.txt
//	benchstat old.txt new.txt
//
// A quick smoke run (every benchmark once, a few seconds):
//
//	go test ./bench -run '^$' -bench . -benchtime 1x
//
// The streams:
//   - mixed: half addresses inside published ranges, half random IPv4;
//   - hits: addresses inside active mail (gateway and non-SPF) ranges;
//   - ipv6: random IPv6 addresses (the dataset has no IPv6 ranges);
//   - mapped: the mixed stream as IPv4-mapped IPv6 (::ffff:a.b.c.d).
//
// Comparisons with other prefix-matching libraries live in the separate
// module bench/compare, so that their dependencies stay out of this one.
//
// The package has no non-test code.
package bench
