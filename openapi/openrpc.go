package openapi

import (
	"encoding/json"
	"sort"
	"strings"
)

// OpenRPCVersion is the OpenRPC specification the document follows.
const OpenRPCVersion = "1.3.2"

// OpenRPC returns the OpenRPC document of the gateway's JSON-RPC 2.0
// endpoint at serverURL (an absolute URL) and version: one method per NULS method, its
// params in declared order (by name or by position), typed and bounded as
// in the OpenAPI document, and its result typed when the catalog knows it.
func OpenRPC(version, serverURL string, methods []Method) ([]byte, error) {
	type contentDescriptor struct {
		Name        string         `json:"name"`
		Description string         `json:"description,omitempty"`
		Required    bool           `json:"required,omitempty"`
		Schema      map[string]any `json:"schema"`
	}
	type method struct {
		Name           string              `json:"name"`
		Summary        string              `json:"summary"`
		Description    string              `json:"description,omitempty"`
		Tags           []map[string]string `json:"tags,omitempty"`
		ParamStructure string              `json:"paramStructure"`
		Params         []contentDescriptor `json:"params"`
		Result         contentDescriptor   `json:"result"`
	}
	doc := struct {
		OpenRPC string `json:"openrpc"`
		Info    struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Version     string `json:"version"`
		} `json:"info"`
		Servers []map[string]string `json:"servers"`
		Methods []method            `json:"methods"`
	}{OpenRPC: OpenRPCVersion}
	doc.Info.Title = "NULS 2 gateway JSON-RPC"
	doc.Info.Description = "JSON-RPC 2.0 over the NULS module commands and the gateway's compound methods. " +
		"Errors: the specification's codes, and -32000 (the module failed; error.data has its responseStatus, responseErrorCode and responseComment), " +
		"-32001 (a credential is needed), -32003 (the credential may not call it), -32004 (upstream unavailable), -32005 (upstream timeout)."
	doc.Info.Version = version
	doc.Servers = []map[string]string{{"name": "this gateway", "url": serverURL}}
	doc.Methods = []method{}
	sort.Slice(methods, func(i, j int) bool { return methods[i].Name < methods[j].Name })
	for _, m := range methods {
		if !validName(m.Name) || strings.HasPrefix(m.Name, "rpc.") || m.StreamOnly {
			continue // a stream only is no method to call
		}
		out := method{Name: m.Name, Summary: m.Summary(), Description: m.Description, ParamStructure: "either",
			Params: []contentDescriptor{}}
		if m.Scope != "" {
			out.Description = strings.TrimSpace(out.Description + "\n\nScope: " + m.Scope + ".")
			out.Tags = []map[string]string{{"name": m.Scope}}
		}
		for _, p := range m.Parameters {
			s, err := jsonSchema(paramSchema(p))
			if err != nil {
				return nil, err
			}
			out.Params = append(out.Params, contentDescriptor{Name: p.Name, Required: p.Required, Schema: s})
		}
		rs, err := jsonSchema(topResultSchema(m.Result))
		if err != nil {
			return nil, err
		}
		out.Result = contentDescriptor{Name: "result", Description: "The method's result, as the module returned it", Schema: rs}
		doc.Methods = append(doc.Methods, out)
	}
	return json.Marshal(doc)
}

// jsonSchema renders an OpenAPI 3.0 schema as the JSON Schema (draft 7)
// OpenRPC uses: an exclusive bound is a number there, not a flag on the
// inclusive one.
func jsonSchema(s any) (map[string]any, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for flag, bound := range map[string]string{"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"} {
		if ex, ok := m[flag].(bool); ok {
			delete(m, flag)
			if ex {
				m[flag] = m[bound]
				delete(m, bound)
			}
		}
	}
	return m, nil
}
