package logscan

// Inbound selects the connecting client of inbound SMTP sessions.
type Inbound struct{}

type formatDef struct{ Name string }

var formats []formatDef

type client struct {
	m      Match
	format int8
	t0, t1 int
}

func (in *Inbound) client(line []byte) (client, bool) { return client{}, false }
