package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGrafana checks deployments/grafana as Grafana would load it, then
// that each kind of mistake in a dashboard is caught.
func TestGrafana(t *testing.T) {
	if err := errors.Join(checkGrafana("../grafana")...); err != nil {
		t.Fatalf("deployments/grafana: %v", err)
	}
	gp, errs := readGrafanaProvisioning("../grafana/provisioning")
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	good := readFile(t, "../grafana/dashboards/nuls-gateway.json")
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown field", `"schemaVersion": 39`, `"schemaVersion": 39, "shemaVersion": 39`, "unknown field"},
		{"old schema", `"schemaVersion": 39`, `"schemaVersion": 16`, "schemaVersion 16"},
		{"no uid", `"uid": "nuls-gateway"`, `"uid": ""`, "uid"},
		{"duplicate id", `"id": 3,`, `"id": 2,`, "not unique"},
		{"off the grid", `"w": 4,`, `"w": 30,`, "not inside the 24 columns"},
		{"overlap", `"x": 4,`, `"x": 2,`, "overlaps"},
		{"unknown datasource", `"uid": "prometheus"`, `"uid": "prom"`, `datasource uid "prom"`},
		{"empty expr", `"expr": "sum(nuls_gateway_active_streams{instance=~\"$instance\"})"`, `"expr": " "`, "no expr"},
		{"undefined variable", `instance=~\"$instance\"`, `instance=~\"$instanse\"`, "$instanse is no variable"},
		{"unknown panel type", `"type": "stat"`, `"type": "singlestat"`, "singlestat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("the dashboard has no %q", tc.old)
			}
			err := errors.Join(checkDashboard("d.json", []byte(strings.Replace(good, tc.old, tc.new, 1)), gp.datasources)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestGrafanaProvisioning: a provisioning directory with a misspelt field,
// or without a data source, fails.
func TestGrafanaProvisioning(t *testing.T) {
	for _, tc := range []struct {
		name, datasources, want string
	}{
		{"misspelt", "apiVersion: 1\ndatasources:\n  - name: P\n    uid: p\n    type: prometheus\n    ulr: http://p:9090\n", "ulr"},
		{"none", "apiVersion: 1\ndatasources: []\n", "no data source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range map[string]string{
				"datasources/p.yml": tc.datasources,
				"dashboards/d.yml":  "apiVersion: 1\nproviders:\n  - name: d\n    type: file\n    options:\n      path: /d\n",
			} {
				path := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, errs := readGrafanaProvisioning(dir)
			if err := errors.Join(errs...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
