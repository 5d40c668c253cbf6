// Command probe is the health check of the container image. The image is
// distroless: it has no shell, curl or wget, so Docker's HEALTHCHECK and the
// docker-compose healthchecks run this instead. It exits 0 when the target
// answers in time and 1 otherwise, saying why on stderr.
//
//	probe http://127.0.0.1:8080/readyz   # an HTTP GET answered with 2xx
//	probe tcp://127.0.0.1:7771           # a TCP connection accepted
//
// Kubernetes does not need it: its probes are httpGet and tcpSocket.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run probes the target named by args and returns the exit code.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "how long the target has to answer")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: probe [-timeout 3s] http://host:port/path | tcp://host:port\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := probe(ctx, fs.Arg(0)); err != nil {
		fmt.Fprintln(stderr, "probe:", err)
		return 1
	}
	return 0
}

// probe checks one target: an http(s) URL must answer GET with a 2xx status,
// a tcp://host:port must accept a connection.
func probe(ctx context.Context, target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "tcp":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return err
		}
		return conn.Close()
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("GET %s: %s", target, resp.Status)
		}
		return nil
	default:
		return fmt.Errorf("%q: the scheme must be http, https or tcp", target)
	}
}
