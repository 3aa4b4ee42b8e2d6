# [jobs] delivery = explicit-le: see delivery.sh.
DELIVERY=explicit-le WANT_VERIFIED=3 WANT_TS=1.2.840.10008.1.2.1
. "$SRC/tests/e2e/delivery.sh"
