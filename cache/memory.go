package cache

import (
	"container/list"
	"encoding/json"
)

// entry is one cached answer.
type entry struct {
	key    string
	result json.RawMessage
	height int64
}

func (e *entry) size() int64 { return int64(len(e.key)+len(e.result)) + entryOverhead }

// entryOverhead is what an entry costs besides its key and answer: the
// list element, the map slot, the struct.
const entryOverhead = 160

// memory is the in-process layer: least recently used out past maxBytes.
// Its caller holds the Cache's lock.
type memory struct {
	maxBytes int64
	bytes    int64
	order    *list.List // of *entry, most recent first
	byKey    map[string]*list.Element
}

func newMemory(maxBytes int64) *memory {
	return &memory{maxBytes: maxBytes, order: list.New(), byKey: map[string]*list.Element{}}
}

func (m *memory) get(key string) (*entry, bool) {
	el, ok := m.byKey[key]
	if !ok {
		return nil, false
	}
	m.order.MoveToFront(el)
	return el.Value.(*entry), true
}

// put keeps e, unless it alone is larger than the layer.
func (m *memory) put(e *entry) {
	if e.size() > m.maxBytes {
		return
	}
	if el, ok := m.byKey[e.key]; ok {
		m.remove(el)
	}
	m.byKey[e.key] = m.order.PushFront(e)
	m.bytes += e.size()
	for m.bytes > m.maxBytes {
		m.remove(m.order.Back())
	}
}

func (m *memory) remove(el *list.Element) {
	e := m.order.Remove(el).(*entry)
	delete(m.byKey, e.key)
	m.bytes -= e.size()
}

// dropAbove removes the entries of heights above height; it returns how
// many.
func (m *memory) dropAbove(height int64) int {
	n := 0
	for el := m.order.Front(); el != nil; {
		next := el.Next()
		if el.Value.(*entry).height > height {
			m.remove(el)
			n++
		}
		el = next
	}
	return n
}

func (m *memory) len() int { return m.order.Len() }
