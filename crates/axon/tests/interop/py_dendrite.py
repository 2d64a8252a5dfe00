"""A Python (bittensor 10.5.0) dendrite querying an axon; prints one JSON object of results.

`python py_dendrite.py PORT [AXON_HOTKEY]`: a plain Dummy call, a 16-way fan-out, a DummyStream
call, and two hand-made requests (zeroed signature, replayed nonce) that must be refused.
"""
import asyncio
import json
import sys

import aiohttp
import bittensor as bt

from common import MINER_SS58, VALI_MN, Dummy, DummyStream, wallet

PORT = int(sys.argv[1])
AXON_HOTKEY = sys.argv[2] if len(sys.argv) > 2 else MINER_SS58
vali = wallet("validator", VALI_MN)
target = bt.AxonInfo(version=0, ip="127.0.0.1", port=PORT, ip_type=4, hotkey=AXON_HOTKEY, coldkey=AXON_HOTKEY)


async def raw_post(d, synapse, tamper):
    synapse = d.preprocess_synapse_for_request(target, synapse, 12.0)
    tamper(synapse)
    async with aiohttp.ClientSession() as s:
        async with s.post(
            f"http://127.0.0.1:{PORT}/{type(synapse).__name__}",
            headers=synapse.to_headers(),
            json=synapse.model_dump(),
        ) as r:
            return {"status": r.status, "message": (await r.json()).get("message")}


async def main():
    out = {}
    async with bt.Dendrite(wallet=vali) as d:
        r = await d(target, Dummy(dummy_input=21), timeout=12, deserialize=False)
        out["plain"] = {
            "status": r.dendrite.status_code,
            "message": r.dendrite.status_message,
            "dummy_output": r.dummy_output,
            "axon_status": r.axon.status_code,
        }
        many = await d([target] * 16, Dummy(dummy_input=5), timeout=12)
        out["fanout"] = many
        chunks = []
        final = None
        async for item in await d(target, DummyStream(text="hello from the stream"), timeout=12, streaming=True, deserialize=False):
            if isinstance(item, bt.Synapse):
                final = item
            else:
                chunks.append(item)
        out["stream"] = {
            "chunks": chunks,
            "status": final.dendrite.status_code if final else None,
            "completion": final.completion if final else None,
        }

        def zero_signature(s):
            s.dendrite.signature = "0x" + "00" * 64

        out["bad_signature"] = await raw_post(d, Dummy(dummy_input=21), zero_signature)
        signed = d.preprocess_synapse_for_request(target, Dummy(dummy_input=21), 12.0)
        first = await raw_post(d, signed, lambda s: None)
        # Same signed synapse again: preprocess re-signs with a fresh nonce, so replay by hand.
        async with aiohttp.ClientSession() as s:
            async with s.post(f"http://127.0.0.1:{PORT}/Dummy", headers=signed.to_headers(), json=signed.model_dump()) as r:
                again = {"status": r.status, "message": (await r.json()).get("message")}
        out["replay"] = {"first": first, "again": again}
    print(json.dumps(out), flush=True)


asyncio.run(main())
