package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
)

// oapiCodegen is the client generator, pinned: bump it here, on purpose (its
// runtime is pinned in testdata/client/go.mod, swagger-parser in
// testdata/js/package-lock.json).
const oapiCodegen = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"

// The simulated node's first genesis account and its balance (bridge/devnode).
const (
	genesisAddress = "tNULSeBaMqPDhRwU2N8W6KCDqdzo6ZC2dDyjzQ"
	genesisBalance = "100000000000000"
)

// TestOpenAPI checks the gateway's OpenAPI document with three independent
// consumers: kin-openapi, swagger-parser (npm), and oapi-codegen, whose
// generated client must then call the gateway.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, "--simulated-node")
	status, spec, err := httpGet(t.Context(), gw.URL+"/openapi.json")
	if err != nil || status != 200 {
		t.Fatalf("GET /openapi.json: %d %v", status, err)
	}
	specFile := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(specFile, spec, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("kin-openapi", func(t *testing.T) {
		t.Parallel()
		checkKinOpenAPI(t, spec)
	})
	t.Run("swagger-parser", func(t *testing.T) {
		t.Parallel()
		checkSwaggerParser(t, specFile)
	})
	t.Run("redocly", func(t *testing.T) {
		t.Parallel()
		checkRedocly(t, specFile)
	})
	t.Run("oapi-codegen client", func(t *testing.T) {
		t.Parallel()
		checkGeneratedClient(t, specFile, gw.URL)
	})
}

// checkKinOpenAPI loads and validates the document, and checks the typed
// operations a client generator builds on.
func checkKinOpenAPI(t *testing.T, spec []byte) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	// Every operation has an ID of its own, for the generated clients'
	// function names, and no description was cut by the generator at an
	// escaped quote.
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			switch {
			case op.OperationID == "":
				t.Errorf("%s: no operationId", where)
			case ids[op.OperationID] != "":
				t.Errorf("%s: operationId %s is also %s's", where, op.OperationID, ids[op.OperationID])
			}
			ids[op.OperationID] = where
			if rb := op.RequestBody; rb != nil && rb.Value != nil && strings.HasPrefix(rb.Value.Description, `{\`) {
				t.Errorf("%s: request body description cut: %q", where, rb.Value.Description)
			}
		}
	}
	type operation struct {
		ID         string
		BodyFields map[string]string // name: type
		Query      []string
		Content    []string // of the 200 answer
	}
	describe := func(op *openapi3.Operation) operation {
		if op == nil {
			return operation{}
		}
		o := operation{ID: op.OperationID}
		if op.RequestBody != nil && op.RequestBody.Value != nil {
			if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				o.BodyFields = map[string]string{}
				for name, s := range mt.Schema.Value.Properties {
					o.BodyFields[name] = strings.Join(s.Value.Type.Slice(), ",")
				}
			}
		}
		for _, p := range op.Parameters {
			if p.Value.In == openapi3.ParameterInQuery {
				o.Query = append(o.Query, p.Value.Name)
			}
		}
		if r := op.Responses.Value("200"); r != nil {
			for ct := range r.Value.Content {
				o.Content = append(o.Content, ct)
			}
		}
		return o
	}
	post := func(path string) *openapi3.Operation {
		if item := doc.Paths.Value(path); item != nil {
			return item.Post
		}
		return nil
	}
	get := func(path string) *openapi3.Operation {
		if item := doc.Paths.Value(path); item != nil {
			return item.Get
		}
		return nil
	}
	got := map[string]operation{
		"POST /rpc/getBalance":         describe(post("/rpc/getBalance")),
		"POST /rpc/latestHeight":       describe(post("/rpc/latestHeight")),
		"GET /rpc/latestHeight/stream": describe(get("/rpc/latestHeight/stream")),
		"GET /rpc/ac_transfer/stream":  describe(get("/rpc/ac_transfer/stream")),
	}
	want := map[string]operation{
		"POST /rpc/getBalance": {
			ID:         "getBalance",
			BodyFields: map[string]string{"chainId": "integer", "assetChainId": "integer", "assetId": "integer", "address": "string"},
			Content:    []string{"application/json"},
		},
		"POST /rpc/latestHeight": {
			ID: "latestHeight", BodyFields: map[string]string{"chainId": "integer"}, Content: []string{"application/json"},
		},
		"GET /rpc/latestHeight/stream": {
			ID: "latestHeightStream", Query: []string{"chainId", "eventCounter", "period", "range"}, Content: []string{"text/event-stream"},
		},
		// A transfer is not streamable (a period stream would repeat
		// it): no stream path.
		"GET /rpc/ac_transfer/stream": {},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
}

// checkSwaggerParser validates the document with @apidevtools/swagger-parser
// at the version pinned in testdata/js/package-lock.json.
func checkSwaggerParser(t *testing.T, specFile string) {
	t.Helper()
	dir, node := npmProject(t, "js")
	out := runTool(t, dir, nil, node, "validate.mjs", specFile)
	if !regexp.MustCompile(`^valid 3\.0\.\d+ \d+\n$`).MatchString(out) {
		t.Errorf("swagger-parser: %q, want valid 3.0.x <paths>", out)
	}
}

// checkRedocly lints the document with Redocly's recommended rules
// (@redocly/cli, pinned in testdata/js): errors fail, warnings do not.
func checkRedocly(t *testing.T, specFile string) {
	t.Helper()
	dir, _ := npmProject(t, "js")
	// It exits non-zero on any error, which fails runTool.
	out := runTool(t, dir, nil, filepath.Join(dir, "node_modules", ".bin", "redocly"), "lint", "--extends", "recommended", "--format", "stylish", specFile)
	t.Logf("redocly lint:\n%s", out)
}

// checkGeneratedClient generates a client with oapi-codegen, builds
// testdata/client with it and runs it against the gateway.
func checkGeneratedClient(t *testing.T, specFile, gatewayURL string) {
	t.Helper()
	mod := t.TempDir()
	for _, name := range []string{"go.mod", "go.sum", "main.go"} {
		copyFile(t, filepath.Join("testdata", "client", name), filepath.Join(mod, name))
	}
	if err := os.Mkdir(filepath.Join(mod, "nulsclient"), 0o755); err != nil {
		t.Fatal(err)
	}
	// GOFLAGS is cleared for go run pkg@version, which an inherited
	// -mod=vendor breaks.
	runTool(t, mod, []string{"GOWORK=off", "GOFLAGS="}, "go", "run", oapiCodegen,
		"-generate", "types,client", "-package", "nulsclient", "-o", filepath.Join(mod, "nulsclient", "client.go"), specFile)
	// The temporary module stands alone (no workspace); -mod=mod lets the
	// build complete go.sum from the module proxy should the generated
	// code need more than the committed go.sum names.
	prog := filepath.Join(mod, "client")
	runTool(t, mod, []string{"GOWORK=off", "GOFLAGS=-mod=mod"}, "go", "build", "-o", prog, ".")
	out := runTool(t, mod, nil, prog, gatewayURL, genesisAddress)

	got := map[string]map[string]string{}
	for line := range strings.Lines(out) {
		name, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		fields := map[string]string{}
		for _, kv := range strings.Fields(rest) {
			k, v, _ := strings.Cut(kv, "=")
			fields[k] = v
		}
		got[name] = fields
	}
	// Heights move with the blocks: checked apart, then replaced by N.
	if f := got["latestHeight"]; f != nil {
		if h, err := strconv.ParseInt(f["value"], 10, 64); err != nil || h < 0 {
			t.Errorf("latestHeight value %q: want a height >= 0", f["value"])
		}
		f["value"] = "N"
	}
	if f := got["latestHeightStream"]; f != nil {
		if !regexp.MustCompile(`^\{"value":\d+\}$`).MatchString(f["data"]) {
			t.Errorf("latestHeightStream data %q: want {\"value\":N}", f["data"])
		}
		f["data"] = "N"
	}
	want := map[string]map[string]string{
		"getBalance":         {"status": "200", "total": genesisBalance},
		"latestHeight":       {"status": "200", "value": "N"},
		"getBalanceInvalid":  {"status": "400", "problem.status": "400"},
		"latestHeightStream": {"status": "200", "type": "text/event-stream", "data": "N"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("client output (-want +got):\n%s\noutput:\n%s", diff, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRPC checks the OpenRPC document of POST /jsonrpc with the
// OpenRPC project's validator (npm), and that rpc.discover answers it.
func TestOpenRPC(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, "--simulated-node")
	status, doc, err := httpGet(t.Context(), gw.URL+"/openrpc.json")
	if err != nil || status != 200 {
		t.Fatalf("GET /openrpc.json: %d %v", status, err)
	}
	var parsed struct {
		Servers []struct{ URL string }
		Methods []struct {
			Name   string
			Params []struct{ Name string }
		}
	}
	if err := json.Unmarshal(doc, &parsed); err != nil || len(parsed.Servers) != 1 || parsed.Servers[0].URL != gw.URL+"/jsonrpc" {
		t.Fatalf("document: %v %+v", err, parsed.Servers)
	}
	for _, m := range parsed.Methods {
		if m.Name != "getBalance" {
			continue
		}
		var names []string
		for _, p := range m.Params {
			names = append(names, p.Name)
		}
		// The order positional params are taken in.
		if want := []string{"chainId", "assetChainId", "assetId", "address"}; !cmp.Equal(names, want) {
			t.Errorf("getBalance params %v, want %v", names, want)
		}
	}
	specFile := filepath.Join(t.TempDir(), "openrpc.json")
	if err := os.WriteFile(specFile, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	dir, node := npmProject(t, "js")
	if out := runTool(t, dir, nil, node, "validate-openrpc.mjs", specFile); out != "valid 1.3.2 "+strconv.Itoa(len(parsed.Methods))+"\n" {
		t.Errorf("OpenRPC validator: %q", out)
	}
	// rpc.discover is the same document.
	resp, err := http.Post(gw.URL+"/jsonrpc", "application/json", strings.NewReader(`{"jsonrpc":"2.0","method":"rpc.discover","id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Result struct {
			OpenRPC string
			Methods []json.RawMessage
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.Result.OpenRPC != "1.3.2" || len(answer.Result.Methods) != len(parsed.Methods) {
		t.Errorf("rpc.discover: %v %+v", err, answer.Result.OpenRPC)
	}
}
