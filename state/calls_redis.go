package state

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCalls is Calls in Redis, so that any instance answers for a call
// another one made: "<prefix>:call:<id>" hashes and "<prefix>:idem:<key>"
// strings, all with TTLs. The rooms of the kept answers are counted under
// "<prefix>:{answers}:..." (all of them, and per client), in one Redis
// Cluster slot for the script that keeps them within bounds (answers.lua),
// which every instance runs: the bounds are the cluster's.
type RedisCalls struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
}

var _ Calls = (*RedisCalls)(nil)

// NewRedisCalls returns the store; opTimeout bounds each Redis operation
// (default 2s).
func NewRedisCalls(rdb redis.UniversalClient, prefix string, opTimeout time.Duration) *RedisCalls {
	if opTimeout <= 0 {
		opTimeout = defaultOpTimeout
	}
	return &RedisCalls{rdb: rdb, prefix: prefix, timeout: opTimeout}
}

// defaultOpTimeout bounds one Redis operation of the stores.
const defaultOpTimeout = 2 * time.Second

func (rc *RedisCalls) callKey(id string) string { return rc.prefix + ":call:" + id }

//go:embed lua/answers.lua
var answersLua string

var answersScript = redis.NewScript(answersLua)

// answerKeys are the keys of answers.lua for client's rooms.
func (rc *RedisCalls) answerKeys(client string) []string {
	tag := rc.prefix + ":{answers}"
	h := sha256.Sum256([]byte(client))
	c := tag + ":client:" + hex.EncodeToString(h[:16])
	return []string{tag + ":all", tag + ":all:bytes", c, c + ":bytes"}
}

// Reserve implements Calls: one round trip (EVALSHA), atomic across
// instances.
func (rc *RedisCalls) Reserve(ctx context.Context, rec CallRecord, bytes int64, ttl time.Duration, b AnswerBounds) error {
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	res, err := answersScript.Run(ctx, rc.rdb, rc.answerKeys(rec.Client), "reserve", rec.ID, max(bytes, AnswerOverhead), ttl.Milliseconds(),
		b.PerClient, b.PerClientBytes, b.Total, b.TotalBytes).Int64Slice()
	switch {
	case err != nil:
		return err
	case len(res) != 2:
		return fmt.Errorf("state: answers.lua answered %v", res)
	case res[0] == 0:
		return nil
	}
	return &QuotaError{Total: res[0] == 2, RetryAfter: time.Duration(res[1]) * time.Millisecond}
}

// Begin implements Calls: one round trip (MULTI: HSET, PEXPIRE).
func (rc *RedisCalls) Begin(ctx context.Context, rec CallRecord, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	k := rc.callKey(rec.ID)
	_, err := rc.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "method", rec.Method, "instance", rec.Instance, "owner", rec.Owner,
			"deadline", rec.Deadline.UnixMilli(), "done", "0")
		p.PExpire(ctx, k, ttl)
		return nil
	})
	return err
}

// Finish implements Calls: one round trip (DEL, or MULTI: HSET, PEXPIRE).
func (rc *RedisCalls) Finish(ctx context.Context, rec CallRecord, keep time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	k := rc.callKey(rec.ID)
	if keep <= 0 && rec.Client == "" {
		return rc.rdb.Del(ctx, k).Err()
	}
	if keep <= 0 {
		// The record and its room: one round trip, not atomic (they are
		// in two slots); a room left behind expires with its call.
		cmds, err := rc.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, k)
			answersScript.EvalSha(ctx, p, rc.answerKeys(rec.Client), "free", rec.ID)
			return nil
		})
		if err != nil && isNoScript(cmds[1].Err()) {
			return answersScript.Run(ctx, rc.rdb, rc.answerKeys(rec.Client), "free", rec.ID).Err()
		}
		return err
	}
	header, _ := json.Marshal(rec.Header)
	_, err := rc.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "method", rec.Method, "instance", rec.Instance, "owner", rec.Owner, "deadline", rec.Deadline.UnixMilli(),
			"done", "1", "status", rec.Status, "header", header, "body", rec.Body)
		p.PExpire(ctx, k, keep)
		return nil
	})
	return err
}

// Get implements Calls.
func (rc *RedisCalls) Get(ctx context.Context, id string) (CallRecord, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	m, err := rc.rdb.HGetAll(ctx, rc.callKey(id)).Result()
	if err != nil {
		return CallRecord{}, false, err
	}
	if len(m) == 0 {
		return CallRecord{}, false, nil
	}
	rec := CallRecord{ID: id, Method: m["method"], Instance: m["instance"], Owner: m["owner"], Done: m["done"] == "1", Body: []byte(m["body"])}
	if ms, err := strconv.ParseInt(m["deadline"], 10, 64); err == nil {
		rec.Deadline = time.UnixMilli(ms)
	}
	rec.Status, _ = strconv.Atoi(m["status"])
	if h := m["header"]; h != "" {
		_ = json.Unmarshal([]byte(h), &rec.Header)
	}
	return rec, true, nil
}

// Release implements Calls.
func (rc *RedisCalls) Release(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	return rc.rdb.Del(ctx, rc.idemKey(key)).Err()
}

// Extend implements Calls.
func (rc *RedisCalls) Extend(ctx context.Context, key string, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	return rc.rdb.PExpire(ctx, rc.idemKey(key), ttl).Err()
}

func (rc *RedisCalls) idemKey(key string) string { return rc.prefix + ":idem:" + key }

// Claim implements Calls with SET NX: the first claim wins everywhere.
func (rc *RedisCalls) Claim(ctx context.Context, key, fingerprint, id string, ttl time.Duration) (string, string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	k := rc.idemKey(key)
	ok, err := rc.rdb.SetNX(ctx, k, id+" "+fingerprint, ttl).Result()
	if err != nil {
		return "", "", false, err
	}
	if ok {
		return id, fingerprint, true, nil
	}
	v, err := rc.rdb.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		// Expired between the two commands: claim again.
		return rc.Claim(ctx, key, fingerprint, id, ttl)
	}
	if err != nil {
		return "", "", false, err
	}
	boundID, boundFP, _ := strings.Cut(v, " ")
	return boundID, boundFP, false, nil
}

// isNoScript reports whether err is Redis's answer to an EVALSHA of a
// script it does not have (yet, or no longer).
func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}
