package edge

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP is the caller's address for per-address limits: the peer's,
// or, when the peer is a trusted proxy (GuardConfig.TrustedProxies), the last
// address of X-Forwarded-For that is not a trusted proxy itself (the
// first ones are whatever the client wrote). IPv6 addresses count by their
// /64, which one subscriber usually has whole.
func (g *Guard) ClientIP(r *http.Request) string {
	addr := peerAddr(r.RemoteAddr)
	if addr.IsValid() && g.trusted(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = hop.Unmap()
			if !g.trusted(addr) {
				break
			}
		}
	}
	if !addr.IsValid() {
		return r.RemoteAddr
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (g *Guard) trusted(a netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
