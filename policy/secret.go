package policy

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/nuls-gateway/nuls-gateway/catalog"
)

// secretParts are what the name of a secret contains, lowercase: a wallet
// or packing password (password, signPassword, newPassword), a private key
// (priKey, encryptedPrikeyHex, privateKey), a keystore, a mnemonic. The
// random seeds of the consensus module (seed) are public values of past
// blocks, not secrets.
var secretParts = [][]byte{[]byte("password"), []byte("passwd"), []byte("prikey"), []byte("privkey"), []byte("privatekey"),
	[]byte("private_key"), []byte("keystore"), []byte("mnemonic"), []byte("secretkey")}

// SecretName reports whether a parameter or answer field called name holds
// a secret.
func SecretName(name string) bool {
	var buf [maxName]byte
	if len(name) > maxName {
		return true // no NULS field is that long: refuse it
	}
	n := copy(buf[:], name)
	return secretLower(buf[:n])
}

// maxName is the longest field name read as one; longer ones are refused.
const maxName = 256

// secretLower reports whether name, which it lowers in place, holds a
// secret.
func secretLower(name []byte) bool {
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			name[i] = c + 'a' - 'A'
		}
	}
	if string(name) == "pwd" {
		return true
	}
	for _, part := range secretParts {
		if bytes.Contains(name, part) {
			return true
		}
	}
	return false
}

// secretFields returns the paths of the answer fields of t that are
// secrets (catalog's answer types), such as list[].encryptedPrikeyHex.
func secretFields(t *catalog.Type, path string, out []string) []string {
	if t == nil {
		return out
	}
	for name, f := range t.Fields {
		p := name
		if path != "" {
			p = path + "." + name
		}
		if SecretName(name) {
			out = append(out, p)
		}
		out = secretFields(f, p, out)
	}
	if t.Items != nil {
		out = secretFields(t.Items, path+"[]", out)
	}
	return out
}

// ErrSecretAnswer refuses an answer that carries a secret (SecretField) to
// whoever may not read secrets: the gateway's callers without the admin
// scope, and every stream.
var ErrSecretAnswer = errors.New("the answer carries a secret, which only the admin scope may read")

// SecretField returns the name of an object member of the JSON text b that
// holds a secret (SecretName), and whether there is one: the last line on
// the way out, for callers who may not read secrets. It reads object keys
// only, at any depth, in one pass and without allocating for the usual
// answer; values (a transaction's remark saying "password") are skipped.
// Text that is not JSON is read as far as it goes.
func SecretField(b []byte) (string, bool) {
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		start := i + 1
		escaped := false
		j := start
		for ; j < len(b); j++ {
			c := b[j]
			if c == '\\' {
				escaped = true
				j++
				continue
			}
			if c == '"' {
				break
			}
		}
		if j >= len(b) {
			return "", false
		}
		i = j
		// A key is a string followed by a colon.
		k := j + 1
		for k < len(b) && (b[k] == ' ' || b[k] == '\t' || b[k] == '\n' || b[k] == '\r') {
			k++
		}
		if k >= len(b) || b[k] != ':' {
			continue
		}
		if escaped {
			var key string
			if json.Unmarshal(b[start-1:j+1], &key) != nil {
				return string(b[start:j]), true // a key that does not decode: refuse rather than guess
			}
			if SecretName(key) {
				return key, true
			}
			continue
		}
		if j-start > maxName {
			return string(b[start:j]), true
		}
		var buf [maxName]byte
		if n := copy(buf[:], b[start:j]); secretLower(buf[:n]) {
			return string(b[start:j]), true
		}
	}
	return "", false
}
