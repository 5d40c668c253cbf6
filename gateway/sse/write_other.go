//go:build !linux

package sse

import (
	"errors"
	"net"
)

// dupSocket takes no socket over: the pump's watcher has no poller here.
func dupSocket(net.Conn) (int, bool) { return -1, false }

// sendFD is never called: no stream has a descriptor of its own here.
func (d *detached) sendFD([]byte) error { return errors.ErrUnsupported }

func closeFD(int) {}
