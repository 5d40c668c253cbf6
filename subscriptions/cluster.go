package subscriptions

import (
	"context"
	"errors"
)

// ErrNotOwner is returned by Cluster.Append when this instance does not hold
// the topic's lease (it expired, or another instance took it).
var ErrNotOwner = errors.New("subscriptions: not the topic's producer")

// Cluster shares topics among gateway instances: one instance at a time (the
// holder of a topic's lease) subscribes upstream and appends the pushes to
// the topic's shared log; every instance with readers mirrors the log into
// its own topic. Hub uses it when Config.Cluster is set; without it a hub is
// one instance on its own.
//
// Implementations are safe for concurrent use; Run owns their background
// work.
type Cluster interface {
	// Lease acquires the producer lease of topic, or renews it when held,
	// and reports whether this instance holds it.
	Lease(ctx context.Context, topic string) (bool, error)
	// Release gives the lease up if this instance holds it.
	Release(ctx context.Context, topic string) error
	// Append adds an event to the topic's log as its producer, announces
	// it, and returns it with its ID. It fails with ErrNotOwner when the
	// lease is not held.
	Append(ctx context.Context, topic string, e Event) (Event, error)
	// Range returns up to count events after afterID (exclusive), oldest
	// first; afterID "" reads from the start.
	Range(ctx context.Context, topic, afterID string, count int) ([]Event, error)
	// Tail returns the last count events, oldest first.
	Tail(ctx context.Context, topic string, count int) ([]Event, error)
	// Present records whether this instance has readers of topic and
	// returns how many instances have.
	Present(ctx context.Context, topic string, here bool) (int, error)
	// Announcements delivers the names of topics with new events. It is a
	// hint: a missed one is made up by polling.
	Announcements() <-chan string
	// Run receives announcements until ctx ends.
	Run(ctx context.Context) error
}
