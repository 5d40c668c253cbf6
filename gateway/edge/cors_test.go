package edge

import (
	"testing"
)

func TestCheckOrigins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		origins []string
		ok      bool
	}{
		{"none", nil, true},
		{"any", []string{"*"}, true},
		{"origins", []string{"http://127.0.0.1:3000", "https://wallet.example"}, true},
		{"path", []string{"https://wallet.example/app"}, false},
		{"trailing slash", []string{"https://wallet.example/"}, false},
		{"no scheme", []string{"wallet.example"}, false},
		{"uppercase", []string{"https://Wallet.example"}, false},
		{"other scheme", []string{"ws://wallet.example"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckOrigins(tt.origins); (err == nil) != tt.ok {
				t.Errorf("CheckOrigins(%q) = %v, want ok %v", tt.origins, err, tt.ok)
			}
		})
	}
}
