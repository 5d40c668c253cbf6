package sse

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

func TestAppendEvent(t *testing.T) {
	var b bytes.Buffer
	AppendEvent(&b, "1-2", "gap", []byte("a\nb"))
	if got, want := b.String(), "id: 1-2\nevent: gap\ndata: a\ndata: b\n\n"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w, err := Start(rec, 3*time.Second, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteBatch(subscriptions.Batch{Gap: true, Events: []subscriptions.Event{{ID: "5-1", Data: []byte(`{"value":1}`)}}}, "4-9")
	w.Comment("keep-alive")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	w.Release()
	body := rec.Body.String()
	for _, want := range []string{"retry: 3000\n\n", "event: gap\n", `"lastEventId":"4-9"`, "id: 5-1\ndata: {\"value\":1}\n\n", ": keep-alive\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("the stream lacks %q: %q", want, body)
		}
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestIDWithHeight: a push that stands for a height has an id that carries
// it, which SplitID reads back; a malformed height is refused.
func TestIDWithHeight(t *testing.T) {
	var buf bytes.Buffer
	AppendBatch(&buf, subscriptions.Batch{Events: []subscriptions.Event{
		{ID: "5-1", Data: []byte(`{"value":7}`), Height: 7, HasHeight: true},
		{ID: "5-2", Type: "gap", Data: []byte(`{}`)},
		{ID: "5-3", Data: []byte(`{"value":0}`), Height: 0, HasHeight: true},
	}}, "")
	want := "id: 5-1.7\ndata: {\"value\":7}\n\nid: 5-2\nevent: gap\ndata: {}\n\nid: 5-3.0\ndata: {\"value\":0}\n\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
	for _, tt := range []struct {
		id     string
		pos    string
		height int64
		ok     bool
	}{
		{"5-1.7", "5-1", 7, true},
		{"5-1", "5-1", -1, true},
		{".12", "", 12, true},
		{HeightID(12), "", 12, true},
		{"5-1.x", "", -1, false},
		{"5-1.-3", "", -1, false},
		{"5-1.", "", -1, false},
		{"5-1.9223372036854775807", "", -1, false},
		{"5-1.9223372036854775806", "5-1", 9223372036854775806, true},
	} {
		pos, h, err := SplitID(tt.id)
		if (err == nil) != tt.ok || pos != tt.pos || h != tt.height {
			t.Errorf("SplitID(%q) = %q, %d, %v; want %q, %d, ok %v", tt.id, pos, h, err, tt.pos, tt.height, tt.ok)
		}
	}
}
