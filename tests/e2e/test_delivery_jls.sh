# [jobs] delivery = jpeg-ls-lossless: see delivery.sh.
DELIVERY=jpeg-ls-lossless WANT_VERIFIED=5 WANT_TS=1.2.840.10008.1.2.4.80
. "$SRC/tests/e2e/delivery.sh"
