package docs

import (
	"bytes"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// protocolDoc is the project's protocol document, relative to the module
// root.
const protocolDoc = "docs/protocol.md"

var (
	// decisionRef is a citation of a decision: D17, or D4s (D4 as a
	// server).
	decisionRef = regexp.MustCompile(`\bD([0-9]{1,2}s?)\b`)
	// outsideRef is a citation of the research notes that live outside
	// the repository: their parts, by name or by the number of the part
	// on real peers, or the notes as a whole.
	outsideRef = regexp.MustCompile(`\bPart\s+[AB][0-9]?\b|(?i:\bprotocol reference\b)|(?:^|[\s(,;])A2(?:$|[\s),;.:])`)
	// docLink is a link into the protocol document from the code.
	docLink = regexp.MustCompile(`docs/protocol\.md#([A-Za-z0-9_-]+)`)
	// anchorTag is an explicit anchor of the document.
	anchorTag = regexp.MustCompile(`<a id="([^"]+)"></a>`)
	// heading is a Markdown heading line.
	heading = regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.+)$`)
	// decisionHeading is the title of a decision's own section: "D17:
	// Kernel commands", possibly numbered ("9.17 D17 ..."). A heading that
	// only mentions a decision ("Decisions D1 to D22") is not its section.
	decisionHeading = regexp.MustCompile(`^(?:[0-9.]+\s+)?D([0-9]{1,2}s?)\b`)
)

// TestProtocolCitations fails when a Go file cites a decision that
// docs/protocol.md has no heading or anchor for, links to an anchor the
// document lacks, or a comment cites the research notes outside the
// repository instead of docs/protocol.md.
func TestProtocolCitations(t *testing.T) {
	root := moduleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, protocolDoc))
	if err != nil {
		t.Fatal(err)
	}
	anchors, decisions := documentTargets(doc)

	files := goFiles(t, root)
	cited := map[string][]string{} // decision → where it is cited
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, path)
		for _, tx := range commentsAndStrings(path, src) {
			where := rel + ":" + tx.pos
			for _, m := range decisionRef.FindAllStringSubmatch(tx.text, -1) {
				cited["D"+m[1]] = append(cited["D"+m[1]], where)
			}
			for _, m := range docLink.FindAllStringSubmatch(tx.text, -1) {
				if !anchors[m[1]] {
					t.Errorf("%s: links to %s#%s, which has no such anchor", where, protocolDoc, m[1])
				}
			}
			if tx.comment {
				if m := outsideRef.FindString(tx.text); m != "" {
					t.Errorf("%s: cites %q, outside the repository: point at a section of %s instead", where, strings.TrimSpace(m), protocolDoc)
				}
			}
		}
	}
	if len(cited) == 0 {
		t.Fatal("no decision cited in any Go file: the scan is broken")
	}
	names := make([]string, 0, len(cited))
	for d := range cited {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		if !decisions[d] && !anchors[strings.ToLower(d)] {
			t.Errorf("%s is cited (%s) but %s has no heading or anchor for it", d, strings.Join(cited[d], ", "), protocolDoc)
		}
	}

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte("("+protocolDoc)) {
		t.Errorf("README.md does not link to %s", protocolDoc)
	}
	for _, m := range docLink.FindAllStringSubmatch(string(readme), -1) {
		if !anchors[m[1]] {
			t.Errorf("README.md links to %s#%s, which has no such anchor", protocolDoc, m[1])
		}
	}
}

// documentTargets returns the anchors of a Markdown document (explicit
// <a id> tags and the identifiers GitHub derives from headings) and the
// decisions that have a section of their own.
func documentTargets(doc []byte) (anchors, decisions map[string]bool) {
	anchors, decisions = map[string]bool{}, map[string]bool{}
	for _, m := range anchorTag.FindAllSubmatch(doc, -1) {
		anchors[string(m[1])] = true
	}
	for _, m := range heading.FindAllSubmatch(doc, -1) {
		title := string(m[1])
		anchors[headingSlug(title)] = true
		if d := decisionHeading.FindStringSubmatch(title); d != nil {
			decisions["D"+d[1]] = true
		}
	}
	return anchors, decisions
}

// headingSlug is the anchor GitHub gives a heading: lower case, punctuation
// dropped, spaces turned into hyphens.
func headingSlug(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(title)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// text is a comment or a string literal of a Go file.
type text struct {
	pos     string // line:column
	text    string
	comment bool
}

// commentsAndStrings returns the comments and string literals of a Go
// file: where a citation can be, and not in identifiers.
func commentsAndStrings(path string, src []byte) []text {
	fset := token.NewFileSet()
	file := fset.AddFile(path, -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, scanner.ScanComments)
	var out []text
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return out
		}
		if tok == token.COMMENT || tok == token.STRING {
			p := fset.Position(pos)
			out = append(out, text{
				pos:     strings.TrimPrefix(p.String(), path+":"),
				text:    lit,
				comment: tok == token.COMMENT,
			})
		}
	}
}

// goFiles lists the module's Go files, leaving out testdata and hidden
// directories, as the go tool does.
func goFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Go file found under " + root)
	}
	return files
}

// moduleRoot returns the directory of the go.mod above the test's.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
