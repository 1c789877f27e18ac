package trace

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// BenchmarkTrace reads and judges the three-message mbox fixture: the
// cost per message of the command's loop (parse, boundary, trail).
func BenchmarkTrace(b *testing.B) {
	in, err := os.ReadFile("testdata/three.mbox")
	if err != nil {
		b.Fatal(err)
	}
	tr, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		rd := NewReader(bytes.NewReader(in))
		for {
			m, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if r := tr.Trace(m); r.Verdict == Undetermined {
				b.Fatal("undetermined")
			}
		}
	}
}

// BenchmarkParseReceived parses one Postfix Received value.
func BenchmarkParseReceived(b *testing.B) {
	const v = "from us-smtp-delivery-124.mimecast.com (us-smtp-delivery-124.mimecast.com [170.10.129.124]) " +
		"(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)) by mx.example.com (Postfix) with ESMTPS id 4QkXz71Hn2z9sT4 " +
		"for <bob@example.com>; Tue, 14 Feb 2023 17:35:50 -0500 (EST)"
	b.ReportAllocs()
	for b.Loop() {
		if h := ParseReceived(v); !h.Addr.IsValid() {
			b.Fatal(h.AddrProblem)
		}
	}
}
