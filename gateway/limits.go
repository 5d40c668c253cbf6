package gateway

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
)

// Rate limit headers (draft-ietf-httpapi-ratelimit-headers).
const (
	headerRateLimitPolicy = "RateLimit-Policy"
	headerRateLimit       = "RateLimit"
)

// rateLimitedError is a request beyond the caller's plan.
type rateLimitedError struct {
	plan  string
	retry int // seconds
}

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("rate limit of plan %s exceeded; retry in %ds", e.plan, e.retry)
}

// clientKey names the caller for rate limits and fair shares: its
// credential, or its address when anonymous.
func (s *Server) clientKey(r *http.Request, p *auth.Principal) string {
	if p.ID != "" {
		return p.ID
	}
	return "ip:" + s.guard.ClientIP(r)
}

// planOf is the caller's rate plan: its own, else the default one (the
// anonymous one for anonymous callers). A plan name nobody configured (a
// JWT's claim, say) gets the default plan.
func (s *Server) planOf(p *auth.Principal) ratelimit.Plan {
	name := p.Plan
	if name == "" {
		name = s.cfg.DefaultPlan
		if p.Anonymous() {
			name = s.cfg.AnonymousPlan
		}
	}
	if plan, ok := s.cfg.Plans[name]; ok {
		return plan
	}
	return s.cfg.Plans[s.cfg.DefaultPlan]
}

// weight is what one call of method costs.
func (s *Server) weight(method string) int {
	if w, ok := s.cfg.Weights[method]; ok {
		return w
	}
	return 1
}

// admit spends cost units of the caller's quota and sets the RateLimit
// headers. Beyond the quota it returns a *rateLimitedError (429, with
// Retry-After set); when the limiter cannot tell, its error.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, p *auth.Principal, cost int) error {
	return s.admitAs(w, r, s.clientKey(r, p), s.planOf(p), cost)
}

// spend spends cost more units of p's quota for work a request asks as it
// goes (the nuls-api profile's calls after its first), without answering:
// beyond the quota it returns a *rateLimitedError for the caller to report.
func (s *Server) spend(r *http.Request, p *auth.Principal, cost int) error {
	plan := s.planOf(p)
	if s.cfg.Limiter == nil || plan.Unlimited() || cost <= 0 {
		return nil
	}
	res, err := s.cfg.Limiter.Allow(r.Context(), s.clientKey(r, p), plan, cost)
	if err != nil {
		return err
	}
	if res.Local {
		s.metrics.RateLimitedLocally()
	}
	if !res.Allowed {
		s.metrics.RateLimited()
		return &rateLimitedError{plan: plan.Name, retry: res.RetryAfterSeconds()}
	}
	return nil
}

// admitAddress spends one unit of the address's anonymous quota.
func (s *Server) admitAddress(w http.ResponseWriter, r *http.Request) error {
	return s.admitAs(w, r, "ip:"+s.guard.ClientIP(r), s.cfg.Plans[s.cfg.AnonymousPlan], 1)
}

// meterAddress spends one unit of the address's anonymous quota per
// request of the routes it guards.
func (s *Server) meterAddress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.admitAddress(w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) admitAs(w http.ResponseWriter, r *http.Request, key string, plan ratelimit.Plan, cost int) error {
	if s.cfg.Limiter == nil || plan.Unlimited() {
		return nil
	}
	res, err := s.cfg.Limiter.Allow(r.Context(), key, plan, cost)
	if err != nil {
		return err
	}
	if res.Local {
		s.metrics.RateLimitedLocally()
	}
	policy, ok := s.policies[plan.Name]
	if !ok {
		policy = []string{plan.PolicyHeader()}
	}
	h := w.Header()
	h[headerRateLimitPolicy] = policy
	h[headerRateLimit] = []string{res.StateHeader(plan)}
	if !res.Allowed {
		s.metrics.RateLimited()
		h.Set("Retry-After", strconv.Itoa(res.RetryAfterSeconds()))
		return &rateLimitedError{plan: plan.Name, retry: res.RetryAfterSeconds()}
	}
	return nil
}
