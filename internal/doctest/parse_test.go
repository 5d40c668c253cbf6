package doctest

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	doc := "# Title\n" +
		"```sh\ncurl localhost:8080/healthz\n```\n" +
		"text\n\n" +
		"<!-- doctest: skip: needs Docker -->\n" +
		"```bash\ndocker compose up\n```\n" +
		"<!-- doctest: status 401; contains \"a;b\" -->\n" +
		"<!-- doctest: stream 3s -->\n" +
		"~~~shell\ncurl -N x\n~~~\n" +
		"1. a list item:\n" +
		"   ```json\n   {\"a\": 1}\n   ```\n" +
		"````md\n```sh\nnot a block\n```\n````\n"
	blocks, err := Parse("d.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 5 {
		t.Fatalf("got %d blocks, want 5: %+v", len(blocks), blocks)
	}
	if b := blocks[0]; b.Lang != "sh" || b.Line != 2 || b.Code != "curl localhost:8080/healthz\n" || !b.Runnable() {
		t.Errorf("first block: %+v", b)
	}
	if b := blocks[1]; b.Skip != "needs Docker" || b.Runnable() {
		t.Errorf("skipped block: %+v", b)
	}
	b := blocks[2]
	if b.Status != 401 || len(b.Contains) != 1 || b.Contains[0] != "a;b" || b.Stream != 3*time.Second || b.Lang != "shell" {
		t.Errorf("directives: %+v", b)
	}
	if b := blocks[3]; b.Lang != "json" || b.Code != "{\"a\": 1}\n" || b.Runnable() {
		t.Errorf("indented block: %+v", b)
	}
	if b := blocks[4]; b.Lang != "md" || !strings.Contains(b.Code, "not a block") {
		t.Errorf("a longer fence holds a shorter one: %+v", b)
	}
}

func TestParseRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"skip without a reason": "<!-- doctest: skip -->\n```sh\nx\n```\n",
		"unknown directive":     "<!-- doctest: skipp: typo -->\n```sh\nx\n```\n",
		"bad status":            "<!-- doctest: status two -->\n```sh\nx\n```\n",
		"bad duration":          "<!-- doctest: stream forever -->\n```sh\nx\n```\n",
		"directive before text": "<!-- doctest: skip: why -->\ntext\n```sh\nx\n```\n",
		"directive at the end":  "```sh\nx\n```\n<!-- doctest: skip: why -->\n",
		"unclosed block":        "```sh\nx\n",
	} {
		if _, err := Parse("d.md", []byte(doc)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestLint(t *testing.T) {
	for _, c := range []struct {
		lang, code string
		problems   int
	}{
		{"sh", "curl -s localhost:8080/rpc/x -d '{}'\n", 1},
		{"sh", "curl -s localhost:8080/rpc/x -H 'Content-Type: application/json' -d '{}'\n", 0},
		{"sh", "curl -s localhost:8080/rpc/x \\\n  --json '{}'\n", 0},
		{"sh", "x=$(curl -s localhost:8080/rpc/x --data '{}')\n", 1},
		{"sh", "curl -N localhost:8080/notifications\n", 1},
		{"sh", "curl -N -H \"X-API-Key: $KEY\" localhost:8080/notifications\n", 0},
		{"", "curl localhost:8080/healthz\n", 1},
		{"console", "# a comment\nmake run\n", 1},
		{"text", "data: {\"value\":12}\n", 0},
		{"json", "{\"curl\": 1}\n", 0},
	} {
		got := Lint(Block{Lang: c.lang, Code: c.code})
		if len(got) != c.problems {
			t.Errorf("%s block %q: %d problems, want %d: %q", c.lang, c.code, len(got), c.problems, got)
		}
	}
}

// TestParsePathLine: the line of prose that gives PathLine is a block of
// its own, run; the same command in other prose, or another, is not.
func TestParsePathLine(t *testing.T) {
	doc := "# Title\n" +
		"After `make build`, run `export PATH=\"$PWD/bin:$PATH\"` in the repository's root.\n\n" +
		"PATH=\"$PWD/bin:$PATH\" without backticks, or `export PATH=/elsewhere` is prose.\n" +
		"```sh\ngateway --version\n```\n"
	blocks, err := Parse("d.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 {
		t.Fatalf("got %d blocks, want 2: %+v", len(blocks), blocks)
	}
	if b := blocks[0]; b.Line != 2 || b.Code != PathLine+"\n" || !b.Runnable() {
		t.Errorf("the PATH line: %+v", b)
	}
	if p := CheckPath(blocks); len(p) != 0 {
		t.Errorf("CheckPath: %q", p)
	}
}

func TestCheckPath(t *testing.T) {
	sh := func(code string) Block { return Block{Doc: "d.md", Line: 1, Lang: "sh", Code: code} }
	skipped := sh("gateway --upstream ws://node:7772\n")
	skipped.Skip = "needs a node"
	path := sh(PathLine + "\n")
	for _, c := range []struct {
		name     string
		blocks   []Block
		problems int
	}{
		{"no program", []Block{sh("curl -s localhost:8080/healthz\n")}, 0},
		{"a program first", []Block{sh("gateway --version\n"), path}, 1},
		{"a skipped one counts", []Block{skipped, path}, 1},
		{"in a $(...)", []Block{sh("KEY=$(gateway keys add --name x)\n")}, 1},
		{"devnode in the background", []Block{sh("devnode --listen 127.0.0.1:7771 > devnode.log 2>&1 &\n")}, 1},
		{"once per document", []Block{sh("gateway --version\n"), sh("loadtest -h\n")}, 1},
		{"the line first", []Block{path, sh("gateway --version\n"), skipped}, 0},
		{"the line first in the block", []Block{sh(PathLine + "\ngateway --version\n")}, 0},
		{"the line after, in the block", []Block{sh("gateway --version\n" + PathLine + "\n")}, 1},
		{"paths and other words", []Block{sh("bin/gateway --help\ncurl nuls-gateway:8080/x\ndocker compose exec -T gateway1 /gateway keys list\n")}, 0},
		{"in a here-document", []Block{sh("cat > main.go <<'EOF'\n// serve it to the gateway (gateway --upstream)\nEOF\ngo build .\n")}, 0},
		{"after a here-document", []Block{sh("cat > x <<EOF\nhi\nEOF\ngateway --version\n")}, 1},
		{"not a shell block", []Block{{Lang: "text", Code: "gateway listening\n"}}, 0},
	} {
		if got := CheckPath(c.blocks); len(got) != c.problems {
			t.Errorf("%s: %d problems, want %d: %q", c.name, len(got), c.problems, got)
		}
	}
}
