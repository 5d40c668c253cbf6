package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEveryFlagHasAGroup: --help lists every flag once, under the header
// of its group, and no group is empty. A new row of the table left without
// a group (groupNone) fails here.
func TestEveryFlagHasAGroup(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseConfig([]string{"--help"}, noEnv, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	groupOf := map[string]string{} // flag -> the header it is listed under
	perGroup := map[string]int{}
	header := ""
	for line := range strings.SplitSeq(out.String(), "\n") {
		switch {
		case strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " "):
			header = strings.TrimSuffix(line, ":")
			perGroup[header] += 0
		case strings.HasPrefix(line, "  --"):
			name := strings.Fields(strings.TrimPrefix(line, "  --"))[0]
			if prev, dup := groupOf[name]; dup {
				t.Errorf("--%s is listed twice, under %q and %q", name, prev, header)
			}
			groupOf[name] = header
			perGroup[header]++
		}
	}
	for _, o := range tableOptions() {
		if o.group <= groupNone || o.group >= numGroups || groupTitles[o.group] == "" {
			t.Errorf("--%s has no group", o.name)
			continue
		}
		if got := groupOf[o.name]; got != groupTitles[o.group] {
			t.Errorf("--%s is listed under %q, want %q", o.name, got, groupTitles[o.group])
		}
	}
	for g := groupNone + 1; g < numGroups; g++ {
		if perGroup[groupTitles[g]] == 0 {
			t.Errorf("group %q lists no flag", groupTitles[g])
		}
	}
	if n := len(groupOf); n != len(tableOptions())+1 { // and --version
		t.Errorf("--help lists %d flags, want %d", n, len(tableOptions())+1)
	}
}

// TestKeysHelp: gateway keys --help (and keys add --help) print the usage
// and the flags to stdout and end as help does (exit 0); a missing verb
// prints them to stderr and is an error.
func TestKeysHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"add", "--help"}} {
		var out, errOut bytes.Buffer
		err := runKeys(t.Context(), args, noEnv, &out, &errOut)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q: err = %v, want flag.ErrHelp", args, err)
		}
		for _, want := range []string{"Usage:", "gateway keys add", "-keys-file", "-redis-url", "-expires"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%q: stdout lacks %q:\n%s", args, want, out.String())
			}
		}
		if errOut.Len() != 0 {
			t.Errorf("%q wrote to stderr: %s", args, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if err := runKeys(t.Context(), nil, noEnv, &out, &errOut); err == nil || errors.Is(err, flag.ErrHelp) {
		t.Errorf("no verb: err = %v", err)
	}
	if !strings.Contains(errOut.String(), "-keys-file") {
		t.Errorf("no verb: stderr lacks the flags:\n%s", errOut.String())
	}
}

// TestDurationsAsText: a duration is logged as "1.5ms", in JSON as in text.
func TestDurationsAsText(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var out bytes.Buffer
		newLogger(config{LogFormat: format}, &out).Info("x", slog.Duration("delay", 1500*time.Microsecond),
			slog.Group("g", slog.Duration("inner", 2*time.Second)))
		for _, want := range []string{"1.5ms", "2s"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: %q lacks %q", format, out.String(), want)
			}
		}
		if strings.Contains(out.String(), "1500000") {
			t.Errorf("%s: nanoseconds in %q", format, out.String())
		}
	}
}

// TestAccessLog: with --access-log, each request is one INFO line with its
// method, path, status, duration, bytes and remote address, and never what
// it carried: an API key, a JWT, a password, a query. Without it, there is
// no such line at INFO.
func TestAccessLog(t *testing.T) {
	const (
		apiKey   = "ngw_SecretKeyNeverLogged0123456789"
		jwt      = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTZWNyZXRKV1QifQ.SecretJWTSignatureNeverLogged"
		password = "SecretPasswordNeverLogged"
		ticket   = "SecretTicketNeverLogged"
	)
	requests := func(t *testing.T, addr string) {
		t.Helper()
		do := func(method, path, body string, header map[string]string) {
			t.Helper()
			// A stream ends when its client goes.
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body) // to its end, or the timeout's
			resp.Body.Close()
		}
		do(http.MethodPost, "/rpc/latestHeight", `{"chainId":2}`, nil)
		do(http.MethodPost, "/rpc/latestHeight", `{"chainId":2}`, map[string]string{"X-API-Key": apiKey})
		do(http.MethodPost, "/rpc/latestHeight", `{"chainId":2}`, map[string]string{"Authorization": "Bearer " + jwt})
		do(http.MethodPost, "/rpc/ac_createAccount", `{"chainId":2,"count":1,"password":"`+password+`"}`, nil)
		do(http.MethodGet, "/rpc/latestHeight/stream?chainId=2&ticket="+ticket+"&api_key="+apiKey, "", nil)
	}

	logs := runWithLogs(t, "--access-log", "--log-format", "json")
	requests(t, logs.addr)
	var lines []map[string]any
	waitUntil(t, "five access log lines", func() bool {
		lines = accessLines(t, logs.String())
		return len(lines) >= 5
	})
	for _, secret := range []string{apiKey, jwt, password, ticket, "SecretJWT"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
	first := lines[0]
	if first["level"] != "INFO" || first["method"] != "POST" || first["path"] != "/rpc/latestHeight" || first["status"] != float64(200) ||
		first["bytes"].(float64) <= 0 || !strings.HasPrefix(first["remote_addr"].(string), "127.0.0.1:") {
		t.Errorf("access log line %v", first)
	}
	if d, ok := first["duration"].(string); !ok {
		t.Errorf("duration %v, want text", first["duration"])
	} else if _, err := time.ParseDuration(d); err != nil {
		t.Errorf("duration %q: %v", d, err)
	}
	for _, l := range lines {
		if strings.Contains(l["path"].(string), "?") {
			t.Errorf("a query was logged: %v", l)
		}
	}

	quiet := runWithLogs(t, "--log-format", "json")
	requests(t, quiet.addr)
	time.Sleep(100 * time.Millisecond)
	if lines := accessLines(t, quiet.String()); len(lines) != 0 {
		t.Errorf("without --access-log, %d request lines at INFO: %v", len(lines), lines)
	}
}

// gatewayLogs is the log of a gateway run() serves at addr.
type gatewayLogs struct {
	syncBuffer
	addr string
}

// runWithLogs runs the binary's run() over the simulated node, with its
// wallet open (--dev-wallet), until the test ends, and keeps its log.
func runWithLogs(t *testing.T, args ...string) *gatewayLogs {
	t.Helper()
	logs := &gatewayLogs{}
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, append([]string{"--listen", "127.0.0.1:0", "--simulated-node", "--dev-wallet"}, args...), noEnv, io.Discard, logs, listening)
	}()
	select {
	case logs.addr = <-listening:
	case err := <-errc:
		cancel()
		t.Fatalf("run: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("not listening")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	waitReady(t, logs.addr)
	return logs
}

// accessLines are the INFO lines of the access log in a JSON log, of the
// calls and streams (not of the probes waiting for the gateway).
func accessLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if path, _ := l["path"].(string); l["msg"] == "request" && l["level"] == "INFO" && strings.HasPrefix(path, "/rpc/") {
			out = append(out, l)
		}
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
