package main

import (
	"strconv"
	"strings"
)

// parseLogLine reads the key=value pairs of a log/slog text record, such
// as `time=… level=INFO msg="gateway listening" addr=127.0.0.1:8080`: the
// form the gateway and the devnode log in by default. A value is bare up
// to the next space, or quoted as strconv.Quote writes it.
func parseLogLine(line string) map[string]string {
	out := map[string]string{}
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimLeft(line, " ") {
		eq := strings.IndexByte(line, '=')
		if eq <= 0 || strings.ContainsRune(line[:eq], ' ') {
			return out // not key=value: stop at what we cannot read
		}
		key, rest := line[:eq], line[eq+1:]
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return out
			}
			out[key], _ = strconv.Unquote(q)
			line = rest[len(q):]
			continue
		}
		val, after, _ := strings.Cut(rest, " ")
		out[key] = val
		line = after
	}
	return out
}
