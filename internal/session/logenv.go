package session

import (
	"context"
	"log/slog"
)

// logSession writes one log line of a session. Every line carries the
// session envelope (DESIGN.md 3.10): the session id, the protocol and the
// peer, so an operator can gather a connection's lines (and match them to
// its access-log lines, which carry the same session id).
func (e *Env) logSession(level slog.Level, id uint64, proto, peer, msg string, args ...any) {
	ctx := context.Background()
	if !e.Log.Enabled(ctx, level) {
		return
	}
	e.Log.Log(ctx, level, msg, append([]any{"session", id, "proto", proto, "peer", peer}, args...)...)
}
