"""SpikeRecord <-> neo.Block and files (NIX, NWB); the public face is :mod:`synsem_ephys.neo_io`."""
__all__ = []
