"""The `dense` depth-aware tracker: backbone + FPN, dense detection head, and one module per paper contribution."""
