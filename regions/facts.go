package regions

// Info holds the published facts about one region.
type Info struct {
	Region      Region
	Name        string // a human name, e.g. "United States (A grid)"
	AccountCode string // the account-code prefix, e.g. "CUSA"; "" where none is published
	SPFInclude  string // the region's SPF include, e.g. "us._netblocks.mimecast.com"; "" where none is known
	URLs        []URL  // application and API addresses
}

// URL is one published application address.
type URL struct {
	Name   string `json:"name"` // what it is, e.g. "Administration Console"
	URL    string `json:"url"`
	Source string `json:"source"` // where it was published
}

// Port is one row of the protocol and port table of the Data Centers page.
type Port struct {
	Protocol string `json:"protocol"`
	Port     uint16 `json:"port"`
	Usage    string `json:"usage"`
}

const (
	srcSeedDC  = `Mimecast "Mimecast Data Centers and URLs" support page (copy of 2026-11-22)`
	srcSPFPage = `Mimecast "Connect Application - Implementing SPF for Outbound Email" (support article 34000792642963)`
	srcAPI     = `third-party region maps and Microsoft's Mimecast SSO tutorials (MicrosoftDocs/azure-docs)`
	srcAPI2    = `Mimecast "Enhancing API Gateway Resilience" (support article 41019270938643, 2025-06-03)`
	srcCodes   = `Mimecast "Account Settings - Identifying Mimecast Regions" (support article 34000632786067)`
)

var infos = map[Region]Info{
	US: {US, "United States (A grid)", "CUSA", "us._netblocks.mimecast.com", []URL{
		{"Administration Console", "https://login-us.mimecast.com/u/login?gta=administration", srcSeedDC},
		{"Service Monitor", "https://portal.mimecast.com/servicemonitorus/login.aspx", srcSeedDC},
		{"Mimecast Personal Portal", "https://webmail-us.mimecast.com/m/portal/login/#/login", srcSeedDC},
		{"Mimecast API", "https://us-api.mimecast.com", srcSeedDC},
		{"Mimecast Secure Messaging Portal", "https://login-us.mimecast.com/m/secure", srcSeedDC},
		{"Mimecast API 2.0", "https://us-api.services.mimecast.com", srcAPI2},
	}},
	USB: {USB, "United States (B grid)", "CUSB", "usb._netblocks.mimecast.com", []URL{
		{"Mimecast API", "https://usb-api.mimecast.com", srcAPI},
		{"Administration Console", "https://login-usb.mimecast.com", srcAPI},
	}},
	CA: {CA, "Canada", "CCA", "ca._netblocks.mimecast.com", []URL{
		{"Mimecast API", "https://ca-api.mimecast.com", srcAPI},
	}},
	EU: {EU, "Europe excluding Germany (UK grid)", "CUK", "eu._netblocks.mimecast.com", []URL{
		{"Mimecast API", "https://eu-api.mimecast.com", srcAPI},
		{"Administration Console", "https://login-eu.mimecast.com", srcAPI},
		{"Mimecast API 2.0", "https://uk-api.services.mimecast.com", srcAPI2},
	}},
	DE: {DE, "Germany", "CDE", "de._netblocks.mimecast.com", []URL{
		{"Mimecast API", "https://de-api.mimecast.com", srcAPI},
	}},
	AU: {AU, "Australia", "CAU", "au._netblocks.mimecast.com", []URL{
		{"Mimecast API", "https://au-api.mimecast.com", srcAPI},
		{"Administration Console", "https://login-au.mimecast.com", srcAPI},
	}},
	ZA: {ZA, "South Africa", "CSA", "za._netblocks.mimecast.com", []URL{
		{"Mimecast API", "https://za-api.mimecast.com", srcAPI},
		{"Administration Console", "https://login-za.mimecast.com", srcAPI},
	}},
	USPCOM: {USPCOM, "United States public sector", "", "uspcom._netblocks.mimecast-pscom-us.com", []URL{
		{"Mimecast API", "https://uspcom-api.mimecast-pscom-us.com", srcAPI},
	}},
	JE: {JE, "Offshore (Jersey)", "", "", []URL{
		{"Mimecast API", "https://jer-api.mimecast.com", srcAPI},
		{"Administration Console", "https://login-jer.mimecast.com", srcAPI},
	}},
	Global: {Global, "Global (all accounts)", "", "", []URL{
		{"Administration Console", "https://login.mimecast.com/u/login?gta=administration", srcSeedDC},
		{"Mimecast Personal Portal", "https://webmail.mimecast.com/m/portal/login/#/login", srcSeedDC},
		{"Mimecast API", "https://api.mimecast.com/", srcSeedDC},
		{"Service Monitor", "https://portal.mimecast.com/monitor/Account/Login", srcSeedDC},
		{"Mimecast API 2.0", "https://api.services.mimecast.com", srcAPI2},
	}},
}

// InfoOf returns the published facts about r. For an invalid region it
// returns the zero Info and false. The returned Info is a copy.
func InfoOf(r Region) (Info, bool) {
	in, ok := infos[r]
	if !ok {
		return Info{}, false
	}
	in.URLs = append([]URL(nil), in.URLs...)
	return in, true
}

// SourceOfFacts names where account codes and SPF include names come from.
func SourceOfFacts() string { return srcCodes + "; " + srcSPFPage }

// Ports returns the protocol and port table of the Data Centers page (a copy).
func Ports() []Port {
	return []Port{
		{"SMTP", 25, "Send Connectors, SMTP Journaling, user application SMTP Services"},
		{"POP3", 110, "POP Journaling, user application POP Services"},
		{"POP3S", 995, ""},
		{"LDAP", 389, "Directory Synchronization"},
		{"LDAPS", 636, ""},
		{"HTTP", 80, "Downloading Strip and Link attachments, Mimecast Synchronization Engine (MSE) with Office 365 hybrid environments; Mimecast for Outlook authentication"},
		{"HTTPS", 443, "Administration Console, Mimecast Personal Portal, Mimecast Mobile, Mimecast for Outlook and Mimecast Synchronization Engine"},
	}
}

// PortsSource names where the port table comes from.
func PortsSource() string { return srcSeedDC }
