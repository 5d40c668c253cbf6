package gateway

import (
	"net/http"

	httpSwagger "github.com/swaggo/http-swagger/v2"

	"github.com/nuls-gateway/nuls-gateway/gateway/documents"
)

// openAPI serves the OpenAPI 3 document: the gateway's routes and one typed
// path per callable method.
//
//	@Summary	OpenAPI 3 document
//	@ID			getOpenAPIDocument
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	object
//	@Failure	429	{object}	Problem	"Rate limited (the address's anonymous quota)"
//	@Router		/openapi.json [get]
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	b, err := s.described.Get(r.Context(), documents.OpenAPI)
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, b)
	return nil
}

// openRPC serves the OpenRPC document of POST /jsonrpc, which the
// JSON-RPC method rpc.discover answers too.
//
//	@Summary	OpenRPC document of POST /jsonrpc
//	@ID			getOpenRPCDocument
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	object
//	@Failure	429	{object}	Problem	"Rate limited (the address's anonymous quota)"
//	@Router		/openrpc.json [get]
func (s *Server) openRPC(w http.ResponseWriter, r *http.Request) error {
	b, err := s.openRPCDocument(r)
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, b)
	return nil
}

// openRPCDocument is the OpenRPC document as r's client reaches the
// gateway: its server is POST /jsonrpc at the host r was sent to. The
// document is built once per change of the methods, with a placeholder
// where the server's URL goes (package documents); only the URL is r's.
func (s *Server) openRPCDocument(r *http.Request) ([]byte, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	b, err := s.described.Get(r.Context(), documents.OpenRPC)
	if err != nil {
		return nil, err
	}
	return documents.WithServerURL(b, scheme+"://"+host+"/jsonrpc")
}

// docsUI is the interactive page (Swagger UI, served from the binary).
var docsUI = httpSwagger.Handler(httpSwagger.URL("/openapi.json"))

// docs serves the interactive page. Its handler answers GET only: a HEAD
// is passed on as a GET, and net/http leaves the body out.
func (s *Server) docs(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		r = r.Clone(r.Context())
		r.Method = http.MethodGet
	}
	docsUI.ServeHTTP(w, r)
}

func (s *Server) docsRedirect(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/docs/index.html", http.StatusFound)
}
