package main

import "time"

// checkZone validates a time zone name for profiles and tenants.
func checkZone(name string) string {
	if _, err := time.LoadLocation(name); err != nil || name == "Local" {
		return "Unknown time zone \"" + name + "\"; use an IANA name such as Europe/Berlin."
	}
	return ""
}

func zoneNames() []string { return []string{"UTC", "Europe/Berlin", "America/New_York"} }
