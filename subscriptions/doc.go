// Package subscriptions shares upstream subscriptions among many readers,
// such as the gateway's Server-Sent Event streams.
//
// Readers that Join the same Key (method, canonical parameters, mode) read
// one topic, fed by one upstream subscription. Every push becomes an Event
// with a position ("<ms>-<seq>") that a reader can resume after
// (Last-Event-ID) as long as the topic retains it; beyond that, Take reports
// a gap. When the upstream subscription is made again (after a dropped
// connection, or by another instance after a takeover) and what it answers
// first shows that pushes were missed, the topic appends a TypeGap event,
// which readers get in order like any other. The upstream subscription ends
// a grace period after the last reader leaves; a feed that calls the
// upstream itself (Pausable) is paused meanwhile.
//
// # Concurrency
//
// Hub.Run owns the hub's goroutines: one producer per topic, which copies
// the upstream feed into the topic. Publishing never waits for readers:
// each Member keeps a cursor into the topic's retained events and waits on
// the topic's "changed" channel, which an append closes and replaces. A slow
// reader thus costs nobody else anything; when it falls behind the retention
// it sees a gap. Join, JoinLocal, Publish and Stats are safe for concurrent
// use; a Member is read by one goroutine.
//
// # Several instances
//
// With Config.Cluster (RedisCluster) the instances of a gateway share their
// topics. Each instance with readers of a topic mirrors the topic's Redis
// Stream (the shared log, whose IDs are the event IDs) into its local
// topic, so the readers' side is the same as alone. Two instances also
// subscribe upstream: the holder of the topic's lease appends every push to
// the log, and one standby records what it receives on a bounded tape. When
// the holder lets go (a handover on shutdown) or its lease expires (a
// crash), the standby takes the lease and appends, after the log's last
// event, what its tape holds beyond it (lined up by content, see align), so
// that only what no instance received is lost. The standby also watches
// the holder: when the log stops moving while its own subscription
// delivers, it takes the lease from it (Cluster.Displace). Appends are
// conditional on the log's last ID, so two holders can never interleave.
// An event's Epoch tells which log it came from: when Redis loses a log, an
// instance with a copy restores it, and a Last-Event-ID from an older log
// is never resumed at a wrong place.
//
// Each shared topic has one goroutine per instance (its loop: mirror,
// presence, lease, watch) and, on the holder and the standby, one that
// reads the upstream feed into the tape; the holder has one more, which
// appends the tape to the log. The loop owns the topic's mirror state and
// starts and stops the other two.
//
// Lock order: topic.mu before Member.mu; Hub.mu is never held while taking
// a topic's lock except in Stats, which takes them one at a time. A topic
// leaves the Hub before it is marked closed, so a reader told of the end
// finds a new topic when it joins again.
package subscriptions
