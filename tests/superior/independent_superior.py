#!/usr/bin/env python3
"""A superior supervision platform written from the T/CEC 102 text and the supervision reference
(specs/tcec-supervision.md) alone: it shares no code with evgrid. It runs its own T/CEC server
(query_token, notification_stationInfo, notification_stationStatus,
notification_equip_charge_status, notification_charge_order_info, check_charge_orders), drives
a real `evgrid serve` as an operator platform would (its own T/CEC client), and checks what
evgrid reports upward.

Usage: independent_superior.py EVGRID_BIN WORK_DIR STATIONS_CSV
(EVGRID_DATABASE_URL, when set, is the database evgrid runs on.)

Checks: every station and every connector's latest status arrive; a running charge's status
comes at the configured period; every order arrives exactly once although the superior refuses
the first two pushes of each (Ret 500), across a superior outage and a SIGKILL of evgrid; a
token the superior stops honouring (4002) is renewed; a status refused as invalid (4004) is not
retried and is flagged; the daily check of yesterday lists the order the superior never got and
its dispute shows in `evgrid superior status`.
"""
import base64
import csv
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BIN, WORK, STATIONS_CSV = sys.argv[1:4]
PLATFORM = "EVGRID000"            # evgrid's OperatorID at this superior
SUP_KEYS = ("indep-superior-op-secret", "INDEPSUPDATAKEY1", "INDEPSUPDATAIV01", "indep-superior-sig")
OPERATOR = "MA0CSVOP1"            # the operator platform this script plays towards evgrid
OP_KEYS = ("indep-operator-secret1", "INDEPOPDATASECR1", "INDEPOPDATAIV001", "indep-operator-sig1")
DATA = os.path.join(WORK, "data")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


# --- T/CEC security (part 4): AES-128-CBC, PKCS#7, Base64; HMAC-MD5 upper-case hex ----------
def encrypt(keys, plain: bytes) -> str:
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(keys[1].encode()), modes.CBC(keys[2].encode())).encryptor()
    return base64.b64encode(enc.update(padder.update(plain) + padder.finalize()) + enc.finalize()).decode()


def decrypt(keys, data: str) -> bytes:
    dec = Cipher(algorithms.AES(keys[1].encode()), modes.CBC(keys[2].encode())).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(dec.update(base64.b64decode(data)) + dec.finalize()) + unpadder.finalize()


def sig(keys, *parts) -> str:
    return hmac.new(keys[3].encode(), "".join(str(p) for p in parts).encode(), hashlib.md5).hexdigest().upper()


def china_time(t: float, fmt="%Y-%m-%d %H:%M:%S") -> str:
    return time.strftime(fmt, time.gmtime(t + 8 * 3600))


# --- the superior ----------------------------------------------------------------------------
class Superior:
    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = set()
        self.stations = {}          # OPERATOR:STATION -> StationInfo
        self.statuses = {}          # OPERATOR:CONNECTOR -> Status
        self.samples = {}           # StartChargeSeq -> [arrival times]
        self.orders = {}            # StartChargeSeq -> acknowledgements
        self.order_pushes = {}      # StartChargeSeq -> pushes seen
        self.checks = []
        self.bad_status_refused = 0
        self.token_calls = 0
        self.refuse_statuses_of = None   # a connector whose next status is answered 4004
        self.refuse_next_sig = False     # the next notification is answered 4001 (once)
        self.sig_refused = 0
        self.problems = []

    def answer(self, interface, body, bearer):
        try:
            env = json.loads(body)
            for field in ("OperatorID", "Data", "TimeStamp", "Seq", "Sig"):
                if not isinstance(env.get(field), str):
                    return 4003, "missing " + field, None
            if len(env["TimeStamp"]) != 14 or len(env["Seq"]) != 4:
                return 4003, "TimeStamp yyyyMMddHHmmss and Seq of 4 digits", None
            if env["OperatorID"] != PLATFORM:
                return 4001, "unknown OperatorID", None
            if env["Sig"] != sig(SUP_KEYS, env["OperatorID"], env["Data"], env["TimeStamp"], env["Seq"]):
                return 4001, "Sig does not verify", None
            with self.lock:
                if self.refuse_next_sig and interface != "query_token":
                    self.refuse_next_sig = False
                    self.sig_refused += 1
                    return 4001, "Sig refused (the superior's keys were being changed)", None
            if interface != "query_token":
                with self.lock:
                    if bearer not in self.tokens:
                        return 4002, "token unknown or expired", None
            data = json.loads(decrypt(SUP_KEYS, env["Data"]))
        except Exception as e:  # noqa: BLE001 - anything malformed is 4003/4004
            return 4004, f"unreadable request: {e}", None
        return self.business(interface, data)

    def business(self, interface, data):
        with self.lock:
            if interface == "query_token":
                self.token_calls += 1
                if data.get("OperatorID") != PLATFORM or data.get("OperatorSecret") != SUP_KEYS[0]:
                    return 0, "", {"OperatorID": PLATFORM, "SuccStat": 1, "AccessToken": "", "TokenAvailableTime": 0, "FailReason": 2}
                token = secrets.token_hex(16)
                self.tokens.add(token)
                return 0, "", {"OperatorID": PLATFORM, "SuccStat": 0, "AccessToken": token, "TokenAvailableTime": 7200, "FailReason": 0}
            if interface == "notification_stationInfo":
                s = data.get("StationInfo") or {}
                required = ["StationID", "OperatorID", "EquipmentOwnerID", "StationName", "CountryCode", "AreaCode",
                            "Address", "ServiceTel", "StationType", "StationStatus", "ParkNums", "StationLng",
                            "StationLat", "Construction", "EquipmentInfos"]
                missing = [f for f in required if f not in s]
                if missing:
                    return 4004, "StationInfo lacks " + ",".join(missing), None
                for e in s["EquipmentInfos"]:
                    if not e.get("EquipmentID") or not e.get("ConnectorInfos"):
                        return 4004, "EquipmentInfo without id or connectors", None
                self.stations[s["OperatorID"] + ":" + s["StationID"]] = s
                return 0, "", {"Status": 0}
            if interface == "notification_stationStatus":
                c = data.get("ConnectorStatusInfo")
                if not isinstance(c, dict) or c.get("Status") not in (0, 1, 2, 3, 4, 255) or not c.get("ConnectorID"):
                    return 4004, "ConnectorStatusInfo: one connector, Status 0,1,2,3,4 or 255", None
                if self.refuse_statuses_of == c["ConnectorID"]:
                    self.refuse_statuses_of = None
                    self.bad_status_refused += 1
                    return 4004, "ConnectorID refused by this superior's rules", None
                op = c.get("OperatorID", "")
                self.statuses[op + ":" + c["ConnectorID"]] = c["Status"]
                return 0, "", {"Status": 0}
            if interface == "notification_equip_charge_status":
                for f in ("StartChargeSeq", "StartChargeSeqStat", "ConnectorID", "ConnectorStatus", "StartTime",
                          "EndTime", "TotalPower"):
                    if f not in data:
                        return 4004, "ChargeStatus lacks " + f, None
                seq = data["StartChargeSeq"]
                if len(seq) != 27 or not seq.startswith(PLATFORM):
                    return 4004, "StartChargeSeq: 27 characters starting with the sender's OperatorID", None
                self.samples.setdefault(seq, []).append(time.time())
                return 0, "", {"StartChargeSeq": seq, "SuccStat": 0}
            if interface in ("notification_start_charge_result", "notification_stop_charge_result"):
                for f in ("StartChargeSeq", "StartChargeSeqStat", "ConnectorID"):
                    if f not in data:
                        return 4004, interface + " lacks " + f, None
                return 0, "", {"StartChargeSeq": data["StartChargeSeq"], "SuccStat": 0, "FailReason": 0}
            if interface == "notification_charge_order_info":
                for f in ("StartChargeSeq", "ConnectorID", "StartTime", "EndTime", "TotalPower", "TotalElecMoney",
                          "TotalSeviceMoney", "TotalMoney", "StopReason"):
                    if f not in data:
                        return 4004, "ChargeOrder lacks " + f, None
                seq = data["StartChargeSeq"]
                if len(seq) != 27 or not seq.startswith(PLATFORM):
                    return 4004, "StartChargeSeq: 27 characters starting with the sender's OperatorID", None
                if round(data["TotalElecMoney"] + data["TotalSeviceMoney"], 2) != round(data["TotalMoney"], 2):
                    return 0, "", {"StartChargeSeq": seq, "ConnectorID": data["ConnectorID"], "ConfirmResult": 1}
                pushes = self.order_pushes.get(seq, 0) + 1
                self.order_pushes[seq] = pushes
                if pushes <= 2:
                    return 500, "busy; push again later", None
                self.orders[seq] = self.orders.get(seq, 0) + 1
                return 0, "", {"StartChargeSeq": seq, "ConnectorID": data["ConnectorID"], "ConfirmResult": 0}
            if interface == "check_charge_orders":
                orders = data.get("ChargeOrders", [])
                if data.get("OrderCount") != len(orders):
                    return 4004, "OrderCount does not match ChargeOrders", None
                disputes = [{"StartChargeSeq": o["StartChargeSeq"], "TotalPower": o["TotalPower"],
                             "TotalMoney": o["TotalMoney"], "DisputeReason": 1}
                            for o in orders if o["StartChargeSeq"] not in self.orders]
                self.checks.append((data.get("StartTime"), len(orders), len(disputes)))
                return 0, "", {"CheckOrderSeq": data.get("CheckOrderSeq"), "StartTime": data.get("StartTime"),
                               "EndTime": data.get("EndTime"), "TotalDisputeOrder": len(disputes),
                               "TotalDisputePower": sum(d["TotalPower"] for d in disputes),
                               "TotalDisputeMoney": sum(d["TotalMoney"] for d in disputes), "DisputeOrders": disputes}
            return 4003, "unknown interface " + interface, None


SUP = Superior()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        interface = self.path.rsplit("/", 1)[-1]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization", "")
        bearer = auth[7:] if auth.startswith("Bearer ") else None
        ret, msg, data = SUP.answer(interface, body, bearer)
        enc = encrypt(SUP_KEYS, json.dumps(data).encode()) if data is not None else ""
        out = json.dumps({"Ret": ret, "Msg": msg, "Data": enc, "Sig": sig(SUP_KEYS, ret, msg, enc)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def serve_superior(port):
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- evgrid, and this script as its operator platform ----------------------------------------
# EVGRID_DATABASE_URL, when set, reaches evgrid through the environment.
def evgrid(*args, check_ok=True):
    out = subprocess.run([BIN, *args, "--data-dir", DATA], capture_output=True, text=True)
    if check_ok and out.returncode != 0:
        sys.exit(f"evgrid {' '.join(args)} failed: {out.stdout}{out.stderr}")
    return out


def start_evgrid():
    p = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--poll-interval", "0", "--data-dir", DATA],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "RUST_LOG": "warn"})
    for line in p.stdout:
        if line.startswith("evgrid serving http://"):
            url = line.split()[2]
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
            return p, url
    sys.exit("evgrid serve did not start")


class Operator:
    """The operator platform's side towards evgrid: query_token, then sealed pushes."""

    def __init__(self, url):
        self.url = url + "evcs/v1/"
        self.seq = 0
        self.token = None

    def post(self, interface, business, token=None):
        self.seq += 1
        data = encrypt(OP_KEYS, json.dumps(business, ensure_ascii=False).encode())
        ts = china_time(time.time(), "%Y%m%d%H%M%S")
        seq = "%04d" % (self.seq % 9999 + 1)
        env = {"OperatorID": OPERATOR, "Data": data, "TimeStamp": ts, "Seq": seq, "Sig": sig(OP_KEYS, OPERATOR, data, ts, seq)}
        req = urllib.request.Request(self.url + interface, data=json.dumps(env).encode(), method="POST")
        req.add_header("Content-Type", "application/json;charset=utf-8")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        with urllib.request.urlopen(req, timeout=30) as res:
            answer = json.loads(res.read())
        if answer["Ret"] != 0:
            raise RuntimeError(f"{interface}: Ret {answer['Ret']} {answer['Msg']}")
        return json.loads(decrypt(OP_KEYS, answer["Data"]))

    def push(self, interface, business):
        if self.token is None:
            t = self.post("query_token", {"OperatorID": OPERATOR, "OperatorSecret": OP_KEYS[0]})
            self.token = t["AccessToken"]
        return self.post(interface, business, self.token)


def wait(seconds, condition):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with SUP.lock:
            if condition():
                return True
        time.sleep(0.25)
    with SUP.lock:
        return condition()


def order_seq(n):
    return OPERATOR + "20261201000000" + "%04d" % n


def order(seq, connector, start, end, kwh, yuan):
    return {"StartChargeSeq": seq, "ConnectorID": connector, "StartTime": china_time(start), "EndTime": china_time(end),
            "TotalPower": kwh, "TotalElecMoney": yuan, "TotalSeviceMoney": 0.0, "TotalMoney": yuan, "StopReason": 0}


def main():
    os.makedirs(WORK, exist_ok=True)
    with open(STATIONS_CSV, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    stations = {r["operator_id"] + ":" + r["station_id"] for r in rows}
    connectors = sorted({r["connector_id"] for r in rows if r["operator_id"] == OPERATOR})
    evgrid("import", STATIONS_CSV)
    evgrid("operator", "add", "--operator-id", OPERATOR, "--name", "independent superior's operator",
           "--operator-secret", OP_KEYS[0], "--data-secret", OP_KEYS[1], "--data-secret-iv", OP_KEYS[2],
           "--sig-secret", OP_KEYS[3])
    profile = {"name": "independent", "interfaces": {
        "station_info": "notification_stationInfo", "station_status": "notification_stationStatus",
        "charge_status": "notification_equip_charge_status", "charge_order": "notification_charge_order_info",
        "check_orders": "check_charge_orders"},
        "extensions": {"operator_fields": True}, "periods": {"charge_status_seconds": 5,
        "check_orders_from_hour": 0, "check_orders_to_hour": 24}, "retry_seconds": [1, 1, 2], "then_every_seconds": 2}
    profile_file = os.path.join(WORK, "profile.json")
    with open(profile_file, "w") as f:
        json.dump(profile, f)

    proc, url = start_evgrid()
    op = Operator(url)
    now = time.time()
    midnight = now - (now + 8 * 3600) % 86400
    old = order_seq(1)  # ended yesterday, stored before the superior is added: never reported
    op.push("notification_charge_order_info", order(old, connectors[0], midnight - 7200, midnight - 3600, 20.0, 16.0))
    for i, c in enumerate(connectors):
        op.push("notification_stationStatus", {"ConnectorStatusInfo": {"ConnectorID": c, "Status": 1 + i % 2}})

    port_probe = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = port_probe.server_address[1]
    port_probe.server_close()
    server = serve_superior(port)
    evgrid("superior", "add", "--id", "indep", "--name", "independent superior", "--base-url",
           f"http://127.0.0.1:{port}/evcs/v1/", "--platform-operator-id", PLATFORM, "--operator-secret", SUP_KEYS[0],
           "--data-secret", SUP_KEYS[1], "--data-secret-iv", SUP_KEYS[2], "--sig-secret", SUP_KEYS[3],
           "--profile", profile_file)

    check(wait(60, lambda: stations <= set(SUP.stations)), f"every station arrives ({len(stations)})")
    check(wait(30, lambda: all(SUP.statuses.get(f"{OPERATOR}:{c}") == 1 + i % 2 for i, c in enumerate(connectors))),
          "every connector's status arrives, with the operator's OperatorID in the payload")
    check(wait(30, lambda: any(n == 1 and d == 1 for _, n, d in SUP.checks)),
          "the daily check of yesterday lists the order never reported, and it is disputed")

    # A running charge: samples at the configured period.
    running = order_seq(2)
    op.push("notification_equip_charge_status", {"StartChargeSeq": running, "StartChargeSeqStat": 2,
            "ConnectorID": connectors[0], "ConnectorStatus": 3, "CurrentA": 50.0, "VoltageA": 400.0,
            "StartTime": china_time(now - 600), "EndTime": china_time(now), "TotalPower": 3.0,
            "ElecMoney": 2.0, "SeviceMoney": 0.4, "TotalMoney": 2.4})
    check(wait(40, lambda: any(len(v) >= 3 for v in SUP.samples.values())), "a running charge is sampled repeatedly")
    with SUP.lock:
        times = next((v for v in SUP.samples.values() if len(v) >= 3), [])
    gaps = [b - a for a, b in zip(times, times[1:])]
    check(bool(gaps) and min(gaps) >= 4.0, f"samples a period (5 s) apart: {['%.1f' % g for g in gaps]}")
    op.push("notification_charge_order_info", order(running, connectors[0], now - 600, now, 3.0, 2.4))
    check(wait(30, lambda: len(SUP.orders) == 1 and all(v == 1 for v in SUP.orders.values())),
          "the order arrives once, after the superior refused its first two pushes")

    # A token the superior stops honouring: evgrid asks for a new one (4002, then query_token).
    with SUP.lock:
        SUP.tokens.clear()
        calls = SUP.token_calls
    op.push("notification_stationStatus", {"ConnectorStatusInfo": {"ConnectorID": connectors[1], "Status": 255}})
    check(wait(20, lambda: SUP.statuses.get(f"{OPERATOR}:{connectors[1]}") == 255 and SUP.token_calls > calls),
          "a refused token (4002) is renewed and the push delivered")

    # A status refused as invalid (4004): not retried, flagged for the regulator.
    with SUP.lock:
        SUP.refuse_statuses_of = connectors[2]
    op.push("notification_stationStatus", {"ConnectorStatusInfo": {"ConnectorID": connectors[2], "Status": 255}})
    check(wait(20, lambda: SUP.bad_status_refused == 1), "the superior refuses a status with 4004")
    time.sleep(4)
    check(SUP.statuses.get(f"{OPERATOR}:{connectors[2]}") != 255, "the refused status is not sent again")
    status = json.loads(evgrid("superior", "status", "indep", "--json").stdout)
    check(status["given_up"] >= 1, f"it is flagged ({status['given_up']} given up)")
    check(any(d["session_ref"] == old and d["reason"] == 1 for d in status["disputes"]),
          "the disputed order shows in evgrid superior status")

    # A 4001 (the superior's keys being changed): retried, then delivered.
    with SUP.lock:
        SUP.refuse_next_sig = True
    op.push("notification_stationStatus", {"ConnectorStatusInfo": {"ConnectorID": connectors[0], "Status": 4}})
    check(wait(20, lambda: SUP.sig_refused == 1 and SUP.statuses.get(f"{OPERATOR}:{connectors[0]}") == 4),
          "a status refused with 4001 is retried and delivered")

    # The superior goes down for a while: what happens meanwhile arrives when it is back.
    server.shutdown()
    server.server_close()
    op.push("notification_charge_order_info", order(order_seq(3), connectors[-1], now - 1200, now - 60, 12.0, 9.6))
    op.push("notification_stationStatus", {"ConnectorStatusInfo": {"ConnectorID": connectors[3], "Status": 4}})
    time.sleep(3)
    server = serve_superior(port)
    # The superior knows orders by its own numbers (evgrid's OperatorID first): count them.
    check(wait(60, lambda: len(SUP.orders) == 2 and SUP.statuses.get(f"{OPERATOR}:{connectors[3]}") == 4),
          "the order and the status of the outage arrive once it is back")

    # SIGKILL evgrid during a burst; started again, everything arrives, no order twice.
    op.push("notification_charge_order_info", order(order_seq(4), connectors[1], now - 900, now - 30, 8.0, 6.4))
    last = {}
    for r in range(20):
        c = connectors[r % len(connectors)]
        last[c] = 1 + r % 3
        op.push("notification_stationStatus", {"ConnectorStatusInfo": {"ConnectorID": c, "Status": last[c]}})
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc, url = start_evgrid()
    check(wait(60, lambda: len(SUP.orders) == 3 and all(SUP.statuses.get(f"{OPERATOR}:{c}") == s for c, s in last.items())),
          "after a SIGKILL every status and the order arrive")
    time.sleep(2)
    with SUP.lock:
        twice = {k: v for k, v in SUP.orders.items() if v != 1}
    check(not twice, f"no order acknowledged twice {twice}")
    proc.terminate()
    proc.wait()
    server.shutdown()
    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        sys.exit(1)
    print("independent superior: every check passed", flush=True)


if __name__ == "__main__":
    main()
