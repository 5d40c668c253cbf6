package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat:
// 100 on every Linux platform Go supports.
const clockTicks = 100

// cpuTime returns the CPU time (user and system) a process has used so far,
// from /proc/<pid>/stat (proc(5)).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count the fields after its closing one. utime and stime are fields
	// 14 and 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// cpuMeter measures how many CPUs each process used over an interval.
type cpuMeter struct {
	pids  map[string]int
	start map[string]time.Duration
	t0    time.Time
}

func startCPU(pids map[string]int) *cpuMeter {
	m := &cpuMeter{pids: pids, start: map[string]time.Duration{}, t0: time.Now()}
	for name, pid := range pids {
		if t, err := cpuTime(pid); err == nil {
			m.start[name] = t
		}
	}
	return m
}

// cpuTimes is the CPU time each process used over a wall time.
type cpuTimes struct {
	Wall time.Duration
	CPU  map[string]time.Duration
}

// stop returns the CPU time each process used since startCPU; a process
// whose times cannot be read is left out.
func (m *cpuMeter) stop() cpuTimes {
	out := cpuTimes{Wall: time.Since(m.t0), CPU: map[string]time.Duration{}}
	for name, pid := range m.pids {
		t0, ok := m.start[name]
		t, err := cpuTime(pid)
		if ok && err == nil {
			out.CPU[name] = t - t0
		}
	}
	return out
}

// add accumulates another interval.
func (c *cpuTimes) add(o cpuTimes) {
	if c.CPU == nil {
		c.CPU = map[string]time.Duration{}
	}
	c.Wall += o.Wall
	for name, t := range o.CPU {
		c.CPU[name] += t
	}
}

// use returns the CPUs each process used on average.
func (c cpuTimes) use() cpuUse {
	out := cpuUse{}
	if c.Wall <= 0 {
		return out
	}
	for name, t := range c.CPU {
		out[name] = t.Seconds() / c.Wall.Seconds()
	}
	return out
}

// cpuUse is the CPUs each process used: CPU time over wall time.
type cpuUse map[string]float64

// idleCPUs is the use below which a process is left out of a pass's
// figures: it did not take part (the floor in the gateway's pass).
const idleCPUs = 0.005

// procNames are the processes measured, in the order reports list them.
var procNames = []string{"loadtest", "gateway", "node", "floor", "proxy", "nchan"}

// String renders the use as "loadtest 1.20, gateway 0.70, node 0.10".
func (u cpuUse) String() string {
	var parts []string
	for _, name := range procNames {
		if v, ok := u[name]; ok && v >= idleCPUs {
			parts = append(parts, fmt.Sprintf("%s %.2f", name, v))
		}
	}
	if len(parts) == 0 {
		return "n/a"
	}
	return strings.Join(parts, ", ")
}

// perRequest renders the CPU time each process spent per request at rate
// req/s, in µs: "loadtest 30, gateway 66, node 38".
func (u cpuUse) perRequest(rate float64) string {
	var parts []string
	for _, name := range procNames {
		if v, ok := u[name]; ok && rate > 0 && v >= idleCPUs {
			parts = append(parts, fmt.Sprintf("%s %.0f", name, v*1e6/rate))
		}
	}
	if len(parts) == 0 {
		return "n/a"
	}
	return strings.Join(parts, ", ")
}

// total returns the CPUs all processes used together.
func (u cpuUse) total() float64 {
	var t float64
	for _, v := range u {
		t += v
	}
	return t
}
