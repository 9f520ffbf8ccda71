// Command framecheck decodes frames with rpcx v1.9.4's protocol.Message.Decode, so tests can
// check that Go reads what the TypeScript encoder writes (gzip included, whose bytes differ
// from Go's own). It reads JSON lines {"name": "...", "hex": "<frame>"} on stdin and writes one
// line per input: {"name", "ok", "error"?, "fields"?} with fields as in interop/VECTORS.md.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"os"

	"github.com/rpcx-node/interop/internal/frames"
)

type input struct {
	Name string `json:"name"`
	Hex  string `json:"hex"`
}

type output struct {
	Name   string         `json:"name"`
	OK     bool           `json:"ok"`
	Error  string         `json:"error,omitempty"`
	Fields *frames.Fields `json:"fields,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		var req input
		res := output{}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			res.Error = "bad input line: " + err.Error()
		} else if frame, err := hex.DecodeString(req.Hex); err != nil {
			res.Name, res.Error = req.Name, "bad hex: "+err.Error()
		} else if f, err := frames.Decode(frame); err != nil {
			res.Name, res.Error = req.Name, err.Error()
		} else {
			res.Name, res.OK, res.Fields = req.Name, true, &f
		}
		_ = enc.Encode(res)
		_ = out.Flush()
	}
}
