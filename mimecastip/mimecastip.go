package mimecastip

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/seed-b311f21d/go-mimecastip/internal/lpm"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// Class answers the mail question for an address: did this connection come
// from a Mimecast mail gateway?
type Class uint8

const (
	// Foreign is any address that is not a Mimecast mail range, including
	// addresses Mimecast publishes for its website and Web Security (their
	// [Result.Service] says so). It is the zero value.
	Foreign Class = iota
	// Mimecast is an address of a Mimecast mail gateway range.
	Mimecast
	// NonSPF is an address of a Mimecast non-SPF relay range: Mimecast
	// relays mail whose envelope sender is not an internal domain of the
	// account from these, so that mail fails the sender's SPF by design.
	NonSPF
)

var classTokens = [...]string{Foreign: "foreign", Mimecast: "mimecast", NonSPF: "non-spf"}

// String returns "foreign", "mimecast" or "non-spf" ("class(N)" for an
// undefined value).
func (c Class) String() string {
	if int(c) < len(classTokens) {
		return classTokens[c]
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// MarshalText implements [encoding.TextMarshaler].
func (c Class) MarshalText() ([]byte, error) {
	if int(c) >= len(classTokens) {
		return nil, fmt.Errorf("mimecastip: invalid class %d", uint8(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with the rules of
// [ParseClass].
func (c *Class) UnmarshalText(b []byte) error {
	v, err := ParseClass(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseClass parses "foreign", "mimecast" or "non-spf" (case-insensitive;
// "nonspf" is accepted too).
func ParseClass(s string) (Class, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "foreign":
		return Foreign, nil
	case "mimecast":
		return Mimecast, nil
	case "non-spf", "nonspf":
		return NonSPF, nil
	}
	return 0, fmt.Errorf("mimecastip: unknown class %q (want foreign, mimecast or non-spf)", s)
}

// ClassOf returns the class of addresses in a range of service v: Mimecast
// for gateway ranges, NonSPF for non-SPF relay ranges and Foreign for
// everything else (website and Web Security addresses send no mail).
func ClassOf(v regions.Service) Class {
	switch v {
	case regions.Gateway:
		return Mimecast
	case regions.NonSPF:
		return NonSPF
	}
	return Foreign
}

// Result is the answer of a lookup. The zero Result means foreign and not
// published by Mimecast at all. Results are small comparable values: two
// Results are equal when all four parts (Class, Regions, Service, Prefix)
// are. The matched prefix is read with [Result.Prefix].
//
// In JSON a Result is an object with the keys "class", "regions" (an
// array of region tokens), "service" and "prefix"; the last three are
// left out when the address is not published:
//
//	{"class":"mimecast","regions":["us","usb"],"service":"gateway","prefix":"170.10.156.0/24"}
//	{"class":"foreign"}
type Result struct {
	// The prefix is kept in a compact form so that a Result is 32 bytes:
	// the compiler passes that in registers and takes it apart field by
	// field, so a caller that reads only Class loads only Class. A Result
	// holding a netip.Prefix is 40 bytes and is copied through memory on
	// every lookup, which costs as much as the table walk itself (see the
	// README's performance section).

	Class   Class           // the mail answer
	Regions regions.Set     // the regions that publish the prefix; empty when there is none
	Service regions.Service // what the prefix is published for; zero when there is none
	prefix  compactPrefix
}

// resultJSON is the JSON form of a Result.
type resultJSON struct {
	Class   Class           `json:"class"`
	Regions regions.Set     `json:"regions,omitzero"`
	Service regions.Service `json:"service,omitzero"`
	Prefix  netip.Prefix    `json:"prefix,omitzero"`
}

// MarshalJSON implements [json.Marshaler]; see [Result] for the form.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{Class: r.Class, Regions: r.Regions, Service: r.Service, Prefix: r.Prefix()})
}

// UnmarshalJSON implements [json.Unmarshaler]: it reads the form
// MarshalJSON writes, and rejects unknown classes, regions and services
// and a prefix that is not canonical.
func (r *Result) UnmarshalJSON(b []byte) error {
	var v resultJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("mimecastip: Result: %w", err)
	}
	if v.Prefix.IsValid() && v.Prefix != v.Prefix.Masked() {
		return fmt.Errorf("mimecastip: Result: prefix %s is not canonical (want %s)", v.Prefix, v.Prefix.Masked())
	}
	*r = Result{Class: v.Class, Regions: v.Regions, Service: v.Service, prefix: compact(v.Prefix)}
	return nil
}

// compactPrefix is a netip.Prefix in 24 bytes: the 128 address bits and
// the length plus one (0 for no prefix), and whether the address is IPv6.
type compactPrefix struct {
	hi, lo    uint64
	bitsPlus1 uint8
	is6       bool
}

func compact(p netip.Prefix) compactPrefix {
	if !p.IsValid() {
		return compactPrefix{}
	}
	a := p.Addr().As16()
	return compactPrefix{
		hi:        binary.BigEndian.Uint64(a[:8]),
		lo:        binary.BigEndian.Uint64(a[8:]),
		bitsPlus1: uint8(p.Bits() + 1),
		is6:       p.Addr().Is6(),
	}
}

// Prefix returns the most specific published range that holds the address,
// or the zero netip.Prefix when there is none.
func (r Result) Prefix() netip.Prefix {
	p := r.prefix
	switch {
	case p.bitsPlus1 == 0:
		return netip.Prefix{}
	case p.is6:
		var a [16]byte
		binary.BigEndian.PutUint64(a[:8], p.hi)
		binary.BigEndian.PutUint64(a[8:], p.lo)
		return netip.PrefixFrom(netip.AddrFrom16(a), int(p.bitsPlus1-1))
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], uint32(p.lo))
	return netip.PrefixFrom(netip.AddrFrom4(a), int(p.bitsPlus1-1))
}

// Published reports whether Mimecast publishes a range that holds the
// address, whatever its Class (website and Web Security addresses are
// published but Foreign). It is r.Prefix().IsValid().
func (r Result) Published() bool { return r.prefix.bitsPlus1 != 0 }

// String formats r for people and logs: "mimecast us 170.10.128.0/24
// gateway", "foreign global 146.101.202.134/32 website" or "foreign".
func (r Result) String() string {
	if !r.Published() {
		return r.Class.String()
	}
	return r.Class.String() + " " + r.Regions.String() + " " + r.Prefix().String() + " " + r.Service.String()
}

// Classifier classifies addresses against one set of ranges. Build one
// with [Load] from a dataset, or with [New] from any ranges; [Default] is
// the one the package-level functions use. A Classifier never changes once
// built and is safe for concurrent use; lookups allocate nothing. The zero
// Classifier (and a nil *Classifier) classifies every address as Foreign.
type Classifier struct {
	m *lpm.Matcher
	// results is indexed by m.Slot: results[0] is the zero Result (no
	// range) and results[1+i] the Result of m.Range(i), so a lookup has no
	// branch on its answer.
	results []Result
	// t8 is m's compact IPv4 table, or nil: the lookups that are not
	// inlined into the caller walk it inline rather than call m.Slot.
	t8 *lpm.Table8
	// has6 is whether any range is IPv6: without one, an IPv6 address
	// is Foreign without a lookup.
	has6 bool

	// Read by no lookup, so after the fields the lookups load.
	version string      // the dataset's Version; "" for New
	scope   regions.Set // the regions it was restricted to; every region when not restricted
}

// New builds a Classifier from any ranges rs, such as a subset chosen with
// [regions.Filter]. Retired rows are skipped. It returns the errors of
// [matcher.New]. The Classifier's Version is "" and its Scope every region;
// to classify with a dataset, use [Load].
func New(rs []regions.Range) (*Classifier, error) {
	return build(rs, "", regions.AllSet())
}

// build is New with the version and scope to report.
func build(rs []regions.Range, version string, scope regions.Set) (*Classifier, error) {
	m, err := lpm.New(rs)
	if err != nil {
		return nil, err
	}
	c := &Classifier{version: version, scope: scope, m: m, results: make([]Result, 1+m.Len()), t8: m.Table8()}
	for i := range m.Len() {
		r := m.Range(i)
		c.has6 = c.has6 || r.Prefix.Addr().Is6()
		c.results[1+i] = Result{Class: ClassOf(r.Service), Regions: r.Regions, Service: r.Service, prefix: compact(r.Prefix)}
	}
	return c, nil
}

// Load builds a Classifier from the dataset d, restricted to the ranges
// published for the regions in scope and the global website and Web
// Security addresses ([regions.Filter]). An empty scope means every region,
// as for [Default]. Retired rows are skipped.
//
// The dataset comes from package regions: [regions.Embedded] for the
// embedded data, [regions.ParseFile] for a data file, [regions.Parse] for
// an [io.Reader]. A restricted scope is the check for an account's own
// lockdown: a Mimecast gateway of another region is Foreign to it.
func Load(d *regions.Dataset, scope regions.Set) (*Classifier, error) {
	if d == nil {
		return nil, fmt.Errorf("mimecastip: Load: nil dataset")
	}
	all := regions.AllSet()
	if scope.Intersect(all) != scope {
		return nil, fmt.Errorf("mimecastip: Load: scope %#x holds undefined regions", uint16(scope))
	}
	rs := d.Ranges
	if scope.IsEmpty() || scope == all {
		scope = all
	} else {
		rs = regions.Filter(rs, scope)
	}
	return build(rs, d.Version, scope)
}

// Version returns the version (as-of date) of the dataset c was loaded
// from by [Load], or "" for a Classifier built by [New], the zero
// Classifier and nil.
func (c *Classifier) Version() string {
	if c == nil {
		return ""
	}
	return c.version
}

// Scope returns the regions c was restricted to: the scope given to [Load],
// or every region ([regions.AllSet]) when it was empty and for a Classifier
// built by [New]. The global website and Web Security addresses are in
// every scope. The zero Classifier and nil report the empty set.
func (c *Classifier) Scope() regions.Set {
	if c == nil {
		return 0
	}
	return c.scope
}

// Len returns the number of active ranges c classifies against.
func (c *Classifier) Len() int {
	if c == nil {
		return 0
	}
	return c.m.Len()
}

// Ranges returns a copy of the active ranges c classifies against.
func (c *Classifier) Ranges() []regions.Range {
	if c == nil {
		return nil
	}
	return c.m.Ranges()
}

// Lookup classifies addr. IPv4-mapped IPv6 addresses are unmapped first,
// IPv6 zones are ignored and the zero Addr is Foreign. When published
// ranges nest, the most specific one decides.
func (c *Classifier) Lookup(addr netip.Addr) Result {
	// Small enough to inline, so that a caller that reads one field of the
	// Result (typically Class) loads that field only.
	if c == nil || c.m == nil {
		return Result{}
	}
	return c.results[c.m.Slot(addr)]
}

// The other exported lookups are one-line wrappers, small enough to
// inline, over unexported functions that return a pointer into the
// Classifier's immutable table of Results (or to noResult): the caller
// then loads only the fields it reads, where a function that returns the
// Result itself loads all of them to return them.

// noResult is the Result of anything Foreign and unpublished.
var noResult Result

// lookup4 is lookup for an IPv4 address given as its 4 bytes.
func (c *Classifier) lookup4(ip [4]byte) *Result {
	if c == nil || c.m == nil {
		return &noResult
	}
	if t := c.t8; t != nil {
		return &c.results[t.Slot(ip)]
	}
	return &c.results[c.m.Slot4(ip)]
}

// lookup is Lookup returning a pointer.
func (c *Classifier) lookup(addr netip.Addr) *Result {
	if c == nil || c.m == nil {
		return &noResult
	}
	return &c.results[c.m.Slot(addr)]
}

// LookupString parses s with [ParseAddr], which accepts the forms mail
// logs and headers carry ("a.b.c.d", IPv6, "[addr]", "a.b.c.d:port",
// "[addr]:port", "IPv6:addr"), and classifies the address. An s that is not
// an address is an error that quotes it, with the zero Result. It
// allocates nothing for an address without a zone.
func (c *Classifier) LookupString(s string) (Result, error) {
	r, err := c.lookupString(s)
	return *r, err
}

func (c *Classifier) lookupString(s string) (*Result, error) {
	if a, ok := parseQuad(s); ok { // the common case: a bare dotted quad
		return c.lookup(a), nil
	}
	return c.lookupStringSlow(s)
}

// lookupStringSlow serves lookupString for every form but the bare dotted
// quad.
func (c *Classifier) lookupStringSlow(s string) (*Result, error) {
	if a, ok := parseQuadForms(s); ok {
		return c.lookup(a), nil
	}
	a, ok := parseAddr(s)
	if !ok {
		return &noResult, &addrError{s}
	}
	return c.lookup(a), nil
}

// LookupIP classifies a [net.IP] of 4 or 16 bytes (a 16-byte IPv4 address,
// as [net.ParseIP] returns, is unmapped). A nil or malformed net.IP is
// Foreign.
func (c *Classifier) LookupIP(ip net.IP) Result { return *c.lookupIP(ip) }

func (c *Classifier) lookupIP(ip net.IP) *Result {
	// IPv4, and IPv4-mapped unmapped the cheap way (Slot would unmap too),
	// without a further call.
	if len(ip) == 4 || len(ip) == 16 && isMapped(ip) {
		return c.lookup4([4]byte(ip[len(ip)-4:]))
	}
	return c.lookupIP6(ip)
}

// lookupIP6 serves IPv6 and malformed net.IPs for lookupIP.
func (c *Classifier) lookupIP6(ip net.IP) *Result {
	a, ok := netip.AddrFromSlice(ip)
	if !ok || c != nil && !c.has6 {
		return &noResult
	}
	return c.lookup(a)
}

// isMapped reports whether the 16-byte ip is ::ffff:a.b.c.d.
func isMapped(ip net.IP) bool {
	return binary.LittleEndian.Uint64(ip[:8]) == 0 && binary.LittleEndian.Uint32(ip[8:12]) == 0xffff0000
}

// LookupNetAddr classifies the IP address of a [net.Addr], typically
// conn.RemoteAddr(). It handles *net.TCPAddr, *net.UDPAddr and *net.IPAddr
// without allocating; nil values and other types are Foreign.
func (c *Classifier) LookupNetAddr(a net.Addr) Result { return *c.lookupNetAddr(a) }

func (c *Classifier) lookupNetAddr(a net.Addr) *Result {
	var ip net.IP
	if t, ok := a.(*net.TCPAddr); ok && t != nil { // the common case, tested first
		ip = t.IP
	} else {
		ip = ipOf(a)
	}
	if len(ip) == 4 || len(ip) == 16 && isMapped(ip) { // as in lookupIP
		return c.lookup4([4]byte(ip[len(ip)-4:]))
	}
	return c.lookupIP6(ip)
}

// ipOf returns the IP of the net.Addr types lookupNetAddr knows, nil for
// others.
func ipOf(a net.Addr) net.IP {
	var ip net.IP
	switch v := a.(type) {
	case *net.TCPAddr:
		if v != nil {
			ip = v.IP
		}
	case *net.UDPAddr:
		if v != nil {
			ip = v.IP
		}
	case *net.IPAddr:
		if v != nil {
			ip = v.IP
		}
	}
	return ip
}

var (
	stdOnce sync.Once
	std     *Classifier
)

func buildStd() {
	c, err := Load(regions.Embedded(), 0)
	if err != nil {
		// The embedded dataset is validated by the tests of this module.
		panic("mimecastip: embedded dataset: " + err.Error())
	}
	std = c
}

// Default returns the Classifier over the whole embedded dataset, every
// region: Load(regions.Embedded(), 0). It is built on first use.
func Default() *Classifier {
	stdOnce.Do(buildStd)
	return std
}

// Lookup classifies addr against the embedded dataset; see
// [Classifier.Lookup].
func Lookup(addr netip.Addr) Result { return *lookupDefault(addr) }

// LookupString parses s and classifies it against the embedded dataset; see
// [Classifier.LookupString] for the accepted forms.
func LookupString(s string) (Result, error) {
	r, err := lookupStringDefault(s)
	return *r, err
}

// LookupIP classifies ip against the embedded dataset; see
// [Classifier.LookupIP].
func LookupIP(ip net.IP) Result { return *lookupIPDefault(ip) }

// LookupNetAddr classifies the address of a (typically conn.RemoteAddr())
// against the embedded dataset; see [Classifier.LookupNetAddr].
func LookupNetAddr(a net.Addr) Result { return *lookupNetAddrDefault(a) }

// The package-level lookups inline one-line wrappers over these (see
// Classifier.lookup).
func lookupDefault(addr netip.Addr) *Result {
	// Default, then lookup without the nil checks (std is complete) and
	// with the IPv4 table walk inline.
	c := Default()
	if t := c.t8; t != nil && addr.Is4() {
		return &c.results[t.Slot(addr.As4())]
	}
	return &c.results[c.m.Slot(addr)]
}
func lookupStringDefault(s string) (*Result, error) { return Default().lookupString(s) }
func lookupIPDefault(ip net.IP) *Result             { return Default().lookupIP(ip) }
func lookupNetAddrDefault(a net.Addr) *Result       { return Default().lookupNetAddr(a) }
