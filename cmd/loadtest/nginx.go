package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// nginxServer is an nginx the load test runs as a reference: nchan for
// streams, a reverse proxy for calls. It runs as one process (no master,
// one worker), so that its CPU time is that process's.
type nginxServer struct {
	name string // its role in the reports: "nchan", "proxy"
	addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}

	mu   sync.Mutex // guards logs
	logs bytes.Buffer
}

func (s *nginxServer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

func (s *nginxServer) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func (s *nginxServer) pid() int { return s.cmd.Process.Pid }

// nginxConf renders a configuration for a server on addr whose working
// directory (pid file, temporary files) is dir.
type nginxConf func(dir, addr string) string

// startNginx runs bin with conf on a free port of 127.0.0.1 and waits
// until it accepts connections.
func startNginx(ctx context.Context, name, bin string, conf nginxConf, logger *slog.Logger) (*nginxServer, error) {
	dir, err := os.MkdirTemp("", "loadtest-"+name+"-")
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close() // only to learn a free port
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf(dir, addr)), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &nginxServer{name: name, addr: addr, dir: dir, done: make(chan struct{})}
	// Not CommandContext: stop ends nginx (SIGTERM, then SIGKILL after a
	// grace) and removes its directory; ctx only bounds the wait below.
	s.cmd = exec.Command(bin, "-p", dir, "-c", file, "-e", "stderr") //nolint:noctx // see above
	s.cmd.Stdout, s.cmd.Stderr = s, s
	setProcAttr(s.cmd)
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	logger.Info("started", slog.String("process", name), slog.Int("pid", s.pid()), slog.String("addr", addr))
	deadline := time.Now().Add(startTimeout)
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.Close() // only to learn that nginx listens
			return s, nil
		}
		select {
		case <-s.done:
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("nginx (%s) exited: %s", name, strings.TrimSpace(s.output()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("nginx (%s) not listening on %s: %v", name, addr, err)
		}
	}
}

// stop ends nginx and removes its directory.
func (s *nginxServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	_ = os.RemoveAll(s.dir) // a temporary directory: nothing to report to
}

// proxyConf is the calls' second reference: nginx reverse-proxying to the
// floor over kept-alive upstream connections, as one would put it in front
// of a Go service. It does what the gateway does on the network (read a
// request, write one upstream, read the answer, write it back) with none
// of the gateway's work.
const proxyConf = `daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; multi_accept on; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	upstream floor {
		server %[3]s;
		keepalive 256;
	}
	server {
		listen %[2]s;
		keepalive_requests 1000000;
		location / {
			proxy_pass http://floor;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffering on;
		}
	}
}
`

// startProxy runs nginx reverse-proxying to the floor at floorAddr.
func startProxy(ctx context.Context, bin, floorAddr string, logger *slog.Logger) (*nginxServer, error) {
	return startNginx(ctx, "proxy", bin, func(dir, addr string) string {
		return fmt.Sprintf(proxyConf, dir, addr, floorAddr)
	}, logger)
}
