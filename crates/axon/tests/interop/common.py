"""Shared pieces of the tao-axon interoperability scripts (bittensor==10.5.0, no chain).

Keys are the deterministic test mnemonics of reference/sdk.md §4.4, so each side knows the
other's hotkey in advance. The public-IP lookup of the SDK is patched out (offline-safe).
"""
import os
import tempfile

import bittensor as bt
import bittensor.utils.networking as btnet

btnet.get_external_ip = lambda: "127.0.0.1"
from bittensor_wallet import Wallet  # noqa: E402

MINER_MN = "legal winner thank year wave sausage worth useful legal winner thank yellow"
VALI_MN = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
MINER_SS58 = "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe"
VALI_SS58 = "5EPCUjPxiHAcNooYipQFWr9NmmXJKpNG5RhcntXwbtUySrgH"


def wallet(name, mnemonic):
    path = os.environ.get("BT_TEST_WALLETS") or tempfile.mkdtemp()
    w = Wallet(name=name, hotkey="default", path=path)
    w.regenerate_coldkey(mnemonic=mnemonic, use_password=False, overwrite=True, suppress=True)
    w.regenerate_hotkey(mnemonic=mnemonic, use_password=False, overwrite=True, suppress=True)
    return w


class Dummy(bt.Synapse):
    """The subnet template's synapse: the miner answers dummy_input * 2."""

    dummy_input: int
    dummy_output: int | None = None
    required_hash_fields = ("dummy_input",)

    def deserialize(self) -> int:
        return self.dummy_output


class DummyStream(bt.StreamingSynapse):
    """The miner streams the words of `text` back, one chunk per word."""

    text: str
    completion: str = ""
    required_hash_fields = ("text",)

    async def process_streaming_response(self, response):
        async for chunk in response.content.iter_any():
            piece = chunk.decode()
            self.completion += piece
            yield piece

    def extract_response_json(self, response) -> dict:
        headers = {k.lower(): v for k, v in response.headers.items()}

        def terminal(prefix):
            return {
                k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)
            }

        return {
            "name": headers.get("name", "DummyStream"),
            "timeout": float(headers.get("timeout", 12.0)),
            "dendrite": terminal("bt_header_dendrite_"),
            "axon": terminal("bt_header_axon_"),
            "text": self.text,
            "completion": self.completion,
        }

    def deserialize(self) -> str:
        return self.completion
