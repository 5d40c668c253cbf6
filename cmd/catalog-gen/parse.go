package main

import (
	"strings"
)

// value is an annotation element value: a string, a number, a name (a
// constant, an enum value, or a class literal ending in ".class"), a
// nested annotation, or an array of values.
type value struct {
	str   *string // a string literal (concatenations joined)
	num   string
	name  string // dotted name, such as CmdConstant.CMD_X or int.class
	ann   *annotation
	array []value
	// parts are the pieces of a concatenation that are names, to resolve.
	parts []value
}

// annotation is @Name(element = value, ...); a single value is the element
// "value".
type annotation struct {
	name  string
	elems map[string]value
}

// parser reads annotations from a token stream.
type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek(off int) token {
	if p.pos+off < len(p.toks) {
		return p.toks[p.pos+off]
	}
	return token{}
}

func (p *parser) next() token {
	t := p.peek(0)
	p.pos++
	return t
}

func (p *parser) is(kind byte, text string) bool {
	t := p.peek(0)
	return t.kind == kind && t.text == text
}

// dotted reads Name(.Name)*.
func (p *parser) dotted() string {
	var parts []string
	for p.peek(0).kind == 'i' {
		parts = append(parts, p.next().text)
		if !p.is('p', ".") || p.peek(1).kind != 'i' {
			break
		}
		p.next()
	}
	return strings.Join(parts, ".")
}

// annotation reads one annotation; the position is at '@'.
func (p *parser) annotation() *annotation {
	p.next() // @
	a := &annotation{name: p.dotted(), elems: map[string]value{}}
	if i := strings.LastIndexByte(a.name, '.'); i >= 0 {
		a.name = a.name[i+1:]
	}
	if !p.is('p', "(") {
		return a
	}
	p.next()
	if p.is('p', ")") {
		p.next()
		return a
	}
	if p.peek(0).kind == 'i' && p.peek(1).kind == 'p' && p.peek(1).text == "=" {
		for {
			key := p.next().text
			p.next() // =
			a.elems[key] = p.value()
			if !p.is('p', ",") {
				break
			}
			p.next()
		}
	} else {
		a.elems["value"] = p.value()
	}
	for p.pos < len(p.toks) && !p.is('p', ")") {
		p.next() // what this parser does not know
	}
	p.next()
	return a
}

// value reads an element value.
func (p *parser) value() value {
	var v value
	switch t := p.peek(0); {
	case t.kind == 'p' && t.text == "@":
		v.ann = p.annotation()
	case t.kind == 'p' && t.text == "{":
		p.next()
		for !p.is('p', "}") && p.pos < len(p.toks) {
			v.array = append(v.array, p.value())
			if p.is('p', ",") {
				p.next()
			}
		}
		p.next()
	case t.kind == 's' || t.kind == 'i':
		// A string or a name, maybe concatenated with others.
		var parts []value
		for {
			var part value
			if p.peek(0).kind == 's' {
				s := p.next().text
				part.str = &s
			} else if p.peek(0).kind == 'i' {
				part.name = p.dotted()
				if p.is('p', ".") && p.peek(1).text == "class" {
					p.next()
					p.next()
					part.name += ".class"
				}
			} else {
				break
			}
			parts = append(parts, part)
			if !p.is('p', "+") {
				break
			}
			p.next()
		}
		if len(parts) == 1 {
			return parts[0]
		}
		v.parts = parts
	case t.kind == 'n':
		v.num = p.next().text
	case t.kind == 'p' && t.text == "-" && p.peek(1).kind == 'n':
		p.next()
		v.num = "-" + p.next().text
	default:
		p.next()
	}
	return v
}
