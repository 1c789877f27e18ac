package regions_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/regions"
)

func TestKnown(t *testing.T) {
	want := []regions.Region{regions.US, regions.USB, regions.CA, regions.EU, regions.DE,
		regions.AU, regions.ZA, regions.USPCOM, regions.JE, regions.Global}
	assert.Equal(t, want, regions.List())
	var toks []string
	for _, r := range regions.List() {
		toks = append(toks, r.String())
	}
	assert.Equal(t, []string{"us", "usb", "ca", "eu", "de", "au", "za", "uspcom", "je", "global"}, toks)
	assert.Equal(t, want, regions.AllSet().Regions())
	assert.Equal(t, len(want), regions.AllSet().Len())
}

func TestRegionText(t *testing.T) {
	for _, r := range regions.List() {
		assert.True(t, r.Valid(), "%v.Valid()", r)
		s := r.String()
		require.NotEmpty(t, s, "Region(%d).String()", uint8(r))
		got, err := regions.ParseRegion(s)
		assert.NoError(t, err, "ParseRegion(%q)", s)
		assert.Equal(t, r, got, "ParseRegion(%q)", s)

		b, err := r.MarshalText()
		assert.NoError(t, err, "%v.MarshalText()", r)
		assert.Equal(t, s, string(b))
		var u regions.Region
		assert.NoError(t, u.UnmarshalText(b), "UnmarshalText(%q)", b)
		assert.Equal(t, r, u, "UnmarshalText(%q)", b)
	}

	// The zero Region is "" both ways.
	var zero regions.Region
	assert.False(t, zero.Valid())
	assert.Equal(t, "", zero.String())
	b, err := zero.MarshalText()
	assert.NoError(t, err)
	assert.Empty(t, b)
	u := regions.EU
	assert.NoError(t, u.UnmarshalText(nil))
	assert.Equal(t, regions.Region(0), u)

	// An undefined value.
	bad := regions.Region(99)
	assert.False(t, bad.Valid())
	assert.Equal(t, "region(99)", bad.String())
	_, err = bad.MarshalText()
	assert.Error(t, err)

	u = regions.EU
	assert.ErrorContains(t, u.UnmarshalText([]byte("mars")), `"mars"`)
	assert.Equal(t, regions.EU, u, "a failed UnmarshalText changed the value")
}

func TestParseRegion(t *testing.T) {
	tests := []struct {
		in   string
		want regions.Region
	}{
		{"us", regions.US},
		{"US", regions.US},
		{" Usb ", regions.USB},
		{"eu", regions.EU},
		{"uk", regions.EU},
		{"us-a", regions.US},
		{"usa", regions.US},
		{"us-b", regions.USB},
		{"jer", regions.JE},
		{"offshore", regions.JE},
		{"global", regions.Global},
		{"uspcom", regions.USPCOM},
		{"CUSA12A345", regions.US},
		{"cusa12a345", regions.US},
		{"CUSB99Z999", regions.USB},
		{"CCA12A345", regions.CA},
		{"cuk12a345", regions.EU},
		{"CUK", regions.EU},
		{"CDE12A345", regions.DE},
		{"CAU12A345", regions.AU},
		{"CSA12A345", regions.ZA},
	}
	for _, tc := range tests {
		got, err := regions.ParseRegion(tc.in)
		assert.NoError(t, err, "ParseRegion(%q)", tc.in)
		assert.Equal(t, tc.want, got, "ParseRegion(%q)", tc.in)
	}

	for _, in := range []string{"", " ", "mars", "u s", "CUSA-12", "CUS12", "CXX12A345", "us,usb", "all", "région"} {
		got, err := regions.ParseRegion(in)
		assert.Error(t, err, "ParseRegion(%q)", in)
		assert.ErrorContains(t, err, `"`+in+`"`, "ParseRegion(%q) error does not quote the input", in)
		assert.Zero(t, got, "ParseRegion(%q)", in)
	}
}

func TestSetText(t *testing.T) {
	tests := []struct {
		set  regions.Set
		want string
	}{
		{0, ""},
		{regions.SetOf(regions.US), "us"},
		{regions.SetOf(regions.USB, regions.US), "us,usb"},
		{regions.SetOf(regions.Global, regions.ZA, regions.EU), "eu,za,global"},
		{regions.AllSet(), "us,usb,ca,eu,de,au,za,uspcom,je,global"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.set.String(), "Set(%#x).String()", uint16(tc.set))
		got, err := regions.ParseSet(tc.want)
		assert.NoError(t, err, "ParseSet(%q)", tc.want)
		assert.Equal(t, tc.set, got, "ParseSet(%q)", tc.want)

		b, err := tc.set.MarshalText()
		assert.NoError(t, err)
		assert.Equal(t, tc.want, string(b))
		var u regions.Set
		assert.NoError(t, u.UnmarshalText(b), "UnmarshalText(%q)", b)
		assert.Equal(t, tc.set, u, "UnmarshalText(%q)", b)
	}

	for in, want := range map[string]regions.Set{
		"USB,us":         regions.SetOf(regions.US, regions.USB),
		"us, usb ":       regions.SetOf(regions.US, regions.USB),
		"us,us":          regions.SetOf(regions.US),
		"uk,CDE12A345":   regions.SetOf(regions.EU, regions.DE),
		"all":            regions.AllSet(),
		" ALL ":          regions.AllSet(),
		"  ":             0,
		"global,za,CUSA": regions.SetOf(regions.US, regions.ZA, regions.Global),
	} {
		got, err := regions.ParseSet(in)
		assert.NoError(t, err, "ParseSet(%q)", in)
		assert.Equal(t, want, got, "ParseSet(%q)", in)
	}

	for _, in := range []string{"us,mars", "us,", ",us", "us;usb", "all,us"} {
		_, err := regions.ParseSet(in)
		assert.Error(t, err, "ParseSet(%q)", in)
	}
	_, err := regions.ParseSet("us,mars")
	assert.ErrorContains(t, err, `"mars"`)

	// In JSON a Set is an array of tokens, a Region a token.
	type doc struct {
		Scope  regions.Set
		Region regions.Region
	}
	b, err := json.Marshal(doc{regions.SetOf(regions.US, regions.USB), regions.EU})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Scope":["us","usb"],"Region":"eu"}`, string(b))
	b, err = json.Marshal(doc{})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Scope":[],"Region":""}`, string(b), "the empty set is [], not null")
	b, err = json.Marshal(doc{Scope: regions.AllSet()})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Scope":["us","usb","ca","eu","de","au","za","uspcom","je","global"],"Region":""}`, string(b))
	var d doc
	require.NoError(t, json.Unmarshal([]byte(`{"Scope":["eu","us","CUSA"],"Region":"CUK1"}`), &d))
	assert.Equal(t, doc{regions.SetOf(regions.US, regions.EU), regions.EU}, d)
	d = doc{Scope: regions.SetOf(regions.US)}
	require.NoError(t, json.Unmarshal([]byte(`{"Scope":null}`), &d))
	assert.True(t, d.Scope.IsEmpty(), "null is the empty set")
	for _, in := range []string{`{"Scope":"us,usb"}`, `{"Scope":["us","mars"]}`, `{"Scope":[1]}`, `{"Scope":{}}`} {
		assert.Error(t, json.Unmarshal([]byte(in), &d), "Unmarshal(%s)", in)
	}
	// As a map key a Set is its text form.
	b, err = json.Marshal(map[regions.Set]int{regions.SetOf(regions.US, regions.USB): 1})
	require.NoError(t, err)
	assert.JSONEq(t, `{"us,usb":1}`, string(b))
}

func TestSetOps(t *testing.T) {
	var s regions.Set
	assert.True(t, s.IsEmpty())
	assert.Equal(t, 0, s.Len())
	assert.Empty(t, s.Regions())
	s = s.Add(regions.US).Add(regions.US).Add(0).Add(regions.Region(200))
	assert.Equal(t, regions.SetOf(regions.US), s, "Add of an invalid region changed the set")
	assert.True(t, s.Has(regions.US))
	assert.False(t, s.Has(regions.USB))
	assert.False(t, s.Has(0))
	assert.False(t, regions.AllSet().Has(regions.Region(200)))

	a := regions.SetOf(regions.US, regions.USB)
	b := regions.SetOf(regions.USB, regions.EU)
	assert.Equal(t, regions.SetOf(regions.US, regions.USB, regions.EU), a.Union(b))
	assert.Equal(t, regions.SetOf(regions.USB), a.Intersect(b))
	assert.Equal(t, 2, a.Len())
	assert.Equal(t, []regions.Region{regions.US, regions.USB}, a.Regions())
	assert.Equal(t, regions.SetOf(regions.US), regions.SetOf(regions.US, 0, regions.Region(77)))
}

func TestServiceText(t *testing.T) {
	want := map[regions.Service]string{
		regions.Gateway: "gateway", regions.NonSPF: "non-spf",
		regions.Website: "website", regions.WebSecurity: "web-security",
	}
	require.Len(t, regions.Services(), len(want))
	for _, v := range regions.Services() {
		assert.True(t, v.Valid())
		assert.Equal(t, want[v], v.String())
		got, err := regions.ParseService(v.String())
		assert.NoError(t, err)
		assert.Equal(t, v, got, "ParseService(%q)", v.String())
		b, err := v.MarshalText()
		assert.NoError(t, err)
		var u regions.Service
		assert.NoError(t, u.UnmarshalText(b))
		assert.Equal(t, v, u, "UnmarshalText(%q)", b)
		assert.Equal(t, v == regions.Gateway || v == regions.NonSPF, v.Mail(), "%v.Mail()", v)
	}
	got, err := regions.ParseService(" NON-SPF ")
	assert.NoError(t, err)
	assert.Equal(t, regions.NonSPF, got)

	var zero regions.Service
	assert.False(t, zero.Valid())
	assert.False(t, zero.Mail())
	assert.Equal(t, "", zero.String())
	b, err := zero.MarshalText()
	assert.NoError(t, err)
	assert.Empty(t, b)
	u := regions.Website
	assert.NoError(t, u.UnmarshalText([]byte{}))
	assert.Equal(t, regions.Service(0), u)

	assert.Equal(t, "service(9)", regions.Service(9).String())
	_, err = regions.Service(9).MarshalText()
	assert.Error(t, err)

	for _, in := range []string{"", "gatway", "nonspf", "mail"} {
		_, err := regions.ParseService(in)
		assert.ErrorContains(t, err, `"`+in+`"`, "ParseService(%q)", in)
	}
	assert.Error(t, u.UnmarshalText([]byte("smtp")))
}

func TestInfoOf(t *testing.T) {
	codes := map[regions.Region]string{
		regions.US: "CUSA", regions.USB: "CUSB", regions.CA: "CCA", regions.EU: "CUK",
		regions.DE: "CDE", regions.AU: "CAU", regions.ZA: "CSA",
	}
	for _, r := range regions.List() {
		in, ok := regions.InfoOf(r)
		require.True(t, ok, "InfoOf(%v)", r)
		assert.Equal(t, r, in.Region, "InfoOf(%v).Region", r)
		assert.NotEmpty(t, in.Name, "InfoOf(%v).Name", r)
		assert.NotEmpty(t, in.URLs, "InfoOf(%v).URLs", r)
		assert.Equal(t, codes[r], in.AccountCode, "InfoOf(%v).AccountCode", r)
		if in.AccountCode != "" {
			got, err := regions.ParseRegion(in.AccountCode + "12A345")
			assert.NoError(t, err)
			assert.Equal(t, r, got, "ParseRegion of account code %s", in.AccountCode)
		}
		for _, u := range in.URLs {
			assert.NotEmpty(t, u.Name, "%v URL %q", r, u.URL)
			assert.Regexp(t, `^https://`, u.URL, "%v URL %q", r, u.Name)
			assert.NotEmpty(t, u.Source, "%v URL %q has no source", r, u.URL)
		}
	}
	us, _ := regions.InfoOf(regions.US)
	assert.Equal(t, "us._netblocks.mimecast.com", us.SPFInclude)
	assert.Equal(t, "https://us-api.mimecast.com", findURL(us, "Mimecast API"))
	assert.Equal(t, "https://login-us.mimecast.com/u/login?gta=administration", findURL(us, "Administration Console"))
	g, _ := regions.InfoOf(regions.Global)
	assert.Equal(t, "https://api.mimecast.com/", findURL(g, "Mimecast API"))
	assert.Empty(t, g.SPFInclude, "global (website, Web Security) has no SPF include of its own")
	je, _ := regions.InfoOf(regions.JE)
	assert.Empty(t, je.SPFInclude)

	// A copy.
	us.URLs[0].URL = "changed"
	again, _ := regions.InfoOf(regions.US)
	assert.NotEqual(t, "changed", again.URLs[0].URL)

	for _, r := range []regions.Region{0, regions.Region(42)} {
		in, ok := regions.InfoOf(r)
		assert.False(t, ok, "InfoOf(%d)", uint8(r))
		assert.Zero(t, in)
	}
	assert.NotEmpty(t, regions.SourceOfFacts())
}

func findURL(in regions.Info, name string) string {
	for _, u := range in.URLs {
		if u.Name == name {
			return u.URL
		}
	}
	return ""
}

func TestPorts(t *testing.T) {
	ps := regions.Ports()
	want := map[string]uint16{"SMTP": 25, "POP3": 110, "POP3S": 995, "LDAP": 389, "LDAPS": 636, "HTTP": 80, "HTTPS": 443}
	require.Len(t, ps, len(want))
	for _, p := range ps {
		assert.Equal(t, want[p.Protocol], p.Port, "port of %s", p.Protocol)
	}
	assert.Equal(t, "SMTP", ps[0].Protocol)
	ps[0].Port = 1
	assert.Equal(t, uint16(25), regions.Ports()[0].Port, "Ports returned shared storage")
	assert.NotEmpty(t, regions.PortsSource())
}
