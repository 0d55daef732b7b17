package operator_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/uuid"

	"extcron/account"
	"extcron/fault"
	"extcron/operator"
)

// The service checks the operator flag itself, before touching anything,
// so a route that forgot its middleware still cannot act.
func TestServiceRefusesNonOperators(t *testing.T) {
	t.Parallel()
	svc := operator.NewService(nil, nil, nil, nil, nil, nil)
	ctx := context.Background()
	for _, actor := range []account.Actor{
		{TenantID: uuid.New(), UserID: uuid.New(), Role: account.RoleAdmin},
		{TenantID: uuid.New(), UserID: uuid.New(), Role: account.RoleViewer},
		{},
	} {
		id := uuid.NewString()
		calls := map[string]func() error{
			"ListTenants": func() error { _, err := svc.ListTenants(ctx, actor); return err },
			"SearchSchedules": func() error {
				_, err := svc.SearchSchedules(ctx, actor, operator.ScheduleQuery{})
				return err
			},
			"FindSchedule":      func() error { _, err := svc.FindSchedule(ctx, actor, id); return err },
			"DeleteSchedule":    func() error { _, err := svc.DeleteSchedule(ctx, actor, id); return err },
			"SuspendTenant":     func() error { _, err := svc.SuspendTenant(ctx, actor, id); return err },
			"ResumeTenant":      func() error { _, err := svc.ResumeTenant(ctx, actor, id); return err },
			"Health":            func() error { _, err := svc.Health(ctx, actor); return err },
			"Reconcile":         func() error { _, err := svc.Reconcile(ctx, actor); return err },
			"BackfillEndpoints": func() error { _, err := svc.BackfillEndpoints(ctx, actor, id); return err },
			"PublishBundle": func() error {
				_, err := svc.PublishBundle(ctx, actor, bytes.NewReader([]byte("x")), 1)
				return err
			},
			"Catalog": func() error { _, err := svc.Catalog(ctx, actor); return err },
		}
		for name, call := range calls {
			if err := call(); !fault.Is(err, fault.Forbidden) {
				t.Errorf("%s as role %q: %v, want forbidden", name, actor.Role, err)
			}
		}
	}
}
