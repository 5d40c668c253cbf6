package subscriptions

import (
	"context"
	"errors"
	"time"
)

// Errors of Cluster.Append and Cluster.Restore.
var (
	// ErrNotOwner: this instance does not hold the topic's lease (it
	// expired, or another instance took it).
	ErrNotOwner = errors.New("subscriptions: not the topic's producer")
	// ErrDiverged: the log does not end where the producer believes it
	// does (Redis lost it, or another producer wrote to it); the producer
	// lines up with it again before appending.
	ErrDiverged = errors.New("subscriptions: the shared log does not end where the producer left it")
)

// Role is what an instance is to a shared topic.
type Role int

const (
	// RoleMirror is an instance that copies the topic's log for its readers.
	RoleMirror Role = iota
	// RoleStandby also keeps an upstream subscription of its own, so that
	// it can take over from the holder without losing a push.
	RoleStandby
	// RoleHolder holds the topic's lease, and appends what its upstream
	// subscription pushes to the log.
	RoleHolder
)

func (r Role) String() string {
	switch r {
	case RoleHolder:
		return "holder"
	case RoleStandby:
		return "standby"
	}
	return "mirror"
}

// Cluster shares topics among gateway instances: one instance at a time (the
// holder of a topic's lease) appends the pushes of its upstream subscription
// to the topic's shared log; another (the standby) keeps a subscription too,
// ready to take over; every instance with readers mirrors the log into its
// own topic. Hub uses it when Config.Cluster is set; without it a hub is one
// instance on its own.
//
// Implementations are safe for concurrent use; Run owns their background
// work.
type Cluster interface {
	// Claim renews the lease or the standby claim of topic this instance
	// holds and reports the role it has then. Wanting RoleHolder, it
	// takes the lease if that is free, or else the standby claim if that
	// is; wanting RoleStandby, only the standby claim; wanting RoleMirror,
	// it gives the standby claim up. Taking the lease gives up the
	// standby claim.
	//
	// Only an instance subscribed upstream (holder or standby) wants the
	// lease: after Redis lost the lease, the one that takes it has a tape
	// of the pushes the log may lack. A patient claim takes a free lease
	// only if the log exists: when Redis lost it, an instance subscribed
	// for longer (whose tape goes back further) gets the time to.
	Claim(ctx context.Context, topic string, want Role, patient bool) (Role, error)
	// Displace takes the lease from its holder, for the standby whose
	// subscription delivers events while the log stopped moving (see
	// topic.watch). The holder's next append fails with ErrNotOwner.
	Displace(ctx context.Context, topic string) error
	// Release gives up the lease and the standby claim this instance
	// holds.
	Release(ctx context.Context, topic string) error
	// LeaseTTL is how long a lease or a claim outlives its last renewal.
	LeaseTTL() time.Duration
	// Append adds an event after the log's last event, whose ID the
	// producer gives (after; "" for an empty log), announces it, and
	// returns it with its ID and epoch. It fails with ErrNotOwner when the
	// lease is not held, and ErrDiverged when the log ends elsewhere.
	Append(ctx context.Context, topic, after string, e Event) (Event, error)
	// Restore puts back events the log lost (Redis restarted without
	// them), with their IDs and epoch: those after the log's last event,
	// when the log is empty or of their epoch. It returns the log's last
	// event then (hasLast false: the log is empty). Only the holder may.
	Restore(ctx context.Context, topic string, evs []Event) (last Event, hasLast bool, err error)
	// Range returns up to count events after afterID (exclusive), oldest
	// first; afterID "" reads from the start.
	Range(ctx context.Context, topic, afterID string, count int) ([]Event, error)
	// Tail returns the last count events, oldest first.
	Tail(ctx context.Context, topic string, count int) ([]Event, error)
	// Present records whether this instance has readers of topic, or
	// had within its grace period (here), and whether it has some now
	// (reading); it returns how many instances are present, and how many
	// are reading.
	Present(ctx context.Context, topic string, here, reading bool) (present, readers int, err error)
	// Announcements delivers the names of topics with new events. It is a
	// hint: a missed one is made up by polling.
	Announcements() <-chan string
	// Run receives announcements until ctx ends.
	Run(ctx context.Context) error
}
