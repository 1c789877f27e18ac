package mimecastip_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/mimecastip"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// FuzzLookupString checks that LookupString never panics, that it accepts
// every address netip.ParseAddr accepts (also bracketed, tagged and with a
// port) and answers as the reference scan does, that a mapped address
// answers as its IPv4 form, and that every error quotes the input. The
// checked-in corpus is in testdata/fuzz/FuzzLookupString.
func FuzzLookupString(f *testing.F) {
	for _, s := range []string{
		// netip-style seeds.
		"1.2.3.4", "::ffff:1.2.3.4", "fe80::1%eth0", "", "1.2.3", "1.2.3.4:", "1.2.3.4:99999",
		"[1.2.3.4", "host.example:25", "1.2.3.4/24", " 1.2.3.4", "01.2.3.4", "::", "2001:db8::1:25",
		"[IPv6:2001:db8::1]:25", "IPv6:::ffff:170.10.128.5", "[::ffff:170.10.128.5%x]:0", "\xff\x00",
		"1.2.3.4:25:25", "[1.2.3.4]]", "::ffff:1.2.3.4:25",
	} {
		f.Add(s)
	}
	rs := regions.Ranges()
	for _, r := range rs {
		f.Add(r.Prefix.Addr().String())
		f.Add(lastAddr(r.Prefix).String())
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := mimecastip.LookupString(s)
		// ParseAddr accepts exactly what LookupString accepts, with the
		// same error, and LookupString classifies ParseAddr's address.
		pa, paerr := mimecastip.ParseAddr(s)
		if err != nil {
			require.Error(t, paerr, "ParseAddr(%q) accepts what LookupString rejects", s)
			require.Equal(t, err.Error(), paerr.Error())
			require.False(t, pa.IsValid(), "ParseAddr(%q) returned an address with its error", s)
		} else {
			require.NoError(t, paerr, "ParseAddr(%q) rejects what LookupString accepts", s)
			require.Equal(t, mimecastip.Lookup(pa), got, "LookupString(%q) and Lookup(ParseAddr)", s)
		}
		if err != nil {
			require.Zero(t, got, "LookupString(%q) failed but returned a Result", s)
			require.Contains(t, err.Error(), fmt.Sprintf("%q", s), "error does not quote the input")
		} else if got.Prefix().IsValid() {
			// The answer is one of the classifier's ranges.
			found := false
			for _, r := range mimecastip.Default().Ranges() {
				if r.Prefix == got.Prefix() {
					found = true
					require.Equal(t, r.Regions, got.Regions)
					require.Equal(t, r.Service, got.Service)
					require.Equal(t, mimecastip.ClassOf(r.Service), got.Class)
				}
			}
			require.True(t, found, "LookupString(%q) = %v, not a range of Default()", s, got)
		} else {
			require.Zero(t, got, "LookupString(%q) = %v without a prefix", s, got)
		}

		a, perr := netip.ParseAddr(s)
		if perr != nil {
			return
		}
		want := refResult(rs, a)
		require.NoError(t, err, "LookupString(%q) rejects what netip.ParseAddr accepts", s)
		require.Equal(t, want, got, "LookupString(%q)", s)
		require.Equal(t, want, mimecastip.Lookup(a), "Lookup(%v)", a)
		require.Equal(t, mimecastip.Lookup(a.Unmap()), mimecastip.Lookup(a), "Lookup(%v) differs from Lookup of its unmapped form", a)

		// The same address in the other accepted forms. A zone may hold
		// any byte, ']' too, and then cannot be bracketed.
		var forms []string
		if a.Is4() {
			forms = append(forms, "["+s+"]", s+":25", "["+s+"]:25", "::ffff:"+s)
		} else {
			if !strings.Contains(s, "]") {
				forms = append(forms, "["+s+"]", "["+s+"]:25", "[IPv6:"+s+"]")
			}
			forms = append(forms, "IPv6:"+s)
		}
		for _, form := range forms {
			r, err := mimecastip.LookupString(form)
			require.NoError(t, err, "LookupString(%q) for %q", form, s)
			require.Equal(t, want, r, "LookupString(%q)", form)
		}
	})
}

// lastAddr returns the last address of canonical prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
