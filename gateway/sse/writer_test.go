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
