package regions

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
)

// Region is a Mimecast grid (data-center region). An account lives on exactly
// one grid, named by the first letters of its account code (CUSA..., CUK...).
//
// The zero Region is not a region; its String is "".
type Region uint8

// The regions, in the fixed order used by [Set.String].
const (
	US     Region = iota + 1 // "us": United States A grid, account codes CUSA
	USB                      // "usb": United States B grid, account codes CUSB
	CA                       // "ca": Canada, account codes CCA
	EU                       // "eu": Europe excluding Germany (UK grid), account codes CUK
	DE                       // "de": Germany, account codes CDE
	AU                       // "au": Australia, account codes CAU
	ZA                       // "za": South Africa, account codes CSA
	USPCOM                   // "uspcom": US public sector; no ranges published
	JE                       // "je": Offshore (Jersey); no SPF record; its MX hosts sit in two EU rows (probable)
	Global                   // "global": published for every account (website, Web Security)

	maxRegion = Global
)

var regionTokens = [...]string{
	US: "us", USB: "usb", CA: "ca", EU: "eu", DE: "de", AU: "au", ZA: "za",
	USPCOM: "uspcom", JE: "je", Global: "global",
}

// accountCodes maps account-code prefixes to regions. Longer prefixes first
// where one prefix could shadow another.
var accountCodes = [...]struct {
	prefix string
	region Region
}{
	{"CUSA", US}, {"CUSB", USB}, {"CCA", CA}, {"CUK", EU},
	{"CDE", DE}, {"CAU", AU}, {"CSA", ZA},
}

// aliases are extra spellings people use for a region.
var aliases = map[string]Region{
	"us-a": US, "usa": US, "us-b": USB, "uk": EU, "jer": JE, "offshore": JE,
}

// List returns every region in the fixed order, Global last.
func List() []Region {
	out := make([]Region, 0, maxRegion)
	for r := US; r <= maxRegion; r++ {
		out = append(out, r)
	}
	return out
}

// Valid reports whether r is one of the defined regions.
func (r Region) Valid() bool { return r >= US && r <= maxRegion }

// String returns the region's token ("us", "usb", "eu", ...), or "" for the
// zero Region and "region(N)" for an undefined value.
func (r Region) String() string {
	if r == 0 {
		return ""
	}
	if !r.Valid() {
		return fmt.Sprintf("region(%d)", uint8(r))
	}
	return regionTokens[r]
}

// MarshalText implements [encoding.TextMarshaler]. The zero Region marshals
// to the empty string.
func (r Region) MarshalText() ([]byte, error) {
	if r != 0 && !r.Valid() {
		return nil, fmt.Errorf("regions: invalid region %d", uint8(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with the rules of
// [ParseRegion]; the empty string gives the zero Region.
func (r *Region) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = 0
		return nil
	}
	v, err := ParseRegion(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseRegion parses a region token ("us", "USB", "eu", ...), a common alias
// ("uk" for eu, "us-a", "us-b", "jer"), or a Mimecast account code such as
// "CUSA12A345" (which gives US). Matching is case-insensitive and ignores
// surrounding space.
func ParseRegion(s string) (Region, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for r := US; r <= maxRegion; r++ {
		if regionTokens[r] == t {
			return r, nil
		}
	}
	if r, ok := aliases[t]; ok {
		return r, nil
	}
	u := strings.ToUpper(strings.TrimSpace(s))
	for _, ac := range accountCodes {
		if strings.HasPrefix(u, ac.prefix) && isAlnum(u) {
			return ac.region, nil
		}
	}
	return 0, fmt.Errorf("regions: unknown region %q (want one of %s, or an account code such as CUSA...)", s, strings.Join(regionTokens[1:], ", "))
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Set is a set of regions. The zero Set is empty. Sets are small values,
// comparable and safe to copy.
type Set uint16

// SetOf returns the set holding the given regions. Invalid regions are
// ignored.
func SetOf(rs ...Region) Set {
	var s Set
	for _, r := range rs {
		s = s.Add(r)
	}
	return s
}

// AllSet returns the set of every region, [Global] included.
func AllSet() Set { return SetOf(List()...) }

// Add returns s with r added. An invalid region leaves s unchanged.
func (s Set) Add(r Region) Set {
	if !r.Valid() {
		return s
	}
	return s | 1<<r
}

// Has reports whether r is in s.
func (s Set) Has(r Region) bool { return r.Valid() && s&(1<<r) != 0 }

// Union returns the regions in s or t.
func (s Set) Union(t Set) Set { return s | t }

// Intersect returns the regions in both s and t.
func (s Set) Intersect(t Set) Set { return s & t }

// Len returns the number of regions in s.
func (s Set) Len() int { return bits.OnesCount16(uint16(s)) }

// IsEmpty reports whether s holds no region.
func (s Set) IsEmpty() bool { return s == 0 }

// Regions returns the members of s in the fixed region order.
func (s Set) Regions() []Region {
	out := make([]Region, 0, s.Len())
	for r := US; r <= maxRegion; r++ {
		if s.Has(r) {
			out = append(out, r)
		}
	}
	return out
}

// String returns the region tokens of s joined by "," in the fixed region
// order ("us,usb"), or "" for the empty set.
func (s Set) String() string {
	var b strings.Builder
	for r := US; r <= maxRegion; r++ {
		if s.Has(r) {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(regionTokens[r])
		}
	}
	return b.String()
}

// MarshalText implements [encoding.TextMarshaler] with the form of
// [Set.String].
func (s Set) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON implements [json.Marshaler]: a Set is a JSON array of region
// tokens in the fixed region order (["us","usb"]), [] for the empty set.
// (As a map key, a Set uses [Set.MarshalText].)
func (s Set) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, 8*s.Len()+2), '[')
	for i, r := range s.Regions() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, regionTokens[r]...)
		b = append(b, '"')
	}
	return append(b, ']'), nil
}

// UnmarshalJSON implements [json.Unmarshaler]: it takes a JSON array of
// strings, each accepted by [ParseRegion], or null for the empty set.
func (s *Set) UnmarshalJSON(b []byte) error {
	var tokens []string
	if err := json.Unmarshal(b, &tokens); err != nil {
		return fmt.Errorf("regions: a region set is a JSON array of region tokens: %w", err)
	}
	var set Set
	for _, t := range tokens {
		r, err := ParseRegion(t)
		if err != nil {
			return err
		}
		set = set.Add(r)
	}
	*s = set
	return nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with the rules of
// [ParseSet].
func (s *Set) UnmarshalText(b []byte) error {
	v, err := ParseSet(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSet parses a comma-separated list of regions, each accepted by
// [ParseRegion]. The empty string gives the empty set; "all" gives every
// region.
func ParseSet(s string) (Set, error) {
	var set Set
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	if strings.EqualFold(strings.TrimSpace(s), "all") {
		return AllSet(), nil
	}
	for _, f := range strings.Split(s, ",") {
		r, err := ParseRegion(f)
		if err != nil {
			return 0, err
		}
		set = set.Add(r)
	}
	return set, nil
}

// Service says what Mimecast publishes a range for. The zero Service is
// "none".
type Service uint8

// The services.
const (
	// Gateway ranges send and receive customers' mail: the regional
	// gateway tables of the Data Centers page and the regional SPF records.
	Gateway Service = iota + 1
	// NonSPF ranges relay mail whose envelope sender is not one of the
	// account's internal domains, so it fails the sender's SPF by design.
	NonSPF
	// Website addresses serve the Mimecast website and login pages; no
	// mail comes from them.
	Website
	// WebSecurity addresses are the Web Security DNS resolvers and agent
	// endpoint; no mail comes from them.
	WebSecurity

	maxService = WebSecurity
)

var serviceTokens = [...]string{
	Gateway: "gateway", NonSPF: "non-spf", Website: "website", WebSecurity: "web-security",
}

// Services returns every defined service.
func Services() []Service { return []Service{Gateway, NonSPF, Website, WebSecurity} }

// Valid reports whether v is a defined service.
func (v Service) Valid() bool { return v >= Gateway && v <= maxService }

// Mail reports whether mail is delivered from ranges of this service
// (Gateway and NonSPF).
func (v Service) Mail() bool { return v == Gateway || v == NonSPF }

// String returns the service token ("gateway", "non-spf", "website",
// "web-security"), or "" for the zero Service.
func (v Service) String() string {
	if v == 0 {
		return ""
	}
	if !v.Valid() {
		return fmt.Sprintf("service(%d)", uint8(v))
	}
	return serviceTokens[v]
}

// MarshalText implements [encoding.TextMarshaler].
func (v Service) MarshalText() ([]byte, error) {
	if v != 0 && !v.Valid() {
		return nil, fmt.Errorf("regions: invalid service %d", uint8(v))
	}
	return []byte(v.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; the empty string
// gives the zero Service.
func (v *Service) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = 0
		return nil
	}
	s, err := ParseService(string(b))
	if err != nil {
		return err
	}
	*v = s
	return nil
}

// ParseService parses a service token, case-insensitively.
func ParseService(s string) (Service, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for v := Gateway; v <= maxService; v++ {
		if serviceTokens[v] == t {
			return v, nil
		}
	}
	return 0, fmt.Errorf("regions: unknown service %q (want one of %s)", s, strings.Join(serviceTokens[1:], ", "))
}
