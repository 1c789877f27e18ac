package export

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// No PowerShell exists on this platform (it is not in Debian, and its
// downloads are out of reach), so the m365 and exchange scripts are checked
// by golden files and by this strict checker of the subset of PowerShell
// they use: balanced brackets and quotes, backtick continuations only at
// the end of a line, variables assigned before use, array elements that
// are quoted prefixes, and every cmdlet parameter spelled as Microsoft's
// reference documents it, with a value of the right kind.

// psCmdlets lists, for each cmdlet the exports call, its parameters and
// their kind: "bool" ($true/$false), "switch" (no value) or "value".
// Source: MicrosoftDocs/office-docs-powershell,
// exchange/exchange-ps/ExchangePowerShell/{New,Set,Get}-InboundConnector.md,
// Set-HostedConnectionFilterPolicy.md, Set-ReceiveConnector.md,
// Set-TransportConfig.md (the SYNTAX sections).
var psCmdlets = map[string]map[string]string{
	"Get-InboundConnector": {"Identity": "value"},
	"New-InboundConnector": {
		"Name": "value", "SenderDomains": "value", "AssociatedAcceptedDomains": "value", "ClientHostNames": "value",
		"CloudServicesMailEnabled": "bool", "Comment": "value", "Confirm": "switch", "ConnectorSource": "value",
		"ConnectorType": "value", "EFSkipIPs": "value", "EFSkipLastIP": "bool", "EFSkipMailGateway": "value",
		"EFTestMode": "bool", "EFUsers": "value", "Enabled": "bool", "RequireTls": "bool",
		"RestrictDomainsToCertificate": "bool", "RestrictDomainsToIPAddresses": "bool",
		"ScanAndDropRecipients": "value", "SenderIPAddresses": "value", "TlsSenderCertificateName": "value",
		"TreatMessagesAsInternal": "bool", "TrustedOrganizations": "value", "WhatIf": "switch",
	},
	"Set-InboundConnector": {
		"Identity": "value", "AssociatedAcceptedDomains": "value", "CloudServicesMailEnabled": "bool",
		"Comment": "value", "Confirm": "switch", "ConnectorSource": "value", "ConnectorType": "value",
		"EFSkipIPs": "value", "EFSkipLastIP": "bool", "EFSkipMailGateway": "value", "EFTestMode": "bool",
		"EFUsers": "value", "Enabled": "bool", "Name": "value", "RequireTls": "bool",
		"RestrictDomainsToCertificate": "bool", "RestrictDomainsToIPAddresses": "bool",
		"ScanAndDropRecipients": "value", "SenderDomains": "value", "SenderIPAddresses": "value",
		"TlsSenderCertificateName": "value", "TreatMessagesAsInternal": "bool", "TrustedOrganizations": "value",
		"WhatIf": "switch",
	},
	"Set-HostedConnectionFilterPolicy": {
		"Identity": "value", "AdminDisplayName": "value", "ConfigurationXmlRaw": "value", "Confirm": "switch",
		"EnableSafeList": "bool", "IPAllowList": "value", "IPBlockList": "value", "MakeDefault": "switch",
		"WhatIf": "switch",
	},
	"Set-ReceiveConnector":   {"Identity": "value", "RemoteIPRanges": "value", "Bindings": "value", "Confirm": "switch", "WhatIf": "switch"},
	"Set-TransportConfig":    {"Identity": "value", "InternalSMTPServers": "value", "Confirm": "switch", "WhatIf": "switch"},
	"Connect-ExchangeOnline": {},
}

// psCommon are PowerShell's common parameters that take a value.
var psCommon = map[string]bool{"ErrorAction": true, "WarningAction": true, "ErrorVariable": true}

// checkPowerShell returns every problem found in script.
func checkPowerShell(script string) []string {
	var errs []string
	bad := func(line int, format string, a ...any) {
		errs = append(errs, fmt.Sprintf("line %d: %s", line, fmt.Sprintf(format, a...)))
	}
	defined := map[string]bool{"true": true, "false": true, "null": true}
	var stack []byte
	open := map[byte]byte{'(': ')', '{': '}'}
	lines := strings.Split(script, "\n")
	var stmt []string // words of the current (possibly continued) statement
	stmtLine := 0
	flush := func() {
		if len(stmt) > 0 {
			checkCmdlet(stmt, stmtLine, bad)
		}
		stmt = nil
	}
	for i, line := range lines {
		n := i + 1
		// strip the comment, find strings
		var words []string
		var cur strings.Builder
		word := func() {
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
		}
		continued := false
		for j := 0; j < len(line); j++ {
			c := line[j]
			switch {
			case c == '#':
				j = len(line)
			case c == '"':
				k := strings.IndexByte(line[j+1:], '"')
				if k < 0 {
					bad(n, "unterminated string")
					j = len(line)
					continue
				}
				s := line[j+1 : j+1+k]
				for _, v := range psVars(s) {
					if !defined[strings.ToLower(v)] && !strings.HasPrefix(strings.ToLower(v), "env:") {
						bad(n, "$%s used in a string before it is assigned", v)
					}
				}
				cur.WriteString(line[j : j+2+k])
				j += 1 + k
			case c == '`':
				if strings.TrimSpace(line[j+1:]) != "" {
					bad(n, "backtick not at the end of the line")
				}
				if j == 0 || line[j-1] != ' ' {
					bad(n, "no space before the continuation backtick")
				}
				continued = true
				j = len(line)
			case c == '(' || c == '{':
				word()
				stack = append(stack, c)
				words = append(words, string(c))
			case c == ')' || c == '}':
				word()
				if len(stack) == 0 || open[stack[len(stack)-1]] != c {
					bad(n, "unbalanced %q", c)
				} else {
					stack = stack[:len(stack)-1]
				}
				words = append(words, string(c))
			case c == ' ' || c == '\t' || c == ',' || c == ';':
				word()
				if c == ',' {
					words = append(words, ",")
				}
			default:
				cur.WriteByte(c)
			}
		}
		word()
		// assignments: $Name = ...
		if len(words) >= 2 && strings.HasPrefix(words[0], "$") && words[1] == "=" {
			defined[strings.ToLower(words[0][1:])] = true
		}
		for _, w := range words {
			if strings.HasPrefix(w, "$") && len(w) > 1 && !strings.HasPrefix(w, "$env:") && !defined[strings.ToLower(w[1:])] {
				bad(n, "%s used before it is assigned", w)
			}
			if strings.HasPrefix(w, "@") && w != "@" && !strings.HasPrefix(w, "@{") && !strings.HasPrefix(w, "@(") {
				bad(n, "unexpected %s", w)
			}
		}
		if stmtLine == 0 || len(stmt) == 0 {
			stmtLine = n
		}
		stmt = append(stmt, words...)
		if !continued {
			flush()
			stmtLine = 0
		} else if i == len(lines)-1 {
			bad(n, "continuation at the end of the script")
		}
	}
	if len(stack) > 0 {
		errs = append(errs, fmt.Sprintf("end: %d unclosed brackets", len(stack)))
	}
	return errs
}

// psVars returns the variable names expanded in a double-quoted string.
func psVars(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] == ':' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j > i+1 {
			out = append(out, s[i+1:j])
		}
		i = j - 1
	}
	return out
}

// checkCmdlet checks the parameters of every cmdlet call in the words of
// one statement.
func checkCmdlet(words []string, line int, bad func(int, string, ...any)) {
	if strings.HasPrefix(words[0], "-") {
		bad(line, "%s without a cmdlet (a lost continuation?)", words[0])
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !strings.Contains(w, "-") || strings.HasPrefix(w, "-") || strings.HasPrefix(w, "$") || strings.HasPrefix(w, "\"") {
			continue
		}
		params, ok := psCmdlets[w]
		if !ok {
			if len(w) > 0 && w[0] >= 'A' && w[0] <= 'Z' {
				bad(line, "unknown cmdlet %s", w)
			}
			continue
		}
		seen := map[string]bool{}
		for i++; i < len(words); i++ {
			p := words[i]
			if p == ")" || p == "}" || p == "{" {
				i--
				break
			}
			if !strings.HasPrefix(p, "-") {
				bad(line, "%s: unexpected %q (a value without a parameter)", w, p)
				continue
			}
			name := p[1:]
			kind, ok := params[name]
			if !ok && psCommon[name] {
				kind, ok = "value", true
			}
			if !ok {
				bad(line, "%s has no parameter -%s", w, name)
				continue
			}
			if seen[name] {
				bad(line, "%s: -%s given twice", w, name)
			}
			seen[name] = true
			if kind == "switch" {
				continue
			}
			if i+1 >= len(words) || strings.HasPrefix(words[i+1], "-") || words[i+1] == ")" || words[i+1] == "}" {
				bad(line, "%s -%s: no value", w, name)
				continue
			}
			i++
			v := words[i]
			if kind == "bool" && v != "$true" && v != "$false" {
				bad(line, "%s -%s: %q is not $true or $false", w, name, v)
			}
			if v == "@{" || v == "@(" || v == "(" {
				// skip the bracketed value
				depth := 1
				for i++; i < len(words) && depth > 0; i++ {
					switch words[i] {
					case "(", "{", "@{", "@(":
						depth++
					case ")", "}":
						depth--
					}
				}
				i--
			}
		}
	}
}

// psArray returns the elements of the array assigned to $name.
func psArray(t *testing.T, script, name string) []string {
	t.Helper()
	start := strings.Index(script, "$"+name+" = @(\n")
	require.GreaterOrEqual(t, start, 0, "no $%s = @( ... )", name)
	body := script[start+len("$"+name+" = @(\n"):]
	end := strings.Index(body, "\n)")
	require.GreaterOrEqual(t, end, 0)
	var out []string
	lines := strings.Split(body[:end], "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if i < len(lines)-1 {
			require.True(t, strings.HasSuffix(l, ","), "element %q: missing comma", l)
			l = strings.TrimSuffix(l, ",")
		} else {
			require.False(t, strings.HasSuffix(l, ","), "trailing comma after the last element")
		}
		require.True(t, len(l) > 2 && l[0] == '"' && l[len(l)-1] == '"', "element %q is not a quoted string", l)
		out = append(out, l[1:len(l)-1])
	}
	return out
}

func TestPowerShellChecker(t *testing.T) {
	good, _ := export(t, "m365", mustSet("us"), Options{})
	require.Empty(t, checkPowerShell(good))
	// planted mistakes are found
	for name, bug := range map[string]func(string) string{
		"misspelt parameter": func(s string) string { return strings.Replace(s, "-EFSkipIPs", "-EFSkipIP", 1) },
		"lost continuation":  func(s string) string { return strings.Replace(s, "$true `\n", "$true\n", 1) },
		"bool as text":       func(s string) string { return strings.Replace(s, "-EFSkipLastIP $false", "-EFSkipLastIP false", 1) },
		"unbalanced":         func(s string) string { return strings.Replace(s, "} else {", "else {", 1) },
		"unterminated":       func(s string) string { return strings.Replace(s, `"Mimecast inbound"`, `"Mimecast inbound`, 1) },
		"undefined variable": func(s string) string {
			return strings.Replace(s, "-EFSkipIPs $MimecastIPs", "-EFSkipIPs $MimecastIP", 1)
		},
		"unknown cmdlet": func(s string) string { return strings.Replace(s, "Set-InboundConnector", "Set-InboundConector", 1) },
		"twice": func(s string) string {
			return strings.Replace(s, "-EFSkipLastIP $false", "-EFSkipLastIP $false -EFSkipLastIP $false", 1)
		},
		"backtick mid-line": func(s string) string { return strings.Replace(s, "$true `\n", "$true ` \n -x\n", 1) },
	} {
		bad := bug(good)
		require.NotEqual(t, good, bad, name)
		assert.NotEmpty(t, checkPowerShell(bad), name)
	}
}

func TestM365EnhancedFiltering(t *testing.T) {
	for _, region := range []string{"us", "eu", "za", "all"} {
		got, rs := export(t, "m365", mustSet(region), Options{})
		assert.Empty(t, checkPowerShell(got), region)
		elems := psArray(t, got, "MimecastIPs")
		var ps []netip.Prefix
		for _, e := range elems {
			p, err := netip.ParsePrefix(e)
			require.NoError(t, err, e)
			require.True(t, p.Addr().Is4() && p.Bits() >= 24 && p == p.Masked(), "%s: %s is not an IPv4 /24../32", region, e)
			ps = append(ps, p)
		}
		assert.True(t, setOf(ps).Equal(rangesSet(rs)), region)
		// both branches skip-list the ranges and restrict the connector to them
		for _, cmd := range []string{"Set-InboundConnector", "New-InboundConnector"} {
			i := strings.Index(got, "    "+cmd+" ")
			require.GreaterOrEqual(t, i, 0, cmd)
			stmt := got[i:]
			end := strings.Index(stmt, "\n}")
			require.GreaterOrEqual(t, end, 0, cmd)
			stmt = stmt[:end]
			for _, want := range []string{"-SenderIPAddresses $MimecastIPs", "-RestrictDomainsToIPAddresses $true", "-EFSkipLastIP $false", "-EFSkipIPs $MimecastIPs"} {
				assert.Contains(t, stmt, want, "%s %s", region, cmd)
			}
		}
		assert.NotContains(t, got, "Set-HostedConnectionFilterPolicy", "%s: the IP Allow List is used without the flag", region)
		assert.NotContains(t, got, "IPAllowList @", region)

		with, _ := export(t, "m365", mustSet(region), Options{M365IPAllowList: true})
		assert.Empty(t, checkPowerShell(with), region)
		assert.Contains(t, with, "Set-HostedConnectionFilterPolicy -Identity Default -IPAllowList @{Add=$MimecastIPs}")
		assert.Contains(t, with, "CIS Microsoft 365")
		assert.Contains(t, with, "-EFSkipIPs $MimecastIPs")
	}
	got, _ := export(t, "m365", mustSet("us"), Options{M365IPAllowList: true})
	path := filepath.Join("testdata", "m365-ipallowlist-us.golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update")
	assert.Equal(t, string(want), got)
}

func TestExchangeInternalSMTPServers(t *testing.T) {
	for _, region := range []string{"us", "eu", "all"} {
		got, rs := export(t, "exchange", mustSet(region), Options{})
		assert.Empty(t, checkPowerShell(got), region)
		var ps []netip.Prefix
		for _, e := range psArray(t, got, "MimecastIPs") {
			p, err := netip.ParsePrefix(e)
			require.NoError(t, err, e)
			ps = append(ps, p)
		}
		assert.True(t, setOf(ps).Equal(rangesSet(rs)), region)
		assert.Contains(t, got, "\nSet-ReceiveConnector -Identity $ConnectorName -RemoteIPRanges $MimecastIPs\n")
		assert.Contains(t, got, "\nSet-TransportConfig -InternalSMTPServers @{Add=$MimecastIPs}\n")
	}
}
