package main

import (
	"strings"

	"github.com/nuls-gateway/nuls-gateway/catalog"
)

// maxTypeDepth bounds the nesting of result types (DTOs refer to DTOs).
const maxTypeDepth = 4

// javaKinds are the JSON kinds of the Java types a NULS module returns.
var javaKinds = map[string]string{
	"int": "integer", "Integer": "integer", "long": "integer", "Long": "integer", "short": "integer", "Short": "integer",
	"byte": "integer", "Byte": "integer", "BigInteger": "integer",
	"double": "number", "Double": "number", "float": "number", "Float": "number", "BigDecimal": "number",
	"boolean": "boolean", "Boolean": "boolean",
	"String": "string", "char": "string", "Character": "string",
	"List": "array", "ArrayList": "array", "LinkedList": "array", "Set": "array", "HashSet": "array", "Collection": "array",
	"Map": "object", "HashMap": "object", "LinkedHashMap": "object", "TreeMap": "object", "JSONObject": "object",
	"Object": "", "Void": "", "void": "",
}

// typeOf is the type a @TypeDescriptor describes.
func (ix *index) typeOf(c *javaClass, td *annotation, depth int) *catalog.Type {
	java := className(td.elems["value"].name)
	if java == "" {
		java = "Void"
	}
	t := ix.javaType(c, java, depth)
	if keys := td.elems["mapKeys"].array; len(keys) > 0 {
		t.Kind, t.Fields = "object", map[string]*catalog.Type{}
		for _, k := range keys {
			if k.ann == nil {
				continue
			}
			name, err := ix.str(c, k.ann.elems["name"])
			if err != nil || name == "" {
				continue
			}
			vt := className(k.ann.elems["valueType"].name)
			if vt == "" {
				vt = "String" // @Key's default
			}
			ft := ix.javaType(c, vt, depth+1)
			if el := className(k.ann.elems["valueElement"].name); el != "" && el != "Void" && ft.Kind == "array" {
				ft.Items = ix.javaType(c, el, depth+2)
			}
			t.Fields[name] = ft
		}
	}
	if el := className(td.elems["collectionElement"].name); el != "" && el != "Void" && t.Kind == "array" {
		t.Items = ix.javaType(c, el, depth+1)
	}
	return t
}

// javaType is the type of a Java type name: a known one, an array, or a
// class whose fields become the object's (a DTO).
func (ix *index) javaType(c *javaClass, java string, depth int) *catalog.Type {
	java = strings.TrimSpace(java)
	if base, _, ok := strings.Cut(java, "<"); ok {
		java = base
	}
	if strings.HasSuffix(java, "[]") {
		elem := strings.TrimSuffix(java, "[]")
		if elem == "byte" {
			return &catalog.Type{Kind: "string", Java: java} // bytes travel as hex
		}
		return &catalog.Type{Kind: "array", Java: java, Items: ix.javaType(c, elem, depth+1)}
	}
	if k, ok := javaKinds[java]; ok {
		return &catalog.Type{Kind: k, Java: java}
	}
	t := &catalog.Type{Kind: "object", Java: java}
	if depth >= maxTypeDepth {
		return t
	}
	fields := ix.fieldsOf(c, java)
	if len(fields) == 0 {
		return t
	}
	t.Fields = map[string]*catalog.Type{}
	for _, f := range fields {
		t.Fields[f.name] = ix.javaType(f.in, fieldType(f.typ), depth+1)
		if t.Fields[f.name].Kind == "array" {
			if _, el, ok := strings.Cut(f.typ, "<"); ok {
				t.Fields[f.name].Items = ix.javaType(f.in, strings.TrimSuffix(el, ">"), depth+2)
			}
		}
	}
	return t
}

// classField is a field and the class that declares it.
type classField struct {
	javaField
	in *javaClass
}

// fieldsOf returns the instance fields of the class called name, those it
// inherits first.
func (ix *index) fieldsOf(from *javaClass, name string) []classField {
	var out []classField
	seen := map[*javaClass]bool{}
	var chain []*javaClass
	for c := ix.class(from, name); c != nil && !seen[c]; c = ix.class(c, c.super) {
		seen[c] = true
		chain = append(chain, c)
		if c.super == "" {
			break
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, f := range chain[i].fields {
			out = append(out, classField{f, chain[i]})
		}
	}
	return out
}

// fieldType drops the annotations a field's type may carry.
func fieldType(typ string) string {
	if i := strings.LastIndexByte(typ, ')'); i >= 0 {
		typ = typ[i+1:]
	}
	return typ
}
