# [jobs] delivery = j2k-lossless: see delivery.sh.
DELIVERY=j2k-lossless WANT_VERIFIED=5 WANT_TS=1.2.840.10008.1.2.4.90
. "$SRC/tests/e2e/delivery.sh"
