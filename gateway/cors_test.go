package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	const page = "http://127.0.0.1:3000"
	tg := startGateway(t, gatewayOptions{cfg: Config{CORSOrigins: []string{page, "https://wallet.example"}}})
	type answer struct {
		Status                      int
		AllowOrigin, AllowMethods   string
		AllowHeaders, ExposeHeaders string
		Vary                        string
	}
	tests := []struct {
		name, method, path, origin, body string
		requestHeaders                   map[string]string
		want                             answer
	}{
		{
			name: "preflight of a JSON call", method: http.MethodOptions, path: "/rpc/latestHeight", origin: page,
			requestHeaders: map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
			want:           answer{Status: 204, AllowOrigin: page, AllowMethods: "GET, POST, DELETE", AllowHeaders: corsAllowHeaders, Vary: "Origin"},
		},
		{
			name: "JSON call", method: http.MethodPost, path: "/rpc/latestHeight", origin: page, body: `{"chainId":2}`,
			want: answer{Status: 200, AllowOrigin: page, ExposeHeaders: corsExposeHeaders, Vary: "Origin"},
		},
		{
			name: "problem answer", method: http.MethodPost, path: "/rpc/nope", origin: "https://wallet.example", body: `{}`,
			want: answer{Status: 404, AllowOrigin: "https://wallet.example", ExposeHeaders: corsExposeHeaders, Vary: "Origin"},
		},
		{
			// A page elsewhere cannot make the browser call: refused
			// before anything runs, whatever the body's type.
			name: "other origin", method: http.MethodPost, path: "/rpc/latestHeight", origin: "http://evil.example", body: `{"chainId":2}`,
			want: answer{Status: 403, Vary: "Origin"},
		},
		{
			name: "other origin, plain text", method: http.MethodPost, path: "/rpc/latestHeight", origin: "http://evil.example", body: `{"chainId":2}`,
			requestHeaders: map[string]string{"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"},
			want:           answer{Status: 403, Vary: "Origin"},
		},
		{
			name: "allowed origin, plain text", method: http.MethodPost, path: "/rpc/latestHeight", origin: page, body: `{"chainId":2}`,
			requestHeaders: map[string]string{"Content-Type": "text/plain"},
			want:           answer{Status: 415, AllowOrigin: page, ExposeHeaders: corsExposeHeaders, Vary: "Origin"},
		},
		{
			name: "other origin opens a stream", method: http.MethodGet, path: "/rpc/latestHeight/stream?chainId=2", origin: "http://evil.example",
			requestHeaders: map[string]string{"Sec-Fetch-Site": "cross-site"},
			want:           answer{Status: 403, Vary: "Origin"},
		},
		{
			name: "an <img> elsewhere opens a stream", method: http.MethodGet, path: "/rpc/latestHeight/stream?chainId=2",
			requestHeaders: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
			want:           answer{Status: 403, Vary: "Origin"},
		},
		{
			name: "a link elsewhere to the documents", method: http.MethodGet, path: "/openapi.json",
			requestHeaders: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
			want:           answer{Status: 200, Vary: "Origin"},
		},
		{
			name: "preflight from another origin is not answered", method: http.MethodOptions, path: "/rpc/latestHeight", origin: "http://evil.example",
			requestHeaders: map[string]string{"Access-Control-Request-Method": "POST"},
			want:           answer{Status: 405, Vary: "Origin"},
		},
		{
			name: "same origin (no Origin header)", method: http.MethodGet, path: "/healthz",
			want: answer{Status: 200, Vary: "Origin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, tg.url+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.method == http.MethodPost {
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range tt.requestHeaders {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := answer{
				Status: resp.StatusCode, AllowOrigin: resp.Header.Get("Access-Control-Allow-Origin"),
				AllowMethods: resp.Header.Get("Access-Control-Allow-Methods"), AllowHeaders: resp.Header.Get("Access-Control-Allow-Headers"),
				ExposeHeaders: resp.Header.Get("Access-Control-Expose-Headers"), Vary: resp.Header.Get("Vary"),
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}
