#!/usr/bin/env python3
"""An operator platform written from the T/CEC 102 text alone (AES-128-CBC/PKCS#7/Base64 Data,
HMAC-MD5 Sig, query_token then Bearer), talking to a running evgrid. It shares no code with
evgrid. Usage: independent_client.py BASE_URL OPERATOR_ID OPERATOR_SECRET DATA_SECRET DATA_IV SIG_SECRET

Checks: a token is issued; a status push is acknowledged and shows in the REST API; the same
push again is acknowledged without being applied twice; every bad request gets its Ret
(4001, 4002, 4003, 4004) and changes nothing.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BASE, OPERATOR, OP_SECRET, DATA_SECRET, DATA_IV, SIG_SECRET = sys.argv[1:7]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def encrypt(plain: bytes) -> str:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.AES(DATA_SECRET.encode()), modes.CBC(DATA_IV.encode())).encryptor()
    return base64.b64encode(enc.update(padded) + enc.finalize()).decode()


def decrypt(data: str) -> bytes:
    dec = Cipher(algorithms.AES(DATA_SECRET.encode()), modes.CBC(DATA_IV.encode())).decryptor()
    padded = dec.update(base64.b64decode(data)) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def sig(*parts: str) -> str:
    return hmac.new(SIG_SECRET.encode(), "".join(parts).encode(), hashlib.md5).hexdigest().upper()


seq_counter = [0]


def envelope(business: dict, operator=OPERATOR) -> dict:
    seq_counter[0] += 1
    data = encrypt(json.dumps(business, separators=(",", ":"), ensure_ascii=False).encode())
    ts = time.strftime("%Y%m%d%H%M%S", time.localtime())
    seq = "%04d" % seq_counter[0]
    return {"OperatorID": operator, "Data": data, "TimeStamp": ts, "Seq": seq, "Sig": sig(operator, data, ts, seq)}


def post(interface: str, body, token=None) -> dict:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(BASE + "evcs/v1/" + interface, data=raw, method="POST")
    req.add_header("Content-Type", "application/json;charset=utf-8")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as res:
        answer = json.loads(res.read())
    return answer


def verified(answer: dict) -> bool:
    return answer.get("Sig") == sig(str(answer["Ret"]), answer["Msg"], answer["Data"])


def get(path: str) -> dict:
    # The REST API's reads; a regulator's token (EVGRID_TOKEN) for the protected ones.
    headers = {"Authorization": "Bearer " + os.environ["EVGRID_TOKEN"]} if os.environ.get("EVGRID_TOKEN") else {}
    with urllib.request.urlopen(urllib.request.Request(BASE + path, headers=headers), timeout=30) as res:
        return json.loads(res.read())


# 1. Token.
answer = post("query_token", envelope({"OperatorID": OPERATOR, "OperatorSecret": OP_SECRET}))
check(answer["Ret"] == 0 and verified(answer), "query_token answers Ret 0 with a valid Sig")
token_data = json.loads(decrypt(answer["Data"]))
check(token_data["SuccStat"] == 0 and len(token_data["AccessToken"]) > 0, "a token is issued")
check(token_data["TokenAvailableTime"] > 0, "TokenAvailableTime is given")
token = token_data["AccessToken"]
wrong = post("query_token", envelope({"OperatorID": OPERATOR, "OperatorSecret": "x" * 16}))
wrong_data = json.loads(decrypt(wrong["Data"]))
check(wrong["Ret"] == 0 and wrong_data["SuccStat"] == 1 and wrong_data["FailReason"] == 2, "a wrong OperatorSecret is SuccStat 1, FailReason 2")

# A connector of this operator, from the public API.
station = get("api/v1/stations?operator=%s&page_size=1" % OPERATOR)["items"][0]
detail = get("api/v1/stations/" + station["id"])
connector = detail["equipment"][0]["connectors"][0]["id"]


def status_of():
    d = get("api/v1/stations/" + station["id"])
    return [c for e in d["equipment"] for c in e["connectors"] if c["id"] == connector][0]


# 2. A status push.
push = envelope({"ConnectorStatusInfo": {"ConnectorID": connector, "Status": 3, "ParkStatus": 50, "LockStatus": 0}})
answer = post("notification_stationStatus", push, token)
check(answer["Ret"] == 0 and verified(answer), "notification_stationStatus answers Ret 0 with a valid Sig")
check(json.loads(decrypt(answer["Data"])) == {"Status": 0}, "the push is accepted (Status 0)")
now = status_of()
check(now["status"] == "charging" and now["status_source"] == "tcec_push" and not now["status_stale"], "the REST API shows the connector charging")
observed = now["status_observed_at"]

# 3. The same push again: acknowledged, not applied twice.
time.sleep(1.1)
again = post("notification_stationStatus", push, token)
check(again["Ret"] == 0, "a duplicate push is acknowledged")
check(status_of()["status_observed_at"] == observed, "the duplicate is not applied again")

# 4. Bad requests, each with its Ret, none applied.
def expect(ret, interface, body, token, what):
    answer = post(interface, body, token)
    check(answer["Ret"] == ret and answer["Msg"] != "", "%s -> Ret %s (%s)" % (what, ret, answer["Msg"]))


good = envelope({"ConnectorStatusInfo": {"ConnectorID": connector, "Status": 1}})
tampered = dict(good, Data=good["Data"][:-4] + ("AAA=" if not good["Data"].endswith("AAA=") else "BBB="))
expect(4001, "notification_stationStatus", tampered, token, "tampered Data")
expect(4001, "notification_stationStatus", dict(good, Sig="0" * 32), token, "wrong Sig")
expect(4001, "notification_stationStatus", envelope({"ConnectorStatusInfo": {"ConnectorID": connector, "Status": 1}}, operator="ZZZZZZZZZ"), token, "unknown OperatorID")
expect(4002, "notification_stationStatus", good, None, "no token")
expect(4002, "notification_stationStatus", good, "0" * 32, "unknown token")
expect(4003, "notification_stationStatus", {k: v for k, v in good.items() if k != "Seq"}, token, "missing Seq")
expect(4003, "notification_stationStatus", b"not json at all", token, "malformed POST")
expect(4003, "notification_stationStatus", dict(good, TimeStamp="2024-01-05"), token, "bad TimeStamp")
expect(4004, "notification_stationStatus", envelope({"ConnectorStatusInfo": {"ConnectorID": connector, "Status": 9}}), token, "status outside the enum")
expect(4004, "notification_stationStatus", envelope({"ConnectorStatusInfo": {"ConnectorID": "NOSUCHCONNECTOR", "Status": 1}}), token, "unknown connector")
expect(4004, "notification_stationStatus", envelope({"ConnectorStatusInfo": {"Status": 1}}), token, "missing ConnectorID")
check(status_of()["status"] == "charging" and status_of()["status_observed_at"] == observed, "nothing of the bad requests was applied")

# 5. A new station pushed with notification_stationInfo (GCJ-02 coordinates), then bad ones.
new_station = {
    "StationID": "PYCLIENT01", "OperatorID": OPERATOR, "EquipmentOwnerID": OPERATOR,
    "StationName": "独立客户端推送站", "CountryCode": "CN", "AreaCode": "360702", "Address": "测试路1号",
    "ServiceTel": "0797-1234567", "StationType": 1, "StationStatus": 50, "ParkNums": 2,
    "StationLng": 114.938281, "StationLat": 25.827573, "Construction": 9,
    "EquipmentInfos": [{"EquipmentID": "PYCLIENT01E1", "EquipmentType": 1, "Power": 120.0,
        "ConnectorInfos": [{"ConnectorID": "PYCLIENT01E1C1", "ConnectorType": 4, "VoltageUpperLimits": 750,
            "VoltageLowerLimits": 200, "Current": 250, "Power": 120.0, "NationalStandard": 2}]}],
}
answer = post("notification_stationInfo", envelope({"StationInfo": new_station}), token)
check(answer["Ret"] == 0 and json.loads(decrypt(answer["Data"])) == {"Status": 0}, "notification_stationInfo is accepted")
pushed = get("api/v1/stations/%s:PYCLIENT01" % OPERATOR)
check(pushed["name"] == "独立客户端推送站" and pushed["county"] == "360702", "the pushed station is in the registry, placed in its county")
check(abs(pushed["gcj02"]["lat"] - 25.827573) < 1e-6 and abs(pushed["gcj02"]["lng"] - 114.938281) < 1e-6, "GCJ-02 in, the same GCJ-02 out")
nearest = get("api/v1/search/nearest?lat=%f&lng=%f&k=1&operator=%s" % (pushed["lat"], pushed["lng"], OPERATOR))
check(nearest["items"][0]["station_id"] == pushed["id"], "the pushed station is searchable at once")
bad_station = dict(new_station, StationID="PYCLIENT02", StationLng=0.0, StationLat=0.0)
expect(4004, "notification_stationInfo", envelope({"StationInfo": bad_station}), token, "station at 0,0")
bad_type = dict(new_station, StationID="PYCLIENT03", StationType=7)
expect(4004, "notification_stationInfo", envelope({"StationInfo": bad_type}), token, "StationType outside the enum")
missing = {k: v for k, v in new_station.items() if k != "StationName"}
missing["StationID"] = "PYCLIENT04"
expect(4004, "notification_stationInfo", envelope({"StationInfo": missing}), token, "missing StationName")
for sid in ("PYCLIENT02", "PYCLIENT03", "PYCLIENT04"):
    try:
        get("api/v1/stations/%s:%s" % (OPERATOR, sid))
        check(False, "rejected station %s must not exist" % sid)
    except urllib.error.HTTPError as e:
        check(e.code == 404, "rejected station %s was not stored" % sid)

# 6. The operator's data-quality report counts what happened.
quality = get("api/v1/operators/%s/data-quality" % OPERATOR)
refused = quality["messages"]["refused"]
check(all(refused.get(code, 0) >= 1 for code in ("4001", "4002", "4003", "4004")), "the data-quality report counts refusals by Ret: %s" % refused)
check(quality["messages"]["accepted"].get("notification_stationStatus", 0) >= 2, "and accepted pushes")
check(quality["messages"]["latency_samples"] > 0 and quality["messages"]["last_seen"] is not None, "with latency samples and last seen")

if failures:
    print("%d failed" % len(failures))
    sys.exit(1)
print("independent T/CEC client: all checks passed")
