package db

import (
	"time"

	"github.com/google/uuid"
)

// ArrayColumn exposes column to the external tests.
type ArrayColumn = column

func (c *column) TextForTest(s string)     { c.text(s) }
func (c *column) NullForTest()             { c.null() }
func (c *column) TimeForTest(t time.Time)  { c.time(t) }
func (c *column) UUIDForTest(id uuid.UUID) { c.uuid(id) }
func (c *column) IntForTest(n int)         { c.int(n) }
func (c *column) BoolForTest(v bool)       { c.bool(v) }
func (c *column) ValueForTest() string     { return c.value() }
