"""One self-contained HTML page per dataset (results/<ds>/report.html): metrics, label quality, training curves and
frames with depth, masks and tracks, every picture embedded as a base64 PNG so the file can be mailed or archived."""
