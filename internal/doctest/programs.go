package doctest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// PathLine is the command a reader runs in the repository's root after
// make build, so that the examples find the project's programs (Programs)
// by name. A document that runs one says so before, in a shell block or in
// a line of prose that gives the command in backticks; either is run.
const PathLine = `export PATH="$PWD/bin:$PATH"`

// Programs are the project's commands the documents run by name, from the
// bin/ folder make build fills.
var Programs = []string{"gateway", "devnode", "loadtest"}

var (
	// programWord finds a program run as a command: first, or after a
	// pipe, a separator or a $(, not as part of a path or another word.
	programWord = regexp.MustCompile(`(?:^|[\s|;&(])(` + strings.Join(Programs, "|") + `)(?:\s|$|\))`)
	// pathSpan is the PATH line given in a line of prose.
	pathSpan = regexp.MustCompile("`" + regexp.QuoteMeta(PathLine) + "`")
)

// RunsPrograms returns the programs of Programs the block's commands run,
// in order of appearance, each once.
func (b Block) RunsPrograms() []string {
	var out []string
	for _, c := range Commands(withoutHeredocs(b.Code)) {
		for _, m := range programWord.FindAllStringSubmatch(c, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// heredoc opens a here-document: cat > main.go <<'EOF'.
var heredoc = regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?`)

// withoutHeredocs is shell code without the bodies of its here-documents:
// a file an example writes, not commands.
func withoutHeredocs(code string) string {
	var b strings.Builder
	end := ""
	for line := range strings.SplitSeq(code, "\n") {
		if end != "" {
			if strings.TrimSpace(line) == end {
				end = ""
			}
			continue
		}
		if m := heredoc.FindStringSubmatch(line); m != nil {
			end = m[1]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// setsPath reports whether the block runs PathLine.
func (b Block) setsPath() bool {
	for _, c := range Commands(b.Code) {
		if c == PathLine {
			return true
		}
	}
	return false
}

// CheckPath returns what is wrong with a document's blocks as to the
// programs: a shell block, run or skipped, that calls gateway, devnode or
// loadtest by name while no block before it (or its own earlier lines)
// runs PathLine. A reader would get "command not found".
func CheckPath(blocks []Block) []string {
	var problems []string
	set := false
	for _, b := range blocks {
		if !IsShell(b.Lang) {
			continue
		}
		if !set {
			if progs := b.RunsPrograms(); len(progs) > 0 && !setsPathFirst(b) {
				problems = append(problems, fmt.Sprintf("%s: runs %s by name, and nothing before it tells to put bin/ on PATH: "+
					"begin the document with a sentence that gives `%s` (see the README)", b.Where(), strings.Join(progs, ", "), PathLine))
				set = true // once per document
			}
		}
		if b.setsPath() {
			set = true
		}
	}
	return problems
}

// setsPathFirst reports whether the block runs PathLine before its first
// command that runs a program.
func setsPathFirst(b Block) bool {
	for _, c := range Commands(withoutHeredocs(b.Code)) {
		if c == PathLine {
			return true
		}
		if programWord.MatchString(c) {
			return false
		}
	}
	return false
}
