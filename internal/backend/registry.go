package backend

import "sync"

// Registry keeps server State by ID across reloads. It is owned by the
// runtime; there is no global one. Safe for concurrent use.
type Registry struct {
	mu     sync.Mutex
	states map[ID]*State
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{states: make(map[ID]*State)} }

// State returns the State for id, creating it with health up if it is new.
// The second result reports whether it was created.
func (r *Registry) State(id ID, up bool) (*State, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.states[id]; ok {
		return s, false
	}
	s := newState(up)
	r.states[id] = s
	return s, true
}

// Retain forgets every State whose ID keep does not hold.
func (r *Registry) Retain(keep map[ID]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.states {
		if !keep[id] {
			delete(r.states, id)
		}
	}
}

// Len returns the number of states held.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.states)
}
