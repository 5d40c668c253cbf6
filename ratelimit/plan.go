package ratelimit

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Plan is a named rate: Rate units per Period, in bursts of up to Burst
// units. A zero Rate means unlimited.
type Plan struct {
	Name   string
	Rate   int
	Period time.Duration
	Burst  int
}

// Unlimited reports whether the plan sets no limit.
func (p Plan) Unlimited() bool { return p.Rate <= 0 }

// interval is the time one unit of quota takes to come back, at least a
// microsecond: the algorithm's unit of time.
func (p Plan) interval() time.Duration {
	if p.Unlimited() {
		return 0
	}
	return max(p.Period/time.Duration(p.Rate), time.Microsecond)
}

// window is the time a spent burst takes to come back whole: Burst units
// over it is the plan's long-run rate.
func (p Plan) window() time.Duration { return p.interval() * time.Duration(p.Burst) }

// PolicyHeader is the plan as a RateLimit-Policy member:
// "<name>";q=<burst>;w=<seconds>; empty for an unlimited plan, which has
// no policy to announce.
func (p Plan) PolicyHeader() string {
	if p.Unlimited() {
		return ""
	}
	w := int64(math.Ceil(p.window().Seconds()))
	return strconv.Quote(p.Name) + ";q=" + strconv.Itoa(p.Burst) + ";w=" + strconv.FormatInt(max(w, 1), 10)
}

func (p Plan) String() string {
	if p.Unlimited() {
		return p.Name + "=unlimited"
	}
	period := p.Period.String()
	switch p.Period {
	case time.Second:
		period = "s"
	case time.Minute:
		period = "m"
	case time.Hour:
		period = "h"
	}
	return fmt.Sprintf("%s=%d/%s:%d", p.Name, p.Rate, period, p.Burst)
}

// planForm is "<name>=<rate>/<period>[:<burst>]" or "<name>=unlimited".
var planForm = regexp.MustCompile(`^([A-Za-z0-9_.-]{1,64})=(?:(unlimited|0)|(\d+)/([0-9a-z.]+)(?::(\d+))?)$`)

// ParsePlans reads a comma-separated list of plans, such as
// "anonymous=20/s:40,default=100/s:200,bulk=6000/m,internal=unlimited".
// The period is s, m, h or a Go duration (10s); the burst defaults to the
// rate.
func ParsePlans(s string) (map[string]Plan, error) {
	plans := map[string]Plan{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		m := planForm.FindStringSubmatch(item)
		if m == nil {
			return nil, fmt.Errorf("ratelimit: plan %q: want name=rate/period[:burst] or name=unlimited", item)
		}
		p := Plan{Name: m[1]}
		if m[2] == "" {
			p.Rate, _ = strconv.Atoi(m[3])
			period, err := parsePeriod(m[4])
			if err != nil {
				return nil, fmt.Errorf("ratelimit: plan %q: %w", item, err)
			}
			p.Period, p.Burst = period, p.Rate
			if m[5] != "" {
				p.Burst, _ = strconv.Atoi(m[5])
			}
			if p.Rate <= 0 || p.Burst <= 0 {
				return nil, fmt.Errorf("ratelimit: plan %q: rate and burst must be positive", item)
			}
			if p.Period/time.Duration(p.Rate) < time.Microsecond {
				// The algorithm counts in microseconds (Redis's TIME).
				return nil, fmt.Errorf("ratelimit: plan %q: at most one unit a microsecond; use unlimited", item)
			}
		}
		if _, dup := plans[p.Name]; dup {
			return nil, fmt.Errorf("ratelimit: plan %s given twice", p.Name)
		}
		plans[p.Name] = p
	}
	return plans, nil
}

func parsePeriod(s string) (time.Duration, error) {
	switch s {
	case "s":
		return time.Second, nil
	case "m":
		return time.Minute, nil
	case "h":
		return time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("period %q: want s, m, h or a duration", s)
	}
	return d, nil
}

// FormatPlans is the inverse of ParsePlans, sorted by name.
func FormatPlans(plans map[string]Plan) string {
	names := make([]string, 0, len(plans))
	for n := range plans {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = plans[n].String()
	}
	return strings.Join(parts, ",")
}

// ParseWeights reads "method=weight,..." (weights are positive integers).
func ParseWeights(s string) (map[string]int, error) {
	w := map[string]int{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, v, ok := strings.Cut(item, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n <= 0 || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("ratelimit: weight %q: want method=positive integer", item)
		}
		w[strings.TrimSpace(name)] = n
	}
	return w, nil
}
