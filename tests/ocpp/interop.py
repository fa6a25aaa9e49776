#!/usr/bin/env python3
"""Charge points written on the PyPI `ocpp` package (The Mobility House) against a running
evgrid: OCPP 1.6 and 2.0.1 happy paths (boot, status, authorize, a transaction with meter values,
stop), remote start and stop sent through evgrid's REST API, then raw bad frames each answered
with its CALLERROR and nothing stored; and a driver's charge through evgrid's driver API on each
charge point (remote start under evgrid's id tag, the transaction linked to the driver's charge,
remote stop, the order billed with the station's tariff). Shares no code with evgrid.

Usage: interop.py HTTP_BASE CP16_ID CP16_PASSWORD CS201_ID CS201_PASSWORD [HTTPS_BASE CA_PEM]
(with HTTPS_BASE, also security profile 2: TLS with the server certificate checked, plus Basic;
and, with P3_ID and P3_PASSWORD in the environment naming a third registered charger, security
profile 3: its certificate signed through SignCertificate, then TLS client authentication).
Keys and certificate requests are made with the openssl command, not with evgrid.
"""
import asyncio
import base64
import json
import os
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from datetime import datetime, timezone

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

HTTP, CP16, PW16, CS201, PW201 = sys.argv[1:6]
TLS_BASE, CA = (sys.argv[6], sys.argv[7]) if len(sys.argv) > 7 and sys.argv[6] else (None, None)
WS = HTTP.replace("http://", "ws://").rstrip("/")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


TOKEN = None


def request(method, path, body=None, token=None, headers=None):
    """A REST call (with a bearer token when given): (status, JSON answer)."""
    h = {"content-type": "application/json", **(headers or {})}
    if token:
        h["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(HTTP.rstrip("/") + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=40) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def api(method, path, body=None, login=True):
    """A REST call, as the admin named by EVGRID_API_USER / EVGRID_API_PASSWORD."""
    global TOKEN
    if login and TOKEN is None:
        status, session = request("POST", "/api/v1/auth/login", {
            "username": os.environ["EVGRID_API_USER"], "password": os.environ["EVGRID_API_PASSWORD"]})
        assert status == 200, session
        TOKEN = session["token"]
    return request(method, path, body, TOKEN if login else None)


def driver_api(token, method, path, body=None, headers=None):
    """A REST call as a driver (bearer token)."""
    return request(method, path, body, token, headers)


def new_driver(name):
    status, _ = api("POST", "/api/v1/auth/register", {"username": name, "password": "a driver password"}, login=False)
    assert status == 201, status
    status, session = api("POST", "/api/v1/auth/login", {"username": name, "password": "a driver password"}, login=False)
    assert status == 200, session
    return session["token"]


# The interop station's tariff (scripts/ocpp-interop.sh): 0.80 + 0.40 yuan/kWh all day.
FEN_PER_KWH = 120


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class CP16Impl(ChargePoint16):
    remote_started = None

    @on("RemoteStartTransaction")
    def remote_start(self, id_tag, connector_id=None, **kwargs):
        self.remote_started = (id_tag, connector_id)
        return result16.RemoteStartTransaction(status="Accepted")

    @on("RemoteStopTransaction")
    def remote_stop(self, transaction_id, **kwargs):
        self.remote_stopped = transaction_id
        return result16.RemoteStopTransaction(status="Accepted")

    @on("Reset")
    def reset(self, type, **kwargs):
        return result16.Reset(status="Accepted")

    @on("GetConfiguration")
    def get_configuration(self, key=None, **kwargs):
        return result16.GetConfiguration(configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}])


class CS201Impl(ChargePoint201):
    remote_started = None

    @on("RequestStartTransaction")
    def request_start(self, id_token, remote_start_id, evse_id=None, **kwargs):
        self.remote_started = (id_token["id_token"], evse_id, remote_start_id)
        return result201.RequestStartTransaction(status="Accepted")

    @on("RequestStopTransaction")
    def request_stop(self, transaction_id, **kwargs):
        self.remote_stopped = transaction_id
        return result201.RequestStopTransaction(status="Accepted")

    @on("CostUpdated")
    def cost_updated(self, total_cost, transaction_id, **kwargs):
        self.cost = (transaction_id, total_cost)
        return result201.CostUpdated()

    @on("GetTransactionStatus")
    def transaction_status(self, transaction_id=None, **kwargs):
        self.status_asked = transaction_id
        return result201.GetTransactionStatus(messages_in_queue=False, ongoing_indicator=True)


async def raw_call(ws, text):
    await ws.send(text)
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def refused(path, subprotocols, headers, what):
    try:
        async with connect(WS + path, subprotocols=subprotocols, additional_headers=headers):
            check(False, what)
    except InvalidStatus as e:
        check(e.response.status_code in (400, 401), f"{what} (HTTP {e.response.status_code})")


async def v16():
    async with connect(f"{WS}/ocpp/{CP16}", subprotocols=["ocpp1.6"], additional_headers=basic(CP16, PW16)) as ws:
        check(ws.subprotocol == "ocpp1.6", "1.6: subprotocol ocpp1.6 negotiated")
        cp = CP16Impl(CP16, ws)
        loop = asyncio.create_task(cp.start())
        boot = await cp.call(call16.BootNotification(charge_point_vendor="PyPI-ocpp", charge_point_model="interop-16"))
        check(boot.status == "Accepted", "1.6: BootNotification accepted")
        await cp.call(call16.StatusNotification(connector_id=1, error_code="NoError", status="Available", timestamp=now()))
        status, _ = await asyncio.to_thread(api, "GET", f"/api/v1/chargers/{CP16}", None, False)
        check(status == 401, f"the charger's state needs a login (HTTP {status})")
        status, _ = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CP16}/commands", {"command": "reset", "kind": "soft"}, False)
        check(status == 401, f"a command needs a login (HTTP {status})")
        status, charger = await asyncio.to_thread(api, "GET", f"/api/v1/chargers/{CP16}")
        check(status == 200 and charger["connectors"][0]["status"] == "available", "1.6: status stored (available)")
        check(charger["charger"]["vendor"] == "PyPI-ocpp" and charger["connected"], "1.6: boot stored, charger connected")
        auth = await cp.call(call16.Authorize(id_tag="DRIVER-1"))
        check(auth.id_tag_info["status"] == "Accepted" and auth.id_tag_info.get("parent_id_tag") == "FLEET-A",
              f"1.6: Authorize accepted, with the card's group ({auth.id_tag_info})")
        auth = await cp.call(call16.Authorize(id_tag="LOST-CARD"))
        check(auth.id_tag_info["status"] == "Blocked", f"1.6: a blocked card is Blocked ({auth.id_tag_info})")
        auth = await cp.call(call16.Authorize(id_tag="NOBODYS-CARD"))
        check(auth.id_tag_info["status"] == "Invalid", f"1.6: an unknown card is Invalid ({auth.id_tag_info})")
        start = await cp.call(call16.StartTransaction(connector_id=1, id_tag="DRIVER-1", meter_start=1000, timestamp=now()))
        tx = start.transaction_id
        check(isinstance(tx, int), f"1.6: StartTransaction gives transaction {tx}")
        await cp.call(call16.StatusNotification(connector_id=1, error_code="NoError", status="Charging", timestamp=now()))
        await cp.call(call16.MeterValues(connector_id=1, transaction_id=tx, meter_value=[
            {"timestamp": now(), "sampledValue": [{"value": "4500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                                                   {"value": "61", "measurand": "SoC", "unit": "Percent"}]}]))
        # Remote stop through evgrid's API; the charge point then stops.
        status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CP16}/commands",
                                                 {"command": "remote_stop", "transaction_id": str(tx)})
        check(status == 200 and answer["answer"]["status"] == "Accepted", f"1.6: remote stop answered by the charger ({status})")
        check(getattr(cp, "remote_stopped", None) == tx, "1.6: the charger got RemoteStopTransaction for its transaction")
        await cp.call(call16.StopTransaction(meter_stop=9000, timestamp=now(), transaction_id=tx, reason="Remote"))
        await cp.call(call16.StatusNotification(connector_id=1, error_code="NoError", status="Finishing", timestamp=now()))
        status, charger = await asyncio.to_thread(api, "GET", f"/api/v1/chargers/{CP16}")
        session = next((s for s in charger["sessions"] if s["session_ref"] == f"{CP16}:{tx}"), None)
        check(session is not None and session["state"] == "finished", "1.6: session finished")
        check(session is not None and session["energy"] == 8000, f"1.6: energy 8000 Wh from meter values ({session and session['energy']})")
        check(session is not None and session["soc"] == 61, "1.6: SoC from meter values")
        check(charger["connectors"][0]["status"] == "occupied", "1.6: Finishing shows as occupied")
        # Remote start through the API.
        status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CP16}/commands",
                                                 {"command": "remote_start", "connector": 1, "id_tag": "DRIVER-2"})
        check(status == 200 and answer["answer"]["status"] == "Accepted" and cp.remote_started == ("DRIVER-2", 1),
              "1.6: remote start reaches the charger and is answered")
        status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CP16}/commands", {"command": "reset", "kind": "hard"})
        check(status == 200 and answer["action"] == "Reset", "1.6: reset answered")
        status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CP16}/commands",
                                                 {"command": "ocpp", "action": "GetConfiguration", "payload": {"key": ["HeartbeatInterval"]}})
        check(status == 200 and answer["answer"]["configurationKey"][0]["value"] == "300", "1.6: any action (GetConfiguration) through the API")
        status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CP16}/commands",
                                                 {"command": "ocpp", "action": "GetConfiguration", "payload": {"key": "not-a-list"}})
        check(status == 400, "a command payload that breaks the schema is a 400, not sent")
        status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CP16}/commands",
                                                 {"command": "ocpp", "action": "ClearCache", "payload": {}})
        check(status == 502, f"a CALLERROR from the charger (no ClearCache handler) is a 502 ({status})")
        status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CP16}/commands", {"command": "fly"})
        check(status == 400, "an unknown command is a 400")
        loop.cancel()

    # Raw bad frames on a fresh connection: each its CALLERROR, the connection stays up.
    sessions_before = len((await asyncio.to_thread(api, "GET", f"/api/v1/chargers/{CP16}"))[1]["sessions"])
    async with connect(f"{WS}/ocpp/{CP16}", subprotocols=["ocpp1.6"], additional_headers=basic(CP16, PW16),
                       max_size=2 ** 22) as ws:
        cases = [
            ("malformed JSON", '[2, "b1", "Heartbeat", {', "FormationViolation"),
            ("wrong message type", '[9, "b2", "Heartbeat", {}]', "FormationViolation"),
            ("unknown action", '[2, "b3", "MakeCoffee", {}]', "NotImplemented"),
            ("wrong type", '[2, "b4", "StartTransaction", {"connectorId": "one", "idTag": "T", "meterStart": 0, "timestamp": "%s"}]' % now(), "TypeConstraintViolation"),
            ("missing field", '[2, "b5", "StartTransaction", {"connectorId": 1, "meterStart": 0, "timestamp": "%s"}]' % now(), "OccurenceConstraintViolation"),
            ("value outside the enum", '[2, "b6", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"}]', "PropertyConstraintViolation"),
            ("missing elements", '[2, "b7"]', "ProtocolError"),
            ("oversized frame", '[2, "b8", "DataTransfer", {"vendorId": "x", "data": "%s"}]' % ("x" * 200_000), "FormationViolation"),
        ]
        for what, text, code in cases:
            answer = await raw_call(ws, text)
            check(answer[0] == 4 and answer[2] == code, f"1.6 bad frame, {what}: CALLERROR {answer[2] if len(answer) > 2 else answer}")
        answer = await raw_call(ws, '[2, "b9", "Heartbeat", {}]')
        check(answer[0] == 3 and "currentTime" in answer[2], "1.6: the connection stays up after bad frames")
    status, charger = await asyncio.to_thread(api, "GET", f"/api/v1/chargers/{CP16}")
    check(len(charger["sessions"]) == sessions_before and charger["connectors"][0]["status"] == "occupied",
          "1.6: nothing of the bad frames was stored")


async def v201():
    async with connect(f"{WS}/ocpp/{CS201}", subprotocols=["ocpp2.0.1"], additional_headers=basic(CS201, PW201)) as ws:
        check(ws.subprotocol == "ocpp2.0.1", "2.0.1: subprotocol ocpp2.0.1 negotiated")
        cp = CS201Impl(CS201, ws)
        loop = asyncio.create_task(cp.start())
        boot = await cp.call(call201.BootNotification(charging_station={"model": "interop-201", "vendorName": "PyPI-ocpp"}, reason="PowerUp"))
        check(boot.status == "Accepted", "2.0.1: BootNotification accepted")
        await cp.call(call201.StatusNotification(timestamp=now(), connector_status="Available", evse_id=1, connector_id=1))
        auth = await cp.call(call201.Authorize(id_token={"idToken": "DRIVER-3", "type": "ISO14443"}))
        check(auth.id_token_info["status"] == "Accepted", "2.0.1: Authorize accepted")
        auth = await cp.call(call201.Authorize(id_token={"idToken": "NOBODYS-CARD", "type": "ISO14443"}))
        check(auth.id_token_info["status"] == "Unknown", f"2.0.1: an unknown card is Unknown ({auth.id_token_info})")
        # A card registered through the API is accepted at once, and blocked when the API says so.
        status, _ = await asyncio.to_thread(api, "POST", "/api/v1/tokens",
                                            {"id_token": "API-CARD", "group_id": "FLEET-B", "expires_at": 4102444800})
        check(status == 201, f"a card registered through /api/v1/tokens (HTTP {status})")
        auth = await cp.call(call201.Authorize(id_token={"idToken": "API-CARD", "type": "ISO14443"}))
        check(auth.id_token_info["status"] == "Accepted"
              and auth.id_token_info.get("group_id_token", {}).get("id_token") == "FLEET-B"
              and auth.id_token_info.get("cache_expiry_date_time", "").startswith("2100-01-01"),
              f"2.0.1: the API's card accepted with its group and expiry ({auth.id_token_info})")
        status, _ = await asyncio.to_thread(api, "PATCH", "/api/v1/tokens/API-CARD", {"status": "blocked"})
        check(status == 200, f"the card blocked through the API (HTTP {status})")
        auth = await cp.call(call201.Authorize(id_token={"idToken": "API-CARD", "type": "ISO14443"}))
        check(auth.id_token_info["status"] == "Blocked", f"2.0.1: the blocked card is Blocked ({auth.id_token_info})")
        status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CS201}/commands",
                                                 {"command": "remote_start", "connector": 1, "id_tag": "DRIVER-3"})
        check(status == 200 and answer["answer"]["status"] == "Accepted" and cp.remote_started and cp.remote_started[0] == "DRIVER-3",
              f"2.0.1: RequestStartTransaction reaches the charger ({status})")
        await cp.call(call201.TransactionEvent(event_type="Started", timestamp=now(), trigger_reason="RemoteStart", seq_no=0,
                                               transaction_info={"transactionId": "TX-201", "chargingState": "Charging"},
                                               evse={"id": 1, "connectorId": 1},
                                               meter_value=[{"timestamp": now(), "sampledValue": [{"value": 500.0}]}]))
        await cp.call(call201.StatusNotification(timestamp=now(), connector_status="Occupied", evse_id=1, connector_id=1))
        await cp.call(call201.TransactionEvent(event_type="Updated", timestamp=now(), trigger_reason="MeterValuePeriodic", seq_no=1,
                                               transaction_info={"transactionId": "TX-201", "chargingState": "Charging"},
                                               meter_value=[{"timestamp": now(), "sampledValue": [{"value": 3.5, "unitOfMeasure": {"unit": "kWh"}}]}]))
        # I02: the running cost reaches the charger (3 kWh at the station's 1.20 yuan/kWh).
        for _ in range(50):
            if getattr(cp, "cost", None):
                break
            await asyncio.sleep(0.1)
        check(getattr(cp, "cost", None) == ("TX-201", 3.6), f"2.0.1: CostUpdated with the running cost ({getattr(cp, 'cost', None)})")
        # E_31: event 2 never comes; the central system asks for the transaction's status.
        await cp.call(call201.TransactionEvent(event_type="Updated", timestamp=now(), trigger_reason="MeterValuePeriodic", seq_no=3,
                                               transaction_info={"transactionId": "TX-201", "chargingState": "Charging"},
                                               meter_value=[{"timestamp": now(), "sampledValue": [{"value": 3.6, "unitOfMeasure": {"unit": "kWh"}}]}]))
        for _ in range(50):
            if getattr(cp, "status_asked", None):
                break
            await asyncio.sleep(0.1)
        check(getattr(cp, "status_asked", None) == "TX-201", "2.0.1: a gap in seqNo is answered with GetTransactionStatus")
        # K_48/K_55: a limit from the grid and the EV's needs, shown on the charger's page per connector.
        await cp.call(call201.NotifyChargingLimit(charging_limit={"chargingLimitSource": "SO", "isGridCritical": True}, evse_id=1))
        await cp.call(call201.NotifyEVChargingNeeds(evse_id=1, charging_needs={
            "requestedEnergyTransfer": "AC_three_phase",
            "acChargingParameters": {"energyAmount": 20000, "evMinCurrent": 6, "evMaxCurrent": 32, "evMaxVoltage": 400}}))
        status, charger = await asyncio.to_thread(api, "GET", f"/api/v1/chargers/{CS201}")
        first = charger["connectors"][0]
        check(status == 200 and (first.get("charging_limit") or {}).get("source") == "SO"
              and first["charging_limit"].get("grid_critical") is True
              and (first.get("ev_charging_needs") or {}).get("energy_wh") == 20000
              and first["ev_charging_needs"].get("max_current_a") == 32,
              f"2.0.1: the charging limit and the EV's needs on connector 1 ({first})")
        await cp.call(call201.ClearedChargingLimit(charging_limit_source="SO", evse_id=1))
        status, charger = await asyncio.to_thread(api, "GET", f"/api/v1/chargers/{CS201}")
        check((charger["connectors"][0].get("charging_limit") or {}).get("cleared") is True,
              f"2.0.1: the cleared limit replaces it ({charger['connectors'][0].get('charging_limit')})")
        status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CS201}/commands",
                                                 {"command": "remote_stop", "transaction_id": "TX-201"})
        check(status == 200 and answer["answer"]["status"] == "Accepted" and getattr(cp, "remote_stopped", None) == "TX-201",
              "2.0.1: RequestStopTransaction reaches the charger")
        await cp.call(call201.TransactionEvent(event_type="Ended", timestamp=now(), trigger_reason="RemoteStop", seq_no=4,
                                               transaction_info={"transactionId": "TX-201", "stoppedReason": "Remote"},
                                               meter_value=[{"timestamp": now(), "sampledValue": [{"value": 7500.0}]}]))
        status, charger = await asyncio.to_thread(api, "GET", f"/api/v1/chargers/{CS201}")
        session = next((s for s in charger["sessions"] if s["session_ref"] == f"{CS201}:TX-201"), None)
        check(session is not None and session["state"] == "finished" and session["energy"] == 7000,
              f"2.0.1: transaction stored, 7000 Wh ({session and (session['state'], session['energy'])})")
        check(charger["connectors"][0]["status"] == "occupied", "2.0.1: status stored")
        loop.cancel()
    async with connect(f"{WS}/ocpp/{CS201}", subprotocols=["ocpp2.0.1"], additional_headers=basic(CS201, PW201)) as ws:
        for what, text, code in [
            ("malformed JSON", "[2, \"c1\"", "FormatViolation"),
            ("wrong message type", '[5, "c2", "Heartbeat", {}]', "MessageTypeNotSupported"),
            ("unknown action", '[2, "c3", "MakeCoffee", {}]', "NotImplemented"),
            ("payload breaking the schema", '[2, "c4", "BootNotification", {"reason": "PowerUp"}]', "OccurrenceConstraintViolation"),
        ]:
            answer = await raw_call(ws, text)
            check(answer[0] == 4 and answer[2] == code, f"2.0.1 bad frame, {what}: CALLERROR {answer[2] if len(answer) > 2 else answer}")


async def driver_charge_16():
    """A driver starts a charge on the 1.6 charge point's connector 2 through evgrid."""
    token = await asyncio.to_thread(new_driver, "interop-driver-16")
    async with connect(f"{WS}/ocpp/{CP16}", subprotocols=["ocpp1.6"], additional_headers=basic(CP16, PW16)) as ws:
        cp = CP16Impl(CP16, ws)
        loop = asyncio.create_task(cp.start())
        await cp.call(call16.BootNotification(charge_point_vendor="PyPI-ocpp", charge_point_model="interop-16"))
        await cp.call(call16.StatusNotification(connector_id=2, error_code="NoError", status="Available", timestamp=now()))
        status, charge = await asyncio.to_thread(driver_api, token, "POST", "/api/v1/sessions",
                                                 {"connector_id": f"EVGRID000:{CP16}-2"}, {"Idempotency-Key": "interop-16-1"})
        check(status == 201 and charge["status"] == "started" and charge["channel"] == "ocpp",
              f"1.6 driver: the charge starts through the charger ({status} {charge.get('status')} {charge.get('message')})")
        tag = charge["session_ref"]
        check(cp.remote_started == (tag, 2), f"1.6 driver: RemoteStartTransaction for connector 2 under evgrid's tag {tag}")
        start = await cp.call(call16.StartTransaction(connector_id=2, id_tag=tag, meter_start=2000, timestamp=now()))
        tx = start.transaction_id
        await cp.call(call16.MeterValues(connector_id=2, transaction_id=tx, meter_value=[
            {"timestamp": now(), "sampledValue": [{"value": "6000", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]))
        status, seen = await asyncio.to_thread(driver_api, token, "GET", f"/api/v1/sessions/{charge['id']}")
        check(status == 200 and seen["session_ref"] == f"{CP16}:{tx}" and seen["live"]["energy"] == 4000,
              f"1.6 driver: the transaction is the driver's charge, 4000 Wh so far ({seen.get('session_ref')})")
        check(seen["live"]["total_money"] == 4 * FEN_PER_KWH, f"1.6 driver: cost so far {seen['live']['total_money']} fen")
        status, stopped = await asyncio.to_thread(driver_api, token, "POST", f"/api/v1/sessions/{charge['id']}/stop")
        check(status == 200 and getattr(cp, "remote_stopped", None) == tx, f"1.6 driver: stop reaches the charger as RemoteStopTransaction ({status})")
        await cp.call(call16.StopTransaction(meter_stop=12000, timestamp=now(), transaction_id=tx, reason="Remote"))
        status, done = await asyncio.to_thread(driver_api, token, "GET", f"/api/v1/sessions/{charge['id']}")
        live = done["live"]
        check(live["state"] == "finished" and live["order_received_at"] is not None and live["energy"] == 10000,
              "1.6 driver: the order: finished, 10 kWh")
        check(live["total_money"] == 10 * FEN_PER_KWH and live["electricity_money"] + live["service_money"] == live["total_money"],
              f"1.6 driver: billed {live['total_money']} fen = 10 kWh x {FEN_PER_KWH}")
        loop.cancel()


async def driver_charge_201():
    """A driver charges on the 2.0.1 station, whose events name no id token (remoteStartId only)."""
    token = await asyncio.to_thread(new_driver, "interop-driver-201")
    async with connect(f"{WS}/ocpp/{CS201}", subprotocols=["ocpp2.0.1"], additional_headers=basic(CS201, PW201)) as ws:
        cp = CS201Impl(CS201, ws)
        loop = asyncio.create_task(cp.start())
        await cp.call(call201.BootNotification(charging_station={"model": "interop-201", "vendorName": "PyPI-ocpp"}, reason="PowerUp"))
        await cp.call(call201.StatusNotification(timestamp=now(), connector_status="Available", evse_id=1, connector_id=1))
        status, charge = await asyncio.to_thread(driver_api, token, "POST", "/api/v1/sessions",
                                                 {"connector_id": f"EVGRID000:{CS201}-1"}, {"Idempotency-Key": "interop-201-1"})
        check(status == 201 and charge["status"] == "started", f"2.0.1 driver: the charge starts ({status} {charge.get('message')})")
        check(cp.remote_started and cp.remote_started[0] == charge["session_ref"] and cp.remote_started[1] == 1,
              "2.0.1 driver: RequestStartTransaction under evgrid's tag")
        remote_id = cp.remote_started[2]
        await cp.call(call201.TransactionEvent(event_type="Started", timestamp=now(), trigger_reason="RemoteStart", seq_no=0,
                                               transaction_info={"transactionId": "TX-DRIVER", "chargingState": "Charging", "remoteStartId": remote_id},
                                               evse={"id": 1, "connectorId": 1},
                                               meter_value=[{"timestamp": now(), "sampledValue": [{"value": 1000.0}]}]))
        status, seen = await asyncio.to_thread(driver_api, token, "GET", f"/api/v1/sessions/{charge['id']}")
        check(seen["session_ref"] == f"{CS201}:TX-DRIVER", f"2.0.1 driver: linked by remoteStartId {remote_id} ({seen['session_ref']})")
        status, _ = await asyncio.to_thread(driver_api, token, "POST", f"/api/v1/sessions/{charge['id']}/stop")
        check(status == 200 and getattr(cp, "remote_stopped", None) == "TX-DRIVER", "2.0.1 driver: stop reaches the charger")
        await cp.call(call201.TransactionEvent(event_type="Ended", timestamp=now(), trigger_reason="RemoteStop", seq_no=1,
                                               transaction_info={"transactionId": "TX-DRIVER", "stoppedReason": "Remote"},
                                               meter_value=[{"timestamp": now(), "sampledValue": [{"value": 6000.0}]}]))
        status, done = await asyncio.to_thread(driver_api, token, "GET", f"/api/v1/sessions/{charge['id']}")
        live = done["live"]
        check(live["order_received_at"] is not None and live["energy"] == 5000 and live["total_money"] == 5 * FEN_PER_KWH,
              f"2.0.1 driver: the order: 5 kWh, {live['total_money']} fen")
        loop.cancel()


async def tls():
    """Security profile 2: TLS (server certificate verified) and HTTP Basic."""
    context = ssl.create_default_context(cafile=CA)
    wss = TLS_BASE.replace("https://", "wss://").rstrip("/")
    async with connect(f"{wss}/ocpp/{CP16}", subprotocols=["ocpp1.6"], additional_headers=basic(CP16, PW16), ssl=context) as ws:
        check(ws.subprotocol == "ocpp1.6", "TLS: a charger connects over wss with Basic (security profile 2)")
        answer = await raw_call(ws, '[2, "t1", "Heartbeat", {}]')
        check(answer[0] == 3 and "currentTime" in answer[2], "TLS: Heartbeat answered over wss")
    try:
        async with connect(f"{wss}/ocpp/{CP16}", subprotocols=["ocpp1.6"], additional_headers=basic(CP16, "a-wrong-password-123"), ssl=context):
            check(False, "TLS: wrong password refused")
    except InvalidStatus as e:
        check(e.response.status_code == 401, "TLS: wrong password refused (HTTP 401)")


def openssl(*args):
    return subprocess.run(["openssl", *args], check=True, capture_output=True, text=True).stdout


def new_key_and_request(folder, common_name):
    """An EC key and a certificate signing request for it (openssl), as a charger makes them."""
    key, csr = f"{folder}/{common_name}.key", f"{folder}/{common_name}.csr"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-subj", f"/CN={common_name}/O=Interop operator", "-out", csr)
    with open(csr) as f:
        return key, f.read()


async def tls_refused(url, subprotocol, headers, context):
    """Whether a connection is refused: an HTTP status (401 expected) or a failed TLS handshake."""
    try:
        async with connect(url, subprotocols=[subprotocol], additional_headers=headers, ssl=context, open_timeout=10):
            return "connected"
    except InvalidStatus as e:
        return e.response.status_code
    except Exception as e:  # the TLS layer refused the client certificate
        return type(e).__name__


class CertifiedStation(ChargePoint201):
    chain = None
    network = None
    priority = None
    reset_type = None

    @on("CertificateSigned")
    def certificate_signed(self, certificate_chain, certificate_type=None, **kwargs):
        self.chain = certificate_chain
        return result201.CertificateSigned(status="Accepted")

    @on("SetNetworkProfile")
    def set_network_profile(self, configuration_slot, connection_data, **kwargs):
        self.network = (configuration_slot, connection_data)
        return result201.SetNetworkProfile(status="Accepted")

    @on("SetVariables")
    def set_variables(self, set_variable_data, **kwargs):
        first = set_variable_data[0]
        self.priority = (first["component"]["name"], first["variable"]["name"], first["attribute_value"])
        return result201.SetVariables(set_variable_result=[{
            "attribute_status": "Accepted", "component": first["component"], "variable": first["variable"]}])

    @on("Reset")
    def reset(self, type, **kwargs):
        self.reset_type = type
        return result201.Reset(status="Accepted")


async def profile3():
    """Security profile 3 (A_11-A_14, TC_074): the station's CSR signed by the platform through
    SignCertificate, the chain sent back as CertificateSigned and checked with openssl against the
    platform's authority; then the station connects with its certificate and no password, a
    password alone no longer does, and certificates for another id or not signed by the platform
    are refused."""
    p3, p3_password = os.environ["P3_ID"], os.environ["P3_PASSWORD"]
    folder = tempfile.mkdtemp()
    context = ssl.create_default_context(cafile=CA)
    wss = TLS_BASE.replace("https://", "wss://").rstrip("/")
    key, csr = new_key_and_request(folder, p3)
    _, someone_elses = new_key_and_request(folder, "SOMEONE-ELSE")
    async with connect(f"{wss}/ocpp/{p3}", subprotocols=["ocpp2.0.1"], additional_headers=basic(p3, p3_password), ssl=context) as ws:
        cp = CertifiedStation(p3, ws)
        loop = asyncio.create_task(cp.start())
        await cp.call(call201.BootNotification(charging_station={"model": "interop-p3", "vendorName": "PyPI-ocpp"}, reason="PowerUp"))
        answer = await cp.call(call201.SignCertificate(csr=someone_elses, certificate_type="ChargingStationCertificate"))
        check(answer.status == "Rejected", f"profile 3: a CSR for another id is Rejected ({answer.status})")
        answer = await cp.call(call201.SignCertificate(csr=csr, certificate_type="ChargingStationCertificate"))
        check(answer.status == "Accepted", f"profile 3: SignCertificate Accepted ({answer.status})")
        for _ in range(100):
            if cp.chain:
                break
            await asyncio.sleep(0.1)
        check(bool(cp.chain), "profile 3: CertificateSigned with the chain follows")
        loop.cancel()
    if not cp.chain:
        return
    chain = f"{folder}/chain.pem"
    with open(chain, "w") as f:
        f.write(cp.chain)
    with urllib.request.urlopen(HTTP.rstrip("/") + "/api/v1/certificate-authority.pem", timeout=20) as r:
        authority = f"{folder}/authority.pem"
        with open(authority, "wb") as f:
            f.write(r.read())
    verified = subprocess.run(["openssl", "verify", "-CAfile", authority, "-purpose", "sslclient", chain],
                              capture_output=True, text=True)
    check(verified.returncode == 0, f"profile 3: openssl verifies the chain against the platform's authority ({verified.stdout.strip()} {verified.stderr.strip()})")
    subject = openssl("x509", "-in", chain, "-noout", "-subject")
    check(f"CN = {p3}" in subject or f"CN={p3}" in subject, f"profile 3: the certificate names the station ({subject.strip()})")
    certified = ssl.create_default_context(cafile=CA)
    certified.load_cert_chain(certfile=chain, keyfile=key)
    async with connect(f"{wss}/ocpp/{p3}", subprotocols=["ocpp2.0.1"], ssl=certified) as ws:
        cp = CertifiedStation(p3, ws)
        loop = asyncio.create_task(cp.start())
        boot = await cp.call(call201.BootNotification(charging_station={"model": "interop-p3", "vendorName": "PyPI-ocpp"}, reason="PowerUp"))
        check(boot.status == "Accepted", "profile 3: connected with the client certificate and no password, boot accepted")
        status, charger = await asyncio.to_thread(api, "GET", f"/api/v1/chargers/{p3}")
        check(status == 200 and charger["charger"]["security_profile"] == 3 and charger["connected"],
              f"profile 3: the charger's page says profile 3 ({charger['charger'].get('security_profile')})")
        # A05: the platform moves the station to a profile on a URL: network profile, priority, reset.
        status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{p3}/security-profile",
                                                 {"profile": 3, "csms_url": f"{wss}/ocpp/", "configuration_slot": 2})
        check(status == 200 and (answer.get("told") or {}).get("status") == "Accepted",
              f"A05: the security profile upgrade is told to the station ({status} {answer})")
        slot, data = cp.network or (None, {})
        check(slot == 2 and data.get("security_profile") == 3 and data.get("ocpp_csms_url") == f"{wss}/ocpp/",
              f"A05: SetNetworkProfile with slot 2, profile 3 and the URL ({cp.network})")
        check(cp.priority == ("OCPPCommCtrlr", "NetworkConfigurationPriority", "2") and cp.reset_type == "OnIdle",
              f"A05: the slot first in NetworkConfigurationPriority, then Reset OnIdle ({cp.priority}, {cp.reset_type})")
        status, _ = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{p3}/security-profile",
                                            {"profile": 3, "csms_url": "ws://plain.example/ocpp/"})
        check(status == 400, f"A05: profile 3 on a ws:// URL is refused (HTTP {status})")
        loop.cancel()
    refused = await tls_refused(f"{wss}/ocpp/{p3}", "ocpp2.0.1", basic(p3, p3_password), context)
    check(refused == 401, f"profile 3: a password alone no longer does ({refused})")
    refused = await tls_refused(f"{wss}/ocpp/{CS201}", "ocpp2.0.1", {}, certified)
    check(refused == 401, f"profile 3: the certificate does not open another charger ({refused})")
    stranger = f"{folder}/stranger.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-keyout", f"{folder}/stranger.key", "-subj", f"/CN={p3}", "-out", stranger)
    self_signed = ssl.create_default_context(cafile=CA)
    self_signed.load_cert_chain(certfile=stranger, keyfile=f"{folder}/stranger.key")
    refused = await tls_refused(f"{wss}/ocpp/{p3}", "ocpp2.0.1", {}, self_signed)
    check(refused not in ("connected", 401), f"profile 3: a certificate the platform did not sign fails the TLS handshake ({refused})")
    # Profile 2 required through the API: plain HTTP refused, TLS with the password accepted.
    status, answer = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CS201}/security-profile", {"profile": 2})
    check(status == 200 and answer["security_profile"] == 2, f"profile 2 required through the API ({status})")
    try:
        async with connect(f"{WS}/ocpp/{CS201}", subprotocols=["ocpp2.0.1"], additional_headers=basic(CS201, PW201)):
            refused = "connected"
    except InvalidStatus as e:
        refused = e.response.status_code
    check(refused == 401, f"profile 2: the same password over plain HTTP is refused ({refused})")
    async with connect(f"{wss}/ocpp/{CS201}", subprotocols=["ocpp2.0.1"], additional_headers=basic(CS201, PW201), ssl=context) as ws:
        check(ws.subprotocol == "ocpp2.0.1", "profile 2: over TLS it connects")
    status, _ = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CS201}/security-profile", {"profile": 4})
    check(status == 400, f"profile 4 does not exist (HTTP {status})")


async def main():
    await refused(f"/ocpp/{CP16}", ["ocpp1.6"], basic(CP16, "a-wrong-password-123"), "wrong password refused")
    await refused(f"/ocpp/{CP16}", ["ocpp1.6"], {}, "no password refused")
    await refused(f"/ocpp/{CP16}", ["ocpp1.5"], basic(CP16, PW16), "no supported subprotocol refused")
    await refused("/ocpp/NOT-REGISTERED", ["ocpp1.6"], {}, "unknown charger refused")
    await v16()
    await v201()
    await driver_charge_16()
    await driver_charge_201()
    status, _ = await asyncio.to_thread(api, "POST", f"/api/v1/chargers/{CP16}/commands", {"command": "unlock", "connector": 1})
    check(status == 409, "a command to a charger that is not connected is a 409")
    if TLS_BASE:
        await tls()
        if os.environ.get("P3_ID"):
            await profile3()
        else:
            check(False, "no P3_ID given: security profile 3 not tested")
    else:
        check(False, "no TLS address given: security profile 2 not tested")


asyncio.run(main())
if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("all OCPP interop checks passed")
