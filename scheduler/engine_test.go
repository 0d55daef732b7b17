package scheduler_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"extcron/runner"
	"extcron/scheduler"
)

func TestEngineFiresAtTheFireTimeWithTheContract(t *testing.T) {
	t.Parallel()
	e := setup(t)
	reg := prometheus.NewRegistry()
	opts := e.options()
	opts.Metrics = scheduler.NewMetrics(reg)
	e.start(opts, nil)
	id := e.create(e.admin, e.ext, "*/5 * * * *", "UTC", nil)
	fire := time.Date(2026, 6, 1, 10, 5, 0, 0, time.UTC)

	// Nothing runs on start, nor before the fire time. One clock decides:
	// the database's own is months past the fire time, so a claim that
	// read now() in SQL, or a next fire time taken from it, shows here.
	if e.count(`SELECT count(*) WHERE now() > $1::timestamptz + interval '1 day'`, fire) != 1 {
		t.Fatal("the database clock is not past the fire time; this test could not tell the two clocks apart")
	}
	e.at(fire.Add(-time.Second))
	time.Sleep(100 * time.Millisecond)
	if n := len(e.runs(e.admin.TenantID, id)); n != 0 {
		t.Fatalf("runs before the fire time: %d, want 0", n)
	}
	e.at(fire.Add(2 * time.Second))
	eventually(t, 10*time.Second, "the run to succeed", e.settled(e.admin.TenantID, id, 1))
	r := e.runs(e.admin.TenantID, id)[0]
	if r.Status != "success" || r.Attempt != 1 || r.Trigger != "schedule" || !r.ScheduledFor.Equal(fire) {
		t.Fatalf("run = %s attempt %d trigger %s for %s; want success, 1, schedule, %s", r.Status, r.Attempt, r.Trigger, r.ScheduledFor, fire)
	}
	if r.HTTPStatus == nil || *r.HTTPStatus != 200 || r.ResponseExcerpt == nil || *r.ResponseExcerpt != `{"ok":true}` {
		t.Fatalf("http status %v excerpt %v", r.HTTPStatus, r.ResponseExcerpt)
	}
	if r.VersionID == nil || *r.VersionID != e.ext.VersionID || r.ContentHash == nil || !strings.HasPrefix(*r.ContentHash, "sha256:") {
		t.Fatalf("run version %v hash %v, want the install's", r.VersionID, r.ContentHash)
	}
	calls := e.runner.callsFor(id)
	if len(calls) != 1 {
		t.Fatalf("runner calls = %d, want 1", len(calls))
	}
	c := calls[0]
	ctx := c.Req.Context
	if ctx.Trigger != "schedule" || ctx.ScheduledFor != "2026-06-01T10:05:00Z" || ctx.InvocationID != r.InvocationID.String() ||
		ctx.Attempt != 1 || ctx.VersionID != e.ext.VersionID.String() || ctx.ContentHash != *r.ContentHash ||
		ctx.TenantID != e.admin.TenantID.String() || ctx.ScheduleID != id.String() {
		t.Fatalf("call context = %+v", ctx)
	}
	if c.Req.HTTP.Method != "POST" || c.Req.HTTP.Path != "/sync" || len(c.Req.HTTP.Headers) != 0 {
		t.Fatalf("call http = %+v", c.Req.HTTP)
	}
	if body, _ := base64.StdEncoding.DecodeString(c.Req.HTTP.BodyB64); string(body) != `{"hello": "world"}` && string(body) != `{"hello":"world"}` {
		t.Fatalf("body = %q", body)
	}
	if got := c.Header.Get(runner.HeaderIdempotencyKey); got != r.InvocationID.String() {
		t.Fatalf("idempotency key %q, want the invocation id %s", got, r.InvocationID)
	}
	if c.Req.SecretEnvelope != nil {
		t.Fatalf("secret envelope sent for an install without secrets")
	}
	s := e.schedule(e.admin.TenantID, id)
	if s.LastRunStatus == nil || *s.LastRunStatus != "success" || s.LastSuccessAt == nil || s.ConsecutiveFailures != 0 ||
		s.NextRunAt == nil || !s.NextRunAt.Equal(fire.Add(5*time.Minute)) {
		t.Fatalf("schedule bookkeeping: status %v success %v failures %d next %v", s.LastRunStatus, s.LastSuccessAt, s.ConsecutiveFailures, s.NextRunAt)
	}
	if got := metricValue(t, reg, "extcron_runs_total", "success"); got != 1 {
		t.Fatalf("runs{status=success} = %v, want 1", got)
	}
}

func TestEngineRunNowIsExecutedOnceWithItsKey(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.start(e.options(), nil)
	id := e.create(e.admin, e.ext, "0 3 * * *", "UTC", nil)
	ctx := context.Background()
	first, created, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, id.String(), "click-1")
	if err != nil || !created {
		t.Fatalf("run now: %v created %v", err, created)
	}
	again, created, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, id.String(), "click-1")
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("repeated key: %v created %v id %s, want the first run %s", err, created, again.ID, first.ID)
	}
	eventually(t, 10*time.Second, "the manual run to succeed", e.settled(e.admin.TenantID, id, 1))
	r := e.runs(e.admin.TenantID, id)[0]
	if r.Trigger != "manual" || r.Status != "success" {
		t.Fatalf("run %s %s", r.Trigger, r.Status)
	}
	calls := e.runner.callsFor(id)
	if len(calls) != 1 || calls[0].Req.Context.Trigger != "manual" {
		t.Fatalf("calls = %d, want one manual call", len(calls))
	}
	// Rate limit: 1 per 10 s per schedule.
	e.advance(time.Second)
	if _, _, err := e.svc.RunNow(ctx, e.admin, e.ext.Slug, id.String(), "click-2"); err == nil {
		t.Fatalf("second run-now within 10 s accepted, want 429")
	}
}

func TestEngineStopLeavesNoGoroutines(t *testing.T) {
	e := setup(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tr := &http.Transport{}
	eng := scheduler.NewEngine(e.conn, runner.NewClient(e.runner.URL, time.Second, 0, &http.Client{Transport: tr}), e.options())
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.create(e.admin, e.ext, "*/5 * * * *", "UTC", nil)
	e.clock.Set(epoch.Add(5 * time.Minute))
	eng.Wake()
	eventually(t, 10*time.Second, "a run", func() bool { return e.runner.count() == 1 })
	eng.Stop()
	eng.Stop() // idempotent
	tr.CloseIdleConnections()
	e.runner.CloseClientConnections()
}

// metricValue reads a counter or gauge (with one label value, or none)
// from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}
