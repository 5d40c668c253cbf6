package edge

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// CORS (Fetch standard, "CORS protocol"): what the gateway lets pages of the
// allowed origins send and read. No credentials mode: pages send their API
// key or JWT in Authorization, which needs no cookie, and a stream ticket
// in the query; so Access-Control-Allow-Credentials is never sent, and the
// ticket cookie serves same-site pages only.
const (
	corsAllowMethods = "GET, POST, DELETE"
	corsMaxAge       = "600" // seconds a browser may cache a preflight answer
)

// CheckOrigins returns an error for the first entry of origins
// that is neither "*" nor an origin (scheme://host[:port], as browsers send
// it in Origin).
func CheckOrigins(origins []string) error {
	for _, o := range origins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || o != strings.ToLower(o) {
			return fmt.Errorf("edge: CORS origin %q: want * or a lowercase scheme://host[:port]", o)
		}
	}
	return nil
}

// CORS answers cross-origin requests from GuardConfig.Origins, so that pages
// served elsewhere can call methods with fetch and open EventSource streams.
// Requests from other origins pass through without CORS headers: the
// browser then keeps the answer from the page.
func (g *Guard) CORS(next http.Handler) http.Handler {
	origins := slices.Clone(g.cfg.Origins)
	anyOrigin := slices.Contains(origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if !anyOrigin {
			// The answer depends on Origin: caches must keep it apart.
			h.Add("Vary", "Origin")
		}
		origin := r.Header.Get("Origin")
		if origin == "" || !anyOrigin && !slices.Contains(origins, origin) {
			next.ServeHTTP(w, r)
			return
		}
		if anyOrigin {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			// A preflight: answered here, never routed.
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", g.cfg.AllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", g.cfg.ExposeHeaders)
		next.ServeHTTP(w, r)
	})
}
