package documents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/openapi"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// Kind is a kind of document.
type Kind int

// The documents.
const (
	OpenAPI Kind = iota
	OpenRPC
	Methods
	kinds
)

// MethodList is the answer of GET /methods.
type MethodList struct {
	// Discovered is set when the upstream listed its methods.
	Discovered bool `json:"discovered"`
	// Source is where the list comes from: upstream (its ListAPI), catalog
	// (the upstream lists nothing: the NULS 2 modules' commands the gateway
	// knows, and --methods-file's), or none.
	Source  string           `json:"source"`
	Methods []openapi.Method `json:"methods"`
} //	@name	gateway.MethodList

// Input is what the documents describe.
type Input struct {
	// Version is the gateway's, in the documents' info.
	Version string
	// Generation moves on at each change of the methods listed.
	Generation func() uint64
	// Compounds lists the compound methods, every instance's.
	Compounds func(context.Context) ([]compound.Definition, error)
	// Describe describes the callable methods, compounds among them,
	// and says where the list comes from (upstream.Source*).
	Describe func(compounds []compound.Definition) (methods []openapi.Method, source string)
	// Anonymous reports whether anonymous callers may call the method
	// name of scope.
	Anonymous func(name, scope string) bool
}

// compoundRecheck is how often the documents read the compound methods
// again, for the changes another instance made.
const compoundRecheck = time.Second

// serverURLPlaceholder stands for the server URL in the OpenRPC document
// kept: a name that no request can have as Host (RFC 2606 .invalid).
const serverURLPlaceholder = "http://server-url.invalid/jsonrpc"

// state is what the documents were built from: the listing's generation
// and the compound methods' digest.
type state struct {
	listing   uint64
	compounds [sha256.Size]byte
}

// Cache keeps the built documents.
type Cache struct {
	src Input
	// compoundGen moves on at each change of the compound methods made on
	// this instance.
	compoundGen atomic.Uint64
	builds      atomic.Int64

	mu sync.Mutex // guards everything below; held while a document is built
	// compounds are the compound methods as last read, with their digest;
	// read is when, and readGen the compoundGen then.
	compounds []compound.Definition
	digest    [sha256.Size]byte
	read      time.Time
	readGen   uint64
	haveRead  bool
	built     [kinds]built
}

// built is one document and what it was built from.
type built struct {
	state state
	body  []byte
}

// New returns the documents of src, built at their first Get.
func New(src Input) *Cache { return &Cache{src: src} }

// Get returns the document of kind, built anew only when what it describes
// changed. The OpenRPC document's server URL is a placeholder: see
// WithServerURL.
func (d *Cache) Get(ctx context.Context, kind Kind) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// The generation is read before the listing is: a change while the
	// document is built makes the next request build it again.
	st := state{listing: d.src.Generation()}
	if gen := d.compoundGen.Load(); !d.haveRead || gen != d.readGen || time.Since(d.read) >= compoundRecheck {
		list, err := d.src.Compounds(ctx)
		switch {
		case err == nil:
			b, _ := json.Marshal(list)
			d.compounds, d.digest = list, sha256.Sum256(b)
			d.read, d.readGen, d.haveRead = time.Now(), gen, true
		case !d.haveRead:
			// As before: the methods are described without the
			// compound ones while their store does not answer, and
			// it is asked again next time.
			d.compounds, d.digest = nil, [sha256.Size]byte{}
		}
	}
	st.compounds = d.digest
	if b := d.built[kind]; b.body != nil && b.state == st {
		return b.body, nil
	}
	body, err := d.build(kind)
	if err != nil {
		return nil, err
	}
	d.builds.Add(1)
	d.built[kind] = built{state: st, body: body}
	return body, nil
}

// build makes a document from the listing and d.compounds. d.mu must be
// held.
func (d *Cache) build(kind Kind) ([]byte, error) {
	methods, source := d.src.Describe(d.compounds)
	if kind == Methods {
		return json.Marshal(MethodList{Discovered: source == upstream.SourceUpstream, Source: source, Methods: methods})
	}
	for i := range methods {
		name := methods[i].Name
		if methods[i].Source != "" {
			name = methods[i].Source // who may stream it is who may stream its source
		}
		methods[i].Anonymous = d.src.Anonymous(name, methods[i].Scope)
	}
	if kind == OpenAPI {
		return openapi.JSON(d.src.Version, methods)
	}
	return openapi.OpenRPC(d.src.Version, serverURLPlaceholder, methods)
}

// CompoundsChanged tells the documents that this instance changed the
// compound methods.
func (d *Cache) CompoundsChanged() { d.compoundGen.Add(1) }

// Builds counts the documents built.
func (d *Cache) Builds() int64 { return d.builds.Load() }

var errNoPlaceholder = errors.New("documents: the OpenRPC document has no server URL placeholder")

// WithServerURL returns the OpenRPC document doc with url as its server's,
// encoded as encoding/json would have. doc is not modified.
func WithServerURL(doc []byte, url string) ([]byte, error) {
	placeholder, _ := json.Marshal(serverURLPlaceholder)
	// The servers come before the methods in the document, and info's
	// texts are the gateway's: the first occurrence is the server's.
	i := bytes.Index(doc, placeholder)
	if i < 0 {
		return nil, errNoPlaceholder
	}
	enc, err := json.Marshal(url)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(doc)-len(placeholder)+len(enc))
	out = append(out, doc[:i]...)
	out = append(out, enc...)
	return append(out, doc[i+len(placeholder):]...), nil
}
