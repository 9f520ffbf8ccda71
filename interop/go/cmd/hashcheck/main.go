// Command hashcheck prints the server choices of Go rpcx v1.9.4's own selectors, for the TS
// XClient interop tests (consistent_hash_agrees_with_go, weighted_round_robin_agrees_with_go).
//
// How: rpcx's selectors are unexported, so hashcheck builds a real client.XClient
// (client.NewXClient over a MultipleServersDiscovery) and takes the Selector it made out of
// the XClient's unexported `selector` field with reflect+unsafe. Select and UpdateServer are
// then called through the exported client.Selector interface: rpcx's real code (genKey,
// fmt %v, FNV-1a, doublejump; the WRR ring), nothing re-implemented. The selector's server
// order, which Go takes from random map iteration, is read the same way and printed, so the
// TS side can replay that exact order. Op "call" goes further: a real XClient calls real Go
// servers (Echo.Metadata) and reports which server answered (`__ServerAddress`).
//
// Input: JSON lines, one request each; output: one JSON line per request.
//
//	{"op":"fmt","values":[V...]}                        -> {"out":["%v of each"]}
//	{"op":"hash","servers":[KV],"calls":[C],"update":[KV]?,"callsAfter":[C]?}
//	                                                     -> {"order":[..],"picks":[..],"orderAfter":[..],"picksAfter":[..]}
//	{"op":"wrr","servers":[KV],"n":N}                    -> {"order":[..],"weights":[..],"picks":[..]}
//	{"op":"call","selectMode":M,"servers":[KV],"calls":[C]}
//	                                                     -> {"order":[..],"picks":["answering server address"..]}
//
// KV = {"key":"tcp@host:port","value":"weight=2"}; C = {"path":"Arith","method":"Mul","args":V};
// V = a typed value: {"t":"args","A":1,"B":2} (struct{A, B int}), {"t":"pargs",...} (pointer to
// it), {"t":"str","v":"x"}, {"t":"int","v":1}, {"t":"int64","v":"123"}, {"t":"uint64","v":"123"},
// {"t":"float","v":0.5}, {"t":"bool","v":true}, {"t":"bytes","v":[1,2]}, {"t":"ints","v":[1,2]},
// {"t":"strs","v":["a"]}, {"t":"smap","v":{"a":"b"}}, {"t":"imap","v":{"a":1}},
// {"t":"intmap","v":{"3":"x"}} (map[int]string), {"t":"nested","Name":"n","In":V(args),
// "Tags":[..],"M":{..}}, {"t":"nil"}.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"time"
	"unsafe"

	"github.com/edwingeng/doublejump"
	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/share"
)

type ArithArgs struct {
	A int
	B int
}

type Nested struct {
	Name string
	In   ArithArgs
	Tags []string
	M    map[string]int
}

type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type call struct {
	Path   string          `json:"path"`
	Method string          `json:"method"`
	Args   json.RawMessage `json:"args"`
}

type request struct {
	Op         string            `json:"op"`
	Values     []json.RawMessage `json:"values"`
	Servers    []kv              `json:"servers"`
	Update     []kv              `json:"update"`
	Calls      []call            `json:"calls"`
	CallsAfter []call            `json:"callsAfter"`
	N          int               `json:"n"`
	SelectMode int               `json:"selectMode"`
}

type response struct {
	Out        []string `json:"out,omitempty"`
	Order      []string `json:"order,omitempty"`
	Weights    []int    `json:"weights,omitempty"`
	Picks      []string `json:"picks,omitempty"`
	OrderAfter []string `json:"orderAfter,omitempty"`
	PicksAfter []string `json:"picksAfter,omitempty"`
	Error      string   `json:"error,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		line := in.Bytes()
		if len(line) == 0 {
			continue
		}
		var res response
		func() {
			defer func() {
				if r := recover(); r != nil {
					res = response{Error: fmt.Sprint(r)}
				}
			}()
			res = handle(line)
		}()
		_ = out.Encode(res)
	}
}

func handle(line []byte) response {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return response{Error: "bad input: " + err.Error()}
	}
	switch req.Op {
	case "fmt":
		var res response
		for _, v := range req.Values {
			res.Out = append(res.Out, fmt.Sprintf("%v", value(v)))
		}
		return res
	case "hash":
		return hash(req)
	case "wrr":
		return wrr(req)
	case "call":
		return callServers(req)
	}
	return response{Error: "unknown op " + req.Op}
}

func pairs(list []kv) []*client.KVPair {
	out := make([]*client.KVPair, 0, len(list))
	for _, p := range list {
		out = append(out, &client.KVPair{Key: p.Key, Value: p.Value})
	}
	return out
}

// unexported reads a field that Go does not export, through unsafe.
func unexported(v reflect.Value, name string) reflect.Value {
	f := v.FieldByName(name)
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// selectorOf takes the Selector NewXClient built out of the XClient.
func selectorOf(xc client.XClient) client.Selector {
	return unexported(reflect.ValueOf(xc).Elem(), "selector").Interface().(client.Selector)
}

func newXClient(mode client.SelectMode, servers []kv) (client.XClient, client.Selector) {
	d, _ := client.NewMultipleServersDiscovery(pairs(servers))
	xc := client.NewXClient("Svc", client.Failfast, mode, d, client.DefaultOption)
	return xc, selectorOf(xc)
}

func hashOrder(s client.Selector) []string {
	h := unexported(reflect.ValueOf(s).Elem(), "h").Interface().(*doublejump.Hash)
	var order []string
	for _, o := range h.All() {
		order = append(order, o.(string))
	}
	return order
}

func hash(req request) response {
	xc, s := newXClient(client.ConsistentHash, req.Servers)
	defer xc.Close()
	res := response{Order: hashOrder(s)}
	for _, c := range req.Calls {
		res.Picks = append(res.Picks, s.Select(context.Background(), c.Path, c.Method, value(c.Args)))
	}
	if req.Update != nil {
		m := make(map[string]string, len(req.Update))
		for _, p := range req.Update {
			m[p.Key] = p.Value
		}
		s.UpdateServer(m)
		res.OrderAfter = hashOrder(s)
		for _, c := range req.CallsAfter {
			res.PicksAfter = append(res.PicksAfter, s.Select(context.Background(), c.Path, c.Method, value(c.Args)))
		}
	}
	return res
}

func wrr(req request) response {
	xc, s := newXClient(client.WeightedRoundRobin, req.Servers)
	defer xc.Close()
	res := response{}
	ws := unexported(reflect.ValueOf(s).Elem(), "servers").Interface().([]*client.Weighted)
	for _, w := range ws {
		res.Order = append(res.Order, w.Server)
		res.Weights = append(res.Weights, w.Weight)
	}
	for i := 0; i < req.N; i++ {
		res.Picks = append(res.Picks, s.Select(context.Background(), "Svc", "M", nil))
	}
	return res
}

// callServers drives a real XClient against real servers: Echo.Metadata with request
// metadata, so the response metadata is non-empty and Go's client adds __ServerAddress.
func callServers(req request) response {
	d, _ := client.NewMultipleServersDiscovery(pairs(req.Servers))
	opt := client.DefaultOption
	opt.ConnectTimeout = 5 * time.Second
	xc := client.NewXClient("Echo", client.Failfast, client.SelectMode(req.SelectMode), d, opt)
	defer xc.Close()
	s := selectorOf(xc)
	res := response{}
	switch client.SelectMode(req.SelectMode) {
	case client.ConsistentHash:
		res.Order = hashOrder(s)
	case client.WeightedRoundRobin:
		for _, w := range unexported(reflect.ValueOf(s).Elem(), "servers").Interface().([]*client.Weighted) {
			res.Order = append(res.Order, w.Server)
		}
	}
	for i, c := range req.Calls {
		resMeta := map[string]string{}
		ctx := context.WithValue(context.Background(), share.ReqMetaDataKey, map[string]string{"i": strconv.Itoa(i)})
		ctx = context.WithValue(ctx, share.ResMetaDataKey, resMeta)
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var reply map[string]interface{}
		err := xc.Call(ctx, c.Method, value(c.Args), &reply)
		cancel()
		if err != nil {
			return response{Error: fmt.Sprintf("call %d: %v", i, err)}
		}
		res.Picks = append(res.Picks, resMeta[share.ServerAddress])
	}
	return res
}

// value builds the Go value a JSON description stands for.
func value(raw json.RawMessage) interface{} {
	if len(raw) == 0 {
		return nil
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(raw, &d); err != nil {
		panic("bad value " + string(raw))
	}
	var t string
	_ = json.Unmarshal(d["t"], &t)
	get := func(k string, into interface{}) {
		if err := json.Unmarshal(d[k], into); err != nil {
			panic(fmt.Sprintf("bad %s in %s: %v", k, raw, err))
		}
	}
	switch t {
	case "nil":
		return nil
	case "args", "pargs":
		var a ArithArgs
		get("A", &a.A)
		get("B", &a.B)
		if t == "pargs" {
			return &a
		}
		return a
	case "str":
		var s string
		get("v", &s)
		return s
	case "int":
		var n int
		get("v", &n)
		return n
	case "int64":
		var s string
		get("v", &s)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			panic(err)
		}
		return n
	case "uint64":
		var s string
		get("v", &s)
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			panic(err)
		}
		return n
	case "float":
		var f float64
		get("v", &f)
		return f
	case "bool":
		var b bool
		get("v", &b)
		return b
	case "bytes":
		var b []int
		get("v", &b)
		out := make([]byte, len(b))
		for i, x := range b {
			out[i] = byte(x)
		}
		return out
	case "ints":
		var v []int
		get("v", &v)
		return v
	case "strs":
		var v []string
		get("v", &v)
		return v
	case "smap":
		var v map[string]string
		get("v", &v)
		return v
	case "imap":
		var v map[string]int
		get("v", &v)
		return v
	case "intmap":
		var v map[string]string
		get("v", &v)
		m := make(map[int]string, len(v))
		for k, x := range v {
			n, err := strconv.Atoi(k)
			if err != nil {
				panic(err)
			}
			m[n] = x
		}
		return m
	case "nested":
		var n Nested
		get("Name", &n.Name)
		n.In = value(d["In"]).(ArithArgs)
		get("Tags", &n.Tags)
		get("M", &n.M)
		return n
	}
	panic("unknown value type " + t)
}
