package doctest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
)

// portRange is where FreePort looks: below Linux's default ephemeral range
// (32768-60999), which the kernel hands to every bind(:0) and outgoing
// connection. A port picked there and closed could be taken again by a
// socket of the very server the example starts before that server binds it.
const portLow, portHigh = 20000, 32000

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on, outside
// the kernel's ephemeral range.
func FreePort() (int, error) {
	var errs []error
	for range 50 {
		port := portLow + rand.IntN(portHigh-portLow) //nolint:gosec // G404: spreading ports, not a secret
		l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return port, l.Close()
	}
	return 0, fmt.Errorf("doctest: no free port in %d-%d: %w", portLow, portHigh, errors.Join(errs[:3]...))
}
