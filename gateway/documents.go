package gateway

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
	"github.com/nuls-gateway/nuls-gateway/internal/buildinfo"
	"github.com/nuls-gateway/nuls-gateway/openapi"
)

// The documents that describe the methods (GET /openapi.json,
// /openrpc.json, /methods, and the JSON-RPC rpc.discover) cost ~100 ms of
// CPU to build in front of a listing of some 250 methods, and anyone may
// ask for them. So each is built once per change of what it describes, and
// its bytes are served until then:
//
//   - the listing: its generation moves when the upstream's methods (or
//     the catalog standing in for them) change;
//   - the compound methods: this instance's own changes are seen at once;
//     another instance's within compoundRecheck, when the list, read at
//     most that often, has another digest.
//
// Nothing else they say depends on the request, except the OpenRPC
// document's server URL (the Host the client used), which is put in at
// serving time (withServerURL). The anonymous policy, the exposed scopes
// and the catalog are fixed for the process's lifetime.

// Kinds of document.
const (
	docOpenAPI = iota
	docOpenRPC
	docMethods
	docKinds
)

// compoundRecheck is how often the documents read the compound methods
// again, for the changes another instance made.
const compoundRecheck = time.Second

// serverURLPlaceholder stands for the server URL in the OpenRPC document
// kept: a name that no request can have as Host (RFC 2606 .invalid).
const serverURLPlaceholder = "http://server-url.invalid/jsonrpc"

// docState is what the documents were built from: the listing's
// generation and the compound methods' digest.
type docState struct {
	listing   uint64
	compounds [sha256.Size]byte
}

// documents keeps the built documents.
type documents struct {
	s *Server
	// compoundGen moves on at each change of the compound methods made on
	// this instance.
	compoundGen atomic.Uint64
	// builds counts the documents built (for the tests).
	builds atomic.Int64

	// mu guards everything below. It is held while a document is built:
	// concurrent requests wait for that one build rather than each make
	// their own.
	mu sync.Mutex
	// compounds are the compound methods as last read, with their digest;
	// read is when, and readGen the compoundGen then.
	compounds []compound.Definition
	digest    [sha256.Size]byte
	read      time.Time
	readGen   uint64
	haveRead  bool
	built     [docKinds]builtDoc
}

// builtDoc is one document and what it was built from.
type builtDoc struct {
	state docState
	body  []byte
}

// get returns the document of kind, built anew only when what it
// describes changed.
func (d *documents) get(ctx context.Context, kind int) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// The generation is read before the listing is: a change while the
	// document is built makes the next request build it again.
	state := docState{listing: d.s.listing.Generation()}
	if gen := d.compoundGen.Load(); !d.haveRead || gen != d.readGen || time.Since(d.read) >= compoundRecheck {
		list, err := d.s.cfg.Compounds.List(ctx)
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
	state.compounds = d.digest
	if b := d.built[kind]; b.body != nil && b.state == state {
		return b.body, nil
	}
	body, err := d.build(kind)
	if err != nil {
		return nil, err
	}
	d.builds.Add(1)
	d.built[kind] = builtDoc{state: state, body: body}
	return body, nil
}

// build makes a document from the listing and d.compounds. d.mu must be
// held.
func (d *documents) build(kind int) ([]byte, error) {
	s := d.s
	switch kind {
	case docMethods:
		return s.methodList(d.compounds)
	case docOpenAPI:
		return openapi.JSON(buildinfo.Version(), s.documentedMethods(d.compounds))
	default:
		return openapi.OpenRPC(buildinfo.Version(), serverURLPlaceholder, s.documentedMethods(d.compounds))
	}
}

// compoundsChanged tells the documents that this instance changed the
// compound methods.
func (d *documents) compoundsChanged() { d.compoundGen.Add(1) }

var errNoPlaceholder = errors.New("gateway: the OpenRPC document has no server URL placeholder")

// withServerURL returns the OpenRPC document doc with url in place of
// serverURLPlaceholder, encoded as encoding/json would have. doc is not
// modified.
func withServerURL(doc []byte, url string) ([]byte, error) {
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
