package refresh

import (
	"container/heap"
	"time"
)

// expiryHeap orders keys by when they expire, soonest first. The stores
// and the revoked set sweep its front instead of scanning everything.
type expiryHeap struct{ items []expiryItem }

type expiryItem struct {
	key string
	at  time.Time
	seq uint64
}

func (h *expiryHeap) Len() int           { return len(h.items) }
func (h *expiryHeap) Less(i, j int) bool { return h.items[i].at.Before(h.items[j].at) }
func (h *expiryHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *expiryHeap) Push(x any)         { h.items = append(h.items, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	n := len(h.items) - 1
	it := h.items[n]
	h.items[n] = expiryItem{}
	h.items = h.items[:n]
	return it
}

func (h *expiryHeap) push(it expiryItem) { heap.Push(h, it) }
func (h *expiryHeap) pop() expiryItem    { return heap.Pop(h).(expiryItem) }
