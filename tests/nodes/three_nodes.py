"""Three evgrid nodes on one PostgreSQL database behind HAProxy, and a charge point written on the
PyPI `ocpp` package (third party) connected through the balancer (scripts/nodes-haproxy.sh).

Checks: the charger is connected on one node and every node says so; a status it sends reaches
the driver's search on the other nodes; a driver's charge started through one node that does not
hold the charger and stopped through another completes and is billed; the node holding the
charger is killed (SIGKILL): the charge point reconnects through the balancer to a live node, and
everything acknowledged before (the order, the last status) is still there; a second connection
of the charger closes the first (one live session, the newer wins).

Usage: three_nodes.py BALANCER_URL NODE_URLS(comma) NODE_PIDS(comma) CHARGER PASSWORD
"""

import asyncio
import base64
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

from websockets.asyncio.client import connect

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16

BALANCER = sys.argv[1].rstrip("/")
NODES = [u.rstrip("/") for u in sys.argv[2].split(",") if u]
PIDS = [int(p) for p in sys.argv[3].split(",") if p]
CP, PW = sys.argv[4], sys.argv[5]
WS = BALANCER.replace("http://", "ws://")
STATION = "EVGRID000:OCPP-NODES"
FEN_PER_KWH = 120  # the station's tariff: 0.80 + 0.40 yuan/kWh all day
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def request(base, method, path, body=None, token=None, headers=None):
    """A REST call to one node (or the balancer): (status, JSON answer)."""
    h = {"content-type": "application/json", **(headers or {})}
    if token:
        h["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=40) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def login(base, username, password):
    status, session = request(base, "POST", "/api/v1/auth/login", {"username": username, "password": password})
    assert status == 200, session
    return session["token"]


def wait_for(seconds, probe):
    deadline = time.monotonic() + seconds
    while True:
        got = probe()
        if got is not None and got is not False:
            return got
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


class CP16(ChargePoint16):
    remote_started = None
    remote_stopped = None

    @on("RemoteStartTransaction")
    def remote_start(self, id_tag, connector_id=None, **kwargs):
        self.remote_started = (id_tag, connector_id)
        return result16.RemoteStartTransaction(status="Accepted")

    @on("RemoteStopTransaction")
    def remote_stop(self, transaction_id, **kwargs):
        self.remote_stopped = transaction_id
        return result16.RemoteStopTransaction(status="Accepted")

    @on("DataTransfer")
    def data_transfer(self, vendor_id, **kwargs):
        return result16.DataTransfer(status="Accepted")


def basic():
    return {"Authorization": "Basic " + base64.b64encode(f"{CP}:{PW}".encode()).decode()}


async def open_charger():
    """Connects through the balancer (retrying while it finds a live node) and boots."""
    deadline = time.monotonic() + 30
    while True:
        try:
            ws = await connect(f"{WS}/ocpp/{CP}", subprotocols=["ocpp1.6"], additional_headers=basic(),
                               open_timeout=5)
            break
        except Exception as e:  # the balancer has not yet marked the dead node down
            if time.monotonic() > deadline:
                raise
            print(f"     (connecting: {e!r}; again)", flush=True)
            await asyncio.sleep(0.5)
    cp = CP16(CP, ws)
    task = asyncio.create_task(cp.start())
    boot = await cp.call(call16.BootNotification(charge_point_vendor="PyPI-ocpp", charge_point_model="nodes-16"))
    check(boot.status == "Accepted", "the charge point boots through the balancer")
    return ws, cp, task


async def main():
    admin = await asyncio.to_thread(login, NODES[0], os.environ["EVGRID_API_USER"], os.environ["EVGRID_API_PASSWORD"])
    ws, cp, task = await open_charger()
    for n in (1, 2):
        await cp.call(call16.StatusNotification(connector_id=n, error_code="NoError", status="Available", timestamp=now()))

    # One node holds the connection; every node says the charger is connected (a login made on
    # node 1 works on every node: logins live in the database).
    def charger_on(i):
        return request(NODES[i], "GET", f"/api/v1/chargers/{CP}", token=admin)[1]
    holder = await asyncio.to_thread(wait_for, 10, lambda: next(
        (i for i in range(len(NODES)) if charger_on(i).get("connected_here")), None))
    check(holder is not None, f"one node holds the charger (node {None if holder is None else holder + 1})")
    others = [i for i in range(len(NODES)) if i != holder]
    for i in range(len(NODES)):
        c = await asyncio.to_thread(charger_on, i)
        check(c["connected"] is True and c["connected_with"] == "1.6" and c["connected_here"] == (i == holder),
              f"node {i + 1} sees the charger connected (here: {c['connected_here']})")

    # A status the charger sends reaches the driver's search on the other nodes.
    def free_on(i):
        status, found = request(NODES[i], "GET", "/api/v1/search/stations?lat=25.8306&lng=114.9328&radius_m=500&k=20")
        item = next((x for x in found.get("items", []) if x["station_id"] == STATION), None)
        return None if item is None else item["free"]
    check(all(free_on(i) == 2 for i in others), "both connectors free on the other nodes' search")
    sent = time.monotonic()
    await cp.call(call16.StatusNotification(connector_id=1, error_code="NoError", status="Charging", timestamp=now()))
    seen = await asyncio.to_thread(wait_for, 5, lambda: all(free_on(i) == 1 for i in others) and time.monotonic() - sent)
    check(seen is not None, f"the status is in the other nodes' search answers ({seen and round(seen * 1000)} ms after the charger's message)")

    # A driver's charge: started through a node that does not hold the charger, stopped through
    # the other one, completed and billed.
    start_node, stop_node = NODES[others[0]], NODES[others[1]]
    status, _ = await asyncio.to_thread(request, BALANCER, "POST", "/api/v1/auth/register",
                                        {"username": "nodes-driver", "password": "a driver password"})
    driver = await asyncio.to_thread(login, BALANCER, "nodes-driver", "a driver password")
    t0 = time.monotonic()
    status, charge = await asyncio.to_thread(request, start_node, "POST", "/api/v1/sessions",
                                             {"connector_id": f"EVGRID000:{CP}-2"}, driver, {"Idempotency-Key": "nodes-1"})
    check(status == 201 and charge.get("status") == "started" and charge.get("channel") == "ocpp",
          f"the driver's charge starts through node {others[0] + 1} ({status} {charge.get('message')}, {round((time.monotonic() - t0) * 1000)} ms)")
    tag = charge["session_ref"]
    check(cp.remote_started == (tag, 2), "RemoteStartTransaction reached the charger on the other node")
    start = await cp.call(call16.StartTransaction(connector_id=2, id_tag=tag, meter_start=2000, timestamp=now()))
    tx = start.transaction_id
    await cp.call(call16.MeterValues(connector_id=2, transaction_id=tx, meter_value=[
        {"timestamp": now(), "sampledValue": [{"value": "6000", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]))
    status, seen = await asyncio.to_thread(request, NODES[holder], "GET", f"/api/v1/sessions/{charge['id']}", None, driver)
    check(status == 200 and seen["live"]["energy"] == 4000, "the charge so far, read on the holding node: 4000 Wh")
    status, _ = await asyncio.to_thread(request, stop_node, "POST", f"/api/v1/sessions/{charge['id']}/stop", None, driver)
    check(status == 200 and cp.remote_stopped == tx, f"the stop through node {others[1] + 1} reached the charger ({status})")
    await cp.call(call16.StopTransaction(meter_stop=12000, timestamp=now(), transaction_id=tx, reason="Remote"))
    status, done = await asyncio.to_thread(request, start_node, "GET", f"/api/v1/sessions/{charge['id']}", None, driver)
    live = done["live"]
    check(live["state"] == "finished" and live["energy"] == 10000 and live["total_money"] == 10 * FEN_PER_KWH,
          f"the order: finished, 10 kWh, {live['total_money']} fen")
    await cp.call(call16.StatusNotification(connector_id=1, error_code="NoError", status="Faulted", timestamp=now()))

    # The holding node dies. The charge point reconnects through the balancer to a live node;
    # what was acknowledged before is all there.
    os.kill(PIDS[holder], signal.SIGKILL)
    killed = time.monotonic()
    try:
        await asyncio.wait_for(ws.wait_closed(), 15)
    except asyncio.TimeoutError:
        pass
    task.cancel()
    ws, cp, task = await open_charger()
    print(f"     (reconnected {round(time.monotonic() - killed, 1)} s after the kill)", flush=True)
    new_holder = await asyncio.to_thread(wait_for, 15, lambda: next(
        (i for i in others if charger_on(i).get("connected_here")), None))
    check(new_holder is not None, f"a live node holds the charger again (node {None if new_holder is None else new_holder + 1})")
    survivor = NODES[others[0]]
    status, after = await asyncio.to_thread(request, survivor, "GET", f"/api/v1/sessions/{charge['id']}", None, driver)
    check(status == 200 and after["live"]["state"] == "finished" and after["live"]["energy"] == 10000,
          "the order acknowledged before the kill is intact")
    status, station = await asyncio.to_thread(request, survivor, "GET", f"/api/v1/stations/{STATION}")
    statuses = json.dumps(station)
    check(status == 200 and "faulted" in statuses, "the last status acknowledged before the kill is stored")
    # A command through the other live node reaches the charger on its new node.
    other_live = next(i for i in others if i != new_holder) if new_holder is not None else others[0]
    status, answer = await asyncio.to_thread(request, NODES[other_live], "POST", f"/api/v1/chargers/{CP}/commands",
                                             {"command": "ocpp", "action": "DataTransfer", "payload": {"vendorId": "evgrid"}}, admin)
    check(status == 200, f"a command through node {other_live + 1} reaches the reconnected charger ({status})")

    # A second connection of the same charger (through the balancer: on the same node or the
    # other): the newer wins, the older is closed with 1008, never two live sessions.
    ws2, cp2, task2 = await open_charger()
    try:
        await asyncio.wait_for(ws.wait_closed(), 10)
    except asyncio.TimeoutError:
        pass
    check(ws.close_code == 1008, f"the older connection is closed with 1008 ({ws.close_code})")
    holders = await asyncio.to_thread(wait_for, 10, lambda: (lambda h: h if len(h) == 1 else None)(
        [i for i in others if charger_on(i).get("connected_here")]))
    check(holders is not None, f"exactly one live node holds the charger (node {holders and holders[0] + 1})")
    task.cancel()
    task2.cancel()
    await ws2.close()


asyncio.run(main())
if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("all three-node checks passed")
