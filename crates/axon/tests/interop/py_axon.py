"""A Python (bittensor 10.5.0) axon serving Dummy and DummyStream: `python py_axon.py PORT`."""
import sys
import time

import bittensor as bt

from common import MINER_MN, Dummy, DummyStream, wallet

PORT = int(sys.argv[1])
miner = wallet("miner", MINER_MN)


def forward(synapse: Dummy) -> Dummy:
    synapse.dummy_output = synapse.dummy_input * 2
    return synapse


def forward_stream(synapse: DummyStream) -> DummyStream:
    words = synapse.text.split()

    async def streamer(send):
        for word in words:
            await send({"type": "http.response.body", "body": (word + " ").encode(), "more_body": True})

    return synapse.create_streaming_response(streamer)


axon = bt.Axon(wallet=miner, port=PORT, ip="127.0.0.1", external_ip="127.0.0.1")
axon.attach(forward_fn=forward).attach(forward_fn=forward_stream).start()
print("axon up", PORT, miner.hotkey.ss58_address, flush=True)
while True:
    time.sleep(60)
