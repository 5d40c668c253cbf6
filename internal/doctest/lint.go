package doctest

import (
	"regexp"
	"strings"
)

// commandWords start the lines of a shell example; a block not tagged as
// shell whose first command starts with one is an example hidden from Run.
var commandWords = map[string]bool{
	"curl": true, "make": true, "go": true, "gateway": true, "devnode": true, "loadtest": true,
	"docker": true, "helm": true, "kubectl": true, "redis-server": true, "redis-cli": true,
	"export": true, "cd": true, "git": true, "bin/gateway": true, "bin/devnode": true, "bin/loadtest": true,
	"./bin/gateway": true, "npm": true, "npx": true, "promtool": true, "wscat": true, "websocat": true,
}

var (
	// curlWord finds curl in a command, also in a pipe or a $(...).
	curlWord = regexp.MustCompile(`(?:^|[\s|;&(])curl\s`)
	// dataFlag is a curl option that sends a request body.
	dataFlag = regexp.MustCompile(`(?:^|\s)(?:-d|--data|--data-raw|--data-binary|--data-urlencode)(?:\s|=|'|"|$)`)
	// jsonBody says the body is JSON: --json, or the Content-Type header.
	jsonBody = regexp.MustCompile(`(?i)--json\b|content-type:\s*application/json`)
	// credential is one of the ways a curl names its caller.
	credential = regexp.MustCompile(`(?i)authorization:|x-api-key:|[?&]ticket=|\$\{?[A-Z_]*(?:KEY|TOKEN|TICKET)\b`)
)

// Lint returns what is wrong with a block, whether or not it runs: a
// command in a block not tagged as shell, a curl sending a body the gateway
// refuses (415: bodies are JSON), a curl of /notifications without a
// credential (401). Skipped blocks are linted too: they are pasted by
// readers all the same.
func Lint(b Block) []string {
	var problems []string
	if !IsShell(b.Lang) {
		if b.Lang == "" || b.Lang == "console" || b.Lang == "text" || b.Lang == "terminal" {
			if w := firstCommandWord(b.Code); commandWords[w] {
				problems = append(problems, "a "+w+" command in a block tagged "+quoteLang(b.Lang)+": tag it sh, so that the doc test runs it (or skips it, with a reason)")
			}
		}
		return problems
	}
	for _, c := range Commands(b.Code) {
		if !curlWord.MatchString(c) {
			continue
		}
		if dataFlag.MatchString(c) && !jsonBody.MatchString(c) {
			problems = append(problems, "curl sends a body without Content-Type: application/json (or --json): the gateway answers 415: "+c)
		}
		if strings.Contains(c, "/notifications") && !credential.MatchString(c) {
			problems = append(problems, "curl reads /notifications without a key (401): "+c)
		}
	}
	return problems
}

func quoteLang(lang string) string {
	if lang == "" {
		return "with no language"
	}
	return lang
}

// Commands splits shell code into commands: continuation lines joined,
// comments and blank lines dropped. It does not parse the shell; it is good
// enough for the lines of a document.
func Commands(code string) []string {
	var (
		out []string
		cur strings.Builder
	)
	for line := range strings.SplitSeq(code, "\n") {
		t := strings.TrimSpace(line)
		if cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(t)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// firstCommandWord is the first word of the first command of code.
func firstCommandWord(code string) string {
	cmds := Commands(code)
	if len(cmds) == 0 {
		return ""
	}
	return firstWord(cmds[0])
}

// firstWord is a command's program, past variable assignments and "$ ".
func firstWord(cmd string) string {
	for w := range strings.FieldsSeq(cmd) {
		if w == "$" || (strings.Contains(w, "=") && !strings.HasPrefix(w, "-")) {
			continue
		}
		return w
	}
	return ""
}
