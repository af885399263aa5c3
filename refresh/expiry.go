package refresh

import "time"

// expiryHeap orders keys by when they expire, soonest first. The stores
// and the revoked set sweep its front instead of scanning everything. Its
// own sift functions, rather than container/heap's, keep items out of
// interfaces: a push allocates nothing beyond the slice's growth.
type expiryHeap struct{ items []expiryItem }

type expiryItem struct {
	key string
	at  time.Time
	seq uint64
}

func (h *expiryHeap) Len() int { return len(h.items) }

func (h *expiryHeap) less(i, j int) bool { return h.items[i].at.Before(h.items[j].at) }

func (h *expiryHeap) push(it expiryItem) {
	h.items = append(h.items, it)
	h.up(len(h.items) - 1)
}

func (h *expiryHeap) pop() expiryItem {
	n := len(h.items) - 1
	h.items[0], h.items[n] = h.items[n], h.items[0]
	h.down(0, n)
	it := h.items[n]
	h.items[n] = expiryItem{}
	h.items = h.items[:n]
	return it
}

// init restores the heap order after items were filtered in place.
func (h *expiryHeap) init() {
	n := len(h.items)
	for i := n/2 - 1; i >= 0; i-- {
		h.down(i, n)
	}
}

func (h *expiryHeap) up(j int) {
	for {
		i := (j - 1) / 2 // parent
		if i == j || !h.less(j, i) {
			break
		}
		h.items[i], h.items[j] = h.items[j], h.items[i]
		j = i
	}
}

func (h *expiryHeap) down(i, n int) {
	for {
		j := 2*i + 1
		if j >= n || j < 0 {
			break
		}
		if r := j + 1; r < n && h.less(r, j) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.items[i], h.items[j] = h.items[j], h.items[i]
		i = j
	}
}
