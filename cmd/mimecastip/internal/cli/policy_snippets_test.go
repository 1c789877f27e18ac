package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip/internal/postfixtest"
)

// fence is one fenced code block of a Markdown text.
type fence struct {
	info string // the word after ```
	text string
}

// markdownSection returns the text of the "## title" section of md, up to
// the next "## " heading.
func markdownSection(md, title string) string {
	i := strings.Index(md, "\n## "+title+"\n")
	if i < 0 {
		return ""
	}
	rest := md[i+1:]
	if j := strings.Index(rest[3:], "\n## "); j >= 0 {
		return rest[:j+4]
	}
	return rest
}

func fences(md string) []fence {
	var out []fence
	var cur *fence
	for _, l := range strings.SplitAfter(md, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case cur == nil && strings.HasPrefix(t, "```"):
			cur = &fence{info: strings.TrimPrefix(t, "```")}
		case cur != nil && t == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			// Blocks inside list items are indented; keep main.cf
			// continuation lines as they are relative to the first line.
			cur.text += l
		}
	}
	return out
}

var (
	mainCFLine   = regexp.MustCompile(`^[a-z][a-z0-9_]* *=`)
	masterCFLine = regexp.MustCompile(`^\S+\s+(inet|unix)\s+`)
	paramRef     = regexp.MustCompile(`\$([a-z][a-z0-9_]*)`)
)

// dedent removes the indentation of the block's first line from every line.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	ind := len(lines[0]) - len(strings.TrimLeft(lines[0], " "))
	for i, l := range lines {
		if len(l) >= ind && strings.TrimSpace(l[:ind]) == "" {
			lines[i] = l[ind:]
		}
	}
	return strings.Join(lines, "\n")
}

// isMainCF: every line is a comment, blank, a parameter assignment or a
// continuation line.
func isMainCF(s string) bool {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.TrimSpace(l) == "", strings.HasPrefix(strings.TrimSpace(l), "#"):
		case l[0] == ' ' || l[0] == '\t':
			if n == 0 {
				return false
			}
		case mainCFLine.MatchString(l):
			n++
		default:
			return false
		}
	}
	return n > 0
}

// mainCFParams returns the parameters a main.cf text defines.
func mainCFParams(s string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		if mainCFLine.MatchString(l) {
			m[strings.TrimSpace(l[:strings.Index(l, "=")])] = true
		}
	}
	return m
}

// masterCFOptions returns the -o options of a master.cf text.
func masterCFOptions(s string) ([]postfixtest.Option, bool) {
	var opts []postfixtest.Option
	service := false
	for _, l := range strings.Split(s, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case masterCFLine.MatchString(l):
			service = true
		case strings.HasPrefix(t, "-o "):
			name, value, _ := strings.Cut(strings.TrimPrefix(t, "-o "), "=")
			opts = append(opts, postfixtest.Option{Name: name, Value: value})
		}
	}
	return opts, service
}

// fatalLines returns the maillog lines of a listener's smtpd that report a
// fatal error or a malformed setting.
func fatalLines(pf *postfixtest.Instance, listener string) string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(pf.Maillog()))
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "postfix/"+listener+"/") && (strings.Contains(l, "fatal:") || strings.Contains(l, "malformed")) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// lockdownCases: the tiers through Postfix, for a --region us service.
func lockdownCases(t *testing.T, pf *postfixtest.Instance, listener string) {
	t.Helper()
	for _, c := range []struct {
		client string
		want   int
		text   string
	}{
		{"170.10.129.5", 250, ""},
		{"41.74.201.132", 450, "4.7.1"},
		{"8.8.8.8", 554, "5.7.1"},
	} {
		s := pf.Swaks(listener, postfixtest.SwaksOptions{XClientAddr: c.client})
		if s.Rcpt.Code != c.want || !strings.Contains(s.Rcpt.Text, c.text) {
			t.Errorf("listener %s, client %s: RCPT %d %q, want %d %q\n%s", listener, c.client, s.Rcpt.Code, s.Rcpt.Text, c.want, c.text, s.Transcript)
		}
	}
	if f := fatalLines(pf, listener); f != "" {
		t.Errorf("listener %s: smtpd errors:\n%s", listener, f)
	}
}

// TestPolicyHelpSnippetInPostfix runs the main.cf snippet that "policy
// --help" prints in a real Postfix (port replaced): smtpd must not log
// "fatal: malformed option", the tiers must hold, and with the service
// down its default_action must answer. (The old snippet, a default_action
// with spaces but without braces of its own, makes smtpd log "fatal:
// malformed option" at start, which postfixtest.Start reports.)
func TestPolicyHelpSnippetInPostfix(t *testing.T) {
	postfixtest.Require(t)
	var help bytes.Buffer
	if st := Main([]string{"policy", "--help"}, &Env{Stdin: strings.NewReader(""), Stdout: &help, Stderr: io.Discard}); st != ExitOK {
		t.Fatalf("policy --help: exit %d", st)
	}
	var snippet []string
	in := false
	for _, l := range strings.Split(help.String(), "\n") {
		switch {
		case strings.HasPrefix(l, "Postfix main.cf"):
			in = true
		case in && strings.HasPrefix(l, "  "):
			snippet = append(snippet, l[2:])
		case in && len(snippet) > 0:
			in = false
		}
	}
	main := strings.Join(snippet, "\n") + "\n"
	if !isMainCF(main) || !strings.Contains(main, "127.0.0.1:10040") {
		t.Fatalf("no main.cf snippet with 127.0.0.1:10040 in policy --help:\n%s", main)
	}
	port, dead := freePort(t), freePort(t)
	main = strings.ReplaceAll(main, "127.0.0.1:10040", fmt.Sprintf("127.0.0.1:%d", port))
	startPolicy(t, fmt.Sprintf("tcp:127.0.0.1:%d", port), "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--region", "us")
	// The snippet's restriction list, pointed at a port nobody listens on.
	value := strings.Join(strings.Fields(main[strings.Index(main, "=")+1:]), " ")
	deadValue := strings.ReplaceAll(value, fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", dead))
	pf := postfixtest.Start(t, postfixtest.Config{
		Main: main + "smtpd_policy_service_timeout = 10s\n",
		Listeners: []postfixtest.Listener{
			{Name: "help"},
			{Name: "helpdead", Options: []postfixtest.Option{{Name: "smtpd_recipient_restrictions", Value: deadValue}}},
		},
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("main.cf snippet:\n%s\nmaillog:\n%s", main, pf.Maillog())
		}
	})
	lockdownCases(t, pf, "help")
	s := pf.Swaks("helpdead", postfixtest.SwaksOptions{XClientAddr: "170.10.129.5"})
	if s.Rcpt.Code != 451 || !strings.Contains(s.Rcpt.Text, "4.3.5 <u@example.test>: Recipient address rejected: Mimecast policy service unavailable") {
		t.Errorf("service down: RCPT %d %q, want the snippet's 451 4.3.5 default_action", s.Rcpt.Code, s.Rcpt.Text)
	}
	if f := fatalLines(pf, "helpdead"); f != "" {
		t.Errorf("smtpd errors with the service down:\n%s", f)
	}
}

// TestPolicyReadmeSnippetsInPostfix runs the README's policy section as
// written, in a real Postfix: the unit's ExecStart and the sh blocks'
// mimecastip commands (ports and /etc/postfix replaced by the sandbox's),
// every main.cf block with the master.cf blocks whose -o values use its
// parameters. Lockdown listeners must show the tiers, tag listeners the
// header, and smtpd must log no fatal error.
func TestPolicyReadmeSnippetsInPostfix(t *testing.T) {
	postfixtest.Require(t)
	md, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sec := markdownSection(string(md), "Postfix policy service")
	if sec == "" {
		t.Fatal("README has no Postfix policy service section")
	}
	tables, err := os.MkdirTemp("", "mimecastip-readme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tables) })
	os.Chmod(tables, 0o755)
	ports := map[string]string{}
	subst := func(s string) string {
		for _, p := range []string{"10040", "10041"} {
			if _, ok := ports[p]; !ok {
				ports[p] = fmt.Sprint(freePort(t))
			}
			s = strings.ReplaceAll(s, "127.0.0.1:"+p, "127.0.0.1:"+ports[p])
		}
		return strings.ReplaceAll(s, "/etc/postfix/", tables+"/")
	}

	// The commands.
	bin := buildCommand(t)
	var mains []string
	type master struct {
		opts []postfixtest.Option
		text string
	}
	var masters []master
	started := 0
	for _, f := range fences(sec) {
		text := dedent(f.text)
		switch {
		case f.info == "ini":
			for _, l := range strings.Split(text, "\n") {
				if cmd, ok := strings.CutPrefix(l, "ExecStart=/usr/local/bin/mimecastip "); ok && started == 0 && strings.Contains(cmd, "127.0.0.1:") {
					runReadmePolicy(t, subst(cmd))
					started++
				}
			}
		case f.info == "sh":
			for _, l := range strings.Split(text, "\n") {
				l = strings.TrimSpace(l)
				switch {
				case strings.HasPrefix(l, "mimecastip policy "):
					runReadmePolicy(t, subst(strings.TrimPrefix(l, "mimecastip ")))
					started++
				case strings.HasPrefix(l, "mimecastip "):
					sh := exec.Command("sh", "-ec", subst(l))
					sh.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
					if out, err := sh.CombinedOutput(); err != nil {
						t.Fatalf("README command %q: %v\n%s", l, err, out)
					}
				}
			}
		case isMainCF(text):
			mains = append(mains, subst(text))
		default:
			if opts, ok := masterCFOptions(text); ok {
				masters = append(masters, master{opts, text})
			}
		}
	}
	if len(mains) < 3 || len(masters) < 2 || started < 2 {
		t.Fatalf("README policy section: %d main.cf blocks, %d master.cf blocks, %d policy services; want 3, 2, 2", len(mains), len(masters), started)
	}
	for i, main := range mains {
		defined := mainCFParams(main)
		var ls []postfixtest.Listener
		for j, m := range masters {
			uses := true
			for _, o := range m.opts {
				for _, ref := range paramRef.FindAllStringSubmatch(o.Value, -1) {
					uses = uses && defined[ref[1]]
				}
			}
			if !uses {
				continue
			}
			l := postfixtest.Listener{Name: fmt.Sprintf("m%d", j), Options: m.opts}
			for _, o := range m.opts {
				if o.Name == "smtpd_data_restrictions" {
					// Hold the message to read the header (the sandbox
					// discards mail).
					l.Options = append(l.Options, postfixtest.Option{Name: "smtpd_recipient_restrictions", Value: "check_client_access cidr:${config_directory}/hold.cidr"})
				}
			}
			ls = append(ls, l)
		}
		if len(ls) == 0 {
			t.Errorf("README main.cf block %d is used by no master.cf block:\n%s", i+1, main)
			continue
		}
		t.Run(fmt.Sprintf("main.cf_%d", i+1), func(t *testing.T) {
			pf := postfixtest.Start(t, postfixtest.Config{Main: main, Listeners: ls,
				Files: map[string]string{"hold.cidr": "0.0.0.0/0 HOLD\n::/0 HOLD\n"}})
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("main.cf:\n%s\nmaillog:\n%s", main, pf.Maillog())
				}
			})
			for _, l := range ls {
				tag := false
				for _, o := range l.Options {
					tag = tag || o.Name == "smtpd_data_restrictions"
				}
				if !tag {
					lockdownCases(t, pf, l.Name)
					continue
				}
				s := pf.Swaks(l.Name, postfixtest.SwaksOptions{XClientAddr: "41.74.201.132", FullMessage: true})
				if s.Data.Code != 250 {
					t.Fatalf("tag listener: end of DATA %d %q\n%s", s.Data.Code, s.Data.Text, s.Transcript)
				}
				var hdrs string
				for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
					if ids := pf.Held(); len(ids) > 0 {
						hdrs = pf.Headers(ids[0])
						break
					}
				}
				if want := "X-Mimecastip-Class: mimecast; tier=defer; reason=other-region; regions=za; prefix=41.74.200.0/23"; !strings.Contains(hdrs, want) {
					t.Errorf("tag listener: held message lacks %q:\n%s", want, hdrs)
				}
				if f := fatalLines(pf, l.Name); f != "" {
					t.Errorf("tag listener: smtpd errors:\n%s", f)
				}
			}
		})
	}
}

// runReadmePolicy starts "mimecastip ARGS" (a policy command line of the
// README) in-process and waits for its TCP listener.
func runReadmePolicy(t *testing.T, cmd string) {
	t.Helper()
	args := strings.Fields(cmd)
	if len(args) == 0 || args[0] != "policy" {
		t.Fatalf("not a policy command: %q", cmd)
	}
	var listen string
	for i, a := range args {
		if a == "--listen" && i+1 < len(args) {
			listen = strings.TrimPrefix(args[i+1], "inet:")
		}
	}
	startPolicy(t, "tcp:"+listen, args[1:]...)
}

// buildCommand builds cmd/mimecastip into a temporary directory.
func buildCommand(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mimecastip")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/seed-b311f21d/go-mimecastip/cmd/mimecastip").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
