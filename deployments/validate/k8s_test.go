package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testEnv is the gateway's environment, from the real config file.
func testEnv(t *testing.T) map[string]bool {
	t.Helper()
	env, err := gatewayEnv("../../cmd/gateway/config.go")
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestGatewayEnv(t *testing.T) {
	env := testEnv(t)
	for _, name := range []string{"GATEWAY_UPSTREAM", "GATEWAY_REDIS_URL", "GATEWAY_SHUTDOWN_TIMEOUT", "GATEWAY_LISTEN"} {
		if !env[name] {
			t.Errorf("%s missing from %v", name, env)
		}
	}
	if _, err := gatewayEnv("main.go"); err == nil {
		t.Error("a file without GATEWAY_ constants was accepted")
	}
}

// checkManifest validates src as one release.
func checkManifest(t *testing.T, src string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "release.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := decodeManifests(path)
	if err != nil {
		return err
	}
	return errors.Join(checkRelease(objs, testEnv(t))...)
}

func TestRelease(t *testing.T) {
	b, err := os.ReadFile("testdata/release.yaml")
	if err != nil {
		t.Fatal(err)
	}
	good := string(b)
	if err := checkManifest(t, good); err != nil {
		t.Fatalf("the valid release fails: %v", err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown field", "  minReplicas: 3", "  minReplica: 3", `unknown field "minReplica"`},
		{"duplicate field", "  maxReplicas: 10", "  maxReplicas: 10\n  maxReplicas: 11", "already set"},
		{"wrong type", "averageUtilization: 70", "averageUtilization: high", "averageUtilization"},
		{"unknown kind", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgetz", "no schema for policy/v1/PodDisruptionBudgetz"},
		{"bad name", "kind: Service\nmetadata:\n  name: gw", "kind: Service\nmetadata:\n  name: Gw_1", "name:"},
		{"bad label", "app.kubernetes.io/name: gw\n    app.kubernetes.io/component: gateway\nspec:\n  selector", "app.kubernetes.io/name: gw\n    bad key!: x\n    app.kubernetes.io/component: gateway\nspec:\n  selector", "bad key!"},
		{"no readiness probe", "          readinessProbe:\n            httpGet:\n              path: /readyz\n              port: http\n", "", "no readinessProbe"},
		{"readiness on healthz", "path: /readyz", "path: /healthz", "readinessProbe is not an httpGet of /readyz"},
		{"probe on another port", "path: /healthz\n              port: http", "path: /healthz\n              port: 9090", "port 9090 is not a port of the container"},
		{"no memory limit", "            limits:\n              memory: 512Mi\n", "", "no resources.limits.memory"},
		{"no cpu request", "              cpu: 250m\n", "", "no resources.requests.cpu"},
		{"root", "runAsUser: 65532", "runAsUser: 0", "runAsUser is 0"},
		{"maybe root", "        runAsNonRoot: true\n", "", "runAsNonRoot is not true"},
		{"writable root", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"capabilities", "drop: [ALL]", "drop: [NET_RAW]", "capabilities.drop"},
		{"latest", "nuls-gateway:1.0.0", "nuls-gateway:latest", ":latest"},
		{"unknown env", "name: GATEWAY_LISTEN", "name: GATEWAY_LISTN", "GATEWAY_LISTN: the gateway reads no such variable"},
		{"missing secret key", "key: redis-url", "key: url", `has no key "url"`},
		{"short grace", "terminationGracePeriodSeconds: 50", "terminationGracePeriodSeconds: 30", "killed mid-drain"},
		{"listen port", `value: ":8080"`, `value: ":9090"`, "GATEWAY_LISTEN"},
		{"no upstream", "            - name: GATEWAY_UPSTREAM\n              value: ws://nuls-manager:7771\n", "", "no GATEWAY_UPSTREAM"},
		{"empty upstream", "value: ws://nuls-manager:7771", `value: ""`, "no GATEWAY_UPSTREAM"},
		{"simulated node", "            - name: GATEWAY_TOPOLOGY\n", "            - name: GATEWAY_SIMULATED_NODE\n              value: \"1\"\n            - name: GATEWAY_TOPOLOGY\n", "GATEWAY_SIMULATED_NODE \"1\": every pod would serve a simulated chain"},
		{"replicas with HPA", "spec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: gw", "spec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: gw", "spec.replicas is set"},
		{"PDB selects nothing", "  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: gw", "  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: other", "selects the pods of 0 Deployments"},
		{"PDB blocks drains", "maxUnavailable: 1", "minAvailable: 3", "no pod could be evicted"},
		{"HPA target", "    kind: Deployment\n    name: gw", "    kind: Deployment\n    name: other", `names "other"`},
		{"HPA single pod", "minReplicas: 3", "minReplicas: 1", "minReplicas is below 2"},
		{"Service port", "targetPort: http", "targetPort: metrics", "targetPort metrics"},
		{"ServiceMonitor port", "    - port: http\n      path: /metrics", "    - port: web\n      path: /metrics", "endpoint port"},
		{"module endpoint on every interface", `value: "$(POD_IP):8090"`, `value: ":8090"`, "listens on every interface"},
		{"module endpoint on 0.0.0.0", `value: "$(POD_IP):8090"`, `value: "0.0.0.0:8090"`, "listens on every interface"},
		{"module endpoint not a container port", `value: "$(POD_IP):8090"`, `value: "$(POD_IP):8091"`, "port 8091 is not a port of the container"},
		{"no NetworkPolicy of the gateway", "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: gw", "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: other", "no NetworkPolicy of the release isolates"},
		{"module port from anywhere", "      from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: nuls-manager\n", "", "admits the module port 8090 from anywhere"},
		{"module port from every pod", "        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: nuls-manager\n", "        - podSelector: {}\n", "from every pod"},
		{"module port from every address", "        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: nuls-manager\n", "        - ipBlock:\n            cidr: 0.0.0.0/0\n", "from every pod"},
		{"every port from anywhere", "    - ports:\n        - port: http\n          protocol: TCP\n", "    - {}\n", "from anywhere"},
		{"HTTP port closed", "    - ports:\n        - port: http\n          protocol: TCP\n", "", "no ingress rule admits the HTTP port"},
		{"policy port unknown", "        - port: module\n", "        - port: modul\n", `port "modul" is not a port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("the fixture has no %q", tc.old)
			}
			err := checkManifest(t, strings.Replace(good, tc.old, tc.new, 1))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
