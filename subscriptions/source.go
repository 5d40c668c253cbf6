package subscriptions

import (
	"context"
	"encoding/json"
)

// Source opens the subscriptions a Hub shares. The gateway implements it
// with the bridge package.
type Source interface {
	// Subscribe opens the subscription k. It returns once the
	// subscription Request is sent: the first push may come later.
	Subscribe(ctx context.Context, k Key) (Feed, error)
}

// Feed is one open upstream subscription.
type Feed interface {
	// Updates delivers the pushes in order. It is closed when the feed
	// ends; Err then says why.
	Updates() <-chan Update
	// Err returns why the feed ended, or nil.
	Err() error
	// Close ends the subscription upstream.
	Close() error
}

// Pausable is a Feed that can stop calling the upstream while its topic has
// no reader (a subscription the gateway emulates by calling the method):
// the hub pauses it when the last reader leaves (of every instance, for a
// shared topic), through the grace period, and resumes it when one comes.
// Pause must not block.
type Pausable interface {
	Pause(paused bool)
}

// Update is one push of a Feed.
type Update struct {
	// Type is TypePush or TypeError.
	Type string
	// Data is the method's result, or the JSON description of a failure.
	Data json.RawMessage
	// Final marks a failure after which the subscription cannot work
	// (unknown method, invalid parameters): the topic ends with Err.
	Final bool
	// Err is the failure, for Final updates.
	Err error
	// Gap marks the first push after the upstream subscription was made
	// again on a new connection: pushes made meanwhile were lost.
	Gap bool
}
