package cron

import (
	"archive/zip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadZone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		wantErr string // substring; empty means accepted
		warning []string
	}{
		{name: "Europe/Berlin"},
		{name: "America/New_York"},
		{name: "Australia/Lord_Howe"},
		{name: "Asia/Kolkata"},
		{name: "Asia/Calcutta"}, // a backward link is still a valid IANA name
		{name: "UTC"},
		{name: "Etc/UTC"},
		{name: "Etc/GMT"},
		{name: "EST5EDT"}, // observes DST: no warning
		{name: "Etc/GMT+0"},
		{name: "EST", warning: []string{"EST is a fixed offset of UTC−05:00", "never observes daylight saving time"}},
		{name: "MST", warning: []string{"UTC−07:00", "never observes daylight saving time"}},
		{name: "HST", warning: []string{"UTC−10:00", "never observes daylight saving time"}},
		{name: "Etc/GMT+5", warning: []string{"fixed offset of UTC−05:00", "never observes daylight saving time", "inverted sign: Etc/GMT+5 is 5 hours behind UTC"}},
		{name: "Etc/GMT-3", warning: []string{"fixed offset of UTC+03:00", "inverted sign: Etc/GMT-3 is 3 hours ahead of UTC"}},
		{name: "", wantErr: "time zone is required"},
		{name: "Mars/Base", wantErr: `unknown time zone "Mars/Base"; use an IANA name such as Europe/Berlin`},
		{name: "Local", wantErr: `unknown time zone "Local"`},
		{name: "europe/berlin", wantErr: `unknown time zone "europe/berlin"; did you mean Europe/Berlin?`},
		{name: "../../etc/passwd", wantErr: "unknown time zone"},
		{name: "/usr/share/zoneinfo/UTC", wantErr: "unknown time zone"},
		{name: "America/../Europe/Berlin", wantErr: "unknown time zone"},
		{name: "posix/Europe/Berlin", wantErr: "unknown time zone"},
		{name: " Europe/Berlin", wantErr: "unknown time zone"},
		{name: "zone.tab", wantErr: "unknown time zone"},
		{name: strings.Repeat("A", 65), wantErr: "time zone is too long (65 characters); the maximum is 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loc, warning, err := LoadZone(tt.name)
			if tt.wantErr != "" {
				var zerr *Error
				if !errors.As(err, &zerr) {
					t.Fatalf("LoadZone(%q) error = %v (%T), want *Error containing %q", tt.name, err, err, tt.wantErr)
				}
				if zerr.Field != "timezone" || !strings.Contains(zerr.Message, tt.wantErr) {
					t.Errorf("LoadZone(%q) error\n got: %s (field %s)\nwant substring: %s", tt.name, zerr.Message, zerr.Field, tt.wantErr)
				}
				if loc != nil {
					t.Errorf("LoadZone(%q) location = %v, want nil on error", tt.name, loc)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadZone(%q) error = %v, want nil", tt.name, err)
			}
			if loc == nil || loc.String() != tt.name {
				t.Errorf("LoadZone(%q) location = %v, want %s", tt.name, loc, tt.name)
			}
			if len(tt.warning) == 0 && warning != "" {
				t.Errorf("LoadZone(%q) warning = %q, want none", tt.name, warning)
			}
			for _, w := range tt.warning {
				if !strings.Contains(warning, w) {
					t.Errorf("LoadZone(%q) warning\n got: %s\nwant substring: %s", tt.name, warning, w)
				}
			}
		})
	}
}

func TestZones(t *testing.T) {
	t.Parallel()
	zones := Zones()
	if !slices.IsSorted(zones) {
		t.Error("Zones() is not sorted")
	}
	for _, want := range []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Europe/Kyiv", "America/Argentina/Buenos_Aires"} {
		if _, ok := slices.BinarySearch(zones, want); !ok {
			t.Errorf("Zones() lacks %s", want)
		}
	}
	for _, legacy := range []string{"US/Eastern", "Asia/Calcutta", "EST", "Etc/GMT+5", "Local", "Factory", "posixrules"} {
		if _, ok := slices.BinarySearch(zones, legacy); ok {
			t.Errorf("Zones() offers legacy name %s", legacy)
		}
	}
	for _, z := range zones {
		if _, _, err := LoadZone(z); err != nil {
			t.Errorf("Zones() offers %s but LoadZone fails: %v", z, err)
		}
	}
	zones[0] = "mutated"
	if Zones()[0] == "mutated" {
		t.Error("Zones() shares its backing array with callers")
	}
}

// A host's tz database must not change when schedules fire: zones come
// from the embedded database whatever $ZONEINFO, $TZ or /usr/share/zoneinfo
// say. The check runs in a child process whose $ZONEINFO is a database
// where America/New_York holds Tokyo's rules, and whose $TZ is Tokyo.
func TestZonesIgnoreTheHostDatabase(t *testing.T) {
	if os.Getenv("EXTCRON_ZONE_CHILD") != "" {
		checkZonesInChild(t)
		return
	}
	t.Parallel()
	fake := filepath.Join(t.TempDir(), "zoneinfo.zip")
	f, err := os.Create(fake)
	if err != nil {
		t.Fatal(err)
	}
	w := zip.NewWriter(f)
	tokyo, err := zoneFiles["Asia/Tokyo"].Open()
	if err != nil {
		t.Fatal(err)
	}
	entry, err := w.CreateHeader(&zip.FileHeader{Name: "America/New_York", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(entry, tokyo); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestZonesIgnoreTheHostDatabase$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "EXTCRON_ZONE_CHILD=1", "ZONEINFO="+fake, "TZ=Asia/Tokyo")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "child checked") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func checkZonesInChild(t *testing.T) {
	winter := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	// The trap is set: the host's database would move New York to Tokyo.
	host, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if _, off := winter.In(host).Zone(); off != 9*3600 {
		t.Fatalf("the fake $ZONEINFO is not in effect (offset %d); the test proves nothing", off)
	}
	loc, _, err := LoadZone("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if _, off := winter.In(loc).Zone(); off != -5*3600 {
		t.Fatalf("America/New_York offset = %d s, want -18000: the host database leaked in", off)
	}
	e, err := Parse("0 9 * * *", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Next(winter, loc), time.Date(2026, 1, 15, 14, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("next 09:00 New York = %s, want %s", got, want)
	}
	t.Log("child checked")
}
