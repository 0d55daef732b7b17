package scheduler

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"extcron/db"
	"extcron/runner"
)

// maxLastError bounds schedule.last_error; the run row keeps the whole text.
const maxLastError = 4000

// outcome is the end of one attempt, on its way to the database.
type outcome struct {
	row        db.RunOutcome
	scheduleID uuid.UUID
	// final: the run ends here (success, failure, timeout); otherwise it is
	// queued again (retry, or interrupted by shutdown).
	final   bool
	success bool
	// countsFailure: counts toward consecutive_failures (a kill-switch
	// refusal does not: the schedule did nothing wrong).
	countsFailure bool
	// disable, when set, disables the schedule with this reason.
	disable  string
	retry    bool
	inflight bool // a run of e.inflight, leased until written
	duration time.Duration
}

// dispatchOnce claims up to n queued runs and starts them.
func (e *Engine) dispatchOnce(ctx context.Context, n int) (int, error) {
	start := time.Now()
	now := e.now()
	e.claimMu.RLock()
	var runs []db.ClaimedRun
	err := db.WithBatchTx(ctx, e.conn, func(tx *sqlx.Tx) error {
		var err error
		runs, err = db.ClaimRuns(ctx, tx, e.opts.ProcessID, now, now.Add(e.opts.LeaseDuration), n, e.opts.TenantConcurrency,
			e.finishingRuns())
		if err != nil {
			return err
		}
		// Once per batch: each schedule, install and endpoint read once.
		return db.ResolveClaimedRuns(ctx, tx, runs)
	})
	if err != nil {
		// On failure the claimed runs are not registered, so the requeue
		// after a failed claim puts back any that committed.
		runs = nil
	}
	e.mu.Lock()
	e.unreserve(n, len(runs))
	for _, r := range runs {
		e.inflight[runKey{r.TenantID, r.ID}] = struct{}{}
	}
	e.mu.Unlock()
	e.claimMu.RUnlock()
	if err != nil {
		return 0, err
	}
	e.opts.Metrics.claimed("runs", len(runs), time.Since(start))
	if len(runs) == 0 {
		return 0, nil
	}
	e.log.Debug("run claim", "runs", len(runs), "took_ms", time.Since(start).Milliseconds())
	for _, r := range runs {
		e.start(r, now)
	}
	return len(runs), nil
}

// execute runs one attempt: run-time checks, then the runner call.
func (e *Engine) execute(r db.ClaimedRun, claimedAt time.Time) {
	defer e.calls.Done()
	log := lazyLog{e.log, []any{"tenant_id", r.TenantID, "schedule_id", r.ScheduleID, "run_id", r.ID, "attempt", r.Attempt}}
	out := outcome{scheduleID: r.ScheduleID, inflight: true, row: db.RunOutcome{
		TenantID: r.TenantID, ID: r.ID, LeaseOwner: e.opts.ProcessID, Attempt: r.Attempt,
		VersionID: r.VersionID, ContentHash: r.ContentHash}}
	if r.Attempt == 1 {
		e.opts.Metrics.late(claimedAt.Sub(r.ScheduledFor))
	}
	call, failure, disable, counts := e.prepare(r)
	if failure != "" {
		// A run-time check failed: recorded as a failed run, the runner
		// is never called.
		log.Warn("run refused by a run-time check", "reason", failure)
		out.final, out.countsFailure, out.disable = true, counts, disable
		out.row.Status = "failure"
		out.row.Error = &failure
		out.row.FinishedAt = e.now()
		e.results <- out
		return
	}
	res := e.client.Execute(e.runCtx, call)
	log = log.with("request_id", res.RequestID)
	e.opts.Metrics.attemptDuration(res.Duration)
	out.duration = res.Duration
	out.row.FinishedAt = e.now()
	ms := int(res.Duration.Milliseconds())
	out.row.DurationMS = &ms
	if s := httpStatus(res); s != 0 {
		out.row.HTTPStatus = &s
	}
	if res.Excerpt != "" {
		x := res.Excerpt
		out.row.ResponseExcerpt = &x
	}
	switch {
	case res.Success:
		out.final, out.success = true, true
		out.row.Status = "success"
		log.Info("run succeeded", "duration_ms", ms)
	case e.runCtx.Err() != nil:
		// Our own shutdown cut the call: not the run's fault. Queue it
		// again for any process; the next claim is the next attempt.
		reason := fmt.Sprintf("attempt %d interrupted: the scheduler process stopped during the call", r.Attempt)
		out.row.Status, out.row.Error = "queued", &reason
		next := out.row.FinishedAt
		out.row.NextAttemptAt = &next
		log.Info("run interrupted by shutdown; queued again")
	default:
		reason := res.Reason
		if len(res.Logs) > 0 {
			reason += "\nlogs:\n" + strings.Join(res.Logs, "\n")
		}
		out.row.Error = &reason
		if res.Retryable && r.Attempt < r.RetryMaxAttempts {
			next := out.row.FinishedAt.Add(e.retryDelay(r.Attempt))
			out.row.Status, out.row.NextAttemptAt, out.retry = "queued", &next, true
			log.Warn("run attempt failed; retrying", "reason", res.Reason, "next_attempt_at", next)
		} else {
			out.final, out.countsFailure = true, true
			out.row.Status = "failure"
			if strings.HasPrefix(res.Reason, "timeout") {
				out.row.Status = "timeout"
			}
			log.Warn("run failed", "reason", res.Reason, "status", out.row.Status)
		}
	}
	e.results <- out
}

func httpStatus(res runner.Result) int {
	if res.ExtensionStatus != 0 {
		return res.ExtensionStatus
	}
	return res.RunnerHTTPStatus
}

// retryDelay is the backoff before attempt+1: RetryBase doubled per
// attempt, capped at RetryMax, with ±25% jitter.
func (e *Engine) retryDelay(attempt int) time.Duration {
	d := e.opts.RetryBase
	for i := 1; i < attempt && d < e.opts.RetryMax; i++ {
		d *= 2
	}
	d = min(d, e.opts.RetryMax)
	j := int64(d) / 4
	return d - time.Duration(j) + time.Duration(rand.Int64N(2*j+1))
}

// prepare applies the run-time checks of SPEC §5 and builds the call from
// what is current now: the install's version and content hash, the
// endpoint row. It returns a failure reason instead when a check fails,
// with whether the schedule must be disabled and whether it counts as a
// failure of the schedule.
func (e *Engine) prepare(r db.ClaimedRun) (call runner.Call, failure, disable string, counts bool) {
	switch {
	case !r.ScheduleFound:
		return call, "not run: the schedule no longer exists", "", false
	case !r.InstallFound:
		return call, "not run: the extension is no longer installed", "", true
	case !r.InstallEnabled:
		return call, "not run: the extension is disabled", "", true
	case r.TenantSuspended:
		return call, reasonSuspended, "", false
	case !r.EndpointFound:
		reason := fmt.Sprintf("not run: endpoint %s no longer exists", uuidString(r.EndpointID))
		return call, reason, "disabled: endpoint " + uuidString(r.EndpointID) + " no longer exists; choose another endpoint and enable the schedule again", true
	case r.EndpointVersion == nil || r.VersionID == nil || *r.EndpointVersion != *r.VersionID:
		return call, fmt.Sprintf("not run: endpoint %s %s is not in the installed version %s",
			deref(r.EndpointMethod), deref(r.EndpointPath), deref(r.Version)), "", true
	}
	config, err := e.settings.config(r.Config)
	if err != nil {
		return call, "not run: the extension's configuration cannot be read", "", true
	}
	providers, err := e.settings.providers(r.Providers)
	if err != nil {
		return call, "not run: the extension's providers cannot be read", "", true
	}
	var envelope *runner.SecretEnvelope
	if len(r.Secrets) > 0 {
		if e.opts.Secrets != nil {
			if err := e.opts.Secrets.CheckSecrets(r.TenantID, r.InstallID, r.Secrets); err != nil {
				e.log.Warn("install secrets unreadable", "tenant_id", r.TenantID, "install_id", r.InstallID, "error", err)
				return call, "not run: the extension's secrets cannot be read (re-enter them on the settings page)", "", true
			}
		}
		envelope = &runner.SecretEnvelope{CiphertextB64: base64.StdEncoding.EncodeToString(r.Secrets),
			KeyID: "install:" + r.InstallID.String(), Algorithm: "AES-256-GCM"}
	}
	call = runner.Call{
		TenantID:       r.TenantID.String(),
		ExtensionID:    uuidString(r.ExtensionID),
		InstallID:      r.InstallID.String(),
		VersionID:      uuidString(r.VersionID),
		ContentHash:    deref(r.ContentHash),
		Config:         config,
		Trigger:        r.Trigger,
		ScheduleID:     r.ScheduleID.String(),
		ScheduledFor:   r.ScheduledFor,
		InvocationID:   r.InvocationID.String(),
		Attempt:        r.Attempt,
		Method:         deref(r.EndpointMethod),
		Path:           deref(r.EndpointPath),
		Payload:        r.Payload,
		Providers:      providers,
		SecretEnvelope: envelope,
	}
	return call, "", "", false
}

// settingsCache remembers decoded install configs and provider lists by
// their stored JSON: every run of an install carries the same bytes, and
// decoding them per run was a noticeable share of the engine's CPU. The
// decoded values are shared read-only by the calls that use them. Each
// map is bounded by starting over when full.
type settingsCache struct {
	mu   sync.Mutex
	cfg  map[string]map[string]string
	prov map[string][]string
}

const settingsCacheMax = 1024

func newSettingsCache() *settingsCache {
	return &settingsCache{cfg: map[string]map[string]string{}, prov: map[string][]string{}}
}

func (c *settingsCache) config(raw []byte) (map[string]string, error) {
	if len(raw) == 0 {
		return map[string]string{}, nil
	}
	return decodeOnce(&c.mu, c.cfg, raw)
}

func (c *settingsCache) providers(raw []byte) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	return decodeOnce(&c.mu, c.prov, raw)
}

// decodeOnce returns raw decoded, from seen or decoded now and kept.
func decodeOnce[T any](mu *sync.Mutex, seen map[string]T, raw []byte) (T, error) {
	mu.Lock()
	v, ok := seen[string(raw)]
	mu.Unlock()
	if ok {
		return v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, err
	}
	mu.Lock()
	if len(seen) >= settingsCacheMax {
		clear(seen)
	}
	seen[string(raw)] = v
	mu.Unlock()
	return v, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func uuidString(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}

// finishLoop writes attempt outcomes in batches: one transaction for many
// runs. A failed write (database restarting) is retried with backoff, so
// a result is not lost while this process lives.
func (e *Engine) finishLoop() {
	defer e.finisher.Done()
	batch := make([]outcome, 0, e.opts.BatchSize)
	for first := range e.results {
		batch = append(batch[:0], first)
		// Under load, wait a moment for a fuller batch: one commit for
		// many results is what makes throughput; when idle, write at once.
		linger := time.NewTimer(2 * time.Millisecond)
	more:
		for len(batch) < e.opts.BatchSize {
			select {
			case o, ok := <-e.results:
				if !ok {
					break more
				}
				batch = append(batch, o)
				continue
			default:
			}
			if e.busy() < 8 {
				break
			}
			select {
			case o, ok := <-e.results:
				if !ok {
					break more
				}
				batch = append(batch, o)
			case <-linger.C:
				break more
			}
		}
		linger.Stop()
		e.finish(batch)
		e.writeBatch(batch)
	}
}

func (e *Engine) writeBatch(batch []outcome) {
	var stopDeadline time.Time
	for failures := 0; ; failures++ {
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var applied map[runKey]string
		err := db.WithBatchTx(ctx, e.conn, func(tx *sqlx.Tx) error {
			var err error
			applied, err = e.writeOutcomes(ctx, tx, batch)
			return err
		})
		cancel()
		if err == nil {
			e.log.Debug("results written", "runs", len(batch), "took_ms", time.Since(t0).Milliseconds())
			e.release(batch, applied)
			return
		}
		e.log.Warn("writing run results failed; retrying", "error", err, "runs", len(batch), "failures", failures)
		if e.loopCtx.Err() != nil {
			// Stopping: keep trying briefly, then leave the runs to lease
			// recovery by another process.
			if stopDeadline.IsZero() {
				stopDeadline = time.Now().Add(10 * time.Second)
			} else if time.Now().After(stopDeadline) {
				e.log.Error("giving up writing run results at shutdown; their leases will expire", "runs", len(batch))
				e.release(batch, nil)
				return
			}
		}
		d := 100 * time.Millisecond << min(failures, 4)
		time.Sleep(d/2 + time.Duration(rand.Int64N(int64(d)/2+1)))
	}
}

// finish frees the worker slots and tenant-cap places of a batch of
// ended calls as soon as a finisher holds their results: the next claim
// need not wait for the batch's commit. The runs stay leased (renewed,
// and fenced at the write) until release.
func (e *Engine) finish(batch []outcome) {
	e.mu.Lock()
	for _, o := range batch {
		if o.inflight {
			e.finishing[runKey{o.row.TenantID, o.row.ID}] = struct{}{}
		}
	}
	e.mu.Unlock()
	signal(e.wakeFire)
	signal(e.wakeDispatch)
}

// release forgets the runs of a written batch and counts it.
func (e *Engine) release(batch []outcome, applied map[runKey]string) {
	e.mu.Lock()
	for _, o := range batch {
		if o.inflight {
			k := runKey{o.row.TenantID, o.row.ID}
			delete(e.inflight, k)
			delete(e.finishing, k)
		}
	}
	e.mu.Unlock()
	for _, o := range batch {
		st, ok := applied[runKey{o.row.TenantID, o.row.ID}]
		if !ok {
			if applied != nil {
				e.log.Info("late result discarded: the run was taken over by another lease holder",
					"tenant_id", o.row.TenantID, "run_id", o.row.ID, "attempt", o.row.Attempt)
			}
			continue
		}
		if o.retry {
			e.opts.Metrics.retried()
		}
		if st != "queued" {
			e.opts.Metrics.runFinished(st, 0)
		}
	}
	signal(e.wakeDispatch)
}

// writeOutcomes writes run rows (fenced), the schedules' bookkeeping in
// the same transaction, pause-after-failures, endpoint-missing disables,
// and releases held follow-ups of schedules whose run ended. It returns
// the status written per run that was still ours.
func (e *Engine) writeOutcomes(ctx context.Context, tx *sqlx.Tx, batch []outcome) (map[runKey]string, error) {
	// Lock rows in one order (schedule, then run) so concurrent finish
	// transactions never deadlock on shared schedules.
	// Stable: a schedule's outcomes keep their order for the fold below.
	sort.SliceStable(batch, func(i, j int) bool {
		a, b := batch[i], batch[j]
		if c := bytes.Compare(a.row.TenantID[:], b.row.TenantID[:]); c != 0 {
			return c < 0
		}
		return bytes.Compare(a.scheduleID[:], b.scheduleID[:]) < 0
	})
	rows := make([]db.RunOutcome, len(batch))
	for i, o := range batch {
		rows[i] = o.row
	}
	done, err := db.FinishRuns(ctx, e.stmts.On(tx), rows)
	if err != nil {
		return nil, err
	}
	applied := make(map[runKey]string, len(done))
	for _, d := range done {
		applied[runKey{d.TenantID, d.ID}] = d.Status
	}
	// Fold each schedule's final runs in order.
	type agg struct {
		out   db.ScheduleOutcome
		order int
	}
	aggs := map[runKey]*agg{}
	var order []runKey
	var disables []db.DisabledSchedule
	for _, o := range batch {
		k := runKey{o.row.TenantID, o.row.ID}
		if _, ok := applied[k]; !ok || !o.final {
			continue
		}
		sk := runKey{o.row.TenantID, o.scheduleID}
		a := aggs[sk]
		if a == nil {
			a = &agg{out: db.ScheduleOutcome{TenantID: o.row.TenantID, ID: o.scheduleID}}
			aggs[sk] = a
			order = append(order, sk)
		}
		a.out.LastRunAt = o.row.FinishedAt
		a.out.LastStatus = o.row.Status
		a.out.LastError = nil
		if o.row.Error != nil {
			s := truncate(*o.row.Error, maxLastError)
			a.out.LastError = &s
		}
		switch {
		case o.success:
			at := o.row.FinishedAt
			a.out.LastSuccessAt = &at
			a.out.Reset, a.out.Failures = true, 0
		case o.countsFailure:
			a.out.Failures++
		}
		if o.disable != "" {
			disables = append(disables, db.DisabledSchedule{TenantID: o.row.TenantID, ID: o.scheduleID, LastError: o.disable})
		}
	}
	outs := make([]db.ScheduleOutcome, 0, len(order))
	for _, k := range order {
		outs = append(outs, aggs[k].out)
	}
	// Held follow-ups of the schedules whose run ended are released in the
	// same statement.
	paused, err := db.ApplyScheduleOutcomes(ctx, e.stmts.On(tx), outs, e.now())
	if err != nil {
		return nil, err
	}
	for _, p := range paused {
		reason := fmt.Sprintf("disabled after %d consecutive failed runs (pause after failures); last error: %s",
			p.ConsecutiveFailures, deref(p.LastError))
		disables = append(disables, db.DisabledSchedule{TenantID: p.TenantID, ID: p.ID, LastError: truncate(reason, maxLastError)})
	}
	if len(disables) > 0 {
		off, err := db.DisableSchedules(ctx, tx, disables)
		if err != nil {
			return nil, err
		}
		reasons := map[runKey]string{}
		for _, d := range disables {
			reasons[runKey{d.TenantID, d.ID}] = d.LastError
		}
		for _, s := range off {
			reason := reasons[runKey{s.TenantID, s.ID}]
			e.log.Warn("schedule disabled by the scheduler", "tenant_id", s.TenantID, "schedule_id", s.ID, "reason", reason)
			if err := db.InsertAudit(ctx, tx, db.Audit{TenantID: s.TenantID, Actor: "scheduler",
				Action: "schedule.disable", TargetType: "schedule", TargetID: s.ID.String(),
				After: map[string]any{"enabled": false, "reason": reason}}); err != nil {
				return nil, err
			}
		}
	}
	return applied, nil
}

// recoverExpired takes over runs whose lease expired (their process died
// or lost the database): the attempt counts as failed retryably, so the
// run is queued again as its next attempt, same invocation_id, or fails
// when its attempts are used up.
func (e *Engine) recoverExpired(ctx context.Context) (int, error) {
	now := e.now()
	// Almost always nothing has expired, which one read says without a
	// transaction.
	if any, err := db.AnyLeaseExpired(ctx, e.stmts.On(e.conn), now); err != nil || !any {
		return 0, err
	}
	n := 0
	err := db.WithTx(ctx, e.conn, func(tx *sqlx.Tx) error {
		expired, err := db.LockExpiredRuns(ctx, tx, now, e.opts.BatchSize)
		if err != nil || len(expired) == 0 {
			return err
		}
		n = len(expired)
		batch := make([]outcome, 0, len(expired))
		for _, x := range expired {
			reason := fmt.Sprintf("attempt %d lost: its lease expired (the process %s running it stopped or lost the database)",
				x.Attempt, x.LeaseOwner)
			o := outcome{scheduleID: x.ScheduleID, row: db.RunOutcome{TenantID: x.TenantID, ID: x.ID,
				LeaseOwner: x.LeaseOwner, Attempt: x.Attempt, FinishedAt: now, Error: &reason}}
			if x.Attempt < x.RetryMaxAttempts {
				next := now
				o.row.Status, o.row.NextAttemptAt, o.retry = "queued", &next, true
			} else {
				o.row.Status, o.final, o.countsFailure = "failure", true, true
			}
			e.log.Warn("run recovered after lease expiry", "tenant_id", x.TenantID, "schedule_id", x.ScheduleID,
				"run_id", x.ID, "attempt", x.Attempt, "status", o.row.Status)
			batch = append(batch, o)
		}
		applied, err := e.writeOutcomes(ctx, tx, batch)
		if err != nil {
			return err
		}
		for _, o := range batch {
			if st, ok := applied[runKey{o.row.TenantID, o.row.ID}]; ok {
				if o.retry {
					e.opts.Metrics.retried()
				} else {
					e.opts.Metrics.runFinished(st, 0)
				}
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return 0, err
	}
	return n, nil
}

// truncate cuts s to at most max bytes on a rune boundary.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}
