package policy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
)

// exposure.json is the reviewed list of what the gateway exposes of the NULS
// 2 catalog's commands (see the package doc).
//
//go:embed exposure.json
var exposureJSON []byte

// Exposure is the reviewed data of exposure.json.
type Exposure struct {
	// CatalogCommit is the nuls-v2 commit of the catalog reviewed.
	CatalogCommit string `json:"catalogCommit"`
	// Public are the commands open to callers with the public scope, in
	// groups that share a reason.
	Public []Group `json:"public"`
	// Private are the commands of the catalog that stay private, with the
	// reason, so that every command is seen to be reviewed.
	Private []Group `json:"private"`
	// SecretAnswers are commands whose answers carry a secret that the
	// catalog's answer fields do not show, with how.
	SecretAnswers map[string]string `json:"secretAnswers"`
	// Streams are the public reads cheap enough for the gateway to call
	// again and again: period subscriptions, and event subscriptions it
	// emulates by polling.
	Streams []string `json:"streams"`
	// Bounds are the limits of parameters that ask for a range or a count
	// of things, by command.
	Bounds map[string][]Bound `json:"bounds"`
}

// Group is commands that share a reason.
type Group struct {
	Why string `json:"why"`
	// Writes is set for a public group whose commands change the chain's
	// state (a signed transaction submitted): a gateway in front of
	// several nodes sends them to one node only.
	Writes   bool     `json:"writes,omitempty"`
	Commands []string `json:"commands"`
}

// Bound limits what one call may ask for. Exactly one of Param, Span and
// Items is set.
type Bound struct {
	// Param is a number parameter (a count, a page size): at most Max.
	Param string `json:"param,omitempty"`
	// Span names two height parameters, from and to: to >= from, and at
	// most Max heights from one to the other, both included.
	Span []string `json:"span,omitempty"`
	// Items is a list parameter (a JSON array, or a comma-separated
	// string): at most Max items.
	Items string `json:"items,omitempty"`
	// Max is the limit.
	Max int64 `json:"max"`
}

// ReviewedExposure returns the data of exposure.json.
func ReviewedExposure() *Exposure {
	e, err := parseExposure(exposureJSON)
	if err != nil {
		panic("policy: exposure.json: " + err.Error()) // embedded, tested
	}
	return e
}

func parseExposure(b []byte) (*Exposure, error) {
	var e Exposure
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	for name, bs := range e.Bounds {
		for _, b := range bs {
			set := 0
			if b.Param != "" {
				set++
			}
			if b.Items != "" {
				set++
			}
			if len(b.Span) > 0 {
				set++
				if len(b.Span) != 2 {
					return nil, fmt.Errorf("bound of %s: a span names two parameters", name)
				}
			}
			if set != 1 || b.Max <= 0 {
				return nil, fmt.Errorf("bound of %s: one of param, span and items, and a positive max", name)
			}
		}
	}
	return &e, nil
}

// publicSet is the names of the public groups.
func (e *Exposure) publicSet() map[string]bool {
	m := map[string]bool{}
	for _, g := range e.Public {
		for _, c := range g.Commands {
			m[c] = true
		}
	}
	return m
}

// readSet is the public commands that only read.
func (e *Exposure) readSet() map[string]bool {
	m := map[string]bool{}
	for _, g := range e.Public {
		for _, c := range g.Commands {
			m[c] = !g.Writes
		}
	}
	return m
}

// reviewed reports whether name is in a group, public or private.
func (e *Exposure) reviewed(name string) bool {
	for _, gs := range [][]Group{e.Public, e.Private} {
		for _, g := range gs {
			for _, c := range g.Commands {
				if c == name {
					return true
				}
			}
		}
	}
	return false
}
