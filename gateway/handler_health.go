package gateway

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/nuls-gateway/nuls-gateway/upstream/pool"
)

// readyTimeout bounds all readiness checks together. It stays under the
// probes' usual timeouts (the Helm chart's is 2 s, Kubernetes' default 1 s
// counts from the connection), so that a probe gets the 503 and its reason
// rather than a timeout of its own while Redis does not answer.
const readyTimeout = 800 * time.Millisecond

// Health is the answer of /healthz and /readyz.
type Health struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
	// Warnings are what the operator must know of this instance, which
	// do not fail readiness: that it serves a simulated node.
	Warnings []string `json:"warnings,omitempty"`
	// Nodes are the states of the upstream nodes, by name, when there are
	// several (--upstream with a list): "in rotation", "lagging", ... Their
	// addresses are for the admin scope only (GET /nodes).
	Nodes map[string]string `json:"nodes,omitempty"`
}

// nodePool is an upstream of several nodes (package pool).
type nodePool interface {
	Nodes() []pool.NodeStatus
}

// healthz reports that the process is alive.
//
//	@Summary	Liveness
//	@ID			getLiveness
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	Health
//	@Router		/healthz [get]
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Health{Status: "ok"})
}

// errMethodsUnknown is /readyz's methods check before the upstream was asked
// for its methods.
var errMethodsUnknown = errors.New("the upstream was not asked for its methods yet")

// readyz reports whether the gateway can serve: the upstream negotiated and
// asked for its methods, the streams' push paths moving and, when
// configured, Redis reachable.
//
//	@Summary	Readiness
//	@ID			getReadiness
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	Health
//	@Failure	503	{object}	Health
//	@Router		/readyz [get]
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	h := Health{Status: "ok", Checks: map[string]string{}, Warnings: s.cfg.ReadyWarnings}
	check := func(name string, err error) {
		if err != nil {
			h.Status = "unavailable"
			h.Checks[name] = err.Error()
			return
		}
		h.Checks[name] = "ok"
	}
	check("upstream", s.cfg.Upstream.Ready())
	if np, ok := s.cfg.Upstream.(nodePool); ok {
		h.Nodes = map[string]string{}
		for _, n := range np.Nodes() {
			h.Nodes[n.Name] = n.State
		}
	}
	// What may be called is known only once the upstream was asked for
	// its methods (and, when it lists none, the catalog took over):
	// before, a call would be refused.
	if !s.listing.Attempted() {
		check("methods", errMethodsUnknown)
	} else {
		check("methods", nil)
	}
	// A push path that stopped moving (a period subscription silent, or
	// pushes not appended to the shared log) fails readiness too: the
	// instance answers pings but its streams are wedged.
	check("streams", s.cfg.Hub.Stalled())
	names := make([]string, 0, len(s.cfg.ReadyChecks))
	for name := range s.cfg.ReadyChecks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		check(name, s.cfg.ReadyChecks[name](ctx))
	}
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

// errNoPool answers GET /nodes in front of a single upstream.
var errNoPool = errors.New("the gateway has one upstream: --upstream lists no several nodes")

// listNodes lists the upstream nodes and what the gateway measured of each.
//
//	@Summary		The upstream nodes
//	@Description	With several upstream nodes (--upstream with a list): each node's state, head, lag, latency and counts, and its address. Admin scope.
//	@ID				listNodes
//	@Tags			operations
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Success		200	{array}		pool.NodeStatus
//	@Failure		401	{object}	Problem
//	@Failure		403	{object}	Problem
//	@Failure		404	{object}	Problem	"One upstream"
//	@Router			/nodes [get]
func (s *Server) listNodes(w http.ResponseWriter, _ *http.Request) error {
	np, ok := s.cfg.Upstream.(nodePool)
	if !ok {
		return errNoPool
	}
	writeJSON(w, http.StatusOK, np.Nodes())
	return nil
}
