package e2e

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuls-gateway/nuls-gateway/internal/doctest"
)

// minReadmeCommands is how many commands of the README's examples must run:
// the doc test must not pass by finding nothing to run.
const minReadmeCommands = 5

// TestDocs runs every shell example of the project's documents, as a reader
// would paste it after make run: each document against a gateway of its own
// started as make run starts it (the simulated node, the dev wallet), with
// the binaries on PATH and a Redis of the test's. A block that cannot run
// here says why (<!-- doctest: skip: ... -->); package doctest says how the
// blocks are run and checked.
func TestDocs(t *testing.T) {
	needTool(t, "bash", "the examples are shell")
	needTool(t, "curl", "the examples call the gateway with curl")
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	docs := documents(t, root)
	type parsed struct {
		path   string
		blocks []doctest.Block
	}
	var all []parsed
	for _, path := range docs {
		src, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := doctest.Parse(path, src)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, b := range blocks {
			for _, p := range doctest.Lint(b) {
				t.Errorf("%s: %s", b.Where(), p)
			}
		}
		all = append(all, parsed{path, blocks})
	}
	if t.Failed() {
		t.FailNow()
	}

	// The binaries the documents run, on PATH under their names.
	gatewayBinary(t)
	devnodeBinary(t)
	binary(t, "./cmd/loadtest")
	redis := startRedis(t)
	env := append(gatewayEnv(), "REPO="+root)
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + binDir + ":" + v
		}
	}

	for _, doc := range all {
		runnable, skipped, commands := 0, 0, 0
		for _, b := range doc.blocks {
			switch {
			case b.Runnable():
				runnable++
				commands += len(doctest.Commands(b.Code))
			case doctest.IsShell(b.Lang):
				skipped++
			}
		}
		if doc.path == "README.md" && commands < minReadmeCommands {
			t.Errorf("README.md: %d commands run, want at least %d", commands, minReadmeCommands)
		}
		if runnable == 0 {
			continue
		}
		t.Run(doc.path, func(t *testing.T) {
			t.Logf("%d examples run, %d skipped (each says why)", runnable, skipped)
			gw := startGateway(t, "--simulated-node", "--dev-wallet")
			s, err := doctest.NewSession(doctest.Config{
				Dir: t.TempDir(),
				Env: env,
				Addresses: doctest.Addresses{
					Gateway:  strings.TrimPrefix(gw.URL, "http://"),
					Redis:    strings.TrimSuffix(strings.TrimPrefix(redis.URL, "redis://"), "/0"),
					FreePort: func() (int, error) { return freeTCPPort() },
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}()
			for _, b := range doc.blocks {
				if !b.Runnable() {
					continue
				}
				out, err := s.Run(t.Context(), b)
				if err != nil {
					// The blocks after it may need what it did.
					t.Fatalf("%v\n--- the example:\n%s--- its output:\n%s", err, b.Code, out)
				}
			}
		})
	}
}

// documents are the Markdown files whose examples are run: the README, the
// manual in docs/ and the deployment guides.
func documents(t *testing.T, root string) []string {
	t.Helper()
	docs := []string{"README.md"}
	for _, dir := range []string{"docs", "deployments"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".md") {
				rel, err := filepath.Rel(root, path)
				if err != nil {
					return err
				}
				docs = append(docs, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return docs
}

// freeTCPPort is a port of 127.0.0.1 nothing listened on a moment ago.
func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
