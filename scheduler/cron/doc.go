// Package cron parses, validates, describes and evaluates the 5-field cron
// expressions that extcron schedules use, and loads the IANA time zones they
// run in.
//
// There is exactly one dialect: minute, hour, day-of-month, month and
// day-of-week, with numbers, *, lists, ranges, steps, month and day names and
// a handful of @macros. Seconds, @every, @reboot, ?, L, W and # are rejected
// with a message meant to be shown under the form field, as are expressions
// that never fire or fire more often than the configured minimum interval.
// Day-of-month and day-of-week may not both be restricted, which sidesteps
// classic cron's surprising OR rule: a day matches when both fields match.
//
// # Daylight saving time
//
// Fire times are computed in the schedule's zone with the classic Vixie-cron
// rules, because those are what operators expect from crontab:
//
//   - An expression whose minute or hour field starts with * is a wildcard
//     expression and follows real time: it fires at every instant whose wall
//     clock matches. Wall times removed by a spring-forward jump do not fire;
//     wall times in a repeated (fall-back) hour fire in both passes, so an
//     hourly job runs 23 times on the short day and 25 times on the long one.
//   - Any other expression is fixed-time and fires once per matching local
//     time: a wall time removed by a jump fires once at the first instant
//     after the gap (also when the gap removes midnight, as in Cairo or
//     Havana), and a repeated wall time fires at its first occurrence only.
//
// Fire times that coincide are a single fire, so Next is a function of a
// fixed set of instants: it returns the smallest one strictly after its
// argument, and chaining it is strictly monotonic.
//
// The minimum interval check deliberately ignores DST and is computed in UTC
// from the field bitsets: a DST jump can bring two fires of a fixed-time job
// closer than the nominal interval only once or twice a year.
package cron
