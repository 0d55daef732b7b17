package scheduler

import (
	"context"

	"extcron/db"
)

// PruneReport says how many runs a pruning pass deleted.
type PruneReport struct {
	ByAge   int64 `json:"by_age"`
	ByCount int64 `json:"by_count"`
}

// pruneChunk bounds one delete statement so pruning never holds long
// locks on the run table.
const pruneChunk = 5000

// Prune deletes run history older than RetentionAge and beyond the newest
// RetentionRuns per schedule. Runs queued or running are never deleted.
func (e *Engine) Prune(ctx context.Context) (PruneReport, error) {
	var rep PruneReport
	cutoff := e.now().Add(-e.opts.RetentionAge)
	for {
		n, err := db.PruneRunsByAge(ctx, e.conn, cutoff, pruneChunk)
		if err != nil {
			return rep, err
		}
		rep.ByAge += n
		if n < pruneChunk {
			break
		}
	}
	n, err := db.PruneRunsByCount(ctx, e.conn, e.opts.RetentionRuns)
	if err != nil {
		return rep, err
	}
	rep.ByCount = n
	if rep.ByAge+rep.ByCount > 0 {
		e.log.Info("run history pruned", "by_age", rep.ByAge, "by_count", rep.ByCount)
	}
	return rep, nil
}
