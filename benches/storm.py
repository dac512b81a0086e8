#!/usr/bin/env python3
# Registration storm (issue 11), an interim driver until benches/load.rs has a --storm section:
# N distinct instances registered over C keep-alive connections at full speed against a
# running eureka-server on 127.0.0.1:PORT, then a check that every 204 is in GET /eureka/apps.
# Usage: python3 benches/storm.py N C PORT   (see BENCHMARKS.md, "Registration storm").
import asyncio, sys, json, time
N=int(sys.argv[1]); C=int(sys.argv[2]); PORT=int(sys.argv[3])
codes={}
accepted=set()
async def worker(w, ids):
    r,wr=await asyncio.open_connection('127.0.0.1',PORT)
    for i in ids:
        app=f"STORM{i%100}"; iid=f"s{i}"
        body=json.dumps({"instance":{"instanceId":iid,"hostName":f"h{i}","app":app,"ipAddr":"10.0.0.1","status":"UP","port":{"$":8080,"@enabled":"true"},"dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}}}).encode()
        wr.write(f"POST /eureka/apps/{app} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode()+body)
        await wr.drain()
        head=await r.readuntil(b"\r\n\r\n")
        code=int(head.split()[1]); codes[code]=codes.get(code,0)+1
        cl=0
        for l in head.split(b"\r\n"):
            if l.lower().startswith(b"content-length:"): cl=int(l.split(b":")[1])
        if cl: await r.readexactly(cl)
        if code==204: accepted.add(iid)
    wr.close()
async def main():
    t=time.time()
    await asyncio.gather(*[worker(w, range(w,N,C)) for w in range(C)])
    dt=time.time()-t
    print("codes",codes,"secs",round(dt,1),"rate",int(N/dt))
    r,wr=await asyncio.open_connection('127.0.0.1',PORT)
    wr.write(b"GET /eureka/apps HTTP/1.1\r\nhost: x\r\naccept: application/json\r\nconnection: close\r\n\r\n"); await wr.drain()
    data=await r.read()
    body=data.split(b"\r\n\r\n",1)[1]
    # may be chunked? content-length used by server
    apps=json.loads(body)["applications"]["application"]
    seen={i["instanceId"] for a in apps for i in a["instance"]}
    print("accepted",len(accepted),"missing",len(accepted-seen))
asyncio.run(main())
