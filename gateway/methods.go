package gateway

import (
	"net/http"

	"github.com/nuls-gateway/nuls-gateway/auth"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// MethodDoc describes one callable method.
type MethodDoc struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Scope       string     `json:"scope"`
	MinEvent    int        `json:"minEvent"`
	MinPeriod   int        `json:"minPeriod"`
	Parameters  []ParamDoc `json:"parameters"`
	// Compound is set for the gateway's compound methods.
	Compound bool `json:"compound,omitempty"`
}

// ParamDoc describes one parameter.
type ParamDoc struct {
	Name string `json:"name"`
	// Type is the Java type the module declares, such as int or String.
	Type string `json:"type"`
	// JSONType is the JSON type its values have, empty when any.
	JSONType string `json:"jsonType,omitempty"`
	// Range bounds numeric values, such as [1-65535].
	Range string `json:"range,omitempty"`
	// Pattern is a regular expression the value must match.
	Pattern string `json:"pattern,omitempty"`
}

// MethodList is the answer of GET /methods.
type MethodList struct {
	// Discovered is false when the upstream cannot list its methods: any
	// name is then passed through.
	Discovered bool        `json:"discovered"`
	Methods    []MethodDoc `json:"methods"`
}

// listMethods lists the callable methods.
//
//	@Summary		List the callable methods
//	@Description	The upstream methods (discovered with ListAPI) in the scopes the gateway exposes, and the compound methods. Each has the scope a credential needs to call it. The module protocol's own commands are never listed, nor callable.
//	@Tags			methods
//	@Produce		json
//	@Success		200	{object}	MethodList
//	@Router			/methods [get]
func (s *Server) listMethods(w http.ResponseWriter, r *http.Request) {
	docs, known := s.methodDocs(r)
	writeJSON(w, http.StatusOK, MethodList{Discovered: known, Methods: docs})
}

func (s *Server) methodDocs(r *http.Request) ([]MethodDoc, bool) {
	list, known := s.catalog.list()
	docs := make([]MethodDoc, 0, len(list))
	for _, m := range list {
		if scope, ok := s.listedScope(m); ok {
			m.MethodScope = scope
			docs = append(docs, methodDoc(m, false))
		}
	}
	compounds, err := s.cfg.Compounds.List(r.Context())
	if err == nil {
		for _, c := range compounds {
			docs = append(docs, methodDoc(s.compoundInfo(c), true))
		}
	}
	return docs, known
}

// listedScope is the scope under which the method list shows m, and
// whether it shows m at all: not the protocol's commands, the kernel
// commands only when allowed, and a method of unknown scope only with the
// operator's UnlistedScope.
func (s *Server) listedScope(m bridge.MethodInfo) (string, bool) {
	bare := bareName(m.MethodName)
	switch {
	case protocolCommands[bare]:
		return "", false
	case kernelCommands[bare]:
		return auth.ScopeAdmin, s.cfg.AllowKernelCommands
	}
	scope := m.MethodScope
	if scope == "" {
		scope = s.cfg.UnlistedScope
	}
	return scope, scope != "" && s.exposed(scope)
}

func methodDoc(m bridge.MethodInfo, compound bool) MethodDoc {
	d := MethodDoc{
		Name: m.MethodName, Description: m.MethodDescription, Scope: m.MethodScope,
		MinEvent: m.MinEvent(), MinPeriod: m.MinPeriod(), Parameters: []ParamDoc{}, Compound: compound,
	}
	for _, p := range m.Parameters {
		d.Parameters = append(d.Parameters, ParamDoc{
			Name: p.ParameterName, Type: p.ParameterType, JSONType: string(p.Kind()),
			Range: p.ParameterValidRange, Pattern: p.ParameterValidRegExp,
		})
	}
	return d
}
