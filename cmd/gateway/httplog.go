package main

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// httpErrorLog is the ErrorLog of the HTTP servers. net/http reports there
// both its own trouble (accept errors, misuse of a ResponseWriter), at
// WARN, and strangers' broken TLS handshakes, which any port on the
// internet gets from scanners: those at DEBUG, so that they flood nothing.
func httpErrorLog(logger *slog.Logger) *log.Logger {
	return log.New(httpLogWriter{logger}, "", 0)
}

type httpLogWriter struct{ logger *slog.Logger }

func (w httpLogWriter) Write(p []byte) (int, error) {
	msg := string(bytes.TrimSpace(p))
	level := slog.LevelWarn
	if bytes.Contains(p, []byte("TLS handshake error")) || bytes.Contains(p, []byte("URI too long")) {
		level = slog.LevelDebug
	}
	w.logger.Log(context.Background(), level, msg, slog.String("component", "http"))
	return len(p), nil
}
