package main

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Where the compose file's Prometheus and Grafana read their files.
const (
	prometheusConfigTarget    = "/etc/prometheus/prometheus.yml"
	grafanaProvisioningTarget = "/etc/grafana/provisioning"
	// gatewayJob is the scrape job alerts.yml and the dashboard expect.
	gatewayJob = "nuls-gateway"
)

// prometheusConfig is the part of prometheus.yml the compose file's uses,
// decoded strictly.
type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string `json:"scrape_interval"`
		EvaluationInterval string `json:"evaluation_interval"`
	} `json:"global"`
	RuleFiles     []string `json:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `json:"job_name"`
		MetricsPath   string `json:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `json:"targets"`
		} `json:"static_configs"`
	} `json:"scrape_configs"`
}

// checkComposeMonitoring checks the monitoring of the compose file: images
// pinned; Prometheus scraping every gateway (servers, host:port) under the
// job gatewayJob, with its rule files mounted beside its configuration;
// Grafana's provisioning and dashboards mounted read-only where its
// providers read them, the dashboards checked against the provisioning, and
// its data sources pointing at services of the file.
func checkComposeMonitoring(path string, p *types.Project, servers []string) []error {
	var errs []error
	fail := failer(&errs, "%s: ", path)
	names := make([]string, 0, len(p.Services))
	for name := range p.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := p.Services[name]
		if s.Build != nil {
			continue
		}
		ref := s.Image
		if i := strings.LastIndexByte(ref, '/'); i >= 0 {
			ref = ref[i+1:]
		}
		if _, tag, ok := strings.Cut(ref, ":"); !strings.Contains(s.Image, "@sha256:") && (!ok || tag == "latest") {
			fail("service %s: image %q is not pinned to a version", name, s.Image)
		}
	}
	mounted := func(s types.ServiceConfig, target string) *types.ServiceVolumeConfig {
		for i, v := range s.Volumes {
			if v.Target == target {
				if v.Type != types.VolumeTypeBind || !v.ReadOnly {
					fail("service %s: %s is not a read-only bind mount", s.Name, target)
				}
				return &s.Volumes[i]
			}
		}
		return nil
	}
	var prom, grafana *types.ServiceConfig
	for _, name := range names {
		s := p.Services[name]
		for _, v := range s.Volumes {
			switch v.Target {
			case prometheusConfigTarget:
				prom = &s
			case grafanaProvisioningTarget:
				grafana = &s
			}
		}
	}
	if prom == nil {
		fail("no service mounts %s: no Prometheus", prometheusConfigTarget)
	} else {
		v := mounted(*prom, prometheusConfigTarget)
		var cfg prometheusConfig
		if err := readYAMLStrict(v.Source, &cfg); err != nil {
			fail("service %s: %v", prom.Name, err)
		} else {
			var targets []string
			jobs := 0
			for _, sc := range cfg.ScrapeConfigs {
				if sc.JobName != gatewayJob {
					continue
				}
				jobs++
				for _, st := range sc.StaticConfigs {
					targets = append(targets, st.Targets...)
				}
			}
			sort.Strings(targets)
			want := slices.Sorted(slices.Values(servers))
			if jobs != 1 || !slices.Equal(targets, want) {
				fail("service %s: %s: job %s scrapes %v, want the gateways %v", prom.Name, v.Source, gatewayJob, targets, want)
			}
			for _, rf := range cfg.RuleFiles {
				target := rf
				if !filepath.IsAbs(rf) {
					target = filepath.Join(filepath.Dir(prometheusConfigTarget), rf)
				}
				if rv := mounted(*prom, target); rv == nil {
					fail("service %s: rule file %s is not mounted at %s", prom.Name, rf, target)
				} else if _, err := os.Stat(rv.Source); err != nil {
					fail("service %s: %v", prom.Name, err)
				}
			}
		}
	}
	if grafana == nil {
		fail("no service mounts %s: no Grafana", grafanaProvisioningTarget)
		return errs
	}
	v := mounted(*grafana, grafanaProvisioningTarget)
	gp, perrs := readGrafanaProvisioning(v.Source)
	errs = append(errs, perrs...)
	for uid, raw := range gp.urls {
		u, err := url.Parse(raw)
		if err != nil {
			fail("service %s: datasource %s: %v", grafana.Name, uid, err)
			continue
		}
		if _, ok := p.Services[u.Hostname()]; !ok {
			fail("service %s: datasource %s: %s names no service", grafana.Name, uid, raw)
		} else if _, ok := grafana.DependsOn[u.Hostname()]; !ok {
			fail("service %s does not depend on %s, its datasource %s", grafana.Name, u.Hostname(), uid)
		}
	}
	for _, dir := range gp.dashboardPaths {
		dv := mounted(*grafana, dir)
		if dv == nil {
			fail("service %s: its provider reads %s, which nothing mounts", grafana.Name, dir)
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dv.Source, "*.json"))
		if len(files) == 0 {
			fail("service %s: %s has no dashboard", grafana.Name, dv.Source)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				fail("%v", err)
				continue
			}
			errs = append(errs, checkDashboard(f, b, gp.datasources)...)
		}
	}
	return errs
}
