//go:build wasip1

// Command slowpoke is a sample extension that misbehaves on purpose: it
// sleeps past any timeout, spins the CPU forever or allocates more memory than
// it is allowed, so the runner's limits can be demonstrated and tested.
package main

import (
	"time"

	"extcron/extensions/samples/guest"
)

func main() {
	guest.Run(map[string]guest.HandlerFunc{
		"sleep": sleep,
		"spin":  spin,
		"alloc": alloc,
	})
}

func sleep(req *guest.Request) guest.Response {
	guest.Logf("slowpoke: going to sleep for 10 minutes")
	time.Sleep(10 * time.Minute)
	return guest.JSON(200, map[string]string{"slept": "10m"})
}

var sink uint64

func spin(req *guest.Request) guest.Response {
	guest.Logf("slowpoke: spinning forever")
	for i := uint64(0); ; i++ {
		sink += i
	}
}

func alloc(req *guest.Request) guest.Response {
	var p struct {
		MB int `json:"mb"`
	}
	if err := req.Decode(&p); err != nil || p.MB <= 0 {
		return guest.JSON(400, map[string]string{"error": `payload must be {"mb": N} with N > 0`})
	}
	guest.Logf("slowpoke: allocating %d MiB", p.MB)
	blocks := make([][]byte, 0, p.MB)
	for range p.MB {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // touch every page so the memory is really used
		}
		blocks = append(blocks, b)
	}
	return guest.JSON(200, map[string]int{"allocated_mb": len(blocks)})
}
