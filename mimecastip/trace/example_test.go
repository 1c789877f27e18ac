package trace_test

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/mimecastip/trace"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

const delivered = `Received: from us-smtp-delivery-124.mimecast.com (us-smtp-delivery-124.mimecast.com [170.10.129.124])
	by mx.example.com (Postfix) with ESMTPS id 4QkXz71Hn2z9sT4
	for <bob@example.com>; Tue, 14 Feb 2023 17:35:50 -0500 (EST)
X-MC-Unique: Qk3vT9aZR2yWc7nL0pXbEg-1
Received: from mail.sender.example (mail.sender.example [203.0.113.45])
	by relay.mimecast.com with ESMTP with STARTTLS (version=TLSv1.3,
	cipher=TLS_AES_128_GCM_SHA256) id us-mta-73-Qk3vT9aZR2yWc7nL0pXbEg-1;
	Tue, 14 Feb 2023 17:35:48 -0500
Subject: hello

body
`

// Judge one message for an account on the US grid.
func Example() {
	us, err := mimecastip.Load(regions.Embedded(), regions.SetOf(regions.US))
	if err != nil {
		panic(err)
	}
	tr, err := trace.New(trace.Config{Classifier: us, Regions: regions.SetOf(regions.US)})
	if err != nil {
		panic(err)
	}
	m, err := trace.ParseHeader([]byte(delivered))
	if err != nil {
		panic(err)
	}
	r := tr.Trace(m)
	fmt.Println(r.Verdict, r.Address, r.Class, r.Regions(), r.Prefix())
	fmt.Println("grid", r.Grid, r.GridCheck, "X-MC-Unique matches:", r.Trail.MCUniqueMatch)
	// Output:
	// mimecast 170.10.129.124 mimecast us 170.10.129.0/24
	// grid us agrees X-MC-Unique matches: true
}

// The same message delivered straight to the server by someone else: the
// trail it carries is forged.
func ExampleTracer_Trace_forged() {
	tr, _ := trace.New(trace.Config{})
	forged := strings.Replace(delivered, "[170.10.129.124]", "[198.51.100.77]", 1)
	m, _ := trace.ParseHeader([]byte(forged))
	r := tr.Trace(m)
	fmt.Println(r.Verdict)
	fmt.Println(r.Reasons[0])
	// Output:
	// forged
	// the boundary hop (Received #1, line 1, by mx.example.com) is from 198.51.100.77, not a Mimecast mail address, yet the message carries a Mimecast trail: forged or replayed (or the message reached you around Mimecast)
}

// Name your MTAs and internal relays when hops are added after the one
// that entered your network.
func ExampleConfig_by() {
	msg := "Received: from mx1.example.com (mx1.example.com [10.0.0.5]) by store.example.com; date\n" +
		"Received: from eu-smtp-delivery-151.mimecast.com (eu-smtp-delivery-151.mimecast.com [185.58.85.151]) by mx1.example.com; date\n\n"
	m, _ := trace.ParseHeader([]byte(msg))
	for _, cfg := range []trace.Config{
		{},
		{By: []string{"mx1.example.com"}},
		{Internal: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
	} {
		tr, _ := trace.New(cfg)
		r := tr.Trace(m)
		fmt.Printf("%s %s [%s]\n", r.Verdict, r.Address, r.Regions())
	}
	// Output:
	// undetermined 10.0.0.5 []
	// mimecast 185.58.85.151 [eu]
	// mimecast 185.58.85.151 [eu]
}

// Read every message of an mbox.
func ExampleReader() {
	mbox := "From a@example.net Mon Jan  1 00:00:00 2024\n" +
		"Received: from a (a [209.85.219.71]) by mx.example.com; date\n\nbody\n\n" +
		"From b@example.net Mon Jan  1 00:00:01 2024\n" +
		"Received: from b (b [170.10.129.124]) by mx.example.com; date\n\nbody\n"
	tr, _ := trace.New(trace.Config{})
	rd := trace.NewReader(strings.NewReader(mbox))
	for {
		m, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(m.Index, m.Line, tr.Trace(m).Verdict)
	}
	// Output:
	// 1 1 bypass
	// 2 6 mimecast
}

// A milter or SMTP server knows its client: the boundary is the
// connection, the headers give the trail.
func ExampleTracer_TraceAddr() {
	tr, _ := trace.New(trace.Config{})
	m, _ := trace.ParseHeader([]byte("X-Mimecast-Spam-Score: 0\n\n"))
	fmt.Println(tr.TraceAddr(netip.MustParseAddr("198.51.100.7"), m).Verdict)
	fmt.Println(tr.TraceAddr(netip.MustParseAddr("207.211.30.44"), m).Class)
	// Output:
	// forged
	// non-spf
}

func ExampleParseReceived() {
	h := trace.ParseReceived("from us-smtp-delivery-44.mimecast.com ([207.211.30.44]:41696) by eggs.example.org with esmtps id 1iU9Qe-0004Xa-Kq; Tue, 12 Nov 2019 10:31:27 -0500")
	fmt.Println(h.From, h.Addr, h.By, h.ID)
	// Output: us-smtp-delivery-44.mimecast.com 207.211.30.44 eggs.example.org 1iU9Qe-0004Xa-Kq
}
