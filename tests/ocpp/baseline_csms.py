#!/usr/bin/env python3
"""The baseline for `evgrid bench ocpp`: a minimal OCPP 1.6 central system written on the PyPI
`ocpp` package (its documented pattern), answering BootNotification, Heartbeat,
StatusNotification, StartTransaction and MeterValues without storing anything. Prints "listening on HOST:PORT"."""
import asyncio
import itertools
from datetime import datetime, timezone

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint
from ocpp.v16 import call_result


TRANSACTION_IDS = itertools.count(1)


class CentralSystemCP(ChargePoint):
    @on("BootNotification")
    def boot(self, **kwargs):
        return call_result.BootNotification(
            current_time=datetime.now(timezone.utc).isoformat(), interval=300, status="Accepted")

    @on("Heartbeat")
    def heartbeat(self, **kwargs):
        return call_result.Heartbeat(current_time=datetime.now(timezone.utc).isoformat())

    @on("StatusNotification")
    def status(self, **kwargs):
        return call_result.StatusNotification()

    @on("MeterValues")
    def meter(self, **kwargs):
        return call_result.MeterValues()

    @on("StartTransaction")
    def start_transaction(self, **kwargs):
        return call_result.StartTransaction(transaction_id=next(TRANSACTION_IDS), id_tag_info={"status": "Accepted"})


async def handler(ws):
    cp = CentralSystemCP(ws.request.path.strip("/") or "cp", ws)
    try:
        await cp.start()
    except websockets.exceptions.ConnectionClosed:
        pass


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"], max_queue=None) as server:
        host, port = server.sockets[0].getsockname()[:2]
        print(f"listening on {host}:{port}", flush=True)
        await asyncio.Future()


asyncio.run(main())
