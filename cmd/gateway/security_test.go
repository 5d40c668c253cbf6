package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
)

// keysCmd runs the keys subcommand and returns its standard output.
func keysCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runKeys(t.Context(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), err
}

// TestKeysSubcommand adds, lists and revokes keys in a key file, and a
// gateway started on the file lets the key in and, once revoked, out.
func TestKeysSubcommand(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	env := map[string]string{envKeysFile: file}
	key, err := keysCmd(t, env, "add", "--name", "explorer", "--scopes", "public,admin", "--methods", "latestHeight,getBalance", "--expires", "720h")
	if err != nil {
		t.Fatal(err)
	}
	key = strings.TrimSpace(key)
	if !strings.HasPrefix(key, "ngw_") || strings.Count(key, "\n") != 0 {
		t.Fatalf("add printed %q, want the key alone", key)
	}
	if b, _ := os.ReadFile(file); bytes.Contains(b, []byte(key)) {
		t.Fatal("the key file holds the key")
	}
	list, err := keysCmd(t, env, "list")
	if err != nil || !strings.Contains(list, key[4:20]) || !strings.Contains(list, "explorer") || !strings.Contains(list, "latestHeight,getBalance") {
		t.Fatalf("list: %v\n%s", err, list)
	}
	for _, bad := range [][]string{{"add", "--scopes", "root"}, {"add", "--plan", "gold"}, {"add", "--expires", "yesterday"}, {"revoke"}, {"revoke", "0000000000000000"}, {"frobnicate"}} {
		if _, err := keysCmd(t, env, bad...); err == nil {
			t.Errorf("keys %v accepted", bad)
		}
	}
	if _, err := keysCmd(t, map[string]string{}, "list"); err == nil {
		t.Error("keys list with no store accepted")
	}

	// No anonymous access: the key is needed.
	addr, _, _ := startRun(t, "--keys-file", file, "--anonymous-scopes", "none")
	waitReady(t, addr)
	call := func(h map[string]string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/rpc/latestHeight", strings.NewReader(`{"chainId":2}`))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := call(nil); st != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d, want 401", st)
	}
	if st := call(map[string]string{"X-API-Key": key}); st != http.StatusOK {
		t.Fatalf("with the key: %d", st)
	}
	if _, err := keysCmd(t, env, "revoke", key[4:20]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for call(map[string]string{"Authorization": "Bearer " + key}) != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("a revoked key still works after 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKeysInRedis: keys added in Redis work on a gateway sharing it.
func TestKeysInRedis(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	url := "redis://" + rdb.Options().Addr + "/" + fmt.Sprint(rdb.Options().DB)
	env := map[string]string{envRedisURL: url, envRedisPrefix: prefix}
	key, err := keysCmd(t, env, "add", "--name", "wallet")
	if err != nil {
		t.Fatal(err)
	}
	key = strings.TrimSpace(key)
	if list, err := keysCmd(t, env, "list"); err != nil || !strings.Contains(list, "wallet") {
		t.Fatalf("list: %v %s", err, list)
	}
	if _, err := keysCmd(t, map[string]string{envRedisURL: url, envKeysFile: "/tmp/x"}, "list"); err == nil {
		t.Error("both stores set and no --store: accepted")
	}
	addr, _, _ := startRun(t, "--redis-url", url, "--redis-prefix", prefix, "--anonymous-scopes", "none")
	waitReady(t, addr)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/stream-tickets", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("a stream ticket with a Redis key: %d", resp.StatusCode)
	}
}

// TestSecurityFlags checks the new flags' validation.
func TestSecurityFlags(t *testing.T) {
	c, err := parseConfig([]string{"--simulated-node", "--rate-plans", "anonymous=5/s,default=unlimited,gold=1000/m:50", "--method-weights", "ac_transfer=5",
		"--trusted-proxies", "10.0.0.0/8,192.168.1.1", "--anonymous-scopes", "none", "--unlisted-scope", "admin"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RatePlans) != 3 || c.MethodWeights["ac_transfer"] != 5 || len(c.TrustedProxies) != 2 || c.AnonymousScopes != nil || c.UnlistedScope != "admin" || c.RateLimitStore != "memory" {
		t.Errorf("config %+v", c)
	}
	for _, bad := range [][]string{
		{"--rate-plans", "default=5/s"}, {"--rate-plans", "anonymous=x"}, {"--method-weights", "a=0"},
		{"--trusted-proxies", "nope"}, {"--anonymous-scopes", "root"}, {"--unlisted-scope", "all"},
		{"--tls-cert", "c.pem"}, {"--jwt-secret", "short"}, {"--jwks", "http://idp.example/jwks.json"}, {"--jwks", "HTTP://idp.example/jwks.json"}, {"--rate-limit-store", "redis"}, {"--rate-limit-store", "etcd"}, {"--ticket-secret", "short"}, {"--module-listen", "nope"},
	} {
		if _, err := parseConfig(bad, noEnv, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestJWKSAllowHTTP: an http --jwks URL stops the start with an error that
// names the flag accepting it; the flag or its variable accepts it.
func TestJWKSAllowHTTP(t *testing.T) {
	_, err := parseConfig([]string{"--jwks", "http://idp.example/jwks.json"}, noEnv, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--jwks-allow-http") || !strings.Contains(err.Error(), envJWKSAllowHTTP) {
		t.Fatalf("an http JWKS URL: %v, want an error naming --jwks-allow-http", err)
	}
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--jwks", "http://idp.example/jwks.json", "--jwks-allow-http"}, nil},
		{nil, map[string]string{envJWKS: "http://idp.example/jwks.json", envJWKSAllowHTTP: "true"}},
		{[]string{"--jwks", "https://idp.example/jwks.json"}, nil},
	} {
		cfg, err := parseConfig(append([]string{"--simulated-node"}, c.args...), func(k string) string { return c.env[k] }, io.Discard)
		if err != nil {
			t.Errorf("%v %v: %v", c.args, c.env, err)
			continue
		}
		if _, err := newAuthenticator(cfg, nil, slog.New(slog.DiscardHandler)); err != nil {
			t.Errorf("%v %v: the authenticator refused it: %v", c.args, c.env, err)
		}
	}
}

// TestSlowHeaders: a client dribbling its request head is cut at
// --header-timeout, and a head larger than --max-header-bytes gets 431.
func TestSlowHeaders(t *testing.T) {
	addr, _, _ := startRun(t, "--header-timeout", "500ms", "--max-header-bytes", "4096")
	waitReady(t, addr)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	go func() {
		for i := 0; i < 100; i++ {
			if _, err := fmt.Fprintf(c, "X-Slow-%d: y\r\n", i); err != nil && i > 0 {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.Copy(io.Discard, c)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a dribbled head held the connection %v", d)
	}
	big, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	fmt.Fprintf(big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 16<<10))
	line, _ := bufio.NewReader(big).ReadString('\n')
	if !strings.Contains(line, "431") {
		t.Fatalf("a 16 KiB head: %q, want 431", line)
	}
}

// TestHeldConnections, on the server as run builds it: a POST refused
// before its body was read (here 415: no media type) whose body never
// comes is answered at once and its connection closed by --body-timeout;
// a request framing its body with both Transfer-Encoding and
// Content-Length gets 400 and a closed connection.
func TestHeldConnections(t *testing.T) {
	const bodyTimeout = 500 * time.Millisecond
	addr, _, _ := startRun(t, "--body-timeout", bodyTimeout.String())
	waitReady(t, addr)
	exchange := func(req string) (status string, answered, closed time.Duration) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(start.Add(5 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: no answer: %v", req, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered = time.Since(start)
		if _, err := br.ReadByte(); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			closed = time.Since(start)
		}
		return resp.Status, answered, closed
	}
	status, answered, closed := exchange("POST /rpc/latestHeight HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
	if status != "415 Unsupported Media Type" || answered > time.Second || closed == 0 || closed > bodyTimeout+time.Second {
		t.Errorf("a refused body never sent: %s after %v, closed after %v (0: open after 5s)", status, answered, closed)
	}
	status, answered, closed = exchange("POST /rpc/latestHeight HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n{\"chainId\":2}\r\n0\r\n\r\n")
	if status != "400 Bad Request" || answered > time.Second || closed == 0 || closed > time.Second {
		t.Errorf("Transfer-Encoding with Content-Length: %s after %v, closed after %v (0: open after 5s)", status, answered, closed)
	}
}

// TestTLSAndHTTP2: with --tls-cert and --tls-key the gateway serves HTTPS,
// and HTTP/2 to clients that offer it.
func TestTLSAndHTTP2(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeSelfSigned(t, certFile, keyFile)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listening := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"--listen", "127.0.0.1:0", "--simulated-node", "--tls-cert", certFile, "--tls-key", keyFile}, noEnv, io.Discard, io.Discard, listening)
	}()
	var addr string
	select {
	case addr = <-listening:
	case err := <-errc:
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if resp.ProtoMajor != 2 {
					t.Fatalf("HTTPS answered with %s, want HTTP/2", resp.Proto)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready over HTTPS: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A stream over HTTP/2.
	sctx, scancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer scancel()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, "https://"+addr+"/rpc/latestHeight/stream?chainId=2", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream over HTTP/2: %v", err)
		}
		if strings.HasPrefix(line, "data: ") {
			break
		}
	}
	scancel()
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key, and
// returns a pool that trusts it.
func writeSelfSigned(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gateway test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
