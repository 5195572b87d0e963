"""gfpctx host side: build or fetch lane kernels, boot them under QEMU,
run the gfpctx kselftest target and give a verdict."""
