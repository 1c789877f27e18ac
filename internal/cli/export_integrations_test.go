package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExportM365EnhancedFilteringCLI(t *testing.T) {
	r := cliRun("", "export", "--format", "m365", "--region", "us")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "-EFSkipIPs $MimecastIPs")
	assert.Contains(t, r.stdout, "-EFSkipLastIP $false")
	assert.NotContains(t, r.stdout, "Set-HostedConnectionFilterPolicy")

	r = cliRun("", "export", "--format", "m365", "--region", "us", "--m365-ip-allow-list")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Set-HostedConnectionFilterPolicy -Identity Default -IPAllowList @{Add=$MimecastIPs}")

	r = cliRun("", "export", "--help")
	assert.Contains(t, r.stdout, "-m365-ip-allow-list")
	assert.Contains(t, r.stdout, "CIS Microsoft 365")
	assert.Contains(t, r.stdout, "CISA")
}
