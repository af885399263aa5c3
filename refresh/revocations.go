package refresh

// OnRevoke registers f to be called with the key of every revocation this
// Coordinator learns of: those it records itself ([Coordinator.Revoke]) and
// those another replica records in a shared [Revoker] store, as the store
// reports them. f runs on the goroutine that learned of it (a request's, or
// the store's subscription): it must be quick and must not block. The
// middleware uses it to drop cached identities a revocation ends at once.
// Register before the Coordinator is in use; registrations are not
// synchronised with revocations.
func (c *Coordinator) OnRevoke(f func(key string)) {
	c.onRevoke = append(c.onRevoke, f)
}
