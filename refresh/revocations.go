package refresh

// OnRevoke registers f to be called with the key of every revocation this
// Coordinator learns of: those it records itself ([Coordinator.Revoke]) and
// those another replica records in a shared [Revoker] store, as the store
// reports them. f runs on the goroutine that learned of it (a request's, or
// the store's subscription): it must be quick and must not block. The
// middleware uses it to drop cached identities a revocation ends at once.
// It is safe to call while revocations arrive.
func (c *Coordinator) OnRevoke(f func(key string)) {
	for {
		old := c.onRevoke.Load()
		var fs []func(string)
		if old != nil {
			fs = append(fs, *old...)
		}
		fs = append(fs, f)
		if c.onRevoke.CompareAndSwap(old, &fs) {
			return
		}
	}
}

// revokedHooks calls the functions registered with OnRevoke.
func (c *Coordinator) revokedHooks(key string) {
	if fs := c.onRevoke.Load(); fs != nil {
		for _, f := range *fs {
			f(key)
		}
	}
}
