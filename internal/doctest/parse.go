package doctest

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Block is one fenced code block of a Markdown document.
type Block struct {
	// Doc is the document's path, and Line the line of the opening fence
	// (from 1).
	Doc  string
	Line int
	// Lang is the first word of the info string: "sh", "json", "".
	Lang string
	// Code is the block's content, without the fences and their indent.
	Code string

	// Skip is why the block is not run; "" when it is.
	Skip string
	// Status is the HTTP status every curl must answer; 0 for any below
	// 400.
	Status int
	// Contains are texts the output must contain.
	Contains []string
	// Stream is how long a stream runs before it is stopped; 0 when the
	// block must end by itself.
	Stream time.Duration
	// Timeout bounds the block's run; 0 for the default.
	Timeout time.Duration
}

// Runnable reports whether the block is a shell example to run.
func (b Block) Runnable() bool { return IsShell(b.Lang) && b.Skip == "" }

// Where is the block's position for messages: docs/api.md:42.
func (b Block) Where() string { return fmt.Sprintf("%s:%d", b.Doc, b.Line) }

// IsShell reports whether an info string's language marks a shell example.
func IsShell(lang string) bool {
	switch lang {
	case "sh", "bash", "shell":
		return true
	}
	return false
}

var (
	fenceRe     = regexp.MustCompile("^( {0,8})(`{3,}|~{3,})\\s*([^`\\s]*)")
	directiveRe = regexp.MustCompile(`^\s*<!--\s*doctest:\s*(.*?)\s*-->\s*$`)
)

// Parse returns the fenced blocks of a Markdown document, with the
// directives of the comment before each. A directive it does not know, or
// one that precedes no fence, is an error: a typo must not turn a check
// off.
func Parse(doc string, src []byte) ([]Block, error) {
	var (
		blocks  []Block
		pending *Block // directives waiting for their fence
		pendAt  int
		open    *Block
		fence   string // the open block's fence
		indent  int
		code    strings.Builder
	)
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if open != nil {
			if t := strings.TrimLeft(line, " "); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]+" ") == "" {
				open.Code = code.String()
				blocks = append(blocks, *open)
				open, code = nil, strings.Builder{}
				continue
			}
			code.WriteString(trimIndent(line, indent))
			code.WriteByte('\n')
			continue
		}
		if m := directiveRe.FindStringSubmatch(line); m != nil {
			if pending == nil {
				pending, pendAt = &Block{}, n
			}
			if err := pending.apply(m[1]); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", doc, n, err)
			}
			continue
		}
		if m := fenceRe.FindStringSubmatch(line); m != nil {
			b := Block{Doc: doc, Line: n, Lang: strings.ToLower(m[3])}
			if pending != nil {
				b.Skip, b.Status, b.Contains, b.Stream, b.Timeout = pending.Skip, pending.Status, pending.Contains, pending.Stream, pending.Timeout
				pending = nil
			}
			open, fence, indent = &b, m[2], len(m[1])
			continue
		}
		if pending != nil && strings.TrimSpace(line) != "" {
			return nil, fmt.Errorf("%s:%d: a doctest directive must be right before a fenced block", doc, pendAt)
		}
		if pathSpan.MatchString(line) {
			// The sentence that tells the reader to put bin/ on PATH:
			// the command it gives is run, as a block of its own.
			blocks = append(blocks, Block{Doc: doc, Line: n, Lang: "sh", Code: PathLine + "\n"})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", doc, err)
	}
	if open != nil {
		return nil, fmt.Errorf("%s:%d: the fenced block is not closed", doc, open.Line)
	}
	if pending != nil {
		return nil, fmt.Errorf("%s:%d: a doctest directive must be right before a fenced block", doc, pendAt)
	}
	return blocks, nil
}

// trimIndent removes up to n leading spaces: a fence indented in a list
// item indents its content as much.
func trimIndent(line string, n int) string {
	i := 0
	for i < n && i < len(line) && line[i] == ' ' {
		i++
	}
	return line[i:]
}

// apply adds the directives of one comment, separated by ";".
func (b *Block) apply(directives string) error {
	for _, d := range splitDirectives(directives) {
		verb, arg, _ := strings.Cut(d, " ")
		verb, arg = strings.TrimSuffix(verb, ":"), strings.TrimSpace(arg)
		switch verb {
		case "skip":
			if arg == "" {
				return fmt.Errorf("doctest: skip needs its reason: <!-- doctest: skip: needs Docker -->")
			}
			b.Skip = arg
		case "status":
			code, err := strconv.Atoi(arg)
			if err != nil || code < 100 || code > 599 {
				return fmt.Errorf("doctest: status %q: want an HTTP status such as 401", arg)
			}
			b.Status = code
		case "contains":
			text, err := unquote(arg)
			if err != nil {
				return fmt.Errorf("doctest: contains %s: %w", arg, err)
			}
			b.Contains = append(b.Contains, text)
		case "stream", "timeout":
			dur, err := time.ParseDuration(arg)
			if err != nil || dur <= 0 || dur > 10*time.Minute {
				return fmt.Errorf("doctest: %s %q: want a duration such as 3s, at most 10m", verb, arg)
			}
			if verb == "stream" {
				b.Stream = dur
			} else {
				b.Timeout = dur
			}
		default:
			return fmt.Errorf("doctest: unknown directive %q (skip, status, contains, stream, timeout)", d)
		}
	}
	return nil
}

// unquote reads a contains argument: a Go-quoted string, or the bare rest
// of the directive.
func unquote(arg string) (string, error) {
	if arg == "" {
		return "", fmt.Errorf("empty text")
	}
	if arg[0] == '"' {
		return strconv.Unquote(arg)
	}
	return arg, nil
}

// splitDirectives splits a comment's directives at the semicolons outside
// double quotes, so that a quoted contains text may hold one.
func splitDirectives(s string) []string {
	var (
		out     []string
		quoted  bool
		escaped bool
		start   int
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ';' && !quoted:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if last := strings.TrimSpace(s[start:]); last != "" || len(out) == 0 {
		out = append(out, last)
	}
	return out
}
