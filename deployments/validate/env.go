package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// gatewayEnv returns the environment variables the gateway reads: the string
// constants of the Go file at path whose value starts with GATEWAY_ (they are
// declared in cmd/gateway/config.go). The deployment files may set no other.
func gatewayEnv(path string) (map[string]bool, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("gateway environment: %w", err)
	}
	env := map[string]bool{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			for _, v := range spec.(*ast.ValueSpec).Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && strings.HasPrefix(s, "GATEWAY_") {
					env[s] = true
				}
			}
		}
	}
	// A handful would mean the constants moved: better fail than accept any name.
	if len(env) < 5 {
		return nil, fmt.Errorf("gateway environment: %s declares %d GATEWAY_* constants: is it the gateway's config file?", path, len(env))
	}
	return env, nil
}
