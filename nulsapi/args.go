package nulsapi

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// intArg reads an int parameter: a JSON integer, as nuls-api casts
// (int) params.get(i), or a string of digits.
func intArg(a map[string]json.RawMessage, name string) (int, error) {
	raw := bytes.TrimSpace(a[name])
	if len(raw) > 1 && raw[0] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil {
		return 0, &ParamError{Detail: "[" + name + "] is inValid"}
	}
	return v, nil
}

// stringArg reads a string parameter.
func stringArg(a map[string]json.RawMessage, name string) (string, error) {
	var s string
	if err := json.Unmarshal(a[name], &s); err != nil || s == "" {
		return "", &ParamError{Detail: "[" + name + "] is inValid"}
	}
	return s, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
