// Package scheduler fires schedules: the JobRunner keeps one durable timer
// per enabled schedule, and the engine claims due timers, records exactly
// one run per fire time and executes runs through the runner client.
package scheduler
