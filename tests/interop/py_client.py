"""Interop check: the real py-eureka-client against a tower-eureka server.

Usage: python py_client.py http://127.0.0.1:PORT/eureka

Each registered instance runs in its own process (`... instance URL N PORT META_JSON`),
because py-eureka-client 0.11's heartbeat thread outlives `stop()` and re-registers: a
real service stops by exiting, and so do these.

Two instances register and heartbeat (every 1 s), a discovery-only client sees them with
the right host, port, status and metadata; an operator sets one OUT_OF_SERVICE over REST
and it stays so through heartbeats; the other deregisters and disappears. Prints one line
per check and exits non-zero on the first failure.
"""
import asyncio
import json
import subprocess
import sys
import time
import urllib.request

from py_eureka_client.eureka_client import EurekaClient
from py_eureka_client import eureka_basic

URL = sys.argv[1].rstrip("/")
APP = "PY-INTEROP"


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


def rest(method, path, accept="application/json"):
    req = urllib.request.Request(URL + path, method=method, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def make(i, port, meta):
    return EurekaClient(
        eureka_server=URL,
        app_name="py-interop",
        instance_id=f"py-{i}",
        instance_host=f"py-host-{i}",
        instance_ip=f"127.0.0.{10 + i}",
        instance_port=port,
        renewal_interval_in_secs=1,
        duration_in_secs=30,
        metadata=meta,
        should_discover=False,
    )


async def wait_for(what, pred, timeout=20.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await pred()
        if last is not None:
            return last
        await asyncio.sleep(0.25)
    fail(f"timed out waiting for {what}")


async def seen(app_name):
    # What a py-eureka-client discovery client reads (XML, as it asks without Accept).
    apps = await eureka_basic.get_applications(URL)
    app = apps.get_application(app_name)
    return {i.instanceId: i for i in app.instances} if app else {}


async def instance_main(i, port, meta):
    c = make(i, port, meta)
    await c.start()
    print("started", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await c.stop()  # re-registers DOWN, then cancels
    print("stopped", flush=True)


class Instance:
    def __init__(self, i, port, meta):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, URL, "instance", str(i), str(port), json.dumps(meta)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "started":
            fail(f"instance {i} did not start: {line!r}")

    def stop(self):
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        self.proc.wait(timeout=10)
        if line != "stopped":
            fail(f"instance did not stop cleanly: {line!r}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()


async def main():
    c1 = Instance(1, 18081, {"zone": "z1", "version": "1.0", "management.port": "9001"})
    c2 = Instance(2, 18082, {"zone": "z2"})
    try:
        await checks(c1, c2)
    finally:
        c1.kill()
        c2.kill()


async def checks(c1, c2):
    ok("two py-eureka-client instances started (register + 1 s heartbeats)")

    async def both_up():
        s = await seen(APP)
        if len(s) == 2 and all(i.status == "UP" for i in s.values()):
            return s
        return None

    s = await wait_for("both instances UP", both_up)
    i1 = s["py-1"]
    if (i1.hostName, i1.ipAddr, i1.port.port, i1.port.enabled) != ("py-host-1", "127.0.0.11", 18081, True):
        fail(f"instance py-1 has wrong address: {i1.hostName} {i1.ipAddr} {i1.port.port} {i1.port.enabled}")
    if i1.metadata.get("zone") != "z1" or i1.metadata.get("management.port") != "9001":
        fail(f"instance py-1 has wrong metadata: {i1.metadata}")
    # py-eureka-client adds `management.port` (= the instance port) on its own.
    if s["py-2"].metadata != {"zone": "z2", "management.port": "18082"}:
        fail(f"instance py-2 has wrong metadata: {s['py-2'].metadata}")
    ok("discovery sees both with host, ip, port, status UP and metadata")

    # The same through JSON (what Java/Spring clients read).
    code, body = rest("GET", "/apps/PY-INTEROP")
    doc = json.loads(body)
    if code != 200 or len(doc["application"]["instance"]) != 2:
        fail(f"JSON GET /apps/PY-INTEROP: {code} {body[:200]!r}")
    ok("JSON view agrees")

    # A discovery-only py client (delta fetches with hash reconcile).
    disc = EurekaClient(eureka_server=URL, should_register=False, renewal_interval_in_secs=1)
    await disc.start()

    code, _ = rest("PUT", "/apps/PY-INTEROP/py-1/status?value=OUT_OF_SERVICE")
    if code != 200:
        fail(f"status override answered {code}")

    async def oos():
        s = await seen(APP)
        return s if s.get("py-1") is not None and s["py-1"].status == "OUT_OF_SERVICE" else None

    await wait_for("py-1 OUT_OF_SERVICE", oos)
    await asyncio.sleep(3.5)  # at least three heartbeats from py-1
    s = await seen(APP)
    if s["py-1"].status != "OUT_OF_SERVICE" or s["py-1"].overriddenstatus != "OUT_OF_SERVICE":
        fail(f"override lost through heartbeats: {s['py-1'].status}/{s['py-1'].overriddenstatus}")
    if s["py-2"].status != "UP":
        fail("py-2 is no longer UP")
    ok("py-1 stays OUT_OF_SERVICE through heartbeats; py-2 UP")

    async def disc_sees_oos():
        app = disc.applications.get_application(APP)
        if app is None:
            return None
        st = {i.instanceId: i.status for i in app.instances}
        return st if st.get("py-1") == "OUT_OF_SERVICE" and st.get("py-2") == "UP" else None

    await wait_for("the delta-fetching py client to see the override", disc_sees_oos)
    ok("a delta-fetching py discovery client agrees (hash reconciled)")

    c2.stop()

    async def gone():
        s = await seen(APP)
        return s if set(s) == {"py-1"} else None

    await wait_for("py-2 to disappear after cancel", gone)

    async def disc_gone():
        app = disc.applications.get_application(APP)
        ids = {i.instanceId for i in app.instances} if app else set()
        return True if ids == {"py-1"} else None

    await wait_for("the py discovery client to drop py-2", disc_gone)
    ok("py-2 deregistered and disappeared (full and delta views)")

    c1.stop()
    await wait_for("registry empty", lambda: _empty())
    ok("py-1 deregistered; registry empty")
    await disc.stop()
    print("interop: all checks passed", flush=True)


async def _empty():
    s = await seen(APP)
    return True if not s else None


if len(sys.argv) > 2 and sys.argv[2] == "instance":
    asyncio.run(instance_main(int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])))
else:
    asyncio.run(main())
