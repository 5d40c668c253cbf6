// Command catalog-gen writes the gateway's catalog of the NULS 2 modules'
// commands (catalog/nuls2.json) from a nuls-v2 source checkout: the facts
// of each @CmdAnnotation with its @Parameter and @ResponseData annotations,
// resolved across files (command names are often constants). No
// description is copied.
//
//	go run ./cmd/catalog-gen --src ~/src/nuls-v2 --commit $(git -C ~/src/nuls-v2 rev-parse HEAD) > catalog/nuls2.json
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nuls-gateway/nuls-gateway/catalog"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "catalog-gen:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("catalog-gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := fs.String("src", "", "a nuls-v2 source checkout")
	commit := fs.String("commit", "", "the checkout's commit, recorded in the output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *src == "" {
		return errors.New("--src is required")
	}
	files, err := readTree(*src)
	if err != nil {
		return err
	}
	ix := newIndex(files)
	cmds, warnings := commands(ix)
	// What NULS's own public HTTP server (nuls-api) calls is what NULS
	// exposes to the public; the others are called by modules only.
	api, _ := calledCommands(ix, *src, files, "module/nuls-api/")
	_, events := calledCommands(ix, *src, files, "module/nuls-cores/")
	for i := range cmds {
		cmds[i].API = api[cmds[i].Name] && !selfRegistration[cmds[i].Name]
		cmds[i].Events = events[cmds[i].Name]
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "catalog-gen: warning:", w)
	}
	if len(cmds) == 0 {
		return fmt.Errorf("no @CmdAnnotation found under %s", *src)
	}
	out := catalog.File{
		Source:   catalog.Provenance{Repository: "github.com/nuls-io/nuls-v2", Commit: *commit, Generator: "cmd/catalog-gen"},
		Commands: cmds,
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(b, '\n'))
	fmt.Fprintf(stderr, "catalog-gen: %d commands from %d files\n", len(cmds), len(files))
	return err
}

// readTree reads the main Java sources under root (tests and the test
// kernel left out).
func readTree(root string) ([]*javaFile, error) {
	var files []*javaFile
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.Contains(rel+"/", "/src/test/") || d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".java") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, scanFile(rel, string(b)))
		return nil
	})
	return files, err
}

// selfRegistration are commands nuls-api calls as a module, at its start,
// to register itself: not what it exposes.
var selfRegistration = map[string]bool{"tx_register": true}

// testKernel is mykernel's package: its commands are a test Manager's.
const testKernel = "io.nuls.core.rpc.cmd.kernel"

// moduleDirs names the module of a nuls-cores package without
// @NulsCoresCmd.
var moduleDirs = map[string]string{
	"account": "account", "block": "block", "chain": "chain-manager", "consensus": "consensus",
	"contract": "smart-contract", "crosschain": "cross-chain", "ledger": "ledger", "network": "network",
	"protocol": "protocol-update", "transaction": "transaction",
}

var nulsCoresPath = regexp.MustCompile(`^module/nuls-cores/src/main/java/io/nuls/([a-z]+)/`)

// commands extracts every command.
func commands(ix *index) ([]catalog.Command, []string) {
	var out []catalog.Command
	var warnings []string
	warn := func(c *javaClass, format string, a ...any) {
		warnings = append(warnings, c.file.path+": "+fmt.Sprintf(format, a...))
	}
	var classes []*javaClass
	for _, cs := range ix.bySimple {
		classes = append(classes, cs...)
	}
	sort.Slice(classes, func(i, j int) bool { return classes[i].qualified < classes[j].qualified })
	for _, c := range classes {
		if len(c.commands) == 0 || strings.HasPrefix(c.qualified, testKernel+".") {
			continue
		}
		module := moduleOf(ix, c)
		for _, as := range c.commands {
			cmd, err := command(ix, c, module, as)
			if err != nil {
				warn(c, "%v", err)
				continue
			}
			out = append(out, cmd)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out, warnings
}

// moduleOf is the module of a class's commands: its @NulsCoresCmd, else its
// package in nuls-cores, else none (the commands of every module).
func moduleOf(ix *index, c *javaClass) string {
	for o := c; o != nil; o = o.outer {
		if a := findAnnotation(o.annotations, "NulsCoresCmd"); a != nil {
			if m, ok := a.elems["module"]; ok && m.name != "" {
				enumName, entry, _ := strings.Cut(m.name, ".")
				if e := ix.class(o, enumName); e != nil && len(e.enum[entry]) > 1 {
					if s, err := ix.str(e, e.enum[entry][1]); err == nil {
						return s
					}
				}
			}
		}
	}
	if m := nulsCoresPath.FindStringSubmatch(c.file.path); m != nil {
		return moduleDirs[m[1]]
	}
	return ""
}

// command reads one method's annotations.
func command(ix *index, c *javaClass, module string, as []*annotation) (catalog.Command, error) {
	ca := findAnnotation(as, "CmdAnnotation")
	cmd := catalog.Command{Module: module, Scope: "public", Params: []catalog.Param{}}
	var err error
	if cmd.Name, err = ix.str(c, ca.elems["cmd"]); err != nil {
		return cmd, fmt.Errorf("cmd: %w", err)
	}
	if v, ok := ca.elems["version"]; ok {
		cmd.Version, _ = strconv.ParseFloat(strings.TrimRight(v.num, "dDfF"), 64)
	}
	if v, ok := ca.elems["scope"]; ok {
		s, err := ix.str(c, v)
		if err != nil {
			return cmd, fmt.Errorf("%s: scope: %w", cmd.Name, err)
		}
		cmd.Scope = strings.ToLower(s)
	}
	cmd.MinEvent = intElem(ca, "minEvent")
	cmd.MinPeriod = intElem(ca, "minPeriod")
	var params []*annotation
	for _, a := range as {
		switch a.name {
		case "Parameter":
			params = append(params, a)
		case "Parameters":
			for _, v := range a.elems["value"].array {
				if v.ann != nil {
					params = append(params, v.ann)
				}
			}
			if v := a.elems["value"]; v.ann != nil {
				params = append(params, v.ann)
			}
		}
	}
	for _, pa := range params {
		p, err := param(ix, c, pa)
		if err != nil {
			return cmd, fmt.Errorf("%s: %w", cmd.Name, err)
		}
		cmd.Params = append(cmd.Params, p)
		if secretName(p.Name) || ix.hasSecret(c, pa) {
			cmd.Secret = true
		}
	}
	if rd := findAnnotation(as, "ResponseData"); rd != nil {
		if td := rd.elems["responseType"].ann; td != nil {
			cmd.Result = ix.typeOf(c, td, 0)
		}
	}
	return cmd, nil
}

func intElem(a *annotation, name string) int {
	n, _ := strconv.Atoi(a.elems[name].num)
	return n
}

// param reads one @Parameter.
func param(ix *index, c *javaClass, a *annotation) (catalog.Param, error) {
	var p catalog.Param
	var err error
	if p.Name, err = ix.str(c, a.elems["parameterName"]); err != nil || p.Name == "" {
		return p, fmt.Errorf("parameterName: %v", err)
	}
	if v, ok := a.elems["parameterType"]; ok {
		p.Type, _ = ix.str(c, v)
	}
	if td := a.elems["requestType"].ann; td != nil {
		if p.Type == "" {
			p.Type = className(td.elems["value"].name)
		}
		if ce := className(td.elems["collectionElement"].name); ce != "" && ce != "Void" {
			p.Items = ce
		}
	}
	if p.Type == "" {
		p.Type = "String" // the annotation's default requestType
	}
	if v, ok := a.elems["parameterValidRange"]; ok {
		p.Range, _ = ix.str(c, v)
	}
	if v, ok := a.elems["parameterValidRegExp"]; ok {
		p.Pattern, _ = ix.str(c, v)
	}
	p.Required = a.elems["canNull"].name != "true"
	return p, nil
}

// className is the simple name of a class literal such as java.util.List.class.
func className(lit string) string {
	lit = strings.TrimSuffix(lit, ".class")
	return lit[strings.LastIndexByte(lit, '.')+1:]
}

// secretName reports whether a parameter or field name is a wallet
// password or a private key.
func secretName(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "password") || n == "pwd" || strings.Contains(n, "prikey") || strings.Contains(n, "privatekey")
}

// hasSecret reports whether a parameter's type is a class with a secret
// field (ac_transfer's inputs carry each input's password).
func (ix *index) hasSecret(c *javaClass, a *annotation) bool {
	td := a.elems["requestType"].ann
	if td == nil {
		return false
	}
	for _, lit := range []string{td.elems["value"].name, td.elems["collectionElement"].name} {
		if lit == "" {
			continue
		}
		for _, f := range ix.fieldsOf(c, strings.TrimSuffix(lit, ".class")) {
			if secretName(f.name) {
				return true
			}
		}
	}
	return false
}
