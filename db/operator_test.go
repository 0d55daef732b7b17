package db_test

import (
	"testing"

	"github.com/google/uuid"

	"extcron/db"
)

func TestOperatorQueries(t *testing.T) {
	t.Parallel()
	ctx, conn, v := registryFixture(t)
	endpoint := uuid.New()
	if _, err := conn.ExecContext(ctx, `INSERT INTO extension_api_endpoint (id, version_id, method, path, handler) VALUES ($1, $2, 'GET', '/a', 'a')`,
		endpoint, v.ID); err != nil {
		t.Fatal(err)
	}
	type fix struct{ tenant, install, schedule uuid.UUID }
	var fixes []fix
	for _, name := range []string{"Acme 100%", "Acme_Beta"} {
		f := fix{uuid.New(), uuid.New(), uuid.New()}
		fixes = append(fixes, f)
		if _, err := conn.ExecContext(ctx, `INSERT INTO tenant (id, name) VALUES ($1, $2)`, f.tenant, name); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertInstall(ctx, conn, db.Install{TenantID: f.tenant, ID: f.install, ExtensionID: v.ExtensionID, VersionID: v.ID, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertSchedule(ctx, conn, db.Schedule{TenantID: f.tenant, ID: f.schedule, InstallID: f.install, EndpointID: endpoint,
			Cron: "0 9 * * *", Timezone: "UTC", Enabled: true, OverlapPolicy: "skip", CatchupPolicy: "latest",
			CatchupWindowSeconds: 3600, RetryMaxAttempts: 3}); err != nil {
			t.Fatal(err)
		}
	}

	search := func(f db.ScheduleSearch) map[uuid.UUID]bool {
		t.Helper()
		hits, err := db.SearchSchedules(ctx, conn, f)
		if err != nil {
			t.Fatal(err)
		}
		out := map[uuid.UUID]bool{}
		for _, h := range hits {
			if h.ExtensionSlug != "acme.x" || h.EndpointPath != "/a" || h.TenantName == "" {
				t.Errorf("hit lacks joined fields: %+v", h)
			}
			out[h.ID] = true
		}
		return out
	}
	if got := search(db.ScheduleSearch{}); len(got) != 2 {
		t.Errorf("no filter: %d hits, want 2", len(got))
	}
	if got := search(db.ScheduleSearch{TenantName: "100%"}); len(got) != 1 || !got[fixes[0].schedule] {
		t.Errorf("name with %% matched %v, want only the first tenant", got)
	}
	if got := search(db.ScheduleSearch{TenantName: "acme_"}); len(got) != 1 || !got[fixes[1].schedule] {
		t.Errorf("name with _ matched %v, want only the second tenant (literally)", got)
	}
	if got := search(db.ScheduleSearch{InstallID: &fixes[1].install}); len(got) != 1 || !got[fixes[1].schedule] {
		t.Errorf("install filter matched %v", got)
	}
	if got := search(db.ScheduleSearch{Extension: "ACME.X", TenantID: &fixes[0].tenant}); len(got) != 1 || !got[fixes[0].schedule] {
		t.Errorf("extension + tenant filter matched %v", got)
	}
	if got := search(db.ScheduleSearch{Limit: 1}); len(got) != 1 {
		t.Errorf("limit 1 returned %d", len(got))
	}

	s, err := db.FindScheduleAnyTenant(ctx, conn, fixes[1].schedule)
	if err != nil || s.TenantID != fixes[1].tenant {
		t.Fatalf("find any tenant = %+v, %v", s, err)
	}
	if _, err := db.FindScheduleAnyTenant(ctx, conn, uuid.New()); err != db.ErrNotFound {
		t.Errorf("unknown schedule: %v, want ErrNotFound", err)
	}

	// An orphan timer is listed, and listing it removes nothing.
	orphan := uuid.New()
	if _, err := conn.ExecContext(ctx, `INSERT INTO scheduler_timer (tenant_id, key, schedule_id, next_fire_at) VALUES ($1, 'extsched:x:y', $2, now())`,
		fixes[0].tenant, orphan); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		list, err := db.ListOrphanTimers(ctx, conn, 10)
		if err != nil || len(list) != 1 || list[0].ScheduleID != orphan {
			t.Fatalf("orphans = %+v, %v; want the one orphan", list, err)
		}
	}

	sums, err := db.ListTenantSummaries(ctx, conn)
	if err != nil || len(sums) != 2 || sums[0].Schedules != 1 || sums[0].EnabledSchedules != 1 || sums[0].Installs != 1 {
		t.Fatalf("summaries = %+v, %v", sums, err)
	}
	if err := db.SetTenantSuspended(ctx, conn, fixes[0].tenant, true); err != nil {
		t.Fatal(err)
	}
	if err := db.SetTenantSuspended(ctx, conn, uuid.New(), true); err != db.ErrNotFound {
		t.Errorf("suspend unknown tenant: %v, want ErrNotFound", err)
	}
	live, err := db.ListLiveSchedules(ctx, conn, fixes[0].tenant)
	if err != nil || len(live) != 1 || live[0].ID != fixes[0].schedule {
		t.Errorf("live schedules = %+v, %v", live, err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE tenant_extension_install SET enabled = false WHERE tenant_id = $1`, fixes[0].tenant); err != nil {
		t.Fatal(err)
	}
	if live, err := db.ListLiveSchedules(ctx, conn, fixes[0].tenant); err != nil || len(live) != 0 {
		t.Errorf("live schedules of a disabled install = %+v, %v; want none", live, err)
	}
}
