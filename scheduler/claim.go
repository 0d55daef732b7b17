package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/db"
	"extcron/scheduler/cron"
)

// maxFireSteps bounds the fire times walked for one timer in one cycle; a
// timer further behind jumps ahead (the skipped stretch is all missed).
const maxFireSteps = 200_000

// timing is a parsed cron and zone, cached: fire cycles see the same few
// expressions over and over.
type timing struct {
	expr *cron.Expr
	loc  *time.Location
	err  error
}

var timingCache sync.Map // "cron\x00zone" → timing

func loadTiming(expr, zone string) timing {
	k := expr + "\x00" + zone
	if v, ok := timingCache.Load(k); ok {
		return v.(timing)
	}
	var t timing
	t.expr, t.err = cron.Parse(expr, 0)
	if t.err == nil {
		t.loc, _, t.err = cron.LoadZone(zone)
	}
	timingCache.Store(k, t)
	return t
}

// fireStats counts what one fire cycle recorded.
type fireStats struct {
	timers   int
	queued   int
	started  int
	deferred int
	errored  int
}

// fireOnce is one fire transaction: claim a batch of due timers, load
// their schedules, decide every fire time (catch-up, overlap, run-time
// checks), write the runs, advance the timers, and start the runs it has
// room for.
//
// The timer is the queue: a cycle claims only as many due timers as this
// process has free workers, and per tenant only what the tenant cap
// leaves, and writes their runs straight as running under its lease. No
// queued row is written, claimed and rewritten on the way. A timer left
// behind stays due and is fired when room frees up, with its nominal fire
// time (so lateness shows); once it has waited QueueAfter it is recorded
// as a queued run like any other (visible in the history, and taken by
// whichever process has room first).
//
// The outcome tells the fire loop when to look again.
func (e *Engine) fireOnce(ctx context.Context) (fireOutcome, error) {
	start := time.Now()
	now := e.now()
	slots, contended, room, capped := e.reserveFire()
	if contended {
		return fireContended, nil
	}
	var full, more bool
	e.claimMu.RLock()
	defer e.claimMu.RUnlock()
	var stats fireStats
	var recorded []db.InsertedRun
	var p firePlan
	err := db.WithBatchTx(ctx, e.conn, func(btx *sqlx.Tx) error {
		tx := e.stmts.On(btx)
		p = firePlan{}
		var timers []db.DueTimer
		var err error
		overdue := now.Add(-e.opts.QueueAfter)
		if slots == 0 {
			// No worker free: only timers that have waited long enough are
			// taken, to be recorded as queued.
			timers, err = db.ClaimDueTimers(ctx, tx, overdue, e.opts.BatchSize)
			more = true
		} else {
			timers, more, err = db.ClaimTimersWithRoom(ctx, tx, db.TimerClaim{Due: now, Overdue: overdue,
				Limit: slots, TenantCap: e.opts.TenantConcurrency, Room: room, Full: capped})
			full = len(timers) == slots
		}
		if err != nil || len(timers) == 0 {
			return err
		}
		stats = fireStats{timers: len(timers)}
		refs := make([]db.ScheduleRef, len(timers))
		tenants := make([]uuid.UUID, 0, 8)
		seen := map[uuid.UUID]bool{}
		for i, t := range timers {
			refs[i] = db.ScheduleRef{TenantID: t.TenantID, ID: t.ScheduleID}
			if !seen[t.TenantID] {
				seen[t.TenantID] = true
				tenants = append(tenants, t.TenantID)
			}
		}
		scheds, err := db.LoadFireSchedules(ctx, tx, refs)
		if err != nil {
			return err
		}
		// The claim took the claimed timers' tenant claim locks: counting
		// now, in a later statement, sees every run another claim of these
		// tenants committed, here or in other processes, and the cap
		// holds exactly.
		running, err := db.CountRunning(ctx, tx, tenants, e.finishingRuns())
		if err != nil {
			return err
		}
		byKey := make(map[runKey]*db.FireSchedule, len(scheds))
		for i := range scheds {
			byKey[runKey{scheds[i].TenantID, scheds[i].ID}] = &scheds[i]
		}
		left := &startBudget{slots: slots, cap: e.opts.TenantConcurrency, running: running}
		p.runs = make([]db.NewRun, 0, len(timers))
		p.timers = make([]db.TimerChange, 0, len(timers))
		p.sources = make([]*db.FireSchedule, 0, len(timers))
		for _, t := range timers {
			var tp firePlan
			s := byKey[runKey{t.TenantID, t.ScheduleID}]
			e.planTimer(&tp, t, s, now)
			if e.deferTimer(&tp, t, s, left, overdue, now) {
				stats.deferred++
				more = true
				continue
			}
			p.add(tp)
		}
		stats.errored = p.errored
		if recorded, err = db.RecordFire(ctx, tx, p.runs, p.timers, p.schedules); err != nil {
			return err
		}
		for _, r := range recorded {
			if r.Status == "queued" {
				stats.queued++
			}
		}
		if stats.queued > 0 {
			// Other processes' idle workers may take some of these.
			return notify(ctx, btx)
		}
		return nil
	})
	// Runs written running are ours to execute: register them before the
	// claim lock is released (requeueUnstarted must see them as executing).
	var startRuns []db.ClaimedRun
	if err == nil {
		startRuns = p.started(recorded)
	}
	e.mu.Lock()
	e.unreserve(slots, len(startRuns))
	for _, r := range startRuns {
		e.inflight[runKey{r.TenantID, r.ID}] = struct{}{}
	}
	e.mu.Unlock()
	if err != nil {
		return fireIdle, err
	}
	stats.started = len(startRuns)
	e.opts.Metrics.claimed("timers", stats.timers, time.Since(start))
	if stats.timers > 0 {
		for _, r := range recorded {
			e.opts.Metrics.runRecorded(r.Status)
		}
		e.log.Debug("fire cycle", "timers", stats.timers, "runs", len(recorded), "started", stats.started,
			"queued", stats.queued, "deferred", stats.deferred, "errored", stats.errored,
			"took_ms", time.Since(start).Milliseconds())
	}
	for _, r := range startRuns {
		e.start(r, now)
	}
	if stats.queued > 0 {
		signal(e.wakeDispatch)
	}
	switch {
	case full:
		return fireFull, nil
	case more:
		return fireWaiting, nil
	}
	return fireIdle, nil
}

// fireOutcome is what a fire cycle leaves for the next one.
type fireOutcome int

const (
	fireIdle      fireOutcome = iota // nothing more due: sleep until the next due time
	fireFull                         // took all it had room for: more may be due now
	fireWaiting                      // due timers wait for room: a finished call wakes the loop
	fireContended                    // another claim had booked the free workers: look again soon
)

// reserveFire books worker slots for one fire cycle (as reserve does for
// a run claim) and reports each tenant's room under the cap as far as this
// process knows: tenants with runs executing here, and those at the cap.
func (e *Engine) reserveFire() (slots int, contended bool, room map[uuid.UUID]int, capped []uuid.UUID) {
	if slots, contended = e.reserve(); contended {
		return 0, true, nil, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	own := map[uuid.UUID]int{}
	for k := range e.inflight {
		if _, ended := e.finishing[k]; !ended {
			own[k.tenantID]++
		}
	}
	room = make(map[uuid.UUID]int, len(own))
	for t, n := range own {
		room[t] = max(e.opts.TenantConcurrency-n, 0)
		if room[t] == 0 {
			capped = append(capped, t)
		}
	}
	return slots, false, room, capped
}

// startBudget is what a fire cycle may still start: free worker slots and
// each tenant's room under the cap.
type startBudget struct {
	slots   int
	cap     int
	running map[uuid.UUID]int // runs in flight per tenant, in any process, and those this cycle starts
}

func (b *startBudget) take(tenant uuid.UUID, n int) bool {
	if n > b.slots || b.running[tenant]+n > b.cap {
		return false
	}
	b.slots -= n
	b.running[tenant] += n
	return true
}

// deferTimer decides, for one timer's plan, whether its runs that may
// start now are written running (room for all of them), written queued
// (the timer is overdue: it has waited long enough), or not at all yet: it
// reports true when the timer stays due, untouched, until room frees up.
func (e *Engine) deferTimer(tp *firePlan, t db.DueTimer, s *db.FireSchedule, b *startBudget, overdue, now time.Time) bool {
	var ready []int
	for i, r := range tp.runs {
		if r.Status == "queued" && r.NextAttemptAt == "-infinity" {
			ready = append(ready, i)
		}
	}
	switch {
	case len(ready) == 0:
		return false
	case b.take(t.TenantID, len(ready)):
		lease := now.Add(e.opts.LeaseDuration)
		for _, i := range ready {
			r := &tp.runs[i]
			r.Status, r.Attempt = "running", 1
			r.LeaseOwner, r.LeaseExpiresAt, r.StartedAt = &e.opts.ProcessID, &lease, &now
			tp.sources = append(tp.sources, s)
		}
		// The schedule row is written once, with the result (its
		// next_run_at from the timer); readers take the next fire time
		// from the timer meanwhile. That spares a row update per run.
		tp.schedules = nil
		return false
	default:
		return t.NextFireAt.After(overdue)
	}
}

// firePlan accumulates the writes of one fire cycle.
type firePlan struct {
	runs      []db.NewRun
	timers    []db.TimerChange
	schedules []db.ScheduleFireUpdate
	errored   int
	// sources: the schedule of each run written running, in order.
	sources []*db.FireSchedule
}

func (p *firePlan) add(o firePlan) {
	p.runs = append(p.runs, o.runs...)
	p.timers = append(p.timers, o.timers...)
	p.schedules = append(p.schedules, o.schedules...)
	p.errored += o.errored
	p.sources = append(p.sources, o.sources...)
}

// started lists the runs written running that were actually inserted,
// with what their call needs, taken from the schedules loaded by the
// cycle (current as of the fire transaction).
func (p *firePlan) started(recorded []db.InsertedRun) []db.ClaimedRun {
	if len(p.sources) == 0 {
		return nil
	}
	written := make(map[uuid.UUID]bool, len(recorded))
	for _, r := range recorded {
		if r.Status == "running" {
			written[r.ID] = true
		}
	}
	out := make([]db.ClaimedRun, 0, len(p.sources))
	j := 0
	for _, r := range p.runs {
		if r.Status != "running" {
			continue
		}
		s := p.sources[j]
		j++
		if !written[r.ID] {
			continue
		}
		out = append(out, db.ClaimedRun{
			TenantID: r.TenantID, ID: r.ID, ScheduleID: r.ScheduleID, InstallID: r.InstallID,
			Trigger: r.Trigger, ScheduledFor: r.ScheduledFor, InvocationID: r.InvocationID,
			Attempt: r.Attempt, LeaseOwner: *r.LeaseOwner,
			ScheduleFound: true, CallTarget: s.CallTarget,
		})
	}
	return out
}

// fireTime is one fire time to record and how.
type fireTime struct {
	at      time.Time
	trigger string // schedule or catchup
}

// planTimer decides what one due timer produces.
func (e *Engine) planTimer(p *firePlan, t db.DueTimer, s *db.FireSchedule, now time.Time) {
	log := lazyLog{e.log, []any{"tenant_id", t.TenantID, "schedule_id", t.ScheduleID}}
	switch {
	case s == nil:
		// The schedule is gone: its timer is an orphan.
		log.Warn("timer without a schedule removed", "timer_key", t.Key)
		p.timers = append(p.timers, db.TimerChange{TenantID: t.TenantID, Key: t.Key, Delete: true})
		return
	case !s.Enabled:
		p.timers = append(p.timers, db.TimerChange{TenantID: t.TenantID, Key: t.Key, Delete: true})
		p.schedules = append(p.schedules, db.ScheduleFireUpdate{TenantID: s.TenantID, ID: s.ID})
		return
	case !s.InstallFound || !s.InstallEnabled:
		// No run at all: the timer pauses until the install is enabled,
		// which resumes it from the next future fire time.
		nominal := t.NextFireAt
		p.timers = append(p.timers, db.TimerChange{TenantID: t.TenantID, Key: t.Key, NextFireAt: &nominal, Paused: true})
		p.schedules = append(p.schedules, db.ScheduleFireUpdate{TenantID: s.TenantID, ID: s.ID})
		log.Info("timer paused: install missing or disabled")
		return
	}
	tm := loadTiming(s.Cron, s.Timezone)
	if tm.err != nil {
		e.markErrored(p, t, s, fmt.Sprintf("errored: the next fire time cannot be computed: %v", tm.err), log)
		return
	}

	// Walk the fire times from the timer's nominal time, never from now:
	// an early or late cycle neither drifts nor doubles a slot.
	keep := e.opts.MissedRecorded + e.opts.CatchupMax + 1
	ring := make([]time.Time, 0, 4)
	total := 0
	f := t.NextFireAt
	for steps := 0; !f.After(now); steps++ {
		if len(ring) == keep {
			copy(ring, ring[1:])
			ring = ring[:keep-1]
		}
		ring = append(ring, f)
		total++
		next := tm.expr.Next(f, tm.loc)
		if next.IsZero() || !next.After(f) {
			e.markErrored(p, t, s, fmt.Sprintf("errored: cron %q has no fire time after %s", s.Cron, f.UTC().Format(time.RFC3339)), log)
			return
		}
		if steps == maxFireSteps {
			// Far behind: everything before the catch-up window is missed
			// anyway; jump to it.
			jump := tm.expr.Next(now.Add(-time.Duration(s.CatchupWindowSeconds)*time.Second-e.opts.CatchupGrace), tm.loc)
			if jump.After(next) {
				next = jump
			}
			log.Warn("timer far behind; fire times skipped without rows", "walked", steps)
		}
		f = next
	}
	next := f

	runs, missed := e.catchUp(s, ring, now)
	if dropped := total - len(ring); dropped > 0 {
		log.Warn("missed fire times beyond the recorded limit", "unrecorded", dropped)
	}
	for _, m := range missed {
		reason := fmt.Sprintf("missed: the scheduler did not fire this in time (catch-up policy %s, window %s)",
			s.CatchupPolicy, time.Duration(s.CatchupWindowSeconds)*time.Second)
		p.runs = append(p.runs, e.finalRun(s, m, "schedule", "missed", reason, now))
	}
	upd := db.ScheduleFireUpdate{TenantID: s.TenantID, ID: s.ID, NextRunAt: &next}
	if s.TenantSuspended {
		// Kill switch: recorded, never called.
		for _, r := range runs {
			p.runs = append(p.runs, e.finalRun(s, r.at, r.trigger, "failure", reasonSuspended, now))
		}
		if len(runs) > 0 {
			st, reason := "failure", reasonSuspended
			upd.LastStatus, upd.LastError, upd.LastRunAt = &st, &reason, &now
		}
	} else {
		e.applyOverlap(p, s, runs, now)
	}
	p.schedules = append(p.schedules, upd)
	p.timers = append(p.timers, db.TimerChange{TenantID: t.TenantID, Key: t.Key, NextFireAt: &next})
}

const reasonSuspended = "not run: the tenant's schedules are suspended by an operator (kill switch)"

func (e *Engine) markErrored(p *firePlan, t db.DueTimer, s *db.FireSchedule, reason string, log interface {
	Error(string, ...any)
}) {
	log.Error("schedule errored; its timer stops until the schedule is fixed", "error", reason)
	p.errored++
	p.timers = append(p.timers, db.TimerChange{TenantID: t.TenantID, Key: t.Key, NextFireAt: nil})
	p.schedules = append(p.schedules, db.ScheduleFireUpdate{TenantID: s.TenantID, ID: s.ID, SetError: true,
		LastError: &reason})
}

// catchUp splits the passed fire times into those to run and those
// missed. Fire times within CatchupGrace of now are on time; older ones
// follow the schedule's catch-up policy: latest runs the most recent if
// within the window and nothing is on time, skip runs none, all runs up to
// CatchupMax of those within the window, oldest first.
func (e *Engine) catchUp(s *db.FireSchedule, fires []time.Time, now time.Time) (run []fireTime, missed []time.Time) {
	var late []time.Time
	for _, f := range fires {
		if now.Sub(f) <= e.opts.CatchupGrace {
			run = append(run, fireTime{at: f, trigger: "schedule"})
		} else {
			late = append(late, f)
		}
	}
	if len(late) == 0 {
		return run, nil
	}
	windowStart := now.Add(-time.Duration(s.CatchupWindowSeconds) * time.Second)
	var catch []time.Time
	switch s.CatchupPolicy {
	case "skip":
	case "all":
		for _, f := range late {
			if !f.Before(windowStart) {
				catch = append(catch, f)
			}
		}
		if limit := e.opts.CatchupMax - len(run); len(catch) > limit {
			if limit < 0 {
				limit = 0
			}
			catch = catch[len(catch)-limit:]
		}
	default: // latest
		if last := late[len(late)-1]; len(run) == 0 && !last.Before(windowStart) {
			catch = []time.Time{last}
		}
	}
	chosen := make(map[time.Time]bool, len(catch))
	for _, f := range catch {
		chosen[f] = true
	}
	out := make([]fireTime, 0, len(catch)+len(run))
	for _, f := range late {
		if chosen[f] {
			out = append(out, fireTime{at: f, trigger: "catchup"})
		} else {
			missed = append(missed, f)
		}
	}
	return append(out, run...), missed
}

// applyOverlap queues the runs of one schedule under its overlap policy.
// The first run starts as soon as a worker is free; further runs of the
// same cycle (a catch-up chain) are held and released one by one as each
// run ends, so they never overlap.
func (e *Engine) applyOverlap(p *firePlan, s *db.FireSchedule, runs []fireTime, now time.Time) {
	if len(runs) == 0 {
		return
	}
	inFlight := "another run"
	if s.ActiveRunID != nil {
		inFlight = "run " + s.ActiveRunID.String()
	}
	switch {
	case s.OverlapPolicy == "allow":
		for _, r := range runs {
			p.runs = append(p.runs, e.queuedRun(s, r, "-infinity", now))
		}
	case s.Active == 0:
		for i, r := range runs {
			at := "-infinity"
			if i > 0 {
				at = "infinity"
			}
			p.runs = append(p.runs, e.queuedRun(s, r, at, now))
		}
	case s.OverlapPolicy == "buffer_one" && s.Queued == 0:
		// One follow-up, held until the run in flight ends; the rest skip.
		for _, r := range runs[:len(runs)-1] {
			p.runs = append(p.runs, e.finalRun(s, r.at, r.trigger, "skipped",
				"skipped: "+inFlight+" of this schedule was in flight and a newer fire time is buffered (overlap policy buffer_one)", now))
		}
		p.runs = append(p.runs, e.queuedRun(s, runs[len(runs)-1], "infinity", now))
	case s.OverlapPolicy == "buffer_one":
		for _, r := range runs {
			p.runs = append(p.runs, e.finalRun(s, r.at, r.trigger, "skipped",
				"skipped: "+inFlight+" of this schedule was in flight and a follow-up is already buffered (overlap policy buffer_one)", now))
		}
	default: // skip
		for _, r := range runs {
			p.runs = append(p.runs, e.finalRun(s, r.at, r.trigger, "skipped",
				"skipped: "+inFlight+" of this schedule was still in flight (overlap policy skip)", now))
		}
	}
}

func (e *Engine) queuedRun(s *db.FireSchedule, f fireTime, nextAttempt string, now time.Time) db.NewRun {
	return db.NewRun{TenantID: s.TenantID, ID: uuid.New(), ScheduleID: s.ID, InstallID: s.InstallID,
		Trigger: f.trigger, ScheduledFor: f.at, InvocationID: uuid.New(), Status: "queued",
		NextAttemptAt: nextAttempt, CreatedAt: now}
}

func (e *Engine) finalRun(s *db.FireSchedule, at time.Time, trigger, status, reason string, now time.Time) db.NewRun {
	return db.NewRun{TenantID: s.TenantID, ID: uuid.New(), ScheduleID: s.ID, InstallID: s.InstallID,
		Trigger: trigger, ScheduledFor: at, InvocationID: uuid.New(), Status: status,
		NextAttemptAt: "-infinity", Error: &reason, FinishedAt: &now, CreatedAt: now}
}
