package main

import (
	"fmt"
	"log"
	"os"

	rlog "github.com/smallnest/rpcx/log"
)

var stderr = log.New(os.Stderr, "rpcx-server ", log.LstdFlags|log.Lmicroseconds)

func logf(format string, v ...any) { stderr.Output(2, fmt.Sprintf(format, v...)) }

// levelLogger routes rpcx's logger (stdout by default) to stderr, keeping
// stdout for the address line.
type levelLogger struct{ level int }

const (
	lvDebug = iota
	lvInfo
	lvWarn
	lvError
)

func setLogger(level string) {
	lv := lvError
	switch level {
	case "debug":
		lv = lvDebug
	case "info":
		lv = lvInfo
	case "warn":
		lv = lvWarn
	}
	rlog.SetLogger(&levelLogger{level: lv})
	log.SetOutput(os.Stderr)
}

func (l *levelLogger) out(lv int, tag, s string) {
	if lv >= l.level {
		stderr.Output(4, tag+" "+s)
	}
}

func (l *levelLogger) Debug(v ...any)            { l.out(lvDebug, "DEBUG", fmt.Sprint(v...)) }
func (l *levelLogger) Debugf(f string, v ...any) { l.out(lvDebug, "DEBUG", fmt.Sprintf(f, v...)) }
func (l *levelLogger) Info(v ...any)             { l.out(lvInfo, "INFO", fmt.Sprint(v...)) }
func (l *levelLogger) Infof(f string, v ...any)  { l.out(lvInfo, "INFO", fmt.Sprintf(f, v...)) }
func (l *levelLogger) Warn(v ...any)             { l.out(lvWarn, "WARN", fmt.Sprint(v...)) }
func (l *levelLogger) Warnf(f string, v ...any)  { l.out(lvWarn, "WARN", fmt.Sprintf(f, v...)) }
func (l *levelLogger) Error(v ...any)            { l.out(lvError, "ERROR", fmt.Sprint(v...)) }
func (l *levelLogger) Errorf(f string, v ...any) { l.out(lvError, "ERROR", fmt.Sprintf(f, v...)) }
func (l *levelLogger) Fatal(v ...any)            { l.out(lvError+1, "FATAL", fmt.Sprint(v...)); os.Exit(1) }
func (l *levelLogger) Fatalf(f string, v ...any) {
	l.out(lvError+1, "FATAL", fmt.Sprintf(f, v...))
	os.Exit(1)
}
func (l *levelLogger) Panic(v ...any) { s := fmt.Sprint(v...); l.out(lvError+1, "PANIC", s); panic(s) }
func (l *levelLogger) Panicf(f string, v ...any) {
	s := fmt.Sprintf(f, v...)
	l.out(lvError+1, "PANIC", s)
	panic(s)
}
