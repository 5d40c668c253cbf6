package main

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestNewRedis(t *testing.T) {
	tests := []struct {
		url  string
		want string // the client type
	}{
		{"redis://:pw@127.0.0.1:6379/2", "*redis.Client"},
		{"redis://127.0.0.1:26379?master_name=mymaster&addr=127.0.0.2:26379", "*redis.Client"}, // a failover client is a *redis.Client
		{"redis://127.0.0.1:7000?addr=127.0.0.2:7000&addr=127.0.0.3:7000", "*redis.ClusterClient"},
	}
	for _, tt := range tests {
		rdb, err := newRedis(tt.url)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		switch c := rdb.(type) {
		case *redis.Client:
			if tt.want != "*redis.Client" {
				t.Errorf("%s: a single-server client, want %s", tt.url, tt.want)
			}
			if o := c.Options(); o.DialTimeout != time.Second || o.MaxRetries != 1 {
				t.Errorf("%s: dial timeout %v, retries %d: want the fail-fast defaults", tt.url, o.DialTimeout, o.MaxRetries)
			}
		case *redis.ClusterClient:
			if tt.want != "*redis.ClusterClient" || len(c.Options().Addrs) != 3 {
				t.Errorf("%s: cluster %v", tt.url, c.Options().Addrs)
			}
		}
		rdb.Close()
	}
	// A timeout given in the URL is kept.
	rdb, err := newRedis("redis://127.0.0.1:6379?dial_timeout=3s")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if d := rdb.(*redis.Client).Options().DialTimeout; d != 3*time.Second {
		t.Errorf("dial timeout %v, want the URL's 3s", d)
	}
	for _, bad := range []string{"http://x", "redis://h:1?nonsense=1", "::"} {
		if c, err := newRedis(bad); err == nil {
			c.Close()
			t.Errorf("%s accepted", bad)
		}
	}
}
