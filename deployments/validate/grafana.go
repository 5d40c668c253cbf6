package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// The parts of Grafana's dashboard JSON model
// (https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/)
// the gateway's dashboard uses, decoded strictly: a misspelt field, or one
// Grafana would ignore, fails.
type dashboard struct {
	UID           string          `json:"uid"`
	Title         string          `json:"title"`
	Description   string          `json:"description"`
	Tags          []string        `json:"tags"`
	Timezone      string          `json:"timezone"`
	Editable      bool            `json:"editable"`
	GraphTooltip  int             `json:"graphTooltip"`
	Refresh       string          `json:"refresh"`
	SchemaVersion int             `json:"schemaVersion"`
	Version       int             `json:"version"`
	Time          timeRange       `json:"time"`
	Annotations   annotationList  `json:"annotations"`
	Links         []dashboardLink `json:"links"`
	Templating    struct {
		List []templateVar `json:"list"`
	} `json:"templating"`
	Panels []dashPanel `json:"panels"`
}

type timeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type annotationList struct {
	List []json.RawMessage `json:"list"`
}

type dashboardLink struct {
	Title string `json:"title"`
	URL   string `json:"url"`
	Type  string `json:"type"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type gridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type dashPanel struct {
	ID          int             `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Collapsed   bool            `json:"collapsed"`
	Datasource  *datasourceRef  `json:"datasource"`
	GridPos     gridPos         `json:"gridPos"`
	Targets     []panelTarget   `json:"targets"`
	FieldConfig json.RawMessage `json:"fieldConfig"`
	Options     json.RawMessage `json:"options"`
	// Panels are a collapsed row's.
	Panels []dashPanel `json:"panels"`
}

type panelTarget struct {
	RefID        string         `json:"refId"`
	Datasource   *datasourceRef `json:"datasource"`
	Expr         string         `json:"expr"`
	LegendFormat string         `json:"legendFormat"`
}

type templateVar struct {
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Type       string          `json:"type"`
	Datasource *datasourceRef  `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Refresh    int             `json:"refresh"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Current    json.RawMessage `json:"current"`
	Sort       int             `json:"sort"`
	Hide       int             `json:"hide"`
	Options    []any           `json:"options"`
}

// dashboardGrid is Grafana's grid width.
const dashboardGrid = 24

// minSchemaVersion is the schemaVersion of Grafana 9.0: older models are
// migrated on load, which the provisioned file should not depend on.
const minSchemaVersion = 36

// panelTypes are the panel types of Grafana's core the dashboard may use.
var panelTypes = []string{"row", "timeseries", "stat", "gauge", "bargauge", "table", "text", "heatmap", "piechart"}

// grafanaGlobals are Grafana's own variables
// (https://grafana.com/docs/grafana/latest/dashboards/variables/add-template-variables/#global-variables).
var grafanaGlobals = []string{"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
	"__dashboard", "__from", "__to", "__name", "__org", "__user", "__timeFilter"}

// variableUse finds $var, ${var} and ${var:format} (and the deprecated
// [[var]]) in an expression.
var variableUse = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

var uidForm = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// decodeStrict decodes JSON into v, refusing unknown fields and trailing
// data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// checkDashboard checks a dashboard's JSON model: the required fields,
// unique panel ids, the panels on the 24-column grid without overlap, every
// query's data source among datasources (uid → type) with an expression,
// and every variable it uses defined.
func checkDashboard(name string, b []byte, datasources map[string]string) []error {
	var errs []error
	fail := failer(&errs, "%s: ", name)
	var d dashboard
	if err := decodeStrict(b, &d); err != nil {
		fail("%v", err)
		return errs
	}
	if !uidForm.MatchString(d.UID) {
		fail("uid %q: want 1 to 40 letters, digits, - or _", d.UID)
	}
	if d.Title == "" {
		fail("no title")
	}
	if d.SchemaVersion < minSchemaVersion {
		fail("schemaVersion %d: want %d or later", d.SchemaVersion, minSchemaVersion)
	}
	if len(d.Panels) == 0 {
		fail("no panels")
	}
	vars := map[string]bool{}
	for _, g := range grafanaGlobals {
		vars[g] = true
	}
	checkRef := func(where string, ref *datasourceRef) {
		switch {
		case ref == nil:
			fail("%s: no datasource", where)
		case datasources[ref.UID] == "":
			fail("%s: datasource uid %q: the provisioning defines none", where, ref.UID)
		case datasources[ref.UID] != ref.Type:
			fail("%s: datasource %q is of type %q, not %q", where, ref.UID, datasources[ref.UID], ref.Type)
		}
	}
	for _, v := range d.Templating.List {
		where := "variable " + v.Name
		if v.Name == "" || vars[v.Name] {
			fail("%s: empty or defined twice", where)
		}
		vars[v.Name] = true
		if v.Type == "query" {
			checkRef(where, v.Datasource)
			if v.Definition == "" {
				fail("%s: no query", where)
			}
		}
	}
	// Rows are panels too: all are on one grid.
	var all []dashPanel
	for _, p := range d.Panels {
		all = append(all, p)
		if p.Type == "row" && p.Collapsed {
			all = append(all, p.Panels...)
		} else if len(p.Panels) > 0 {
			fail("panel %d: panels inside a row that is not collapsed", p.ID)
		}
	}
	ids := map[int]bool{}
	for i, p := range all {
		where := fmt.Sprintf("panel %d (%q)", p.ID, p.Title)
		if p.ID <= 0 || ids[p.ID] {
			fail("%s: id not positive or not unique", where)
		}
		ids[p.ID] = true
		if !slices.Contains(panelTypes, p.Type) {
			fail("%s: type %q is none of %v", where, p.Type, panelTypes)
		}
		if p.Title == "" {
			fail("%s: no title", where)
		}
		g := p.GridPos
		if g.W < 1 || g.H < 1 || g.X < 0 || g.Y < 0 || g.X+g.W > dashboardGrid {
			fail("%s: gridPos %+v is not inside the %d columns", where, g, dashboardGrid)
		}
		for _, q := range all[:i] {
			h := q.GridPos
			if g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H {
				fail("%s overlaps panel %d", where, q.ID)
			}
		}
		if p.Type == "row" || p.Type == "text" {
			if len(p.Targets) > 0 {
				fail("%s: a %s has no queries", where, p.Type)
			}
			continue
		}
		checkRef(where, p.Datasource)
		if len(p.Targets) == 0 {
			fail("%s: no queries", where)
		}
		refs := map[string]bool{}
		for _, t := range p.Targets {
			tw := where + " query " + t.RefID
			if t.RefID == "" || refs[t.RefID] {
				fail("%s: refId empty or not unique", tw)
			}
			refs[t.RefID] = true
			checkRef(tw, t.Datasource)
			if strings.TrimSpace(t.Expr) == "" {
				fail("%s: no expr", tw)
			}
		}
	}
	// Variables resolve: each use names a variable of the dashboard or a
	// global one.
	for _, p := range all {
		for _, t := range p.Targets {
			for _, m := range variableUse.FindAllStringSubmatch(t.Expr, -1) {
				name := m[1] + m[2] + m[3]
				if !vars[name] {
					fail("panel %d query %s: $%s is no variable of the dashboard", p.ID, t.RefID, name)
				}
			}
		}
	}
	return errs
}

// grafanaDatasources is a provisioning file of data sources
// (https://grafana.com/docs/grafana/latest/administration/provisioning/#data-sources).
type grafanaDatasources struct {
	APIVersion  int `json:"apiVersion"`
	Datasources []struct {
		Name      string         `json:"name"`
		UID       string         `json:"uid"`
		Type      string         `json:"type"`
		Access    string         `json:"access"`
		URL       string         `json:"url"`
		IsDefault bool           `json:"isDefault"`
		Editable  bool           `json:"editable"`
		JSONData  map[string]any `json:"jsonData"`
	} `json:"datasources"`
}

// grafanaProviders is a provisioning file of dashboard providers.
type grafanaProviders struct {
	APIVersion int `json:"apiVersion"`
	Providers  []struct {
		Name                  string `json:"name"`
		Folder                string `json:"folder"`
		Type                  string `json:"type"`
		DisableDeletion       bool   `json:"disableDeletion"`
		AllowUIUpdates        bool   `json:"allowUiUpdates"`
		UpdateIntervalSeconds int    `json:"updateIntervalSeconds"`
		Options               struct {
			Path                      string `json:"path"`
			FoldersFromFilesStructure bool   `json:"foldersFromFilesStructure"`
		} `json:"options"`
	} `json:"providers"`
}

// grafanaProvisioning is what a provisioning directory defines.
type grafanaProvisioning struct {
	// datasources: uid → type; urls: uid → URL.
	datasources, urls map[string]string
	// dashboardPaths are the directories the providers read, in the
	// container.
	dashboardPaths []string
}

// readGrafanaProvisioning reads dir/datasources/*.yml and
// dir/dashboards/*.yml strictly.
func readGrafanaProvisioning(dir string) (grafanaProvisioning, []error) {
	var errs []error
	fail := failer(&errs, "%s: ", dir)
	gp := grafanaProvisioning{datasources: map[string]string{}, urls: map[string]string{}}
	files, _ := filepath.Glob(filepath.Join(dir, "datasources", "*.yml"))
	for _, f := range files {
		var ds grafanaDatasources
		if err := readYAMLStrict(f, &ds); err != nil {
			fail("%v", err)
			continue
		}
		for _, d := range ds.Datasources {
			if d.UID == "" || d.Name == "" || d.Type == "" || d.URL == "" {
				fail("%s: datasource %q: name, uid, type and url are required", f, d.Name)
			}
			gp.datasources[d.UID], gp.urls[d.UID] = d.Type, d.URL
		}
	}
	if len(gp.datasources) == 0 {
		fail("datasources/*.yml define no data source")
	}
	files, _ = filepath.Glob(filepath.Join(dir, "dashboards", "*.yml"))
	for _, f := range files {
		var ps grafanaProviders
		if err := readYAMLStrict(f, &ps); err != nil {
			fail("%v", err)
			continue
		}
		for _, p := range ps.Providers {
			if p.Type != "file" || p.Options.Path == "" {
				fail("%s: provider %q: want type file with options.path", f, p.Name)
				continue
			}
			gp.dashboardPaths = append(gp.dashboardPaths, p.Options.Path)
		}
	}
	if len(gp.dashboardPaths) == 0 {
		fail("dashboards/*.yml provide no dashboards")
	}
	return gp, errs
}

func readYAMLStrict(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// checkGrafana checks a Grafana directory laid out as deployments/grafana:
// its provisioning, and each dashboard of dashboards/ against it.
func checkGrafana(dir string) []error {
	gp, errs := readGrafanaProvisioning(filepath.Join(dir, "provisioning"))
	files, _ := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	if len(files) == 0 {
		errs = append(errs, fmt.Errorf("%s/dashboards: no dashboard", dir))
	}
	sort.Strings(files)
	uids := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, checkDashboard(f, b, gp.datasources)...)
		var d struct {
			UID string `json:"uid"`
		}
		if json.Unmarshal(b, &d) == nil && d.UID != "" {
			if other, dup := uids[d.UID]; dup {
				errs = append(errs, fmt.Errorf("%s and %s: the same uid %q", other, f, d.UID))
			}
			uids[d.UID] = f
		}
	}
	return errs
}
