import json,sys,collections
p=json.load(open(sys.argv[1]))
nodes={n['id']:n for n in p['nodes']}
parent={}
for n in p['nodes']:
    for c in n.get('children',[]): parent[c]=n['id']
dt=collections.Counter()
samples=p['samples']; deltas=p['timeDeltas']
# time per sample = next delta
selft=collections.Counter()
for i,s in enumerate(samples):
    d = deltas[i+1] if i+1<len(deltas) else 0
    selft[s]+=d
tot=sum(selft.values())
def name(n):
    cf=n['callFrame']; u=cf['url'].split('/')[-3:] ; return f"{cf['functionName'] or '(anon)'} {'/'.join(u)}:{cf['lineNumber']}"
byfn=collections.Counter(); bypkg=collections.Counter()
incl=collections.Counter()
for nid,t in selft.items():
    n=nodes[nid]; byfn[name(n)]+=t
    u=n['callFrame']['url']
    pkg = 'ioredis' if 'ioredis' in u else 'redis-parser' if 'redis-parser' in u else 'rpcx-src' if '/build/src/' in u else 'node:'+u.split('/')[-1] if u.startswith('node:') else ('tw' if 'tw.mjs' in u else (n['callFrame']['functionName'] or u or '?'))
    bypkg[pkg]+=t
    # inclusive per function name up stack (unique)
    seen=set(); x=nid
    while x is not None:
        nm=name(nodes[x])
        if nm not in seen: incl[nm]+=t; seen.add(nm)
        x=parent.get(x)
print('total ms', tot/1000)
for k,v in bypkg.most_common(25): print(f"{v/1000:9.1f} ms {100*v/tot:5.1f}% {k}")
print('--- self by fn')
for k,v in byfn.most_common(40): print(f"{v/1000:9.1f} ms {k}")
print('--- inclusive')
for k,v in incl.most_common(60): print(f"{v/1000:9.1f} ms {k}")
