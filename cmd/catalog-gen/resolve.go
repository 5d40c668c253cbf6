package main

import (
	"fmt"
	"strings"
)

// index is every class read, to resolve names across files.
type index struct {
	byQualified map[string]*javaClass
	bySimple    map[string][]*javaClass
}

func newIndex(files []*javaFile) *index {
	ix := &index{byQualified: map[string]*javaClass{}, bySimple: map[string][]*javaClass{}}
	for _, f := range files {
		for _, c := range f.classes {
			ix.byQualified[c.qualified] = c
			ix.bySimple[c.name] = append(ix.bySimple[c.name], c)
		}
	}
	return ix
}

// class finds the class a name means in the context of from: a nested
// class of it or of its outer classes, an import, the same package, or the
// only class of that name.
func (ix *index) class(from *javaClass, name string) *javaClass {
	first, rest, _ := strings.Cut(name, ".")
	var c *javaClass
	for o := from; o != nil && c == nil; o = o.outer {
		if o.name == first {
			c = o
		} else {
			c = ix.byQualified[o.qualified+"."+first]
		}
	}
	f := from.file
	if c == nil {
		if q, ok := f.imports[first]; ok {
			c = ix.byQualified[q]
		}
	}
	if c == nil {
		c = ix.byQualified[f.pkg+"."+first]
	}
	for _, pkg := range f.wildcards {
		if c == nil {
			c = ix.byQualified[pkg+"."+first]
		}
	}
	if c == nil {
		c = ix.byQualified[name] // already qualified
		if c != nil {
			return c
		}
	}
	if c == nil {
		if cs := ix.bySimple[first]; len(cs) == 1 {
			c = cs[0]
		}
	}
	for _, part := range strings.Split(rest, ".") {
		if c == nil || part == "" {
			break
		}
		c = ix.byQualified[c.qualified+"."+part]
	}
	return c
}

// constant resolves a String constant named as in from: NAME (of the class
// or its outer ones, or a static import) or Class.NAME.
func (ix *index) constant(from *javaClass, name string) (string, error) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		c := ix.class(from, name[:i])
		if c == nil {
			return "", fmt.Errorf("no class %s", name[:i])
		}
		return ix.constantIn(c, name[i+1:])
	}
	for o := from; o != nil; o = o.outer {
		if _, ok := o.consts[name]; ok {
			return ix.constantIn(o, name)
		}
	}
	for _, si := range from.file.staticImports {
		cls, member := si.name, name
		if !si.all {
			i := strings.LastIndexByte(si.name, '.')
			if si.name[i+1:] != name {
				continue
			}
			cls = si.name[:i]
		}
		if c := ix.byQualified[cls]; c != nil {
			if _, ok := c.consts[member]; ok {
				return ix.constantIn(c, member)
			}
		}
	}
	return "", fmt.Errorf("no constant %s", name)
}

func (ix *index) constantIn(c *javaClass, name string) (string, error) {
	v, ok := c.consts[name]
	if !ok {
		// Interfaces' constants are inherited by their implementers: not
		// followed here.
		return "", fmt.Errorf("no constant %s.%s", c.name, name)
	}
	return ix.str(c, v)
}

// str is the string value of v in the context of from.
func (ix *index) str(from *javaClass, v value) (string, error) {
	switch {
	case v.str != nil:
		return *v.str, nil
	case v.name != "":
		return ix.constant(from, v.name)
	case v.parts != nil:
		var b strings.Builder
		for _, p := range v.parts {
			s, err := ix.str(from, p)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("not a string")
}
