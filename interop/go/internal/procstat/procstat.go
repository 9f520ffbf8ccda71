// Package procstat reads CPU time for the benchmark programs: this process's (getrusage) and
// another process's (/proc/<pid>/stat), in microseconds.
package procstat

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// SelfUs is this process's user+system CPU time in microseconds.
func SelfUs() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec*1e6+int64(ru.Utime.Usec)) + float64(ru.Stime.Sec*1e6+int64(ru.Stime.Usec))
}

// PidUs is utime+stime of process pid in microseconds (clock ticks of 10 ms, USER_HZ=100); 0 when
// pid is not positive or cannot be read.
func PidUs(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// after "pid (comm) ": state is field 3, utime 14, stime 15 (1-based): indexes 11 and 12 here
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) * 10_000
}
