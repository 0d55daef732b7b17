package account_test

import (
	"testing"

	"extcron/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }
