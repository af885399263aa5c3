// Package refresh exchanges Qelos refresh tokens for new token pairs, exactly
// once per refresh token, however many requests ask at the same moment.
//
// Qelos refresh tokens are single use: the first POST /api/token/refresh
// consumes the token, and any later use of it answers 401. A browser that
// opens a page fires several requests at once, all carrying the same expired
// pair; if each of them refreshed, all but one would log the user out. The
// [Coordinator] prevents that:
//
//	request ─┐
//	request ─┼─▶ Coordinator.Refresh(rt) ─▶ one detached call ─▶ POST /api/token/refresh
//	request ─┘        │                                              │
//	                  └──── every caller gets the same new Pair ◀────┘
//	                        (kept in the Store for the grace window)
//
// The upstream call runs detached from any one caller, with its own timeout,
// so a caller that gives up (a closed browser tab) neither fails the others
// nor wastes the single-use token: the rotation is still recorded, and a
// straggler that arrives later with the old pair, inside the grace window,
// gets the new pair instead of a logout.
//
// Errors are classified. [ErrRejected] (Qelos answered 401 or 403) is
// definitive: the session is over. Everything else — timeouts, resets, 5xx,
// an unparseable body — wraps [ErrUnavailable]: the session may well be fine
// and must not be destroyed. Use [IsDefinitive] to tell them apart.
//
// Coordination state lives behind the small [Store] interface. [MemoryStore]
// serves a single process; package refresh/redisstore implements the optional
// [Locker] upgrade so several replicas share one refresh per token.
package refresh
