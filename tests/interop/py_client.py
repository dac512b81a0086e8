"""Interop check: the real py-eureka-client against a tower-eureka server.

Usage: python py_client.py PROXY_URL DIRECT_URL

The clients under test talk to the server through PROXY_URL, a counting proxy (see
`proxy.rs`) whose `/__counts` says what crossed the wire and what was answered; the checks
read the registry at DIRECT_URL, so they do not disturb those counts.

Each registered instance runs in its own process (`... instance N PORT META_JSON`),
because py-eureka-client 0.11's heartbeat thread outlives `stop()` and re-registers: a
real service stops by exiting, and so do these.

Two instances register with 3 s leases and heartbeat every 1 s; a discovery-only client
sees them with the right host, port, status and metadata; an operator sets one
OUT_OF_SERVICE over REST and it stays so through heartbeats, past its lease, which only
heartbeats (answered 200, no re-registration) can keep alive; the delta-fetching
discovery client (XML deltas) follows every change without falling back to a full fetch;
the other instance deregisters and disappears; the first one crashes (no cancel) and its
lease expires. Prints one line per check and exits non-zero on the first failure.
"""
import asyncio
import json
import select
import subprocess
import sys
import time
import urllib.request

from py_eureka_client.eureka_client import EurekaClient
from py_eureka_client import eureka_basic

PROXY = sys.argv[1].rstrip("/")
URL = sys.argv[2].rstrip("/")
APP = "PY-INTEROP"
LEASE_SECS = 3


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


def counts():
    """What crossed the proxy: {"heartbeat PY-INTEROP/py-1 200": n, ...}."""
    base = PROXY[: -len("/eureka")]
    with urllib.request.urlopen(base + "/__counts", timeout=5) as r:
        return json.loads(r.read())


def count(prefix, status=None):
    return sum(n for k, n in counts().items()
               if k.startswith(prefix + " ") and (status is None or k.endswith(f" {status}")))


def rest(method, path, accept="application/json"):
    req = urllib.request.Request(URL + path, method=method, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def make(i, port, meta):
    return EurekaClient(
        eureka_server=PROXY,
        app_name="py-interop",
        instance_id=f"py-{i}",
        instance_host=f"py-host-{i}",
        instance_ip=f"127.0.0.{10 + i}",
        instance_port=port,
        renewal_interval_in_secs=1,
        duration_in_secs=LEASE_SECS,
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
            [sys.executable, __file__, PROXY, URL, "instance", str(i), str(port), json.dumps(meta)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.line(f"instance {i} start")
        if line != "started":
            fail(f"instance {i} did not start: {line!r}")

    def line(self, what, timeout=20.0):
        """One line from the child, or a failure after `timeout` seconds."""
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.kill()
            fail(f"timed out waiting for {what}")
        return self.proc.stdout.readline().strip()

    def stop(self):
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        line = self.line("instance stop")
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

    # A discovery-only py client (XML delta fetches with hash reconcile), through the proxy.
    disc = EurekaClient(eureka_server=PROXY, should_register=False, renewal_interval_in_secs=1)
    await disc.start()

    def disc_view():
        app = disc.applications.get_application(APP) if disc.applications else None
        return {i.instanceId: i.status for i in app.instances} if app else {}

    await wait_for("the py discovery client to see both", lambda: _ready(disc_view() == {"py-1": "UP", "py-2": "UP"}))
    full0, delta0 = count("full -"), count("delta -")
    if full0 < 1:
        fail(f"the discovery client made no full fetch through the proxy: {counts()}")

    hb0 = count(f"heartbeat {APP}/py-1", 200)
    reg0 = count(f"register {APP}/py-1")
    code, _ = rest("PUT", "/apps/PY-INTEROP/py-1/status?value=OUT_OF_SERVICE")
    if code != 200:
        fail(f"status override answered {code}")

    async def oos():
        s = await seen(APP)
        return s if s.get("py-1") is not None and s["py-1"].status == "OUT_OF_SERVICE" else None

    await wait_for("py-1 OUT_OF_SERVICE", oos)
    # Past a whole lease: only heartbeats can keep py-1 registered now.
    await asyncio.sleep(LEASE_SECS + 1.5)
    s = await seen(APP)
    if "py-1" not in s:
        fail(f"py-1 expired although it heartbeats: {counts()}")
    if s["py-1"].status != "OUT_OF_SERVICE" or s["py-1"].overriddenstatus != "OUT_OF_SERVICE":
        fail(f"override lost through heartbeats: {s['py-1'].status}/{s['py-1'].overriddenstatus}")
    if s.get("py-2") is None or s["py-2"].status != "UP":
        fail("py-2 is no longer UP")
    beats = count(f"heartbeat {APP}/py-1", 200) - hb0
    if beats < LEASE_SECS:
        fail(f"only {beats} heartbeats from py-1 answered 200 in {LEASE_SECS + 1.5} s: {counts()}")
    failed = {k: n for k, n in counts().items() if k.startswith("heartbeat ") and not k.endswith(" 200")}
    if failed:
        fail(f"heartbeats answered other than 200: {failed}")
    if count(f"register {APP}/py-1") != reg0:
        fail(f"py-1 re-registered instead of renewing: {counts()}")
    ok(f"py-1 stays OUT_OF_SERVICE past its {LEASE_SECS} s lease on {beats} heartbeats (all 200, no re-registration); py-2 UP")

    await wait_for("the delta-fetching py client to see the override",
                   lambda: _ready(disc_view() == {"py-1": "OUT_OF_SERVICE", "py-2": "UP"}))
    ok("a delta-fetching py discovery client agrees (hash reconciled)")

    c2.stop()

    async def gone():
        s = await seen(APP)
        return s if set(s) == {"py-1"} else None

    await wait_for("py-2 to disappear after cancel", gone)
    await wait_for("the py discovery client to drop py-2", lambda: _ready(set(disc_view()) == {"py-1"}))
    if count(f"cancel {APP}/py-2", 200) != 1:
        fail(f"py-2 left without one answered cancel: {counts()}")
    ok("py-2 deregistered (cancel 200) and disappeared (full and delta views)")

    # The discovery client followed the override and the cancel by deltas alone: a delta
    # whose merge did not give the server's hash would have made it fetch everything again.
    full, deltas = count("full -") - full0, count("delta -", 200) - delta0
    if full != 0 or deltas < 3:
        fail(f"expected only XML deltas after the first full fetch, got {full} full and {deltas} deltas: {counts()}")
    ok(f"the discovery client used {deltas} XML deltas and no fallback full fetch")

    # A crash: no cancel, the heartbeats stop, and the 3 s lease really ends.
    c1.kill()
    t0 = time.monotonic()
    await wait_for("py-1's lease to expire after a crash", lambda: _empty())
    if count(f"cancel {APP}/py-1") != 0:
        fail("py-1 sent a cancel; the crash was not a crash")
    ok(f"py-1 crashed and its lease expired after {time.monotonic() - t0:.1f} s; registry empty")
    await disc.stop()
    print("interop: all checks passed", flush=True)


async def _ready(cond):
    return True if cond else None


async def _empty():
    s = await seen(APP)
    return True if not s else None


if len(sys.argv) > 3 and sys.argv[3] == "instance":
    asyncio.run(instance_main(int(sys.argv[4]), int(sys.argv[5]), json.loads(sys.argv[6])))
else:
    asyncio.run(main())
