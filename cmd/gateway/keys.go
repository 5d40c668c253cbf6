package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
)

const keysUsage = `Usage:
  gateway keys add --name NAME [--scopes public] [--methods m1,m2] [--plan PLAN] [--expires 720h|2027-01-01T00:00:00Z]
  gateway keys list
  gateway keys revoke ID

Manages the gateway's API keys: in the key file (--keys-file, env GATEWAY_KEYS_FILE),
or shared in Redis (--redis-url, env GATEWAY_REDIS_URL, with --redis-prefix). add prints
the new key once on standard output; only its hash is stored. Running gateways pick
changes up within seconds.

Flags:
`

// runKeys is the keys subcommand. Asked for help (gateway keys --help, or
// gateway keys add --help), it prints its usage and flags to stdout and
// returns flag.ErrHelp; a missing or unknown verb prints them to stderr.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	verb := ""
	if len(args) > 0 {
		verb = args[0]
	}
	fs := flag.NewFlagSet("gateway keys "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	usage := func(w io.Writer) {
		fmt.Fprint(w, keysUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	fs.Usage = func() {} // parse errors are said once, by main
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	file := fs.String("keys-file", env(envKeysFile, ""), "key file (env "+envKeysFile+")")
	redisURL := fs.String("redis-url", env(envRedisURL, ""), "Redis of the shared keys (env "+envRedisURL+")")
	prefix := fs.String("redis-prefix", env(envRedisPrefix, "nulsgw"), "prefix of the Redis keys (env "+envRedisPrefix+")")
	store := fs.String("store", "", "file or redis, when both --keys-file and --redis-url are set")
	name := fs.String("name", "", "add: the key's label")
	scopes := fs.String("scopes", "public", "add: comma-separated scopes: public, admin, private")
	methods := fs.String("methods", "", "add: comma-separated methods the key may call; unset: every method of its scopes")
	plan := fs.String("plan", "", "add: the key's rate plan (one of --rate-plans); unset: default")
	expires := fs.String("expires", "", "add: when the key stops working: a duration from now (720h) or an RFC 3339 time")
	switch verb {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return flag.ErrHelp
	case "add", "list", "revoke":
	default:
		usage(stderr)
		return errors.New("keys: want add, list or revoke")
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
		} else {
			usage(stderr)
		}
		return err
	}
	admin, closeStore, err := openKeyAdmin(*file, *redisURL, *prefix, *store)
	if err != nil {
		return err
	}
	defer closeStore()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	switch verb {
	case "add":
		if fs.NArg() > 0 {
			return fmt.Errorf("keys add: unexpected arguments %q", fs.Args())
		}
		rec := auth.KeyRecord{Name: *name, Scopes: splitList(*scopes), Plan: *plan}
		if *methods != "" {
			rec.Methods = splitList(*methods)
		}
		if *plan != "" {
			plans, err := ratelimit.ParsePlans(env(envRatePlans, defaultRatePlans))
			if err != nil {
				return fmt.Errorf("%s: %w", envRatePlans, err)
			}
			if _, ok := plans[*plan]; !ok {
				return fmt.Errorf("keys add: no rate plan %q in %s", *plan, ratelimit.FormatPlans(plans))
			}
		}
		if *expires != "" {
			t, err := parseExpiry(*expires, time.Now())
			if err != nil {
				return err
			}
			rec.Expires = &t
		}
		key, rec, err := auth.NewKey(rec)
		if err != nil {
			return err
		}
		if err := admin.Add(ctx, rec); err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		fmt.Fprintf(stderr, "API key %s (%s) added with scopes %s. It is shown once: only its hash is stored.\n",
			rec.ID, rec.Name, strings.Join(rec.Scopes, ","))
	case "list":
		list, err := admin.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tMETHODS\tPLAN\tCREATED\tEXPIRES")
		for _, r := range list {
			m, p, e := "*", "default", "never"
			if r.Methods != nil {
				m = strings.Join(r.Methods, ",")
			}
			if r.Plan != "" {
				p = r.Plan
			}
			if r.Expires != nil {
				e = r.Expires.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, strings.Join(r.Scopes, ","), m, p, r.Created.UTC().Format(time.RFC3339), e)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("keys revoke: want one key ID (gateway keys list shows them)")
		}
		id := strings.TrimSpace(fs.Arg(0))
		if strings.HasPrefix(id, "ngw_") && len(id) > 20 {
			id = id[4:20] // the key itself names its ID
		}
		ok, err := admin.Revoke(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("keys revoke: no key %s", id)
		}
		fmt.Fprintf(stderr, "API key %s revoked.\n", id)
	}
	return nil
}

// openKeyAdmin opens the key store the flags name.
func openKeyAdmin(file, redisURL, prefix, store string) (auth.KeyAdmin, func(), error) {
	switch {
	case store == "" && file != "" && redisURL != "":
		return nil, nil, errors.New("keys: both a key file and Redis are set: choose with --store file or --store redis")
	case store == "file" || (store == "" && file != ""):
		if file == "" {
			return nil, nil, errors.New("keys: --store file needs --keys-file")
		}
		f, err := auth.OpenKeyFile(file, true, nil)
		return f, func() {}, err
	case store == "redis" || (store == "" && redisURL != ""):
		if redisURL == "" {
			return nil, nil, errors.New("keys: --store redis needs --redis-url")
		}
		rdb, err := newRedis(redisURL)
		if err != nil {
			return nil, nil, err
		}
		return auth.NewRedisKeys(rdb, prefix), func() { _ = rdb.Close() }, nil
	case store != "":
		return nil, nil, fmt.Errorf("keys: --store %q: want file or redis", store)
	}
	return nil, nil, errors.New("keys: no key store: set --keys-file or --redis-url")
}

// parseExpiry reads --expires: a duration from now or an RFC 3339 time.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d).UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || !t.After(now) {
		return time.Time{}, fmt.Errorf("keys add: --expires %q: want a positive duration or a future RFC 3339 time", s)
	}
	return t.UTC(), nil
}
