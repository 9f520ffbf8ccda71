// Command codeccheck decodes payloads with rpcx's own codecs (share.Codecs) into the Go types
// of interop/go/internal/values and says whether the result equals the case's Go value.
//
// Input: JSON lines {"case": "<name>", "serializeType": n, "payloadHex": "<hex>"}.
// Output: one JSON line per input: {"case", "serializeType", "ok", "error"?, "got"?}.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/rpcx-node/interop/internal/values"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"
)

type request struct {
	Case          string `json:"case"`
	SerializeType int    `json:"serializeType"`
	PayloadHex    string `json:"payloadHex"`
}

type result struct {
	Case          string `json:"case"`
	SerializeType int    `json:"serializeType"`
	OK            bool   `json:"ok"`
	Error         string `json:"error,omitempty"`
	Got           string `json:"got,omitempty"`
}

func check(line []byte) (res result) {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return result{Error: "bad input line: " + err.Error()}
	}
	res = result{Case: req.Case, SerializeType: req.SerializeType}
	defer func() {
		if r := recover(); r != nil {
			res.OK = false
			res.Error = fmt.Sprintf("panic: %v", r)
		}
	}()
	c, ok := values.Lookup(req.Case)
	if !ok {
		res.Error = "unknown case " + req.Case
		return res
	}
	if req.SerializeType < 0 || req.SerializeType > 255 {
		res.Error = fmt.Sprintf("bad serializeType %d", req.SerializeType)
		return res
	}
	codec := share.Codecs[protocol.SerializeType(req.SerializeType)]
	if codec == nil {
		res.Error = fmt.Sprintf("no codec for serialize type %d", req.SerializeType)
		return res
	}
	payload, err := hex.DecodeString(req.PayloadHex)
	if err != nil {
		res.Error = "bad payloadHex: " + err.Error()
		return res
	}
	got := c.New()
	if err := codec.Decode(payload, got); err != nil {
		res.Error = "decode: " + err.Error()
		res.Got = fmt.Sprintf("%#v", got)
		return res
	}
	res.OK = c.Check(got)
	if !res.OK {
		res.Error = fmt.Sprintf("decoded value differs from the case's value %#v", c.Value)
		res.Got = fmt.Sprintf("%#v", got)
	}
	return res
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<30)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		line := in.Bytes()
		if len(line) == 0 {
			continue
		}
		if err := enc.Encode(check(line)); err != nil {
			fmt.Fprintln(os.Stderr, "codeccheck:", err)
			os.Exit(1)
		}
		if err := out.Flush(); err != nil {
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "codeccheck:", err)
		os.Exit(1)
	}
}
