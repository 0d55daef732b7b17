package cron

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

//go:generate go run ./internal/genzones -o zones_list.go

// zoneinfoZip is the tz database of the Go toolchain that generated it
// (go generate copies it). Every zone is loaded from it and never from the
// host: time.LoadLocation reads $ZONEINFO and /usr/share/zoneinfo first,
// so a host with an old database, or none, would change when schedules
// fire.
//
//go:embed zoneinfo.zip
var zoneinfoZip []byte

// zoneFiles indexes zoneinfoZip by zone name; it is built once and only
// read after.
var zoneFiles = func() map[string]*zip.File {
	r, err := zip.NewReader(bytes.NewReader(zoneinfoZip), int64(len(zoneinfoZip)))
	if err != nil {
		panic("cron: embedded zoneinfo.zip: " + err.Error())
	}
	files := make(map[string]*zip.File, len(r.File))
	for _, f := range r.File {
		files[f.Name] = f
	}
	return files
}()

// loadEmbedded reads a zone from the embedded database.
func loadEmbedded(name string) (*time.Location, error) {
	f, ok := zoneFiles[name]
	if !ok {
		return nil, fmt.Errorf("no zone %q in the embedded database", name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return time.LoadLocationFromTZData(name, data)
}

// MaxZoneLength is the longest time zone name accepted.
const MaxZoneLength = 64

// isFixedOffsetLegacy reports the legacy names that are a fixed offset from
// UTC (besides Etc/GMT±N). EST5EDT and friends are not here: they observe
// DST.
func isFixedOffsetLegacy(name string) bool {
	switch name {
	case "EST", "MST", "HST":
		return true
	}
	return false
}

// LoadZone validates an IANA time zone name and loads it. The empty name is
// an error: callers apply their defaults before calling. A non-empty warning
// means the zone is accepted but probably not what the user wants (a legacy
// fixed-offset name that never observes DST). Every error is an *Error.
func LoadZone(name string) (loc *time.Location, warning string, err error) {
	if name == "" {
		return nil, "", zoneError("time zone is required; use an IANA name such as Europe/Berlin")
	}
	if n := utf8.RuneCountInString(name); n > MaxZoneLength {
		return nil, "", zoneError(fmt.Sprintf("time zone is too long (%d characters); the maximum is %d", n, MaxZoneLength))
	}
	// The name list comes from the embedded database, so "Local", paths
	// and files that happen to exist in the host's zoneinfo directory are
	// all unknown here.
	if _, found := slices.BinarySearch(knownZoneNames[:], name); !found {
		msg := fmt.Sprintf("unknown time zone %q; use an IANA name such as Europe/Berlin", name)
		if suggestion := zoneSuggestion(name); suggestion != "" {
			msg = fmt.Sprintf("unknown time zone %q; did you mean %s?", name, suggestion)
		}
		return nil, "", zoneError(msg)
	}
	if name == "UTC" {
		return time.UTC, "", nil
	}
	loc, loadErr := loadEmbedded(name)
	if loadErr != nil {
		return nil, "", zoneError(fmt.Sprintf("time zone %q cannot be loaded; use an IANA name such as Europe/Berlin", name))
	}
	return loc, fixedOffsetWarning(name, loc), nil
}

// zoneSuggestion finds a known name that differs only in case, the most
// common typo ("europe/berlin").
func zoneSuggestion(name string) string {
	for _, known := range knownZoneNames {
		if strings.EqualFold(known, name) {
			return known
		}
	}
	return ""
}

func fixedOffsetWarning(name string, loc *time.Location) string {
	hours, isEtc := etcGMTHours(name)
	if !isFixedOffsetLegacy(name) && (!isEtc || hours == 0) {
		return ""
	}
	// These zones have had a single offset for decades; read it at a fixed
	// instant so the warning does not depend on the clock.
	_, off := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC).In(loc).Zone()
	offset := formatOffset(off)
	if isEtc {
		behind := "behind"
		if hours < 0 {
			behind, hours = "ahead of", -hours
		}
		return fmt.Sprintf("%s is a fixed offset of %s and never observes daylight saving time; note the inverted sign: %s is %d hours %s UTC. Use a location such as America/New_York to follow local clock changes",
			name, offset, name, hours, behind)
	}
	return fmt.Sprintf("%s is a fixed offset of %s and never observes daylight saving time; use a location such as America/New_York to follow local clock changes", name, offset)
}

// etcGMTHours parses Etc/GMT+N and Etc/GMT-N. In POSIX style the sign is
// inverted: Etc/GMT+5 is five hours behind UTC.
func etcGMTHours(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "Etc/GMT")
	if !ok || len(rest) < 2 || (rest[0] != '+' && rest[0] != '-') {
		return 0, false
	}
	n, err := strconv.Atoi(rest[1:])
	if err != nil {
		return 0, false
	}
	if rest[0] == '-' {
		n = -n
	}
	return n, true
}

// formatOffset renders an offset in seconds as UTC+05:30 or UTC−05:00 (with
// a real minus sign, as printed in the spec).
func formatOffset(off int) string {
	sign := "+"
	if off < 0 {
		sign, off = "−", -off
	}
	return fmt.Sprintf("UTC%s%02d:%02d", sign, off/3600, off%3600/60)
}

// Zones returns the sorted canonical IANA zone names (UTC included, legacy
// aliases such as US/Eastern left out) for a searchable time zone select.
// The list is generated from the tz database; the caller owns the slice.
func Zones() []string {
	return slices.Clone(canonicalZoneNames[:])
}
