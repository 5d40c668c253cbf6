package main

import (
	"os"
	"path/filepath"
	"strings"
)

// callers are the methods through which Java code calls a module command;
// the command is their second argument.
var callers = map[string]bool{"callRpc": true, "request": true, "requestAndResponse": true, "requestOnly": true}

// calledCommands returns the commands that the Java files under dir (below
// root) call, and those they raise events of (ConnectManager.eventTrigger,
// whose first argument is the command).
func calledCommands(ix *index, root string, files []*javaFile, dir string) (called, events map[string]bool) {
	called, events = map[string]bool{}, map[string]bool{}
	for _, f := range files {
		if !strings.HasPrefix(f.path, dir) || len(f.classes) == 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.path)))
		if err != nil {
			continue
		}
		p := &parser{toks: lex(string(b))}
		ctx := f.classes[0]
		for p.pos < len(p.toks) {
			t := p.next()
			if t.kind != 'i' || !p.is('p', "(") || !(callers[t.text] || t.text == "eventTrigger") {
				continue
			}
			p.next() // (
			first := p.value()
			if t.text == "eventTrigger" {
				if s, err := ix.str(ctx, first); err == nil {
					events[s] = true
				}
				continue
			}
			if !p.is('p', ",") {
				continue
			}
			p.next()
			if s, err := ix.str(ctx, p.value()); err == nil && s != "" {
				called[s] = true
			}
		}
	}
	return called, events
}
