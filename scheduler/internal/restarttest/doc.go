// Package restarttest holds the scheduler test that restarts PostgreSQL
// under a running engine. It lives in its own package because the restart
// hits every test sharing the test binary's database cluster.
package restarttest
