package main

import (
	"log/slog"

	"github.com/nuls-gateway/nuls-gateway/catalog"
	"github.com/nuls-gateway/nuls-gateway/policy"

	"github.com/redis/go-redis/v9"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
)

// newAuthenticator builds who may call what: API keys from the key file
// and, with Redis, the shared ones; JWTs when a secret or a JWKS is set;
// stream tickets signed with --ticket-secret, or with a secret shared in
// Redis; the anonymous policy.
func newAuthenticator(cfg config, rdb redis.UniversalClient, logger *slog.Logger) (*auth.Authenticator, error) {
	ac := auth.Config{
		Anonymous: auth.AnonymousPolicy{Scopes: cfg.AnonymousScopes, Methods: cfg.AnonymousMethods, Plan: "anonymous"},
		Tickets:   auth.TicketConfig{TTL: cfg.TicketTTL},
	}
	if cfg.KeysFile != "" {
		f, err := auth.OpenKeyFile(cfg.KeysFile, false, logger)
		if err != nil {
			return nil, err
		}
		ac.Keys = append(ac.Keys, f)
	}
	if rdb != nil {
		ac.Keys = append(ac.Keys, auth.NewRedisKeys(rdb, cfg.RedisPrefix))
	}
	if cfg.JWTSecret != "" || cfg.JWKS != "" {
		ac.JWT = &auth.JWTConfig{
			JWKS: cfg.JWKS, AllowHTTP: cfg.JWKSAllowHTTP, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
			ScopesClaim: cfg.JWTScopesClaim, MethodsClaim: cfg.JWTMethodsClaim, PlanClaim: cfg.JWTPlanClaim,
		}
		if cfg.JWTSecret != "" {
			ac.JWT.Secret = []byte(cfg.JWTSecret)
		}
	}
	switch {
	case cfg.TicketSecret != "":
		ac.Tickets.Secret = []byte(cfg.TicketSecret)
	case rdb != nil:
		ac.Tickets.SharedSecret = auth.RedisTicketSecret(rdb, cfg.RedisPrefix)
	}
	return auth.New(ac, logger)
}

// newLimiter meters callers in Redis, shared by every instance, with a
// per-instance fallback while Redis is away; in memory without Redis or
// with --rate-limit-store memory. Nil when every plan is unlimited.
func newLimiter(cfg config, rdb redis.UniversalClient, logger *slog.Logger) ratelimit.Limiter {
	limited := false
	for _, p := range cfg.RatePlans {
		limited = limited || !p.Unlimited()
	}
	if !limited {
		return nil
	}
	local := ratelimit.NewLocal()
	if rdb == nil || cfg.RateLimitStore != "redis" {
		return local
	}
	return &ratelimit.Fallback{
		Primary: ratelimit.NewRedis(rdb, cfg.RedisPrefix), Local: local,
		OnFallback: func(err error) {
			logger.Warn("rate limits decided by this instance alone for a second: redis failed", slog.Any("err", err))
		},
	}
}

// newCatalog is what the gateway knows of the methods when the upstream
// lists none: the NULS 2 modules' commands, and those of --methods-file;
// and the custom ones apart, whose scopes the policy takes as declared.
func newCatalog(cfg config) (all, custom *catalog.Catalog, err error) {
	all = catalog.NULS2()
	for _, path := range cfg.MethodsFiles {
		c, err := catalog.ReadMethods(path)
		if err != nil {
			return nil, nil, err
		}
		all = all.With(c)
		if custom == nil {
			custom = c
		} else {
			custom = custom.With(c)
		}
	}
	return all, custom, nil
}

// newPolicy decides the methods' scopes: the reviewed exposure of the NULS
// 2 commands, the custom modules' own, and the operator's flags.
func newPolicy(cfg config, custom *catalog.Catalog) (*policy.Policy, error) {
	return policy.New(policy.Config{
		Catalog: catalog.NULS2(), Custom: custom, UnlistedScope: cfg.UnlistedScope, Overrides: cfg.MethodScopes,
		AllowKernelCommands: cfg.AllowKernelCommands, DevWallet: cfg.DevWallet,
	})
}
