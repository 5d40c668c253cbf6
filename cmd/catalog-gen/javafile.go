package main

import (
	"strings"
)

// javaFile is what the generator reads of one Java source file.
type javaFile struct {
	path    string
	pkg     string
	imports map[string]string // simple name → qualified name
	// wildcards are the packages imported whole (import a.b.*).
	// staticImports are qualified names of members, or of classes whose
	// members are all imported (".*" dropped, all set).
	wildcards     []string
	staticImports []staticImport
	classes       []*javaClass
}

type staticImport struct {
	name string
	all  bool
}

// javaClass is a class, interface or enum, nested ones included.
type javaClass struct {
	file        *javaFile
	name        string // simple
	qualified   string // package.Outer.Inner
	outer       *javaClass
	super       string // the class it extends, as written
	annotations []*annotation
	consts      map[string]value // String constants (static final, or of an interface)
	fields      []javaField      // instance fields, in order (DTOs)
	enum        map[string][]value
	commands    [][]*annotation // the annotations of each method with @CmdAnnotation
}

type javaField struct {
	name, typ string
}

var modifiers = map[string]bool{"public": true, "private": true, "protected": true, "static": true, "final": true,
	"transient": true, "volatile": true, "abstract": true, "synchronized": true, "native": true, "default": true, "strictfp": true}

// scanFile reads a file's package, imports, classes, constants, fields and
// the annotations of its command methods.
func scanFile(path, src string) *javaFile {
	f := &javaFile{path: path, imports: map[string]string{}}
	p := &parser{toks: lex(src)}
	type frame struct {
		class *javaClass
		isIfc bool
	}
	var stack []frame // one per class body
	var pending []*annotation
	var member []token // tokens of the member being read
	for p.pos < len(p.toks) {
		t := p.peek(0)
		switch {
		case t.kind == 'i' && t.text == "package" && len(stack) == 0:
			p.next()
			f.pkg = p.dotted()
		case t.kind == 'i' && t.text == "import" && len(stack) == 0:
			p.next()
			static := false
			if p.is('i', "static") {
				p.next()
				static = true
			}
			name := p.dotted()
			all := false
			if p.is('p', ".") && p.peek(1).text == "*" {
				p.next()
				p.next()
				all = true
			}
			if static {
				f.staticImports = append(f.staticImports, staticImport{name: name, all: all})
			} else if all {
				f.wildcards = append(f.wildcards, name)
			} else {
				f.imports[name[strings.LastIndexByte(name, '.')+1:]] = name
			}
		case t.kind == 'p' && t.text == "@" && p.peek(1).kind == 'i' && p.peek(1).text != "interface":
			pending = append(pending, p.annotation())
			continue
		case t.kind == 'i' && (t.text == "class" || t.text == "interface" || t.text == "enum") && p.peek(1).kind == 'i':
			kind := t.text
			p.next()
			c := &javaClass{file: f, name: p.next().text, annotations: pending, consts: map[string]value{}}
			pending, member = nil, nil
			if len(stack) > 0 {
				c.outer = stack[len(stack)-1].class
				c.qualified = c.outer.qualified + "." + c.name
			} else {
				c.qualified = f.pkg + "." + c.name
			}
			f.classes = append(f.classes, c)
			for p.pos < len(p.toks) && !p.is('p', "{") {
				if p.is('i', "extends") && kind == "class" {
					p.next()
					c.super = p.dotted()
					continue
				}
				p.next()
			}
			p.next()
			stack = append(stack, frame{class: c, isIfc: kind == "interface"})
			if kind == "enum" {
				c.enum = p.enumEntries()
			}
		case t.kind == 'p' && t.text == "}":
			p.next()
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			pending, member = nil, nil
		case len(stack) == 0:
			p.next()
		case t.kind == 'p' && (t.text == ";" || t.text == "=" || t.text == "{"):
			top := stack[len(stack)-1]
			p.next()
			isMethod := containsPunct(member, "(")
			switch {
			case t.text == "{" && isMethod:
				if hasAnnotation(pending, "CmdAnnotation") {
					top.class.commands = append(top.class.commands, pending)
				}
				p.skipBlock()
			case t.text == "{":
				p.skipBlock() // an initializer
			case !isMethod:
				typ, name := splitDecl(member)
				static := top.isIfc || containsIdent(member, "static")
				if name != "" && t.text == "=" && static && (typ == "String") {
					top.class.consts[name] = p.value()
				}
				if name != "" && !static {
					top.class.fields = append(top.class.fields, javaField{name: name, typ: typ})
				}
				if t.text == "=" {
					p.skipTo(";")
				}
			}
			pending, member = nil, nil
		default:
			member = append(member, p.next())
		}
	}
	return f
}

// enumEntries reads an enum's constants and their arguments, up to the ';'
// or '}' that ends them; the position is after the enum's '{'.
func (p *parser) enumEntries() map[string][]value {
	out := map[string][]value{}
	for p.pos < len(p.toks) {
		for p.is('p', "@") {
			p.annotation()
		}
		if p.peek(0).kind != 'i' {
			break
		}
		name := p.next().text
		var args []value
		if p.is('p', "(") {
			p.next()
			for p.pos < len(p.toks) && !p.is('p', ")") {
				args = append(args, p.value())
				if p.is('p', ",") {
					p.next()
				}
			}
			p.next()
		}
		if p.is('p', "{") {
			p.next()
			p.skipBlock()
		}
		out[name] = args
		if !p.is('p', ",") {
			break
		}
		p.next()
	}
	if p.is('p', ";") {
		p.next()
	}
	return out
}

// skipBlock skips to the '}' that closes the block just opened.
func (p *parser) skipBlock() {
	for depth := 1; p.pos < len(p.toks) && depth > 0; {
		switch t := p.next(); {
		case t.kind == 'p' && t.text == "{":
			depth++
		case t.kind == 'p' && t.text == "}":
			depth--
		}
	}
}

// skipTo skips past the next text at the current nesting.
func (p *parser) skipTo(text string) {
	depth := 0
	for p.pos < len(p.toks) {
		t := p.next()
		switch {
		case t.kind == 'p' && (t.text == "(" || t.text == "{" || t.text == "["):
			depth++
		case t.kind == 'p' && (t.text == ")" || t.text == "}" || t.text == "]"):
			depth--
		case depth == 0 && t.kind == 'p' && t.text == text:
			return
		}
	}
}

// splitDecl splits a field declaration's tokens into its type and name.
func splitDecl(toks []token) (typ, name string) {
	var rest []token
	for _, t := range toks {
		if !(t.kind == 'i' && modifiers[t.text]) {
			rest = append(rest, t)
		}
	}
	if len(rest) < 2 || rest[len(rest)-1].kind != 'i' {
		return "", ""
	}
	var b strings.Builder
	for _, t := range rest[:len(rest)-1] {
		b.WriteString(t.text)
	}
	return b.String(), rest[len(rest)-1].text
}

func containsPunct(toks []token, text string) bool {
	for _, t := range toks {
		if t.kind == 'p' && t.text == text {
			return true
		}
	}
	return false
}

func containsIdent(toks []token, text string) bool {
	for _, t := range toks {
		if t.kind == 'i' && t.text == text {
			return true
		}
	}
	return false
}

func hasAnnotation(as []*annotation, name string) bool { return findAnnotation(as, name) != nil }

func findAnnotation(as []*annotation, name string) *annotation {
	for _, a := range as {
		if a.name == name {
			return a
		}
	}
	return nil
}
