package scheduler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's Prometheus series. A nil *Metrics records
// nothing, so tests and tools can leave it out.
type Metrics struct {
	runs     *prometheus.CounterVec
	duration prometheus.Histogram
	lateness prometheus.Histogram
	retries  prometheus.Counter
	skipped  prometheus.Counter
	missed   prometheus.Counter
	backlog  prometheus.Gauge
	claims   *prometheus.HistogramVec
}

// NewMetrics registers the engine's series on reg (for example
// prometheus.DefaultRegisterer, served at /metrics).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "extcron_runs_total",
			Help: "Runs that reached a final state, by status (success, failure, timeout, skipped, missed).",
		}, []string{"status"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "extcron_run_duration_seconds",
			Help:    "Duration of runner calls, one observation per attempt.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "extcron_run_lateness_seconds",
			Help:    "Start of a run's first attempt minus its scheduled time.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300},
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "extcron_run_retries_total",
			Help: "Attempts that failed retryably and were queued again.",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "extcron_runs_skipped_total",
			Help: "Fire times skipped by the overlap policy.",
		}),
		missed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "extcron_runs_missed_total",
			Help: "Fire times recorded as missed by the catch-up policy.",
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "extcron_due_backlog",
			Help: "Timers and queued runs due now and not yet taken (sampled).",
		}),
		claims: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "extcron_claim_seconds",
			Help:    "Duration of one claim transaction, by kind (timers, runs) and result (taken: it took work; empty: nothing to take). The count of empty claims is how often the engine looks in vain.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"kind", "result"}),
	}
	reg.MustRegister(m.runs, m.duration, m.lateness, m.retries, m.skipped, m.missed, m.backlog, m.claims)
	return m
}

func (m *Metrics) runFinished(status string, d time.Duration) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(status).Inc()
	if d > 0 {
		m.duration.Observe(d.Seconds())
	}
}

func (m *Metrics) attemptDuration(d time.Duration) {
	if m == nil {
		return
	}
	m.duration.Observe(d.Seconds())
}

func (m *Metrics) runRecorded(status string) {
	if m == nil {
		return
	}
	switch status {
	case "skipped":
		m.skipped.Inc()
	case "missed":
		m.missed.Inc()
	}
	if status != "queued" {
		m.runs.WithLabelValues(status).Inc()
	}
}

func (m *Metrics) late(d time.Duration) {
	if m == nil {
		return
	}
	m.lateness.Observe(d.Seconds())
}

func (m *Metrics) retried() {
	if m == nil {
		return
	}
	m.retries.Inc()
}

func (m *Metrics) setBacklog(n int) {
	if m == nil {
		return
	}
	m.backlog.Set(float64(n))
}

func (m *Metrics) claimed(kind string, took int, d time.Duration) {
	if m == nil {
		return
	}
	result := "taken"
	if took == 0 {
		result = "empty"
	}
	m.claims.WithLabelValues(kind, result).Observe(d.Seconds())
}
