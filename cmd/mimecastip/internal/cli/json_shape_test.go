package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/spf/spftest"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// The JSON rules of every --json output (README, "JSON output"): keys are
// snake_case, and a set of regions is an array of region tokens, never the
// comma-joined string. The listings of regions --json and refresh --json
// hold one object per region under "regions", each naming it in "region".

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkJSONShape checks every JSON document of out (one, or JSON Lines)
// and returns how many sets of regions it holds that are not empty.
func checkJSONShape(t *testing.T, out string) (sets int) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	docs := 0
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		require.NoError(t, err, out)
		docs++
		sets += walkJSON(t, "", v)
	}
	require.Positive(t, docs, "no JSON in %q", out)
	return sets
}

func walkJSON(t *testing.T, path string, v any) (sets int) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := path + "." + k
			assert.Regexp(t, snakeKey, k, "key %s is not snake_case", p)
			if k == "regions" || strings.HasSuffix(k, "_regions") {
				arr, ok := e.([]any)
				if !assert.True(t, ok, "%s is %T, not an array", p, e) {
					continue
				}
				for i, el := range arr {
					switch r := el.(type) {
					case string:
						_, err := regions.ParseRegion(r)
						assert.NoError(t, err, "%s[%d] is not a region token", p, i)
						if i == 0 {
							sets++
						}
					case map[string]any:
						assert.Contains(t, r, "region", "%s[%d]: an object in a regions list names its region", p, i)
					default:
						t.Errorf("%s[%d] is %T", p, i, el)
					}
				}
			}
			sets += walkJSON(t, p, e)
		}
	case []any:
		for i, e := range x {
			sets += walkJSON(t, path+"["+string(rune('0'+i%10))+"]", e)
		}
	}
	return sets
}

// assertRegionsArray checks out and that it prints at least one non-empty
// set of regions as an array: "regions":["us"...
func assertRegionsArray(t *testing.T, r cliResult, want string) {
	t.Helper()
	assert.Positive(t, checkJSONShape(t, r.stdout), "no set of regions in %s", r.stdout)
	var compact bytes.Buffer
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for {
		var raw json.RawMessage
		if dec.Decode(&raw) != nil {
			break
		}
		require.NoError(t, json.Compact(&compact, raw))
	}
	assert.Contains(t, compact.String(), want)
}

func TestJSONShapeLookup(t *testing.T) {
	r := cliRun("", "lookup", "--json", "170.10.128.5", "8.8.8.8")
	assertRegionsArray(t, r, `"regions":["us"]`)
}

func TestJSONShapeScan(t *testing.T) {
	assertRegionsArray(t, cliRun(addrLog, "scan", "--json"), `"regions":["eu"]`)
	assertRegionsArray(t, cliRun(addrLog, "scan", "--json", "--addresses"), `"regions":["eu"]`)
	assertRegionsArray(t, cliRun(addrLog, "scan", "--json", "--count", "--class", "mimecast,foreign"), `"regions":["us"]`)
	r := cliRun(addrLog, "scan", "--json", "--count", "--class", "foreign")
	checkJSONShape(t, r.stdout)
	assert.Contains(t, r.stdout, `"regions": []`, "an empty set is [], not null")
	assertRegionsArray(t, cliRun(openRelayLog, "scan", "--open-relay", "--json"), `"regions":["us"]`)
}

func TestJSONShapeExport(t *testing.T) {
	r := cliRun("", "export", "--format", "json", "--region", "us")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assertRegionsArray(t, r, `"regions":["us"]`)
}

func TestJSONShapeAudit(t *testing.T) {
	r := cliRun("170.10.128.0/22\n8.8.8.0/24\n", "audit", "--json", "--region", "us")
	require.Equal(t, ExitFinding, r.code, r.stderr)
	assertRegionsArray(t, r, `"regions":["us"]`)
}

func TestJSONShapeRegions(t *testing.T) {
	r := cliRun("", "regions", "--json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	checkJSONShape(t, r.stdout)
	assert.Contains(t, r.stdout, `"region": "us"`)
}

func TestJSONShapeTrace(t *testing.T) {
	r := cliRun("", "trace", "--json", "--region", "us", traceFixtures+"nonspf.eml", traceFixtures+"eu-gateway.eml")
	assertRegionsArray(t, r, `"regions":["`)
	assert.Contains(t, r.stdout, `"account_regions":[`)
}

func TestJSONShapeRefresh(t *testing.T) {
	s := spftest.Start(t, refreshZone(t, regions.USB, nil, []string{"170.10.151.0/24"}))
	st, out, errs := refreshRun(t, "--dns", s.Addr, "--json")
	require.Equal(t, ExitFinding, st, errs)
	assertRegionsArray(t, cliResult{st, out, errs}, `"regions":["usb"]`)
}
