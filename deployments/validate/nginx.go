package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// directive is one nginx directive: a name, its arguments and, for a block
// such as http { ... }, its children.
type directive struct {
	name   string
	args   []string
	block  []*directive
	line   int
	parent *directive // nil at the top
}

// parseNginx parses the nginx configuration syntax: directives ending in ";"
// or in a block, "#" comments, quoted strings.
func parseNginx(src string) ([]*directive, error) {
	toks, lines, err := tokenizeNginx(src)
	if err != nil {
		return nil, err
	}
	top := &directive{name: "main"}
	cur := top
	var words []string
	var wordLines []int
	for i, t := range toks {
		switch t {
		case ";", "{":
			if len(words) == 0 {
				return nil, fmt.Errorf("line %d: %q without a directive", lines[i], t)
			}
			d := &directive{name: words[0], args: words[1:], line: wordLines[0], parent: cur}
			cur.block = append(cur.block, d)
			if t == "{" {
				cur = d
			}
			words, wordLines = nil, nil
		case "}":
			if len(words) > 0 {
				return nil, fmt.Errorf("line %d: directive %q has no ending \";\"", wordLines[0], words[0])
			}
			if cur == top {
				return nil, fmt.Errorf("line %d: unexpected \"}\"", lines[i])
			}
			cur = cur.parent
		default:
			words = append(words, unquoteNginx(t))
			wordLines = append(wordLines, lines[i])
		}
	}
	if len(words) > 0 {
		return nil, fmt.Errorf("line %d: directive %q has no ending \";\"", wordLines[0], words[0])
	}
	if cur != top {
		return nil, fmt.Errorf("line %d: block %q is not closed", cur.line, cur.name)
	}
	for _, d := range top.block {
		d.parent = nil
	}
	return top.block, nil
}

// tokenizeNginx splits src into words (quoted ones keep their quotes) and
// the punctuation ; { }, with the line of each.
func tokenizeNginx(src string) (toks []string, lines []int, err error) {
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == ';' || c == '{' || c == '}':
			toks, lines = append(toks, string(c)), append(lines, line)
			i++
		case c == '"' || c == '\'':
			start, startLine := i, line
			i++
			for i < len(src) && src[i] != c {
				if src[i] == '\\' {
					i++
				}
				if i < len(src) && src[i] == '\n' {
					line++
				}
				i++
			}
			if i >= len(src) {
				return nil, nil, fmt.Errorf("line %d: unterminated string", startLine)
			}
			i++
			toks, lines = append(toks, src[start:i]), append(lines, startLine)
		default:
			start := i
			for i < len(src) && !strings.ContainsRune(" \t\r\n;{}#\"'", rune(src[i])) {
				i++
			}
			toks, lines = append(toks, src[start:i]), append(lines, line)
		}
	}
	return toks, lines, nil
}

func unquoteNginx(t string) string {
	if len(t) >= 2 && (t[0] == '"' || t[0] == '\'') {
		return strings.ReplaceAll(t[1:len(t)-1], "\\"+t[:1], t[:1])
	}
	return t
}

func find(ds []*directive, name string) []*directive {
	var out []*directive
	for _, d := range ds {
		if d.name == name {
			out = append(out, d)
		}
	}
	return out
}

// effective returns the arguments of directive name as nginx applies it in
// the block d: set there, or inherited from the nearest enclosing block that
// sets it. For array directives such as proxy_set_header that is the whole
// list of the nearest level that has any.
func effective(d *directive, name string) [][]string {
	for b := d; b != nil; b = b.parent {
		if ds := find(b.block, name); len(ds) > 0 {
			out := make([][]string, len(ds))
			for i, x := range ds {
				out[i] = x.args
			}
			return out
		}
	}
	return nil
}

// effectiveOne returns the value of a directive taking one argument, or def.
func effectiveOne(d *directive, name, def string) string {
	if v := effective(d, name); len(v) > 0 && len(v[len(v)-1]) > 0 {
		return strings.Join(v[len(v)-1], " ")
	}
	return def
}

// selectLocation returns the location block of server that nginx picks for
// uri: an exact match, else the longest prefix if it is ^~, else the first
// matching regular expression, else the longest prefix.
func selectLocation(server *directive, uri string) (*directive, error) {
	var longest *directive
	longestLen := -1
	var regexes []*directive
	for _, l := range find(server.block, "location") {
		switch {
		case len(l.args) == 2 && l.args[0] == "=":
			if l.args[1] == uri {
				return l, nil
			}
		case len(l.args) == 2 && (l.args[0] == "~" || l.args[0] == "~*"):
			regexes = append(regexes, l)
		case len(l.args) == 2 && l.args[0] == "^~", len(l.args) == 1:
			p := l.args[len(l.args)-1]
			if strings.HasPrefix(uri, p) && len(p) > longestLen {
				longest, longestLen = l, len(p)
			}
		default:
			return nil, fmt.Errorf("line %d: location %q: not understood by this check", l.line, l.args)
		}
	}
	if longest != nil && longest.args[0] == "^~" {
		return longest, nil
	}
	for _, l := range regexes {
		expr := l.args[1]
		if l.args[0] == "~*" {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("line %d: location %s: %w", l.line, l.args[1], err)
		}
		if re.MatchString(uri) {
			return l, nil
		}
	}
	if longest == nil {
		return nil, fmt.Errorf("no location matches %s", uri)
	}
	return longest, nil
}

// nginxTime parses an nginx time such as 60, 60s, 5m, 1h or 1h30m.
func nginxTime(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// nginxExpect is what the compose file says the load balancer must do.
type nginxExpect struct {
	listenPort int
	servers    []string // host:port of each gateway
}

// Example URIs, and whether each is a Server-Sent Events stream.
var nginxURIs = []struct {
	uri    string
	sse    bool
	socket bool // JSON-RPC over a WebSocket: the upgrade must pass
}{
	{"/jsonrpc", false, true},
	{"/rpc/latestHeight/stream", true, false},
	{"/rpc/getBalance/stream", true, false},
	{"/notifications", true, false},
	{"/rpc/latestHeight", false, false},
	{"/rpc", false, false},
	{"/healthz", false, false},
	{"/openapi.json", false, false},
}

// checkNginx checks the load balancer's configuration: one upstream with
// exactly the gateways, round robin with passive health checks, and
// Server-Sent Events proxied unbuffered with a long read timeout.
// upgradeMap reports whether the http block maps $http_upgrade to
// $connection_upgrade: "upgrade" for a WebSocket, "" (keep-alive) for the
// rest.
func upgradeMap(http *directive) bool {
	for _, m := range find(http.block, "map") {
		if len(m.args) != 2 || m.args[0] != "$http_upgrade" || m.args[1] != "$connection_upgrade" {
			continue
		}
		def, empty := "", "x"
		for _, e := range m.block {
			switch {
			case e.name == "default" && len(e.args) == 1:
				def = e.args[0]
			case e.name == "" && len(e.args) == 1:
				empty = e.args[0]
			}
		}
		return def == "upgrade" && empty == ""
	}
	return false
}

func checkNginx(path string, want nginxExpect) []error {
	src, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	top, err := parseNginx(string(src))
	if err != nil {
		return []error{fmt.Errorf("%s: %w", path, err)}
	}
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: "+format, append([]any{path, line}, args...)...))
	}
	https := find(top, "http")
	if len(https) != 1 {
		fail(1, "%d http blocks, want 1", len(https))
		return errs
	}
	http := https[0]
	ups := find(http.block, "upstream")
	if len(ups) != 1 || len(ups[0].args) != 1 {
		fail(http.line, "want one upstream block")
		return errs
	}
	up := ups[0]
	upstream := up.args[0]
	for _, balance := range []string{"ip_hash", "hash", "least_conn", "random", "sticky"} {
		if len(find(up.block, balance)) > 0 {
			fail(up.line, "upstream %s uses %s: want round robin (a stream resumes on any gateway)", upstream, balance)
		}
	}
	got := map[string]bool{}
	for _, s := range find(up.block, "server") {
		if len(s.args) == 0 {
			continue
		}
		got[s.args[0]] = true
		maxFails := false
		for _, a := range s.args[1:] {
			if v, ok := strings.CutPrefix(a, "max_fails="); ok {
				n, err := strconv.Atoi(v)
				maxFails = err == nil && n > 0
			}
		}
		if !maxFails {
			fail(s.line, "server %s: no max_fails above 0 (passive health check)", s.args[0])
		}
	}
	for _, s := range want.servers {
		if !got[s] {
			fail(up.line, "upstream %s has no server %s", upstream, s)
		}
		delete(got, s)
	}
	for s := range got {
		fail(up.line, "upstream %s has server %s, which is no gateway of the compose file", upstream, s)
	}

	var server *directive
	for _, s := range find(http.block, "server") {
		for _, l := range find(s.block, "listen") {
			if len(l.args) > 0 && (l.args[0] == strconv.Itoa(want.listenPort) || strings.HasSuffix(l.args[0], ":"+strconv.Itoa(want.listenPort))) {
				server = s
			}
		}
	}
	if server == nil {
		fail(http.line, "no server listens on %d", want.listenPort)
		return errs
	}
	for _, u := range nginxURIs {
		loc, err := selectLocation(server, u.uri)
		if err != nil {
			fail(server.line, "%s: %v", u.uri, err)
			continue
		}
		at := func(format string, args ...any) {
			fail(loc.line, "%s (location %s): "+format, append([]any{u.uri, strings.Join(loc.args, " ")}, args...)...)
		}
		if pass := effectiveOne(loc, "proxy_pass", ""); pass != "http://"+upstream {
			at("proxy_pass %q, want http://%s", pass, upstream)
		}
		if v := effectiveOne(loc, "proxy_http_version", "1.0"); v != "1.1" {
			at("proxy_http_version %s, want 1.1 (keep-alive and chunked responses)", v)
		}
		connection, upgrade := "", ""
		hasConnection := false
		for _, h := range effective(loc, "proxy_set_header") {
			if len(h) == 2 && strings.EqualFold(h[0], "Connection") {
				connection, hasConnection = h[1], true
			}
			if len(h) == 2 && strings.EqualFold(h[0], "Upgrade") {
				upgrade = h[1]
			}
		}
		switch {
		case u.socket:
			// The upgrade passes; a plain POST keeps its keep-alive
			// connection (the map gives "" without Upgrade).
			if upgrade != "$http_upgrade" || connection != "$connection_upgrade" || !upgradeMap(http) {
				at(`want proxy_set_header Upgrade $http_upgrade and Connection $connection_upgrade, with map $http_upgrade $connection_upgrade { default upgrade; "" ""; }: a WebSocket would not open`)
			}
			v := effectiveOne(loc, "proxy_read_timeout", "60s")
			if d, err := nginxTime(v); err != nil || d < 10*time.Minute {
				at("proxy_read_timeout %s: a quiet socket would be cut (want 10m or more)", v)
			}
		case !hasConnection || connection != "":
			at(`no proxy_set_header Connection "" in effect`)
		}
		for _, nu := range effective(loc, "proxy_next_upstream") {
			for _, a := range nu {
				if a == "non_idempotent" {
					at("proxy_next_upstream non_idempotent would run a POST twice")
				}
			}
		}
		if !u.sse {
			continue
		}
		if v := effectiveOne(loc, "proxy_buffering", "on"); v != "off" {
			at("proxy_buffering %s: events would wait in nginx's buffers", v)
		}
		if v := effectiveOne(loc, "proxy_cache", "off"); v != "off" {
			at("proxy_cache %s", v)
		}
		if v := effectiveOne(loc, "gzip", "off"); v != "off" {
			at("gzip %s buffers events", v)
		}
		if v := effectiveOne(loc, "chunked_transfer_encoding", "on"); v != "on" {
			at("chunked_transfer_encoding %s", v)
		}
		// Between two reads from the gateway; a quiet stream still gets a
		// heartbeat comment every GATEWAY_HEARTBEAT (15s).
		v := effectiveOne(loc, "proxy_read_timeout", "60s")
		if d, err := nginxTime(v); err != nil {
			at("proxy_read_timeout %q: %v", v, err)
		} else if d < 10*time.Minute {
			at("proxy_read_timeout %s: a quiet stream would be cut (want 10m or more)", v)
		}
	}
	return errs
}
