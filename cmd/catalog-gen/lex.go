package main

import (
	"strings"
	"unicode"
)

// token is one Java token: an identifier or keyword, a literal, or one
// punctuation character.
type token struct {
	kind byte   // 'i' identifier, 's' string, 'n' number, 'c' char literal, 'p' punctuation
	text string // for strings: the value, unquoted
}

// lex splits Java source into tokens, dropping comments and whitespace.
// It knows what annotations need: identifiers, string and number
// literals, and punctuation; text blocks and unicode escapes outside
// strings are not.
func lex(src string) []token {
	var out []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case c == '"':
			var b strings.Builder
			i++
			for i < len(src) && src[i] != '"' {
				if src[i] == '\\' && i+1 < len(src) {
					i++
					switch src[i] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(src[i])
					}
				} else {
					b.WriteByte(src[i])
				}
				i++
			}
			i++
			out = append(out, token{kind: 's', text: b.String()})
		case c == '\'':
			j := i + 1
			for j < len(src) && src[j] != '\'' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, token{kind: 'c', text: src[i : j+1]})
			i = j + 1
		case c == '_' || c == '$' || c >= 0x80 || unicode.IsLetter(rune(c)):
			j := i
			for j < len(src) && (src[j] == '_' || src[j] == '$' || src[j] >= 0x80 || unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j]))) {
				j++
			}
			out = append(out, token{kind: 'i', text: src[i:j]})
			i = j
		case unicode.IsDigit(rune(c)):
			j := i
			for j < len(src) && (unicode.IsDigit(rune(src[j])) || src[j] == '.' || src[j] == 'x' || src[j] == 'X' ||
				src[j] == 'L' || src[j] == 'l' || src[j] == 'e' || src[j] == 'E' || src[j] == 'f' || src[j] == 'd' || src[j] == '_' ||
				(src[j] >= 'a' && src[j] <= 'f') || (src[j] >= 'A' && src[j] <= 'F')) {
				j++
			}
			out = append(out, token{kind: 'n', text: src[i:j]})
			i = j
		case unicode.IsSpace(rune(c)):
			i++
		default:
			out = append(out, token{kind: 'p', text: string(c)})
			i++
		}
	}
	return out
}
