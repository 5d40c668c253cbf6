package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeGateways is how many gateways the compose file runs.
const composeGateways = 3

// lbConfigTarget is where the nginx image reads its configuration.
const lbConfigTarget = "/etc/nginx/nginx.conf"

// loadCompose loads path as `docker compose config` does: the Compose
// Specification's JSON schema, interpolation (with an empty environment),
// merge keys, references between services, paths resolved against the
// file's directory.
func loadCompose(ctx context.Context, path string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions([]string{path},
		cli.WithWorkingDirectory(filepath.Dir(path)),
		cli.WithEnv(nil),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(ctx)
}

// checkCompose checks the cluster docker-compose.yml describes: three
// gateways on the same image as the simulated node, each using Redis and the
// node of the file and waiting for them to be healthy, a grace period longer
// than their drain, nginx in front of them, whose configuration checkNginx
// then checks, and Prometheus and Grafana watching them
// (checkComposeMonitoring).
func checkCompose(ctx context.Context, path string, env map[string]bool) []error {
	p, err := loadCompose(ctx, path)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", path, err)}
	}
	var errs []error
	fail := failer(&errs, "%s: ", path)
	var names []string
	for name := range p.Services {
		names = append(names, name)
	}
	sort.Strings(names)

	var gateways []string
	for _, name := range names {
		s := p.Services[name]
		if _, ok := s.Environment["GATEWAY_UPSTREAM"]; ok {
			gateways = append(gateways, name)
		}
		for k := range s.Environment {
			if strings.HasPrefix(k, "GATEWAY_") && !env[k] {
				fail("service %s: environment %s: the gateway reads no such variable", name, k)
			}
		}
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(s.Build.Context, "go.mod")); err != nil {
				fail("service %s: build context %s is not the repository root: %v", name, s.Build.Context, err)
			}
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				fail("service %s: dockerfile: %v", name, err)
			}
		}
	}
	if len(gateways) != composeGateways {
		fail("%d services set GATEWAY_UPSTREAM (%s), want %d gateways", len(gateways), strings.Join(gateways, ", "), composeGateways)
	}
	var servers []string
	for _, name := range gateways {
		s := p.Services[name]
		errs = append(errs, checkComposeGateway(path, p, s)...)
		port := "8080"
		if v := s.Environment["GATEWAY_LISTEN"]; v != nil {
			if _, pt, err := net.SplitHostPort(*v); err == nil {
				port = pt
			}
		}
		servers = append(servers, net.JoinHostPort(name, port))
	}
	errs = append(errs, checkComposeMonitoring(path, p, servers)...)

	// The load balancer: the service that mounts an nginx configuration.
	var lbs []string
	for _, name := range names {
		for _, v := range p.Services[name].Volumes {
			if v.Target == lbConfigTarget {
				lbs = append(lbs, name)
			}
		}
	}
	if len(lbs) != 1 {
		fail("%d services mount %s, want one load balancer", len(lbs), lbConfigTarget)
		return errs
	}
	lb := p.Services[lbs[0]]
	for _, g := range gateways {
		if _, ok := lb.DependsOn[g]; !ok {
			fail("service %s does not depend on the gateway %s", lb.Name, g)
		}
	}
	listen := 0
	for _, port := range lb.Ports {
		if port.Published != "" {
			listen = int(port.Target)
		}
	}
	if listen == 0 {
		fail("service %s publishes no port", lb.Name)
		return errs
	}
	for _, v := range lb.Volumes {
		if v.Target != lbConfigTarget {
			continue
		}
		if v.Type != types.VolumeTypeBind || !v.ReadOnly {
			fail("service %s: %s is not a read-only bind mount", lb.Name, lbConfigTarget)
		}
		errs = append(errs, checkNginx(v.Source, nginxExpect{listenPort: listen, servers: servers})...)
	}
	return errs
}

// checkComposeGateway checks one gateway service of the compose file.
func checkComposeGateway(path string, p *types.Project, s types.ServiceConfig) []error {
	var errs []error
	fail := failer(&errs, "%s: service %s: ", path, s.Name)
	// dependency checks that the service named by the host of rawURL
	// exists, is healthy before the gateway starts, and returns it.
	dependency := func(envName string) *types.ServiceConfig {
		v := s.Environment[envName]
		if v == nil {
			fail("%s is not set", envName)
			return nil
		}
		u, err := url.Parse(*v)
		if err != nil {
			fail("%s: %v", envName, err)
			return nil
		}
		dep, ok := p.Services[u.Hostname()]
		if !ok {
			fail("%s %q: no service %q", envName, *v, u.Hostname())
			return nil
		}
		if d, ok := s.DependsOn[dep.Name]; !ok || d.Condition != types.ServiceConditionHealthy {
			fail("does not wait for %s to be healthy (depends_on condition service_healthy)", dep.Name)
		}
		if dep.HealthCheck == nil || len(dep.HealthCheck.Test) == 0 || dep.HealthCheck.Disable {
			fail("depends on %s, which has no healthcheck", dep.Name)
		}
		return &dep
	}
	if node := dependency("GATEWAY_UPSTREAM"); node != nil {
		u, _ := url.Parse(*s.Environment["GATEWAY_UPSTREAM"])
		if u.Scheme != "ws" && u.Scheme != "wss" {
			fail("GATEWAY_UPSTREAM %q is not ws:// or wss://", u)
		}
		if node.Image != s.Image {
			fail("the node %s runs image %q, the gateway %q: build both from deployments/Dockerfile", node.Name, node.Image, s.Image)
		}
		// The node must listen on every interface at the upstream's port.
		i := slices.Index(node.Command, "--listen")
		if i < 0 || i+1 >= len(node.Command) {
			fail("the node %s has no --listen", node.Name)
		} else if host, port, err := net.SplitHostPort(node.Command[i+1]); err != nil || (host != "" && host != "0.0.0.0") || port != u.Port() {
			fail("the node %s listens on %q, want 0.0.0.0:%s for the other containers", node.Name, node.Command[i+1], u.Port())
		}
	}
	if redis := dependency("GATEWAY_REDIS_URL"); redis != nil && !strings.HasPrefix(redis.Image, "redis:") && !strings.Contains(redis.Image, "/redis:") {
		fail("GATEWAY_REDIS_URL names %s, whose image %q is not redis", redis.Name, redis.Image)
	}
	hc := s.HealthCheck
	if hc == nil || !slices.ContainsFunc(hc.Test, func(a string) bool { return strings.HasSuffix(a, "/readyz") }) {
		fail("the healthcheck does not check /readyz")
	} else if hc.Test[0] != "CMD" {
		fail("healthcheck %q: the image has no shell, use CMD", hc.Test)
	}
	shutdown := defaultShutdownTimeout
	if v := s.Environment["GATEWAY_SHUTDOWN_TIMEOUT"]; v != nil {
		d, err := time.ParseDuration(*v)
		if err != nil {
			fail("GATEWAY_SHUTDOWN_TIMEOUT %q: %v", *v, err)
		}
		shutdown = d
	}
	grace := 10 * time.Second // Docker's default
	if s.StopGracePeriod != nil {
		grace = time.Duration(*s.StopGracePeriod)
	}
	if grace <= shutdown {
		fail("stop_grace_period %v is not above GATEWAY_SHUTDOWN_TIMEOUT %v: Docker would kill it mid-drain", grace, shutdown)
	}
	if s.Build == nil {
		fail("no build: the image would be pulled, and there is none to pull")
	}
	if !s.ReadOnly {
		fail("read_only is not true")
	}
	if u := s.User; u == "0" || u == "root" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:") {
		fail("runs as root (user %s)", strconv.Quote(u))
	}
	return errs
}
