"""Depth teacher backends, chosen by name per dataset.

Each backend returns ``(attrs, produce)``: the store attributes (backend, model, encoder, kind = disparity or
metric, input size) and ``produce(sink)``, which pushes the sequence's depth in frame order as
``sink(t0, depth [n, h, w] float32)`` at the cache resolution; the depth stage writes each batch into the store.
"""
