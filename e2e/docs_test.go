package e2e

import (
	"bytes"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/internal/doctest"
)

// minReadmeCommands is how many commands of the README's examples must run:
// the doc test must not pass by finding nothing to run.
const minReadmeCommands = 5

// TestDocs runs every shell example of the project's documents, as a reader
// would paste it after make run: each document against a gateway of its own
// started as make run starts it (the simulated node, the dev wallet), with
// the binaries in the scratch directory's bin/, which a document must put
// on PATH as it tells the reader to, and a Redis of the test's. A block
// that cannot run here says why (<!-- doctest: skip: ... -->); package
// doctest says how the blocks are run and checked.
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
		for _, p := range doctest.CheckPath(blocks) {
			t.Error(p)
		}
		all = append(all, parsed{path, blocks})
	}
	if t.Failed() {
		t.FailNow()
	}

	// The programs the documents run, in the bin/ folder of each
	// document's scratch directory, as make build puts them in the
	// repository's: on PATH once the document's PATH line ran, not before.
	programs := map[string]string{
		"gateway":  gatewayBinary(t),
		"devnode":  devnodeBinary(t),
		"loadtest": binary(t, "./cmd/loadtest"),
	}
	redis := startRedis(t)
	env := append(gatewayEnv(), "REPO="+root)

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
				Dir:      t.TempDir(),
				Env:      env,
				Programs: programs,
				Addresses: doctest.Addresses{
					Gateway:  strings.TrimPrefix(gw.URL, "http://"),
					Redis:    strings.TrimSuffix(strings.TrimPrefix(redis.URL, "redis://"), "/0"),
					FreePort: doctest.FreePort,
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
				// A block of its own, so that one needing a tool this
				// machine lacks is skipped and the others still run.
				ok := t.Run("line "+strconv.Itoa(b.Line), func(t *testing.T) {
					for _, tool := range toolsOf(b) {
						needTool(t, tool, docTools[tool])
					}
					out, err := s.Run(t.Context(), b)
					if err != nil {
						t.Fatalf("%v\n--- the example:\n%s--- its output:\n%s", err, b.Code, out)
					}
				})
				if !ok {
					t.FailNow() // the blocks after it may need what it did
				}
			}
		})
	}
}

// docTools are the tools some examples need besides bash and curl, with
// where to get them: a block that runs one is skipped where it is missing
// (failed with E2E_REQUIRE_TOOLS=1).
var docTools = map[string]string{
	"promtool": "the alert rules' examples need it: Debian's prometheus package (scripts/ensure-prometheus.sh)",
}

// toolsOf are the tools of docTools the block's commands run.
func toolsOf(b doctest.Block) []string {
	var out []string
	for tool := range docTools {
		for _, c := range doctest.Commands(b.Code) {
			if slices.Contains(strings.Fields(c), tool) {
				out = append(out, tool)
				break
			}
		}
	}
	return out
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

// TestMakeRun runs the README's first command as a reader does, with a flag
// passed through ARGS (a free port instead of :8080, which may be taken
// here), and calls the gateway it starts.
func TestMakeRun(t *testing.T) {
	makeBin := needTool(t, "make", "the README's commands are make targets")
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	port, err := doctest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(makeBin, "-s", "run", "ARGS=--listen="+addr)
	cmd.Dir = root
	cmd.Env = gatewayEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if err := killGroup(cmd); err != nil {
			t.Error(err)
		}
		<-exited //nolint:errcheck // killed: its exit status is ours
		if t.Failed() {
			t.Logf("make run:\n%s", out.String())
		}
	}()
	deadline := time.Now().Add(toolTimeout)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("make run exited: %v", err)
		default:
		}
		status, body, err := httpGet(t.Context(), "http://"+addr+"/readyz")
		if err == nil && status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("make run: not ready within %v: %d %s %v", toolTimeout, status, body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a, err := post(t.Context(), "http://"+addr+"/rpc/latestHeight", `{"chainId":2}`)
	if err != nil || a.Status != http.StatusOK || !strings.Contains(string(a.Body), `"value"`) {
		t.Errorf("latestHeight through make run: %d %s %v", a.Status, a.Body, err)
	}
}
