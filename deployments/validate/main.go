// Command validate checks the deployment files of deployments/ without a
// cluster, a Docker engine or the network:
//
//	validate k8s [-gateway-config F] RENDERED.yaml...   # helm template output
//	validate compose [-gateway-config F] docker-compose.yml
//	validate dockerfile [-root DIR] Dockerfile
//	validate grafana DIR                        # deployments/grafana
//
// k8s decodes every manifest strictly into the typed Kubernetes structs
// (unknown or duplicate fields fail) and checks how the objects fit together:
// probes, resources, non-root, the selectors of the Service, the
// PodDisruptionBudget and the ServiceMonitor, the autoscaler's target, the
// grace period against the gateway's shutdown timeout. compose loads the file
// with compose-go, the loader of `docker compose` (schema and references),
// then checks the cluster it describes and the nginx configuration it mounts.
// dockerfile parses with BuildKit's parser and linter, checks the final stage
// (static base, non-root user) and that .dockerignore keeps every file the
// build needs. grafana decodes the provisioning files and each dashboard's
// JSON model strictly, and checks the dashboards against the provisioning
// (Grafana itself cannot run here). Each problem is printed; the exit code is 1 if there is any.
//
// scripts/check-deployments.sh runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  validate k8s [-gateway-config cmd/gateway/config.go] RENDERED.yaml...
  validate compose [-gateway-config cmd/gateway/config.go] docker-compose.yml
  validate dockerfile [-root .] Dockerfile
  validate grafana deployments/grafana
`

// run runs one subcommand and returns the exit code: 0 valid, 1 problems
// found, 2 bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("validate "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	gatewayConfig := fs.String("gateway-config", "cmd/gateway/config.go",
		"the Go file declaring the gateway's GATEWAY_* environment variables")
	root := fs.String("root", ".", "the repository root: the Docker build context")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var problems []error
	switch args[0] {
	case "k8s":
		env, err := gatewayEnv(*gatewayConfig)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		for _, path := range fs.Args() {
			objs, err := decodeManifests(path)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			ps := checkRelease(objs, env)
			problems = append(problems, ps...)
			if len(ps) == 0 {
				fmt.Fprintf(stdout, "ok  %s: %s\n", path, summary(objs))
			}
		}
	case "compose":
		env, err := gatewayEnv(*gatewayConfig)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		for _, path := range fs.Args() {
			ps := checkCompose(ctx, path, env)
			problems = append(problems, ps...)
			if len(ps) == 0 {
				fmt.Fprintf(stdout, "ok  %s (and the nginx configuration it mounts)\n", path)
			}
		}
	case "dockerfile":
		for _, path := range fs.Args() {
			ps := checkDockerfile(path, *root)
			problems = append(problems, ps...)
			if len(ps) == 0 {
				fmt.Fprintf(stdout, "ok  %s (and %s/.dockerignore)\n", path, *root)
			}
		}
	case "grafana":
		for _, dir := range fs.Args() {
			ps := checkGrafana(dir)
			problems = append(problems, ps...)
			if len(ps) == 0 {
				fmt.Fprintf(stdout, "ok  %s (provisioning and dashboards)\n", dir)
			}
		}
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	for _, p := range problems {
		fmt.Fprintln(stderr, "FAIL", p)
	}
	if len(problems) > 0 {
		return 1
	}
	return 0
}

// failer returns the fail function of a check: each call adds to *errs an
// error whose message is prefix (formatted with prefixArgs) then format.
func failer(errs *[]error, prefix string, prefixArgs ...any) func(format string, args ...any) {
	return func(format string, args ...any) {
		all := append(append(make([]any, 0, len(prefixArgs)+len(args)), prefixArgs...), args...)
		*errs = append(*errs, fmt.Errorf(prefix+format, all...))
	}
}
