package main

import (
	"encoding/json"
	"runtime"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/internal/hostinfo"
)

// machine describes where a run happened, for the report.
type machine struct {
	CPUs      int
	Model     string
	GoVersion string
	Start     time.Time
	// LoadStart and LoadEnd are /proc/loadavg's 1, 5 and 15-minute load
	// averages at the start and the end of the run.
	LoadStart, LoadEnd string
	// SpeedStart and SpeedEnd are the time one goroutine takes to encode
	// and decode a typical NULS Response at the start and the end of the
	// run: on a shared or virtual machine the CPU's speed changes with its
	// neighbours' load, which the load average does not show.
	SpeedStart, SpeedEnd time.Duration
}

func newMachine() *machine {
	return &machine{
		CPUs: runtime.NumCPU(), Model: hostinfo.CPUModel(), GoVersion: runtime.Version(),
		Start: time.Now(), LoadStart: hostinfo.LoadAvg(), SpeedStart: cpuSpeed(),
	}
}

// finish records the load average and the CPU speed at the end of the run.
func (m *machine) finish() { m.LoadEnd, m.SpeedEnd = hostinfo.LoadAvg(), cpuSpeed() }

// cpuSpeed returns the time a bridge.Encode and bridge.Decode of a
// typical Response take, the best of several tries.
func cpuSpeed() time.Duration {
	m := bridge.NewMessage("1795292184832-3", &bridge.Response{
		RequestID: "1795292184832-2", ResponseProcessingTime: "0",
		ResponseData: []bridge.MethodResult{{Method: "latestHeight", Result: json.RawMessage(`{"value":123456}`)}},
	})
	best := time.Duration(1<<63 - 1)
	for range 5 {
		const n = 200
		start := time.Now()
		for range n {
			b, err := bridge.Encode(m)
			if err != nil {
				return 0
			}
			if _, err := bridge.Decode(b); err != nil {
				return 0
			}
		}
		best = min(best, time.Since(start)/n)
	}
	return best
}
