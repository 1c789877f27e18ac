package refresh_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/refresh"
	"github.com/seed-b311f21d/go-mimecastip/regions"
)

// A poisoned us._netblocks answer adding one /24 of someone else's space
// (narrow enough, far from doubling us) was ordinary drift: the README's
// unreviewed nightly job wrote it and reloaded, and the policy service
// then passed that network. An addition in a /16 where the dataset holds
// no row at all needs review; one inside Mimecast's networks does not.
func TestGuardNewNetwork(t *testing.T) {
	data := embeddedText(t)
	_, rep := run(t, data, embeddedZone(regions.US, usRecord("ip4:45.9.1.0/24")), regions.US)
	us := report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusRefused, us.Status)
	assert.Equal(t, "growth", us.ErrorKind)
	assert.Contains(t, us.Error, "ip4:45.9.1.0/24 in us._netblocks.mimecast.com is a new network: no row of the dataset lies in its /16")
	assert.Contains(t, us.Error, "--accept")

	// A /32 too, and through an include.
	z := embeddedZone(regions.US, usRecord("include:evil.example.com"))
	z["evil.example.com"] = []string{"v=spf1 ip4:45.9.1.7 -all"}
	_, rep = run(t, data, z, regions.US)
	us = report(t, rep, regions.US)
	assert.Equal(t, refresh.StatusRefused, us.Status)
	assert.Contains(t, us.Error, "ip4:45.9.1.7/32 in evil.example.com is a new network")

	// Inside a /16 that holds Mimecast rows (of any region): drift.
	for _, p := range []string{"170.10.158.0/24", "41.74.207.0/24", "216.145.218.0/24"} {
		d, rep := run(t, data, embeddedZone(regions.US, usRecord("ip4:"+p)), regions.US)
		us = report(t, rep, regions.US)
		require.Equal(t, refresh.StatusDrift, us.Status, "%s: %s", p, us.Error)
		_, _, err := refresh.Apply(d, rep, refresh.ApplyOptions{Today: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
		require.NoError(t, err)
	}

	// The admin's review lets it through.
	_, rep = runWith(t, data, embeddedZone(regions.US, usRecord("ip4:45.9.1.0/24")),
		refresh.Options{Accept: []netip.Prefix{netip.MustParsePrefix("45.9.1.0/24")}}, regions.US)
	assert.Equal(t, refresh.StatusDrift, report(t, rep, regions.US).Status)
}
