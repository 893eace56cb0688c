"""One module per accelerator vendor: what its builds need from the machine."""
