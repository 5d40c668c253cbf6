package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
)

// tableOptions is the configuration table, its values going nowhere.
func tableOptions() []option { return options(&config{}, &rawConfig{}) }

// TestOptionsTable: every flag of the command line is a row of the table,
// with a GATEWAY_* variable of its own; each default is one the flag takes.
func TestOptionsTable(t *testing.T) {
	opts := tableOptions()
	byName := map[string]option{}
	envs := map[string]string{}
	for _, o := range opts {
		if _, dup := byName[o.name]; dup {
			t.Errorf("--%s: two rows", o.name)
		}
		byName[o.name] = o
		if !strings.HasPrefix(o.env, "GATEWAY_") {
			t.Errorf("--%s: environment variable %q, want GATEWAY_*", o.name, o.env)
		}
		if other, dup := envs[o.env]; dup {
			t.Errorf("%s sets both --%s and --%s", o.env, other, o.name)
		}
		envs[o.env] = o.name
		if o.help == "" || o.group < 0 || o.group >= numGroups {
			t.Errorf("--%s: help %q, group %d", o.name, o.help, o.group)
		}
		if o.def != "" {
			if err := o.value.Set(o.def); err != nil {
				t.Errorf("--%s: default %q: %v", o.name, o.def, err)
			}
		}
	}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	if errs := applyOptions(fs, options(&config{}, &rawConfig{}), noEnv); len(errs) > 0 {
		t.Fatal(errs)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := byName[f.Name]; !ok {
			t.Errorf("--%s is no row of the table", f.Name)
		}
	})
	if fs.NFlag() != 0 || len(byName) != countFlags(fs) {
		t.Errorf("%d rows, %d flags", len(byName), countFlags(fs))
	}
}

func countFlags(fs *flag.FlagSet) int {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n
}

// TestREADMEListsEveryFlag: every flag has a row in a table of the manual's
// docs/configuration.md naming it and its environment variable, and
// a default other than none is the table's. A row it lacks is printed as
// the table would write it.
func TestREADMEListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ flags, env, def string }
	var rows []row
	for line := range strings.SplitSeq(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| `--") || len(cells) < 5 {
			continue
		}
		rows = append(rows, row{cells[1], cells[2], cells[3]})
	}
	for _, o := range tableOptions() {
		var r *row
		for i := range rows {
			if strings.Contains(rows[i].flags, "`--"+o.name+"`") {
				r = &rows[i]
				break
			}
		}
		want := "| `--" + o.name + "` | `" + o.env + "` | " + readmeDefault(o) + " | " + o.help + " |"
		switch {
		case r == nil:
			t.Errorf("--%s has no row in a README table; the table would write:\n%s", o.name, want)
		case !strings.Contains(r.env, "`"+o.env+"`"):
			t.Errorf("--%s: the README's row names %s, want %s", o.name, strings.TrimSpace(r.env), o.env)
		case o.def != "" && !strings.Contains(r.def, "`"+o.def+"`"):
			t.Errorf("--%s: the README's default is %s, want `%s`", o.name, strings.TrimSpace(r.def), o.def)
		}
	}
}

// readmeDefault is how the README writes the default of o.
func readmeDefault(o option) string {
	switch {
	case o.def != "":
		return "`" + o.def + "`"
	case o.value.typeName() == "":
		return "`false`"
	}
	return "(none)"
}

// TestBooleanEnv: a boolean variable takes what strconv.ParseBool takes (1,
// t, true, TRUE, 0, false...), and a value it does not is an error naming
// the variable, never a silent false.
func TestBooleanEnv(t *testing.T) {
	for _, o := range tableOptions() {
		if o.value.typeName() != "" {
			continue
		}
		for v, want := range map[string]bool{"1": true, "t": true, "true": true, "TRUE": true, "True": true, "0": false, "f": false, "false": false, "FALSE": false} {
			var got bool
			fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
			errs := applyOptions(fs, []option{{o.name, o.env, o.def, o.help, o.group, boolVar(&got)}}, func(k string) string {
				if k == o.env {
					return v
				}
				return ""
			})
			if len(errs) > 0 || got != want {
				t.Errorf("%s=%s: %v %v, want %v", o.env, v, got, errs, want)
			}
		}
	}
	env := map[string]string{envAllowKernel: "1", envSimulatedNode: "1"}
	c, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || !c.AllowKernelCommands {
		t.Errorf("%s=1: AllowKernelCommands %v, %v", envAllowKernel, c.AllowKernelCommands, err)
	}
	env[envAllowKernel] = "yes"
	if _, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), envAllowKernel) {
		t.Errorf("%s=yes: %v, want an error naming the variable", envAllowKernel, err)
	}
	// The flag beats the variable.
	env[envAllowKernel] = "true"
	if c, err := parseConfig([]string{"--allow-kernel-commands=false"}, func(k string) string { return env[k] }, io.Discard); err != nil || c.AllowKernelCommands {
		t.Errorf("--allow-kernel-commands=false over %s=true: %v, %v", envAllowKernel, c.AllowKernelCommands, err)
	}
}

// TestHelpGroups: --help lists every flag once, under the title of its
// group, the groups in their order.
func TestHelpGroups(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseConfig([]string{"--help"}, noEnv, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	help := out.String()
	last := -1
	for g := range numGroups {
		i := strings.Index(help, "\n"+groupTitles[g]+":\n")
		if i < last {
			t.Errorf("group %q missing or out of order", groupTitles[g])
		}
		last = i
	}
	for _, o := range tableOptions() {
		if n := strings.Count(help, "  --"+o.name+" ") + strings.Count(help, "  --"+o.name+"\n"); n != 1 {
			t.Errorf("--%s is listed %d times", o.name, n)
			continue
		}
		at := strings.Index(help, "  --"+o.name)
		title := groupTitles[o.group] + ":"
		if g := strings.LastIndex(help[:at], "\n\n"); !strings.HasPrefix(help[g+2:], title) {
			t.Errorf("--%s is not under %q", o.name, title)
		}
	}
}
