package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"extcron/db"
	"extcron/runner"
)

// Executor calls the runner: *runner.Client in production, anything with
// the same method in tests.
type Executor interface {
	Execute(ctx context.Context, call runner.Call) runner.Result
}

// SecretOpener checks that an install's sealed secrets open; the engine
// checks before calling the runner (which receives them sealed, in the
// envelope). *extensions.Installs has it.
type SecretOpener interface {
	CheckSecrets(tenantID, installID uuid.UUID, ciphertext []byte) error
}

// Options configure an Engine. Zero values take the defaults in brackets.
type Options struct {
	// ProcessID names this process as a lease owner; it must be unique
	// among the processes sharing the database [hostname:pid:random].
	ProcessID string
	// DatabaseURL is used for LISTEN/NOTIFY wake-ups; empty means the
	// engine only polls.
	DatabaseURL string
	// Workers bounds the runner calls in flight in this process [64].
	Workers int
	// BatchSize bounds the timers claimed per fire transaction and the
	// results written per finish transaction [500].
	BatchSize int
	// TenantConcurrency caps one tenant's runs in flight [10].
	TenantConcurrency int
	// RunnerTimeout is the runner client's deadline [30s]; it sizes the
	// lease.
	RunnerTimeout time.Duration
	// LeaseDuration is how long a claimed run stays ours without renewal
	// [RunnerTimeout + 30s]; renewed every third of it while the call runs.
	LeaseDuration time.Duration
	// PollInterval is the fallback look for work when no NOTIFY arrives
	// [5s, ±20% jitter].
	PollInterval time.Duration
	// Now is the clock [time.Now]. It decides what is due and is passed
	// into SQL: the database's own now() never does.
	Now func() time.Time
	// RetryBase and RetryMax bound the exponential retry backoff [10s, 5m].
	RetryBase time.Duration
	RetryMax  time.Duration
	// QueueAfter is how long a due fire time may wait in its timer while
	// this process has no room to start it (every worker busy, or its
	// tenant at the cap) before it is recorded as a queued run [10s].
	QueueAfter time.Duration
	// CatchupMax bounds the runs of catch-up policy "all" [10].
	CatchupMax int
	// CatchupGrace is how late a fire time may be and still count as on
	// time rather than missed [1m].
	CatchupGrace time.Duration
	// MissedRecorded bounds the missed rows written for one schedule in one
	// fire cycle after a long downtime (the most recent are kept) [100].
	MissedRecorded int
	// RetentionRuns and RetentionAge bound run history [1000, 90 days];
	// RetentionInterval is how often it is pruned [1h].
	RetentionRuns     int
	RetentionAge      time.Duration
	RetentionInterval time.Duration
	// ReconcileInterval is how often timers are reconciled with schedules
	// [1m]; negative disables the background reconciliation.
	ReconcileInterval time.Duration
	// StopGrace is how long Stop waits for calls in flight before
	// cancelling them (they are queued again) [5s].
	StopGrace time.Duration
	Secrets   SecretOpener
	Logger    *slog.Logger
	Metrics   *Metrics
}

func (o *Options) defaults() {
	if o.ProcessID == "" {
		host, _ := os.Hostname()
		o.ProcessID = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.TenantConcurrency <= 0 {
		o.TenantConcurrency = 10
	}
	if o.RunnerTimeout <= 0 {
		o.RunnerTimeout = runner.DefaultTimeout
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = o.RunnerTimeout + 30*time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 10 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	if o.QueueAfter <= 0 {
		o.QueueAfter = 10 * time.Second
	}
	if o.CatchupMax <= 0 {
		o.CatchupMax = 10
	}
	if o.CatchupGrace <= 0 {
		o.CatchupGrace = time.Minute
	}
	if o.MissedRecorded <= 0 {
		o.MissedRecorded = 100
	}
	if o.RetentionRuns <= 0 {
		o.RetentionRuns = 1000
	}
	if o.RetentionAge <= 0 {
		o.RetentionAge = 90 * 24 * time.Hour
	}
	if o.RetentionInterval <= 0 {
		o.RetentionInterval = time.Hour
	}
	if o.ReconcileInterval == 0 {
		o.ReconcileInterval = time.Minute
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Parallelism inside one engine: fire loops claim disjoint timer batches
// (SKIP LOCKED, as separate processes would), and finishers write result
// batches side by side, so one transaction's commit latency does not
// bound the whole engine.
const (
	fireLoops     = 2
	dispatchLoops = 2
	finishers     = 4
)

// runKey identifies a run.
type runKey struct{ tenantID, id uuid.UUID }

// Engine fires schedules and executes runs. Any number of engines may run
// against one database; none is special.
//
// The cycle, per engine:
//
//	scheduler_timer ──fire (1 tx per batch)──────────────▶ workers ──finish (1 tx per batch)──▶ run + schedule
//	 due, SKIP LOCKED,   catch-up, overlap, kill switch;    runner    fenced by lease owner and
//	 as many as there    runs written running under our     call      attempt; last_*, next_run_at,
//	 is room for         lease (ON CONFLICT DO NOTHING);              pause, held follow-up released
//	                     timer advanced from its nominal
//	                     time
//	          │ waited QueueAfter without room, retry, run-now, held follow-up
//	          ▼
//	     queued run rows ──claim (lease, attempt+1)──▶ workers
//
//	NOTIFY extcron_wake / poll wake the loops; expired leases are taken
//	over as the next attempt.
//
// Fire: a transaction claims due timers (FOR UPDATE SKIP LOCKED) — only as
// many as this process has free workers, and per tenant only what the cap
// leaves — walks each timer's fire times from its nominal next_fire_at
// (never from now), applies catch-up and overlap, writes the runs in one
// statement with ON CONFLICT DO NOTHING on the (tenant, schedule,
// scheduled_for) key — the guarantee that a fire time is recorded once
// however many processes run — and advances the timer. The runs that may
// start are written running under this process's lease and handed to the
// workers at once, built from what the same transaction read. A timer
// without room stays due until there is room, or until it has waited
// QueueAfter: then its run is written queued.
//
// Execute: queued runs that are due (run-now, fire times that waited,
// retries whose backoff ended, held follow-ups once released) are claimed
// in one statement that marks them running under this process's lease,
// bounded by free workers and the per-tenant cap; the call is built from
// what is current at claim time. Leases are renewed while calls run;
// results are written in batches, each only where the lease owner and
// attempt still match, together with the schedule's bookkeeping.
//
// Recovery: a run whose lease expired (its process died, or lost the
// database for longer than the lease) is taken by any engine as a failed
// attempt: queued again as the next attempt with the same invocation_id,
// or failed when its attempts are used up. Nothing stays running.
type Engine struct {
	conn  *sqlx.DB
	stmts *db.StmtCache // the hot statements, prepared once per connection
	// settings: install configs and provider lists decoded once.
	settings *settingsCache
	client   Executor
	opts     Options
	log      *slog.Logger
	now      func() time.Time

	wakeFire     chan struct{}
	wakeDispatch chan struct{}
	wakeRecover  chan struct{}
	results      chan outcome
	work         chan attempt // to the worker pool; never more than Workers queued

	mu sync.Mutex
	// inflight: runs leased to this engine, from claim until their result
	// is written (leases renewed, never requeued as unstarted).
	inflight map[runKey]struct{}
	// finishing: the subset of inflight whose call has ended, its result
	// taken by a finisher but not yet committed. They hold neither a
	// worker slot nor a place under the tenant cap: the claim does not
	// count them among the tenant's runs in flight.
	finishing map[runKey]struct{}
	reserved  int // worker slots booked by claims in progress
	// starved: a loop found no slot only because other claims had booked
	// them. The next claim that takes work wakes the loops as it gives its
	// booking back; an empty claim wakes no one.
	starved bool
	claimMu sync.RWMutex // claims share it; requeueUnstarted excludes them
	started bool
	stopped bool

	runCtx     context.Context // cancels runner calls (after the stop grace)
	cancelRuns context.CancelFunc
	loopCtx    context.Context // stops claiming
	cancelLoop context.CancelFunc
	loops      sync.WaitGroup // claim, listen and maintenance loops
	calls      sync.WaitGroup // runner calls in flight
	finisher   sync.WaitGroup
	stopOnce   sync.Once
}

// NewEngine builds an engine; Start runs it.
func NewEngine(conn *sqlx.DB, client Executor, opts Options) *Engine {
	opts.defaults()
	return &Engine{
		conn:         conn,
		stmts:        db.NewStmtCache(conn),
		settings:     newSettingsCache(),
		client:       client,
		opts:         opts,
		log:          opts.Logger.With("process_id", opts.ProcessID),
		now:          opts.Now,
		wakeFire:     make(chan struct{}, 1),
		wakeDispatch: make(chan struct{}, 1),
		wakeRecover:  make(chan struct{}, 1),
		results:      make(chan outcome, opts.Workers),
		work:         make(chan attempt, opts.Workers),
		inflight:     map[runKey]struct{}{},
		finishing:    map[runKey]struct{}{},
	}
}

// ProcessID is the lease owner name of this engine.
func (e *Engine) ProcessID() string { return e.opts.ProcessID }

// Start checks the database and starts the engine's loops in the
// background. ctx bounds only the setup.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return errors.New("scheduler engine already started")
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.conn.PingContext(pingCtx); err != nil {
		return fmt.Errorf("scheduler engine: %w", err)
	}
	var listener *pq.Listener
	if e.opts.DatabaseURL != "" {
		listener = pq.NewListener(e.opts.DatabaseURL, 100*time.Millisecond, 5*time.Second, e.listenerEvent)
		if err := listener.Listen(WakeChannel); err != nil {
			_ = listener.Close()
			return fmt.Errorf("scheduler engine: listen %s: %w", WakeChannel, err)
		}
	}
	e.started = true
	e.loopCtx, e.cancelLoop = context.WithCancel(context.Background())
	e.runCtx, e.cancelRuns = context.WithCancel(context.Background())
	// Long-lived workers: a goroutine per call would grow a fresh stack
	// through the HTTP client for every run.
	for i := 0; i < e.opts.Workers; i++ {
		go e.worker()
	}
	e.finisher.Add(finishers)
	for i := 0; i < finishers; i++ {
		go e.finishLoop()
	}
	e.loops.Add(fireLoops + dispatchLoops + 3)
	for i := 0; i < fireLoops; i++ {
		go e.fireLoop()
	}
	for i := 0; i < dispatchLoops; i++ {
		go e.dispatchLoop()
	}
	go e.renewLoop()
	go e.recoverLoop()
	go e.maintenanceLoop()
	if listener != nil {
		e.loops.Add(1)
		go e.listenLoop(listener)
	}
	e.log.Info("scheduler engine started", "workers", e.opts.Workers, "batch_size", e.opts.BatchSize,
		"tenant_concurrency", e.opts.TenantConcurrency, "lease", e.opts.LeaseDuration.String())
	return nil
}

// Stop stops claiming, waits up to StopGrace for runner calls in flight
// (cancelled calls are queued again for any process), writes their results
// and returns. It is idempotent and safe to call without Start.
func (e *Engine) Stop() {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		started := e.started
		e.stopped = true
		e.mu.Unlock()
		if !started {
			return
		}
		e.cancelLoop()
		e.loops.Wait()
		done := make(chan struct{})
		go func() { e.calls.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(e.opts.StopGrace):
			e.cancelRuns()
			<-done
		}
		e.cancelRuns()
		close(e.work)
		close(e.results)
		e.finisher.Wait()
		e.stmts.Close()
		e.log.Info("scheduler engine stopped")
	})
}

// Wake asks the engine to look for due work now (tests call it after
// moving the clock; NOTIFY does the same across processes).
func (e *Engine) Wake() {
	signal(e.wakeFire)
	signal(e.wakeDispatch)
	signal(e.wakeRecover)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (e *Engine) listenerEvent(ev pq.ListenerEventType, err error) {
	switch ev {
	case pq.ListenerEventDisconnected:
		e.log.Warn("scheduler wake-up listener disconnected", "error", err)
	case pq.ListenerEventReconnected:
		// Notifications sent while disconnected are lost: look now.
		e.log.Info("scheduler wake-up listener reconnected")
		e.Wake()
	case pq.ListenerEventConnectionAttemptFailed:
		e.log.Debug("scheduler wake-up listener reconnect failed", "error", err)
	}
}

// listenLoop turns notifications into wake-ups. The listener reconnects by
// itself; a periodic ping detects a silently dead connection.
func (e *Engine) listenLoop(l *pq.Listener) {
	defer e.loops.Done()
	defer func() { _ = l.Close() }()
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-e.loopCtx.Done():
			return
		case <-l.Notify:
			e.Wake()
		case <-ping.C:
			go func() { _ = l.Ping() }()
		}
	}
}

// pollDelay is the fallback wait with ±20% jitter.
func (e *Engine) pollDelay() time.Duration {
	p := e.opts.PollInterval
	return p - p/5 + time.Duration(rand.Int64N(int64(p)*2/5+1))
}

// sleepUntilDue waits until the next due instant (by the injected clock),
// a wake-up, or the poll fallback, whichever comes first. It returns false
// when the engine stops.
func (e *Engine) sleepUntilDue(wake chan struct{}, next func(context.Context, db.Queryer) (*time.Time, error), busy bool) bool {
	d := e.pollDelay()
	// Work is due but could not be taken (locked by another loop or
	// process, tenant caps, no free worker): look again soon, not in a
	// spin.
	soon := min(d, soonDelay())
	if busy {
		d = soon
	} else {
		ctx, cancel := context.WithTimeout(e.loopCtx, 5*time.Second)
		at, err := next(ctx, e.stmts.On(e.conn))
		cancel()
		if err == nil && at != nil {
			if until := at.Sub(e.now()); until > 0 {
				// A few ms late rather than early: an early look finds
				// nothing.
				d = min(d, until+2*time.Millisecond)
			} else {
				// Already due, yet this look found nothing to take.
				d = soon
			}
		}
	}
	return e.wait(wake, d)
}

// soonDelay is the wait before looking again at work that is due but
// could not be taken: 50 to 100 ms.
func soonDelay() time.Duration {
	return 50*time.Millisecond + time.Duration(rand.Int64N(int64(50*time.Millisecond)))
}

func (e *Engine) wait(wake chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-e.loopCtx.Done():
		return false
	case <-wake:
		return true
	case <-t.C:
		return true
	}
}

// backoff sleeps after a database error, with jitter, so a restarting
// database is retried briskly but never hammered.
func (e *Engine) backoff(failures int) bool {
	d := 100 * time.Millisecond << min(failures, 5)
	d = d/2 + time.Duration(rand.Int64N(int64(d)/2+1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-e.loopCtx.Done():
		return false
	case <-t.C:
		return true
	}
}

// fireLoop claims due timers and records their runs, batch after batch,
// then sleeps until the next one is due, or until room frees up when due
// timers were left behind for lack of it.
func (e *Engine) fireLoop() {
	defer e.loops.Done()
	failures := 0
	for {
		if e.loopCtx.Err() != nil {
			return
		}
		outcome, err := e.fireOnce(e.loopCtx)
		if err != nil {
			if e.loopCtx.Err() != nil {
				return
			}
			failures++
			e.log.Warn("fire cycle failed", "error", err, "failures", failures)
			// A failed cycle may have committed runs written running
			// without us hearing back: put back what we are not executing.
			if n, err := e.requeueUnstarted(); err == nil && n > 0 {
				e.log.Warn("runs started during a connection loss were queued again", "runs", n)
			}
			if !e.backoff(failures) {
				return
			}
			continue
		}
		failures = 0
		ok := true
		switch outcome {
		case fireFull:
			continue // more may be due right now
		case fireWaiting:
			// Due timers wait for room: a finished call signals wakeFire;
			// the poll is the fallback (and takes overdue timers).
			ok = e.wait(e.wakeFire, e.pollDelay())
		case fireContended:
			ok = e.wait(e.wakeFire, soonDelay())
		default:
			ok = e.sleepUntilDue(e.wakeFire, db.NextTimerDue, false)
		}
		if !ok {
			return
		}
	}
}

// dispatchLoop recovers expired leases and claims queued runs for the free
// workers.
func (e *Engine) dispatchLoop() {
	defer e.loops.Done()
	failures := 0
	claimLost := false
	for {
		if e.loopCtx.Err() != nil {
			return
		}
		if claimLost {
			// A failed claim may have committed without us hearing back:
			// put back what is leased to us but not executing.
			if n, err := e.requeueUnstarted(); err == nil {
				claimLost = false
				if n > 0 {
					e.log.Warn("runs claimed during a connection loss were queued again", "runs", n)
				}
			}
		}
		want, _ := e.reserve()
		claimed, err := 0, error(nil)
		if want > 0 {
			claimed, err = e.dispatchOnce(e.loopCtx, want)
		}
		if err != nil {
			if e.loopCtx.Err() != nil {
				return
			}
			failures++
			claimLost = true
			e.log.Warn("run claim failed", "error", err, "failures", failures)
			if !e.backoff(failures) {
				return
			}
			continue
		}
		failures = 0
		if want > 0 && claimed == want {
			continue
		}
		// No free worker: a finishing run signals wakeDispatch.
		if !e.sleepUntilDue(e.wakeDispatch, db.NextRunDue, want == 0) {
			return
		}
	}
}

// reserve books worker slots for one claim: half the free slots (at least
// the threshold below), so the loops claiming at the same moment each get
// some instead of the first booking them all and the others waiting; none
// when the engine is busy and only a few are free (then slots add up
// first, so a claim takes many runs at once rather than one per finished
// run). contended reports that the slots are missing only because other claims
// have booked them for the moment: the caller looks again soon, or when
// one of those claims took work and gives back what it did not use.
func (e *Engine) reserve() (n int, contended bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	executing := len(e.inflight) - len(e.finishing)
	free := e.opts.Workers - executing - e.reserved
	threshold := min(e.opts.Workers/4, 64)
	if executing+e.reserved > 0 && free < threshold {
		// Not contended when the workers are simply busy: a finished
		// call wakes the loops then.
		contended = free+e.reserved >= threshold
		e.starved = e.starved || contended
		return 0, contended
	}
	n = max(min(free, e.opts.BatchSize, max(threshold, free/2)), 0)
	e.reserved += n
	return n, false
}

// attempt is a claimed run handed to a worker.
type attempt struct {
	run       db.ClaimedRun
	claimedAt time.Time
}

// start hands a claimed run to the worker pool. The caller has booked a
// worker slot for it, so the send never waits.
func (e *Engine) start(r db.ClaimedRun, claimedAt time.Time) {
	e.calls.Add(1)
	e.work <- attempt{r, claimedAt}
}

func (e *Engine) worker() {
	for a := range e.work {
		e.execute(a.run, a.claimedAt)
	}
}

// unreserve gives back a claim's booked slots (the caller holds e.mu) and,
// when the claim took work, wakes the loops that found none because of
// it. An empty claim wakes no one: loops woken together book against each
// other, and each empty claim waking the others would keep them claiming
// in turn, forever; a starved loop looks again soon by itself.
func (e *Engine) unreserve(n, took int) {
	e.reserved -= n
	if e.starved && took > 0 {
		e.starved = false
		signal(e.wakeFire)
		signal(e.wakeDispatch)
	}
}

// requeueUnstarted holds claimMu exclusively: no claim can be between its
// database write and its registration in inflight meanwhile.
func (e *Engine) requeueUnstarted() (int64, error) {
	e.claimMu.Lock()
	defer e.claimMu.Unlock()
	e.mu.Lock()
	refs := make([]db.ScheduleRef, 0, len(e.inflight))
	for k := range e.inflight {
		refs = append(refs, db.ScheduleRef{TenantID: k.tenantID, ID: k.id})
	}
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(e.loopCtx, 10*time.Second)
	defer cancel()
	return db.RequeueUnstartedRuns(ctx, e.conn, e.opts.ProcessID, refs)
}

// busy is the number of runner calls this engine has in flight.
func (e *Engine) busy() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.inflight) - len(e.finishing)
}

// finishingRuns lists the runs whose call has ended and whose result is
// not yet committed: the claim leaves them out of the tenant cap.
func (e *Engine) finishingRuns() []uuid.UUID {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]uuid.UUID, 0, len(e.finishing))
	for k := range e.finishing {
		ids = append(ids, k.id)
	}
	return ids
}

// recoverLoop takes over runs whose lease expired: every tenth of the
// lease (between 250 ms and 5 s; an idle process looks rarely) and on
// wake-ups.
func (e *Engine) recoverLoop() {
	defer e.loops.Done()
	t := time.NewTicker(min(max(e.opts.LeaseDuration/10, 250*time.Millisecond), 5*time.Second))
	defer t.Stop()
	for {
		if _, err := e.recoverExpired(e.loopCtx); err != nil && e.loopCtx.Err() == nil {
			e.log.Warn("lease recovery failed", "error", err)
		}
		select {
		case <-e.loopCtx.Done():
			return
		case <-t.C:
		case <-e.wakeRecover:
		}
	}
}

// renewLoop extends the leases of the runs in flight every third of the
// lease, so a long call is never taken for a dead one.
func (e *Engine) renewLoop() {
	defer e.loops.Done()
	t := time.NewTicker(e.opts.LeaseDuration / 3)
	defer t.Stop()
	for {
		select {
		case <-e.loopCtx.Done():
			return
		case <-t.C:
		}
		e.renewLeases()
	}
}

func (e *Engine) renewLeases() {
	e.mu.Lock()
	refs := make([]db.ScheduleRef, 0, len(e.inflight))
	for k := range e.inflight {
		refs = append(refs, db.ScheduleRef{TenantID: k.tenantID, ID: k.id})
	}
	e.mu.Unlock()
	if len(refs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(e.loopCtx, e.opts.LeaseDuration/3)
	defer cancel()
	if err := db.RenewLeases(ctx, e.conn, e.opts.ProcessID, refs, e.now().Add(e.opts.LeaseDuration)); err != nil {
		e.log.Warn("lease renewal failed", "error", err, "runs", len(refs))
	}
}

// maintenanceLoop reconciles timers, prunes history and samples the
// backlog gauge.
func (e *Engine) maintenanceLoop() {
	defer e.loops.Done()
	gauge := time.NewTicker(10 * time.Second)
	defer gauge.Stop()
	retention := time.NewTicker(e.opts.RetentionInterval)
	defer retention.Stop()
	var reconcile <-chan time.Time
	if e.opts.ReconcileInterval > 0 {
		t := time.NewTicker(e.opts.ReconcileInterval)
		defer t.Stop()
		reconcile = t.C
	}
	for {
		select {
		case <-e.loopCtx.Done():
			return
		case <-gauge.C:
			ctx, cancel := context.WithTimeout(e.loopCtx, 5*time.Second)
			n, err := db.CountDue(ctx, e.conn, e.now(), 100000)
			cancel()
			if err == nil {
				e.opts.Metrics.setBacklog(n)
			}
		case <-reconcile:
			ctx, cancel := context.WithTimeout(e.loopCtx, time.Minute)
			if err := e.reconcileInBackground(ctx); err != nil && e.loopCtx.Err() == nil {
				e.log.Warn("reconciliation failed", "error", err)
			}
			cancel()
		case <-retention.C:
			ctx, cancel := context.WithTimeout(e.loopCtx, 5*time.Minute)
			if _, err := e.Prune(ctx); err != nil && e.loopCtx.Err() == nil {
				e.log.Warn("run history pruning failed", "error", err)
			}
			cancel()
		}
	}
}

// BackgroundReconciler names the background reconciliation as the author
// of its reports on the operator health page.
const BackgroundReconciler = "the scheduler (background, every minute)"

// reconcileInBackground reconciles and keeps the report for the health
// page of every process (a pass skipped because another process was at it
// leaves that one's report).
func (e *Engine) reconcileInBackground(ctx context.Context) error {
	rep, err := e.Reconcile(ctx)
	if err != nil || rep.Skipped {
		return err
	}
	rep.CheckedAt = rep.CheckedAt.UTC()
	return db.SaveReconciliation(ctx, e.conn, rep.CheckedAt, BackgroundReconciler, rep)
}

// lazyLog is a logger with context attributes that costs nothing until a
// message is logged: slog's With formats its attributes at once, which
// per timer and per run adds up at thousands of runs per second.
type lazyLog struct {
	l     *slog.Logger
	attrs []any
}

func (g lazyLog) with(args ...any) lazyLog {
	return lazyLog{g.l, append(g.attrs[:len(g.attrs):len(g.attrs)], args...)}
}

func (g lazyLog) args(args []any) []any {
	return append(g.attrs[:len(g.attrs):len(g.attrs)], args...)
}

func (g lazyLog) Info(msg string, args ...any) {
	if g.l.Enabled(context.Background(), slog.LevelInfo) {
		g.l.Info(msg, g.args(args)...)
	}
}

func (g lazyLog) Warn(msg string, args ...any) { g.l.Warn(msg, g.args(args)...) }

func (g lazyLog) Error(msg string, args ...any) { g.l.Error(msg, g.args(args)...) }
