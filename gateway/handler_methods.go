package gateway

import (
	"net/http"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/catalog"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway/documents"
	"github.com/nuls-gateway/nuls-gateway/openapi"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// listMethods lists the callable methods.
//
//	@Summary		List the callable methods
//	@ID				listMethods
//	@Description	The upstream methods (discovered with ListAPI) in the scopes the gateway exposes, and the compound methods. Each has the scope a credential needs to call it. The module protocol's own commands are never listed, nor callable.
//	@Tags			methods
//	@Produce		json
//	@Success		200	{object}	documents.MethodList
//	@Failure		429	{object}	Problem	"Rate limited (the address's anonymous quota)"
//	@Router			/methods [get]
func (s *Server) listMethods(w http.ResponseWriter, r *http.Request) error {
	b, err := s.described.Get(r.Context(), documents.Methods)
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, b)
	return nil
}

// methodDocs describes the callable methods: the listing's, then the
// compound methods.
func (s *Server) methodDocs(compounds []compound.Definition) ([]openapi.Method, string) {
	list, source := s.listing.List()
	docs := make([]openapi.Method, 0, len(list))
	for _, m := range list {
		if scope, ok := s.listedScope(m); ok {
			m.MethodScope = scope
			d := methodDoc(m, false)
			withEnglish(&d)
			if cmd, ok := s.listing.Command(m.MethodName); ok {
				d.Module, d.Result = cmd.Module, cmd.Result
				required := map[string]bool{}
				for _, name := range cmd.Required() {
					required[name] = true
				}
				for i := range d.Parameters {
					d.Parameters[i].Required = required[d.Parameters[i].Name]
				}
			}
			docs = append(docs, d)
		}
	}
	for _, c := range compounds {
		docs = append(docs, methodDoc(s.compoundInfo(c), true))
	}
	return append(docs, s.derivedDocs(list)...), source
}

// derivedDocs describes the streams the gateway makes of a listed
// method's subscription (upstream.Derived): each one whose source the
// list shows and the policy lets the gateway stream, as package streams serves
// it.
func (s *Server) derivedDocs(list []bridge.MethodInfo) []openapi.Method {
	listed := make(map[string]bridge.MethodInfo, len(list))
	for _, m := range list {
		listed[m.MethodName] = m
	}
	var docs []openapi.Method
	for _, name := range upstream.DerivedNames() {
		source, info, _ := upstream.Derived(name)
		m, ok := listed[source]
		if !ok {
			continue
		}
		scope, shown := s.listedScope(m)
		if !shown || !s.listing.Decide(source, m, true).Streamable() {
			continue
		}
		info.MethodScope = scope
		d := methodDoc(info, false)
		d.StreamOnly, d.Source = true, source
		if cmd, ok := s.listing.Command(source); ok {
			// The source's parameters it passes on are as required.
			for _, req := range cmd.Required() {
				for i := range d.Parameters {
					if d.Parameters[i].Name == req {
						d.Parameters[i].Required = true
					}
				}
			}
		}
		docs = append(docs, d)
	}
	return docs
}

// listedScope is the scope under which the method list shows m, and
// whether it shows m at all: only what some caller may call (the policy's
// decision), in a scope the gateway exposes.
func (s *Server) listedScope(m bridge.MethodInfo) (string, bool) {
	d := s.listing.Decide(m.MethodName, m, true)
	return d.Scope, d.Callable() && s.exposed(d.Scope)
}

// withEnglish puts the catalog's English summary of a NULS command
// before the node's description when that has no English (the Java
// modules' are often Chinese alone): the documents' summary is then the
// English, and the description keeps the node's words after it.
func withEnglish(d *openapi.Method) {
	en := catalog.Summary(d.Name)
	if en == "" || openapi.EnglishPart(d.Description) != "" {
		return
	}
	if d.Description == "" {
		d.Description = en + "."
		return
	}
	d.Description = en + ". " + d.Description
}

// methodDoc describes a listed (or compound) method for the documents.
func methodDoc(m bridge.MethodInfo, compound bool) openapi.Method {
	d := openapi.Method{
		Name: m.MethodName, Description: m.MethodDescription, Scope: m.MethodScope,
		MinEvent: m.MinEvent(), MinPeriod: m.MinPeriod(), Parameters: []openapi.Param{}, Compound: compound,
	}
	for _, p := range m.Parameters {
		d.Parameters = append(d.Parameters, openapi.Param{
			Name: p.ParameterName, Type: p.ParameterType, JSONType: string(p.Kind()),
			Range: p.ParameterValidRange, Pattern: p.ParameterValidRegExp,
		})
	}
	return d
}
