package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// group is the concern of an option: --help lists the options by group.
type group int

// The groups, in the order --help lists them. groupNone is no group: a row
// left without one fails TestEveryFlagHasAGroup.
const (
	groupNone group = iota
	groupListen
	groupUpstream
	groupAuth
	groupLimits
	groupStreams
	groupCache
	groupCluster
	groupObservability
	groupDevelopment
	numGroups
)

var groupTitles = [numGroups]string{
	groupListen:        "Listening and TLS",
	groupUpstream:      "Upstream node",
	groupAuth:          "Authentication, keys and what is exposed",
	groupLimits:        "Limits",
	groupStreams:       "Streams",
	groupCache:         "The answer cache",
	groupCluster:       "Redis and several instances",
	groupObservability: "Logging, metrics and tracing",
	groupDevelopment:   "Development (the simulated node)",
}

// option is one row of the configuration table: a flag, the environment
// variable that sets it when the flag is not given, its default, its help
// and its group, and the typed value it parses into. The table is the one
// source of the flags, of the reading of the environment, of --help, and of
// the README's tables (TestREADMEListsEveryFlag checks them against it).
type option struct {
	name string // the flag, without its dashes
	env  string // its GATEWAY_* variable
	// def is the default as it would be typed on the command line; "" is
	// the zero value of the type (none, 0, false).
	def   string
	help  string
	group group
	value value
}

// value is a typed flag target: flag.Value, plus what --help shows of it.
type value interface {
	flag.Value
	// typeName is the value's type in --help ("" for a boolean, which
	// takes none).
	typeName() string
}

// typed is a value of type T parsed by parse.
type typed[T any] struct {
	p      *T
	parse  func(string) (T, error)
	format func(T) string
	kind   string
}

func (v *typed[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

func (v *typed[T]) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return v.format(*v.p)
}

func (v *typed[T]) typeName() string { return v.kind }

// IsBoolFlag lets a boolean flag stand alone (--dev-wallet).
func (v *typed[T]) IsBoolFlag() bool { return v.kind == "" }

func stringVar(p *string) value {
	return &typed[string]{p: p, kind: "string",
		parse: func(s string) (string, error) { return s, nil }, format: func(s string) string { return s }}
}

func intVar(p *int) value {
	return &typed[int]{p: p, kind: "int",
		parse: func(s string) (int, error) {
			n, err := strconv.ParseInt(s, 0, strconv.IntSize)
			return int(n), err
		},
		format: strconv.Itoa}
}

func int64Var(p *int64) value {
	return &typed[int64]{p: p, kind: "int",
		parse:  func(s string) (int64, error) { return strconv.ParseInt(s, 0, 64) },
		format: func(n int64) string { return strconv.FormatInt(n, 10) }}
}

func durationVar(p *time.Duration) value {
	return &typed[time.Duration]{p: p, kind: "duration", parse: time.ParseDuration, format: time.Duration.String}
}

// boolVar takes what strconv.ParseBool takes: 1, t, T, TRUE, true, True,
// and 0, f, F, FALSE, false, False.
func boolVar(p *bool) value {
	return &typed[bool]{p: p, parse: strconv.ParseBool, format: strconv.FormatBool}
}

// applyOptions sets each option to its default, then to its environment
// variable when that is set, and declares its flag on fs. A default the
// value cannot take is a bug of the table: it panics. A variable it cannot
// take is an error naming the variable.
func applyOptions(fs *flag.FlagSet, opts []option, getenv func(string) string) []error {
	var errs []error
	for _, o := range opts {
		if o.def != "" {
			if err := o.value.Set(o.def); err != nil {
				panic(fmt.Sprintf("gateway: the default of --%s, %q: %v", o.name, o.def, err))
			}
		}
		if v := getenv(o.env); v != "" {
			if err := o.value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", o.env, v, err))
			}
		}
		fs.Var(o.value, o.name, o.help)
	}
	return errs
}

// printUsage writes the options by group, each with its type, its default
// and its environment variable.
func printUsage(out io.Writer, opts []option) {
	for g := groupNone + 1; g < numGroups; g++ {
		fmt.Fprintf(out, "\n%s:\n", groupTitles[g])
		for _, o := range opts {
			if o.group != g {
				continue
			}
			head := "  --" + o.name
			if t := o.value.typeName(); t != "" {
				head += " " + t
			}
			fmt.Fprintf(out, "%s\n    \t%s (%senv %s)\n", head, strings.ReplaceAll(o.help, "\n", "\n    \t"), defaultText(o), o.env)
		}
	}
}

// defaultText is "default X; " for --help, or "" for a zero default.
func defaultText(o option) string {
	switch {
	case o.def == "":
		return ""
	case o.value.typeName() == "string":
		return fmt.Sprintf("default %q; ", o.def)
	}
	return "default " + o.def + "; "
}
