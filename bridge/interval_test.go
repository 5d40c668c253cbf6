package bridge

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseInterval(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	tests := []struct {
		name  string
		in    string
		want  Interval
		ok    bool
		isErr bool
	}{
		{name: "empty means none", in: "", ok: false},
		{name: "blank means none", in: "  ", ok: false},
		{name: "java default 0 means none", in: "0", ok: false},
		{name: "doc example", in: "[1000, )", ok: true, want: Interval{Min: 1000, Max: inf, MinInclusive: true}},
		{name: "exclusive lower, inclusive upper", in: "(1,100]", ok: true, want: Interval{Min: 1, Max: 100, MaxInclusive: true}},
		{name: "both inclusive", in: "[0,65535]", ok: true, want: Interval{Min: 0, Max: 65535, MinInclusive: true, MaxInclusive: true}},
		{name: "both exclusive", in: "(0,10)", ok: true, want: Interval{Min: 0, Max: 10}},
		{name: "dash form", in: "[1-65535]", ok: true, want: Interval{Min: 1, Max: 65535, MinInclusive: true, MaxInclusive: true}},
		{name: "dash form with spaces", in: " [ 3 - 65535 ] ", ok: true, want: Interval{Min: 3, Max: 65535, MinInclusive: true, MaxInclusive: true}},
		{name: "dash form, negative bounds", in: "[-10--5]", ok: true, want: Interval{Min: -10, Max: -5, MinInclusive: true, MaxInclusive: true}},
		{name: "dash form, signed lower", in: "(+2-8)", ok: true, want: Interval{Min: 2, Max: 8}},
		{name: "negatives", in: "[-128,127]", ok: true, want: Interval{Min: -128, Max: 127, MinInclusive: true, MaxInclusive: true}},
		{name: "negative fractions", in: "(-1.5, -0.5]", ok: true, want: Interval{Min: -1.5, Max: -0.5, MaxInclusive: true}},
		{name: "unbounded lower", in: "(, 0)", ok: true, want: Interval{Min: -inf, Max: 0}},
		{name: "unbounded both", in: "[,]", ok: true, want: Interval{Min: -inf, Max: inf, MinInclusive: true, MaxInclusive: true}},
		{name: "single point", in: "[7,7]", ok: true, want: Interval{Min: 7, Max: 7, MinInclusive: true, MaxInclusive: true}},
		{name: "exponent", in: "[1e3, 2E3]", ok: true, want: Interval{Min: 1000, Max: 2000, MinInclusive: true, MaxInclusive: true}},
		{name: "no brackets", in: "1,2", isErr: true},
		{name: "no closing bracket", in: "[1,2", isErr: true},
		{name: "no opening bracket", in: "1,2]", isErr: true},
		{name: "braces", in: "{1,2}", isErr: true},
		{name: "one bracket", in: "[", isErr: true},
		{name: "no separator", in: "[12]", isErr: true},
		{name: "lone dash", in: "[-]", isErr: true},
		{name: "bad lower", in: "[a,2]", isErr: true},
		{name: "bad upper", in: "[1,b]", isErr: true},
		{name: "three bounds", in: "[1,2,3]", isErr: true},
		{name: "lower above upper", in: "[5,1]", isErr: true},
		{name: "dash form, lower above upper", in: "[9-1]", isErr: true},
		{name: "text", in: "abc", isErr: true},
		{name: "number other than 0", in: "5", isErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok, err := ParseInterval(tt.in)
			if tt.isErr {
				if err == nil {
					t.Fatalf("ParseInterval(%q) = %+v, %v; want an error", tt.in, got, ok)
				}
				if ok {
					t.Error("ok is true with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseInterval(%q): %v", tt.in, err)
			}
			if ok != tt.ok {
				t.Fatalf("ParseInterval(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); ok && diff != "" {
				t.Errorf("ParseInterval(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestIntervalContains(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in  string
		x   float64
		out bool
	}{
		{"[1000, )", 999.999, false},
		{"[1000, )", 1000, true},
		{"[1000, )", 1e300, true},
		{"(1000, )", 1000, false},
		{"(1000, )", 1000.0001, true},
		{"(1,100]", 1, false},
		{"(1,100]", 2, true},
		{"(1,100]", 100, true},
		{"(1,100]", 100.5, false},
		{"[0,10)", 0, true},
		{"[0,10)", 10, false},
		{"[0,10)", -0.1, false},
		{"(, 0)", -1e300, true},
		{"(, 0)", 0, false},
		{"(, 0]", 0, true},
		{"[,]", math.MaxFloat64, true},
		{"[,]", -math.MaxFloat64, true},
		{"(,)", 0, true},
		{"[1-65535]", 0, false},
		{"[1-65535]", 1, true},
		{"[1-65535]", 65535, true},
		{"[1-65535]", 65536, false},
		{"[-128,127]", -128, true},
		{"[-128,127]", -129, false},
		{"[-10--5]", -7, true},
		{"[-10--5]", -4, false},
		{"(7,7]", 7, false},
		{"[7,7]", 7, true},
	}
	for _, tt := range tests {
		iv, ok, err := ParseInterval(tt.in)
		if err != nil || !ok {
			t.Fatalf("ParseInterval(%q) = %v, %v", tt.in, ok, err)
		}
		if got := iv.Contains(tt.x); got != tt.out {
			t.Errorf("%s.Contains(%v) = %v, want %v", tt.in, tt.x, got, tt.out)
		}
	}
}

// TestParameterKind maps the Java type names of a live node's ListAPI (the
// vector file) and the ones the Method documentation names.
func TestParameterKind(t *testing.T) {
	t.Parallel()
	tests := map[string]JSONKind{
		"int": KindInteger, "Integer": KindInteger, "long": KindInteger, "Long": KindInteger,
		"short": KindInteger, "byte": KindInteger, "BigInteger": KindInteger, "java.math.BigInteger": KindInteger,
		"double": KindNumber, "float": KindNumber, "BigDecimal": KindNumber, "Double": KindNumber,
		"boolean": KindBoolean, "Boolean": KindBoolean,
		"bool":   KindBoolean, // Nulstar's C++ declarations
		"String": KindString, "java.lang.String": KindString, "char": KindString,
		// Qt's string type, in the declarations of Nulstar's own methods
		// (startmodule, stopmodule in the ListAPI vector).
		"QString": KindString,
		"List":    KindArray, "List<String>": KindArray, "List<AssetInfo>": KindArray, "list": KindArray,
		"Object[]": KindArray, "String[]": KindArray, "Set<String>": KindArray,
		"Map": KindObject, "Map<String,Object>": KindObject,
		"": KindAny, "Object": KindAny, "AssetInfo": KindAny,
	}
	for in, want := range tests {
		if got := ParameterKind(in); got != want {
			t.Errorf("ParameterKind(%q) = %q, want %q", in, got, want)
		}
	}
	// Every type name of the live node's ListAPI is mapped to a kind that
	// can be checked: none falls through to "not checked".
	b, err := os.ReadFile(filepath.Join("testdata", "vectors", "listapi_live_node_2020-01.json"))
	if err != nil {
		t.Fatal(err)
	}
	var api map[string]struct {
		Parameters []struct{ ParameterType string }
	}
	if err := json.Unmarshal(b, &api); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range api {
		for _, p := range m.Parameters {
			seen[p.ParameterType] = true
		}
	}
	var unmapped []string
	for typ := range seen {
		if _, listed := tests[typ]; !listed {
			t.Errorf("ListAPI type %q missing from this table", typ)
		}
		if ParameterKind(typ) == KindAny {
			unmapped = append(unmapped, typ)
		}
	}
	sort.Strings(unmapped)
	if len(unmapped) > 0 {
		t.Errorf("ListAPI types left unchecked: %q", unmapped)
	}
}

func TestJSONKindMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind JSONKind
		v    string
		want bool
	}{
		{KindInteger, `1`, true},
		{KindInteger, `-65535`, true},
		{KindInteger, `0`, true},
		{KindInteger, `1.0`, true},
		{KindInteger, `1e3`, true},
		{KindInteger, `123456789012345678901234567890`, true},
		{KindInteger, `1.5`, false},
		{KindInteger, `"123456789012345678901234567890"`, true}, // BigInteger amounts as strings of digits
		{KindInteger, `"-7"`, true},
		{KindInteger, `"12.5"`, false},
		{KindInteger, `"abc"`, false},
		{KindInteger, `""`, false},
		{KindInteger, `true`, false},
		{KindInteger, `null`, false},
		{KindInteger, `[1]`, false},
		{KindInteger, `{"v":1}`, false},
		{KindNumber, `1.5`, true},
		{KindNumber, `-2`, true},
		{KindNumber, `"1.5"`, true},
		{KindNumber, `"1e999"`, false},
		{KindNumber, `"abc"`, false},
		{KindNumber, `false`, false},
		{KindBoolean, `true`, true},
		{KindBoolean, `false`, true},
		{KindBoolean, `"true"`, false},
		{KindBoolean, `1`, false},
		{KindString, `"NULSd6Hgen9wbmV3eWreyWAuip5DWwzBkbczc"`, true},
		{KindString, `""`, true},
		{KindString, `1`, false},
		{KindString, `["a"]`, false},
		{KindArray, `[]`, true},
		{KindArray, `["a",1]`, true},
		{KindArray, `{}`, false},
		{KindArray, `"[]"`, false},
		{KindObject, `{}`, true},
		{KindObject, `{"a":[1]}`, true},
		{KindObject, `[]`, false},
		{KindObject, `"{}"`, false},
		{KindAny, `1`, true},
		{KindAny, `"x"`, true},
		{KindAny, `null`, true},
		{KindAny, `{}`, true},
	}
	for _, tt := range tests {
		if got := tt.kind.Matches(json.RawMessage(tt.v)); got != tt.want {
			t.Errorf("%q.Matches(%s) = %v, want %v", tt.kind, tt.v, got, tt.want)
		}
	}
	// The declared types of the ListAPI vector, end to end.
	for _, tt := range []struct {
		javaType, v string
		want        bool
	}{
		{"int", `1`, true}, {"int", `"x"`, false},
		{"long", `1562213039745`, true}, {"Long", `1.5`, false},
		{"BigInteger", `"100000000000000000000"`, true}, {"BigInteger", `100000000000000000000`, true},
		{"short", `3`, true}, {"byte", `-128`, true}, {"Integer", `true`, false},
		{"boolean", `true`, true}, {"boolean", `1`, false}, {"bool", `false`, true},
		{"String", `"a"`, true}, {"String", `1`, false},
		{"QString", `"ledger"`, true}, {"QString", `1`, false},
		{"List", `[1,2]`, true}, {"List<String>", `["a"]`, true}, {"List", `"a"`, false},
		{"Object[]", `[1,"a",{}]`, true}, {"Object[]", `{}`, false},
		{"Map", `{"a":1}`, true}, {"Map", `[]`, false},
	} {
		if got := ParameterKind(tt.javaType).Matches(json.RawMessage(tt.v)); got != tt.want {
			t.Errorf("a %s parameter given %s: Matches = %v, want %v", tt.javaType, tt.v, got, tt.want)
		}
	}
}
