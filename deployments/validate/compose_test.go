package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkComposeSrc validates a compose file whose build context and nginx
// configuration are those of the repository, from a temporary directory.
func checkComposeSrc(t *testing.T, src, nginxConf string) error {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	nginxPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(nginxPath, []byte(nginxConf), 0o644); err != nil {
		t.Fatal(err)
	}
	src = strings.ReplaceAll(src, "context: ..", "context: "+root)
	src = strings.ReplaceAll(src, "./nginx.conf:", nginxPath+":")
	src = strings.ReplaceAll(src, "./prometheus/", filepath.Join(root, "deployments", "prometheus")+"/")
	src = strings.ReplaceAll(src, "./grafana/", filepath.Join(root, "deployments", "grafana")+"/")
	path := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return errors.Join(checkCompose(context.Background(), path, testEnv(t))...)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCompose(t *testing.T) {
	good := readFile(t, "../docker-compose.yml")
	nginx := readFile(t, "../nginx.conf")
	if err := checkComposeSrc(t, good, nginx); err != nil {
		t.Fatalf("docker-compose.yml fails: %v", err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"schema", "restart: unless-stopped\n  environment:", "restarts: unless-stopped\n  environment:", "restarts"},
		{"undefined dependency", "    devnode:\n      condition: service_healthy", "    devnode2:\n      condition: service_healthy", "devnode2"},
		{"gateway removed", "  gateway3:\n    <<: *gateway\n", "", `undefined service "gateway3"`},
		{"two gateways", "  gateway3:\n    <<: *gateway\n", "  gateway3:\n    <<: *gateway\n    environment:\n      GATEWAY_LISTEN: \":8080\"\n", "2 services set GATEWAY_UPSTREAM"},
		{"not waiting", "    redis:\n      condition: service_healthy", "    redis:\n      condition: service_started", "does not wait for redis"},
		{"short grace", "stop_grace_period: 40s", "stop_grace_period: 20s", "mid-drain"},
		{"unknown redis", "redis://redis:6379/0", "redis://cache:6379/0", `no service "cache"`},
		{"node on loopback", `"0.0.0.0:7771"`, `"127.0.0.1:7771"`, "listens on"},
		{"unknown variable", "GATEWAY_REDIS_PREFIX", "GATEWAY_REDIS_PREFX", "GATEWAY_REDIS_PREFX"},
		{"liveness as health", `"http://127.0.0.1:8080/readyz"`, `"http://127.0.0.1:8080/healthz"`, "does not check /readyz"},
		{"shell healthcheck", `test: ["CMD", "/probe", "http://127.0.0.1:8080/readyz"]`, `test: "/probe http://127.0.0.1:8080/readyz"`, "use CMD"},
		{"lb ignores one", "      gateway3:\n        condition: service_healthy\n", "", "does not depend on the gateway gateway3"},
		{"writable config", "/etc/nginx/nginx.conf:ro", "/etc/nginx/nginx.conf", "read-only bind mount"},
		{"unpinned image", "image: prom/prometheus:v2.55.1", "image: prom/prometheus", "not pinned"},
		{"latest image", "image: grafana/grafana:11.3.1", "image: grafana/grafana:latest", "not pinned"},
		{"rules not mounted", "      - ./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro\n", "", "rule file alerts.yml is not mounted"},
		{"no prometheus", "/etc/prometheus/prometheus.yml:ro", "/etc/prometheus/other.yml:ro", "no Prometheus"},
		{"dashboards not mounted", "./grafana/dashboards:/etc/grafana/dashboards:ro", "./grafana/dashboards:/dashboards:ro", "which nothing mounts"},
		{"writable provisioning", "/etc/grafana/provisioning:ro", "/etc/grafana/provisioning", "read-only bind mount"},
		{"grafana before prometheus", "    depends_on:\n      prometheus:\n        condition: service_healthy\n", "", "does not depend on prometheus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("docker-compose.yml has no %q", tc.old)
			}
			err := checkComposeSrc(t, strings.Replace(good, tc.old, tc.new, 1), nginx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestNginx(t *testing.T) {
	good := readFile(t, "../nginx.conf")
	want := nginxExpect{listenPort: 8080, servers: []string{"gateway1:8080", "gateway2:8080", "gateway3:8080"}}
	check := func(src string) error {
		path := filepath.Join(t.TempDir(), "nginx.conf")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return errors.Join(checkNginx(path, want)...)
	}
	if err := check(good); err != nil {
		t.Fatalf("nginx.conf fails: %v", err)
	}
	streamLoc := "location ~ ^/rpc/[^/]+/stream$ {\n"
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"buffered stream", streamLoc + "\t\t\tproxy_pass http://gateways;\n\t\t\tproxy_buffering off;", streamLoc + "\t\t\tproxy_pass http://gateways;\n\t\t\tproxy_buffering on;", "/rpc/latestHeight/stream (location ~ ^/rpc/[^/]+/stream$): proxy_buffering on"},
		{"short timeout", "proxy_read_timeout 1h;", "proxy_read_timeout 60s;", "a quiet stream would be cut"},
		{"no notifications location", "location = /notifications {", "location = /notification {", "/notifications (location /): proxy_buffering on"},
		{"header hidden", streamLoc, streamLoc + "\t\t\tproxy_set_header X-Stream 1;\n", `no proxy_set_header Connection ""`},
		{"http/1.0", "proxy_http_version 1.1;", "", "proxy_http_version 1.0"},
		{"sticky", "zone gateways 64k;", "zone gateways 64k;\n\t\tip_hash;", "uses ip_hash"},
		{"no passive health", "server gateway2:8080 max_fails=3", "server gateway2:8080", "no max_fails"},
		{"missing gateway", "\t\tserver gateway3:8080 max_fails=3 fail_timeout=10s resolve;\n", "", "no server gateway3:8080"},
		{"extra server", "keepalive 32;", "server gateway4:8080 max_fails=3;\n\t\tkeepalive 32;", "gateway4:8080, which is no gateway"},
		{"POST retried", "proxy_read_timeout 60s;", "proxy_read_timeout 60s;\n\t\t\tproxy_next_upstream error non_idempotent;", "run a POST twice"},
		{"other port", "listen 8080;", "listen 80;", "no server listens on 8080"},
		{"syntax", "keepalive 32;", "keepalive 32", `has no ending ";"`},
		{"no websocket upgrade", "\t\t\tproxy_set_header Upgrade $http_upgrade;\n", "", "a WebSocket would not open"},
		{"upgrade map closes keep-alive", "\t\t\"\" \"\";\n", "\t\t\"\" close;\n", "a WebSocket would not open"},
		{"no socket location", "location = /jsonrpc {", "location = /jsonrpc-old {", "a WebSocket would not open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("nginx.conf has no %q", tc.old)
			}
			err := check(strings.Replace(good, tc.old, tc.new, 1))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestSelectLocation(t *testing.T) {
	top, err := parseNginx(`server {
		location / { a; }
		location /rpc { b; }
		location ^~ /static/ { c; }
		location ~ \.json$ { d; }
		location = /rpc { e; }
		location ~* /STREAM$ { f; }
	}`)
	if err != nil {
		t.Fatal(err)
	}
	for uri, want := range map[string]string{
		"/":                "a",
		"/rpc":             "e",
		"/rpc/x":           "b",
		"/rpc/x.json":      "d",
		"/static/x.json":   "c",
		"/rpc/x/stream":    "f",
		"/openapi.json":    "d",
		"/anything/else/x": "a",
	} {
		loc, err := selectLocation(top[0], uri)
		if err != nil {
			t.Fatal(err)
		}
		if got := loc.block[0].name; got != want {
			t.Errorf("%s: location %v (%s), want %s", uri, loc.args, got, want)
		}
	}
}

// TestComposePrometheusTargets: a Prometheus of the compose file that
// misses a gateway, or scrapes it under another job name, fails.
func TestComposePrometheusTargets(t *testing.T) {
	good := readFile(t, "../docker-compose.yml")
	nginx := readFile(t, "../nginx.conf")
	prom := readFile(t, "../prometheus/prometheus.yml")
	for _, tc := range []struct{ name, old, new string }{
		{"a gateway missed", `, "gateway3:8080"`, ""},
		{"another job", "job_name: nuls-gateway", "job_name: gateways"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(prom, tc.old) {
				t.Fatalf("prometheus.yml has no %q", tc.old)
			}
			path := filepath.Join(t.TempDir(), "prometheus.yml")
			if err := os.WriteFile(path, []byte(strings.Replace(prom, tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			src := strings.Replace(good, "./prometheus/prometheus.yml:", path+":", 1)
			err := checkComposeSrc(t, src, nginx)
			if err == nil || !strings.Contains(err.Error(), "want the gateways") {
				t.Errorf("got %v, want an error about the gateways scraped", err)
			}
		})
	}
}
