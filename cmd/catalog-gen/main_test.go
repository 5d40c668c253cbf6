package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

// TestGenerate reads the fixture tree (testdata/src, written for this test
// in the shape of nuls-v2's sources) and compares with testdata/golden.json.
func TestGenerate(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"--src", "testdata/src", "--commit", "fixture"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if strings.Contains(errOut.String(), "warning") {
		t.Errorf("warnings: %s", errOut.String())
	}
	if *update {
		if err := os.WriteFile("testdata/golden.json", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("output (-want +got), go test ./cmd/catalog-gen -update to accept:\n%s", diff)
	}
	if strings.Contains(out.String(), "not copied") {
		t.Error("a description of the sources was copied")
	}
}

func TestNoSource(t *testing.T) {
	if err := run(nil, io.Discard, io.Discard); err == nil {
		t.Error("no --src accepted")
	}
	if err := run([]string{"--src", t.TempDir()}, io.Discard, io.Discard); err == nil {
		t.Error("a tree without commands accepted")
	}
}

func TestLexAndValues(t *testing.T) {
	p := &parser{toks: lex(`@A(x = "a" + B.C + "d", y = {@K(name = "n"), @K(name = "m")}, z = -3, w = int.class) // "x"`)}
	a := p.annotation()
	if got := a.elems["x"].parts; len(got) != 3 || *got[0].str != "a" || got[1].name != "B.C" {
		t.Errorf("x = %+v", a.elems["x"])
	}
	if got := a.elems["y"].array; len(got) != 2 || got[1].ann.elems["name"].str == nil || *got[1].ann.elems["name"].str != "m" {
		t.Errorf("y = %+v", a.elems["y"])
	}
	if a.elems["z"].num != "-3" || a.elems["w"].name != "int.class" {
		t.Errorf("z, w = %+v %+v", a.elems["z"], a.elems["w"])
	}
}
