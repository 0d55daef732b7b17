package main

import (
	"strings"
	"testing"
	"time"
)

// The run-now limits of SPEC §5 are configuration, with the documented
// defaults; a bad value stops startup with one line naming the variable.
func TestRunNowLimitsAreConfigured(t *testing.T) {
	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.RunNowPerTenant != 5 || c.RunNowInterval != 10*time.Second {
		t.Fatalf("defaults: %d per tenant per minute, %s per schedule; want 5 and 10s", c.RunNowPerTenant, c.RunNowInterval)
	}
	t.Setenv("EXTCRON_RUN_NOW_PER_TENANT", "50")
	t.Setenv("EXTCRON_RUN_NOW_INTERVAL", "1s")
	if c, err = loadConfig(); err != nil || c.RunNowPerTenant != 50 || c.RunNowInterval != time.Second {
		t.Fatalf("set: %d, %s, %v", c.RunNowPerTenant, c.RunNowInterval, err)
	}
	for name, bad := range map[string]string{"EXTCRON_RUN_NOW_PER_TENANT": "0", "EXTCRON_RUN_NOW_INTERVAL": "soon"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, bad)
			_, err := loadConfig()
			if err == nil || !strings.HasPrefix(err.Error(), name+" must be") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s=%s: error %v, want one line naming the variable", name, bad, err)
			}
		})
	}
}

func TestEgressAllowIsChecked(t *testing.T) {
	t.Setenv("EXTCRON_EGRESS_ALLOW", "crm.local:8099, 127.0.0.1:9000")
	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Egress.Allowed("crm.local", "8099") || c.Egress.Allowed("crm.local", "80") {
		t.Fatalf("EXTCRON_EGRESS_ALLOW not applied as listed")
	}
	t.Setenv("EXTCRON_EGRESS_ALLOW", "crm.local")
	if _, err := loadConfig(); err == nil || !strings.HasPrefix(err.Error(), "EXTCRON_EGRESS_ALLOW ") {
		t.Fatalf("err = %v, want one line naming EXTCRON_EGRESS_ALLOW", err)
	}
}
