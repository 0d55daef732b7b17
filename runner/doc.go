// Package runner is extcron's side of the Runner contract (SPEC §3) and the
// embedded Runner that implements it in-process.
//
// # The contract
//
// extcron executes an extension endpoint with POST {RUNNER_URL}/v1/execute and
// a JSON Request:
//
//	context: request_id, tenant_id, extension_id, install_id, version_id,
//	         content_hash, config, trigger, schedule_id, scheduled_for,
//	         invocation_id, attempt
//	http:    method, path, query {}, headers {} (always empty for scheduled
//	         runs), body_b64 (POST with a payload only)
//	limits:  timeout_ms, memory_mb
//	providers, secret_envelope: only when set; never a user
//
// with the headers content-type, x-request-id (new per attempt, equal to
// context.request_id), x-idempotency-key (the invocation id, the same on every
// retry), x-extcron-tenant and x-extcron-extension. The Runner answers
// {status, headers, body_b64, error} (plus logs, the extension's stderr).
//
// Client builds that request from a Call and classifies the answer into a
// Result: success only for a 2xx runner answer whose body is non-empty JSON
// within the size limit (enforced while reading), with no error and a 2xx
// extension status. Every failure carries a one-line human reason and whether
// SPEC §5 retries it (timeouts, transport errors, runner 5xx, extension 5xx
// and 429).
//
// # The embedded runner
//
// Embedded serves the same endpoint with wazero. It asks a ModuleStore for
// the handler of (version, method, path) and, on a cache miss, for the module
// bytes, which must hash to context.content_hash; compiled modules are cached
// by content hash. Each call instantiates the module afresh as a WASI
// (wasip1) command:
//
//	stdin  {handler, method, path, query, headers, body_b64, context, config}
//	stdout {status, headers, body_b64}
//	stderr log lines, returned in the response's logs and logged with slog
//
// The guest gets no filesystem, network or environment, only its name as
// argv[0], a wall clock, sleep and crypto randomness. limits.timeout_ms stops
// it (even in an endless loop) and limits.memory_mb caps its linear memory.
// Failures are answered with the error field: "extension crashed: exit code
// N", "extension exceeded its memory limit", "extension wrote invalid
// output"; a time limit is answered with HTTP 504 so that it stays retryable
// like a client-side timeout.
package runner
