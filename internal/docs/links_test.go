package docs

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// manual are the documents whose links are checked: the landing page, the
// manual's pages and the deployments' guide.
var manual = []string{"README.md", "docs/*.md", "deployments/README.md"}

var (
	// mdLink is an inline Markdown link or image: [text](target) or
	// [text](target "title").
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	// fence opens or closes a fenced code block.
	fence = regexp.MustCompile("^\\s{0,8}(```|~~~)")
	// inlineCode is a code span, whose brackets are no link.
	inlineCode = regexp.MustCompile("`[^`]*`")
)

// TestManualLinks fails when a link of the manual leads nowhere: a file of
// the repository that does not exist, or an anchor its document lacks.
func TestManualLinks(t *testing.T) {
	root := moduleRoot(t)
	docs := manualFiles(t, root)
	anchorsOf := map[string]map[string]bool{}
	anchors := func(rel string) map[string]bool {
		if a, ok := anchorsOf[rel]; ok {
			return a
		}
		src, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		a := markdownAnchors(src)
		anchorsOf[rel] = a
		return a
	}
	for _, rel := range docs {
		src, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range markdownLinks(src) {
			target := l.target
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := rel
			if path != "" {
				dest = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(rel), path)))
				if strings.HasPrefix(dest, "../") {
					t.Errorf("%s:%d: %s leads out of the repository", rel, l.line, target)
					continue
				}
				if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
					t.Errorf("%s:%d: %s: no such file or folder", rel, l.line, target)
					continue
				}
			}
			if frag == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			if !anchors(dest)[frag] {
				t.Errorf("%s:%d: %s: %s has no anchor %q", rel, l.line, target, dest, frag)
			}
		}
	}
}

// TestManualContents fails when a page of the manual has no table of
// contents at its top, or when the README does not link to it.
func TestManualContents(t *testing.T) {
	root := moduleRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	linked := map[string]bool{}
	for _, l := range markdownLinks(readme) {
		path, _, _ := strings.Cut(l.target, "#")
		linked[filepath.ToSlash(filepath.Clean(path))] = true
	}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no page in docs/")
	}
	for _, page := range pages {
		rel := "docs/" + filepath.Base(page)
		if !linked[rel] {
			t.Errorf("README.md does not link to %s", rel)
		}
		src, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		// The contents come before the first section: among the first
		// headings, a "Contents" one.
		if !contentsAtTop(src) {
			t.Errorf("%s has no \"## Contents\" before its first section", rel)
		}
	}
}

// contentsAtTop reports whether the document's first second-level heading
// is its table of contents.
func contentsAtTop(src []byte) bool {
	for _, h := range markdownHeadings(src) {
		if h.level == 2 {
			return strings.EqualFold(strings.TrimSpace(h.title), "contents")
		}
	}
	return false
}

// manualFiles lists the manual's documents, relative to root, with slashes.
func manualFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, pattern := range manual {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(root, f)
			out = append(out, filepath.ToSlash(rel))
		}
	}
	sort.Strings(out)
	if len(out) < 3 {
		t.Fatalf("found only %v of the manual", out)
	}
	return out
}

// link is a link of a document, with the line it is on.
type link struct {
	target string
	line   int
}

// markdownLinks returns the inline links outside code blocks and code
// spans.
func markdownLinks(src []byte) []link {
	var out []link
	eachProseLine(src, func(n int, line string) {
		line = inlineCode.ReplaceAllString(line, "")
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			out = append(out, link{target: m[1], line: n})
		}
	})
	return out
}

// headingLine is a heading of a document.
type headingLine struct {
	level int
	title string
}

// markdownHeadings returns the headings outside code blocks.
func markdownHeadings(src []byte) []headingLine {
	var out []headingLine
	eachProseLine(src, func(_ int, line string) {
		if m := heading.FindStringSubmatch(line); m != nil {
			out = append(out, headingLine{level: strings.Index(line, " "), title: m[1]})
		}
	})
	return out
}

// markdownAnchors returns a document's anchors: its explicit <a id> tags
// and the identifiers GitHub derives from its headings, a repeated one
// numbered -1, -2, ...
func markdownAnchors(src []byte) map[string]bool {
	anchors := map[string]bool{}
	for _, m := range anchorTag.FindAllSubmatch(src, -1) {
		anchors[string(m[1])] = true
	}
	seen := map[string]int{}
	for _, h := range markdownHeadings(src) {
		slug := headingSlug(strings.ReplaceAll(h.title, "`", ""))
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

// eachProseLine calls f with each line outside fenced code blocks, and its
// number from 1.
func eachProseLine(src []byte, f func(n int, line string)) {
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	inFence := ""
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case inFence == "":
				inFence = m[1]
			case m[1] == inFence:
				inFence = ""
			}
			continue
		}
		if inFence == "" {
			f(n, line)
		}
	}
}
