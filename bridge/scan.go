package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// The decoder validates a frame once (json.Valid) and then walks it with the
// scanner of this file, which slices the members of an object out of the
// frame in document order: no maps, no token stream, no copies. The scanner
// still checks every bound, so a frame that is not valid JSON gives an error,
// never a panic.

var errScan = errors.New("malformed JSON")

// scanObject returns the members of the JSON object b, in order. Values are
// subslices of b.
func scanObject(b []byte) ([]member, error) {
	return appendMembers(make([]member, 0, 8), b)
}

// appendMembers appends the members of the JSON object b to dst, in order,
// and returns the extended slice.
func appendMembers(dst []member, b []byte) ([]member, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errScan
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return dst, nil
	}
	members := dst
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, errScan
		}
		end, err := skipString(b, i)
		if err != nil {
			return nil, err
		}
		key, err := unquote(b[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, errScan
		}
		i = skipSpace(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil {
			return nil, err
		}
		members = append(members, member{key: key, value: b[i:vend]})
		i = skipSpace(b, vend)
		if i >= len(b) {
			return nil, errScan
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return members, nil
		default:
			return nil, errScan
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string that starts at b[i].
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++ // the escaped character
		case '"':
			return j + 1, nil
		}
	}
	return 0, errScan
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errScan
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errScan
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			if j == i {
				return 0, errScan
			}
			return j, nil
		}
		j++
	}
	if j == i {
		return 0, errScan
	}
	return j, nil
}

// unquote returns the text of a JSON string literal (with its quotes).
func unquote(lit []byte) (string, error) {
	if len(lit) < 2 {
		return "", errScan
	}
	inner := lit[1 : len(lit)-1]
	if s, ok := internedStrings[string(inner)]; ok { // no allocation
		return s, nil
	}
	if bytes.IndexByte(inner, '\\') < 0 && validUTF8Plain(inner) {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return "", err
	}
	return s, nil
}

// internedStrings are the strings every frame repeats: the protocol's field
// names, the message types and the usual flag values. unquote returns these
// rather than allocating a copy for each occurrence; the map is never
// written after init.
var internedStrings = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"MessageID", "Timestamp", "TimeZone", "MessageType", "MessageData",
		"ProtocolVersion", "CompressionAlgorithm", "CompressionRate", "Abbreviation",
		"RequestID", "RequestId", "NegotiationStatus", "NegotiationComment",
		"RequestAck", "SubscriptionEventCounter", "SubscriptionPeriod", "SubscriptionRange",
		"ResponseMaxSize", "TimeOut", "RequestMethods", "UnsubscribeMethods",
		"ResponseProcessingTime", "ResponseStatus", "ResponseComment", "ResponseErrorCode", "ResponseData",
		"NotificationAck", "NotificationType", "NotificationComment", "NotificationData",
		"CompoundMethodName", "CompoundMethodDescription", "CompoundMethods", "UnregisterCompoundMethodName",
		"0", "1", "", "zlib",
		// The success comments of this package's modules and of Java's.
		"success", "Congratulations! Processing completed！",
	} {
		m[s] = s
	}
	for _, t := range []MessageType{
		TypeNegotiateConnection, TypeNegotiateConnectionResponse, TypeRequest, TypeRequestOnly,
		TypeUnsubscribe, TypeResponse, TypeAck, TypeNotification,
		TypeRegisterCompoundMethod, TypeUnregisterCompoundMethod,
	} {
		m[string(t)] = string(t)
	}
	return m
}()

// validUTF8Plain reports whether b, the inside of a JSON string literal
// with no escapes, is the string's content as it is: valid UTF-8 with no
// control characters (encoding/json would replace invalid bytes, and
// refuse controls).
func validUTF8Plain(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c < 0x20 {
			return false
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	return ascii || utf8.Valid(b)
}
