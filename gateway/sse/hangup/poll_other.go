//go:build !linux

package hangup

func newPoller() (poller, error) { return nil, nil }
