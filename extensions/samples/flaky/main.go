//go:build wasip1

// Command flaky is a sample extension that fails in whatever way its payload
// asks for, so every failure class of the runner contract can be exercised.
package main

import (
	"os"
	"strings"

	"extcron/extensions/samples/guest"
)

func main() {
	guest.Run(map[string]guest.HandlerFunc{"work": work})
}

func work(req *guest.Request) guest.Response {
	var p struct {
		Mode string `json:"mode"`
		KB   int    `json:"kb"`
	}
	if err := req.Decode(&p); err != nil {
		return guest.JSON(400, map[string]string{"error": "payload is not a JSON object"})
	}
	guest.Logf("flaky: mode %q (attempt %d)", p.Mode, req.Context.Attempt)
	switch p.Mode {
	case "", "ok":
		return guest.JSON(200, map[string]string{"result": "ok"})
	case "fail500":
		return guest.JSON(500, map[string]string{"error": "internal failure"})
	case "fail400":
		return guest.JSON(400, map[string]string{"error": "bad request"})
	case "429":
		return guest.JSON(429, map[string]string{"error": "slow down"})
	case "garbage":
		os.Stdout.WriteString("this is not { json")
		os.Exit(0)
	case "empty":
		os.Exit(0)
	case "huge":
		kb := p.KB
		if kb <= 0 {
			kb = 1024
		}
		return guest.Response{Status: 200, Body: []byte(strings.Repeat("x", kb<<10))}
	case "crash":
		panic("flaky: crashing on purpose")
	case "readfile":
		// The sandbox has no filesystem: this must fail.
		b, err := os.ReadFile("/etc/passwd")
		if err != nil {
			return guest.JSON(200, map[string]string{"readfile": "denied", "error": err.Error()})
		}
		return guest.JSON(200, map[string]any{"readfile": "allowed", "bytes": len(b)})
	case "env":
		return guest.JSON(200, map[string]any{"env": os.Environ(), "args": os.Args})
	}
	return guest.JSON(400, map[string]string{"error": "unknown mode " + p.Mode})
}
