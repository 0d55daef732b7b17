package scheduler_test

import (
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"extcron/runner"
	"extcron/schedule"
)

func ext(status int, body string) string {
	return `{"status":` + itoa(status) + `,"body_b64":"` + base64.StdEncoding.EncodeToString([]byte(body)) + `"}`
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRunnerFaults: each way a runner call can go wrong ends in the right
// status, reason and number of attempts; retries carry the same
// idempotency key, a new request id, and start only after the previous
// attempt ended.
func TestRunnerFaults(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	cases := []struct {
		name     string
		attempts int
		answer   func(attempt int) answer
		status   string
		tries    int
		reason   string
		http     int
	}{
		{"hang times out", 1, func(int) answer { return answer{Hang: hang} }, "timeout", 1, "timeout after", 0},
		{"hang retried then times out", 2, func(int) answer { return answer{Hang: hang} }, "timeout", 2, "timeout after", 0},
		{"runner 500 retried up to the cap", 3, func(int) answer { return answer{Status: 500, Body: `{"error":"down"}`} }, "failure", 3, "runner HTTP 500", 500},
		{"extension 500 then success", 3, func(a int) answer {
			if a == 1 {
				return answer{Body: ext(500, "oops")}
			}
			return answer{}
		}, "success", 2, "", 200},
		{"extension 429 retried", 2, func(int) answer { return answer{Body: ext(429, "slow down")} }, "failure", 2, "extension status 429", 429},
		{"extension 400 not retried", 3, func(int) answer { return answer{Body: ext(400, `{"bad":1}`)} }, "failure", 1, "extension status 400", 400},
		{"runner 400 not retried", 3, func(int) answer { return answer{Status: 400, Body: `{"error":"bad request"}`} }, "failure", 1, "runner HTTP 400", 400},
		{"not JSON", 3, func(int) answer { return answer{Body: "<html>oops</html>"} }, "failure", 1, "not JSON", 200},
		{"empty", 3, func(int) answer { return answer{Empty: true} }, "failure", 1, "empty response", 200},
		{"oversized", 3, func(int) answer {
			return answer{Body: `{"status":200,"body_b64":"` + strings.Repeat("A", 300000) + `"}`}
		}, "failure", 1, "too large", 200},
		{"runner error text", 3, func(int) answer { return answer{Body: `{"error":"module trapped"}`} }, "failure", 1, "runner error: module trapped", 200},
	}
	byID := map[uuid.UUID]int{}
	var mu sync.Mutex
	attempts := map[uuid.UUID]int{}
	e.runner.setRespond(func(req runner.Request) answer {
		id := uuid.MustParse(req.Context.ScheduleID)
		mu.Lock()
		defer mu.Unlock()
		attempts[id]++
		return cases[byID[id]].answer(attempts[id])
	})
	ids := make([]uuid.UUID, len(cases))
	for i, c := range cases {
		ids[i] = e.create(e.admin, e.ext, "0 3 * * *", "UTC", func(in *schedule.Input) {
			in.Name = str(c.name)
			in.RetryMaxAttempts = num(c.attempts)
		})
		byID[ids[i]] = i
	}
	e.start(e.options(), e.client(time.Second, 0))
	e.at(time.Date(2026, 6, 2, 3, 0, 1, 0, time.UTC))
	deadline := time.Now().Add(60 * time.Second)
	for {
		done := true
		for i := range cases {
			if !e.settled(e.admin.TenantID, ids[i], 1)() {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs did not settle")
		}
		// Retries back off by at most 5m (+25% jitter) on the injected
		// clock; move it on once nothing is running.
		if e.count(`SELECT count(*) FROM tenant_extension_schedule_run WHERE status = 'running'`) == 0 {
			e.advance(7 * time.Minute)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := e.runs(e.admin.TenantID, ids[i])
			r := rs[0]
			if r.Status != c.status || r.Attempt != c.tries {
				t.Fatalf("status %s after %d attempts, want %s after %d (error %v)", r.Status, r.Attempt, c.status, c.tries, r.Error)
			}
			if c.reason != "" && (r.Error == nil || !strings.Contains(*r.Error, c.reason)) {
				t.Fatalf("error %v, want it to contain %q", r.Error, c.reason)
			}
			if c.http != 0 && (r.HTTPStatus == nil || *r.HTTPStatus != c.http) {
				t.Fatalf("http status %v, want %d", r.HTTPStatus, c.http)
			}
			calls := e.runner.callsFor(ids[i])
			if len(calls) != c.tries {
				t.Fatalf("runner calls %d, want %d", len(calls), c.tries)
			}
			reqIDs := map[string]bool{}
			for n, call := range calls {
				if call.Header.Get(runner.HeaderIdempotencyKey) != r.InvocationID.String() || call.Req.Context.InvocationID != r.InvocationID.String() {
					t.Fatalf("attempt %d: idempotency key %q, want %s", n+1, call.Header.Get(runner.HeaderIdempotencyKey), r.InvocationID)
				}
				if call.Req.Context.Attempt != n+1 {
					t.Fatalf("call %d carries attempt %d", n+1, call.Req.Context.Attempt)
				}
				if call.Req.Context.ScheduledFor != calls[0].Req.Context.ScheduledFor {
					t.Fatalf("attempt %d is for %s, attempt 1 for %s", n+1, call.Req.Context.ScheduledFor, calls[0].Req.Context.ScheduledFor)
				}
				// A retry never overlaps the attempt before it, even one
				// that hung until the client gave up.
				if n > 0 && call.Arrived.Before(calls[n-1].Ended) {
					t.Fatalf("attempt %d arrived %s before attempt %d ended", n+1,
						calls[n-1].Ended.Sub(call.Arrived), n)
				}
				reqIDs[call.Header.Get(runner.HeaderRequestID)] = true
			}
			if len(reqIDs) != len(calls) {
				t.Fatalf("request ids repeat across attempts")
			}
			s := e.schedule(e.admin.TenantID, ids[i])
			if s.LastRunStatus == nil || *s.LastRunStatus != c.status {
				t.Fatalf("schedule last status %v, want %s", s.LastRunStatus, c.status)
			}
			if c.status != "success" && (s.ConsecutiveFailures != 1 || s.LastError == nil || len(*s.LastError) > 4000) {
				t.Fatalf("schedule failures %d, last error %v", s.ConsecutiveFailures, s.LastError)
			}
		})
	}
}

// TestRunnerConnectionRefused: a runner that is not listening is a
// retryable transport error.
func TestRunnerConnectionRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	id := e.create(e.admin, e.ext, "0 3 * * *", "UTC", func(in *schedule.Input) { in.RetryMaxAttempts = num(2) })
	e.start(e.options(), runner.NewClient("http://"+addr, time.Second, 0, nil))
	e.at(time.Date(2026, 6, 2, 3, 0, 1, 0, time.UTC))
	eventually(t, 10*time.Second, "a retry to be queued", func() bool {
		rs := e.runs(e.admin.TenantID, id)
		return len(rs) == 1 && rs[0].Status == "queued" && rs[0].Attempt == 1
	})
	e.advance(7 * time.Minute)
	eventually(t, 10*time.Second, "the run to fail", e.settled(e.admin.TenantID, id, 1))
	r := e.runs(e.admin.TenantID, id)[0]
	if r.Status != "failure" || r.Attempt != 2 || r.Error == nil || !strings.Contains(*r.Error, "connection refused") {
		t.Fatalf("run %s attempt %d error %v", r.Status, r.Attempt, r.Error)
	}
}
